"""Shared pieces of the collective cost model: ops, bus-bandwidth factors, link loads, plans and their time.

Model (NCCL's, src/graph/tuning.cc, with link loads computed from the topology instead of NCCL's graph search):

    t(op, S, algo, proto) = latency(algo, proto, steps)  +  S * max_links( bytes_on_link / rate(link, proto) )

`bytes_on_link` is what the busiest link of each class carries per byte of message (e.g. 2(n-1)/n for a ring
all-reduce); `rate = min(capacity * protocol_efficiency, protocol_cap)`. NCCL picks the (algo, proto) with the
smallest t; so does `collective_time(..., algorithm="auto")`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from topologies import nccl_params as P
from topologies.calibration import DEFAULT_CHANNELS, HBM_BANDWIDTH
from topologies.cluster import Cluster
from topologies.group import Placement

OPS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast", "reduce", "send_recv")
OP_ALIASES = {"allreduce": "all_reduce", "allgather": "all_gather", "reducescatter": "reduce_scatter",
              "alltoall": "all_to_all", "a2a": "all_to_all", "sendrecv": "send_recv", "p2p": "send_recv",
              "bcast": "broadcast"}
LINK_CLASSES = ("scaleup", "nic", "tier1", "tier2", "tier3", "tier4")


def canonical_op(op: str) -> str:
    """Canonical op name; ValueError listing the known ones."""
    key = str(op).strip().lower().replace("-", "_")
    key = OP_ALIASES.get(key.replace("_", ""), key)
    if key not in OPS:
        raise ValueError(f"unknown collective {op!r}; known: {', '.join(OPS)}")
    return key


def busbw_factor(op: str, n: int) -> float:
    """nccl-tests doc/PERFORMANCE.md: busbw = algbw * factor (2(n-1)/n all-reduce; (n-1)/n AG/RS/A2A; 1 else)."""
    if n <= 1:
        return 1.0
    if op == "all_reduce":
        return 2.0 * (n - 1) / n
    if op in ("all_gather", "reduce_scatter", "all_to_all"):
        return (n - 1) / n
    return 1.0


@dataclass(frozen=True)
class Load:
    """Bytes the busiest link of one class carries per message byte, and how many flows share it."""

    link: str                  # one of LINK_CLASSES
    bytes: float               # per byte of message
    flows: int = 1
    ident: tuple = ()          # which instances (node range, lane/rail range), for sharing between collectives


@dataclass(frozen=True)
class Plan:
    """One algorithm's execution on one placement: its phases' link loads and its latency per protocol."""

    algorithm: str
    latency: Mapping[str, float]             # protocol -> s
    phases: tuple[tuple[Load, ...], ...]     # sequential phases; links within a phase run concurrently
    efficiency: Mapping[str, float] = field(default_factory=lambda: dict(P.PROTOCOL_EFFICIENCY))
    caps: Mapping[str, float] = field(default_factory=dict)  # protocol -> max per-link data rate, B/s
    size_factor: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # proto -> bw factor by log2(S/64)
    plateau: float = 1.0   # Simple-protocol latency multiplier for large messages (NCCL ring multi-node)
    plateau_min_bytes: float = math.inf
    mem_bytes: float = 0.0   # local HBM bytes per message byte beside the link transfer (own-shard copy/reduction)
    channels: int = 0        # channels at full size; > 0 turns on NCCL's channel ramp for small messages

    @property
    def protocols(self) -> tuple[str, ...]:
        """Protocols this plan may run with."""
        return tuple(self.latency)


@dataclass(frozen=True)
class CollectiveResult:
    """Time and bandwidths of one collective (nccl-tests definitions: algbw = S/t, busbw = algbw * factor)."""

    op: str
    nbytes: int
    ranks: int
    time_s: float
    algbw: float        # bytes/s
    busbw: float        # bytes/s
    algorithm: str
    protocol: str
    bottleneck: str     # link class that limits bandwidth ("latency" when latency dominates)
    latency_s: float = 0.0   # NCCL's algorithmic latency of the pick (tuning.cc), without the host floor
    gpu_time_s: float = 0.0  # latency + transfer + memory-side work; time_s = max(gpu_time_s, host floor)

    def to_dict(self) -> dict:
        """JSON-ready dict with edge units (GB/s = 1e9 B/s, like nccl-tests)."""
        return {"op": self.op, "bytes": self.nbytes, "ranks": self.ranks, "time_s": self.time_s,
                "algbw_gbps": self.algbw / 1e9, "busbw_gbps": self.busbw / 1e9, "algorithm": self.algorithm,
                "protocol": self.protocol, "bottleneck": self.bottleneck, "latency_s": self.latency_s}


def capacity(cluster: Cluster, link: str) -> float:
    """Usable data rate of one link of `link` class, bytes/s per direction."""
    if link == "scaleup":
        return cluster.scale_up.usable
    so = cluster.scale_out
    return so.link_bandwidth * so.efficiency


def gen(cluster: Cluster) -> str:
    """NCCL's per-generation table key (TPUs borrow Hopper's rows; only used for protocol caps)."""
    return "hopper" if cluster.arch == "tpu" else cluster.arch


def channels(cluster: Cluster, p: Placement) -> int:
    """Channels (parallel rings/trees) NCCL runs; 16 on NVSwitch nodes, 2 per NIC across nodes, 4 on PCIe."""
    if cluster.scale_up.kind == "pcie" and not p.multi_node:
        return 4   # NB: NCCL's search finds 2-4 rings on PCIe-only nodes; not measured here
    if p.multi_node:
        return max(2, 2 * p.rails)
    return DEFAULT_CHANNELS


def intra_hw(cluster: Cluster) -> str:
    """NCCL latency table row for links inside a node."""
    return "pcie" if cluster.scale_up.kind == "pcie" else "nvlink"


def protocols_for(cluster: Cluster, p: Placement) -> tuple[str, ...]:
    """Protocols NCCL enables: LL128 only over NVLink (and NICs on Hopper+), never on PCIe-only paths (tuning.cc)."""
    if cluster.scale_up.kind == "pcie" and p.ppn > 1:
        return ("LL", "Simple")
    if cluster.arch in ("volta",):
        return ("LL", "Simple")
    return P.PROTOCOLS


def path_latency(cluster: Cluster, p: Placement) -> float:
    """Switch traversals of the farthest inter-node hop: up to the top tier crossed and back down."""
    if not p.multi_node:
        return 0.0
    return (2 * p.top_tier - 1) * cluster.scale_out.hop_latency


def link_idents(cluster: Cluster, p: Placement) -> dict[str, tuple]:
    """Which link instances a placement touches, per class: used to decide whether collectives share links."""
    nodes = range(p.first_node, p.first_node + p.nodes * p.node_step, p.node_step)
    rails = range(p.first_rail, p.first_rail + max(p.rails, 1))
    out = {"scaleup": (nodes, p.lanes), "nic": (nodes, rails)}
    for tier in range(1, len(p.blocks) + 1):
        size = cluster.block_nodes(tier)
        blocks = range(nodes.start // size, (nodes[-1] // size) + 1)
        out[f"tier{tier}"] = (blocks, rails)
    return out


def uplink_ratio(cluster: Cluster, tier: int) -> float:
    """Link-bytes on one uplink of a tier-`tier` block per NIC-byte leaving the block (ports / uplinks)."""
    so = cluster.scale_out
    if tier == 1:
        return so.leaf_down / (so.leaf_up - so.failed_leaf_uplinks)
    return 1.0   # NB: above the leaf the Clos is non-blocking (radix/2 up for radix/2 down)


def hbm_bandwidth(cluster: Cluster) -> float:
    """HBM bytes/s of the cluster's GPU (calibration.HBM_BANDWIDTH, datasheets); inf when unknown (no term)."""
    return HBM_BANDWIDTH.get(cluster.device, math.inf)


def channel_fraction(plan: Plan, nbytes: float, proto: str, n: int) -> float:
    """Fraction of the plan's channels NCCL runs for `nbytes` (enqueue.cc: drop channels while
    nBytes < nc * nThreads * threadThreshold). Continuous in nbytes (a fractional channel), so time never
    falls as size grows; below the full-channel size the bandwidth term is flat at one channel's unit."""
    if plan.channels <= 0:
        return 1.0
    unit = P.MAX_NTHREADS[proto] * P.THREAD_THRESHOLD[proto] * (n if (proto == "LL" and plan.algorithm == "ring") else 1)
    return min(1.0, max(1.0, nbytes / unit) / plan.channels)


def size_index(nbytes: float) -> int:
    """log2(bytes/64), NCCL's index into its size-correction tables."""
    return int(math.log2(nbytes / 64)) if nbytes >= 64 else -1


def plan_time(cluster: Cluster, plan: Plan, nbytes: float, proto: str, n: int = 2) -> tuple[float, float, str]:
    """(total time, latency part, bottleneck class) of `plan` moving `nbytes` with protocol `proto` on n ranks.

    total = latency + link transfer (at the channels NCCL runs for this size) + memory-side work / HBM bw."""
    eff = plan.efficiency[proto]
    cap = plan.caps.get(proto, math.inf)
    factor = 1.0
    table = plan.size_factor.get(proto)
    if table:
        idx = size_index(nbytes)
        if 0 <= idx < len(table):
            factor = table[idx]
    factor *= channel_fraction(plan, nbytes, proto, n)
    bw_time, bottleneck, worst = 0.0, "latency", 0.0
    for phase in plan.phases:
        phase_time = 0.0
        for load in phase:
            if load.bytes <= 0:
                continue
            rate = min(capacity(cluster, load.link) * eff, cap) * factor
            t = nbytes * load.bytes / rate
            if t > phase_time:
                phase_time = t
            if t > worst:
                worst, bottleneck = t, load.link
        bw_time += phase_time
    if plan.mem_bytes > 0:
        mem_time = nbytes * plan.mem_bytes / hbm_bandwidth(cluster)
        bw_time += mem_time
        if mem_time > worst:
            worst, bottleneck = mem_time, "hbm"
    latency = plan.latency[proto]
    if proto == "Simple" and nbytes >= plan.plateau_min_bytes:
        latency *= plan.plateau
    if latency > bw_time:
        bottleneck = "latency"
    return latency + bw_time, latency, bottleneck
