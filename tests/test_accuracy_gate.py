"""Accuracy regression gate: median |error| per group must not rise above the level recorded in accuracy_baseline.json.

Groups: the shipped profiles on the microbenchmarks (per kind), whole measured train steps (per device),
the published runs of `roofsim validate` (mean absolute error per source) and the held-out NeMo 26.x runs.
Regenerate the baseline after a deliberate change, and say why in the commit:
    python tests/test_accuracy_gate.py --update
"""
import glob
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASELINE = Path(__file__).resolve().parent / "accuracy_baseline.json"
FILES = {"h100-shared": (str(ROOT.parent / "shared/calibration/h100_sxm_microbench.jsonl"), "h100-sxm"),
         "h100-run": (str(ROOT / "data/measured/2026-11-23_h100/microbench.jsonl"), "h100-sxm"),
         "h200-run": (str(ROOT / "data/measured/2026-11-23_h200/microbench.jsonl"), "h200")}


def current() -> dict[str, float]:
    """Median |relative error| per group, for every group whose data is present."""
    from hardware.calibration import evaluate, load_microbench
    from hardware.catalog import get_device
    from hardware.perf import profile_for
    out = {}
    for name, (path, device) in FILES.items():
        if Path(path).exists():
            dev = get_device(device)
            for kind, s in evaluate(load_microbench(path), dev, profile_for(dev)).items():
                out[f"{name}/{kind}"] = s["median_abs"]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from train_step_accuracy import device_of, rows
    errs: dict[str, list[float]] = {}
    for rec, r in rows(sorted(glob.glob(str(ROOT / "data/measured/*/train_steps.jsonl")))):
        errs.setdefault(f"steps/{device_of(rec)}", []).append(abs(r.step_time_s / rec["step_s_median"] - 1))
    for name, e in errs.items():
        out[name] = sorted(e)[len(e) // 2]
    from nemo26_held_out import mean_errors   # held-out NeMo 26.x runs (published plans), mean per system
    for system, mape in mean_errors().items():
        out[f"nemo26/{system}"] = mape
    if (ROOT.parent / "shared/validation/published_runs.csv").exists():   # `roofsim validate`, mean per source
        from sim.validate import summary, validate
        for src, mape in summary(validate()).items():
            out[f"published/{src}"] = mape
    return out


def test_no_group_got_worse():
    base = json.loads(BASELINE.read_text())
    rel, slack = base["tolerance_rel"], base["tolerance_abs"]
    now = current()
    worse = [f"{g}: {100 * now[g]:.1f}% > recorded {100 * lvl:.1f}%" for g, lvl in base["groups"].items()
             if g in now and now[g] > lvl * (1 + rel) + slack]
    assert not worse, "median error rose: " + "; ".join(worse)
    assert set(now) & set(base["groups"]), "no baseline group could be evaluated"


if __name__ == "__main__" and "--update" in sys.argv:
    groups = {k: round(v, 4) for k, v in sorted(current().items())}
    BASELINE.write_text(json.dumps({"tolerance_rel": 0.25, "tolerance_abs": 0.005, "groups": groups}, indent=1) + "\n")
    print(f"wrote {BASELINE} ({len(groups)} groups)")
