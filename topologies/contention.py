"""Concurrent collectives sharing the fabric: flow-level max-min fairness (progressive filling) on link classes.

Each collective c, alone, has a plan (algorithm, protocol) and per link class r a load B_cr (bytes its
busiest link of r carries) carried by n_cr flows. Links of two collectives are one shared resource when
their class matches and their instances overlap (same nodes and same lanes/rails/blocks). Progressive
filling raises every unfrozen collective's per-flow rate together; collective c then moves at
x_c = level / max_r(B_cr / n_cr); when a resource fills (sum_c x_c B_cr = capacity), the collectives on it
freeze. Regular fabrics make one busiest link stand for its whole class, so this costs O(collectives x
classes), not O(links). The bandwidth part of each collective stretches by x_alone / x_shared; latency
does not (NB: phases of a multi-phase plan are merged, as if they overlapped in time).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from topologies.cluster import Cluster
from topologies.collectives import collective_time, plans
from topologies.collectives.base import CollectiveResult, busbw_factor, capacity
from topologies.group import Group


@dataclass(frozen=True)
class Flow:
    """One collective launched at the same time as others."""

    op: str
    nbytes: float
    group: Group
    algorithm: str = "auto"


def _overlap(a: range, b: range) -> bool:
    """True when two ranges share an element (iterates the shorter one; ranges test membership in O(1))."""
    if len(a) > len(b):
        a, b = b, a
    if not a or a[-1] < b[0] or a[0] > b[-1]:
        return False
    return any(x in b for x in a)


def _shares(id_a: tuple, id_b: tuple) -> bool:
    """Two link instance sets meet when every coordinate range overlaps."""
    return all(_overlap(x, y) for x, y in zip(id_a, id_b))


def concurrent_times(cluster: Cluster, flows: list[Flow]) -> list[CollectiveResult]:
    """Results of `flows` running at once; each equals collective_time alone when nothing is shared."""
    alone, loads = [], []
    for f in flows:
        res = collective_time(cluster, f.op, f.nbytes, f.group, f.algorithm)
        alone.append(res)
        per_class: dict[tuple, list] = {}
        if res.algorithm != "none":
            plan = next(pl for pl in plans(cluster, f.op, f.group, res.algorithm))
            eff = plan.efficiency[res.protocol]
            for phase in plan.phases:
                for load in phase:
                    key = (load.link, load.ident)
                    entry = per_class.setdefault(key, [0.0, load.flows, load.link])
                    entry[0] += load.bytes * f.nbytes / eff
                    entry[1] = max(entry[1], load.flows)
        loads.append(per_class)
    # resources: union of overlapping link instance sets of the same class
    keys = [(i, key) for i, per in enumerate(loads) for key in per]
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            (ia, ka), (ib, kb) = keys[a], keys[b]
            if ka[0] == kb[0] and ia != ib and _shares(ka[1], kb[1]):
                parent[root(a)] = root(b)
    resources: dict[int, dict[int, tuple[float, int]]] = {}
    cls_of: dict[int, str] = {}
    for idx, (i, key) in enumerate(keys):
        r = root(idx)
        bytes_, nflows, link = loads[i][key]
        prev = resources.setdefault(r, {}).get(i, (0.0, 0))
        resources[r][i] = (max(prev[0], bytes_), prev[1] + nflows)
        cls_of[r] = link
    # progressive filling on the per-flow level
    worst = {i: max((b / nf for res in resources.values() for j, (b, nf) in res.items() if j == i), default=0.0)
             for i in range(len(flows))}
    active = {i for i in range(len(flows)) if worst[i] > 0}
    rate = {i: 0.0 for i in range(len(flows))}
    used = {r: 0.0 for r in resources}
    while active:
        step = float("inf")
        for r, members in resources.items():
            demand = sum(b / worst[i] for i, (b, _) in members.items() if i in active)
            if demand > 0:
                step = min(step, (capacity(cluster, cls_of[r]) - used[r]) / demand)
        step = max(step, 0.0)
        for i in active:
            rate[i] += step / worst[i]
        for r, members in resources.items():
            used[r] += sum(step / worst[i] * b for i, (b, _) in members.items() if i in active)
        full = {r for r in resources if used[r] >= capacity(cluster, cls_of[r]) * (1 - 1e-9)}
        frozen = {i for r in full for i in resources[r] if i in active}
        if not frozen:
            break
        active -= frozen
    out = []
    for i, (f, res) in enumerate(zip(flows, alone)):
        if res.algorithm == "none" or rate[i] <= 0:
            out.append(res)
            continue
        solo = min(capacity(cluster, cls_of[r]) / b for r, members in resources.items()
                   for j, (b, _) in members.items() if j == i)
        stretch = max(1.0, solo / rate[i])
        bw_time = (res.gpu_time_s - res.latency_s) * stretch
        t = max(res.time_s, res.latency_s + bw_time)   # the host floor (time_s >= it) is not shared
        algbw = res.nbytes / t
        out.append(replace(res, time_s=t, algbw=algbw, busbw=algbw * busbw_factor(res.op, res.ranks)))
    return out
