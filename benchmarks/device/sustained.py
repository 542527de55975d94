"""Sustained vs burst GEMM throughput (bf16, fp8) with SM clock and power, on the local GPU.

Usage: python benchmarks/device/sustained.py --out FILE.jsonl [--seconds 20]
Runs back-to-back GEMMs of training-like shapes for --seconds per case and records the throughput of
each 1 s window, plus nvidia-smi's SM clock and board power sampled every 200 ms: is the rate a
short benchmark sees the rate a whole training step sustains?
"""
from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time

SHAPES = {"square8192": (8192, 8192, 8192), "llama8b_fc1": (8192, 28672, 4096), "llama8b_qkv": (8192, 6144, 4096),
          "llama70b_fc2": (8192, 8192, 28672)}


def sampler(stop: threading.Event, out: list) -> None:
    cmd = ["nvidia-smi", "--query-gpu=clocks.sm,power.draw,temperature.gpu", "--format=csv,noheader,nounits"]
    while not stop.is_set():
        try:
            line = subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip().splitlines()[0]
            clk, pw, temp = (float(x) for x in line.split(","))
            out.append((time.time(), clk, pw, temp))
        except Exception:  # noqa: BLE001 - sampling is best effort
            pass
        stop.wait(0.2)


def run_case(torch, dtype: str, shape, seconds: float) -> list[dict]:
    m, n, k = shape
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
    if dtype == "fp8":
        a8, b8 = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn)
        one = torch.tensor(1.0, device="cuda")
        fn = lambda: torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)  # noqa: E731
    else:
        fn = lambda: torch.nn.functional.linear(a, b)  # noqa: E731
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    flops = 2.0 * m * n * k
    rows, t_end = [], time.time() + seconds
    while time.time() < t_end:
        t0 = time.time()
        count = 0
        while time.time() - t0 < 1.0:
            for _ in range(10):
                fn()
            count += 10
            torch.cuda.synchronize()
        dt = time.time() - t0
        rows.append({"t": t0, "tflops": flops * count / dt / 1e12})
    return rows


def main() -> int:
    import torch
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    name = torch.cuda.get_device_name()
    with open(args.out, "w") as fh:
        for dtype in ("bf16", "fp8"):
            for label, shape in SHAPES.items():
                samples: list = []
                stop = threading.Event()
                th = threading.Thread(target=sampler, args=(stop, samples), daemon=True)
                th.start()
                rows = run_case(torch, dtype, shape, args.seconds)
                stop.set()
                th.join()
                for r in rows:
                    near = [s for s in samples if r["t"] <= s[0] <= r["t"] + 1.0]
                    if near:
                        r["sm_clock_mhz"] = sum(s[1] for s in near) / len(near)
                        r["power_w"] = sum(s[2] for s in near) / len(near)
                        r["temp_c"] = max(s[3] for s in near)
                rec = {"kind": "sustained_gemm", "device": name, "dtype": dtype, "shape": label, "m": shape[0],
                       "n": shape[1], "k": shape[2], "first_s_tflops": rows[0]["tflops"],
                       "last_5s_tflops": sum(r["tflops"] for r in rows[-5:]) / len(rows[-5:]), "windows": rows}
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                print(dtype, label, round(rec["first_s_tflops"]), round(rec["last_5s_tflops"]),
                      [round(r.get("sm_clock_mhz", 0)) for r in rows[::4]], [round(r.get("power_w", 0)) for r in rows[::4]],
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
