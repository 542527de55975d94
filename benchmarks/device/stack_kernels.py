"""Kernels of the published H100 training stacks at their own shapes (NeMo FP8, llm-foundry bf16).

Usage: python benchmarks/device/stack_kernels.py --out FILE.jsonl [--sustain-s 8]

Measures, on the local GPU, what the validation rows of NE24 and MPT run per layer but the shared
calibration file does not cover:
  * GEMMs of each model's layer (fprop, dgrad, wgrad, with its TP split) in bf16 and in FP8 the way
    Transformer Engine calls cuBLASLt: e4m3 x e4m3 fprop with fast accumulation, e5m2 gradients and
    split accumulation in dgrad/wgrad (TE's _2X_ACC_DGRAD/_2X_ACC_WGRAD); plus FP8 fast-accum everywhere;
  * flash attention at each model's (heads per TP rank, seq, head dim), with torch's FlashAttention-2
    backend and with cuDNN's, forward and forward+backward;
  * a sustained, step-like loop over one layer's GEMMs (bf16, fp8) with SM clock and power.
One JSON object per line, flushed as it goes. Only torch (and triton for do_bench) are needed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time

# name: (hidden, ffn, heads, kv_heads, head_dim, gated_mlp, tp, tokens per micro-batch on a rank)
MODELS = {
    "gpt3-5b": (4096, 16384, 32, 32, 128, False, 1, 4 * 2048),
    "gpt3-20b": (6144, 24576, 48, 48, 128, False, 2, 2 * 2048),
    "gpt3-175b": (12288, 49152, 96, 96, 128, False, 4, 2048),
    "llama2-7b": (4096, 11008, 32, 32, 128, True, 1, 4096),
    "llama2-13b": (5120, 13824, 40, 40, 128, True, 1, 4096),
    "llama2-70b": (8192, 28672, 64, 8, 128, True, 4, 4096),
    "nemotron4-340b": (18432, 73728, 96, 8, 192, False, 8, 4096),
    "llama3-8b-cp2": (4096, 14336, 32, 8, 128, True, 1, 4096),
    "mpt-7b": (4096, 16384, 32, 32, 128, False, 1, 6 * 2048),
    "mpt-1b": (2048, 8192, 16, 16, 128, False, 1, 12 * 2048),
}
# attention cases: name -> (batch, heads per rank, seq, head_dim, causal)
ATTN = {
    "gpt3-5b": (4, 32, 2048, 128, True), "gpt3-175b": (1, 24, 2048, 128, True),
    "llama2-7b": (1, 32, 4096, 128, True), "llama2-70b": (1, 16, 4096, 128, True),
    "nemotron4-340b": (1, 12, 4096, 192, True), "llama3-8b": (1, 32, 8192, 128, True),
    "mpt-7b": (6, 32, 2048, 128, True), "mpt-1b": (12, 16, 2048, 128, True),
    "mpt-13b-32k": (1, 40, 32768, 128, True),
}


def layer_gemms(h, ffn, heads, kv, hd, gated, tp, t):
    """(label, m, n, k) of fprop, dgrad, wgrad for qkv, proj, fc1, fc2 of one layer on one TP rank."""
    out = []
    for name, n, k in (("qkv", (heads + 2 * kv) * hd // tp, h), ("proj", h, heads * hd // tp),
                       ("fc1", ffn * (2 if gated else 1) // tp, h), ("fc2", h, ffn // tp)):
        out += [(f"{name}.fprop", t, n, k), (f"{name}.dgrad", t, k, n), (f"{name}.wgrad", n, k, t)]
    return out


def bench(fn, warmup=10, rep=50):
    from triton.testing import do_bench
    return float(do_bench(fn, warmup=warmup, rep=rep, return_mode="median"))


def gemm_fn(torch, mode, pass_, m, n, k):
    """A callable running one (m, n, k) GEMM as `mode` runs it; returns (fn, description)."""
    if mode == "bf16":
        a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        return (lambda: torch.nn.functional.linear(a, b)), "bf16 linear"
    grad = pass_ in ("dgrad", "wgrad")
    a_dt = torch.float8_e5m2 if (grad and mode == "fp8-te") else torch.float8_e4m3fn
    a = (torch.randn(m, k, device="cuda") * 0.5).to(a_dt)
    b = (torch.randn(n, k, device="cuda") * 0.5).to(torch.float8_e4m3fn)
    one = torch.tensor(1.0, device="cuda")
    fast = mode == "fp8-fast" or pass_ == "fprop"
    fn = lambda: torch._scaled_mm(a, b.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16,  # noqa: E731
                                  use_fast_accum=fast)
    return fn, f"{a_dt} x e4m3, fast_accum={fast}"


def emit(fh, rec):
    fh.write(json.dumps(rec) + "\n")
    fh.flush()


def run_gemms(torch, fh, name):
    seen = set()
    for model, spec in MODELS.items():
        for label, m, n, k in layer_gemms(*spec):
            for mode in ("bf16", "fp8-te", "fp8-fast"):
                pass_ = label.split(".")[1]
                key = (mode, pass_ if mode == "fp8-te" else "", m, n, k)
                if key in seen:
                    continue
                seen.add(key)
                rec = {"kind": "stack_gemm", "device": name, "model": model, "gemm": label, "mode": mode,
                       "m": m, "n": n, "k": k}
                try:
                    fn, desc = gemm_fn(torch, mode, pass_, m, n, k)
                    ms = bench(fn)
                    rec.update(desc=desc, ms=ms, tflops=2 * m * n * k / ms / 1e9)
                except Exception as e:  # noqa: BLE001 - record and go on
                    rec["error"] = f"{type(e).__name__}: {str(e)[:200]}"
                emit(fh, rec)
                torch.cuda.empty_cache()
        print("gemms", model, flush=True)


def run_attention(torch, fh, name):
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backends = {"default": None, "flash2": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}
    for case, (b, hq, s, d, causal) in ATTN.items():
        q, k, v = (torch.randn(b, hq, s, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                   for _ in range(3))
        g = torch.randn(b, hq, s, d, device="cuda", dtype=torch.bfloat16)
        fl = 4 * b * hq * s * s * d * (0.5 if causal else 1.0)
        for label, be in backends.items():
            rec = {"kind": "stack_attn", "device": name, "case": case, "backend": label, "b": b, "hq": hq,
                   "s": s, "d": d, "causal": causal}
            try:
                def fwd():
                    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

                def fb():
                    out = fwd()
                    torch.autograd.backward(out, g, inputs=[q, k, v])
                if be is None:
                    ms_f, ms_fb = bench(fwd), bench(fb)
                else:
                    with sdpa_kernel([be]):
                        ms_f, ms_fb = bench(fwd), bench(fb)
                rec.update(ms_fwd=ms_f, ms_fwd_bwd=ms_fb, tflops_fwd=fl / ms_f / 1e9,
                           tflops_fwd_bwd=3.5 * fl / ms_fb / 1e9)
            except Exception as e:  # noqa: BLE001
                rec["error"] = f"{type(e).__name__}: {str(e)[:200]}"
            emit(fh, rec)
        torch.cuda.empty_cache()
        print("attn", case, flush=True)


def sampler(stop, out):
    cmd = ["nvidia-smi", "--query-gpu=clocks.sm,power.draw", "--format=csv,noheader,nounits"]
    while not stop.is_set():
        try:
            line = subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip().splitlines()[0]
            out.append(tuple(float(x) for x in line.split(",")))
        except Exception:  # noqa: BLE001
            pass
        stop.wait(0.25)


def run_sustained(torch, fh, name, seconds):
    """One layer's 12 GEMMs back to back for `seconds`: the rate a step sees, vs the isolated sum."""
    for model in ("llama2-7b", "gpt3-175b"):
        gemms = layer_gemms(*MODELS[model])
        for mode in ("bf16", "fp8-te"):
            fns = [gemm_fn(torch, mode, lab.split(".")[1], m, n, k)[0] for lab, m, n, k in gemms]
            flops = sum(2 * m * n * k for _, m, n, k in gemms)
            isolated = sum(bench(f) for f in fns)
            samples, stop = [], threading.Event()
            th = threading.Thread(target=sampler, args=(stop, samples), daemon=True)
            th.start()
            t_end, reps, t0 = time.time() + seconds, 0, time.time()
            while time.time() < t_end:
                for _ in range(5):
                    for f in fns:
                        f()
                reps += 5
                torch.cuda.synchronize()
            dt = time.time() - t0
            stop.set()
            th.join()
            tail = samples[len(samples) // 2:] or samples
            rec = {"kind": "stack_sustained", "device": name, "model": model, "mode": mode, "seconds": dt,
                   "layer_ms_isolated": isolated, "layer_ms_sustained": dt / reps * 1e3,
                   "tflops_isolated": flops / isolated / 1e9, "tflops_sustained": flops * reps / dt / 1e12,
                   "sm_clock_mhz": sum(s[0] for s in tail) / max(len(tail), 1),
                   "power_w": sum(s[1] for s in tail) / max(len(tail), 1)}
            emit(fh, rec)
            print("sustained", model, mode, round(rec["tflops_isolated"]), round(rec["tflops_sustained"]),
                  round(rec["sm_clock_mhz"]), round(rec["power_w"]), flush=True)
            del fns
            torch.cuda.empty_cache()


def main() -> int:
    import torch
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--sustain-s", type=float, default=8)
    ap.add_argument("--only", default="gemms,attention,sustained")
    args = ap.parse_args()
    name = torch.cuda.get_device_name()
    parts = {"gemms": run_gemms, "attention": run_attention}
    with open(args.out, "a") as fh:
        emit(fh, {"kind": "device", "device": name, "torch": torch.__version__, "cuda": torch.version.cuda,
                  "cudnn": torch.backends.cudnn.version()})
        for part in args.only.split(","):
            t = time.time()
            if part == "sustained":
                run_sustained(torch, fh, name, args.sustain_s)
            else:
                parts[part](torch, fh, name)
            print(f"[{part}] {time.time() - t:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
