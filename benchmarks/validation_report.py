"""Write docs/validation.md: predicted vs measured/published, every table computed here and now.

Usage: python benchmarks/validation_report.py [--out docs/validation.md]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.validate import summary, validate  # noqa: E402

HEADER = """# Validation: predicted vs measured

Produced by `python benchmarks/validation_report.py` (do not edit by hand). Errors are
(predicted - measured) / measured. Nothing in these tables was fitted to the row it is shown
on, except where a note says so.

"""


def published_section() -> str:
    res = validate()
    out = ["## Published training runs (`roofsim validate`)", "",
           "| source | run | metric | published | predicted | error |", "|---|---|---|---|---|---|"]
    for r in res:
        if r.predicted is not None:
            out.append(f"| {r.src} | {r.label} | {r.metric} | {r.published:.4g} | {r.predicted:.4g} | "
                       f"{r.error * 100:+.1f}% |")
    out += ["", "Mean absolute error per source: " +
            ", ".join(f"{k} {v * 100:.1f}%" for k, v in summary(res).items()) + ".", "",
            "Rows not expressed (and why):", ""]
    for r in res:
        if r.predicted is None and r.reason and not r.reason.startswith("not a step"):
            out.append(f"- {r.src} {r.label}: {r.reason}")
    out += ["", "Assumptions per source (the same for every row of a source unless the row says otherwise):", ""]
    seen = set()
    for r in res:
        if r.predicted is not None and r.src not in seen:
            seen.add(r.src)
            out.append(f"- **{r.src}**: " + "; ".join(r.assumptions))
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "validation.md"))
    args = ap.parse_args(argv)
    steps = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_step_accuracy.py")],
                           capture_output=True, text=True, check=True).stdout
    text = HEADER + published_section() + "\n## Whole training steps measured here " \
        "(HF Llama, eager PyTorch, pure bf16, fused AdamW; `benchmarks/train_step_accuracy.py`)\n\n" + \
        "H100 rows informed three fixes of the memory model (rope saves nothing, the loss-backward " \
        "transient, the moment the LM-head gradient appears) and the eager host-dispatch multiplier " \
        "(3.3 x the machine's measured bare launch time, fitted on TinyLlama b=1 on H100); H200 rows " \
        "were not used for any model change except that the default H200 profile is the H100's " \
        "transferred one, chosen after comparing both on these rows (docs/calibration.md).\n\n" + steps
    comp = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compiled_step_check.py")],
                          capture_output=True, text=True, check=True).stdout
    text += ("\n## The fused profile against torch.compile'd steps on H100 (`benchmarks/compiled_step_check.py`)"
             "\n\nThe closest fused stack we could run (Inductor, not Transformer Engine). The fused profile is "
             "optimistic by 1-14% here, about the size of its over-prediction of published H100 runs.\n\n" + comp)
    lit = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "literature_checks.py")],
                         capture_output=True, text=True, check=True).stdout
    text += ("\n## Claims from shared/LITERATURE.md without a full published plan "
             "(`benchmarks/literature_checks.py`)\n\nThe sweep's best plan on the stated GPU count, or the "
             "published plan with the unpublished interleaving depth varied. Batch sizes marked assumed are "
             "ours.\n\n" + lit)
    fa3 = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "attention_paper_check.py")],
                         capture_output=True, text=True, check=True).stdout
    text += ("\n## Held out: attention kernels against the FlashAttention-3 paper's H100 figures "
             "(`benchmarks/attention_paper_check.py`)\n\nhead dim 128, non-causal, 16k tokens per batch; "
             "predicted vs published TFLOP/s. Nothing fitted to these values.\n\n" + fa3)
    held = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "nemo_held_out.py")],
                          capture_output=True, text=True, check=True).stdout
    text += ("\n## Held out: newer NeMo runs on DGX B200 and DGX H100 (`benchmarks/nemo_held_out.py`)\n\n"
             "NeMo 25.02 performance summary (FP8, published plans), fitted on nothing. The B200 has no measured "
             "profile: these early-2025 rows run with `blackwell_2025` (the H100's fractions on the B200's peaks, "
             "tensor-core rates x0.655 set from one published 2025 B200/H200 training ratio, "
             "benchmarks/b200_transfer_fit.py); unscaled they were 25-42% optimistic for dense models, with it 7.6%; "
             "the GB200's four NeMo 25.04 rows come within 6.9%. Today's stacks need no such scale (next section "
             "but one). The second "
             "table is NeMo's long-sequence LLAMA2-7B (FP8, H100, 8K-1M tokens, context parallel up to 32), "
             "attention-bound: with today's cuDNN attention rate (the H100 profile's own) the model is 37-59% "
             "optimistic beyond 8K, with FlashAttention-2-class rates (sim.kernel_choice, fitted on the FA2 README "
             "only) within -6..+10%. This table is the evidence behind the NE24 adapter's attention assumption, "
             "so it is not held out for that choice.\n\n"
             + held)
    n26 = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "nemo26_held_out.py")],
                         capture_output=True, text=True, check=True).stdout
    text += ("\n## Held out: NeMo 26.x (Megatron-Bridge) pre-training on H100 and GB200 "
             "(`benchmarks/nemo26_held_out.py`)\n\n"
             "Published plans and the benchmark recipes' own overlap/recompute flags (Megatron-Bridge perf_recipes), "
             "2026 software, dense and MoE. Fitted on these rows: sim.distributed.EP_OVERLAP_HIDDEN (0.2) on the four "
             "rows whose recipe turns EP comm overlap on; the Blackwell default (today's rates, not the early-2025 "
             "x0.655) was chosen after seeing the GB200 rows. Held out for both: the dense rows and the H100 "
             "Qwen3-30B row. The last column is the other EP-overlap setting.

" + n26)
    mc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "mcore_scaling_check.py")],
                        capture_output=True, text=True, check=True).stdout
    text += ("\n## Held out: Megatron-Core r0.8.0 weak scaling on H100 (`benchmarks/mcore_scaling_check.py`)\n\n"
             "The Megatron-LM README's model table (BF16, 1.7B-462B on 48-6,144 H100, published TP/PP/DP and batch), "
             "read from its image; layer type, micro-batch, recompute and vp assumed (stated in the script). Fitted "
             "on nothing. The small models are over-predicted (+22%, +17%), as NE24's and MPT's small models are; "
             "the TP8 32B row is 19% pessimistic.\n\n" + mc)
    mpt = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "mpt_readme_check.py")],
                         capture_output=True, text=True, check=True).stdout
    text += ("\n## Held out: more of llm-foundry's own H100 table (`benchmarks/mpt_readme_check.py`)\n\n"
             "Where the MPT over-prediction comes from: the rows with activation checkpointing come within a few "
             "percent, the rows without it are 8-35% optimistic, most at short sequences (where attention is a "
             "small share, so not the triton attention constant) and small micro-batches. Not explained yet; "
             "suspects: FSDP communication exposure and allocator behaviour when activations fill memory.\n\n"
             + mpt)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
