"""Datasheet description of one accelerator: the numbers a vendor publishes, in SI units.

Everything here is a datasheet fact with its source in `sources`; what real kernels
reach on it (achievable fractions, latencies) lives in `hardware.perf.PerfProfile`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

# Canonical dtype names, narrowest last. Aliases users type map onto these.
DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8")
DTYPE_ALIASES = {
    "float64": "fp64", "double": "fp64", "float32": "fp32", "float": "fp32",
    "bfloat16": "bf16", "float16": "fp16", "half": "fp16",
    "fp8_e4m3": "fp8", "e4m3": "fp8", "fp8_e5m2": "fp8", "e5m2": "fp8",
    "nvfp4": "fp4", "mxfp4": "fp4",
}
# Bytes per element of each dtype (fp4 packs two per byte).
DTYPE_BYTES = {"fp64": 8, "fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "fp4": 0.5, "int8": 1}


def canonical_dtype(name: str) -> str:
    """Return the canonical dtype name, or raise ValueError naming the unknown dtype."""
    key = str(name).strip().lower().replace("torch.", "")
    key = DTYPE_ALIASES.get(key, key)
    if key not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {name!r}; known: {', '.join(DTYPES)}")
    return key


@dataclass(frozen=True)
class DeviceSpec:
    """One accelerator (one GPU/TPU chip as the programmer sees it), datasheet numbers in SI units."""

    name: str
    vendor: str
    peak_flops: Mapping[str, float]   # dense (not 2:4 sparse) FLOP/s per canonical dtype
    hbm_bytes: float                  # usable device memory capacity, bytes
    hbm_bandwidth: float              # peak device-memory bandwidth, bytes/s
    l2_bytes: float                   # last-level on-chip cache, bytes
    sm_count: int                     # SMs (NVIDIA), CUs (AMD), TensorCores (TPU)
    clock_hz: float                   # boost clock
    tdp_w: float                      # board power limit, W
    idle_w: float                     # typical idle power, W
    scaleup_bandwidth: float          # NVLink/IF/ICI bandwidth per GPU, bytes/s per direction
    scaleup_domain: int               # GPUs in one scale-up domain of the usual system
    nic_bandwidth: float              # scale-out NIC bandwidth per GPU in the usual system, bytes/s per direction
    host_link_bandwidth: float        # GPU<->host link (PCIe / NVLink-C2C), bytes/s per direction
    host_memory_bytes: float          # host DRAM per GPU in the usual system, bytes
    nvme_bandwidth: float             # local NVMe read bandwidth per GPU in the usual system, bytes/s
    form_factor: str = ""
    aliases: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        flops = {canonical_dtype(k): float(v) for k, v in dict(self.peak_flops).items()}
        object.__setattr__(self, "peak_flops", MappingProxyType(flops))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        if not self.name:
            raise ValueError("device name must not be empty")
        for key in ("hbm_bytes", "hbm_bandwidth", "sm_count", "clock_hz"):
            if not getattr(self, key) > 0:
                raise ValueError(f"device {self.name}: {key} must be positive, got {getattr(self, key)!r}")
        for key in ("l2_bytes", "tdp_w", "idle_w", "scaleup_bandwidth", "nic_bandwidth",
                    "host_link_bandwidth", "host_memory_bytes", "nvme_bandwidth"):
            if getattr(self, key) < 0:
                raise ValueError(f"device {self.name}: {key} must not be negative, got {getattr(self, key)!r}")
        if not flops or any(v <= 0 for v in flops.values()):
            raise ValueError(f"device {self.name}: peak_flops needs positive FLOP/s for at least one dtype")

    def flops(self, dtype: str) -> float:
        """Dense peak FLOP/s for `dtype`; ValueError when the device has no such unit."""
        key = canonical_dtype(dtype)
        if key not in self.peak_flops:
            raise ValueError(
                f"device {self.name} has no {key} peak (it has {', '.join(self.peak_flops)})")
        return self.peak_flops[key]

    def has_dtype(self, dtype: str) -> bool:
        return canonical_dtype(dtype) in self.peak_flops
