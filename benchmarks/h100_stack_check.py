"""Held-out check of the kernel and step models against the third H100 session's measurements.

Usage: python benchmarks/h100_stack_check.py [--dir data/measured/2026-11-23_h100_stack]
The files were measured with benchmarks/device/stack_kernels.py, attn_moe_kernels.py and torch_gpt_step.py
(torch 2.11, cuDNN 9.19, one H100 SXM at its 700 W cap). The profile was fitted on shared/calibration and not
refitted to any of them. Prints Markdown tables; error = predicted / measured - 1.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hardware.catalog import get_device  # noqa: E402
from hardware.jsonl import iter_jsonl  # noqa: E402
from hardware.perf import attention_time, gemm_time, profile_for  # noqa: E402
from sim.kernel_choice import with_attention_kernel  # noqa: E402
from sim.single import StepOptions, simulate  # noqa: E402
from sim.throttle import SUSTAINED_RATE  # noqa: E402
from workloads.catalog import get_model  # noqa: E402

KERNEL = {"flash2": "fa2", "cudnn": "native", "default": "native"}


def _stats(errs: list[float]) -> str:
    a = [abs(e) for e in errs]
    return (f"{len(errs)} | {statistics.median(a) * 100:.1f}% | {statistics.mean(errs) * 100:+.1f}% | "
            f"{max(a) * 100:.1f}%")


def gemms(rows, dev, prof) -> None:
    """Each layer GEMM of the NE24/MPT models: bf16, FP8 as TE calls it, FP8 with fast accumulation."""
    by = defaultdict(list)
    for r in rows:
        if r.get("kind") != "stack_gemm" or "ms" not in r:
            continue
        p = gemm_time(dev, prof, r["m"], r["n"], r["k"], "bf16" if r["mode"] == "bf16" else "fp8").time_s * 1e3
        label = r["mode"] + (f" {r['gemm'].split('.')[1]}" if r["mode"] == "fp8-te" else "")
        by[label].append(p / r["ms"] - 1)
    print("### Layer GEMMs of the NE24 and MPT models (fprop, dgrad, wgrad per TP rank)\n")
    print("| mode | n | median abs error | mean error | max abs error |\n|---|---|---|---|---|")
    for label, errs in by.items():
        print(f"| {label} | {_stats(errs)} |")
    print()


def _attn_pred(dev, prof, backend, b, hq, s, d, causal, mixed_width=False):
    p = with_attention_kernel(prof, dev, KERNEL[backend])
    f = attention_time(dev, p, b, hq, hq, s, s, d, causal, "bf16", mixed_width=mixed_width).time_s * 1e3
    bw = attention_time(dev, p, b, hq, hq, s, s, d, causal, "bf16", backward=True,
                        mixed_width=mixed_width).time_s * 1e3
    return f, bw


def attention_stack(rows, dev, prof) -> None:
    print("### Causal attention at the NE24/MPT shapes (per TP rank), torch SDPA backends\n")
    print("| case | b x heads x seq x d | backend | fwd error | fwd+bwd error |\n|---|---|---|---|---|")
    for r in rows:
        if r.get("kind") != "stack_attn" or "ms_fwd" not in r or r["backend"] == "default":
            continue
        f, bw = _attn_pred(dev, prof, r["backend"], r["b"], r["hq"], r["s"], r["d"], r["causal"])
        print(f"| {r['case']} | {r['b']}x{r['hq']}x{r['s']}x{r['d']} | {r['backend']} | "
              f"{f / r['ms_fwd'] - 1:+.0%} | {(f + bw) / r['ms_fwd_bwd'] - 1:+.0%} |")
    print()


def attention_sweep(rows, dev, prof) -> None:
    """FA3-paper shapes (16k tokens, hidden 2048): mean error over s >= 2048 per backend, d, mask, pass."""
    by = defaultdict(list)
    for r in rows:
        if r.get("kind") != "attn" or "ms_fwd" not in r or r.get("dv", r["d"]) != r["d"]:
            continue
        f, bw = _attn_pred(dev, prof, r["backend"], r["b"], r["hq"], r["s"], r["d"], r["causal"])
        key = (r["backend"], r["d"], "causal" if r["causal"] else "full")
        by[key + ("fwd",)].append((r["s"], f / r["ms_fwd"] - 1))
        by[key + ("bwd",)].append((r["s"], bw / (r["ms_fwd_bwd"] - r["ms_fwd"]) - 1))
    seqs = sorted({s for v in by.values() for s, _ in v})
    print("### Attention sweep (batch x seq = 16k tokens, hidden = heads x d = 2048 unless d = 160/192: 16 heads)\n")
    print("| backend | d | mask | pass | " + " | ".join(f"s={s}" for s in seqs) + " |")
    print("|---|---|---|---|" + "---|" * len(seqs))
    for (be, d, mask, ph), v in sorted(by.items()):
        cells = dict(v)
        print(f"| {be} | {d} | {mask} | {ph} | " + " | ".join(f"{cells[s]:+.0%}" if s in cells else "" for s in seqs)
              + " |")
    print()


def mla(rows, dev, prof) -> None:
    """MLA-shaped attention (q/k 192 wide, v 128): the model uses the mean width (workloads/layers_mla.py)."""
    print("### MLA-shaped attention (q/k head 192, v head 128, causal, cuDNN): modelled at the mean width 160\n")
    print("| seq | fwd error | bwd error |\n|---|---|---|")
    for r in rows:
        if r.get("kind") != "attn" or "ms_fwd" not in r or r.get("dv", r["d"]) == r["d"]:
            continue
        f, bw = _attn_pred(dev, prof, r["backend"], r["b"], r["hq"], r["s"], (r["d"] + r["dv"]) // 2, True,
                           mixed_width=True)
        print(f"| {r['s']} | {f / r['ms_fwd'] - 1:+.0%} | {bw / (r['ms_fwd_bwd'] - r['ms_fwd']) - 1:+.0%} |")
    print()


def moe(rows, dev, prof) -> None:
    print("### MoE expert GEMMs: torch._grouped_mm (one kernel) vs the model's batched GEMM\n")
    print("| case | experts x tokens, n, k | token split | measured TFLOP/s | error |\n|---|---|---|---|---|")
    errs = []
    for r in rows:
        if r.get("kind") != "moe_gemm" or "ms_grouped" not in r:
            continue
        e, t = r["experts"], sum(r["tokens_per_expert"]) // r["experts"]
        p = gemm_time(dev, prof, t, r["n"], r["k"], batch=e).time_s * 1e3
        errs.append(p / r["ms_grouped"] - 1)
        print(f"| {r['case']} | {e} x {t}, {r['n']}, {r['k']} | {'skewed 1.5/0.5' if r['skew'] else 'even'} | "
              f"{r['tflops_grouped']:.0f} | {errs[-1]:+.0%} |")
    if errs:
        print(f"\nGrouped GEMMs: median abs error {statistics.median(abs(x) for x in errs) * 100:.1f}%, "
              f"mean {statistics.mean(errs) * 100:+.1f}% (n={len(errs)}).")
    print()


def steps(rows, dev_name) -> None:
    print("### Whole steps of plain-PyTorch models (bf16 weights, fused AdamW, no recompute, one micro-batch)\n")
    print("| model (layers) | mb x seq | mode | SDPA | measured | fused model | eager (HF) model |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("kind") != "torch_step" or "step_ms" not in r:
            continue
        m = dataclasses.replace(get_model(r["model"]), n_layers=r["n_layers"])
        cells = []
        for kernels in ("fused", "eager"):
            opts = StepOptions(batch=r["micro_batch"], seq_len=r["seq"], optimizer_state_dtype="bf16",
                               kernels=kernels, attention_kernel=KERNEL[r.get("sdpa", "default")])
            res = simulate(m, dev_name, opts)
            cells.append(f"{res.step_time_s * 1e3:.0f} ms ({res.step_time_s * 1e3 / r['step_ms'] - 1:+.1%})")
        print(f"| {r['model']} ({r['n_layers']}) | {r['micro_batch']} x {r['seq']} | "
              f"{'compiled' if r['compiled'] else 'eager'} | {r.get('sdpa', 'default')} | {r['step_ms']:.0f} ms | "
              + " | ".join(cells) + " |")
    print()


def sustained(rows, dev_name) -> None:
    print("### One layer's 12 GEMMs looped for 8 s (board at its 700 W cap)\n")
    print("| model | dtype | isolated (do_bench) TFLOP/s | sustained TFLOP/s | SM clock | power | "
          "model's sustained factor |\n|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("kind") != "stack_sustained":
            continue
        dt = "bf16" if r["mode"] == "bf16" else "fp8"
        print(f"| {r['model']} | {r['mode']} | {r['tflops_isolated']:.0f} | {r['tflops_sustained']:.0f} | "
              f"{r['sm_clock_mhz']:.0f} MHz | {r['power_w']:.0f} W | {SUSTAINED_RATE[dev_name][dt]} |")
    print()


def burst(rows, dev, prof) -> None:
    print("### Burst (cold GPU, MAMF's method) vs hot (after 45 s of GEMMs), same shapes\n")
    print("| dtype | shape | state | measured TFLOP/s | SM clock | predicted | error |\n|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("kind") != "burst":
            continue
        kt = gemm_time(dev, prof, r["m"], r["n"], r["k"], r["dtype"])
        pred = kt.flops / kt.time_s / 1e12
        print(f"| {r['dtype']} | {r['m']}x{r['n']}x{r['k']} | {r['state']} | {r['tflops']:.0f} | "
              f"{r['sm_clock_mhz']:.0f} MHz | {pred:.0f} | {pred / r['tflops'] - 1:+.1%} |")
    print()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(ROOT / "data/measured/2026-11-23_h100_stack"))
    args = ap.parse_args(argv)
    rows = [r for f in sorted(Path(args.dir).glob("*.jsonl")) for _, r in iter_jsonl(f)]
    dev = get_device("h100-sxm")
    prof = profile_for(dev)
    gemms(rows, dev, prof)
    attention_stack(rows, dev, prof)
    attention_sweep(rows, dev, prof)
    mla(rows, dev, prof)
    moe(rows, dev, prof)
    steps(rows, "h100-sxm")
    sustained(rows, "h100-sxm")
    burst(rows, dev, prof)
    return 0


if __name__ == "__main__":
    sys.exit(main())
