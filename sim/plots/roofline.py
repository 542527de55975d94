"""Roofline of one device with every operator of a step placed at (intensity, achieved FLOP/s).

  attainable(I) = min(P, B * I)      P: dense peak of the dtype, B: HBM bandwidth, I: FLOP/byte
  ridge point   I* = P / B           (H100 SXM bf16: 989.4e12 / 3.35e12 = 295 FLOP/byte)
Two roofs are drawn: the datasheet one (P, B) and the achievable one from the perf profile
(P x compute_fraction, B x hbm_fraction), which is what the kernel time model uses as its ceiling.
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from hardware.perf import PerfProfile
from hardware.spec import DeviceSpec, canonical_dtype
from sim.plots.canvas import KIND_COLORS, fmt_seconds, new_figure, save_png
from sim.results import StepResult

MARKERS = {"gemm": "o", "attention": "^", "memory": "s", "comm": "D"}
TFLOPS = 1e12


def roofline_points(result: StepResult) -> tuple[list, int]:
    """Plottable operators (FLOPs, bytes and time all positive, not comm) and how many were left out."""
    pts = [o for o in result.ops if o.kind != "comm" and o.flops > 0 and o.bytes > 0 and o.time_s > 0]
    return pts, sum(1 for o in result.ops if o.kind != "comm") - len(pts)


def _labels(points, shares, top: int) -> list[tuple[str, float, float]]:
    """Names of the `top` operators by time share; operators drawn on the same spot share one label."""
    chosen = sorted(range(len(points)), key=lambda i: -shares[i])[:top]
    groups: dict[tuple, list[str]] = {}
    for i in chosen:
        o = points[i]
        key = (round(np.log10(o.intensity), 2), round(np.log10(o.achieved_flops), 2))
        groups.setdefault(key, []).append(o.name)
    out = []
    for names in groups.values():
        o = next(p for p in points if p.name == names[0])
        text = names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1}: {', '.join(names[1:])})"
        out.append((text if len(text) < 70 else text[:67] + "...", o.intensity, o.achieved_flops))
    return out


def plot_roofline(result: StepResult, device: DeviceSpec, profile: PerfProfile, path: str | Path | BinaryIO,
                  dtype: str | None = None, label_top: int = 8, size_px: tuple[int, int] = (1100, 700)):
    """Draw the roofline of `device` with the operators of `result`; write a PNG to `path` and return it."""
    dtype = canonical_dtype(dtype or result.config.get("dtype", "bf16"))
    peak, bw = device.flops(dtype), device.hbm_bandwidth
    peak_ach, bw_ach = peak * profile.fraction(dtype), bw * profile.hbm_fraction
    ridge, ridge_ach = peak / bw, peak_ach / bw_ach

    points, skipped = roofline_points(result)
    total = sum(o.time_s for o in result.ops if o.kind != "comm") or 1.0
    shares = [o.time_s / total for o in points]
    xs = [o.intensity for o in points] or [ridge]
    ys = [o.achieved_flops for o in points] or [peak_ach]
    x_lo = 10 ** np.floor(np.log10(min(min(xs), ridge) / 3))
    x_hi = 10 ** np.ceil(np.log10(max(max(xs), ridge) * 3))
    y_lo = 10 ** np.floor(np.log10(max(min(min(ys), bw * x_lo) / 3, 1e9)))
    y_hi = peak * 3

    fig = new_figure(size_px[0] / 100, size_px[1] / 100)
    ax = fig.add_subplot(1, 1, 1)
    grid = np.logspace(np.log10(x_lo), np.log10(x_hi), 400)
    ax.plot(grid, np.minimum(peak, bw * grid) / TFLOPS, color="black", lw=2,
            label=f"datasheet roof: {peak / TFLOPS:.0f} TFLOP/s {dtype} dense, {bw / 1e9:.0f} GB/s HBM")
    ax.plot(grid, np.minimum(peak_ach, bw_ach * grid) / TFLOPS, color="0.45", lw=1.5, ls="--",
            label=f"achievable roof (profile): {peak_ach / TFLOPS:.0f} TFLOP/s, {bw_ach / 1e9:.0f} GB/s")
    ax.axvline(ridge, color="black", ls=":", lw=1)
    ax.plot([ridge], [peak / TFLOPS], marker="*", ms=14, color="gold", mec="black", zorder=5,
            label=f"ridge point: {ridge:.0f} FLOP/byte (achievable {ridge_ach:.0f})")

    for kind in sorted({o.kind for o in points}):
        idx = [i for i, o in enumerate(points) if o.kind == kind]
        ax.scatter([points[i].intensity for i in idx], [points[i].achieved_flops / TFLOPS for i in idx],
                   s=[30 + 1500 * shares[i] for i in idx], marker=MARKERS.get(kind, "o"),
                   c=KIND_COLORS.get(kind, "#999999"), alpha=0.7, edgecolors="black", linewidths=0.6,
                   label=f"{kind} operators ({len(idx)})", zorder=4)
    # Labels sit in a column in the empty lower-right area, sorted by height so leader lines do not cross.
    labels = sorted(_labels(points, shares, label_top), key=lambda t: -t[2])
    for j, (text, x, y) in enumerate(labels):
        ax.annotate(text, (x, y / TFLOPS), xytext=(0.60, 0.80 - 0.05 * j), textcoords="axes fraction",
                    fontsize=7.5, ha="left", va="center",
                    arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.6, "shrinkB": 4},
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.7", "alpha": 0.9})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo / TFLOPS, y_hi / TFLOPS)
    ax.set_xlabel("arithmetic intensity (FLOP per byte of HBM traffic)")
    ax.set_ylabel("achieved throughput (TFLOP/s)")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title(f"{result.model} on {result.hardware}: roofline ({dtype})\n"
                 f"step {fmt_seconds(result.step_time_s)}, MFU {result.mfu * 100:.1f} %; marker area = share "
                 f"of device time; labels: top {label_top} operators by time", fontsize=10)
    legend = ax.legend(loc="lower right", fontsize=8, framealpha=0.9, markerscale=0.5)
    for handle in legend.legend_handles:
        if hasattr(handle, "set_sizes"):
            handle.set_sizes([40])
    if skipped:
        ax.text(0.01, 0.99, f"{skipped} operator(s) with no FLOPs (lookups, copies) not drawn",
                transform=ax.transAxes, va="top", fontsize=7.5, color="0.35")
    fig.tight_layout()
    return save_png(fig, path)
