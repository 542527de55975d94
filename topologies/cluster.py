"""A cluster as data: scale-up domains (nodes) joined by a scale-out fabric, validated on construction.

A node here is one scale-up domain (an 8-GPU HGX board, a 72-GPU NVL72 rack, a TPU pod's ICI torus).
Nothing is enumerated: the regular structure (switch radix, tiers, rails, planes) gives every size
the collective model needs in O(1), so a 100k-GPU cluster costs a few hundred bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

from topologies.calibration import HOST_FLOOR_S, NET_EFFICIENCY, SWITCH_HOP_LATENCY

SCALEUP_KINDS = ("switch", "pcie", "torus")
SCALEOUT_KINDS = ("none", "fat_tree", "rail_optimized")
ARCHS = ("volta", "ampere", "hopper", "blackwell", "tpu")
MAX_TIERS = 4


def _positive(owner: str, name: str, value: float) -> None:
    """Raise ValueError unless value is a positive finite number."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not (value > 0) or math.isinf(value):
        raise ValueError(f"{owner}: {name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class ScaleUp:
    """The fabric inside one node: NVSwitch, PCIe switch/host bridge, or an ICI torus (TPU)."""

    kind: str                   # one of SCALEUP_KINDS
    bandwidth: float            # per GPU, bytes/s per direction (datasheet: NVLink4 18 x 25 GB/s = 450e9)
    efficiency: float           # usable fraction for NCCL data (nccl_params.NVLINK_EFFICIENCY ...)
    latency: float = 0.0        # one hop, s (NCCL's per-step latency already includes it)
    nvls: bool = False          # in-switch reduction (NVLink SHARP, NVSwitch gen3+)
    torus_dims: tuple[int, ...] = ()  # kind == "torus": chips along each dimension
    torus_links: int = 2        # links per chip per dimension (2 = both ring directions)

    def __post_init__(self) -> None:
        if self.kind not in SCALEUP_KINDS:
            raise ValueError(f"scale_up kind {self.kind!r} unknown; known: {', '.join(SCALEUP_KINDS)}")
        _positive("scale_up", "bandwidth", self.bandwidth)
        if not 0 < self.efficiency <= 1:
            raise ValueError(f"scale_up: efficiency must be in (0, 1], got {self.efficiency!r}")
        object.__setattr__(self, "torus_dims", tuple(int(d) for d in self.torus_dims))
        if self.kind == "torus" and (not self.torus_dims or min(self.torus_dims) < 1):
            raise ValueError("scale_up kind 'torus' needs torus_dims, e.g. [16, 20, 28]")

    @property
    def usable(self) -> float:
        """Data bandwidth per GPU per direction, bytes/s."""
        return self.bandwidth * self.efficiency


@dataclass(frozen=True)
class ScaleOut:
    """The fabric between nodes: a folded Clos of `tiers` switch levels, optionally rail-optimized and multi-plane."""

    kind: str = "none"              # one of SCALEOUT_KINDS
    link_bandwidth: float = 0.0     # one NIC port / switch port, bytes/s per direction (NDR 400 Gb/s = 50e9)
    radix: int = 64                 # ports per switch (QM9700: 64 x 400G)
    oversubscription: float = 1.0   # leaf downlinks : uplinks (2.0 = 2:1)
    planes: int = 1                 # independent fabrics; NIC i of a node joins plane i % planes
    tiers: int = 0                  # 0 = the fewest that hold every NIC port
    efficiency: float = NET_EFFICIENCY
    hop_latency: float = SWITCH_HOP_LATENCY
    sharp: bool = False             # in-network reduction (InfiniBand SHARP / NCCL CollNet)
    failed_leaf_uplinks: int = 0    # uplinks lost on the worst leaf (a failed cable or spine port)

    def __post_init__(self) -> None:
        if self.kind not in SCALEOUT_KINDS:
            raise ValueError(f"scale_out kind {self.kind!r} unknown; known: {', '.join(SCALEOUT_KINDS)}")
        if self.kind == "none":
            return
        _positive("scale_out", "link_bandwidth", self.link_bandwidth)
        if int(self.radix) != self.radix or self.radix < 4 or self.radix % 2:
            raise ValueError(f"scale_out: radix must be an even integer >= 4, got {self.radix!r}")
        if not self.oversubscription >= 1:
            raise ValueError(f"scale_out: oversubscription must be >= 1 (downlinks:uplinks), got {self.oversubscription!r}")
        if int(self.planes) != self.planes or self.planes < 1:
            raise ValueError(f"scale_out: planes must be a positive integer, got {self.planes!r}")
        if not 0 <= self.tiers <= MAX_TIERS:
            raise ValueError(f"scale_out: tiers must be 0 (auto) .. {MAX_TIERS}, got {self.tiers!r}")
        if not 0 < self.efficiency <= 1:
            raise ValueError(f"scale_out: efficiency must be in (0, 1], got {self.efficiency!r}")
        if self.failed_leaf_uplinks < 0 or self.failed_leaf_uplinks >= self.leaf_up:
            raise ValueError(f"scale_out: failed_leaf_uplinks must be in [0, {self.leaf_up}) for this leaf")

    @property
    def leaf_down(self) -> int:
        """Leaf ports facing NICs: radix split down:up by the oversubscription ratio."""
        return int(round(self.radix * self.oversubscription / (1.0 + self.oversubscription)))

    @property
    def leaf_up(self) -> int:
        """Leaf ports facing the next tier."""
        return self.radix - self.leaf_down

    def capacity(self, tiers: int) -> int:
        """NIC ports one plane of `tiers` levels can hold (folded Clos: upper switches split radix/2 : radix/2, top uses all)."""
        if tiers == 1:
            return self.radix
        return self.leaf_down * (self.radix // 2) ** (tiers - 2) * self.radix


@dataclass(frozen=True)
class Cluster:
    """N nodes of M GPUs with K NICs each, a scale-up fabric inside each node and a scale-out fabric between them."""

    name: str
    device: str                     # hardware catalog name, e.g. "h100-sxm"
    arch: str                       # GPU generation, selects NCCL's per-generation constants
    nodes: int
    gpus_per_node: int
    scale_up: ScaleUp
    scale_out: ScaleOut = field(default_factory=ScaleOut)
    nics_per_node: int = 0
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)  # not part of identity or hash
    # Per-call host floor of a lone torch.distributed collective, s (calibration.HOST_FLOOR_S unless a
    # cluster file, e.g. one written by `roofsim calibrate --collectives`, sets host_floor_us).
    host_floor: float = HOST_FLOOR_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        if not self.name:
            raise ValueError("cluster name must not be empty")
        if self.arch not in ARCHS:
            raise ValueError(f"cluster {self.name}: arch {self.arch!r} unknown; known: {', '.join(ARCHS)}")
        if isinstance(self.host_floor, bool) or not isinstance(self.host_floor, (int, float)) \
                or not 0 <= self.host_floor < math.inf:
            raise ValueError(f"cluster {self.name}: host_floor must be a number of seconds >= 0, got {self.host_floor!r}")
        for key in ("nodes", "gpus_per_node"):
            value = getattr(self, key)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"cluster {self.name}: {key} must be a positive integer, got {value!r}")
        if self.scale_up.kind == "torus" and math.prod(self.scale_up.torus_dims) != self.gpus_per_node:
            raise ValueError(f"cluster {self.name}: torus_dims {self.scale_up.torus_dims} hold "
                             f"{math.prod(self.scale_up.torus_dims)} chips, not gpus_per_node={self.gpus_per_node}")
        if self.nodes > 1 and self.scale_out.kind == "none":
            raise ValueError(f"cluster {self.name}: {self.nodes} nodes need a scale_out fabric")
        if self.scale_out.kind != "none":
            if self.nics_per_node < 1:
                raise ValueError(f"cluster {self.name}: a scale_out fabric needs nics_per_node >= 1")
            if self.nics_per_node % self.scale_out.planes:
                raise ValueError(f"cluster {self.name}: nics_per_node={self.nics_per_node} does not split "
                                 f"evenly over {self.scale_out.planes} planes")
            if self.scale_out.kind == "rail_optimized" and self.scale_out.leaf_down < 1:
                raise ValueError(f"cluster {self.name}: leaf has no downlinks")
            self.tiers  # raises when no Clos of MAX_TIERS holds the cluster

    # ---- derived geometry (O(1), never enumerated) ----
    @property
    def gpus(self) -> int:
        """Total accelerators."""
        return self.nodes * self.gpus_per_node

    @property
    def rails_per_plane(self) -> int:
        """NICs of one node that join the same plane."""
        return self.nics_per_node // self.scale_out.planes

    @property
    def nodes_per_leaf(self) -> int:
        """Nodes whose NICs (on one rail) share a leaf switch: rail-optimized puts one NIC of each of
        leaf_down nodes on a leaf; a plain fat-tree puts all of a node's NICs in a plane on one leaf."""
        so = self.scale_out
        if so.kind == "none":
            return self.nodes
        if so.kind == "rail_optimized":
            return so.leaf_down
        return max(1, so.leaf_down // self.rails_per_plane)

    @property
    def tiers(self) -> int:
        """Switch levels of each plane: as configured, else the fewest whose Clos holds every NIC port."""
        so = self.scale_out
        if so.kind == "none" or self.nodes == 1:
            return 0
        ports = self.nodes * self.rails_per_plane
        if so.tiers:
            if so.capacity(so.tiers) < ports:
                raise ValueError(f"cluster {self.name}: a {so.tiers}-tier radix-{so.radix} plane holds "
                                 f"{so.capacity(so.tiers)} NIC ports, {ports} needed")
            return so.tiers
        for tiers in range(1, MAX_TIERS + 1):
            if so.capacity(tiers) >= ports:
                return max(tiers, 2 if self.nodes > self.nodes_per_leaf else 1)
        raise ValueError(f"cluster {self.name}: {ports} NIC ports per plane exceed a {MAX_TIERS}-tier "
                         f"radix-{so.radix} Clos ({so.capacity(MAX_TIERS)}); add planes or radix")

    def block_nodes(self, tier: int) -> int:
        """Nodes below one switch of `tier` (1 = leaf) on one rail; traffic between blocks climbs above it."""
        if tier >= self.tiers:
            return self.nodes      # the top tier joins every leaf of the plane
        if tier <= 1:
            return self.nodes_per_leaf
        return self.nodes_per_leaf * (self.scale_out.radix // 2) ** (tier - 1)

    def with_gpus(self, gpus: int) -> "Cluster":
        """The same design scaled to `gpus` accelerators (whole nodes)."""
        if isinstance(gpus, bool) or int(gpus) != gpus or gpus < 1 or gpus % self.gpus_per_node:
            raise ValueError(f"cluster {self.name}: --gpus must be a positive multiple of "
                             f"{self.gpus_per_node} GPUs per node, got {gpus!r}")
        nodes = int(gpus) // self.gpus_per_node
        if nodes > 1 and self.scale_out.kind == "none":
            raise ValueError(f"cluster {self.name} is a single scale-up domain with no scale-out fabric; "
                             f"it cannot grow to {gpus} GPUs")
        return replace(self, nodes=nodes, scale_out=replace(self.scale_out, tiers=0)
                       if self.scale_out.kind != "none" else self.scale_out)
