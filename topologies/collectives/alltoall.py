"""All-to-all (pairwise exchange, as NCCL runs it with grouped send/recv) and point-to-point send/recv.

Each rank holds S bytes and sends S/n to every peer (nccl-tests alltoall). Peers in the node use
NVLink; peers elsewhere use the NIC. On rail-optimized or multi-plane fabrics a NIC reaches only its own
rail/plane, so traffic for another rail first hops over NVLink to the GPU on that rail (NCCL PXN), which
is why a multi-plane network costs extra NVLink traffic but no extra switch tiers.
"""
from __future__ import annotations

import math

from topologies import nccl_params as P
from topologies.collectives.base import Load, Plan, channels, gen, intra_hw, link_idents, path_latency, \
    uplink_ratio
from topologies.cluster import Cluster
from topologies.group import Placement

P2P_CONCURRENCY = 8   # NB: peers NCCL progresses at once per launch (p2p channels); assumed, not from tuning.cc


def _latency(cluster: Cluster, p: Placement, peers_per_step: int) -> dict[str, float]:
    """Launch + per-round hop latency for `peers_per_step` pairwise rounds."""
    hw = intra_hw(cluster)
    out = {}
    for proto in ("LL", "Simple"):   # NCCL p2p runs LL for small and Simple for large messages
        hop = P.HW_LATENCY["net" if p.multi_node else hw]["ring"][proto] + path_latency(cluster, p)
        out[proto] = P.BASE_LATENCY["ring"][proto] + peers_per_step * hop
    return out


def all_to_all_plan(cluster: Cluster, p: Placement, op: str) -> Plan | None:
    """Pairwise all-to-all plan."""
    if op != "all_to_all" or p.n < 2:
        return None
    n, ppn = p.n, p.ppn
    ids = link_idents(cluster, p)
    nch = channels(cluster, p)
    intra = (ppn - 1) / n
    inter = (n - ppn) / n
    loads = []
    so = cluster.scale_out
    rails = max(p.rails, 1)
    relay = 0.0
    if p.multi_node and (so.kind == "rail_optimized" or so.planes > 1) and rails > 1:
        relay = inter * (rails - 1) / rails   # PXN: cross-rail bytes ride NVLink to the GPU on the right rail
    if intra + relay > 0:
        loads.append(Load("scaleup", intra + relay, nch, ids["scaleup"]))
    if p.multi_node:
        per_nic = ppn * inter / rails
        loads.append(Load("nic", per_nic, max(1, nch // rails), ids["nic"]))
        for tier, count in enumerate(p.blocks, start=1):
            if count > 1:
                inside = p.block_nodes[tier - 1]
                leaving = (p.nodes - inside) / (p.nodes - 1)   # fraction of inter-node peers outside the block
                loads.append(Load(f"tier{tier}", per_nic * leaving * uplink_ratio(cluster, tier),
                                  max(1, nch // rails), ids[f"tier{tier}"]))
    latency = _latency(cluster, p, math.ceil((n - 1) / P2P_CONCURRENCY))
    g = gen(cluster)
    # the rank's own S/n chunk is a local copy (read + write 2/n of S in HBM), beside the link transfer
    return Plan("pairwise", latency, (tuple(loads),), caps={"LL": P.LL_MAX_BW[g]}, mem_bytes=2.0 / n)


def send_recv_plan(cluster: Cluster, p: Placement, op: str) -> Plan | None:
    """One rank sends S to one other (group of 2: start and start + stride)."""
    if op != "send_recv" or p.n != 2:
        return None
    ids = link_idents(cluster, p)
    if p.multi_node:
        loads = (Load("nic", 1.0, 2, ids["nic"]),) + tuple(
            Load(f"tier{t}", 1.0, 2, ids[f"tier{t}"])   # ECMP pins one flow to one uplink
            for t, count in enumerate(p.blocks, start=1) if count > 1)
    else:
        loads = (Load("scaleup", 1.0, channels(cluster, p), ids["scaleup"]),)
    g = gen(cluster)
    return Plan("p2p", _latency(cluster, p, 1), (loads,), caps={"LL": P.LL_MAX_BW[g]})
