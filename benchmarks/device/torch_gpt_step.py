"""Whole training steps of catalog models written in plain PyTorch, eager and torch.compile'd per block.

Usage: python benchmarks/device/torch_gpt_step.py --out FILE.jsonl [--cases NAME:LAYERS:MB:SEQ,...]
A Megatron-like stack without Megatron: one fused QKV linear, SDPA (cuDNN/flash), LayerNorm or RMSNorm,
GELU or SwiGLU, learned or rotary positions, the catalog's bias and tying flags; bf16 parameters and
torch's fused AdamW (bf16 states: roofsim's `pure-bf16` precision), no recompute, one micro-batch per step.
The compiled variant fuses the elementwise work the way Megatron/TE kernels do (roofsim's `fused` profile).
Records median step time over timed steps and peak allocated memory. Reads the model from roofsim's own
catalog (workloads/), so the measured model is the simulated one (n_layers may be cut to fit one GPU).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

DEFAULT = "megatron-gpt-1.7b:24:8:2048,nemo-gpt3-5b:24:2:2048,llama2-7b:16:2:4096,gpt3-175b:2:1:2048"


def build(torch, m, seq):
    nn, F = torch.nn, torch.nn.functional
    hd = m.head_dim or m.hidden // m.n_heads
    kv = m.n_kv_heads or m.n_heads

    def norm():
        if m.norm == "layernorm":
            return nn.LayerNorm(m.hidden, bias=m.norm_bias)
        return nn.RMSNorm(m.hidden, eps=1e-5)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = norm(), norm()
            self.qkv = nn.Linear(m.hidden, (m.n_heads + 2 * kv) * hd, bias=m.qkv_bias)
            self.proj = nn.Linear(m.n_heads * hd, m.hidden, bias=m.out_bias)
            gated = m.activation == "swiglu"
            self.fc1 = nn.Linear(m.hidden, m.ffn_hidden * (2 if gated else 1), bias=m.mlp_bias)
            self.fc2 = nn.Linear(m.ffn_hidden, m.hidden, bias=m.mlp_bias)
            self.gated = gated

        def forward(self, x, cos, sin):
            b, s, _ = x.shape
            q, k, v = self.qkv(self.n1(x)).split([m.n_heads * hd, kv * hd, kv * hd], dim=-1)
            q = q.view(b, s, m.n_heads, hd).transpose(1, 2)
            k = k.view(b, s, kv, hd).transpose(1, 2)
            v = v.view(b, s, kv, hd).transpose(1, 2)
            if cos is not None:
                def rope(t):
                    t1, t2 = t.chunk(2, dim=-1)
                    return t * cos + torch.cat((-t2, t1), dim=-1) * sin
                q, k = rope(q), rope(k)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=kv != m.n_heads)
            x = x + self.proj(a.transpose(1, 2).reshape(b, s, m.n_heads * hd))
            h = self.fc1(self.n2(x))
            if self.gated:
                g, u = h.chunk(2, dim=-1)
                h = F.silu(g) * u
            else:
                h = F.gelu(h, approximate="tanh")
            return x + self.fc2(h)

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(m.vocab, m.hidden)
            self.pos = nn.Embedding(seq, m.hidden) if m.position == "learned" else None
            self.blocks = nn.ModuleList(Block() for _ in range(m.n_layers))
            self.norm = norm()
            self.head = None if m.tied_embeddings else nn.Linear(m.hidden, m.vocab, bias=False)
            if m.position == "rope":
                inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
                f = torch.outer(torch.arange(seq).float(), inv)
                f = torch.cat((f, f), dim=-1)
                self.register_buffer("cos", f.cos(), persistent=False)
                self.register_buffer("sin", f.sin(), persistent=False)
            else:
                self.cos = self.sin = None

        def forward(self, ids, labels):
            x = self.emb(ids)
            if self.pos is not None:
                x = x + self.pos.weight[: ids.shape[1]]
            cos = None if self.cos is None else self.cos.to(x.dtype)
            sin = None if self.sin is None else self.sin.to(x.dtype)
            for blk in self.blocks:
                x = blk(x, cos, sin)
            w = self.emb.weight if self.head is None else self.head.weight
            logits = F.linear(self.norm(x), w)
            return F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), labels.view(-1))

    return GPT()


def run_case(torch, name, layers, mb, seq, compiled, steps, sdpa="default"):
    from workloads.catalog import get_model
    m = dataclasses.replace(get_model(name), n_layers=layers)
    torch.manual_seed(0)
    model = build(torch, m, seq).to(device="cuda", dtype=torch.bfloat16)
    if compiled:
        for blk in model.blocks:
            blk.compile()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    ids = torch.randint(0, m.vocab, (mb, seq), device="cuda")
    labels = torch.randint(0, m.vocab, (mb, seq), device="cuda")
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backend = {"flash2": [SDPBackend.FLASH_ATTENTION], "cudnn": [SDPBackend.CUDNN_ATTENTION]}.get(sdpa)
    ctx = sdpa_kernel(backend) if backend else __import__("contextlib").nullcontext()
    with ctx:
        times = _steps(torch, model, opt, ids, labels, steps)
    t_compile = times.pop(0) / 1e3 if times else 0.0
    params = sum(p.numel() for p in model.parameters())
    rec = {"kind": "torch_step", "model": name, "n_layers": layers, "micro_batch": mb, "seq": seq,
           "compiled": compiled, "sdpa": sdpa, "params": params, "step_ms": statistics.median(times),
           "step_ms_all": times, "peak_alloc_gib": torch.cuda.max_memory_allocated() / 2**30,
           "first_step_s": t_compile}
    del model, opt
    torch.cuda.empty_cache()
    return rec


def _steps(torch, model, opt, ids, labels, steps):
    """Wall time of the first step (compilation included), then the timed steps' GPU times in ms."""
    t0 = time.time()
    first, times = 0.0, []
    for i in range(3 + steps):
        if i == 3:
            torch.cuda.reset_peak_memory_stats()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        loss = model(ids, labels)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        e.record()
        torch.cuda.synchronize()
        if i == 0:
            first = (time.time() - t0) * 1e3
        if i >= 3:
            times.append(s.elapsed_time(e))
    return [first] + times


def main() -> int:
    import torch
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", default=DEFAULT)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--sdpa", default="default", help="comma list of SDPA backends: default, flash2, cudnn")
    ap.add_argument("--modes", default="eager,compiled")
    args = ap.parse_args()
    with open(args.out, "a") as fh:
        fh.write(json.dumps({"kind": "device", "device": torch.cuda.get_device_name(), "torch": torch.__version__,
                             "cudnn": torch.backends.cudnn.version()}) + "\n")
        for case in args.cases.split(","):
            name, layers, mb, seq = case.split(":")
            for compiled, sdpa in [(c == "compiled", b) for c in args.modes.split(",") for b in args.sdpa.split(",")]:
                try:
                    rec = run_case(torch, name, int(layers), int(mb), int(seq), compiled, args.steps, sdpa)
                except Exception as e:  # noqa: BLE001 - record and go on
                    rec = {"kind": "torch_step", "model": name, "compiled": compiled, "sdpa": sdpa,
                           "error": f"{type(e).__name__}: {str(e)[:300]}"}
                    torch.cuda.empty_cache()
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                print(json.dumps({k: v for k, v in rec.items() if k != "step_ms_all"}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
