"""Discrete-event engine of one distributed training step: pp stages of one DP replica, one TP rank each.

All DP replicas and TP peers are identical, so only the pipeline is simulated. Usage:

    sched = build_schedule("1f1b", pp=8, num_microbatches=32)
    cost = lambda stage, chunk, kind: TaskCost(1e-3 if kind == "F" else 2e-3,
                                               (CommPiece("comm:dp", 5e-4, "async"),) if kind == "B" else ())
    res = simulate_pipeline(sched, cost, p2p=1e-4, overlap_slowdown=1.15)
    res.step_time, res.bubble_fraction, res.exposed_comm
"""
from __future__ import annotations

import math
from typing import Callable

from sim.schedules import PipelineSchedule

from .loop import run_heap
from .program import COMM_MODES, LANE, CommPiece, CostFn, CostLike, Program, TaskCost, as_cost, build_program
from .result import EngineResult, TimelineEvent, account
from .simpy_backend import run_simpy

BACKENDS: dict[str, Callable[[Program, float], tuple[list[float], list[float]]]] = {
    "heap": run_heap,
    "simpy": run_simpy,
}


def simulate_pipeline(schedule: PipelineSchedule, cost: CostFn, p2p: Callable[[int, str], float] | float = 0.0,
                      *, overlap_slowdown: float = 1.0, overlap: bool = True, p2p_blocking: bool = False,
                      tail: Callable[[int], CostLike] | None = None,
                      grad_sync: Callable[[int, int], tuple] | None = None, backend: str = "heap",
                      record_timeline: bool = True) -> EngineResult:
    """Simulate one step: `cost(stage, chunk, kind)` -> TaskCost or (compute_s, [(stream, s, blocking)...]).

    p2p: seconds to send one task's output to the neighbouring stage, a number or
    f(stage, kind). overlap_slowdown >= 1 (inf allowed): compute speed divisor while comm
    runs on the same GPU. overlap=False serializes every comm on the compute lane. tail(stage):
    work after the stage's last task and all its async comm (optimizer step, then its blocking comm).
    grad_sync(stage, chunk): comm pieces (DP grad reduce) attached to the chunk's last backward only.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown engine backend {backend!r}; known: {', '.join(sorted(BACKENDS))}")
    if not (overlap_slowdown >= 1.0) or math.isnan(overlap_slowdown):
        raise ValueError(f"overlap_slowdown must be >= 1 (inf allowed), got {overlap_slowdown!r}")
    prog = build_program(schedule, cost, p2p, p2p_blocking=p2p_blocking, overlap=overlap, tail=tail,
                         grad_sync=grad_sync)
    start, end = BACKENDS[backend](prog, overlap_slowdown)
    return account(prog, start, end, overlap_slowdown, backend, record_timeline)


__all__ = [
    "BACKENDS", "COMM_MODES", "LANE", "CommPiece", "EngineResult", "TaskCost", "TimelineEvent",
    "as_cost", "build_program", "simulate_pipeline",
]
