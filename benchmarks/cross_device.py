"""Cross-device check: one device's profile applied to the other (H100 <-> H200), kernels and whole steps.

    python benchmarks/cross_device.py

Transfer = same fractions and latencies, the target device's own datasheet peaks, bandwidth (H200:
4.8 TB/s) and capacity (hardware.perf.profile_for does this for a device without a profile). Nothing
is refitted: the H100 profile is the shipped one (shared/calibration), the H200 profile is
hardware/profiles/measured/h200-microbench-2026-11-23.json (fitted on data/measured/2026-11-23_h200/microbench.jsonl), so the
"own profile" rows on that file are in-sample. Bands: sim.uncertainty, 90% claimed.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from hardware.calibration import error_stats, load_microbench  # noqa: E402
from hardware.catalog import get_device  # noqa: E402
from hardware.perf import PerfProfile  # noqa: E402
from hardware.perf.profile import PROFILE_DIR  # noqa: E402
from sim.single import simulate  # noqa: E402
from sim.uncertainty import band_cases, step_band  # noqa: E402
from train_step_accuracy import measured_steps, model_of, step_options  # noqa: E402

MEASURED = ROOT / "data/measured"
RUNS = {"h100-sxm": MEASURED / "2026-11-23_h100", "h200": MEASURED / "2026-11-23_h200"}
ORDER = ("gemm m>=128", "gemm m<128", "gemm peak", "attn fwd", "attn bwd", "memory op", "memory copy")


def profile_of(name: str, target: str) -> PerfProfile:
    """The shipped profile of device `name`, transferred to `target` when they differ."""
    path = PROFILE_DIR / f"{name}.json"
    if not path.exists():
        path = PROFILE_DIR / "measured" / f"{name}-microbench-2026-11-23.json"
    prof = PerfProfile.from_json(path)
    if name == target:
        return prof
    return dataclasses.replace(prof, device=target, transferred_from=prof.device,
                               source=f"transferred from {prof.device}")


def kernel_table(target: str) -> str:
    """Error and band coverage per kind on `target`'s microbench, with its own and the other profile."""
    dev = get_device(target)
    records = load_microbench(RUNS[target] / "microbench.jsonl")
    lines = [f"#### Kernels on {target} ({RUNS[target].name}/microbench.jsonl)\n",
             "| kind | profile | n | median abs % | p90 % | bias % | 90% band covers |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for source in (target, *(d for d in RUNS if d != target)):
        prof = profile_of(source, target)
        cases = band_cases(records, dev, prof)
        label = source if source == target else f"{source} transferred"
        for kind in ORDER:
            ks = [c for c in cases if c[0] == kind]
            if not ks:
                continue
            s = error_stats(p / m - 1 for _k, _l, m, p, _lo, _hi, _f in ks)
            cov = sum(lo <= m <= hi for _k, _l, m, _p, lo, hi, _f in ks) / len(ks)
            lines.append(f"| {kind} | {label} | {s['n']} | {100 * s['median_abs']:.1f} | {100 * s['p90_abs']:.1f} "
                         f"| {100 * s['median']:+.1f} | {100 * cov:.0f}% |")
        cov = sum(lo <= m <= hi for _k, _l, m, _p, lo, hi, _f in cases) / len(cases)
        lines.append(f"| all | {label} | {len(cases)} | | | | {100 * cov:.0f}% |")
    return "\n".join(lines)


def step_rows(target: str):
    """(record, StepResult, profile label, band) for each measured train step of `target`, both profiles."""
    for rec in measured_steps(RUNS[target] / "train_steps.jsonl"):
        opts = step_options(rec)
        for source in (target, *(d for d in RUNS if d != target)):
            prof = profile_of(source, target)
            r = simulate(model_of(rec), target, opts, profile=prof)
            # DISPATCH_PER_LAUNCH was fitted on the H100 machine's CPU: another machine's host is a transfer.
            host = ("host_transferred",) if target != "h100-sxm" else ()
            yield rec, r, source, step_band(r, prof, host_flags=host)


def step_table(target: str) -> str:
    lines = [f"#### Whole train steps on {target} (HF Llama, eager, bf16)\n",
             "| profile | n | median abs % | max abs % | bias % | 90% band covers | median band half-width % |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    by: dict[str, list] = {}
    for rec, r, source, (lo, hi) in step_rows(target):
        by.setdefault(source, []).append((r.step_time_s / rec["step_s_median"] - 1,
                                          lo <= rec["step_s_median"] <= hi, (hi - lo) / 2 / r.step_time_s))
    for source, rows in by.items():
        s = error_stats(e for e, _c, _w in rows)
        widths = sorted(w for _e, _c, w in rows)
        label = source if source == target else f"{source} transferred"
        lines.append(f"| {label} | {s['n']} | {100 * s['median_abs']:.1f} | {100 * s['max_abs']:.1f} "
                     f"| {100 * s['median']:+.1f} | {100 * sum(c for _e, c, _w in rows) / len(rows):.0f}% "
                     f"| {100 * widths[len(widths) // 2]:.0f} |")
    return "\n".join(lines)


def main() -> int:
    for target in RUNS:
        print(kernel_table(target) + "\n")
        print(step_table(target) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
