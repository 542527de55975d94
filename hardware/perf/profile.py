"""The few fitted numbers that turn datasheet peaks into what real kernels reach, and where they came from.

A `PerfProfile` holds fractions and latencies only; peaks and bandwidths always come from the
`DeviceSpec`, so one profile transfers to a sibling device (H100 -> H200 -> B200) by applying the
same fractions to that device's own peaks.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from hardware.spec import DeviceSpec, canonical_dtype

PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"
REFERENCE_PROFILE = "h100-sxm"   # the profile other devices borrow their fractions from

# A dtype the profile has no fitted fraction for borrows the one of its nearest sibling:
# same tensor-core datapath width (int8/fp4 run on the fp8 path's fraction, NB an assumption).
DTYPE_FALLBACK = {"fp16": "bf16", "int8": "fp8", "fp4": "fp8", "fp64": "fp32", "tf32": "bf16", "fp8": "bf16",
                  "fp32": "tf32"}


@dataclass(frozen=True)
class PerfProfile:
    """Achievable fractions of peak and fixed latencies of one device, fitted from microbenchmarks."""

    device: str
    # GEMM: fraction of the dense datasheet peak a large cuBLAS GEMM sustains, per dtype (absorbs the
    # clock drop of a power-capped chip under tensor-core load; 128x256 tiles, full waves).
    compute_fraction: Mapping[str, float]
    # GEMM: each CTA tile of BM x BN pays the equivalent of this many extra rows and columns of work
    # (operand staging, epilogue): efficiency (1 + c/128 + c/256) / (1 + c/BM + c/BN), 1 at 128x256.
    # Fitted, but weakly identified by the shared data (see NOTES).
    tile_overhead: float
    gemm_latency_s: float            # fixed time of one GEMM kernel: launch, prologue (first TMA loads), epilogue
    gemm_bandwidth_fraction: float   # fraction of HBM peak a memory-bound (weight-streaming, small-m) GEMM reaches
    # A GEMM streaming B bytes also writes back dirty L2 lines it evicts: extra traffic
    # gemm_l2_writeback * L2 * (1 - exp(-B / L2)). Saturates at the L2 size; do_bench leaves the L2 dirty
    # (its flush writes 256 MB) as the previous kernel of a training step does. Fitted (see NOTES).
    gemm_l2_writeback: float
    # GEMM whose rows are not 16-byte aligned cannot use TMA + wgmma: cuBLAS falls back to an
    # Ampere-style kernel with narrow loads. Multipliers of the tensor rate and of the bandwidth.
    # Not fitted by calibration: set from the odd-shape GEMMs of data/measured/2026-11-23_h100 (see NOTES).
    misaligned_compute_efficiency: float
    misaligned_bandwidth_efficiency: float
    hbm_fraction: float              # streaming kernels (copy, elementwise): fraction of HBM peak
    reduction_fraction: float        # row-reduction kernels (RMSNorm/LayerNorm): fraction of HBM peak
    softmax_fraction: float          # softmax-like kernels (two reductions + exp per row): fraction of HBM peak
    kernel_latency_s: float          # fixed device time of one memory-bound kernel (launch, ramp, tail)
    attn_fwd_fraction: float         # flash-attention forward: fraction of dtype peak on its matmul FLOPs
    attn_bwd_fraction: float         # flash-attention backward: fraction of dtype peak on its matmul FLOPs
    # Non-matmul work per attention score (exp, max, scale, mask) in matmul-FLOP equivalents; it is
    # why head dim 64 runs slower than 128: matmul work per score is 4*d, this is fixed per score.
    attn_score_flops: float
    # Fixed cost of one attention CTA (load its Q or K/V tile, write O or dK/dV, final rescale), in units
    # of one 128x128 block of work: makes short and causal sequences (many short CTAs) slower.
    attn_fwd_tile_overhead: float
    attn_bwd_tile_overhead: float
    # Forward tensor-core rate at head dim 256 relative to the model's (linear from 1 at d=128): 1 for kernels
    # that keep their tiles (today's cuDNN, measured); FlashAttention-2 shrinks them (sim.kernel_choice).
    attn_wide_head_fwd_rate: float = 1.0
    # Head dims between 128 and 256 run the wide kernel (hardware.perf.attention): width rounded up to a multiple
    # of 64, backward at the d=256 rate. True for the profile's own kernels (cuDNN, measured at d=160/192);
    # FlashAttention-2 compiles kernels per width (160, 192, 224) and interpolates instead (sim.kernel_choice).
    attn_wide_head_padded: bool = True
    # Host (CPU) time to dispatch one kernel from eager PyTorch. Prior, not fitted (do_bench hides it);
    # the simulator compares the sum of these with the device time of a step.
    launch_overhead_s: float = 6e-6
    source: str = ""
    fitted_on: str = ""              # date of the fit, ISO 8601
    transferred_from: str = ""       # non-empty when borrowed from another device's profile
    # Residual statistics of the fit, per kind: {"gemm": {"median_abs": 0.04, "p90_abs": ..., "n": ...}}
    residuals: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self) -> None:
        fractions = {canonical_dtype(k): float(v) for k, v in dict(self.compute_fraction).items()}
        object.__setattr__(self, "compute_fraction", MappingProxyType(fractions))
        object.__setattr__(self, "residuals", MappingProxyType(
            {k: MappingProxyType(dict(v)) for k, v in dict(self.residuals).items()}))
        if not fractions:
            raise ValueError(f"profile {self.device}: compute_fraction needs at least one dtype")
        for name, value in [*(("compute_fraction." + k, v) for k, v in fractions.items()),
                            *((f, getattr(self, f)) for f in _FRACTIONS)]:
            if not 0 < value <= 1:
                raise ValueError(f"profile {self.device}: {name} must be in (0, 1], got {value!r}")
        for f in _NON_NEGATIVE:
            if not getattr(self, f) >= 0:
                raise ValueError(f"profile {self.device}: {f} must not be negative, got {getattr(self, f)!r}")
        if not isinstance(self.attn_wide_head_padded, bool):
            raise ValueError(f"profile {self.device}: attn_wide_head_padded must be true or false, "
                             f"got {self.attn_wide_head_padded!r}")

    def fraction(self, dtype: str) -> float:
        """Achievable fraction of dense peak for `dtype`, borrowing a sibling dtype's when not fitted."""
        key, seen = canonical_dtype(dtype), set()
        while key not in self.compute_fraction:
            seen.add(key)
            key = DTYPE_FALLBACK.get(key, "bf16")
            if key in seen:
                return next(iter(self.compute_fraction.values()))
        return self.compute_fraction[key]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (latencies stay in seconds: SI inside and in the file)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["compute_fraction"] = dict(self.compute_fraction)
        out["residuals"] = {k: dict(v) for k, v in self.residuals.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PerfProfile":
        """Build from a dict; unknown or missing keys raise ValueError naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown profile field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - set(data))
        if missing:
            raise ValueError(f"profile is missing field(s) {', '.join(missing)}")
        return cls(**dict(data))

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> "PerfProfile":
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_dict(data)


_FRACTIONS = ("gemm_bandwidth_fraction", "misaligned_compute_efficiency", "misaligned_bandwidth_efficiency", "hbm_fraction", "reduction_fraction",
              "softmax_fraction", "attn_fwd_fraction", "attn_bwd_fraction", "attn_wide_head_fwd_rate")
_NON_NEGATIVE = ("gemm_l2_writeback", "tile_overhead", "gemm_latency_s", "kernel_latency_s", "attn_score_flops",
                 "attn_fwd_tile_overhead", "attn_bwd_tile_overhead", "launch_overhead_s")


def _profile_path(dev: DeviceSpec) -> Path | None:
    for name in (dev.name, *dev.aliases):
        path = PROFILE_DIR / f"{name.lower()}.json"
        if path.is_file():
            return path
    return None


# Transfers whose tensor-core rates (GEMM and attention fractions) are scaled from published evidence:
# device -> (scale, where it comes from).
# MI300X: AMD's own max-achievable BF16 GEMM is 708 TFLOP/s (4096x4864x32896, hipBLASLt, median 1207 MHz under
# load; ROCm blog "Measuring Max-Achievable FLOPs - Part 2", 2025); the H100 fractions say 946. Held out: AMD's
# FP8 figure and the ml-engineering MAMF table's MI300X row (benchmarks/mamf_check.py).
TRANSFER_TENSOR_SCALE = {
    "mi300x": (0.749, "tensor-core fractions x0.749, set from AMD's published max-achievable BF16 GEMM (708 TFLOP/s, "
                      "ROCm blog 2025)"),
}
# Blackwell (B200, GB200) runs today's stacks at the H100's fractions (NeMo 26.x GB200 rows, MAMF GEMMs:
# benchmarks/nemo26_held_out.py, mamf_check.py). The software of early 2025 did not: a GPT-1.3B step ran only 1.55x
# an H200 (arXiv 2512.02189), which a x0.655 scale reproduces (benchmarks/b200_transfer_fit.py); held out with it,
# NeMo 25.02 DGX-B200 and 25.04 GB200 rows come within 7-8% (benchmarks/nemo_held_out.py). `blackwell_2025`.
BLACKWELL_2025_SCALE = 0.655


def with_tensor_scale(prof: PerfProfile, k: float, why: str) -> PerfProfile:
    """`prof` with its GEMM and attention tensor-core fractions multiplied by k (source noted)."""
    return dataclasses.replace(
        prof, compute_fraction={d: v * k for d, v in prof.compute_fraction.items()},
        attn_fwd_fraction=prof.attn_fwd_fraction * k, attn_bwd_fraction=prof.attn_bwd_fraction * k,
        source=f"{prof.source}; {why}")


def blackwell_2025(prof: PerfProfile) -> PerfProfile:
    """A Blackwell profile as early-2025 software ran it (NeMo 25.0x, arXiv 2512.02189): tensor rates x0.655."""
    return with_tensor_scale(prof, BLACKWELL_2025_SCALE, "Blackwell software of early 2025: tensor-core fractions "
                                                         "x0.655 (arXiv 2512.02189 B200/H200 ratio)")


def profile_for(dev: DeviceSpec) -> PerfProfile:
    """The shipped fitted profile of `dev`, else the H100 SXM one transferred (same fractions, own peaks)."""
    path = _profile_path(dev)
    if path is not None:
        return PerfProfile.from_json(path)
    ref = PerfProfile.from_json(PROFILE_DIR / f"{REFERENCE_PROFILE}.json")
    prof = dataclasses.replace(
        ref, device=dev.name, transferred_from=ref.device,
        source=f"transferred from {ref.device} ({ref.source}): same fractions and latencies applied to "
               f"{dev.name}'s datasheet peaks; not measured on {dev.name}")
    if dev.name in TRANSFER_TENSOR_SCALE:
        prof = with_tensor_scale(prof, *TRANSFER_TENSOR_SCALE[dev.name])
    return prof
