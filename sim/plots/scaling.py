"""Scaling curves of a capacity plan: throughput and MFU against the number of GPUs."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Sequence

from sim.plots.canvas import new_figure, save_png


def _get(row, key: str) -> float:
    return float(row[key] if isinstance(row, dict) else getattr(row, key))


def plot_scaling(rows: Sequence, path: str | Path | BinaryIO, title: str = "",
                 size_px: tuple[int, int] = (1100, 450)):
    """Two panels from rows having n_gpus, tokens_per_s and mfu: tokens/s (log-log, with linear scaling
    from the smallest count) and MFU (%), both against GPUs."""
    rows = sorted(rows, key=lambda r: _get(r, "n_gpus"))
    if not rows:
        raise ValueError("plot_scaling needs at least one row")
    n = [_get(r, "n_gpus") for r in rows]
    tps = [_get(r, "tokens_per_s") for r in rows]
    mfu = [_get(r, "mfu") * 100 for r in rows]
    fig = new_figure(size_px[0] / 100, size_px[1] / 100)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax1.plot(n, tps, marker="o", color="#0072B2", label="predicted")
    ax1.plot(n, [tps[0] * x / n[0] for x in n], ls="--", color="0.5", label="linear scaling")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("GPUs")
    ax1.set_ylabel("throughput (tokens/s)")
    ax1.legend(fontsize=8)
    ax1.grid(True, which="both", alpha=0.3)
    ax2.plot(n, mfu, marker="o", color="#D55E00")
    ax2.set_xscale("log", base=2)
    ax2.set_ylim(0, max(100.0, max(mfu) * 1.1) if max(mfu) > 80 else max(mfu) * 1.3 + 1)
    ax2.set_xlabel("GPUs")
    ax2.set_ylabel("MFU (%)")
    ax2.grid(True, which="both", alpha=0.3)
    for x, y in zip(n, mfu):
        ax2.annotate(f"{y:.1f}", (x, y), xytext=(0, 6), textcoords="offset points", ha="center", fontsize=7)
    for ax in (ax1, ax2):
        ax.set_xticks(n)
        ax.set_xticklabels([f"{int(x):,}" for x in n], fontsize=8, rotation=30 if len(n) > 6 else 0)
        ax.minorticks_off() if ax is ax2 else None
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
