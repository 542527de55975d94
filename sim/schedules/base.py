"""Pipeline schedule types and registry: name -> function giving each stage's ordered task list."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

TASK_KINDS = ("F", "B", "W")


@dataclass(frozen=True)
class Task:
    """One pipeline task of one stage: forward, backward (input grad; includes W unless split) or weight grad."""

    kind: str  # "F" | "B" | "W"
    microbatch: int
    chunk: int = 0  # model chunk (virtual stage) index on this rank, 0 unless interleaved
    paired: bool = False  # runs as one half of an overlapped F&B pair (DualPipe): its comm hides behind the other


@dataclass(frozen=True)
class PipelineSchedule:
    """Ordered tasks per pipeline stage, plus the activation in-flight peaks memory needs."""

    name: str
    pp: int
    vp: int
    num_microbatches: int
    stages: tuple[tuple[Task, ...], ...]
    split_backward: bool  # True when W tasks are separate (zero-bubble family)
    # Peak number of micro-batches whose activations stage s holds at once, in units of
    # "one micro-batch through all layers of the stage" (an interleaved chunk counts 1/vp).
    in_flight: tuple[float, ...]

    layout: str = "loop"  # how chunks map to virtual stages (LAYOUTS)

    def virtual_stage(self, stage: int, chunk: int) -> int:
        """Position of (stage, chunk) along the model (LAYOUTS[self.layout])."""
        return LAYOUTS[self.layout](self.pp, self.vp, stage, chunk)

    def position(self, v: int) -> tuple[int, int]:
        """(stage, chunk) holding virtual stage v: the inverse of virtual_stage."""
        return layout_position(self.layout, self.pp, self.vp, v)


# Chunk layouts: (pp, vp, stage, chunk) -> virtual stage. "loop": chunk c of rank s is virtual stage c*pp + s
# (Megatron interleaving; vp = 1 is the plain pipeline). "v": two chunks per rank in a V, rank s holding
# virtual stages s and 2*pp-1-s (DualPipeV / "cut-in-half"): the first and last stages share rank 0.
LAYOUTS: dict[str, Callable[[int, int, int, int], int]] = {
    "loop": lambda pp, vp, s, c: c * pp + s,
    "v": lambda pp, vp, s, c: s if c == 0 else 2 * pp - 1 - s,
}


def layout_position(layout: str, pp: int, vp: int, v: int) -> tuple[int, int]:
    """(stage, chunk) of virtual stage v under `layout`."""
    if layout == "v":
        return (v, 0) if v < pp else (2 * pp - 1 - v, 1)
    return v % pp, v // pp


ScheduleFn = Callable[[int, int, int], list[list[Task]]]
SCHEDULES: dict[str, ScheduleFn] = {}
SCHEDULE_LAYOUT: dict[str, str] = {}


def register_schedule(name: str, layout: str = "loop") -> Callable[[ScheduleFn], ScheduleFn]:
    """Decorator adding a schedule function (pp, num_microbatches, vp) -> per-stage task lists."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown chunk layout {layout!r}; known: {', '.join(LAYOUTS)}")

    def deco(fn: ScheduleFn) -> ScheduleFn:
        if name in SCHEDULES:
            raise ValueError(f"pipeline schedule {name!r} is already registered")
        SCHEDULES[name] = fn
        SCHEDULE_LAYOUT[name] = layout
        return fn

    return deco


def virtual_stage(schedule: str, pp: int, vp: int, stage: int, chunk: int) -> int:
    """Virtual stage (position along the model) of chunk `chunk` of rank `stage` under schedule `schedule`."""
    return LAYOUTS[SCHEDULE_LAYOUT.get(schedule, "loop")](pp, vp, stage, chunk)


# Schedules that split the backward into B (input grad) and W (weight grad) tasks.
SPLIT_BACKWARD = {"zb", "dualpipev"}


def peak_in_flight(tasks: tuple[Task, ...], vp: int, split_backward: bool) -> float:
    """Peak count of (micro-batch, chunk) activations alive on a stage, divided by vp.

    NB: activations count as freed at B, or at W when the backward is split (W still
    reads the saved layer inputs; counting them whole is conservative).
    """
    free_kind = "W" if split_backward else "B"
    live = peak = 0
    for t in tasks:
        if t.kind == "F":
            live += 1
            peak = max(peak, live)
        elif t.kind == free_kind:
            live -= 1
    return peak / vp


def peak_saved_bytes(tasks: tuple[Task, ...], saved: dict[int, float], split_backward: bool) -> float:
    """Peak bytes of activations alive on a stage when chunk c keeps saved[c] per micro-batch.

    Counting each chunk with its own bytes matters when chunks differ: DualPipeV's rank 0 holds the
    first chunk (many in flight) and the last one with the LM head (one or two in flight).
    """
    free_kind = "W" if split_backward else "B"
    live = peak = 0.0
    for t in tasks:
        if t.kind == "F":
            live += saved.get(t.chunk, 0.0)
            peak = max(peak, live)
        elif t.kind == free_kind:
            live -= saved.get(t.chunk, 0.0)
    return peak


def _check_complete(stages: list[list[Task]], pp: int, m: int, vp: int, split: bool, name: str) -> None:
    """Each stage runs every (micro-batch, chunk) exactly once per kind; a bug here is the schedule's."""
    kinds = ("F", "B", "W") if split else ("F", "B")
    want = sorted((k, mb, c) for k in kinds for mb in range(m) for c in range(vp))
    for s, tasks in enumerate(stages):
        got = sorted((t.kind, t.microbatch, t.chunk) for t in tasks)
        if got != want:
            raise ValueError(f"schedule {name!r} is malformed on stage {s} (pp={pp}, m={m}, vp={vp})")


def build_schedule(name: str, pp: int, num_microbatches: int, vp: int = 1) -> PipelineSchedule:
    """Build a registered schedule; unknown names and impossible shapes raise ValueError."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown pipeline schedule {name!r}; known: {', '.join(sorted(SCHEDULES))}")
    for label, v in (("pp", pp), ("num_microbatches", num_microbatches), ("vp", vp)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}")
    stages = SCHEDULES[name](pp, num_microbatches, vp)
    split = any(t.kind == "W" for tasks in stages for t in tasks)
    _check_complete(stages, pp, num_microbatches, vp, split, name)
    frozen = tuple(tuple(t) for t in stages)
    return PipelineSchedule(
        name=name,
        pp=pp,
        vp=vp,
        num_microbatches=num_microbatches,
        stages=frozen,
        split_backward=split,
        in_flight=tuple(peak_in_flight(t, vp, split) for t in frozen),
        layout=SCHEDULE_LAYOUT[name],
    )
