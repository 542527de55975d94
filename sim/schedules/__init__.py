"""Pipeline schedules: a registry of functions giving each stage's ordered F/B/W tasks.

Adding one is one decorated function in its own module (`@register_schedule("name")`).
DualPipe (DeepSeek-V3) is not implemented.
"""
from .base import SCHEDULES, TASK_KINDS, PipelineSchedule, Task, build_schedule, peak_in_flight, register_schedule
from . import gpipe, interleaved, one_f_one_b, zero_bubble  # noqa: F401  (register the built-ins)

__all__ = [
    "SCHEDULES",
    "TASK_KINDS",
    "PipelineSchedule",
    "Task",
    "build_schedule",
    "peak_in_flight",
    "register_schedule",
]
