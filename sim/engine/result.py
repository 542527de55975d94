"""Engine result and its accounting: busy compute, bubble and exposed communication per stage.

Per stage, with C the set of instants its compute runs and U_k those where comm of kind k
(display stream, lane-blocking included) runs:
  exposed_k = |U_k \\ C| + (1 - 1/slowdown) * |U_k & C|
(comm hidden under compute still costs the slowdown it inflicts; slowdown = inf exposes
all of it), bubble = step - |C u (all U_k)| (the GPU does nothing), idle = step - |C|.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .program import LANE, Program

Intervals = list[tuple[float, float]]


@dataclass(frozen=True)
class TimelineEvent:
    """One executed node: stage (pipeline rank), display stream, start/end (s), label."""

    stage: int
    stream: str
    start: float
    end: float
    label: str


@dataclass(frozen=True)
class EngineResult:
    """Outcome of one simulated step of one DP replica's pipeline (one TP rank per stage)."""

    step_time: float
    compute_busy: tuple[float, ...]  # per stage, wall time compute runs (slowdown included)
    compute_work: tuple[float, ...]  # per stage, compute seconds at full speed
    idle: tuple[float, ...]  # per stage, step_time - compute_busy
    bubble: tuple[float, ...]  # per stage, time neither compute nor comm runs
    exposed_comm_per_stage: tuple[dict[str, float], ...]
    comm_time_per_stage: tuple[dict[str, float], ...]  # total comm seconds per kind
    timeline: tuple[TimelineEvent, ...]
    backend: str

    @property
    def exposed_comm(self) -> dict[str, float]:
        """Exposed comm per kind, worst stage (the step waits for the slowest rank)."""
        kinds = sorted({k for d in self.exposed_comm_per_stage for k in d})
        return {k: max(d.get(k, 0.0) for d in self.exposed_comm_per_stage) for k in kinds}

    @property
    def bubble_fraction(self) -> float:
        """Mean over stages of bubble / step time."""
        if self.step_time <= 0:
            return 0.0
        return sum(self.bubble) / len(self.bubble) / self.step_time

    def stage_timeline(self, stage: int) -> tuple[TimelineEvent, ...]:
        """Events of one stage, in start order."""
        return tuple(sorted((e for e in self.timeline if e.stage == stage), key=lambda e: (e.start, e.end)))


def _union(iv: Intervals) -> Intervals:
    """Merge intervals into a sorted disjoint list (zero-length ones dropped)."""
    out: Intervals = []
    for a, b in sorted(x for x in iv if x[1] > x[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _length(iv: Intervals) -> float:
    return sum(b - a for a, b in iv)


def _intersection_length(x: Intervals, y: Intervals) -> float:
    """Length of the intersection of two sorted disjoint interval lists."""
    i = j = 0
    total = 0.0
    while i < len(x) and j < len(y):
        lo, hi = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if hi > lo:
            total += hi - lo
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return total


def account(prog: Program, start: list[float], end: list[float], slowdown: float, backend: str,
            record_timeline: bool = True) -> EngineResult:
    """Turn node times into an EngineResult."""
    n_stages = max(prog.stage) + 1 if len(prog) else 0
    step = max(end) if end else 0.0
    compute: list[Intervals] = [[] for _ in range(n_stages)]
    comm: list[dict[str, Intervals]] = [{} for _ in range(n_stages)]
    work = [0.0] * n_stages
    for i in range(len(prog)):
        s = prog.stage[i]
        if prog.slowable[i]:
            compute[s].append((start[i], end[i]))
            work[s] += prog.duration[i]
        else:
            comm[s].setdefault(prog.stream[i], []).append((start[i], end[i]))
    hidden_cost = 0.0 if math.isinf(slowdown) else 1.0 / slowdown
    busy, idle, bubble, exposed, totals = [], [], [], [], []
    for s in range(n_stages):
        c = _union(compute[s])
        cb = _length(c)
        ex, tot, everything = {}, {}, list(c)
        for kind, iv in sorted(comm[s].items()):
            u = _union(iv)
            tot[kind] = sum(b - a for a, b in iv)
            ex[kind] = _length(u) - hidden_cost * _intersection_length(u, c)
            everything += u
        busy.append(cb)
        idle.append(step - cb)
        bubble.append(step - _length(_union(everything)))
        exposed.append(ex)
        totals.append(tot)
    timeline = ()
    if record_timeline:
        timeline = tuple(TimelineEvent(prog.stage[i], prog.stream[i], start[i], end[i], prog.label[i])
                         for i in range(len(prog)))
    return EngineResult(step, tuple(busy), tuple(work), tuple(idle), tuple(bubble), tuple(exposed),
                        tuple(totals), timeline, backend)


__all__ = ["EngineResult", "TimelineEvent", "account", "LANE"]
