"""Accuracy of the kernel time model: in-sample and cross-validated error per kind, as a Markdown table.

    python benchmarks/perf_accuracy.py [--data FILE] [--heldout FILE] [--device NAME]

--data: the microbenchmark JSONL to fit and cross-validate (default: the shared H100 SXM file).
Cross-validation refits every parameter without the held-out group and predicts that group:
GEMMs leave one hidden size out, attention leaves one shape (b, hq, s, d; causal and full) out,
memory ops leave one tensor size out. --heldout: also score the profile fitted on all of --data
on another file, without refitting on it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hardware.calibration import (cross_validate, error_stats, fit_profile, load_microbench,  # noqa: E402
                                  relative_errors, samples)
from hardware.catalog import get_device  # noqa: E402

DEFAULT_DATA = Path("/work/shared/calibration/h100_sxm_microbench.jsonl")
# Kind -> the record groups left out one at a time in cross-validation.
CV_KINDS = {"gemm m>=128": "gemm", "gemm m<128": "gemm", "attn fwd": "attention", "attn bwd": "attention",
            "attn fwd+bwd": "attention", "memory op": "memory"}
ORDER = ("gemm m>=128", "gemm m<128", "gemm peak", "attn fwd", "attn bwd", "attn fwd+bwd", "memory op",
         "memory copy")


def _pct(stats: dict, key: str) -> str:
    return f"{100 * stats[key]:+.1f}" if key == "median" else f"{100 * stats[key]:.1f}"


def table(insample: dict, cv: dict | None) -> str:
    head = "| kind | n | median abs % | p90 % | max % | bias % |"
    sep = "|---|---:|---:|---:|---:|---:|"
    if cv is not None:
        head += " CV median abs % | CV p90 % | CV max % | CV bias % |"
        sep += "---:|---:|---:|---:|"
    lines = [head, sep]
    for kind in [k for k in ORDER if k in insample] + sorted(set(insample) - set(ORDER)):
        s = error_stats(insample[kind])
        row = f"| {kind} | {s['n']} | " + " | ".join(_pct(s, k) for k in ("median_abs", "p90_abs", "max_abs", "median"))
        if cv is not None:
            c = error_stats(cv.get(kind, []))
            row += " | " + (" | ".join(_pct(c, k) for k in ("median_abs", "p90_abs", "max_abs", "median"))
                            if c["n"] else "- | - | - | -")
        lines.append(row + " |")
    return "\n".join(lines)


def worst(sample_list, prof, count: int = 8) -> str:
    rows = sorted(((s.predict(prof) / s.measured_s - 1.0, s) for s in sample_list), key=lambda t: -abs(t[0]))
    out = ["| kind | case | measured us | predicted us | error % |", "|---|---|---:|---:|---:|"]
    for e, s in rows[:count]:
        out.append(f"| {s.kind} | {s.label} | {s.measured_s * 1e6:.1f} | {s.predict(prof) * 1e6:.1f} | {100 * e:+.1f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--heldout", type=Path, action="append", default=[])
    ap.add_argument("--device", default="h100-sxm")
    ap.add_argument("--no-cv", action="store_true", help="skip cross-validation")
    args = ap.parse_args(argv)
    dev = get_device(args.device)
    records = load_microbench(args.data)
    prof = fit_profile(records, dev, source=f"fitted on all of {args.data.name}")
    insample = relative_errors(samples(records, dev), prof)
    cv = None if args.no_cv else cross_validate(records, dev)
    print(f"### {args.data.name} on {dev.name}: predicted vs measured time\n")
    print("Error = predicted / measured - 1. In-sample: profile fitted on the whole file. "
          "CV: leave-one-group-out (GEMM: hidden size; attention: shape; memory ops: tensor size).\n")
    print(table(insample, cv))
    print("\nLargest in-sample errors:\n")
    print(worst(samples(records, dev), prof))
    for path in args.heldout:
        held = load_microbench(path)
        hs = samples(held, dev)
        print(f"\n### Held out: {path} (profile fitted on {args.data.name}, not refitted)\n")
        print(table(relative_errors(hs, prof), None))
        print("\nLargest held-out errors:\n")
        print(worst(hs, prof, 12))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
