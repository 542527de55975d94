"""Held-out check of the GEMM model on other GPUs: published maximum-achievable matmul rates at their best shapes.

Usage: python benchmarks/mamf_check.py
Sources: the "Maximum Achievable Matmul FLOPS" table of stas00/ml-engineering (compute/accelerator/README.md, commit
744d01e, 2026-08; mean of 100 iterations after 50 warm-up at the best shape a brute-force search found, short
bursts at boost clocks), and AMD's own max-achievable figures (ROCm blog "Measuring Max-Achievable FLOPs - Part 2",
2025; one second of GEMMs, median clock under load). The MI300X's tensor-core scale was set from AMD's BF16 figure,
so that row is in-sample; everything else is held out. Only the H100 profile is fitted on measurements.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardware.catalog import get_device  # noqa: E402
from hardware.perf import gemm_time, profile_for  # noqa: E402

ML_ENG = "ml-engineering MAMF"
AMD = "AMD MAF (ROCm blog)"
# (device, dtype, (m, n, k), published TFLOP/s, source, note)
PUBLISHED = [
    ("a100-sxm-80gb", "bf16", (1024, 10240, 5120), 271.2, ML_ENG, "torch 2.6.0+cu126"),
    ("a100-pcie-80gb", "bf16", (2048, 5120, 6144), 252.9, ML_ENG, "torch 2.5.1+cu124"),
    ("h100-sxm", "bf16", (2048, 2048, 13312), 794.5, ML_ENG, "torch 2.7.0+cu126; the profile's own device"),
    ("h100-sxm", "fp8", (1024, 9216, 14336), 1402.6, ML_ENG, "torch 2.7.0+cu126; the profile's own device"),
    ("h200", "fp8", (1280, 4096, 12032), 1453.4, ML_ENG, "torch 2.7.1+cu128"),
    ("b200", "bf16", (1792, 16128, 3072), 1745.0, ML_ENG, "torch 2.7.1+cu128"),
    ("b200", "fp8", (15360, 4096, 3072), 3432.5, ML_ENG, "torch 2.7.1+cu128"),
    ("gb200", "bf16", (4096, 9728, 2048), 1822.0, ML_ENG, "torch 2.10 dev, cu130"),
    ("gb200", "fp8", (19456, 5120, 1536), 3615.6, ML_ENG, "torch 2.10 dev, cu130"),
    ("mi300x", "bf16", (10240, 15360, 8192), 668.4, ML_ENG, "torch 2.5.1, ROCm 6.3, tunableop"),
    ("mi300x", "bf16", (4096, 4864, 32896), 708.0, AMD, "hipBLASLt, 1207 MHz; sets the MI300X scale (in-sample)"),
    ("mi300x", "fp16", (4096, 4864, 32896), 654.0, AMD, "hipBLASLt, 1115 MHz"),
    ("mi300x", "fp8", (4096, 3648, 32896), 1273.0, AMD, "table; its footnote says 1223.6"),
]


def main() -> int:
    print("| device | dtype | shape m x n x k | published TFLOP/s | source | predicted | error | note |")
    print("|---|---|---|---|---|---|---|---|")
    errs = {}
    for dev_name, dt, (m, n, k), pub, src, note in PUBLISHED:
        dev = get_device(dev_name)
        kt = gemm_time(dev, profile_for(dev), m, n, k, dt)
        pred = kt.flops / kt.time_s / 1e12
        err = pred / pub - 1
        errs.setdefault(dev_name, []).append(err)
        print(f"| {dev_name} | {dt} | {m}x{n}x{k} | {pub:.0f} | {src} | {pred:.0f} | {err:+.1%} | {note} |")
    print()
    print("Mean error per device: " + ", ".join(f"{d} {statistics.mean(e):+.1%}" for d, e in errs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
