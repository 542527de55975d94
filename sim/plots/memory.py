"""Peak memory of each GPU as a stacked bar by category, with the usable-capacity line."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Sequence

from sim.plots.canvas import PALETTE, new_figure, save_png
from sim.results import MemoryBreakdown

GiB = 2**30


def plot_memory(memory: MemoryBreakdown | Sequence[MemoryBreakdown], path: str | Path | BinaryIO,
                labels: Sequence[str] | None = None, title: str = "peak memory per GPU",
                size_px: tuple[int, int] = (700, 500)):
    """Stacked bars (GiB) of weights, gradients, optimizer, activations, transient, other; one per GPU/stage."""
    mems = [memory] if isinstance(memory, MemoryBreakdown) else list(memory)
    if not mems:
        raise ValueError("plot_memory needs at least one MemoryBreakdown")
    labels = list(labels) if labels is not None else (["GPU"] if len(mems) == 1 else
                                                      [f"GPU {i}" for i in range(len(mems))])
    if len(labels) != len(mems):
        raise ValueError(f"{len(labels)} labels for {len(mems)} memory breakdowns")
    fig = new_figure(size_px[0] / 100, size_px[1] / 100)
    ax = fig.add_subplot(1, 1, 1)
    cats = list(mems[0].by_category())
    bottoms = [0.0] * len(mems)
    for j, cat in enumerate(cats):
        vals = [m.by_category()[cat] / GiB for m in mems]
        if not any(vals):
            continue
        ax.bar(labels, vals, bottom=bottoms, color=PALETTE[j % len(PALETTE)], edgecolor="black", linewidth=0.5,
               label=cat, width=0.5)
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    cap = max(m.capacity for m in mems) / GiB
    ax.axhline(cap, color="red", ls="--", lw=1.5, label=f"usable capacity {cap:.1f} GiB")
    for i, m in enumerate(mems):
        ax.text(i, max(m.peak / GiB, bottoms[i]), f"peak {m.peak / GiB:.1f} GiB\n"
                f"{'fits' if m.fits else 'DOES NOT FIT'}", ha="center", va="bottom", fontsize=8,
                color="black" if m.fits else "red")
    top = max(cap, *(m.peak / GiB for m in mems), *bottoms)
    ax.set_ylim(0, top * 1.22)
    ax.set_ylabel("GiB")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)
