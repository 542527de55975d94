"""Communicator groups described structurally (size, stride, start in the global rank order) and their placement.

Global rank r lives on node r // gpus_per_node at local index (lane) r % gpus_per_node; lane i drives NIC
(rail) i * nics_per_node // gpus_per_node. A group is the arithmetic progression start, start+stride, ...
(Megatron's TP, DP, PP and EP groups are all of this form), so placement is computed, never enumerated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from topologies.cluster import Cluster


@dataclass(frozen=True)
class Group:
    """Ranks start, start + stride, ..., start + (size - 1) * stride of the cluster's global order."""

    size: int
    stride: int = 1
    start: int = 0

    def __post_init__(self) -> None:
        for key, low in (("size", 1), ("stride", 1), ("start", 0)):
            value = getattr(self, key)
            if isinstance(value, bool) or int(value) != value or value < low:
                raise ValueError(f"group {key} must be an integer >= {low}, got {value!r}")

    @property
    def last(self) -> int:
        """Highest global rank of the group."""
        return self.start + (self.size - 1) * self.stride

    @classmethod
    def parse(cls, text: str) -> "Group":
        """Group from 'N' (first N ranks), 'A-B' (ranks A..B), 'r0,r1,...' (an arithmetic progression) or
        'size=N,stride=S,start=T'."""
        text = str(text).strip()
        try:
            if "=" in text:
                kw = dict(part.split("=", 1) for part in text.split(","))
                unknown = set(kw) - {"size", "stride", "start"}
                if unknown:
                    raise ValueError(f"unknown group field(s) {', '.join(sorted(unknown))}")
                return cls(**{k: int(v) for k, v in kw.items()})
            if "," in text:
                ranks = [int(part) for part in text.split(",")]
                stride = ranks[1] - ranks[0] if len(ranks) > 1 else 1
                if stride < 1 or any(b - a != stride for a, b in zip(ranks, ranks[1:])):
                    raise ValueError("ranks must be increasing with a constant stride (e.g. 0,8,16,24)")
                return cls(len(ranks), stride, ranks[0])
            if "-" in text:
                lo, hi = (int(part) for part in text.split("-", 1))
                return cls(hi - lo + 1, 1, lo)
            return cls(int(text))
        except ValueError as exc:
            raise ValueError(f"cannot read group {text!r}: {exc}") from None


@dataclass(frozen=True)
class Placement:
    """Where a group sits on a cluster: what the collective cost model needs, computed in O(1)."""

    n: int              # ranks
    nodes: int          # distinct nodes spanned
    ppn: int            # ranks on the busiest node
    node_step: int      # node distance between consecutive nodes of the group
    first_node: int
    lanes: range        # local GPU indices used on a node
    rails: int          # NICs of a node the group's ranks drive (NCCL uses the NIC next to each GPU)
    first_rail: int
    blocks: tuple[int, ...]       # per switch tier 1..T: distinct blocks (subtrees) the group spans
    block_nodes: tuple[int, ...]  # per tier: group nodes inside one such block (the busiest)

    @property
    def multi_node(self) -> bool:
        """True when the group crosses the scale-out fabric."""
        return self.nodes > 1

    @property
    def top_tier(self) -> int:
        """Highest switch tier any inter-node traffic of the group climbs to (0 = stays in the node)."""
        if self.nodes <= 1:
            return 0
        for tier, count in enumerate(self.blocks, start=1):
            if count == 1:
                return tier
        return len(self.blocks) + 1


def place(cluster: Cluster, group: Group) -> Placement:
    """Placement of `group` on `cluster`; ValueError when the group names ranks the cluster lacks."""
    if group.last >= cluster.gpus:
        raise ValueError(f"group (size {group.size}, stride {group.stride}, start {group.start}) reaches rank "
                         f"{group.last} but cluster {cluster.name} has only {cluster.gpus} GPUs (ranks 0.."
                         f"{cluster.gpus - 1})")
    return _place(cluster, group)


@lru_cache(maxsize=4096)
def _place(cluster: Cluster, group: Group) -> Placement:
    """Cached body of place()."""
    gpn = cluster.gpus_per_node
    n, stride, start = group.size, group.stride, group.start
    first_node, last_node = start // gpn, group.last // gpn
    if stride >= gpn:
        ppn, nodes = 1, n
        node_step = stride // gpn if stride % gpn == 0 else 1
        lanes = range(start % gpn, start % gpn + 1)
    else:
        ppn = min(n, math.ceil(gpn / stride))
        nodes = last_node - first_node + 1
        node_step = 1
        lane0 = start % gpn
        lanes = range(lane0, min(gpn, lane0 + (ppn - 1) * stride + 1), stride)
    if cluster.scale_out.kind == "none" or cluster.nics_per_node == 0:
        rails, first_rail = 0, 0
    else:
        per_nic = max(1, gpn // cluster.nics_per_node)   # GPUs sharing one NIC
        rail_ids = {lane // per_nic for lane in lanes} if len(lanes) <= 4096 else None
        rails = len(rail_ids) if rail_ids is not None else cluster.nics_per_node
        first_rail = lanes.start // per_nic
    blocks, block_nodes = [], []
    for tier in range(1, max(cluster.tiers, 0) + 1):
        size = cluster.block_nodes(tier)
        if node_step >= size:
            blocks.append(nodes)
            block_nodes.append(1)
        else:
            last = first_node + (nodes - 1) * node_step
            blocks.append(last // size - first_node // size + 1)
            block_nodes.append(min(nodes, math.ceil(size / node_step)))
    return Placement(n=n, nodes=nodes, ppn=ppn, node_step=node_step, first_node=first_node, lanes=lanes,
                     rails=rails, first_rail=first_rail, blocks=tuple(blocks), block_nodes=tuple(block_nodes))
