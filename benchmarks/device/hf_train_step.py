"""Whole training steps of Hugging Face LlamaForCausalLM (random init, no download).

python benchmarks/device/hf_train_step.py --out train_steps.jsonl --budget-s 240 \
    [--kernels kernels_llama32_1b.json] [--big] [--cpu-smoke]

Per case: pure bf16 params, torch.optim.AdamW(lr=1e-4, fused=True), loss from
model(input_ids=ids, labels=ids).loss, backward, step, zero_grad(set_to_none=True);
3 warm-up steps, then >= 5 timed steps. One JSON line per case (OOM recorded).
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import time

MODELS = {
    "Llama-3.2-1B": dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32,
                         num_key_value_heads=8, intermediate_size=8192, vocab_size=128256,
                         tie_word_embeddings=True, rope_theta=500000.0, max_position_embeddings=131072,
                         rms_norm_eps=1e-5, head_dim=64),
    "TinyLlama-1.1B": dict(hidden_size=2048, num_hidden_layers=22, num_attention_heads=32,
                           num_key_value_heads=4, intermediate_size=5632, vocab_size=32000,
                           tie_word_embeddings=False, rope_theta=10000.0, max_position_embeddings=2048,
                           rms_norm_eps=1e-5),
    "Llama-3.2-3B": dict(hidden_size=3072, num_hidden_layers=28, num_attention_heads=24,
                         num_key_value_heads=8, intermediate_size=8192, vocab_size=128256,
                         tie_word_embeddings=True, rope_theta=500000.0, max_position_embeddings=131072,
                         rms_norm_eps=1e-5, head_dim=128),
    "Llama-2-7B": dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
                       num_key_value_heads=32, intermediate_size=11008, vocab_size=32000,
                       tie_word_embeddings=False, rope_theta=10000.0, max_position_embeddings=4096,
                       rms_norm_eps=1e-5),
    "Llama-3-8B": dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
                       num_key_value_heads=8, intermediate_size=14336, vocab_size=128256,
                       tie_word_embeddings=False, rope_theta=500000.0, max_position_embeddings=8192,
                       rms_norm_eps=1e-5),
}

# (model, ckpt, batch, seq) in priority order
PLAN = [
    ("Llama-3.2-1B", False, 4, 2048),
    ("Llama-3.2-1B", True, 4, 2048),
    ("Llama-3.2-1B", False, 1, 2048),
    ("Llama-3.2-1B", False, 8, 1024),
    ("Llama-3.2-1B", False, 2, 4096),
    ("Llama-3.2-1B", False, 1, 8192),
    ("TinyLlama-1.1B", False, 4, 2048),
    ("TinyLlama-1.1B", True, 4, 2048),
    ("TinyLlama-1.1B", False, 1, 2048),
    ("Llama-3.2-3B", False, 1, 2048),
    ("Llama-3.2-3B", False, 4, 2048),
    ("Llama-3.2-3B", True, 4, 2048),
    ("Llama-2-7B", False, 1, 2048),
    ("Llama-2-7B", True, 4, 2048),
    ("Llama-3-8B", False, 1, 2048),
    ("Llama-3-8B", True, 4, 2048),
    ("Llama-3.2-1B", True, 1, 8192),
    ("TinyLlama-1.1B", False, 8, 1024),
    ("Llama-3.2-3B", True, 2, 4096),
    ("Llama-2-7B", True, 1, 8192),
    ("Llama-3-8B", True, 2, 4096),
]
PLAN_BIG = [  # extra cases for the 141 GB H200
    ("Llama-3.2-1B", False, 8, 2048),
    ("Llama-3.2-3B", False, 8, 2048),
    ("Llama-2-7B", False, 4, 2048),
    ("Llama-3-8B", False, 4, 2048),
    ("Llama-3-8B", True, 8, 2048),
]
SMOKE_CFG = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=128, vocab_size=1000, tie_word_embeddings=True)


def build(cfg_kw, dev):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(**cfg_kw)
    cfg.use_cache = False
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(dev):
            model = LlamaForCausalLM(cfg)
    finally:
        torch.set_default_dtype(old)
    model.to(dtype=torch.bfloat16)
    model.config.use_cache = False
    model.train()
    return model


def run_case(name, cfg_kw, ckpt, b, s, dev, n_steps, kernels_path=None, split=False, compile_=False):
    import torch
    rec = {"kind": "train_step", "model": name, "batch": b, "seq": s, "tokens": b * s,
           "grad_ckpt": ckpt, "dtype": "bf16", "optimizer": "AdamW(fused=True, lr=1e-4)"}
    model = opt = None
    try:
        model = build(cfg_kw, dev)
        rec["attn_implementation"] = getattr(model.config, "_attn_implementation", None)
        rec["n_params"] = sum(p.numel() for p in model.parameters())
        if ckpt:
            kw = {"use_reentrant": False}
            try:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kw)
                rec["ckpt_kwargs"] = kw
            except TypeError:
                model.gradient_checkpointing_enable()
                rec["ckpt_kwargs"] = "default"
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=(dev == "cuda"))
        if compile_:   # Inductor fuses norms, rotary, SwiGLU: a stand-in for a fused (TE-like) stack
            model = torch.compile(model)
            rec["compiled"] = True
        ids = torch.randint(0, cfg_kw["vocab_size"], (b, s), device=dev)
        sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

        def step():
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            return loss

        for _ in range(3):
            loss = step()
        sync()
        rec["loss_after_warmup"] = float(loss.detach())
        if dev == "cuda":
            torch.cuda.reset_peak_memory_stats()
            rec["mem_alloc_step_start"] = torch.cuda.memory_allocated()
        ts = []
        for _ in range(n_steps):
            t = time.perf_counter()
            step()
            sync()
            ts.append(time.perf_counter() - t)
        rec["step_s"] = ts
        rec["step_s_median"] = statistics.median(ts)
        rec["step_s_min"] = min(ts)
        rec["tokens_per_s"] = b * s / rec["step_s_median"]
        if dev == "cuda":
            rec["max_mem_alloc"] = torch.cuda.max_memory_allocated()
            rec["max_mem_reserved"] = torch.cuda.max_memory_reserved()
        if split and dev == "cuda":
            ev = [torch.cuda.Event(enable_timing=True) for _ in range(4)]
            res = []
            for _ in range(3):
                ev[0].record()
                loss = model(input_ids=ids, labels=ids).loss
                ev[1].record()
                loss.backward()
                ev[2].record()
                opt.step()
                opt.zero_grad(set_to_none=True)
                ev[3].record()
                sync()
                res.append([ev[i].elapsed_time(ev[i + 1]) for i in range(3)])
            res.sort(key=lambda r: sum(r))
            rec["split_ms"] = {"fwd": res[1][0], "bwd": res[1][1], "opt": res[1][2]}
        if kernels_path:
            from torch.profiler import ProfilerActivity, profile
            acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev == "cuda" else [])
            with profile(activities=acts) as prof:
                step()
                sync()
            rows = []
            annotations = []
            for e in prof.key_averages():
                dt = getattr(e, "device_time_total", None)
                if dt is None:
                    dt = getattr(e, "cuda_time_total", 0)
                if getattr(e, "device_type", None) is not None and "CUDA" in str(e.device_type) and dt > 0:
                    if e.key.startswith(("Optimizer.", "ProfilerStep")):  # annotations on the GPU timeline, not kernels
                        annotations.append({"name": e.key, "count": e.count, "total_us": dt})
                        continue
                    rows.append({"name": e.key, "count": e.count, "total_us": dt})
            rows.sort(key=lambda r: -r["total_us"])
            top_ops = []
            for e in prof.key_averages():
                dt = getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0) or 0
                if dt > 0 and not ("CUDA" in str(getattr(e, "device_type", ""))):
                    top_ops.append({"name": e.key, "count": e.count, "device_total_us": dt,
                                    "cpu_total_us": e.cpu_time_total})
            top_ops.sort(key=lambda r: -r["device_total_us"])
            with open(kernels_path, "w") as f:
                json.dump({"case": {k: rec[k] for k in ("model", "batch", "seq", "grad_ckpt")},
                           "step_s_median": rec["step_s_median"], "split_ms": rec.get("split_ms"),
                           "kernel_total_us": sum(r["total_us"] for r in rows),
                           "n_kernel_names": len(rows),
                           "kernels_top80": rows[:80], "gpu_annotations": annotations,
                           "ops_top80": top_ops[:80]}, f, indent=1)
            rec["kernels_file"] = kernels_path.split("/")[-1]
    except torch.OutOfMemoryError:
        rec["oom"] = True
    except RuntimeError as e:
        if "out of memory" in str(e).lower():
            rec["oom"] = True
        else:
            rec["error"] = str(e)[:400]
    except Exception as e:  # noqa: BLE001
        rec["error"] = f"{type(e).__name__}: {str(e)[:400]}"
    if dev == "cuda" and "max_mem_alloc" not in rec:
        rec["max_mem_alloc_before_fail"] = torch.cuda.max_memory_allocated()
    rec["config"] = cfg_kw
    return rec


def cleanup(dev):
    import torch
    gc.collect()
    if dev == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=240)
    ap.add_argument("--kernels", default=None, help="write profiler kernel summary of Llama-3.2-1B b4 s2048")
    ap.add_argument("--big", action="store_true", help="add the big-memory cases (H200)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--first-only", action="store_true", help="only the first case (kernel summary + split)")
    ap.add_argument("--cpu-smoke", action="store_true")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (fused kernels)")
    ap.add_argument("--cases", default=None, help="override the plan: Model:batch:seq[:ckpt],...")
    a = ap.parse_args()
    import torch
    import transformers
    dev = "cpu" if a.cpu_smoke or not torch.cuda.is_available() else "cuda"
    t0 = time.time()
    devname = torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"
    plan = list(PLAN)
    if a.big:
        plan = plan[:12] + PLAN_BIG + plan[12:]
    if a.cpu_smoke:
        plan = [("smoke", False, 2, 32), ("smoke", True, 2, 32)]
    if a.first_only:
        plan = plan[:1]
    if a.cases:
        plan = [(c.split(":")[0], len(c.split(":")) > 3 and c.split(":")[3] == "ckpt", int(c.split(":")[1]),
                 int(c.split(":")[2])) for c in a.cases.split(",")]
    # rough wall seconds per case per 8192 tokens (incl. build), refined as cases finish
    est = {"Llama-3.2-1B": 12, "TinyLlama-1.1B": 12, "Llama-3.2-3B": 25, "Llama-2-7B": 45,
           "Llama-3-8B": 55, "smoke": 1}
    with open(a.out, "a") as f:
        f.write(json.dumps({"kind": "env", "device": devname, "torch": torch.__version__,
                            "transformers": transformers.__version__, "cuda": torch.version.cuda}) + "\n")
        for i, (name, ckpt, b, s) in enumerate(plan):
            left = a.budget_s - (time.time() - t0)
            need = est.get(name, 30) * (1.3 if ckpt else 1.0) * max(1.0, b * s / 8192)
            if left < max(need, 8):
                f.write(json.dumps({"kind": "train_step", "model": name, "batch": b, "seq": s,
                                    "grad_ckpt": ckpt, "skipped": "budget", "device": devname}) + "\n")
                f.flush()
                continue
            cfg = SMOKE_CFG if name == "smoke" else MODELS[name]
            first = i == 0
            tc = time.time()
            rec = run_case(name, cfg, ckpt, b, s, dev, a.steps,
                           kernels_path=a.kernels if first else None, split=first and not a.compile,
                           compile_=a.compile)
            cleanup(dev)
            rec["device"] = devname
            rec["case_wall_s"] = time.time() - tc
            if "step_s_median" in rec:
                est[name] = max(est.get(name, 0), rec["case_wall_s"] / max(1.0, b * s / 8192) / (1.3 if ckpt else 1.0))
            f.write(json.dumps(rec) + "\n")
            f.flush()
            print(f"[train] {name} ckpt={ckpt} b={b} s={s}: "
                  f"{rec.get('step_s_median', rec.get('oom') and 'OOM' or rec.get('error', '?'))} "
                  f"peak={rec.get('max_mem_alloc', 0) / 2**30:.1f}GiB wall={rec['case_wall_s']:.1f}s", flush=True)


if __name__ == "__main__":
    main()
