"""Data-parallel training steps of Hugging Face Llama models (DDP over NCCL), to check the cluster simulator.

Usage: torchrun --nproc_per_node=N benchmarks/device/ddp_train_step.py --out FILE.jsonl [--budget-s 200]
Same step as hf_train_step.py (pure bf16, fused AdamW, eager PyTorch with SDPA), wrapped in
DistributedDataParallel (default 25 MiB gradient buckets, all-reduce overlapped with backward).
Rank 0 writes one record per case: median step time and peak memory of rank 0.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hf_train_step import MODELS, build, cleanup  # noqa: E402

CASES = [("Llama-3.2-1B", False, 4, 2048), ("Llama-3.2-1B", True, 4, 2048), ("TinyLlama-1.1B", False, 4, 2048),
         ("Llama-3.2-3B", False, 2, 2048), ("Llama-3.2-3B", True, 4, 2048), ("Llama-2-7B", True, 2, 2048)]


def main() -> int:
    import torch
    import torch.distributed as dist
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=200)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--cpu-smoke", action="store_true")
    a = ap.parse_args()
    smoke = a.cpu_smoke or not torch.cuda.is_available()
    dist.init_process_group("gloo" if smoke else "nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    dev = "cpu" if smoke else "cuda"
    if not smoke:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    t0 = time.time()
    cases = [("smoke", False, 2, 32)] if smoke else CASES
    out = open(a.out, "a") if rank == 0 else None
    for name, ckpt, b, s in cases:
        if time.time() - t0 > a.budget_s:
            break
        cfg = {"vocab_size": 256, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
               "num_attention_heads": 4, "num_key_value_heads": 2} if name == "smoke" else MODELS[name]
        model = build(cfg, dev)
        if ckpt:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=None if smoke else [torch.cuda.current_device()])
        opt = torch.optim.AdamW(ddp.parameters(), lr=1e-4, fused=not smoke)
        ids = torch.randint(0, cfg["vocab_size"], (b, s), device=dev)
        sync = (lambda: None) if smoke else torch.cuda.synchronize

        def step():
            loss = ddp(input_ids=ids, labels=ids).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        for _ in range(3):
            step()
        sync()
        if not smoke:
            torch.cuda.reset_peak_memory_stats()
        ts = []
        for _ in range(a.steps):
            dist.barrier()
            t = time.perf_counter()
            step()
            sync()
            ts.append(time.perf_counter() - t)
        rec = {"kind": "ddp_train_step", "model": name, "world": world, "batch_per_gpu": b, "seq": s,
               "grad_ckpt": ckpt, "step_s": ts, "step_s_median": statistics.median(ts),
               "max_mem_alloc": None if smoke else torch.cuda.max_memory_allocated(),
               "device": "cpu" if smoke else torch.cuda.get_device_name(), "config": cfg,
               "torch": torch.__version__, "nccl": None if smoke else ".".join(map(str, torch.cuda.nccl.version()))}
        if out:
            out.write(json.dumps(rec) + "\n")
            out.flush()
            print(name, ckpt, b, s, round(rec["step_s_median"] * 1e3, 1), "ms", flush=True)
        del ddp, model, opt
        cleanup(dev)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
