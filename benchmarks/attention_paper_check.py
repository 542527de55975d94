"""Held-out check of the attention kernel model against the FlashAttention-3 paper's H100 figures.

Usage: python benchmarks/attention_paper_check.py
Shah et al. 2024 (FlashAttention-3), H100 80GB SXM5, head dim 128, non-causal, batch x seqlen = 16k tokens,
hidden 2048 (16 heads): forward and backward TFLOP/s of FlashAttention-2 and cuDNN as labeled on the bars of the
paper's figures (transcribed from the figure images; a misread label would show as one odd cell).
FlashAttention-2 is our kernel "fa2" (two constants fitted on the FlashAttention README's fwd+bwd row only);
cuDNN is the H100 profile's own attention ("native", fitted on today's torch SDPA). Nothing here was fitted.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardware.catalog import get_device  # noqa: E402
from hardware.perf import attention_time, profile_for  # noqa: E402
from sim.kernel_choice import with_attention_kernel  # noqa: E402

SEQS = (512, 1024, 2048, 4096, 8192, 16384)
PUBLISHED = {   # kernel -> phase -> TFLOP/s at SEQS
    "fa2": {"fwd": (309, 350, 362, 368, 370, 370), "bwd": (214, 260, 291, 310, 318, 322)},
    "native": {"fwd": (497, 574, 617, 609, 600, 595), "bwd": (305, 408, 465, 499, 518, 516)},
}
LABEL = {"fa2": "FlashAttention-2", "native": "cuDNN (profile's own)"}
# Head dim 256 forward (hidden 2048 = 8 heads). FA2: sim.kernel_choice.FA2_WIDE_HEAD_FWD_RATE was fitted on these
# six bars (in-sample). cuDNN: the profile follows today's cuDNN, whose d=256 forward we measured on H100 within
# a few percent (docs/accuracy.md); the paper's mid-2024 cuDNN ran d=256 about 30% slower - shown, not fitted.
WIDE = {"fa2": (208, 251, 278, 293, 297, 298), "native": (308, 391, 450, 483, 497, 509)}


def main() -> int:
    dev = get_device("h100-sxm")
    print("| kernel | pass | " + " | ".join(f"s={s}" for s in SEQS) + " | mean abs error |")
    print("|---|---|" + "---|" * len(SEQS) + "---|")
    for kernel, phases in PUBLISHED.items():
        prof = with_attention_kernel(profile_for(dev), dev, kernel)
        for phase, values in phases.items():
            cells, errs = [], []
            for s, pub in zip(SEQS, values):
                kt = attention_time(dev, prof, 16384 // s, 16, 16, s, s, 128, False, "bf16", backward=phase == "bwd")
                pred = kt.flops / kt.time_s / 1e12
                errs.append(abs(pred / pub - 1))
                cells.append(f"{pred:.0f} vs {pub} ({(pred / pub - 1) * 100:+.0f}%)")
            print(f"| {LABEL[kernel]} | {phase} | " + " | ".join(cells) + f" | {statistics.mean(errs) * 100:.1f}% |")
    for kernel, values in WIDE.items():
        prof = with_attention_kernel(profile_for(dev), dev, kernel)
        cells, errs = [], []
        for s, pub in zip(SEQS, values):
            kt = attention_time(dev, prof, 16384 // s, 8, 8, s, s, 256, False, "bf16")
            pred = kt.flops / kt.time_s / 1e12
            errs.append(abs(pred / pub - 1))
            cells.append(f"{pred:.0f} vs {pub} ({(pred / pub - 1) * 100:+.0f}%)")
        tag = "fitted" if kernel == "fa2" else "mid-2024 cuDNN, not today's"
        print(f"| {LABEL[kernel]}, hd256 ({tag}) | fwd | " + " | ".join(cells) + f" | {statistics.mean(errs) * 100:.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
