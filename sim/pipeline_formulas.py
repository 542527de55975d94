"""Closed forms of the pipeline schedules for the analytical tier: bubble and in-flight activations per schedule.

Registries keyed by schedule name; each formula matches what the engine plays out for that schedule
(tests/test_analytical.py, tests/test_dualpipe.py), DualPipeV's bubble being the README's bound.
"""
from __future__ import annotations

from functools import lru_cache

from sim.schedules import build_schedule, peak_saved_bytes

# --- pipeline formulas: a registry, one entry per schedule --------------------------------------
BUBBLES: dict = {}


def register_bubble(name: str):
    """Decorator adding a schedule's bubble formula f(stage_times, fbw_totals, pp, m, vp) -> seconds."""
    def deco(fn):
        if name in BUBBLES:
            raise ValueError(f"bubble formula for schedule {name!r} registered twice")
        BUBBLES[name] = fn
        return fn
    return deco


@register_bubble("1f1b")
@register_bubble("gpipe")
def _bubble_1f1b(total: float, worst: float, fbw, pp: int, m: int, vp: int) -> float:
    return total - worst


@register_bubble("interleaved")
def _bubble_interleaved(total: float, worst: float, fbw, pp: int, m: int, vp: int) -> float:
    if m == pp:   # Megatron runs all forwards as warm-up: GPipe order over chunks
        return (total - worst) / vp
    return (total - worst) / vp


@register_bubble("zb")
def _bubble_zb(total: float, worst: float, fbw, pp: int, m: int, vp: int) -> float:
    f, b, w = fbw
    return (total - worst) * (f + b - w) / max(f + b + w, 1e-30)


@register_bubble("dualpipev")
def _bubble_dualpipev(total: float, worst: float, fbw, pp: int, m: int, vp: int) -> float:
    """DualPipe README: (PP/2-1)(F&B + B - 3W) over PP = 2*pp chunk-stages; with F&B = F + B (comm hidden)
    and per-chunk f, b (input grad), w: (pp-1)(f + 2b - w), where a rank's micro-batch costs 2(f + b + w)."""
    f, b, w = fbw
    return (total - worst) * max(f + 2 * b - w, 0.0) / max(2 * (f + b + w), 1e-30)


# --- in-flight activations per stage, closed forms of sim.schedules' peaks ----------------------
@lru_cache(maxsize=256)
def _built_in_flight(schedule: str, pp: int, m: int, vp: int) -> tuple[float, ...]:
    return build_schedule(schedule, pp, m, vp).in_flight


@lru_cache(maxsize=256)
def paired_fraction(schedule: str, pp: int, m: int, vp: int, stage: int) -> float:
    """Share of a stage's F and B tasks run as halves of overlapped F&B pairs (DualPipe); 0 elsewhere."""
    if schedule != "dualpipev":
        return 0.0
    tasks = [t for t in build_schedule(schedule, pp, m, vp).stages[stage] if t.kind in "FB"]
    return sum(t.paired for t in tasks) / len(tasks)


def in_flight(schedule: str, pp: int, m: int, vp: int, stage: int) -> float:
    """Peak micro-batches of activations stage `stage` holds (PipelineSchedule.in_flight, without building it)."""
    if schedule == "1f1b":
        return float(min(m, pp - stage))
    if schedule == "gpipe":
        return float(m)
    if schedule == "zb":
        return float(min(m, min(pp - stage - 1, m) + stage + 1))
    if schedule == "interleaved":
        total = m * vp
        warm = total if m == pp else min((pp - stage - 1) * 2 + (vp - 1) * pp, total)
        return min(warm + 1, total) / vp
    if schedule == "dualpipev":
        return _built_in_flight(schedule, pp, m, vp)[stage]
    raise ValueError(f"no in-flight formula for schedule {schedule!r}")


def weighted_in_flight(schedule: str, pp: int, m: int, vp: int, stage: int, saved: tuple[float, ...]) -> float:
    """In-flight count equivalent to the exact peak when chunk c keeps saved[c] bytes per micro-batch
    (peak bytes / sum of the chunks' bytes), from the built schedule."""
    sched = _built(schedule, pp, m, vp)
    total = sum(saved)
    if total <= 0:
        return 0.0
    return peak_saved_bytes(sched.stages[stage], dict(enumerate(saved)), sched.split_backward) / total


@lru_cache(maxsize=256)
def _built(schedule: str, pp: int, m: int, vp: int):
    return build_schedule(schedule, pp, m, vp)
