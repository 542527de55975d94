"""Predicted vs measured whole training steps (HF Llama, eager PyTorch, pure bf16, fused AdamW).

Usage: python benchmarks/train_step_accuracy.py [data/measured/*/train_steps.jsonl ...] [--markdown]
Prints one row per measured step (time and peak memory) and the median/mean absolute errors.
Nothing here is fitted to these measurements: the device profile comes from shared/calibration.
"""
from __future__ import annotations

import argparse
import glob
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.single import StepOptions, simulate  # noqa: E402
from workloads.hf_config import parse_hf_config  # noqa: E402

DEVICE_BY_NAME = {"H100": "h100-sxm", "H200": "h200"}


def device_of(record: dict) -> str:
    name = record.get("device", "")
    for key, dev in DEVICE_BY_NAME.items():
        if key in name:
            return dev
    raise ValueError(f"unknown device {name!r} in measurement")


def model_of(record: dict):
    cfg = dict(record["config"])
    cfg.setdefault("model_type", "llama")
    return parse_hf_config(cfg, path=record["model"])


def measured_steps(path):
    """The completed train-step records of one measurement file."""
    for line in open(path):
        rec = json.loads(line)
        if rec.get("kind") == "train_step" and not rec.get("oom") and "step_s_median" in rec:
            yield rec


def step_options(rec: dict) -> StepOptions:
    """What the measured step ran: HF eager, pure bf16 with bf16 AdamW states, one micro-batch."""
    return StepOptions(batch=rec["batch"], seq_len=rec["seq"], micro_batch=rec["batch"],
                       recompute="full" if rec["grad_ckpt"] else "none", dtype="bf16",
                       optimizer_state_dtype="bf16", kernels="eager")


def rows(paths: list[str]):
    for path in paths:
        for rec in measured_steps(path):
            yield rec, simulate(model_of(rec), device_of(rec), step_options(rec))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    files = args.files or sorted(glob.glob(str(ROOT / "data/measured/*/train_steps.jsonl")))
    t_err, m_err = [], []
    print("| device | model | batch x seq | ckpt | measured step | predicted | error | measured peak | predicted | error |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for rec, r in rows(files):
        t_meas = rec["step_s_median"]
        m_meas = rec["max_mem_alloc"]
        te = (r.step_time_s - t_meas) / t_meas
        me = (r.memory.peak - m_meas) / m_meas
        t_err.append(te)
        m_err.append(me)
        print(f"| {device_of(rec)} | {rec['model']} | {rec['batch']}x{rec['seq']} | {'yes' if rec['grad_ckpt'] else 'no'} "
              f"| {t_meas * 1e3:.1f} ms | {r.step_time_s * 1e3:.1f} ms | {te * 100:+.1f}% "
              f"| {m_meas / 2**30:.2f} GiB | {r.memory.peak / 2**30:.2f} GiB | {me * 100:+.1f}% |")
    if t_err:
        print()
        print(f"step time: median |error| {statistics.median(abs(e) for e in t_err) * 100:.1f}%, "
              f"mean |error| {statistics.mean(abs(e) for e in t_err) * 100:.1f}%, "
              f"max {max(abs(e) for e in t_err) * 100:.1f}%, n={len(t_err)}")
        print(f"peak memory: median |error| {statistics.median(abs(e) for e in m_err) * 100:.1f}%, "
              f"mean |error| {statistics.mean(abs(e) for e in m_err) * 100:.1f}%, "
              f"max {max(abs(e) for e in m_err) * 100:.1f}%, n={len(m_err)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
