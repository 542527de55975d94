"""Chrome trace / Perfetto JSON of an engine timeline: one process per pipeline stage, one thread per stream.

ts and dur are microseconds (the trace format's unit); converted here, once.
"""
from __future__ import annotations

import json
from typing import Iterable

from sim.engine import EngineResult

US_PER_S = 1e6  # trace-event timestamps are in microseconds


def _stream_order(stream: str) -> tuple[int, str]:
    """Compute first, then comm streams alphabetically (stable thread ids across stages)."""
    return (0 if stream == "compute" else 1, stream)


def chrome_trace(result: EngineResult, stages: Iterable[int] | None = None, name: str = "roofsim") -> dict:
    """Trace-event dict {"traceEvents": [...]} for the chosen stages (default all)."""
    if not result.timeline:
        raise ValueError("the engine result has no timeline (simulate with record_timeline=True)")
    all_stages = sorted({e.stage for e in result.timeline})
    chosen = all_stages if stages is None else sorted(set(stages))
    unknown = [s for s in chosen if s not in all_stages]
    if unknown:
        raise ValueError(f"stage {unknown[0]} is not in the timeline (stages 0..{all_stages[-1]})")
    streams = sorted({e.stream for e in result.timeline}, key=_stream_order)
    tid = {s: i for i, s in enumerate(streams)}
    events: list[dict] = []
    for s in chosen:
        events.append({"name": "process_name", "ph": "M", "pid": s, "tid": 0,
                       "args": {"name": f"{name} pipeline stage {s}"}})
        events.append({"name": "process_sort_index", "ph": "M", "pid": s, "tid": 0, "args": {"sort_index": s}})
        for stream, t in tid.items():
            events.append({"name": "thread_name", "ph": "M", "pid": s, "tid": t, "args": {"name": stream}})
            events.append({"name": "thread_sort_index", "ph": "M", "pid": s, "tid": t, "args": {"sort_index": t}})
    keep = set(chosen)
    for e in result.timeline:
        if e.stage not in keep:
            continue
        events.append({
            "name": e.label, "cat": e.stream, "ph": "X", "pid": e.stage, "tid": tid[e.stream],
            "ts": e.start * US_PER_S, "dur": (e.end - e.start) * US_PER_S,
            "args": {"start_s": e.start, "end_s": e.end},
        })
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"step_time_s": result.step_time, "backend": result.backend}}


def write_chrome_trace(result: EngineResult, path: str, stages: Iterable[int] | None = None) -> None:
    """Write chrome_trace(...) as JSON (open in ui.perfetto.dev or chrome://tracing)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(chrome_trace(result, stages), f)
