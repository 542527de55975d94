"""Device time of one workload operator: a registry from op kind to the hardware kernel model.

Communication ops are not timed here (they need a cluster): `op_time` raises for them, and the
distributed simulator prices them with `topologies`.
"""
from __future__ import annotations

from typing import Callable

from hardware.perf import KernelTime, PerfProfile, attention_time, gemm_time, memory_time
from hardware.spec import DeviceSpec
from workloads.ops import Op

TimeFn = Callable[[Op, DeviceSpec, PerfProfile, str], KernelTime]
OP_TIMERS: dict[str, TimeFn] = {}


def register(kind: str) -> Callable[[TimeFn], TimeFn]:
    def deco(fn: TimeFn) -> TimeFn:
        if kind in OP_TIMERS:
            raise ValueError(f"op timer for kind {kind!r} registered twice")
        OP_TIMERS[kind] = fn
        return fn
    return deco


def _gemm_dtype(op: Op, compute_dtype: str) -> str:
    """16-bit GEMMs run in the step's compute dtype; under an fp8 recipe only the GEMMs built as fp8
    (TE's linears) run in fp8, the rest (LM head, router, unfused attention batched GEMMs) in bf16."""
    if op.dtype not in ("bf16", "fp16", "fp8"):
        return op.dtype
    if compute_dtype == "fp8":
        return "fp8" if op.dtype == "fp8" else "bf16"
    return compute_dtype


@register("gemm")
def _gemm(op: Op, dev: DeviceSpec, prof: PerfProfile, compute_dtype: str) -> KernelTime:
    m, n, k, batch = op.dims
    return gemm_time(dev, prof, int(m), int(n), int(k), _gemm_dtype(op, compute_dtype), batch=int(batch))


@register("attention")
def _attention(op: Op, dev: DeviceSpec, prof: PerfProfile, compute_dtype: str) -> KernelTime:
    b, hq, hkv, sq, skv, d, causal, mixed = op.dims
    # Flash attention runs in bf16/fp16 even in fp8 recipes (Transformer Engine default).
    dtype = "bf16" if compute_dtype in ("fp8", "bf16") else compute_dtype
    kt = attention_time(dev, prof, int(b), int(hq), int(hkv), int(sq), int(skv), int(d), bool(causal),
                        dtype=dtype, backward=op.phase == "bwd" and op.category != "recompute", mixed_width=bool(mixed))
    if op.kernels > 1:  # e.g. eager attention split into several kernels: add their launch floors
        kt = KernelTime(kt.time_s + (op.kernels - 1) * prof.kernel_latency_s, kt.bound, kt.flops, kt.bytes)
    return kt


# Memory-op kernel class by keyword in the op name: norms reduce rows, softmax/loss reduce twice.
_MEMORY_CLASS_KEYWORDS = (("softmax", "softmax"), ("cross_entropy", "softmax"), ("norm", "reduction"))


def memory_class(op: Op) -> str:
    name = op.name.lower()
    for keyword, cls in _MEMORY_CLASS_KEYWORDS:
        if keyword in name:
            return cls
    return "reduction" if op.category == "norm" else "elementwise"


@register("memory")
def _memory(op: Op, dev: DeviceSpec, prof: PerfProfile, compute_dtype: str) -> KernelTime:
    return memory_time(dev, prof, op.bytes, op.flops, int(op.kernels), op_class=memory_class(op))


def op_time(op: Op, dev: DeviceSpec, prof: PerfProfile, compute_dtype: str = "bf16") -> KernelTime:
    """Device time of one repetition of `op` on `dev`."""
    try:
        fn = OP_TIMERS[op.kind]
    except KeyError:
        raise ValueError(f"no device time model for op kind {op.kind!r} (op {op.name}); "
                         f"known: {', '.join(OP_TIMERS)}") from None
    return fn(op, dev, prof, compute_dtype)
