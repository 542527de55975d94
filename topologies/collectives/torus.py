"""Collectives on a torus (TPU ICI): dimension by dimension, bidirectional rings in each dimension.

An all-reduce of S on a d1 x d2 x d3 torus reduce-scatters along dim 1 (rings in both directions, each
link carrying (d1-1)/d1 * S/2), then along dim 2 on the S/d1 shard, ..., then all-gathers back: the
bandwidth term is sum_i 2 (d_i-1)/d_i * S_i / (2 link), S_i = S / (d_1 ... d_{i-1}).
The group fills dimensions in order (rank r has coordinates r mod d1, r / d1 mod d2, ...).
"""
from __future__ import annotations

from topologies.collectives.base import Load, Plan, busbw_factor, link_idents
from topologies.cluster import Cluster
from topologies.group import Placement

ICI_HOP_LATENCY = 1.0e-6   # NB: per ring step on ICI, assumed (Google publishes no per-hop figure)
ICI_LAUNCH_LATENCY = 5.0e-6  # NB: assumed XLA collective launch cost


def group_dims(cluster: Cluster, n: int) -> tuple[int, ...]:
    """Torus extent the first n ranks occupy along each dimension (filled in order)."""
    dims, left = [], n
    for d in cluster.scale_up.torus_dims:
        take = min(d, left)
        dims.append(take)
        left = -(-left // take)
        if left <= 1:
            break
    return tuple(x for x in dims if x > 1)


def torus_plan(cluster: Cluster, p: Placement, op: str) -> Plan | None:
    """Dimension-ordered bidirectional-ring plan for AR/AG/RS/broadcast on an ICI torus."""
    if cluster.scale_up.kind != "torus" or p.multi_node or op not in (
            "all_reduce", "all_gather", "reduce_scatter", "broadcast", "reduce"):
        return None
    dims = group_dims(cluster, p.n)
    links = cluster.scale_up.torus_links
    # scale_up.bandwidth is per chip over all its links; one link = bandwidth / (2 x dims of the torus)
    per_link_share = 2 * len(cluster.scale_up.torus_dims)
    ids = link_idents(cluster, p)
    phases, shard, steps = [], 1.0, 0
    for d in dims:
        f = busbw_factor(op, d) if op in ("all_reduce", "all_gather", "reduce_scatter") else 1.0
        phases.append((Load("scaleup", f * shard / links * per_link_share, links, ids["scaleup"]),))
        steps += (2 if op == "all_reduce" else 1) * (d - 1)
        if op in ("all_reduce", "reduce_scatter"):
            shard /= d
    latency = {"Simple": ICI_LAUNCH_LATENCY + steps * ICI_HOP_LATENCY}
    return Plan("torus", latency, tuple(phases), efficiency={"Simple": 1.0})
