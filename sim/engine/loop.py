"""Deterministic list-scheduling event loop: the default backend.

Same algorithm as simpy's core (a heap of (time, counter) so equal times pop in
insertion order) without simpy's per-event generator and callback objects: on 12,288
tasks it runs several times faster than sim/engine/simpy_backend.py (see
benchmarks/bench_engine.py), which is kept as the reference and must agree with it.

Overlap slowdown: while any comm node (off the lane) of a GPU runs, that GPU's compute
progresses at rate 1/slowdown (shared SMs and HBM bandwidth; NCCL kernels take SMs).
A running compute node is re-timed when its GPU's comm activity switches on or off;
slowdown = inf stalls compute for the whole overlap (nothing hides).
"""
from __future__ import annotations

import heapq
import math

from .program import Program


def run_heap(prog: Program, slowdown: float) -> tuple[list[float], list[float]]:
    """Execute a Program; return start and end time of every node."""
    n = len(prog)
    start = [math.nan] * n
    end = [math.nan] * n
    waiting = [len(d) for d in prog.deps]
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, ds in enumerate(prog.deps):
        for d in ds:
            succ[d].append(i)
    head = [0] * len(prog.queues)
    busy = [False] * len(prog.queues)
    n_stages = max(prog.stage) + 1 if n else 0
    active = [0] * n_stages  # comm nodes running per stage
    running = [-1] * n_stages  # slowable node running on the lane per stage
    work = [0.0] * n  # remaining compute work (s at full speed) of running slowable nodes
    stamp = [0.0] * n  # time work was last updated
    version = [0] * n
    heap: list[tuple[float, int, int, int]] = []
    counter = 0
    inv = 0.0 if math.isinf(slowdown) else 1.0 / slowdown

    def rate(stage: int) -> float:
        return inv if active[stage] else 1.0

    def schedule_end(node: int, t: float) -> None:
        nonlocal counter
        r = rate(prog.stage[node])
        if r == 0.0 and work[node] > 0.0:
            return  # stalled until comm on its GPU stops
        version[node] += 1
        counter += 1
        heapq.heappush(heap, (t + (work[node] / r if work[node] > 0.0 else 0.0), counter, node, version[node]))

    def retime(stage: int, t: float, old_rate: float) -> None:
        node = running[stage]
        if node < 0:
            return
        work[node] = max(0.0, work[node] - (t - stamp[node]) * old_rate)
        stamp[node] = t
        version[node] += 1  # invalidate the pending end event
        schedule_end(node, t)

    def try_start(q: int, t: float) -> None:
        nonlocal counter
        if busy[q] or head[q] >= len(prog.queues[q]):
            return
        node = prog.queues[q][head[q]]
        if waiting[node]:
            return
        busy[q] = True
        head[q] += 1
        start[node] = t
        s = prog.stage[node]
        if prog.slowable[node]:
            running[s] = node
            work[node] = prog.duration[node]
            stamp[node] = t
            schedule_end(node, t)
            return
        if not prog.on_lane[node]:
            old = rate(s)
            active[s] += 1
            if active[s] == 1:
                retime(s, t, old)
        counter += 1
        heapq.heappush(heap, (t + prog.duration[node], counter, node, version[node]))

    for q in range(len(prog.queues)):
        try_start(q, 0.0)
    done = 0
    while heap:
        t, _, node, ver = heapq.heappop(heap)
        if ver != version[node]:
            continue
        end[node] = t
        done += 1
        s = prog.stage[node]
        q = prog.queue[node]
        busy[q] = False
        if prog.slowable[node]:
            running[s] = -1
        elif not prog.on_lane[node]:
            old = rate(s)
            active[s] -= 1
            if active[s] == 0:
                retime(s, t, old)
        for m in succ[node]:
            waiting[m] -= 1
            if not waiting[m]:
                try_start(prog.queue[m], t)
        try_start(q, t)
    if done != n:
        raise ValueError(f"pipeline program deadlocked: {n - done} of {n} tasks never ran (schedule order is inconsistent)")
    return start, end
