"""Ring algorithm (NCCL's default for bandwidth): all-reduce, all-gather, reduce-scatter, broadcast, reduce.

Each of C channels is a ring through all n ranks, visiting the ranks of a node consecutively, so it crosses
each node boundary once. A ring all-reduce sends 2(n-1)/n of the message over every ring edge
(reduce-scatter then all-gather), AG/RS (n-1)/n, a pipelined broadcast/reduce 1. A node's outgoing ring
edges leave through the NICs of the rails its ranks drive (NCCL uses the NIC next to each GPU).
"""
from __future__ import annotations

from topologies import nccl_params as P
from topologies.collectives.base import (Load, Plan, busbw_factor, channels, gen, intra_hw, link_idents,
                                         path_latency, protocols_for, uplink_ratio)
from topologies.cluster import Cluster
from topologies.group import Placement

RING_OPS = ("all_reduce", "all_gather", "reduce_scatter", "broadcast", "reduce")


def ring_steps(op: str, n: int) -> int:
    """Latency steps NCCL counts (tuning.cc nsteps): 2(n-1) all-reduce, n-1 AG/RS, n otherwise."""
    return 2 * (n - 1) if op == "all_reduce" else (n - 1 if op in ("all_gather", "reduce_scatter") else n)


def ring_loads(cluster: Cluster, p: Placement, per_edge: float, nch: int) -> tuple[Load, ...]:
    """Link loads of rings whose every edge carries `per_edge` message bytes."""
    ids = link_idents(cluster, p)
    loads = []
    if p.ppn > 1:
        loads.append(Load("scaleup", per_edge, nch, ids["scaleup"]))
    if p.multi_node:
        rails = max(p.rails, 1)
        loads.append(Load("nic", per_edge / rails, max(1, nch // rails), ids["nic"]))
        for tier, count in enumerate(p.blocks, start=1):
            if count > 1:  # one ring edge per channel leaves each block; spread over the block's uplinks
                ports = cluster.block_nodes(tier) if cluster.scale_out.kind == "rail_optimized" \
                    else cluster.block_nodes(tier) * cluster.rails_per_plane
                share = per_edge / rails * uplink_ratio(cluster, tier) / ports
                loads.append(Load(f"tier{tier}", share, max(1, nch // rails), ids[f"tier{tier}"]))
    return tuple(loads)


def ring_plan(cluster: Cluster, p: Placement, op: str) -> Plan | None:
    """Ring plan for `op` on placement `p` (None when the op has no ring form)."""
    if op not in RING_OPS:
        return None
    n = p.n
    nch = channels(cluster, p)
    per_edge = busbw_factor(op, n)
    steps = ring_steps(op, n)
    inter_steps = 0 if not p.multi_node else (2 * (p.nodes - 1) if op == "all_reduce" else p.nodes - 1)
    hw = intra_hw(cluster)
    latency = {}
    for proto in protocols_for(cluster, p):
        intra = P.HW_LATENCY[hw]["ring"][proto]
        inter = 0.0
        if p.multi_node:
            intra = max(intra, P.NET_OVERHEAD[proto])
            # with one rank per node NCCL charges the tree's network latency (tuning.cc)
            inter = P.HW_LATENCY["net"]["tree" if p.ppn == 1 else "ring"][proto] + path_latency(cluster, p)
        if op in ("broadcast", "reduce"):
            per_step = inter if p.multi_node else intra
            latency[proto] = P.BASE_LATENCY["ring"][proto] + steps * per_step
        else:
            latency[proto] = P.BASE_LATENCY["ring"][proto] + (steps - inter_steps) * intra + inter_steps * inter
    g = gen(cluster)
    caps = {"LL": P.LL_MAX_BW[g], "LL128": nch * P.PER_CHANNEL_LL128_BW[g]}
    plateau_min = 64.0 * nch * n if (p.multi_node and op == "all_reduce") else float("inf")
    return Plan("ring", latency, (ring_loads(cluster, p, per_edge, nch),), caps=caps,
                plateau=P.RING_PLATEAU, plateau_min_bytes=plateau_min, mem_bytes=ring_mem_bytes(op, n),
                channels=nch)


def ring_mem_bytes(op: str, n: int) -> float:
    """Local HBM bytes per message byte beside the link transfer, per rank.

    all_gather: copy of the rank's own shard input -> output (read S/n + write S/n = 2/n);
    reduce_scatter / all_reduce: the final reduction of the rank's own shard into the output (read the local
    input and the received chunk, write the result: 3/n; the other n-2 reductions are fused into sends, and
    all_reduce's gather phase only forwards). broadcast/reduce: 0 (NB: reduce's root work is not modelled).
    """
    if op == "all_gather":
        return 2.0 / n
    if op in ("reduce_scatter", "all_reduce"):
        return 3.0 / n
    return 0.0
