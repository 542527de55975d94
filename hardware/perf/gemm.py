"""Time of one (batched) GEMM as cuBLAS runs it on a GPU: output tiles, waves over the SMs, split-K, alignment.

Model (per candidate kernel configuration, then the best one, as cuBLAS heuristics pick):
  tiles   = ceil(m/BM) * ceil(n/BN) * batch * split_k           CTAs, each BM x BN of C over k/split_k
  T_math  = ceil(tiles / SMs) * 2*BM*BN*ceil(k/split_k, BK) / (peak/SMs * frac(dtype) * eff(BM,BN) * align_c)
  T_mem   = (A + B + C + split-K partials + W) bytes / (gemm_bandwidth_fraction * HBM bandwidth * align_b)
  W       = gemm_l2_writeback * L2 * (1 - exp(-(A + B + C) / L2))    dirty L2 lines evicted and written back
  T       = gemm_latency + max(T_math, T_mem)
align_c, align_b: 1 when rows of A, B, C are 16-byte aligned, else misaligned_*_efficiency.
Padding rows of a partial tile and the idle SMs of the last wave are paid for: that is tile and wave
quantization. NB: A and B are counted once (L2 catches the re-reads of a swizzled raster order).
"""
from __future__ import annotations

import math

from hardware.perf.kernel_time import KernelTime, classify
from hardware.perf.profile import PerfProfile
from hardware.spec import DTYPE_BYTES, DeviceSpec, canonical_dtype

# Output tiles (BM, BN) of the Hopper cuBLAS/CUTLASS kernel families (wgmma, 1-2 consumer warpgroups).
TILES = ((128, 256), (256, 128), (128, 128), (64, 256), (64, 128), (64, 64))
SPLIT_K = (1, 2, 3, 4, 6, 8, 16)   # split-K/stream-K factors cuBLAS uses to fill the SMs when m*n is small
MIN_K_PER_SPLIT = 256              # elements of k each split keeps (no split-K into slivers)
K_TILE_BYTES = 128                 # one k-step of a CTA loads 128 bytes per row (a TMA 128B swizzle row)
ALIGN_BYTES = 16                   # TMA needs 16-byte aligned rows: k and n (F.linear layout) in bytes
PARTIAL_BYTES = 4                  # split-K partial sums are fp32


def tile_efficiency(prof: PerfProfile, bm: int, bn: int) -> float:
    """Relative throughput of a BM x BN tile: 1 for 128x256, lower for small tiles (fixed cost per edge)."""
    c = prof.tile_overhead
    return (1.0 + c / 128 + c / 256) / (1.0 + c / bm + c / bn)


def output_bytes(dtype: str) -> float:
    """Bytes per element of C: fp8 GEMMs write bf16 (torch._scaled_mm), others their input dtype."""
    return max(DTYPE_BYTES[dtype], 2.0)


def is_aligned(n: int, k: int, dtype: str) -> bool:
    """True when the rows of A, B (length k) and C (length n) start on 16-byte boundaries (TMA path)."""
    eb = DTYPE_BYTES[dtype]
    return (k * eb) % ALIGN_BYTES == 0 and (n * output_bytes(dtype)) % ALIGN_BYTES == 0


def _check(m: int, n: int, k: int, batch: int) -> None:
    for name, v in (("m", m), ("n", n), ("k", k), ("batch", batch)):
        if not (isinstance(v, (int,)) or float(v).is_integer()) or v < 1:
            raise ValueError(f"gemm {name} must be a positive integer, got {v!r}")


def gemm_time(dev: DeviceSpec, prof: PerfProfile, m: int, n: int, k: int, dtype: str = "bf16",
              batch: int = 1) -> KernelTime:
    """Predicted time of C[m,n] = A[m,k] @ B[k,n] (times `batch`) on `dev`, best kernel configuration."""
    _check(m, n, k, batch)
    m, n, k, batch = int(m), int(n), int(k), int(batch)
    dtype = canonical_dtype(dtype)
    eb, ob = DTYPE_BYTES[dtype], output_bytes(dtype)
    aligned = is_aligned(n, k, dtype)
    sm_rate = dev.flops(dtype) / dev.sm_count * prof.fraction(dtype)
    bandwidth = dev.hbm_bandwidth * prof.gemm_bandwidth_fraction
    if not aligned:
        sm_rate *= prof.misaligned_compute_efficiency
        bandwidth *= prof.misaligned_bandwidth_efficiency
    bk = max(1, int(K_TILE_BYTES / eb))
    base_bytes = batch * (eb * (m * k + n * k) + ob * m * n)
    l2 = max(dev.l2_bytes, 1.0)
    writeback = prof.gemm_l2_writeback * l2 * -math.expm1(-base_bytes / l2)
    flops = 2.0 * m * n * k * batch

    best = None
    for bm, bn in TILES:
        out_tiles = math.ceil(m / bm) * math.ceil(n / bn) * batch
        rate = sm_rate * tile_efficiency(prof, bm, bn)
        for split in SPLIT_K:
            if split > 1 and (k / split < MIN_K_PER_SPLIT or out_tiles >= dev.sm_count):
                break
            k_steps = math.ceil(math.ceil(k / split) / bk)
            waves = math.ceil(out_tiles * split / dev.sm_count)
            t_math = waves * 2.0 * bm * bn * k_steps * bk / rate
            partials = 2.0 * PARTIAL_BYTES * m * n * batch * split if split > 1 else 0.0
            t_mem = (base_bytes + partials + writeback) / bandwidth
            total = prof.gemm_latency_s + max(t_math, t_mem)
            if best is None or total < best[0]:
                best = (total, t_math, t_mem)
    total, t_math, t_mem = best
    return KernelTime(total, classify(prof.gemm_latency_s, t_math, t_mem), flops, float(base_bytes))
