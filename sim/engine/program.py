"""Lower a pipeline schedule plus per-task costs into a static program of nodes on in-order streams.

A node is one piece of work of one stage on one stream (CUDA-stream semantics: a stream
runs its nodes in program order, each once its dependencies are done). Per task:
  - compute (the lane, stream "compute"), slowed while comm of the same GPU overlaps it;
  - "blocking" comm pieces: on the lane right after the compute (e.g. a TP all-reduce
    not overlapped); NB: one task's GEMM/all-reduce interleaving is lumped as compute
    then comm, exact for the critical path, approximate for the picture;
  - "overlapped" comm: on its own stream, starts with the task, the task is done only
    when it ends too (TP comm overlap, CP ring exchange, FSDP prefetch);
  - "async" comm: on its own stream after the task (DP reduce-scatter of a bucket), only
    needed before the step's tail (optimizer);
  - grad_sync(stage, chunk) pieces join the comm of the last gradient task (W if split,
    else B) of each chunk: Megatron reduces a chunk's grads over DP only during the last
    micro-batch's backward (earlier ones accumulate locally). Give them mode "overlapped"
    for buckets reduced while that backward runs and "async" for the last bucket;
  - a p2p send of the output (F -> next virtual stage, B -> previous one) on "comm:pp",
    or on the lane when p2p is blocking; the receiver's task waits for it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Union

from sim.schedules import PipelineSchedule

LANE = "compute"
COMM_MODES = ("blocking", "overlapped", "async")


@dataclass(frozen=True)
class CommPiece:
    """Communication attached to a task: stream name ("comm:tp", "comm:dp"...), seconds, mode."""

    stream: str
    seconds: float
    mode: str = "blocking"

    def __post_init__(self) -> None:
        if self.mode not in COMM_MODES:
            raise ValueError(f"comm mode {self.mode!r} is not one of {', '.join(COMM_MODES)}")
        if self.stream == LANE:
            raise ValueError(f"comm stream cannot be named {LANE!r} (that is the compute lane)")
        if not (self.seconds >= 0 and math.isfinite(self.seconds)):
            raise ValueError(f"comm time on {self.stream} must be finite and >= 0 s, got {self.seconds!r}")


@dataclass(frozen=True)
class TaskCost:
    """Cost of one task kind on one (stage, chunk): compute seconds and attached comm pieces."""

    compute: float
    comm: tuple[CommPiece, ...] = ()

    def __post_init__(self) -> None:
        if not (self.compute >= 0 and math.isfinite(self.compute)):
            raise ValueError(f"compute time must be finite and >= 0 s, got {self.compute!r}")


CostLike = Union[TaskCost, tuple]
CostFn = Callable[[int, int, str], CostLike]


def as_cost(value: CostLike) -> TaskCost:
    """Accept a TaskCost or (compute_s, [(stream, s, blocking: bool | mode str), ...])."""
    if isinstance(value, TaskCost):
        return value
    compute, pieces = value
    out = []
    for p in pieces:
        if isinstance(p, CommPiece):
            out.append(p)
            continue
        stream, seconds, mode = p
        if isinstance(mode, bool):
            mode = "blocking" if mode else "async"
        out.append(CommPiece(stream, float(seconds), mode))
    return TaskCost(float(compute), tuple(out))


@dataclass
class Program:
    """Nodes as parallel lists (fast to run) plus per-queue program order."""

    stage: list[int] = field(default_factory=list)
    stream: list[str] = field(default_factory=list)  # display stream (blocking comm shows on its comm stream)
    queue: list[int] = field(default_factory=list)  # index into queues
    duration: list[float] = field(default_factory=list)
    slowable: list[bool] = field(default_factory=list)  # compute work, slowed by overlapping comm
    on_lane: list[bool] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    deps: list[list[int]] = field(default_factory=list)
    queues: list[list[int]] = field(default_factory=list)
    queue_key: list[tuple[int, str]] = field(default_factory=list)
    _qindex: dict[tuple[int, str], int] = field(default_factory=dict)

    def add(self, stage: int, stream: str, lane: bool, duration: float, slowable: bool, label: str,
            deps: list[int]) -> int:
        """Append a node to its queue (the lane or its stream) and return its id."""
        key = (stage, LANE if lane else stream)
        q = self._qindex.get(key)
        if q is None:
            q = self._qindex[key] = len(self.queues)
            self.queues.append([])
            self.queue_key.append(key)
        n = len(self.duration)
        self.stage.append(stage)
        self.stream.append(stream)
        self.queue.append(q)
        self.duration.append(duration)
        self.slowable.append(slowable)
        self.on_lane.append(lane)
        self.label.append(label)
        self.deps.append(deps)
        self.queues[q].append(n)
        return n

    def __len__(self) -> int:
        return len(self.duration)


def _neighbour(sched: PipelineSchedule, stage: int, chunk: int, kind: str) -> tuple[int, int] | None:
    """(stage, chunk) that receives this task's output, or None at the model's ends (and for W)."""
    last = sched.pp * sched.vp - 1
    v = sched.virtual_stage(stage, chunk)
    if kind == "F" and v < last:
        v += 1
    elif kind == "B" and v > 0:
        v -= 1
    else:
        return None
    return sched.position(v)


def build_program(sched: PipelineSchedule, cost: CostFn, p2p: Callable[[int, str], float] | float = 0.0,
                  p2p_blocking: bool = False, overlap: bool = True,
                  tail: Callable[[int], CostLike] | None = None,
                  grad_sync: Callable[[int, int], tuple] | None = None) -> Program:
    """Lower a schedule to a Program; `overlap=False` turns every comm piece and p2p into blocking."""
    p2p_fn = p2p if callable(p2p) else (lambda stage, kind, _s=float(p2p): _s)
    if not overlap:
        p2p_blocking = True
    cache: dict[tuple[int, int, str], TaskCost] = {}
    prog = Program()
    sends: dict[tuple[int, int, str, int], int] = {}  # (recv stage, chunk, kind, mb) -> send node
    pending: list[tuple[int, tuple[int, int, str, int]]] = []  # (node, key of the send it waits for)
    last_virtual = sched.pp * sched.vp - 1
    grad_kind = "W" if sched.split_backward else "B"
    for s, tasks in enumerate(sched.stages):
        last_grad = {t.chunk: i for i, t in enumerate(tasks) if t.kind == grad_kind}
        finals: list[int] = []  # async comm and sends: must end before the tail
        prev_done: list[int] = []
        forward_done: dict[tuple[int, int], int] = {}
        backward_done: dict[tuple[int, int], int] = {}
        for idx, t in enumerate(tasks):
            key = (s, t.chunk, t.kind)
            c = cache.get(key)
            if c is None:
                c = cache[key] = as_cost(cost(s, t.chunk, t.kind))
            if grad_sync is not None and last_grad.get(t.chunk) == idx:
                c = TaskCost(c.compute, c.comm + as_cost((0.0, grad_sync(s, t.chunk))).comm)
            tag = f"{t.kind}{t.microbatch}" + (f".c{t.chunk}" if sched.vp > 1 else "")
            deps = list(prev_done)
            v = sched.virtual_stage(s, t.chunk)
            own = backward_done if t.kind == "W" else forward_done
            if t.kind == "W" or (t.kind == "B" and v == last_virtual):
                before = "B" if t.kind == "W" else "F"
                if (t.microbatch, t.chunk) not in own:
                    raise ValueError(f"schedule runs {t.kind} of micro-batch {t.microbatch} (chunk {t.chunk}) "
                                     f"before its {before} on stage {s}")
                deps.append(own[(t.microbatch, t.chunk)])
            node = prog.add(s, LANE, True, c.compute, True, tag, deps)
            receives = (t.kind == "F" and v > 0) or (t.kind == "B" and v < last_virtual)
            recv = (s, t.chunk, t.kind, t.microbatch)
            if receives:
                pending.append((node, recv))
            nxt = tasks[idx + 1] if idx + 1 < len(tasks) else None
            if t.paired and t.kind == "F" and nxt is not None and nxt.paired and nxt.kind == "B" \
                    and sched.virtual_stage(s, nxt.chunk) < last_virtual:
                # an overlapped F&B pair starts as one unit: once both its inputs have arrived (DualPipe)
                pending.append((node, (s, nxt.chunk, "B", nxt.microbatch)))
            done = []
            # One half of an overlapped F&B pair (DualPipe): its blocking comm runs beside the pair's compute.
            pieces = c.comm if not t.paired else tuple(
                CommPiece(x.stream, x.seconds, "overlapped") if x.mode == "blocking" else x for x in c.comm)
            for piece in pieces:
                lane = piece.mode == "blocking" or not overlap
                if lane:
                    node = prog.add(s, piece.stream, True, piece.seconds, False, f"{piece.stream} {tag}", [])
                elif piece.mode == "overlapped":
                    o = prog.add(s, piece.stream, False, piece.seconds, False, f"{piece.stream} {tag}", list(deps))
                    done.append(o)
                    if receives:
                        pending.append((o, recv))
            done.append(node)
            for piece in pieces:
                if piece.mode == "async" and overlap:
                    finals.append(prog.add(s, piece.stream, False, piece.seconds, False,
                                           f"{piece.stream} {tag}", list(done)))
            target = _neighbour(sched, s, t.chunk, t.kind)
            if target is not None and target[0] == s:   # next virtual stage on this rank (V turn): no p2p
                sends[(target[0], target[1], t.kind, t.microbatch)] = node
            elif target is not None:
                send = prog.add(s, "comm:pp", p2p_blocking, float(p2p_fn(s, t.kind)), False, f"send {tag}", list(done))
                sends[(target[0], target[1], t.kind, t.microbatch)] = send
                if p2p_blocking:
                    done = [send]
                else:
                    finals.append(send)
            if t.kind == "F":
                forward_done[(t.microbatch, t.chunk)] = node
            elif t.kind == "B":
                backward_done[(t.microbatch, t.chunk)] = node
            prev_done = [d for d in done if not prog.on_lane[d]]  # lane order is implicit
        if tail is not None:
            c = as_cost(tail(s))
            node = prog.add(s, LANE, True, c.compute, True, "tail", prev_done + finals)
            for piece in c.comm:
                node = prog.add(s, piece.stream, True, piece.seconds, False, f"{piece.stream} tail", [])
    for node, key in pending:
        prog.deps[node].append(sends[key])
    return prog
