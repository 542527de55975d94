"""A Matplotlib Figure bound to the Agg canvas, and saving it to a PNG path or file object."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100   # figure sizes below are in inches: a 10 x 6.5 figure is 1000 x 650 pixels

# One colour per operator kind / category, shared by every plot (Okabe-Ito, colour-blind safe).
KIND_COLORS = {"gemm": "#0072B2", "attention": "#D55E00", "memory": "#009E73", "comm": "#CC79A7"}
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#999999")


def new_figure(width_in: float, height_in: float) -> Figure:
    """A Figure with its own Agg canvas: no pyplot, no global state, no display."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | Path | BinaryIO) -> str | Path | BinaryIO:
    """Write `fig` as PNG to a path (parent folders created) or a binary file object; return `path`."""
    if isinstance(path, (str, Path)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path


def fmt_seconds(t: float) -> str:
    """Seconds with a readable unit."""
    if t >= 1:
        return f"{t:.3g} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} us"
