"""FlashAttention-2 vs cuDNN with and without a causal mask, and MoE grouped GEMMs, on the local GPU.

Usage: python benchmarks/device/attn_moe_kernels.py --out FILE.jsonl
Attention: the FlashAttention-3 paper's shapes (batch x seq = 16k tokens, hidden 2048, head dim 64/128/256),
causal and not, forward and forward+backward, with torch SDPA's FlashAttention-2 backend and its cuDNN one.
MoE: one rank's expert GEMMs (experts, tokens per expert, n, k) as torch._grouped_mm (one kernel over all
experts, offsets per expert), as bmm and as a loop of mm calls, balanced and with a skewed token split.
One JSON object per line, flushed as it goes.
"""
from __future__ import annotations

import argparse
import itertools
import json

SEQS = (512, 1024, 2048, 4096, 8192, 16384)
# (label, local experts, tokens per expert, n, k): fc1 (n = 2 x ffn, gated) and fc2 of each model's rank
MOE = [("mixtral-8x7b.fc1", 8, 2048, 28672, 4096), ("mixtral-8x7b.fc2", 8, 2048, 4096, 14336),
       ("mixtral-8x22b-ep8.fc1", 1, 8192, 32768, 6144), ("deepseek-v3-ep64.fc1", 4, 8192, 4096, 7168),
       ("deepseek-v3-ep64.fc2", 4, 8192, 7168, 2048), ("deepseek-v3-ep8.fc1", 32, 1024, 4096, 7168),
       ("qwen2-57b-ep4.fc1", 16, 1024, 5120, 3584), ("qwen2-57b-ep4.fc2", 16, 1024, 3584, 2560),
       ("olmoe.fc1", 64, 512, 2048, 2048), ("olmoe.fc2", 64, 512, 2048, 1024),
       ("deepseek-v2-lite.fc1", 64, 256, 2816, 2048), ("small.fc1", 64, 64, 2816, 2048)]


def bench(fn):
    from triton.testing import do_bench
    return float(do_bench(fn, warmup=10, rep=50, return_mode="median"))


def emit(fh, rec):
    fh.write(json.dumps(rec) + "\n")
    fh.flush()


def time_sdpa(torch, q, k, v, g, causal, backend, flops, rec):
    """Forward and forward+backward of SDPA on one backend into `rec` (or the error it raised)."""
    import torch.nn.functional as F
    from torch.nn.attention import sdpa_kernel
    try:
        def fwd():
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

        def fb():
            torch.autograd.backward(fwd(), g, inputs=[q, k, v])
        with sdpa_kernel([backend]):
            ms_f, ms_fb = bench(fwd), bench(fb)
        rec.update(ms_fwd=ms_f, ms_fwd_bwd=ms_fb, tflops_fwd=flops / ms_f / 1e9,
                   tflops_bwd=2.5 * flops / (ms_fb - ms_f) / 1e9)
    except Exception as e:  # noqa: BLE001 - record and go on
        rec["error"] = f"{type(e).__name__}: {str(e)[:200]}"
    return rec


def attention(torch, fh):
    from torch.nn.attention import SDPBackend
    for d in (128, 64, 256):
        hq = 2048 // d
        for s in SEQS:
            b = 16384 // s
            q, k, v = (torch.randn(b, hq, s, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                       for _ in range(3))
            g = torch.randn(b, hq, s, d, device="cuda", dtype=torch.bfloat16)
            for causal in (False, True):
                fl = 4 * b * hq * s * s * d * (0.5 if causal else 1.0)
                for label, be in (("flash2", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                    rec = {"kind": "attn", "backend": label, "b": b, "hq": hq, "s": s, "d": d, "causal": causal}
                    emit(fh, time_sdpa(torch, q, k, v, g, causal, be, fl, rec))
            del q, k, v, g
            torch.cuda.empty_cache()
        print("attn d", d, flush=True)


def attention_wide(torch, fh):
    """Head dims between 128 and 256: Nemotron-4's 192, and MLA's 192-wide q/k with 128-wide v (cuDNN only)."""
    from torch.nn.attention import SDPBackend
    for d, dv in ((192, 192), (192, 128), (160, 160)):
        hq = 16
        for s in (1024, 2048, 4096, 8192):
            b = 16384 // s
            q, k = (torch.randn(b, hq, s, d, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(2))
            v = torch.randn(b, hq, s, dv, device="cuda", dtype=torch.bfloat16, requires_grad=True)
            g = torch.randn(b, hq, s, dv, device="cuda", dtype=torch.bfloat16)
            fl = 2 * b * hq * s * s * (d + dv) * 0.5
            for label, be in (("flash2", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                rec = {"kind": "attn", "backend": label, "b": b, "hq": hq, "s": s, "d": d, "dv": dv, "causal": True}
                emit(fh, time_sdpa(torch, q, k, v, g, True, be, fl, rec))
            del q, k, v, g
            torch.cuda.empty_cache()
        print("attn wide", d, dv, flush=True)


def moe(torch, fh):
    for label, e, t, n, k in MOE:
        for skew in (False, True):
            # skewed: half the experts get 1.5x the mean, the other half 0.5x (same total)
            counts = [t] * e if not skew or e == 1 else [int(t * (1.5 if i % 2 == 0 else 0.5)) for i in range(e)]
            total = sum(counts)
            x = torch.randn(total, k, device="cuda", dtype=torch.bfloat16)
            w = torch.randn(e, n, k, device="cuda", dtype=torch.bfloat16)
            wt = w.transpose(-2, -1)
            offs = torch.tensor(list(itertools.accumulate(counts)), device="cuda", dtype=torch.int32)
            flops = 2 * total * n * k
            rec = {"kind": "moe_gemm", "case": label, "experts": e, "tokens_per_expert": counts, "n": n, "k": k,
                   "skew": skew}
            for mode in ("grouped", "bmm", "loop"):
                try:
                    if mode == "grouped":
                        fn = lambda: torch._grouped_mm(x, wt, offs=offs)  # noqa: E731
                    elif mode == "bmm":
                        if skew:
                            continue
                        xb = x.view(e, t, k)
                        fn = lambda: torch.bmm(xb, wt)  # noqa: E731
                    else:
                        xs = torch.split(x, counts)
                        fn = lambda: [torch.mm(xs[i], wt[i]) for i in range(e)]  # noqa: E731
                    ms = bench(fn)
                    rec[f"ms_{mode}"] = ms
                    rec[f"tflops_{mode}"] = flops / ms / 1e9
                except Exception as ex:  # noqa: BLE001
                    rec[f"error_{mode}"] = f"{type(ex).__name__}: {str(ex)[:200]}"
            emit(fh, rec)
            del x, w
            torch.cuda.empty_cache()
        print("moe", label, flush=True)


def main() -> int:
    import torch
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="attention,moe")
    args = ap.parse_args()
    with open(args.out, "a") as fh:
        emit(fh, {"kind": "device", "device": torch.cuda.get_device_name(), "torch": torch.__version__,
                  "cudnn": torch.backends.cudnn.version()})
        for part in args.only.split(","):
            {"attention": attention, "wide": attention_wide, "moe": moe}[part](torch, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
