"""Speed of the pipeline engine: pp=16, m=128, interleaved vp=3 (12,288 tasks), heap loop vs simpy backend.

Run: python benchmarks/bench_engine.py  (prints seconds per simulated step; no assertions).
The integration target is a whole GPT-3 175B step on 12,288 GPUs in about 1 s.
"""
from __future__ import annotations

import statistics
import time

from sim.engine import CommPiece, TaskCost, build_program, simulate_pipeline
from sim.schedules import build_schedule


def cost(stage: int, chunk: int, kind: str) -> TaskCost:
    """GPT-3-like chunk: TP comm blocking, DP reduce-scatter per backward bucket async."""
    if kind == "F":
        return TaskCost(3.0e-3, (CommPiece("comm:tp", 4e-4, "blocking"),))
    return TaskCost(6.0e-3, (CommPiece("comm:tp", 4e-4, "blocking"), CommPiece("comm:dp", 1.5e-3, "async")))


def bench(pp: int = 16, m: int = 128, vp: int = 3, repeats: int = 3) -> None:
    """Time schedule building, lowering and each backend."""
    t0 = time.perf_counter()
    sched = build_schedule("interleaved", pp, m, vp)
    t_sched = time.perf_counter() - t0
    n_tasks = sum(len(s) for s in sched.stages)
    prog = build_program(sched, cost, 2e-4)
    print(f"pp={pp} m={m} vp={vp}: {n_tasks} tasks, {len(prog)} nodes; schedule built in {t_sched * 1e3:.1f} ms")
    for backend in ("heap", "simpy"):
        for timeline in (True, False):
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                r = simulate_pipeline(sched, cost, 2e-4, overlap_slowdown=1.15, backend=backend,
                                      record_timeline=timeline)
                times.append(time.perf_counter() - t0)
            print(f"  {backend:5s} timeline={timeline!s:5s}: {statistics.median(times):.3f} s per step "
                  f"(simulated step {r.step_time:.3f} s, bubble {r.bubble_fraction:.1%})")


if __name__ == "__main__":
    bench()
