"""Held-out check on newer published NeMo runs (not in shared/validation): DGX B200 and DGX H100, FP8.

Usage: python benchmarks/nemo_held_out.py
Source: NVIDIA NeMo Framework performance summary, container 25.02, pre-training at FP8 with per-tensor
current scaling (docs.nvidia.com/nemo-framework/user-guide/latest/performance/performance_summary.html,
read 2026-11-23; plans as published there). Nothing was fitted to these rows; they were added after every
model choice in this repository, so they measure how the simulator carries to a newer GPU and stack.
Assumed where the page is silent: no activation recompute, distributed optimizer, TP comm overlap when
TP > 1, sequence parallel when TP > 1, the B200 profile transferred from the H100 fit.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.distributed import ClusterOptions, simulate_cluster  # noqa: E402
from sim.plan import ParallelPlan  # noqa: E402

# (system, model, gpus, gbs, mbs, seq, tp, pp, cp, vp, ep, published tokens/s/GPU)
ROWS = [
    ("dgx-b200-superpod", "gpt3-175b", 512, 2048, 2, 2048, 4, 4, 1, 6, 1, 1600),
    ("dgx-b200-superpod", "llama3-8b", 8, 128, 2, 8192, 1, 1, 1, 1, 1, 26006),
    ("dgx-b200-superpod", "llama3-70b", 64, 128, 1, 8192, 2, 4, 2, 5, 1, 3062),
    ("dgx-b200-superpod", "llama3-405b", 128, 64, 1, 8192, 4, 8, 2, 8, 1, 625),
    ("dgx-b200-superpod", "nemotron-4-15b", 64, 256, 2, 4096, 1, 1, 1, 1, 1, 14760),
    ("dgx-b200-superpod", "nemotron-4-340b", 128, 32, 1, 4096, 8, 4, 1, 12, 1, 602),
    ("dgx-b200-superpod", "mixtral-8x7b", 64, 256, 2, 4096, 1, 1, 1, 1, 8, 15457),
    ("dgx-h100-superpod", "gpt3-175b", 512, 2048, 2, 2048, 4, 8, 1, 6, 1, 866),
]


def main() -> int:
    print("| system | model | GPUs | plan | published tok/s/GPU | predicted | error | fits |")
    print("|---|---|---|---|---|---|---|---|")
    errs = {}
    for cl, model, n, gbs, mbs, seq, tp, pp, cp, vp, ep, pub in ROWS:
        dp = n // (tp * pp * cp)
        plan = ParallelPlan(tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, vp=vp, schedule="interleaved" if vp > 1 else "1f1b",
                            sequence_parallel=tp > 1, micro_batch=mbs, global_batch=gbs, recompute="none",
                            distributed_optimizer=True, tp_overlap=tp > 1)
        try:
            r, _ = simulate_cluster(model, cl, plan, ClusterOptions(seq_len=seq, dtype="fp8"), gpus=n)
        except ValueError as exc:
            print(f"| {cl} | {model} | {n} | - | {pub} | not expressed: {exc} | | |")
            continue
        pred = r.tokens_per_s / r.n_gpus
        err = pred / pub - 1
        errs.setdefault(cl, []).append(abs(err))
        print(f"| {cl} | {model} | {n} | tp{tp} pp{pp} cp{cp} vp{vp} ep{ep} dp{dp} mbs{mbs} | {pub} | {pred:.0f} | "
              f"{err * 100:+.1f}% | {'yes' if r.memory.fits else 'NO'} |")
    for cl, e in errs.items():
        print(f"\nmean absolute error on {cl}: {statistics.mean(e) * 100:.1f}% over {len(e)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
