"""A small timeline picture: bars of (stage, stream, start, end, label) spans, one row per stage/stream.

For a single GPU the spans come from the op table (`phase_timeline`): grad_accum x (forward, backward)
then the optimizer step, each phase's time split evenly over micro-batches (NB: the op table holds
totals, so per-micro-batch differences are not visible). An engine timeline can be passed instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Sequence

from sim.plots.canvas import fmt_seconds, new_figure, save_png
from sim.results import StepResult

Span = tuple[object, str, float, float, str]    # (stage, stream, start_s, end_s, label)
PHASE_COLORS = {"fwd": "#0072B2", "bwd": "#D55E00", "opt": "#009E73", "host": "#BBBBBB", "comm": "#CC79A7"}
MAX_MICROBATCHES_DRAWN = 32   # beyond this, forward/backward of all micro-batches are drawn as two bars


def phase_timeline(result: StepResult) -> list[Span]:
    """Spans of the forward, backward and optimizer phases of a single-GPU step, from its op table."""
    phase_time = {"fwd": 0.0, "bwd": 0.0, "opt": 0.0}
    for o in result.ops:
        if o.phase in phase_time and o.kind != "comm":
            phase_time[o.phase] += o.time_s
    accum = int(result.config.get("grad_accum", 1) or 1)
    spans: list[Span] = []
    t = 0.0
    if accum <= MAX_MICROBATCHES_DRAWN:
        for i in range(accum):
            for ph in ("fwd", "bwd"):
                d = phase_time[ph] / accum
                spans.append((0, "compute", t, t + d, f"{ph} {i}" if accum > 1 else ph))
                t += d
    else:
        for ph in ("fwd", "bwd"):
            spans.append((0, "compute", t, t + phase_time[ph], f"{ph} x{accum}"))
            t += phase_time[ph]
    spans.append((0, "compute", t, t + phase_time["opt"], "opt"))
    t += phase_time["opt"]
    if result.step_time_s > t * (1 + 1e-9):
        spans.append((0, "compute", t, result.step_time_s, "host (GPU waits on kernel dispatch)"))
    return spans


def _color(label: str) -> str:
    head = label.split()[0].split(".")[0].lower() if label else ""
    return PHASE_COLORS.get(head, "#999999")


def plot_timeline(result: StepResult, path: str | Path | BinaryIO, timeline: Sequence[Span] | None = None,
                  size_px: tuple[int, int] = (1000, 260)):
    """Draw `timeline` (default: `phase_timeline(result)`) as horizontal bars; write a PNG to `path`."""
    spans = list(timeline) if timeline is not None else phase_timeline(result)
    for s in spans:
        if len(s) != 5 or s[3] < s[2]:
            raise ValueError(f"timeline span {s!r} is not (stage, stream, start, end>=start, label)")
    rows = sorted({(s[0], s[1]) for s in spans}, key=lambda r: (not isinstance(r[0], (int, float)), r[0] if isinstance(r[0], (int, float)) else 0,
                                               str(r[0]), str(r[1])))
    row_of = {r: i for i, r in enumerate(rows)}
    end = max((s[3] for s in spans), default=result.step_time_s) or 1.0
    fig = new_figure(size_px[0] / 100, max(size_px[1], 80 + 40 * len(rows)) / 100)
    ax = fig.add_subplot(1, 1, 1)
    for stage, stream, start, stop, label in spans:
        y = row_of[(stage, stream)]
        ax.barh(y, stop - start, left=start, height=0.7, color=_color(label), edgecolor="black", linewidth=0.4)
        if (stop - start) / end > 0.06:
            ax.text((start + stop) / 2, y, label, ha="center", va="center", fontsize=7, color="white")
    from matplotlib.patches import Patch
    present = {}
    for s in spans:
        present.setdefault(_color(s[4]), s[4].split()[0] if s[4] else "?")
    ax.legend(handles=[Patch(color=c, label=name) for c, name in present.items()], fontsize=7,
              loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"stage {r[0]} {r[1]}" for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, end)
    ax.set_xlabel("time in the step (s)")
    ax.set_title(f"timeline of one step ({fmt_seconds(result.step_time_s)})", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)
