"""Held-out check on NeMo 26.x (Megatron-Bridge) pre-training runs: H100 dense and MoE, and one GB200 domain.

Usage: python benchmarks/nemo26_held_out.py
Source: NVIDIA-NeMo/Megatron-Bridge docs/performance-summary-archive.md (commit 067f987, 2026-08), containers
26.06 and 26.04.01, pre-training, plans as published there (MoE runs force-balance tokens across experts, which
is what the simulator assumes). Added after every model choice in this repository; nothing fitted to them.
Assumed where the page is silent: FP8 GEMMs (MXFP8 on GB200 read as FP8), distributed optimizer, sequence
parallel and TP comm overlap when TP > 1, no activation recompute unless the plan does not fit without it
(then Megatron-Core's selective modules as NVIDIA's MoE recipes use them), expert TP 1 (MoE parallel folding, as
Megatron-Bridge's Qwen3 recipes set it), today's attention kernels.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.distributed import ClusterOptions, simulate_cluster  # noqa: E402
from sim.plan import ParallelPlan  # noqa: E402

# (container, system, model, GPUs, GBS, MBS, seq, tp, pp, cp, vp, ep, published tokens/s/GPU)
ROWS = [
    ("26.06", "dgx-h100-superpod", "llama3-405b", 1024, 1536, 1, 8192, 8, 8, 2, 8, 1, 326),
    ("26.04.01", "dgx-h100-superpod", "llama3-70b", 64, 256, 1, 8192, 4, 8, 1, 5, 1, 1664),
    ("26.06", "dgx-h100-superpod", "qwen3-30b-a3b", 16, 1024, 1, 4096, 1, 1, 1, 1, 16, 8826),
    ("26.04.01", "dgx-h100-superpod", "qwen3-235b-a22b", 256, 8192, 1, 4096, 2, 8, 1, 4, 32, 1712),
    ("26.06", "gb200", "qwen3-30b-a3b", 8, 512, 4, 4096, 1, 1, 1, 1, 8, 40706),
    ("26.06", "gb200x4", "llama3-405b", 256, 1536, 1, 8192, 4, 16, 1, 4, 1, 843),
    ("26.06", "gb200x4", "qwen3-235b-a22b", 256, 8192, 1, 4096, 1, 8, 1, 3, 32, 7376),
    ("26.06", "gb200x4", "deepseek-v3", 256, 4096, 1, 4096, 1, 4, 1, 4, 64, 4969),
]
# 256 GB200 as NVIDIA runs them: taken here as four NVLink domains of 64 (NVL72 racks), one 400G NIC per GPU.
# DeepSeek-V3's pipeline layout on this page is not published: the even split with its MTP module on the last stage.
FALLBACK_RECOMPUTE = "moe_act,layernorm"   # tried only when a plan does not fit without recompute


def gb200_racks():
    """Four 64-GPU NVLink domains of GB200 with the NVL72 rack's links (topologies catalog gb200-nvl72)."""
    from topologies.catalog import get_cluster
    from topologies.cluster import Cluster
    rack = get_cluster("gb200-nvl72", 72)
    return Cluster(name="4x64 gb200", device="gb200", arch="blackwell", nodes=4, gpus_per_node=64,
                   scale_up=rack.scale_up, scale_out=rack.scale_out, nics_per_node=64)


def simulate(cl, model, n, gbs, mbs, seq, tp, pp, cp, vp, ep, recompute, ep_overlap=False):
    from sim.commands.distributed_args import one_node
    dp = n // (tp * pp * cp)
    plan = ParallelPlan(tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, etp=1 if ep > 1 else None, vp=vp,
                        schedule="interleaved" if vp > 1 else "1f1b",
                        sequence_parallel=tp > 1, micro_batch=mbs, global_batch=gbs, recompute=recompute,
                        distributed_optimizer=True, tp_overlap=tp > 1, ep_overlap=ep_overlap)
    cluster = {"gb200": lambda: one_node("gb200", n), "gb200x4": gb200_racks}.get(cl, lambda: cl)()
    r, _ = simulate_cluster(model, cluster, plan, ClusterOptions(seq_len=seq, dtype="fp8"), gpus=n)
    return r, dp


def main() -> int:
    print("| container | system | model | GPUs | plan | recompute | published tok/s/GPU | predicted | error | memory "
          "| with EP overlap (not assumed) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    errs: dict[str, list[float]] = {}
    for ver, cl, model, n, gbs, mbs, seq, tp, pp, cp, vp, ep, pub in ROWS:
        r, dp = simulate(cl, model, n, gbs, mbs, seq, tp, pp, cp, vp, ep, "none")
        rc = "none"
        if not r.memory.fits:
            r, dp = simulate(cl, model, n, gbs, mbs, seq, tp, pp, cp, vp, ep, FALLBACK_RECOMPUTE)
            rc = FALLBACK_RECOMPUTE
        pred = r.tokens_per_s / r.n_gpus
        err = pred / pub - 1
        errs.setdefault("H100" if "h100" in cl else "GB200 (today's default Blackwell rates)", []).append(abs(err))
        mem = f"{r.memory.peak / 2**30:.0f} GiB{'' if r.memory.fits else ' (does NOT fit)'}"
        alt = ""
        if ep > 1:   # Megatron-Core's --overlap-moe-expert-parallel-comm: the page does not say whether it was on
            ro, _ = simulate(cl, model, n, gbs, mbs, seq, tp, pp, cp, vp, ep, rc, ep_overlap=True)
            po = ro.tokens_per_s / ro.n_gpus
            alt = f"{po:.0f} ({(po / pub - 1) * 100:+.1f}%)"
        print(f"| {ver} | {cl} | {model} | {n} | tp{tp} pp{pp} cp{cp} vp{vp} ep{ep} dp{dp} mbs{mbs} gbs{gbs} seq{seq} "
              f"| {rc} | {pub} | {pred:.0f} | {err * 100:+.1f}% | {mem} | {alt} |")
    for sys_name, e in errs.items():
        print(f"\nmean absolute error on {sys_name}: {statistics.mean(e) * 100:.1f}% over {len(e)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
