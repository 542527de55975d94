"""1F1B / PipeDream-flush (Narayanan et al. 2021): warm-up forwards, steady one-forward-one-backward, cool-down."""
from __future__ import annotations

from .base import Task, register_schedule


@register_schedule("1f1b")
def one_f_one_b(pp: int, m: int, vp: int) -> list[list[Task]]:
    """Stage s runs min(p-s-1, m) warm-up forwards, so it holds at most min(m, p-s) micro-batches."""
    if vp != 1:
        raise ValueError(f"1f1b has no virtual stages (vp={vp}); use schedule 'interleaved'")
    stages = []
    for s in range(pp):
        warm = min(pp - s - 1, m)
        tasks = [Task("F", i) for i in range(warm)]
        for i in range(m - warm):
            tasks += [Task("F", warm + i), Task("B", i)]
        tasks += [Task("B", i) for i in range(m - warm, m)]
        stages.append(tasks)
    return stages
