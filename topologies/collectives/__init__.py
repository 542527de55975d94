"""Collective cost models: a registry of algorithms and `collective_time`, the entry point the simulator calls.

    collective_time(cluster, "all_reduce", 1 << 30, Group(8)) -> CollectiveResult(time_s, algbw, busbw, ...)

`algorithm="auto"` does what NCCL does: cost every applicable (algorithm, protocol) pair with the same
model and keep the fastest. Results are cached on (cluster, op, bytes, group, algorithm, protocol).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from topologies.cluster import Cluster
from topologies.collectives.alltoall import all_to_all_plan, send_recv_plan
from topologies.collectives.base import (OPS, CollectiveResult, Plan, busbw_factor, canonical_op, plan_time)
from topologies.collectives.nvls import hierarchical_plan, nvls_plan, sharp_plan
from topologies.collectives.ring import ring_plan
from topologies.collectives.torus import torus_plan
from topologies.collectives.tree import tree_plan
from topologies.group import Group, Placement, place
from topologies.nccl_params import PROTOCOLS

PlanFn = Callable[[Cluster, Placement, str], "Plan | None"]
ALGORITHMS: dict[str, PlanFn] = {}
# Algorithms "auto" considers (NCCL's own set); hierarchical is available on request only.
AUTO = ("ring", "tree", "nvls", "sharp", "pairwise", "p2p", "torus")


def register_algorithm(name: str, fn: PlanFn) -> None:
    """Add an algorithm to the registry; a duplicate name is an error."""
    if name in ALGORITHMS:
        raise ValueError(f"collective algorithm {name!r} registered twice")
    ALGORITHMS[name] = fn


for _name, _fn in (("ring", ring_plan), ("tree", tree_plan), ("nvls", nvls_plan), ("sharp", sharp_plan),
                   ("hierarchical", hierarchical_plan), ("pairwise", all_to_all_plan), ("p2p", send_recv_plan),
                   ("torus", torus_plan)):
    register_algorithm(_name, _fn)


def plans(cluster: Cluster, op: str, group: Group, algorithm: str = "auto") -> list[Plan]:
    """Applicable plans for `op` on `group` (one when `algorithm` is named); ValueError when none applies."""
    op = canonical_op(op)
    p = place(cluster, group)
    if algorithm == "auto":
        names = AUTO
        if cluster.scale_up.kind == "torus" and not p.multi_node and op != "all_to_all":
            names = ("torus",)
    elif algorithm in ALGORITHMS:
        names = (algorithm,)
    else:
        raise ValueError(f"unknown collective algorithm {algorithm!r}; known: auto, {', '.join(ALGORITHMS)}")
    found = [plan for plan in (ALGORITHMS[name](cluster, p, op) for name in names) if plan is not None]
    if not found:
        raise ValueError(f"algorithm {algorithm!r} cannot run {op} on {group.size} ranks of {cluster.name}")
    return found


def collective_time(cluster: Cluster, op: str, nbytes: float, group: Group | int | None = None,
                    algorithm: str = "auto", protocol: str = "auto", host_floor: bool = True) -> CollectiveResult:
    """Time, algbw and busbw of one collective of `nbytes` (nccl-tests size convention) over `group`.

    time_s = max(host floor, NCCL latency + transfer + memory-side work): back-to-back calls from
    torch.distributed are host-bound below cluster.host_floor (default calibration.HOST_FLOOR_S); `host_floor=False` gives the GPU time
    alone (also in `gpu_time_s`)."""
    if group is None:
        group = Group(cluster.gpus)
    elif isinstance(group, int):
        group = Group(group)
    if not nbytes >= 0:
        raise ValueError(f"message size must be >= 0 bytes, got {nbytes!r}")
    if protocol != "auto" and protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: auto, {', '.join(PROTOCOLS)}")
    return _collective_time(cluster, canonical_op(op), int(nbytes), group, algorithm, protocol, bool(host_floor))


@lru_cache(maxsize=65536)
def _collective_time(cluster: Cluster, op: str, nbytes: int, group: Group, algorithm: str,
                     protocol: str, host_floor: bool = True) -> CollectiveResult:
    """Cached body of collective_time."""
    place(cluster, group)   # validates the group before the trivial cases
    n = group.size
    if n == 1 or nbytes == 0:
        return CollectiveResult(op, nbytes, n, 0.0, float("inf"), float("inf"), "none", "none", "none")
    if op == "send_recv" and n != 2:
        raise ValueError(f"send_recv needs a group of 2 ranks (sender, receiver), got {n}")
    best = None
    for plan in plans(cluster, op, group, algorithm):
        for proto in plan.protocols:
            if protocol != "auto" and proto != protocol:
                continue
            t, lat, neck = plan_time(cluster, plan, nbytes, proto, n)
            if best is None or t < best[0]:
                best = (t, lat, neck, plan.algorithm, proto)
    if best is None:
        raise ValueError(f"protocol {protocol} is not available for {op} with algorithm {algorithm} on {cluster.name}")
    gpu, lat, neck, algo, proto = best
    t = max(gpu, cluster.host_floor) if host_floor else gpu
    if t > gpu:
        neck = "host"
    algbw = nbytes / t
    return CollectiveResult(op, nbytes, n, t, algbw, algbw * busbw_factor(op, n), algo, proto, neck, lat, gpu)


def sweep(cluster: Cluster, op: str, sizes, group: Group | int | None = None, algorithm: str = "auto",
          protocol: str = "auto") -> list[CollectiveResult]:
    """collective_time at each size (the nccl-tests -b/-e/-f sweep)."""
    return [collective_time(cluster, op, s, group, algorithm, protocol) for s in sizes]


__all__ = ["ALGORITHMS", "OPS", "CollectiveResult", "Group", "collective_time", "sweep", "plans",
           "register_algorithm", "busbw_factor"]
