"""Sweep speed: analytical plans/s (serial and on all cores) and a full GPT-3 175B sweep over 1,024..12,288 GPUs.

    python benchmarks/bench_sweep.py            # prints plans/s and wall times
Targets (issue 5): >= 2,000 plans/s on 2 cores in the analytical stage; the full refined sweep < 60 s.
"""
import os
import time

from sim.sweep import sweep

GPUS = [1024, 2048, 4096, 8192, 12288]


def main():
    for jobs in (1, os.cpu_count() or 1):
        t = time.perf_counter()
        res = sweep("gpt3-175b", "dgx-h100-superpod", GPUS, 1536, 2048, refine=10, jobs=jobs)
        s = res.stats
        print(f"jobs={jobs}: {s['plans']:,} plans, analytical {s['seconds_analytical']:.2f} s = "
              f"{s['plans_per_s']:,.0f} plans/s; {s['refined']} refined in {s['seconds_refine']:.2f} s; "
              f"total {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
