"""GPipe (Huang et al. 2019): all forwards, then all backwards; every stage holds all m micro-batches."""
from __future__ import annotations

from .base import Task, register_schedule


@register_schedule("gpipe")
def gpipe(pp: int, m: int, vp: int) -> list[list[Task]]:
    """Per stage: F(0..m-1) then B(0..m-1); bubble (p-1)/(m+p-1) like 1F1B, memory m micro-batches."""
    if vp != 1:
        raise ValueError(f"gpipe has no virtual stages (vp={vp}); use schedule 'interleaved'")
    return [[Task("F", i) for i in range(m)] + [Task("B", i) for i in range(m)] for _ in range(pp)]
