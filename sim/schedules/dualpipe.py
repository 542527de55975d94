"""DualPipeV (DeepSeek-V3's DualPipe cut in half; deepseek-ai/DualPipe, dualpipev.py): a V-shaped pipeline.

Each of the pp ranks holds two chunks: chunk 0 is virtual stage s on the way down, chunk 1 is virtual
stage 2*pp-1-s on the way back, so rank 0 holds both the first and the last stage. Rank s runs, in
order (M micro-batches, M >= 2*pp; "zb" = backward split, its W deferred to a FIFO queue):
  1. 2*(pp-s-1) forwards of chunk 0;
  2. s+1 pairs F(chunk 0), F(chunk 1);
  3. pp-s-1 times: B(chunk 1, zb), W (the one just deferred), F(chunk 1);
  4. M-2*pp+s+1 times: F(chunk 0) & B(chunk 1), then F(chunk 1) & B(chunk 0), each pair overlapped
     (full backwards; the last rank runs its first F(0), B(1) one after the other);
  5. pp-s-1 times: B(chunk 1), then F(chunk 1) & B(chunk 0);
  6. s+1 times: B(chunk 1), B(chunk 0), deferring W from the middle on (odd ranks one B earlier);
  7. pp-s-1 times: W, B(chunk 0, zb);
  8. the s+1 W left.
An overlapped pair's tasks are marked `paired`: the engine hides each one's blocking communication
(EP all-to-all, TP collectives) behind the other's compute, DualPipe's point; their compute still runs
one after the other on the GPU. Bubble (README): (PP/2-1)(F&B + B - 3W) with PP = 2*pp stages.
"""
from __future__ import annotations

from collections import deque

from .base import Task, register_schedule


class _Rank:
    """Builds one rank's task list with DualPipeV's counters and deferred-W queue."""

    def __init__(self) -> None:
        self.tasks: list[Task] = []
        self.f = [0, 0]
        self.b = [0, 0]
        self.deferred: deque = deque()

    def forward(self, c: int, paired: bool = False) -> None:
        self.tasks.append(Task("F", self.f[c], c, paired))
        self.f[c] += 1

    def backward(self, c: int, zb: bool = False, paired: bool = False) -> None:
        mb = self.b[c]
        self.b[c] += 1
        self.tasks.append(Task("B", mb, c, paired))
        if zb:
            self.deferred.append((mb, c))
        else:
            self.tasks.append(Task("W", mb, c, paired))

    def weight(self) -> None:
        mb, c = self.deferred.popleft()
        self.tasks.append(Task("W", mb, c))

    def pair(self, fc: int, bc: int) -> None:
        self.forward(fc, paired=True)
        self.backward(bc, paired=True)


@register_schedule("dualpipev", layout="v")
def dualpipev(pp: int, m: int, vp: int) -> list[list[Task]]:
    """Per rank: DualPipeV's eight phases (module docstring)."""
    if vp != 2:
        raise ValueError(f"dualpipev holds exactly two chunks per rank (vp=2), got vp={vp}")
    if pp < 2:
        raise ValueError(f"dualpipev needs pp >= 2, got pp={pp}")
    if m < 2 * pp:
        raise ValueError(f"dualpipev needs num_microbatches >= 2*pp = {2 * pp}, got {m}")
    stages = []
    for s in range(pp):
        r = _Rank()
        last = s == pp - 1
        for _ in range(2 * (pp - s - 1)):
            r.forward(0)
        for _ in range(s + 1):
            r.forward(0)
            r.forward(1)
        for _ in range(pp - s - 1):
            r.backward(1, zb=True)
            r.weight()
            r.forward(1)
        for i in range(m - 2 * pp + s + 1):
            if i == 0 and last:
                r.forward(0)
                r.backward(1)
            else:
                r.pair(0, 1)
            r.pair(1, 0)
        for _ in range(pp - s - 1):
            r.backward(1)
            r.pair(1, 0)
        zb = False
        for i in range(s + 1):
            if i == (s + 1) // 2 and s % 2 == 1:
                zb = True
            r.backward(1, zb=zb)
            if i == (s + 1) // 2 and s % 2 == 0:
                zb = True
            r.backward(0, zb=zb)
        for _ in range(pp - s - 1):
            r.weight()
            r.backward(0, zb=True)
        while r.deferred:
            r.weight()
        stages.append(r.tasks)
    return stages
