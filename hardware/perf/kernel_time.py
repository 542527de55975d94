"""The result of every kernel time model: how long one kernel (or a small fused group) takes, and why."""
from __future__ import annotations

from dataclasses import dataclass

BOUNDS = ("compute", "memory", "latency")


@dataclass(frozen=True)
class KernelTime:
    """Predicted device time of a kernel, the resource that bounds it, and the work it does (SI units)."""

    time_s: float      # predicted device time, seconds
    bound: str         # "compute", "memory" or "latency": the largest term of the time
    flops: float       # useful FLOPs (not counting padding or masked-out work)
    bytes: float       # bytes moved to and from device memory

    def __post_init__(self) -> None:
        if self.bound not in BOUNDS:
            raise ValueError(f"bound must be one of {', '.join(BOUNDS)}, got {self.bound!r}")
        if not self.time_s >= 0:
            raise ValueError(f"kernel time must be non-negative, got {self.time_s!r}")

    @property
    def achieved_flops(self) -> float:
        """Useful FLOP/s this kernel reaches (0 for a kernel of no FLOPs)."""
        return self.flops / self.time_s if self.time_s > 0 else 0.0


def classify(latency_s: float, compute_s: float, memory_s: float) -> str:
    """Name the largest of the three time terms (ties favour compute, then memory)."""
    if compute_s >= memory_s and compute_s >= latency_s:
        return "compute"
    if memory_s >= latency_s:
        return "memory"
    return "latency"
