"""Pipeline schedules: a registry of functions giving each stage's ordered F/B/W tasks.

Adding one is one decorated function in its own module (`@register_schedule("name")`).
DualPipe (DeepSeek-V3) is modelled in its V-shaped form, DualPipeV ("dualpipev").
"""
from .base import (SCHEDULES, SPLIT_BACKWARD, TASK_KINDS, PipelineSchedule, Task, build_schedule, layout_position,
                   peak_in_flight, peak_saved_bytes, register_schedule, virtual_stage)
from . import dualpipe, gpipe, interleaved, one_f_one_b, zero_bubble  # noqa: F401  (register the built-ins)

__all__ = [
    "SCHEDULES",
    "SPLIT_BACKWARD",
    "TASK_KINDS",
    "PipelineSchedule",
    "Task",
    "build_schedule",
    "layout_position",
    "peak_in_flight",
    "peak_saved_bytes",
    "register_schedule",
    "virtual_stage",
]
