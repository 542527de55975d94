"""Qwen3-235B-A22B on 256 H100: which recompute modules and expert-parallel sizes fit, and what they cost.

Usage: python examples/moe_memory_wall.py [gpus]
NVIDIA's published plan (NeMo 26.04, Megatron-Bridge perf recipe): TP2 PP8 VP4 EP32, micro-batch 1, global
batch 8192 x 4096 tokens, FP8, EP comm overlap on, no recompute: 1,712 tokens/s/GPU published. Here the same
plan with Megatron-Core's fine-grained recompute modules, and smaller EP, to see where the memory wall is.
"""
import sys

from sim.distributed import ClusterOptions, simulate_cluster
from sim.plan import ParallelPlan


def main(argv):
    gpus = int(argv[0]) if argv else 256
    dp = gpus // 16
    print(f"{'EP':>3} {'recompute':<32} {'tok/s/GPU':>9} {'peak GiB':>8}  fits")
    for ep in (32, 16, 8):
        for rc in ("none", "moe_act,layernorm", "full"):
            plan = ParallelPlan(tp=2, pp=8, vp=4, dp=dp, ep=ep, etp=1, schedule="interleaved", sequence_parallel=True,
                                micro_batch=1, global_batch=8192, distributed_optimizer=True, ep_overlap=True,
                                recompute=rc)
            r, _ = simulate_cluster("qwen3-235b-a22b", "dgx-h100-superpod", plan,
                                    ClusterOptions(seq_len=4096, dtype="fp8"), gpus=gpus)
            print(f"{ep:>3} {rc:<32} {r.tokens_per_s / r.n_gpus:>9,.0f} {r.memory.peak / 2**30:>8.1f}  "
                  f"{'yes' if r.memory.fits else 'NO'}")
    print("published (EP32, no recompute): 1,712 tokens/s/GPU")


if __name__ == "__main__":
    main(sys.argv[1:])
