"""Kernel time model: pure functions of a DeviceSpec (datasheet) and a PerfProfile (the few fitted numbers)."""
from hardware.perf.attention import attention_time
from hardware.perf.gemm import gemm_time
from hardware.perf.kernel_time import KernelTime
from hardware.perf.memory import MEMORY_CLASSES, memory_time
from hardware.perf.profile import PerfProfile, profile_for

__all__ = ["KernelTime", "PerfProfile", "profile_for", "gemm_time", "attention_time", "memory_time",
           "MEMORY_CLASSES"]
