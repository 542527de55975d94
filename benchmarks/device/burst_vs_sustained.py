"""Burst vs sustained GEMM rate on the local GPU: the ml-engineering MAMF method cold, then after a minute hot.

Usage: python benchmarks/device/burst_vs_sustained.py --out FILE.jsonl
For each shape: mean of 100 matmuls after 50 warm-up (MAMF's method), once after the GPU idled 20 s and once
after 45 s of back-to-back GEMMs, with SM clock and power read right after. One JSON object per line.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import time

SHAPES = [(2048, 2048, 13312), (8192, 8192, 8192), (4096, 14336, 4096), (1024, 9216, 14336)]


def smi():
    out = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm,power.draw,temperature.gpu",
                          "--format=csv,noheader,nounits"], capture_output=True, text=True).stdout
    return [float(x) for x in out.strip().splitlines()[0].split(",")]


def mamf(torch, m, n, k, dtype):
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
    if dtype == "fp8":
        a, b = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn)
        one = torch.tensor(1.0, device="cuda")
        fn = lambda: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16,  # noqa: E731
                                      use_fast_accum=True)
    else:
        fn = lambda: a @ b.t()  # noqa: E731
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(100):
        fn()
    e.record()
    torch.cuda.synchronize()
    ms = s.elapsed_time(e) / 100
    return 2 * m * n * k / ms / 1e9, smi()


def main() -> int:
    import torch
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.out, "a") as fh:
        for dtype in ("bf16", "fp8"):
            for state in ("cold", "hot"):
                if state == "cold":
                    time.sleep(20)
                else:
                    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
                    t_end = time.time() + 45
                    while time.time() < t_end:
                        for _ in range(20):
                            a @ a
                        torch.cuda.synchronize()
                for m, n, k in SHAPES:
                    tf, (clk, pw, temp) = mamf(torch, m, n, k, dtype)
                    rec = {"kind": "burst", "dtype": dtype, "state": state, "m": m, "n": n, "k": k, "tflops": tf,
                           "sm_clock_mhz": clk, "power_w": pw, "temp_c": temp,
                           "device": torch.cuda.get_device_name()}
                    fh.write(json.dumps(rec) + "\n")
                    fh.flush()
                    print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
