"""Result records of a simulated training step (frozen; the CLI and reports render them)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class OpTiming:
    """Predicted time of one operator of the step, all its repetitions included."""

    name: str
    kind: str
    phase: str
    category: str
    count: int          # repetitions in the step (layers x micro-batches)
    time_s: float       # total over all repetitions
    flops: float        # total over all repetitions
    bytes: float        # total over all repetitions
    bound: str          # compute | memory | latency | comm
    kernels: int = 1    # kernel launches per repetition

    @property
    def achieved_flops(self) -> float:
        return self.flops / self.time_s if self.time_s > 0 else 0.0

    @property
    def intensity(self) -> float:
        """Arithmetic intensity, FLOP per byte of memory traffic."""
        return self.flops / self.bytes if self.bytes > 0 else float("inf")


@dataclass(frozen=True)
class MemoryBreakdown:
    """Peak memory of one GPU by category, bytes; `peak` is what must fit."""

    weights: float
    gradients: float
    optimizer: float
    activations: float
    transient: float            # largest short-lived buffer at the peak (logits/loss, workspaces)
    other: float                # communication buffers, allocator reserve
    peak: float
    capacity: float
    host_bytes: float = 0.0     # bytes offloaded to CPU memory
    nvme_bytes: float = 0.0     # bytes offloaded to NVMe

    @property
    def fits(self) -> bool:
        return self.peak <= self.capacity

    @property
    def overflow(self) -> float:
        """Bytes by which the peak exceeds capacity (0 when it fits)."""
        return max(0.0, self.peak - self.capacity)

    def by_category(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in
                ("weights", "gradients", "optimizer", "activations", "transient", "other")}


@dataclass(frozen=True)
class StepResult:
    """One simulated training step: time, throughput, utilisation, memory and where time goes."""

    model: str
    hardware: str
    config: Mapping[str, object]
    step_time_s: float
    tokens_per_step: int
    model_flops: float          # per step, all GPUs: the MFU numerator (no recompute)
    hardware_flops: float       # per step, all GPUs: what really executes (recompute included)
    peak_flops: float           # per GPU, the dense peak MFU is measured against
    n_gpus: int
    breakdown: Mapping[str, float]
    memory: MemoryBreakdown
    ops: tuple[OpTiming, ...] = ()
    notes: tuple[str, ...] = ()
    provenance: Mapping[str, str] = field(default_factory=dict)
    step_time_s_low: float | None = None    # 90% band of the step time (sim.uncertainty)
    step_time_s_high: float | None = None

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_per_step / self.step_time_s

    @property
    def mfu(self) -> float:
        """Model FLOPs utilisation (PaLM, Chowdhery et al. 2022, appendix B)."""
        return self.model_flops / (self.step_time_s * self.peak_flops * self.n_gpus)

    @property
    def hfu(self) -> float:
        """Hardware FLOPs utilisation: executed FLOPs (recompute included) over peak."""
        return self.hardware_flops / (self.step_time_s * self.peak_flops * self.n_gpus)

    @property
    def tflops_per_gpu(self) -> float:
        return self.model_flops / self.step_time_s / self.n_gpus / 1e12

    def to_dict(self, with_ops: bool = False) -> dict:
        """JSON-ready dict: the `--json` contract of the CLI."""
        out = {
            "model": self.model,
            "hardware": self.hardware,
            "config": dict(self.config),
            "step_time_s": self.step_time_s,
            "step_time_s_low": self.step_time_s_low,
            "step_time_s_high": self.step_time_s_high,
            "step_time_band_coverage": 0.9 if self.step_time_s_low is not None else None,
            "tokens_per_s": self.tokens_per_s,
            "tokens_per_step": self.tokens_per_step,
            "mfu": self.mfu,
            "hfu": self.hfu,
            "tflops_per_gpu": self.tflops_per_gpu,
            "model_flops_per_step": self.model_flops,
            "hardware_flops_per_step": self.hardware_flops,
            "peak_flops_per_gpu": self.peak_flops,
            "n_gpus": self.n_gpus,
            "peak_memory_bytes": self.memory.peak,
            "memory_capacity_bytes": self.memory.capacity,
            "fits_in_memory": self.memory.fits,
            "memory_overflow_bytes": self.memory.overflow,
            "memory": self.memory.by_category(),
            "breakdown": dict(self.breakdown),
            "notes": list(self.notes),
            "provenance": dict(self.provenance),
        }
        if self.memory.host_bytes or self.memory.nvme_bytes:
            out["offload"] = {"host_bytes": self.memory.host_bytes, "nvme_bytes": self.memory.nvme_bytes}
        if with_ops:
            out["ops"] = [asdict(o) for o in self.ops]
        return out
