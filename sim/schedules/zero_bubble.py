"""ZB-H1 (Qi et al. 2023, "Zero Bubble Pipeline Parallelism"): backward split into B (input grad) and W (weight grad).

Stage s keeps 1F1B's warm-up (p-s-1 forwards) and its F/B order, but runs the W of
micro-batch j only after B of micro-batch j+s: stage s postpones s weight-grad passes,
which fill the cool-down bubble. With T_F = T_B = T_W the bubble is (p-1)*T_F, a third of
1F1B's (p-1)*(T_F+T_B+T_W); activations alive (counted until W) peak at p on every stage,
1F1B's stage-0 peak.
"""
from __future__ import annotations

from .base import Task, register_schedule


@register_schedule("zb")
def zb_h1(pp: int, m: int, vp: int) -> list[list[Task]]:
    """Per stage: 1F1B order of F and B, each W delayed by s backward passes, the rest at the end."""
    if vp != 1:
        raise ValueError(f"zb (ZB-H1) has no virtual stages (vp={vp})")
    stages = []
    for s in range(pp):
        warm = min(pp - s - 1, m)
        tasks = [Task("F", i) for i in range(warm)]
        nf, nb, nw = warm, 0, 0
        while nb < m:
            if nf < m:
                tasks.append(Task("F", nf))
                nf += 1
            tasks.append(Task("B", nb))
            nb += 1
            if nb - nw > s:
                tasks.append(Task("W", nw))
                nw += 1
        tasks += [Task("W", i) for i in range(nw, m)]
        stages.append(tasks)
    return stages
