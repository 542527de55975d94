"""In-switch reduction: NVLS (NVLink SHARP in NVSwitch gen3+) inside a node, SHARP (NCCL CollNet) across nodes.

NVLS all-reduce: the switch reads every GPU's buffer once, reduces, and each GPU pulls its reduced 1/n
shard (multimem.ld_reduce); each GPU then writes its shard once and the switch multicasts it to all
(multimem.st). Per GPU and direction that is S + S/n instead of the ring's 2(n-1)/n S, so busbw can
exceed the per-direction NVLink rate: 2(n-1)/(n+1) x link x nvls_efficiency = 490 GB/s on 8 H100.
All-gather NVLS: each GPU writes S/n, receives S; reduce-scatter mirrors it.
SHARP across nodes: each NIC sends its share up once and receives the reduced result once (1 instead of
2(n-1)/n), plus NVLink reduce-scatter/all-gather inside each node.
"""
from __future__ import annotations

from topologies import nccl_params as P
from topologies.collectives.base import Load, Plan, gen, intra_hw, link_idents, path_latency
from topologies.collectives.ring import ring_plan
from topologies.cluster import Cluster
from topologies.group import Placement


def nvls_plan(cluster: Cluster, p: Placement, op: str) -> Plan | None:
    """NVLS plan inside one node (None when the switch lacks NVLS or the group crosses nodes)."""
    if not cluster.scale_up.nvls or cluster.scale_up.kind != "switch" or p.multi_node or p.n < 2:
        return None
    if op not in ("all_reduce", "all_gather", "reduce_scatter"):
        return None
    n = p.n
    per_gpu = (1.0 + 1.0 / n) if op == "all_reduce" else 1.0
    eff = P.NVLS_EFFICIENCY[gen(cluster)]
    if eff <= 0:
        return None
    ids = link_idents(cluster, p)
    nch = 16   # NB: NVLS needs >= 2 channels; at 16+ the (nch-1)/nch term of tuning.cc is ~0.94, folded into eff
    latency = {"Simple": P.BASE_LATENCY["nvls"]["Simple"] + P.HW_LATENCY["nvlink"]["nvls"]["Simple"]}
    return Plan("nvls", latency, ((Load("scaleup", per_gpu, nch, ids["scaleup"]),),),
                efficiency={"Simple": eff})


def sharp_plan(cluster: Cluster, p: Placement, op: str) -> Plan | None:
    """In-network (SHARP/CollNet) all-reduce across nodes: intra-node RS, one up/down trip per NIC, intra AG."""
    if op != "all_reduce" or not cluster.scale_out.sharp or not p.multi_node:
        return None
    ids = link_idents(cluster, p)
    rails = max(p.rails, 1)
    phases = []
    if p.ppn > 1:
        phases.append((Load("scaleup", 2.0 * (p.ppn - 1) / p.ppn, 16, ids["scaleup"]),))
    phases.append((Load("nic", 1.0 / rails, 2, ids["nic"]),))
    hw = intra_hw(cluster)
    inter = P.HW_LATENCY["net"]["collnet"]["Simple"] + path_latency(cluster, p)
    intra = P.HW_LATENCY[hw]["collnet"]["Simple"]
    latency = {"Simple": 2 * (min(1, p.ppn - 1) * intra + (p.ppn - 1) * 0.4e-6) + inter}
    return Plan("sharp", latency, tuple(phases), efficiency={"Simple": 1.0})


def hierarchical_plan(cluster: Cluster, p: Placement, op: str) -> Plan | None:
    """Intra-node reduce-scatter, inter-node all-reduce of S/ppn per rail, intra-node all-gather (Horovod/
    Megatron style 2D all-reduce; NCCL's own ring already crosses nodes once per channel)."""
    from topologies.group import Placement as Pl

    if op != "all_reduce" or not p.multi_node or p.ppn < 2:
        return None
    intra = Pl(n=p.ppn, nodes=1, ppn=p.ppn, node_step=1, first_node=p.first_node, lanes=p.lanes, rails=p.rails,
               first_rail=p.first_rail, blocks=tuple(1 for _ in p.blocks), block_nodes=tuple(1 for _ in p.blocks))
    inter = Pl(n=p.nodes, nodes=p.nodes, ppn=1, node_step=p.node_step, first_node=p.first_node,
               lanes=p.lanes, rails=p.rails, first_rail=p.first_rail, blocks=p.blocks, block_nodes=p.block_nodes)
    rs = ring_plan(cluster, intra, "reduce_scatter")
    ar = ring_plan(cluster, inter, "all_reduce")
    ag = ring_plan(cluster, intra, "all_gather")
    # each GPU all-reduces its S/ppn shard on its own rail: a node's S leaves over its rails, which is what
    # ring_loads already charges for a ring carrying the whole message from the node
    inter_loads = ar.phases[0]
    protos = tuple(x for x in rs.latency if x in ar.latency)
    latency = {x: rs.latency[x] + ar.latency[x] + ag.latency[x] for x in protos}
    return Plan("hierarchical", latency, (rs.phases[0], inter_loads, ag.phases[0]), caps=dict(ar.caps))
