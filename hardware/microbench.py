"""GPU microbenchmark suite (the measurements behind ``roofsim calibrate``).

Run:  python -m hardware.microbench --out FILE.jsonl --budget-s 240
      python -m hardware.microbench --out /tmp/x.jsonl --cpu-smoke   (tiny shapes, CPU)

Writes one JSON object per line, flushed after each record, in the format of
shared/calibration/h100_sxm_microbench.jsonl (kinds device, peak_gemm, peak_mem,
gemm, attn, memop) extended with: gemm op "odd", op "bmm", memop ops (gelu, mul,
cast, cross_entropy, embedding, copy ramp), kind "adamw", kind "launch".
Every record carries "device". Torch is imported only inside functions, so this
module imports without torch installed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

# transformer-layer shapes of the shared calibration file: hidden -> ffn
LAYER_SHAPES = {1024: 4096, 4096: 11008, 5120: 13824, 12288: 49152}
LAYER_MS = [1, 8, 32, 128, 512, 2048, 8192, 32768]
ODD_M = [1, 8, 16, 64, 100, 127, 1000, 4095, 4097, 8191]
ODD_NK = [1000, 4095, 4096, 4097, 4104, 5120, 11008, 14336, 12289]


class Ctx:
    def __init__(self, out, budget_s, smoke, dev):
        self.f = open(out, "a")
        self.t0 = time.time()
        self.budget = budget_s
        self.smoke = smoke
        self.dev = dev
        self.name = "cpu"
        self.section_end = None
        self.n = 0

    def left(self):
        end = self.t0 + self.budget
        if self.section_end is not None:
            end = min(end, self.section_end)
        return end - time.time()

    def section(self, frac_s):
        self.section_end = time.time() + frac_s

    def emit(self, rec):
        rec.setdefault("device", self.name)
        self.f.write(json.dumps(rec) + "\n")
        self.f.flush()
        self.n += 1


def _sync(dev):
    import torch
    if dev == "cuda":
        torch.cuda.synchronize()


def bench(ctx, fn, warmup=25, rep=100):
    """Median ms. CUDA: triton.testing.do_bench (flushes L2). CPU: wall clock."""
    if ctx.dev == "cuda":
        try:
            from triton.testing import do_bench
            return float(do_bench(fn, warmup=warmup, rep=rep, return_mode="median"))
        except ImportError:
            pass
    import statistics
    fn()
    _sync(ctx.dev)
    ts = []
    for _ in range(3 if ctx.smoke else 20):
        t = time.perf_counter()
        fn()
        _sync(ctx.dev)
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)


def _free(ctx):
    import gc
    import torch
    gc.collect()
    if ctx.dev == "cuda":
        torch.cuda.empty_cache()


def guarded(ctx, rec, fn):
    """Run fn(rec) -> fills rec; OOM -> rec['oom']=True; other errors recorded."""
    import torch
    try:
        fn(rec)
    except torch.OutOfMemoryError:
        rec["oom"] = True
    except RuntimeError as e:  # noqa: BLE001
        if "out of memory" in str(e).lower():
            rec["oom"] = True
        else:
            rec["error"] = str(e)[:300]
    except Exception as e:  # noqa: BLE001
        rec["error"] = f"{type(e).__name__}: {str(e)[:300]}"
    _free(ctx)
    ctx.emit(rec)


def _smi(args):
    try:
        return subprocess.run(["nvidia-smi"] + args, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # noqa: BLE001
        return f"unavailable: {e}"


def device_record(ctx):
    import torch
    rec = {"kind": "device", "torch": torch.__version__, "cuda": torch.version.cuda,
           "python": sys.version.split()[0]}
    try:
        import triton
        rec["triton"] = triton.__version__
    except ImportError:
        rec["triton"] = None
    if ctx.dev == "cuda":
        p = torch.cuda.get_device_properties(0)
        ctx.name = p.name
        rec.update(sms=p.multi_processor_count, mem_gb=p.total_memory / 2**30,
                   l2_bytes=getattr(p, "L2_cache_size", None), cc=f"{p.major}.{p.minor}",
                   cudnn=torch.backends.cudnn.version())
        q = _smi(["--query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,clocks.sm,"
                  "clocks.mem,power.limit,memory.total,pcie.link.gen.current",
                  "--format=csv,noheader"])
        rec["nvidia_smi"] = q
        try:
            rec["driver"] = q.split(",")[1].strip()
        except IndexError:
            rec["driver"] = None
    ctx.emit(rec)


def peak_gemm(ctx):
    import torch
    sizes = [64, 128] if ctx.smoke else [4096, 8192, 16384]
    dts = ["bf16", "fp16", "tf32", "fp32", "fp8_e4m3"]
    for dt in dts:
        for s in sizes:
            if ctx.left() < 0:
                return
            if dt in ("fp32", "tf32") and s > 8192 and ctx.left() < 30:
                continue
            rec = {"kind": "peak_gemm", "dtype": {"bf16": "torch.bfloat16", "fp16": "torch.float16",
                                                  "fp32": "torch.float32"}.get(dt, dt),
                   "m": s, "n": s, "k": s}

            def run(rec, dt=dt, s=s):
                if dt == "fp8_e4m3":
                    if ctx.dev != "cuda":
                        rec["skipped"] = "cpu"
                        return
                    a = torch.randn(s, s, device="cuda").to(torch.float8_e4m3fn)
                    b = torch.randn(s, s, device="cuda").to(torch.float8_e4m3fn).t()
                    one = torch.tensor(1.0, device="cuda")
                    fn = lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
                else:
                    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(dt, torch.float32)
                    if ctx.dev == "cpu" and dt == "fp16":
                        dtype = torch.float32
                    a = torch.randn(s, s, device=ctx.dev, dtype=dtype)
                    b = torch.randn(s, s, device=ctx.dev, dtype=dtype)
                    torch.backends.cuda.matmul.allow_tf32 = dt == "tf32"
                    fn = lambda: torch.matmul(a, b)
                ms = bench(ctx, fn)
                torch.backends.cuda.matmul.allow_tf32 = False
                rec.update(ms=ms, tflops=2 * s**3 / ms / 1e9)
            guarded(ctx, rec, run)


def peak_mem(ctx):
    import torch
    sizes = [2**20] if ctx.smoke else [2**29, 2**31, 2**33]
    for nb in sizes:
        for op in ("copy", "add_self"):
            if ctx.left() < 0:
                return
            rec = {"kind": "peak_mem", "op": op, "bytes_moved": nb}

            def run(rec, nb=nb, op=op):
                n = nb // 2 // 2  # bf16 elements; bytes_moved = read + write
                x = torch.randn(n, device=ctx.dev, dtype=torch.bfloat16)
                y = torch.empty_like(x)
                fn = (lambda: y.copy_(x)) if op == "copy" else (lambda: torch.add(x, x, out=y))
                ms = bench(ctx, fn)
                rec.update(ms=ms, gbps=nb / ms / 1e6)
            guarded(ctx, rec, run)


def _gemm_case(ctx, m, n, k, op, extra):
    import torch
    import torch.nn.functional as F
    rec = {"kind": "gemm", "dtype": "bf16", "m": m, "n": n, "k": k, "op": op, **extra}

    def run(rec):
        a = torch.randn(m, k, device=ctx.dev, dtype=torch.bfloat16)
        w = torch.randn(n, k, device=ctx.dev, dtype=torch.bfloat16)
        ms = bench(ctx, lambda: F.linear(a, w), warmup=10, rep=40)
        rec.update(ms=ms, tflops=2 * m * n * k / ms / 1e9, bytes=2 * (m * k + n * k + m * n))
    guarded(ctx, rec, run)


def layer_gemms(ctx):
    shapes = {64: 128} if ctx.smoke else LAYER_SHAPES
    ms_list = [1, 8, 32] if ctx.smoke else LAYER_MS
    for h, ffn in shapes.items():
        for m in ms_list:
            for op, n, k in (("qkv", 3 * h, h), ("out", h, h), ("up", ffn, h), ("down", h, ffn)):
                if ctx.left() < 0:
                    return
                _gemm_case(ctx, m, n, k, op, {"hidden": h})


def odd_gemms(ctx):
    import random
    rnd = random.Random(0)
    combos = []
    # every m against a spread of (n, k): aligned and misaligned in each dim
    nk_pairs = [(4096, 4096), (4097, 4096), (4096, 4097), (4095, 4095), (4104, 4104),
                (12289, 4096), (11008, 4096), (4096, 11008), (14336, 4096), (1000, 1000),
                (5120, 12289), (4096, 14336)]
    for m in ODD_M:
        for n, k in rnd.sample(nk_pairs, 4):
            combos.append((m, n, k))
    combos += [(4096, 4096, 4096), (4096, 4097, 4096), (4097, 4096, 4096), (4096, 4096, 4097),
               (8191, 14336, 4096), (8192, 14336, 4096)]
    if ctx.smoke:
        combos = [(m, n // 64, k // 64) for m, n, k in combos[:6]]
    for m, n, k in combos:
        if ctx.left() < 0:
            return
        _gemm_case(ctx, m, n, k, "odd", {})


# exact per-layer GEMMs of the HF Llama models in benchmarks/device/hf_train_step.py
# (hidden, heads, kv_heads, head_dim, ffn, vocab)
LLAMA_MODELS = {
    "Llama-3.2-1B": (2048, 32, 8, 64, 8192, 128256),
    "TinyLlama-1.1B": (2048, 32, 4, 64, 5632, 32000),
    "Llama-3.2-3B": (3072, 24, 8, 128, 8192, 128256),
    "Llama-2-7B": (4096, 32, 32, 128, 11008, 32000),
    "Llama-3-8B": (4096, 32, 8, 128, 14336, 128256),
}


def model_gemms(ctx):
    models = {"tiny": (64, 4, 2, 16, 128, 1000)} if ctx.smoke else LLAMA_MODELS
    for m in ([16] if ctx.smoke else [2048, 8192]):
        for name, (h, nh, nkv, hd, ffn, V) in models.items():
            projs = (("q_proj", nh * hd, h), ("k_proj", nkv * hd, h), ("v_proj", nkv * hd, h),
                     ("o_proj", h, nh * hd), ("gate_proj", ffn, h), ("up_proj", ffn, h),
                     ("down_proj", h, ffn), ("lm_head", V, h))
            for proj, n, k in projs:
                if ctx.left() < 0:
                    return
                _gemm_case(ctx, m, n, k, "model", {"model": name, "proj": proj})


def bmm(ctx):
    import torch
    # MoE-like grouped GEMMs: (experts, tokens per expert, n, k)
    cases = [(8, 512, 14336, 4096), (8, 2048, 14336, 4096), (8, 2048, 4096, 14336),
             (64, 128, 1408, 2048), (64, 512, 1408, 2048), (64, 512, 2048, 1408),
             (128, 64, 768, 2048), (16, 1024, 6144, 4096), (32, 256, 2048, 7168)]
    if ctx.smoke:
        cases = [(4, 8, 32, 16)]
    for e, t, n, k in cases:
        if ctx.left() < 0:
            return
        rec = {"kind": "gemm", "op": "bmm", "dtype": "bf16", "batch": e, "m": t, "n": n, "k": k}

        def run(rec, e=e, t=t, n=n, k=k):
            a = torch.randn(e, t, k, device=ctx.dev, dtype=torch.bfloat16)
            b = torch.randn(e, k, n, device=ctx.dev, dtype=torch.bfloat16)
            ms = bench(ctx, lambda: torch.bmm(a, b), warmup=10, rep=40)
            rec.update(ms=ms, tflops=2 * e * t * n * k / ms / 1e9,
                       bytes=2 * e * (t * k + k * n + t * n))
        guarded(ctx, rec, run)


def attn(ctx):
    import torch
    import torch.nn.functional as F
    cases = []
    # the shared file's cases first (comparability), then a sweep
    for b, hq, hkv, s, d in [(1, 16, 16, 2048, 128), (4, 32, 32, 2048, 128), (1, 32, 32, 8192, 128),
                             (8, 16, 16, 1024, 64), (1, 128, 128, 4096, 128)]:
        cases.append((b, hq, hkv, s, d))
    for d in (128, 64, 256):
        for ratio in (1, 4, 8):
            for b, s in ((1, 512), (8, 512), (4, 2048), (1, 4096), (2, 8192), (1, 16384)):
                hq = 32 if d <= 128 else 16
                cases.append((b, hq, hq // ratio, s, d))
    if ctx.smoke:
        cases = [(1, 4, 4, 64, 32), (2, 4, 1, 64, 64)]
    for b, hq, hkv, s, d in cases:
        for causal in (True, False):
            if ctx.left() < 0:
                return
            rec = {"kind": "attn", "b": b, "hq": hq, "hkv": hkv, "s": s, "d": d, "causal": causal,
                   "dtype": "bf16"}

            def run(rec, b=b, hq=hq, hkv=hkv, s=s, d=d, causal=causal):
                q = torch.randn(b, hq, s, d, device=ctx.dev, dtype=torch.bfloat16, requires_grad=True)
                k = torch.randn(b, hkv, s, d, device=ctx.dev, dtype=torch.bfloat16, requires_grad=True)
                v = torch.randn(b, hkv, s, d, device=ctx.dev, dtype=torch.bfloat16, requires_grad=True)
                gqa = hkv != hq
                kw = {"is_causal": causal}
                if gqa:
                    kw["enable_gqa"] = True
                rec["enable_gqa"] = gqa
                fwd = lambda: F.scaled_dot_product_attention(q, k, v, **kw)
                o = fwd()
                g = torch.randn_like(o)

                def fb():
                    out = F.scaled_dot_product_attention(q, k, v, **kw)
                    torch.autograd.backward(out, g, inputs=[q, k, v])
                ms_f = bench(ctx, fwd, warmup=10, rep=40)
                ms_fb = bench(ctx, fb, warmup=10, rep=40)
                fl = 4 * b * hq * s * s * d * (0.5 if causal else 1.0)
                rec.update(ms_fwd=ms_f, ms_fwd_bwd=ms_fb, tflops_fwd=fl / ms_f / 1e9,
                           tflops_fwd_bwd=3.5 * fl / ms_fb / 1e9)
                try:
                    from torch.nn.attention import _cur_sdpa_kernel_backends  # type: ignore
                    rec["backends"] = [str(x) for x in _cur_sdpa_kernel_backends()]
                except Exception:  # noqa: BLE001
                    pass
            guarded(ctx, rec, run)


def memops(ctx):
    import torch
    import torch.nn.functional as F
    dev = ctx.dev
    th = [(64, 128)] if ctx.smoke else [(4096, 4096), (16384, 4096), (32768, 2048), (8192, 8192), (1024, 4096)]

    def rmsnorm(x, w, eps=1e-6):  # HF LlamaRMSNorm eager
        dt = x.dtype
        h = x.to(torch.float32)
        var = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(var + eps)
        return w * h.to(dt)

    for t, h in th:
        n = t * h
        ops = {
            # name: (setup -> fn, bytes moved)
            "rmsnorm": (lambda x, y: (lambda w=torch.ones(h, device=dev, dtype=torch.bfloat16): rmsnorm(x, w)), 4 * n),
            "silu": (lambda x, y: (lambda: F.silu(x)), 4 * n),
            "gelu": (lambda x, y: (lambda: F.gelu(x, approximate="tanh")), 4 * n),
            "add": (lambda x, y: (lambda: x + y), 6 * n),
            "mul": (lambda x, y: (lambda: x * y), 6 * n),
            "softmax": (lambda x, y: (lambda: torch.softmax(x, -1)), 4 * n),
            "cast_bf16_fp32": (lambda x, y: (lambda: x.float()), 6 * n),
            "cast_fp32_bf16": (lambda x, y, xf=None: (lambda xf=x.float(): xf.to(torch.bfloat16)), 6 * n),
        }
        for op, (mk, nbytes) in ops.items():
            if ctx.left() < 0:
                return
            rec = {"kind": "memop", "op": op, "t": t, "h": h, "dtype": "bf16"}
            if op == "rmsnorm":
                rec["impl"] = "hf_eager"   # HF LlamaRMSNorm, several kernels: not the fused kernel of the model

            def run(rec, mk=mk, nbytes=nbytes):
                x = torch.randn(t, h, device=dev, dtype=torch.bfloat16)
                y = torch.randn(t, h, device=dev, dtype=torch.bfloat16)
                ms = bench(ctx, mk(x, y), warmup=10, rep=40)
                rec.update(ms=ms, bytes=nbytes, gbps=nbytes / ms / 1e6)
            guarded(ctx, rec, run)
    # cross entropy on fp32 logits [t, V]
    for V in (32000, 128256):
        for t in ([16] if ctx.smoke else [2048, 8192, 16384]):
            if ctx.left() < 0:
                return
            rec = {"kind": "memop", "op": "cross_entropy", "t": t, "h": V, "dtype": "fp32"}

            def run(rec, V=V, t=t):
                lg = torch.randn(t, V, device=dev, dtype=torch.float32, requires_grad=True)
                lab = torch.randint(0, V, (t,), device=dev)
                f = lambda: F.cross_entropy(lg, lab)

                def fb():
                    F.cross_entropy(lg, lab).backward()
                rec["ms"] = bench(ctx, f, warmup=10, rep=40)
                rec["ms_fwd_bwd"] = bench(ctx, fb, warmup=10, rep=40)
                rec["bytes_logits"] = 4 * t * V
                rec["gbps"] = 4 * t * V / rec["ms"] / 1e6
            guarded(ctx, rec, run)
    # embedding gather and backward
    for V, h in ([(100, 32)] if ctx.smoke else [(32000, 4096), (128256, 4096), (128256, 2048)]):
        t = 16 if ctx.smoke else 8192
        if ctx.left() < 0:
            return
        rec = {"kind": "memop", "op": "embedding", "t": t, "h": h, "vocab": V, "dtype": "bf16"}

        def run(rec, V=V, h=h, t=t):
            W = torch.randn(V, h, device=dev, dtype=torch.bfloat16, requires_grad=True)
            ids = torch.randint(0, V, (t,), device=dev)
            out = F.embedding(ids, W)
            g = torch.randn_like(out)

            def fb():
                torch.autograd.backward(F.embedding(ids, W), g, inputs=[W])
            rec["ms"] = bench(ctx, lambda: F.embedding(ids, W), warmup=10, rep=40)
            rec["ms_fwd_bwd"] = bench(ctx, fb, warmup=10, rep=40)
            rec["bytes"] = 4 * t * h
            rec["gbps"] = 4 * t * h / rec["ms"] / 1e6
        guarded(ctx, rec, run)
    # copy ramp: latency floor and bandwidth ramp, 1 KiB .. 2 GiB
    top = 20 if ctx.smoke else 31
    for p in range(10, top + 1):
        if ctx.left() < 0:
            return
        nb = 2**p
        rec = {"kind": "memop", "op": "copy", "bytes": nb, "bytes_moved": 2 * nb}

        def run(rec, nb=nb):
            x = torch.empty(nb, device=dev, dtype=torch.uint8).random_()
            y = torch.empty_like(x)
            ms = bench(ctx, lambda: y.copy_(x), warmup=5, rep=30)
            rec.update(ms=ms, gbps=2 * nb / ms / 1e6)
        guarded(ctx, rec, run)


def launch(ctx):
    import torch
    x = torch.zeros(16, device=ctx.dev)
    n = 1000
    for _ in range(2):
        for _ in range(100):
            x.add_(1)
        _sync(ctx.dev)
        t = time.perf_counter()
        for _ in range(n):
            x.add_(1)
        _sync(ctx.dev)
        dt = time.perf_counter() - t
    ctx.emit({"kind": "launch", "op": "add_", "n": n, "us_per_op": dt / n * 1e6, "numel": 16})
    # sync round trip
    ts = []
    for _ in range(200):
        t = time.perf_counter()
        x.add_(1)
        _sync(ctx.dev)
        ts.append(time.perf_counter() - t)
    ts.sort()
    ctx.emit({"kind": "launch", "op": "add_sync", "n": 200, "us_median": ts[100] * 1e6})


def adamw(ctx):
    import torch
    # realistic tensor sizes: (count, shape) mixes approximating llama-like params
    def mix(total):
        h = 2048 if total <= 2e8 else 4096
        shapes = []
        acc = 0
        while acc < total:
            for shp in ((h, h), (h // 4, h), (h * 3, h), (h, h * 3), (h,)):
                n = 1
                for s in shp:
                    n *= s
                if acc + n > total and shapes:
                    return shapes
                shapes.append(shp)
                acc += n
        return shapes
    totals = [1e4, 1e5] if ctx.smoke else [1e6, 1e7, 1e8, 5e8, 1e9]
    for total in totals:
        for impl in ("fused", "foreach"):
            if ctx.left() < 0:
                return
            shapes = mix(total) if total >= 1e7 or ctx.smoke else [(1000, 1000)]
            if total == 1e6 and not ctx.smoke:
                shapes = [(1000, 1000)]
            rec = {"kind": "adamw", "impl": impl, "dtype": "bf16", "n_tensors": len(shapes)}

            def run(rec, shapes=shapes, impl=impl):
                ps = [torch.nn.Parameter(torch.randn(*s, device=ctx.dev, dtype=torch.bfloat16)) for s in shapes]
                for p in ps:
                    p.grad = torch.randn_like(p)
                rec["numel"] = sum(p.numel() for p in ps)
                kw = {"fused": True} if impl == "fused" else {"foreach": True}
                opt = torch.optim.AdamW(ps, lr=1e-4, **kw)
                opt.step()
                ms = bench(ctx, opt.step, warmup=5, rep=30)
                # per element: read p, g, m, v; write p, m, v (bf16 states with bf16 params)
                rec.update(ms=ms, bytes=14 * rec["numel"], gbps=14 * rec["numel"] / ms / 1e6)
            guarded(ctx, rec, run)


SECTIONS = [  # name, fraction of the budget
    ("peak_gemm", 0.20), ("peak_mem", 0.04), ("launch", 0.01), ("layer_gemms", 0.18),
    ("odd_gemms", 0.10), ("model_gemms", 0.08), ("bmm", 0.05), ("attn", 0.22), ("memops", 0.16), ("adamw", 0.10),
]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=240)
    ap.add_argument("--cpu-smoke", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated section names")
    a = ap.parse_args(argv)
    import torch
    dev = "cpu" if a.cpu_smoke or not torch.cuda.is_available() else "cuda"
    ctx = Ctx(a.out, a.budget_s, a.cpu_smoke or dev == "cpu", dev)
    device_record(ctx)
    only = set(filter(None, a.only.split(",")))
    fns = globals()
    carry = 0.0
    for name, frac in SECTIONS:
        if only and name not in only:
            continue
        t = time.time()
        ctx.section(frac * a.budget_s + carry)
        n0 = ctx.n
        fns[name](ctx)
        used = time.time() - t
        carry = max(0.0, frac * a.budget_s + carry - used)
        print(f"[microbench] {name}: {ctx.n - n0} records in {used:.1f}s", flush=True)
    print(f"[microbench] total {ctx.n} records, {time.time() - ctx.t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
