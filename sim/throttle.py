"""Power-capped clocks: tensor-core kernels run slower in a long training step than in a short benchmark.

Measured on the H100 SXM (data/measured/2026-11-23_h100/sustained_gemm.jsonl, benchmarks/device/
sustained.py): back-to-back GEMMs hold the board at its 700 W cap and the SM clock settles at
~1,350 MHz (bf16) or ~1,250 MHz (fp8), so the rate falls to 0.94 (bf16) and 0.90 (fp8) of what the
calibration's short runs reach (675 vs 719 and 1,200 vs 1,338 TFLOP/s). A step that spends only part
of its time in tensor-core kernels draws less average power: memory-bound kernels draw well under
the cap, so the cap binds only above a tensor-core duty cycle DUTY_THRESHOLD, and the slowdown
grows linearly to the measured one at 100%. The threshold is an assumption (derivation below),
consistent with the eager Hugging Face steps measured here (duty 0.57-0.73), which the unthrottled
profile predicts within a few percent; Megatron-style steps run at 0.8-0.95.
"""
from __future__ import annotations

from dataclasses import replace

from hardware.perf import PerfProfile
from hardware.spec import DeviceSpec

# Sustained / burst tensor-core rate per dtype, for devices where it was measured. The H200 is the
# same GH100 die at the same 700 W limit: we assume the same factors (not measured).
_H100 = {"bf16": 0.94, "fp16": 0.94, "fp8": 0.90, "tf32": 0.94}
SUSTAINED_RATE = {"h100-sxm": _H100, "h200": _H100}
# Duty cycle above which average power reaches the cap: (cap - P_mem) / (P_gemm - P_mem) with
# memory-bound kernels at ~0.6 of the cap and GEMMs at burst clocks at ~1.27 of it (power ~ f^2..f^3
# for the 6-10% clock drop measured): 0.4 / 0.67 = 0.6. Assumed, not measured.
DUTY_THRESHOLD = 0.6


def throttled(prof: PerfProfile, dev: DeviceSpec, dtype: str, tensor_share: float) -> PerfProfile:
    """The profile with tensor-core fractions lowered for a step spending `tensor_share` of its time in GEMMs/attention."""
    factors = SUSTAINED_RATE.get(dev.name)
    if not factors or tensor_share <= 0:
        return prof
    excess = max(0.0, min(1.0, tensor_share) - DUTY_THRESHOLD) / (1 - DUTY_THRESHOLD)
    if excess <= 0:
        return prof
    scale = {k: 1 - (1 - f) * excess for k, f in factors.items()}
    cf = {k: v * scale.get(k, 1.0) for k, v in prof.compute_fraction.items()}
    attn = scale.get("bf16" if dtype in ("bf16", "fp8") else dtype, 1.0)
    return replace(prof, compute_fraction=cf, attn_fwd_fraction=prof.attn_fwd_fraction * attn,
                   attn_bwd_fraction=prof.attn_bwd_fraction * attn)


def tensor_share(times_by_kind: dict[str, float]) -> float:
    """Share of device time in tensor-core kernels (gemm + attention) of a step's op times."""
    total = sum(times_by_kind.values())
    return (times_by_kind.get("gemm", 0.0) + times_by_kind.get("attention", 0.0)) / total if total > 0 else 0.0


def throttled_for_step(prof: PerfProfile, dev: DeviceSpec, dtype: str, graph) -> PerfProfile:
    """`throttled` with the tensor-core duty cycle of one micro-batch of `graph` (a workloads StepGraph)."""
    from collections import defaultdict

    from sim.timing import op_time
    by_kind: dict = defaultdict(float)
    for op, n in graph.iter_ops():
        if op.kind != "comm":
            by_kind[op.kind] += op_time(op, dev, prof, dtype).time_s * n
    return throttled(prof, dev, dtype, tensor_share(by_kind))
