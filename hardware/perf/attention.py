"""Time of a flash-attention kernel (forward or backward): tiles of 128 queries x 128 keys scheduled on the SMs.

Forward: one CTA per (batch, q-head, 128-row q tile) walks its key blocks; each block of 128x128 scores
costs 4*d matmul FLOPs per score (QK^T and PV) plus `attn_score_flops` of softmax work (exp, max,
rescale), at `attn_fwd_fraction` of the dtype's tensor peak:
  T_block = 128*128 * (4*d + attn_score_flops) / (peak/SMs * attn_fwd_fraction)
Backward: one CTA per (batch, q-head, 128-row key tile) walks its query blocks with 5 matmuls
(recomputed QK^T, dO V^T, P^T dO, dS^T Q, dS K): 10*d FLOPs per score, i.e. 2.5x the forward
matmul FLOPs (NB: the usual 2.5x convention), plus twice the forward's score work; it runs as 3 kernels
(dO.O row sums, the main kernel, dQ fp32->bf16 conversion) as FlashAttention-2/3 do.
Each CTA also pays a fixed cost, in blocks (`attn_*_tile_overhead`: loading its Q or K/V tile,
writing O or dK/dV, the final rescale), which is what makes short and causal sequences slow.
Causal masks are bottom-right aligned (query i sees keys <= i + skv - sq); a partly masked block costs
a full block. Makespan over the SMs: full waves when all CTAs have equal work, otherwise longest-first
list scheduling. GQA: hkv < hq key/value heads are read once per kv head (shared through L2).
"""
from __future__ import annotations

import heapq
import math

from hardware.perf.kernel_time import KernelTime, classify
from hardware.perf.profile import PerfProfile
from hardware.spec import DTYPE_BYTES, DeviceSpec, canonical_dtype

BLOCK_Q = 128     # query rows per tile (FlashAttention-2/3 and cuDNN for head dim <= 128)
BLOCK_KV = 128    # key rows per tile
BWD_KERNELS = 3   # preprocess (dO . O), main, dQ conversion
# The backward redoes the forward's elementwise work per score (P = exp(S - lse)) and adds
# dS = P * (dP - D): NB about twice the forward's non-matmul work (an assumption, not fitted).
BWD_SCORE_WORK = 2.0
# Backward kernels for head dims above 128 run smaller tiles (register and shared-memory pressure): their
# tensor-core rate falls, linearly in d from 1 at d=128 to WIDE_HEAD_BWD_RATE at d=256 (constant above).
# Fitted on the 24 d=256, s>=2048 backward records of data/measured/2026-11-23_h100/microbench.jsonl (torch
# 2.11 SDPA, cuDNN); held out: the H200's 24 (benchmarks/perf_accuracy.py). Between 128 and 256 (MLA's 160-192,
# Nemotron-4's 192) see wide_head_width.
WIDE_HEAD_BWD_RATE = 0.61
# Kernels with attn_wide_head_padded (cuDNN) compute head dims above 128 at the width rounded up to this, with the
# backward at WIDE_HEAD_BWD_RATE: measured on H100 (data/measured/2026-11-23_h100_stack, benchmarks/
# h100_stack_check.py) d=160 runs as long as d=192 (fwd) or 7% less (bwd), and d=192's backward as slowly per
# FLOP as d=256's; the linear interpolation used before was 20-25% (d=192) and 33-39% (d=160) optimistic.
# Chosen after seeing those rows (no constant fitted). MLA's 192/128 q-k/v widths (mixed_width) run cuDNN
# kernels of their own that follow the linear interpolation at the mean width (bwd -7..-10%, fwd -1..-5%).
WIDE_HEAD_GRANULE = 64
MAX_SIMULATED_CTAS = 20000  # beyond this many CTAs the scheduling tail is negligible: use total / SMs
MMA_ROWS = 16        # rows of one tensor-core MMA fragment (mma.sync m16)
MAX_KV_SPLITS = 128  # FlashAttention-2 caps the split-KV factor at 128
LSE_BYTES = 4     # fp32 log-sum-exp per query row, saved by the forward for the backward


def _blocks_per_tile(n_tiles: int, tile: int, length: int, other: int, offset: int, along_q: bool,
                     causal: bool) -> list[int]:
    """Number of BLOCK-sized partner blocks each tile visits (whole blocks, masked or not)."""
    full = math.ceil(other / (BLOCK_KV if along_q else BLOCK_Q))
    if not causal:
        return [full] * n_tiles
    out = []
    for i in range(n_tiles):
        lo, hi = i * tile, min((i + 1) * tile, length) - 1
        if along_q:   # q tile [lo, hi] sees keys 0 .. hi + offset
            visible = min(other, hi + offset + 1)
            out.append(max(0, math.ceil(visible / BLOCK_KV)))
        else:         # key tile [lo, hi] is seen by queries lo - offset .. sq-1
            first_q = max(0, lo - offset)
            out.append(max(0, math.ceil((other - first_q) / BLOCK_Q)) if first_q < other else 0)
    return out


def _makespan(work_per_tile: list[float], copies: int, sms: int) -> float:
    """Work on the busiest SM when `copies` x tiles are handed out in launch order to the first free SM.

    Launch order is tile index fastest, then (batch, head), as flash-attention grids are laid out;
    greedy in-order (not longest-first) matches the measured causal/full time ratios on H100.
    """
    if len(set(work_per_tile)) == 1:
        return math.ceil(copies * len(work_per_tile) / sms) * work_per_tile[0]
    if copies * len(work_per_tile) > MAX_SIMULATED_CTAS:
        return max(sum(work_per_tile) * copies / sms, max(work_per_tile))
    loads = [0.0] * sms
    for _ in range(copies):
        for w in work_per_tile:
            heapq.heapreplace(loads, loads[0] + w)
    return max(loads)


def wide_head_bwd_rate(d: int, rate_at_256: float = WIDE_HEAD_BWD_RATE) -> float:
    """Tensor-core rate factor of head dim d: 1 up to 128, `rate_at_256` from 256, linear between."""
    if d <= 128:
        return 1.0
    return 1.0 - (1.0 - rate_at_256) * min(1.0, (d - 128) / 128)


def wide_head_width(d: int, padded: bool) -> tuple[int, bool]:
    """(width the kernel computes at, whether its backward runs the wide-tile kernel at the d=256 rate)."""
    if d <= 128 or not padded:
        return d, False
    return -(-d // WIDE_HEAD_GRANULE) * WIDE_HEAD_GRANULE, True


def _causal_pairs(sq: int, skv: int) -> float:
    """Exact (query, key) pairs a bottom-right aligned causal mask keeps."""
    offset = skv - sq
    first = max(0, -offset)                       # queries before this row see nothing
    lo, hi = offset + first + 1, offset + sq      # keys visible by the first and last useful rows
    capped = max(0, min(hi, skv) - lo + 1)        # rows whose count is below skv
    rows_full = sq - first - capped
    return capped * (lo + min(hi, skv)) / 2.0 + rows_full * skv


def attention_time(dev: DeviceSpec, prof: PerfProfile, b: int, hq: int, hkv: int, sq: int, skv: int, d: int,
                   causal: bool, dtype: str = "bf16", backward: bool = False, mixed_width: bool = False) -> KernelTime:
    """Predicted time of flash attention forward (or its backward alone) for q [b,hq,sq,d], k/v [b,hkv,skv,d].

    mixed_width: q/k and v heads differ in width (MLA) and d is their mean (see WIDE_HEAD_GRANULE)."""
    for name, v in (("b", b), ("hq", hq), ("hkv", hkv), ("sq", sq), ("skv", skv), ("d", d)):
        if int(v) != v or v < 1:
            raise ValueError(f"attention {name} must be a positive integer, got {v!r}")
    if hq % hkv:
        raise ValueError(f"attention needs hq divisible by hkv (GQA groups), got hq={hq}, hkv={hkv}")
    dtype = canonical_dtype(dtype)
    eb = DTYPE_BYTES[dtype]
    offset = skv - sq
    d_run, wide = wide_head_width(d, prof.attn_wide_head_padded and not mixed_width)
    if backward:
        tiles = math.ceil(skv / BLOCK_KV)
        work = _blocks_per_tile(tiles, BLOCK_KV, skv, sq, offset, along_q=False, causal=causal)
        per_score, frac, matmul = 10.0 * d_run + BWD_SCORE_WORK * prof.attn_score_flops, prof.attn_bwd_fraction, 10.0
        frac *= WIDE_HEAD_BWD_RATE if wide else wide_head_bwd_rate(d)
        overhead = prof.attn_bwd_tile_overhead
        latency = prof.gemm_latency_s + (BWD_KERNELS - 1) * prof.kernel_latency_s
    else:
        tiles = math.ceil(sq / BLOCK_Q)
        work = _blocks_per_tile(tiles, BLOCK_Q, sq, skv, offset, along_q=True, causal=causal)
        per_score, frac, matmul = 4.0 * d_run + prof.attn_score_flops, prof.attn_fwd_fraction, 4.0
        frac *= wide_head_bwd_rate(d, prof.attn_wide_head_fwd_rate)
        overhead = prof.attn_fwd_tile_overhead
        latency = prof.gemm_latency_s
    copies, row_frac = b * hq, 1.0
    if not backward and sq * (hq // hkv) <= BLOCK_Q:
        # Decode-like: the q heads of one GQA group are packed into a single q tile (FlashAttention-2
        # swaps seqlen and group); the tensor cores work on 16-row fragments, not 128 padded rows.
        copies, row_frac = b * hkv, math.ceil(sq * (hq // hkv) / MMA_ROWS) * MMA_ROWS / BLOCK_Q
    ctas = copies * tiles
    if not backward and ctas < dev.sm_count and max(work) > 1:
        # Split-KV (flash-decoding, FlashAttention-2's num_splits heuristic): too few CTAs to fill the
        # SMs, so each q tile's keys are split over several CTAs, then a combine kernel merges them.
        splits = min(math.ceil(dev.sm_count / ctas), max(work), MAX_KV_SPLITS)
        work = [math.ceil(w / splits) for w in work for _ in range(splits)]
        latency += prof.kernel_latency_s
    block_time = BLOCK_Q * BLOCK_KV * per_score / (dev.flops(dtype) / dev.sm_count * frac)
    # A tile that sees no key at all (sq > skv, causal) is skipped: no overhead either.
    t_math = _makespan([w + overhead if w else 0 for w in work], copies, dev.sm_count) * block_time * row_frac

    q_bytes, kv_bytes = eb * b * hq * sq * d, eb * b * hkv * skv * d
    if backward:   # read q, k, v, o, dO, lse; write dq (fp32 accumulate + bf16), dk, dv
        moved = 3 * q_bytes + 2 * kv_bytes + (1 + 2 * 4 / eb) * q_bytes + 2 * kv_bytes + LSE_BYTES * b * hq * sq
    else:          # read q, k, v; write o and lse
        moved = 2 * q_bytes + 2 * kv_bytes + LSE_BYTES * b * hq * sq
    t_mem = moved / (dev.hbm_bandwidth * prof.hbm_fraction)
    pairs = _causal_pairs(sq, skv) if causal else float(sq) * skv
    flops = matmul * b * hq * d * pairs
    return KernelTime(latency + max(t_math, t_mem), classify(latency, t_math, t_mem), flops, float(moved))
