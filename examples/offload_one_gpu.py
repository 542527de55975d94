"""Offload and zeroth-order training on one GPU against the papers: ZeRO-Offload, ZeRO-Infinity, MeZO, ZO2.

Run: python examples/offload_one_gpu.py   (numbers and their sources: docs/offload.md)
"""
from __future__ import annotations

from dataclasses import replace

from hardware.catalog import get_device
from hardware.perf import profile_for
from sim.memory import MemoryInputs, peak_memory
from sim.memory_dist import StateBytes
from sim.offload import PCIE_EFFICIENCY, offload_cost
from sim.plan import OffloadPolicy
from sim.precision import POLICIES
from sim.single import simulate, usable_memory
from sim.zeroth_order import forward_workspace, mezo_memory, mezo_step, perturb_time, zo2_memory, zo2_step
from sim.timing import op_time
from workloads.catalog import get_model
from workloads.graph import build_step

GiB = 2**30
ZERO_STATES = StateBytes(param=2, grad=2, optimizer=12)   # ZeRO papers: fp16 p, g; fp32 master, m, v


def gpt(name: str, layers: int, hidden: int, heads: int):
    """Megatron GPT-2 of the ZeRO-Offload experiments (vocab 50257, seq 1024, tied embeddings)."""
    return replace(get_model("gpt2"), name=name, n_layers=layers, hidden=hidden, n_heads=heads,
                   ffn_hidden=4 * hidden, n_kv_heads=heads, head_dim=hidden // heads, aliases=(),
                   source="ZeRO-Offload tutorial / paper config")


def opt(name: str, layers: int, hidden: int, heads: int):
    """An OPT size (Zhang et al. 2022 Table 1) built from the catalog's OPT-13B."""
    return replace(get_model("opt-13b"), name=name, n_layers=layers, hidden=hidden, n_heads=heads,
                   ffn_hidden=4 * hidden, n_kv_heads=heads, head_dim=hidden // heads, aliases=())


def phase_times(result) -> tuple[float, float]:
    """(forward, backward) device seconds of a sim.single result (optimizer excluded)."""
    f = sum(o.time_s for o in result.ops if o.phase == "fwd")
    b = sum(o.time_s for o in result.ops if o.phase == "bwd")
    return f, b


def _offload_peak(m, dev, batch: int):
    """GPU peak with optimizer and grads on the host: fp16 weights, checkpointed activations, one grad bucket."""
    g = build_step(m, batch, 1024, kernels="fused", recompute="full", dtype="fp16")
    return peak_memory(MemoryInputs(g.params, g.saved_bytes, g.head.workspace_bytes, other=5e8 * 2,
                                    backward_end=g.layers[0].workspace_bytes + g.layers[0].saved_bytes,
                                    offload_optimizer=True, offload_grads=True),
                       POLICIES["mixed"], usable_memory(dev))


def zero_offload() -> None:
    """GPT-2 10B on one 32 GB V100 (DGX-2): tutorial config 50 x 4096, batch 10, seq 1024, checkpointing."""
    dev = get_device("v100-sxm2-32gb")
    print("== ZeRO-Offload: one V100-32GB of a DGX-2, batch 10, seq 1024, full activation checkpointing ==")
    for name, layers, hidden, heads in (("gpt2-1.4b", 28, 2048, 16), ("gpt2-10b", 50, 4096, 32),
                                        ("gpt2-13b", 64, 4096, 32), ("gpt2-15b", 74, 4096, 32)):
        m = gpt(name, layers, hidden, heads)
        r = simulate(m, dev, batch=10, seq_len=1024, recompute="full", dtype="fp16", kernels="fused")
        g = build_step(m, 10, 1024, kernels="fused", recompute="full", dtype="fp16")
        pol = POLICIES["mixed"]
        cap = usable_memory(dev)
        base = peak_memory(MemoryInputs(g.params, g.saved_bytes, g.head.workspace_bytes,
                                        backward_end=g.layers[0].workspace_bytes + g.layers[0].saved_bytes), pol, cap)
        off = _offload_peak(m, dev, 10)   # + one fp16 gradient bucket (reduce_bucket_size 5e8) for the copy
        fwd, bwd = phase_times(r)
        flops = sum(o.flops for o in r.ops if o.phase != "opt")
        line = (f"{name:10s} {g.params / 1e9:5.1f}B params: GPU needs {base.peak / GiB:6.1f} GiB without offload "
                f"({'fits' if base.fits else 'does not fit'}), {off.peak / GiB:5.1f} GiB with CPU offload "
                f"({'fits' if off.fits else 'does not fit'}) of {cap / GiB:.1f}")
        print(line)
        if not off.fits:
            continue
        for dpu in (False, True):
            oc = offload_cost(dev, OffloadPolicy(optimizer="cpu", grads="cpu", cpu_adam=True), g.params, ZERO_STATES,
                              fwd, bwd, layers=layers, delayed_update=dpu)
            step = fwd + bwd + oc.exposed_s
            print(f"    {'DPU' if dpu else 'no DPU'}: step {step:5.2f} s = fwd+bwd {fwd + bwd:5.2f} s + exposed "
                  f"{oc.exposed_s:4.2f} s (CPU Adam {oc.cpu_step_s:4.2f} s, grads D2H {oc.grad_d2h_s:4.2f} s, "
                  f"upload {oc.param_upload_s:4.2f} s); {flops / step / 1e12:4.1f} TFLOP/s incl. recompute, "
                  f"{r.model_flops / step / 1e12:4.1f} model TFLOP/s; host {oc.host_bytes / GiB:.0f} GiB")
    m = gpt("gpt2-13b", 64, 4096, 32)
    fits = [b for b in range(1, 11) if _offload_peak(m, dev, b).fits]
    print(f"    gpt2-13b with CPU offload fits up to batch {max(fits) if fits else 0} (of 10)")
    m = gpt("gpt2-1.4b", 28, 2048, 16)
    r = simulate(m, dev, batch=10, seq_len=1024, recompute="full", dtype="fp16", kernels="fused")
    print(f"    PyTorch-style 1.4B on the GPU alone: {sum(o.flops for o in r.ops) / r.step_time_s / 1e12:.1f} TFLOP/s "
          f"(paper: 30)")


def zero_infinity() -> None:
    """1T-parameter model on one DGX-2 (16 x V100-32GB): ZeRO-3 + params and optimizer on NVMe."""
    dev = get_device("v100-sxm2-32gb")
    m = get_model("megatron-gpt-1t")
    g = build_step(m, 1, 1024, kernels="fused", recompute="full", dtype="fp16")
    shard = g.params / 16
    print(f"\n== ZeRO-Infinity: {m.name} ({g.params / 1e12:.2f}T params) on one DGX-2, ZeRO-3 over 16 GPUs ==")
    print(f"    all model states: {g.params * 16 / 1e12:.1f} TB vs 16 x {dev.hbm_bytes / GiB:.0f} GiB HBM "
          f"+ {dev.host_memory_bytes * 16 / 1e12:.1f} TB DRAM: does not fit without NVMe")
    prof = profile_for(dev)
    fwd = sum(op_time(op, dev, prof, "fp16").time_s * n for op, n in g.iter_ops() if op.phase == "fwd" and op.kind != "comm")
    bwd = sum(op_time(op, dev, prof, "fp16").time_s * n for op, n in g.iter_ops() if op.phase == "bwd" and op.kind != "comm")
    pol = OffloadPolicy(optimizer="nvme", params="nvme", grads="nvme")
    for mb in (1, 64):
        oc = offload_cost(dev, pol, shard, ZERO_STATES, fwd / 16, bwd / 16, microbatches=mb, layers=m.n_layers,
                          active_gpus_per_host=16, nvme_capacity_bytes=30e12 / 16)
        if mb == 1:
            print(f"    per GPU: {shard / 1e9:.1f}B params, host {oc.host_bytes / GiB:.0f} GiB, NVMe "
                  f"{oc.nvme_bytes / 1e12:.2f} TB of 1.88 TB ({'fits' if oc.nvme_fits else 'does not fit'})")
        comp = mb * (fwd + bwd) / 16
        print(f"    {mb:3d} micro-batches of 1 x 1024 per GPU: compute {comp:7.1f} s, exposed offload {oc.exposed_s:6.1f} s "
              f"(NVMe {oc.nvme_s:.0f} s, CPU Adam {oc.cpu_step_s:.0f} s): {comp / (comp + oc.exposed_s):4.0%} busy")
    print("    NB: ZeRO-3 all-gathers over NVSwitch not counted")


def zo2_and_mezo() -> None:
    """ZO2 GPU memory vs its published table (b=1, s=2048, fp16); MeZO vs backprop on one A100-80GB."""
    dev = get_device("a100-sxm-80gb")
    prof = profile_for(dev)
    link = dev.host_link_bandwidth * PCIE_EFFICIENCY
    print("\n== ZO2: OPT models, batch 1, seq 2048, fp16; GPU memory vs the ZO2 README table (nvml 'used') ==")
    sizes = (("opt-1.3b", 24, 2048, 32, 3.75), ("opt-2.7b", 32, 2560, 32, 4.14), ("opt-6.7b", 32, 4096, 32, 4.99),
             ("opt-13b", 40, 5120, 40, 6.18), ("opt-30b", 48, 7168, 56, 8.86), ("opt-66b", 64, 9216, 72, 12.07),
             ("opt-175b", 96, 12288, 96, 18.04))
    for name, layers, hidden, heads, published in sizes:
        m = opt(name, layers, hidden, heads)
        g = build_step(m, 1, 2048, kernels="eager", dtype="fp16")
        blk = g.layers[0].params
        resident = g.embedding.params + g.head.params
        ws = forward_workspace(g, forwards=2)
        mems = [zo2_memory(resident, blk, 2, ws, host_params=blk * layers, buffers=k).total for k in (2, 3)]
        fwd_blk = sum(op_time(op, dev, prof, "fp16").time_s * op.count for op in g.layers[0].fwd)
        res_fwd = sum(op_time(op, dev, prof, "fp16").time_s * op.count for s in (g.embedding, g.head) for op in s.fwd)
        pert = perturb_time(dev, prof, blk, 2, tensors=16)
        zs = zo2_step([fwd_blk] * layers, [blk * 2] * layers, link, link, block_perturb_s=[pert] * layers,
                      resident_fwd_s=res_fwd, resident_perturb_s=perturb_time(dev, prof, resident, 2))
        mz = mezo_step(fwd_blk * layers + res_fwd, perturb_time(dev, prof, g.params, 2, tensors=16 * layers))
        mm = mezo_memory(g.params, 2, forward_workspace(g))
        print(f"{name:9s} ZO2 GPU {mems[0] / 1e9:5.2f} GB (2 buffers) / {mems[1] / 1e9:5.2f} GB (3 buffers), "
              f"published {published:5.2f} GB; MeZO would need {mm.total / 1e9:6.1f} GB "
              f"({'fits' if mm.total <= usable_memory(dev) else 'does not fit'} in 80 GB); step on A100: ZO2 "
              f"{zs.step_s:6.2f} s vs MeZO {mz.step_s:6.2f} s ({zs.step_s / mz.step_s:4.2f}x), "
              f"{2048 / zs.step_s:6.0f} tok/s")

    print("\n== MeZO vs backprop on one A100-80GB (MultiRC-like: batch 1, ~400 tokens) ==")
    for name, layers, hidden, heads in (("opt-2.7b", 32, 2560, 32), ("opt-6.7b", 32, 4096, 32),
                                        ("opt-13b", 40, 5120, 40), ("opt-30b", 48, 7168, 56),
                                        ("opt-66b", 64, 9216, 72)):
        m = opt(name, layers, hidden, heads)
        g = build_step(m, 1, 400, kernels="eager", dtype="fp16")
        mm = mezo_memory(g.params, 2, forward_workspace(g))
        bp = simulate(m, dev, batch=1, seq_len=400, kernels="eager", dtype="fp16").memory
        print(f"{name:9s} MeZO {mm.total / GiB:6.1f} GiB ({'fits' if mm.total <= bp.capacity else 'no'}), "
              f"backprop+Adam {bp.peak / GiB:6.1f} GiB ({'fits' if bp.fits else 'no'}) of {bp.capacity / GiB:.1f} GiB")


if __name__ == "__main__":
    zero_offload()
    zero_infinity()
    zo2_and_mezo()
