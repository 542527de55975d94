"""NCCL's tree all-reduce: a chain through the GPUs of each node and a double binary tree across nodes.

Half the channels use tree A, half its mirror B, so every node is an inner node in at most one tree.
Reduce goes up, broadcast comes down: a node sends and receives 2S in all (S/2 up and S/2 down in each
tree, twice for its inner-node children), a GPU of the intra-node chain 2S per direction as well, hence
algbw ~ link/2 and busbw ~ link (NCCL's `ratio = .5`). Latency: log2(nodes) network hops, not n.
"""
from __future__ import annotations

import math

from topologies import nccl_params as P
from topologies.collectives.base import (Load, Plan, channels, gen, intra_hw, link_idents, path_latency,
                                         protocols_for, uplink_ratio)
from topologies.cluster import Cluster
from topologies.group import Placement


def tree_plan(cluster: Cluster, p: Placement, op: str) -> Plan | None:
    """Double-binary-tree plan (all-reduce only, as in NCCL)."""
    if op != "all_reduce" or p.n < 2:
        return None
    nch = channels(cluster, p)
    ids = link_idents(cluster, p)
    loads = []
    if p.ppn > 1:
        loads.append(Load("scaleup", 2.0, nch, ids["scaleup"]))
    if p.multi_node:
        rails = max(p.rails, 1)
        loads.append(Load("nic", 2.0 / rails, max(1, nch // rails), ids["nic"]))
        for tier, count in enumerate(p.blocks, start=1):
            if count > 1:
                ports = cluster.block_nodes(tier) if cluster.scale_out.kind == "rail_optimized" \
                    else cluster.block_nodes(tier) * cluster.rails_per_plane
                share = 2.0 / rails * uplink_ratio(cluster, tier) / ports
                loads.append(Load(f"tier{tier}", share, max(1, nch // rails), ids[f"tier{tier}"]))
    hw = intra_hw(cluster)
    log_nodes = int(math.log2(p.nodes)) if p.nodes > 1 else 0
    latency = {}
    for proto in protocols_for(cluster, p):
        intra = P.HW_LATENCY[hw]["tree"][proto]
        inter = P.HW_LATENCY["net"]["tree"][proto] + path_latency(cluster, p)
        latency[proto] = P.BASE_LATENCY["tree"][proto] + 2 * ((p.ppn - 1) * intra + log_nodes * inter)
    g = gen(cluster)
    eff = {proto: P.TREE_EFFICIENCY[proto] for proto in P.PROTOCOLS}
    if p.multi_node:
        eff["LL128"] = 120.0 / 128.0 * 1.0   # tuning.cc: 120/128 across nodes, 7/9 inside one
    caps = {"LL": P.LL_MAX_BW[g], "LL128": nch * P.PER_CHANNEL_LL128_BW[g], "Simple": nch * P.PER_CHANNEL_TREE_BW[g]}
    return Plan("tree", latency, (tuple(loads),), efficiency=eff, caps=caps, size_factor=P.TREE_CORRECTION,
                mem_bytes=3.0 / p.n, channels=nch)   # same own-shard reduction as the ring (ring.ring_mem_bytes)
