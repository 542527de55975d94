"""Where the step time goes: one horizontal bar per category of StepResult.breakdown."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sim.plots.canvas import PALETTE, fmt_seconds, new_figure, save_png
from sim.results import StepResult


def plot_breakdown(result: StepResult, path: str | Path | BinaryIO, size_px: tuple[int, int] = (900, 450)):
    """Bar chart of seconds per category (summed over streams, so it can exceed the step time)."""
    items = sorted(((k, v) for k, v in result.breakdown.items() if v > 0), key=lambda kv: kv[1])
    total = sum(v for _, v in items) or 1.0
    fig = new_figure(size_px[0] / 100, size_px[1] / 100)
    ax = fig.add_subplot(1, 1, 1)
    names = [k for k, _ in items]
    secs = [v for _, v in items]
    ax.barh(names, secs, color=[PALETTE[i % len(PALETTE)] for i in range(len(items))][::-1], edgecolor="black",
            linewidth=0.5)
    for i, v in enumerate(secs):
        ax.text(v, i, f"  {fmt_seconds(v)} ({v / total * 100:.1f} %)", va="center", fontsize=8)
    ax.set_xlim(0, max(secs or [1.0]) * 1.35)
    ax.set_xlabel("seconds per step (summed over streams)")
    ax.set_title(f"{result.model} on {result.n_gpus} x {result.hardware}: time by category "
                 f"(step {fmt_seconds(result.step_time_s)})", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)
