"""DeepSeek-V3 on 2,048 H800: what DualPipe buys over 1F1B, and where the time goes.

Usage: python examples/deepseek_dualpipe.py [gpus] [global_batch] [trace.json]
The published plan (DeepSeek-V3 report, sec. 3.2): PP16, EP64 over 8 nodes, ZeRO-1 data parallel, no TP,
FP8 GEMMs, on a multi-plane fat-tree. DualPipe is modelled in its V form (DualPipeV): the forward and
backward halves of each overlapped pair hide each other's expert all-to-all.
"""
import sys

from sim.distributed import ClusterOptions, simulate_cluster
from sim.plan import ParallelPlan


def main(argv):
    gpus = int(argv[0]) if len(argv) > 0 else 2048
    gbs = int(argv[1]) if len(argv) > 1 else 15360
    trace = argv[2] if len(argv) > 2 else None
    dp = gpus // 16
    for schedule, vp in (("1f1b", 1), ("dualpipev", 2)):
        # rank 0 also holds the embedding, the LM head and the MTP module: fewer transformer layers there
        plan = ParallelPlan(pp=16, dp=dp, ep=min(64, dp), vp=vp, schedule=schedule, micro_batch=1, global_batch=gbs,
                            distributed_optimizer=True, stage_layers=(2,) + (4,) * 14 + (3,))
        res, engine = simulate_cluster("deepseek-v3", "multiplane", plan,
                                       ClusterOptions(seq_len=4096, dtype="fp8", record_timeline=bool(trace)),
                                       gpus=gpus, trace_stages=[0, 15] if trace else None)
        top = sorted(res.breakdown.items(), key=lambda kv: -kv[1])[:5]
        print(f"{schedule:>10}: {res.tokens_per_s / res.n_gpus:,.0f} tokens/s/GPU, step {res.step_time_s:.1f} s, "
              f"peak {res.memory.peak / 2**30:.0f} GiB ({'fits' if res.memory.fits else 'over 80 GB'})")
        print("            " + ", ".join(f"{k} {v:.1f} s" for k, v in top))
        if trace and schedule == "dualpipev":
            from sim.trace import write_chrome_trace
            write_chrome_trace(engine, trace)
            print(f"            timeline of stages 0 and 15 written to {trace} (open in ui.perfetto.dev)")
    print("published: 14.8T tokens in 2.664M H800-hours = 1,543 tokens/s/GPU")


if __name__ == "__main__":
    main(sys.argv[1:])
