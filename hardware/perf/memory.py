"""Time of memory-bound kernels (elementwise, norms, softmax, copies): bytes over an achievable bandwidth.

  T = kernels * kernel_latency + max(bytes / (fraction(op_class) * HBM bandwidth), flops / fp32 rate)
Small tensors are latency bound: a kernel that moves a few kB still costs `kernel_latency_s`.
"""
from __future__ import annotations

from hardware.perf.kernel_time import KernelTime, classify
from hardware.perf.profile import PerfProfile
from hardware.spec import DeviceSpec

# Kernel class -> the profile field with its achievable fraction of HBM bandwidth. Streaming kernels
# reach the most; a row reduction (norm) synchronises each block; softmax does two reductions and exps.
MEMORY_CLASSES = {
    "elementwise": "hbm_fraction",      # copy, add, mul, activations, casts, optimizer updates
    "reduction": "reduction_fraction",  # RMSNorm, LayerNorm, row sums
    "softmax": "softmax_fraction",      # softmax, log-softmax, cross-entropy over rows
}


def memory_fraction(prof: PerfProfile, op_class: str) -> float:
    """Achievable fraction of HBM bandwidth for a kernel class; ValueError for an unknown class."""
    if op_class not in MEMORY_CLASSES:
        raise ValueError(f"unknown memory kernel class {op_class!r}; known: {', '.join(MEMORY_CLASSES)}")
    return getattr(prof, MEMORY_CLASSES[op_class])


def memory_time(dev: DeviceSpec, prof: PerfProfile, bytes_moved: float, flops: float = 0.0, kernels: int = 1,
                *, op_class: str = "elementwise") -> KernelTime:
    """Predicted time of `kernels` memory-bound kernels moving `bytes_moved` bytes (reads + writes) in all."""
    if not bytes_moved >= 0:
        raise ValueError(f"bytes_moved must be non-negative, got {bytes_moved!r}")
    if not flops >= 0:
        raise ValueError(f"flops must be non-negative, got {flops!r}")
    if kernels < 0 or int(kernels) != kernels:
        raise ValueError(f"kernels must be a non-negative integer, got {kernels!r}")
    if kernels == 0 and (bytes_moved > 0 or flops > 0):
        raise ValueError("kernels=0 cannot move bytes or do FLOPs")
    t_lat = kernels * prof.kernel_latency_s
    t_mem = bytes_moved / (dev.hbm_bandwidth * memory_fraction(prof, op_class))
    # NB: FLOPs of a memory kernel run on the CUDA cores (fp32 SIMT), not the tensor cores.
    t_math = flops / (dev.flops("fp32") * prof.fraction("fp32")) if flops else 0.0
    return KernelTime(t_lat + max(t_mem, t_math), classify(t_lat, t_math, t_mem), float(flops), float(bytes_moved))
