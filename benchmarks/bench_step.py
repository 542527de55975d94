"""Speed of whole predictions: single-GPU 70B step, 1,024-GPU Llama-3-70B, GPT-3 175B on 12,288 GPUs.

Usage: python benchmarks/bench_step.py   (prints the median wall time of repeated calls, cold and warm)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.distributed import ClusterOptions, simulate_cluster  # noqa: E402
from sim.plan import ParallelPlan  # noqa: E402
from sim.single import StepOptions, simulate  # noqa: E402


def timed(fn, repeat=5):
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return cold, statistics.median(runs)


CASES = {
    "single GPU, llama3-70b, H100": lambda: simulate("llama3-70b", "h100", StepOptions(batch=8, seq_len=4096,
                                                                                        micro_batch=1, recompute="full")),
    "1,024 H100, llama3-70b (tp8 pp4 dp32, interleaved vp5)": lambda: simulate_cluster(
        "llama3-70b", "dgx-h100-superpod",
        ParallelPlan(tp=8, pp=4, dp=32, vp=5, schedule="interleaved", micro_batch=1, global_batch=1024,
                     sequence_parallel=True, distributed_optimizer=True), ClusterOptions(seq_len=8192), gpus=1024),
    "12,288 A100, gpt3-175b (tp8 pp16 dp96)": lambda: simulate_cluster(
        "gpt3-175b", "dgx-a100-superpod",
        ParallelPlan(tp=8, pp=16, dp=96, micro_batch=1, global_batch=1536, sequence_parallel=True,
                     recompute="selective", distributed_optimizer=True), ClusterOptions(seq_len=2048), gpus=12288),
    "12,288 H100, gpt3-175b (tp8 pp8 dp192, interleaved vp3)": lambda: simulate_cluster(
        "gpt3-175b", "dgx-h100-superpod",
        ParallelPlan(tp=8, pp=8, dp=192, vp=3, schedule="interleaved", micro_batch=1, global_batch=3072,
                     sequence_parallel=True, distributed_optimizer=True), ClusterOptions(seq_len=2048), gpus=12288),
}

if __name__ == "__main__":
    print("| case | first call | repeated call (median) |\n|---|---|---|")
    for name, fn in CASES.items():
        cold, warm = timed(fn)
        print(f"| {name} | {cold * 1e3:.1f} ms | {warm * 1e3:.1f} ms |")
