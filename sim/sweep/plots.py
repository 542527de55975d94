"""Figures of a sweep: throughput vs memory per GPU (memory wall marked), a heatmap over two axes, GPU Pareto front."""
from __future__ import annotations

from pathlib import Path

from sim.plots.canvas import PALETTE, new_figure, save_png
from sim.sweep.result import SweepResult, plan_label
from sim.sweep.rows import COLUMNS


def plot_memory_throughput(res: SweepResult, path: str | Path):
    """Tokens/s against peak memory per GPU, one colour per GPU count; the usable memory as a wall."""
    fig = new_figure(9, 5.5)
    ax = fig.add_subplot(1, 1, 1)
    counts = sorted({r["gpus"] for r in res.rows})
    for i, n in enumerate(counts):
        rs = [r for r in res.rows if r["gpus"] == n]
        ax.scatter([r["peak_memory_GiB"] for r in rs], [r["tokens_per_s"] for r in rs], s=8, alpha=0.5,
                   color=PALETTE[i % len(PALETTE)], label=f"{n:,} GPUs")
    ax.axvline(res.capacity_GiB, color="k", ls="--", lw=1.2)
    ax.text(res.capacity_GiB, ax.get_ylim()[1], " memory wall", va="top", ha="left", fontsize=8)
    best = res.best
    ax.scatter([best["peak_memory_GiB"]], [best["tokens_per_s"]], marker="*", s=160, color="k", zorder=5,
               label=f"best: {plan_label(best)}")
    ax.set_xlabel("peak memory per GPU (GiB)")
    ax.set_ylabel("throughput (tokens/s)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return save_png(fig, path)


def plot_heatmap(res: SweepResult, x: str, y: str, path: str | Path, gpus: int | None = None):
    """Best tokens/s of each (x, y) cell, e.g. x='tp', y='pp'; empty cells had no fitting plan."""
    for axis in (x, y):
        if axis not in COLUMNS or COLUMNS[axis] is float:
            raise ValueError(f"heatmap axis {axis!r} is not a plan field; use e.g. tp, pp, cp, vp, zero, micro_batch")
    n = gpus or res.best["gpus"]
    cells: dict = {}
    for r in res.rows:
        if r["gpus"] == n:
            k = (r[x], r[y])
            cells[k] = max(cells.get(k, 0.0), r["tokens_per_s"])
    xs = sorted({k[0] for k in cells}, key=str)
    ys = sorted({k[1] for k in cells}, key=str)
    grid = [[cells.get((a, b), float("nan")) for a in xs] for b in ys]
    fig = new_figure(1.5 + 0.9 * len(xs), 1.2 + 0.5 * len(ys))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"best tokens/s per ({x}, {y}), {n:,} GPUs", fontsize=9)
    fig.colorbar(im, ax=ax, label="tokens/s")
    return save_png(fig, path)


def plot_pareto(res: SweepResult, path: str | Path):
    """Best tokens/s per GPU count, the Pareto front (no smaller count as fast) highlighted."""
    best: dict = {}
    for r in res.rows:
        best.setdefault(r["gpus"], r)
    front = res.pareto()
    fig = new_figure(8, 5)
    ax = fig.add_subplot(1, 1, 1)
    ns = sorted(best)
    ax.plot(ns, [best[n]["tokens_per_s"] for n in ns], marker="o", color="0.6", label="best per GPU count")
    ax.plot([r["gpus"] for r in front], [r["tokens_per_s"] for r in front], marker="s", color="#D55E00",
            label="Pareto front")
    for r in front:
        ax.annotate(plan_label(r), (r["gpus"], r["tokens_per_s"]), fontsize=6, xytext=(3, -10),
                    textcoords="offset points")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("GPUs")
    ax.set_ylabel("throughput (tokens/s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return save_png(fig, path)
