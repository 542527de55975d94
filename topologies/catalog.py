"""Cluster catalog: a registry of named reference clusters, each number with its source, plus `get_cluster`."""
from __future__ import annotations

from typing import Callable

from topologies.cluster import Cluster, ScaleOut, ScaleUp
from topologies.nccl_params import NVLINK_EFFICIENCY, PCIE_EFFICIENCY

GB = 1e9           # datasheets quote GB/s = 1e9 B/s
GBIT = 1e9 / 8     # NIC line rates in Gb/s

CLUSTERS: dict[str, Callable[[], Cluster]] = {}


def register(name: str):
    """Decorator adding a cluster factory to CLUSTERS; a duplicate name is an error."""
    def wrap(factory: Callable[[], Cluster]) -> Callable[[], Cluster]:
        if name in CLUSTERS:
            raise ValueError(f"cluster {name!r} registered twice")
        CLUSTERS[name] = factory
        return factory
    return wrap


def get_cluster(name_or_path: str, gpus: int | None = None) -> Cluster:
    """Cluster by catalog name or from a .yaml/.yml/.json file, optionally scaled to `gpus` accelerators."""
    key = str(name_or_path).strip()
    if key.lower().endswith((".yaml", ".yml", ".json")):
        from topologies.loader import load_cluster
        cluster = load_cluster(key)
    elif key.lower() in CLUSTERS:
        cluster = CLUSTERS[key.lower()]()
    else:
        raise ValueError(f"unknown cluster {name_or_path!r}; known: {', '.join(sorted(CLUSTERS))} "
                         f"(or a .yaml/.json file)")
    return cluster.with_gpus(gpus) if gpus is not None else cluster


# NVLink4 on H100/H200 SXM: 18 links x 25 GB/s per direction = 450 GB/s ("900 GB/s" bidirectional).
# Source: NVIDIA H100 Tensor Core GPU datasheet (SXM: NVLink 900 GB/s); H200 datasheet (NVLink 900 GB/s).
_NVLINK4 = ScaleUp("switch", 450 * GB, NVLINK_EFFICIENCY["hopper"], nvls=True)
# NDR InfiniBand, ConnectX-7 400 Gb/s per port; Quantum-2 QM9700 switch 64 ports of 400 Gb/s.
_NDR = dict(link_bandwidth=400 * GBIT, radix=64)
_SRC_DGX_H100 = {
    "node": "NVIDIA DGX H100 datasheet: 8x H100 SXM, 4x NVSwitch gen3, 8x ConnectX-7 400 Gb/s (compute fabric)",
    "nvlink": "H100 datasheet: NVLink4 900 GB/s bidirectional = 450 GB/s per direction; NVLS in NVSwitch gen3",
    "nvlink_efficiency": "NCCL src/graph/topo.h SM90_NVLINK_BW 20.6 GB/s per 25 GB/s link",
}


def _dgx(name: str, device: str, nodes: int = 1, scale_out: ScaleOut | None = None, **src) -> Cluster:
    """An HGX/DGX 8-GPU Hopper node design, optionally joined by `scale_out`."""
    return Cluster(name=name, device=device, arch="hopper", nodes=nodes, gpus_per_node=8, scale_up=_NVLINK4,
                   scale_out=scale_out or ScaleOut("rail_optimized", **_NDR), nics_per_node=8,
                   sources={**_SRC_DGX_H100, **src})


@register("dgx-h100")
def dgx_h100() -> Cluster:
    """One DGX H100: 8 H100 SXM over NVSwitch, 8x CX-7 400G."""
    return _dgx("dgx-h100", "h100-sxm")


@register("dgx-h200")
def dgx_h200() -> Cluster:
    """One DGX H200: same NVLink4/NVSwitch fabric and NICs as DGX H100."""
    return _dgx("dgx-h200", "h200-sxm", node="NVIDIA DGX H200 datasheet: 8x H200, NVLink 900 GB/s, 8x CX-7 400G")


@register("h200-nvlink-pair")
def h200_nvlink_pair() -> Cluster:
    """Two H200 of an HGX board through NVSwitch (all 18 NVLinks each), the NVLS-off measured case."""
    up = ScaleUp("switch", 450 * GB, NVLINK_EFFICIENCY["hopper"], nvls=False)
    return Cluster(name="h200-nvlink-pair", device="h200-sxm", arch="hopper", nodes=1, gpus_per_node=2,
                   scale_up=up, sources={**_SRC_DGX_H100, "pair": "2 GPUs of an HGX H200 board; NVLS disabled"})


@register("dgx-h100-superpod")
def dgx_h100_superpod() -> Cluster:
    """DGX SuperPOD H100: SUs of 32 nodes, rail-optimized full fat-tree of QM9700 NDR switches (4 SUs = 1,024 GPUs)."""
    so = ScaleOut("rail_optimized", **_NDR, oversubscription=1.0)
    return _dgx("dgx-h100-superpod", "h100-sxm", nodes=128, scale_out=so,
                fabric="NVIDIA DGX SuperPOD H100 reference architecture: 32 DGX per scalable unit, "
                       "rail-optimized, non-blocking fat-tree, QM9700 64x400G")


@register("multiplane")
def multiplane() -> Cluster:
    """DeepSeek-V3-style multi-plane two-layer fat-tree: 8 planes, one 400G NIC per GPU per plane, 2,048 GPUs."""
    up = ScaleUp("switch", 200 * GB, NVLINK_EFFICIENCY["hopper"], nvls=False)
    so = ScaleOut("fat_tree", **_NDR, planes=8, tiers=2)
    return Cluster(name="multiplane", device="h800-sxm", arch="hopper", nodes=256, gpus_per_node=8,
                   scale_up=up, scale_out=so, nics_per_node=8, sources={
                       "fabric": "DeepSeek-V3 hardware insights (Zhao et al. 2025), MPFT: 8 planes, CX-7 400G, "
                                 "64-port switches, 2-layer per plane (up to 16,384 GPUs)",
                       "nvlink": "H800 SXM: NVLink 400 GB/s bidirectional = 200 GB/s per direction"})


@register("dgx-a100-superpod")
def dgx_a100_superpod() -> Cluster:
    """DGX SuperPOD A100: SUs of 20 DGX A100, rail-optimized HDR 200G fat-tree (QM8790, 40 ports), 140 nodes."""
    up = ScaleUp("switch", 300 * GB, NVLINK_EFFICIENCY["ampere"], nvls=False)
    so = ScaleOut("rail_optimized", link_bandwidth=200 * GBIT, radix=40)
    return Cluster(name="dgx-a100-superpod", device="a100-sxm-80gb", arch="ampere", nodes=140, gpus_per_node=8,
                   scale_up=up, scale_out=so, nics_per_node=8, sources={
                       "node": "NVIDIA DGX A100 datasheet: 8x A100 SXM, NVLink3 600 GB/s bidirectional, "
                               "8x ConnectX-6 HDR 200 Gb/s",
                       "fabric": "NVIDIA DGX SuperPOD A100 reference architecture: 20 nodes per SU, 140 nodes, "
                                 "QM8790 40x200G, rail-optimized full fat-tree"})


@register("gb200-nvl72")
def gb200_nvl72() -> Cluster:
    """GB200 NVL72: 72 Blackwell GPUs in one NVLink5 domain (NVSwitch trays, NVLS), one 400G NIC per GPU."""
    up = ScaleUp("switch", 900 * GB, NVLINK_EFFICIENCY["blackwell"], nvls=True)
    so = ScaleOut("rail_optimized", link_bandwidth=400 * GBIT, radix=64)
    return Cluster(name="gb200-nvl72", device="gb200", arch="blackwell", nodes=1, gpus_per_node=72,
                   scale_up=up, scale_out=so, nics_per_node=72, sources={
                       "nvlink": "NVIDIA GB200 NVL72 spec: NVLink5 1.8 TB/s bidirectional per GPU = 900 GB/s/dir, "
                                 "130 TB/s per rack",
                       "nic": "GB200 compute tray: 4x ConnectX-7 400G for 4 GPUs (NVIDIA GB200 NVL72 reference)"})


@register("dgx-b200-superpod")
def dgx_b200_superpod() -> Cluster:
    """DGX SuperPOD B200: DGX B200 nodes (8 B200, NVLink5 over NVSwitch), rail-optimized NDR fat-tree, 1,024 GPUs."""
    up = ScaleUp("switch", 900 * GB, NVLINK_EFFICIENCY["blackwell"], nvls=True)
    so = ScaleOut("rail_optimized", **_NDR, oversubscription=1.0)
    return Cluster(name="dgx-b200-superpod", device="b200", arch="blackwell", nodes=128, gpus_per_node=8,
                   scale_up=up, scale_out=so, nics_per_node=8, sources={
                       "node": "NVIDIA DGX B200 datasheet: 8x B200, 2x NVSwitch, NVLink5 14.4 TB/s aggregate "
                               "(1.8 TB/s bidirectional = 900 GB/s per direction per GPU), 8x ConnectX-7 400 Gb/s "
                               "(4x OSFP, compute fabric)",
                       "fabric": "NVIDIA DGX SuperPOD B200 reference architecture: rail-optimized NDR 400G, "
                                 "QM9700 64-port switches"})


@register("tpu-v5p-pod")
def tpu_v5p_pod() -> Cluster:
    """TPU v5p pod: 8,960 chips in a 3D torus of ICI links (16 x 20 x 28)."""
    # NB: Google quotes 4,800 Gb/s ICI per chip over 6 links (x+-, y+-, z+-); read here as 100 GB/s per link
    # per direction. Whether 4,800 Gb/s counts both directions is not stated: doubtful by up to 2x.
    up = ScaleUp("torus", 600 * GB, 0.9, torus_dims=(16, 20, 28), torus_links=2)
    return Cluster(name="tpu-v5p-pod", device="tpu-v5p", arch="tpu", nodes=1, gpus_per_node=8960,
                   scale_up=up, sources={
                       "pod": "Google Cloud TPU v5p docs: 8,960 chips per pod, 3D torus, ICI 4,800 Gbps per chip",
                       "efficiency": "0.9 assumed for ICI framing (not published)"})


@register("h100-pcie-node")
def h100_pcie_node() -> Cluster:
    """8 H100 PCIe in one server: GPUs talk through PCIe Gen5 x16 switches (no NVLink bridges)."""
    up = ScaleUp("pcie", 64 * GB, PCIE_EFFICIENCY, nvls=False)
    so = ScaleOut("fat_tree", link_bandwidth=400 * GBIT, radix=64)
    return Cluster(name="h100-pcie-node", device="h100-pcie", arch="hopper", nodes=1, gpus_per_node=8,
                   scale_up=up, scale_out=so, nics_per_node=4, sources={
                       "pcie": "PCIe Gen5 x16: 32 GT/s x 16 lanes = 64 GB/s per direction (PCI-SIG); "
                               "efficiency NCCL topo.h PCI_BW 12 GB/s of Gen3 x16 15.75 GB/s",
                       "nic": "assumed 4x 400G NICs per 8-GPU PCIe server (common OEM design)"})


@register("h100-100k")
def h100_100k() -> Cluster:
    """A 100k-GPU H100 cluster (12,500 DGX nodes), rail-optimized NDR, 3-tier per rail: the scale test."""
    so = ScaleOut("rail_optimized", **_NDR)
    return _dgx("h100-100k", "h100-sxm", nodes=12500, scale_out=so,
                fabric="hypothetical: SuperPOD design grown to 100k GPUs (xAI Colossus-class size)")
