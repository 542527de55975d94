"""Matplotlib figures of roofsim results, drawn on the Agg canvas only (never a display).

Each module holds one pure plotting function: result in, PNG (a path or a binary file object) out.
"""
from sim.plots.breakdown import plot_breakdown
from sim.plots.memory import plot_memory
from sim.plots.roofline import plot_roofline
from sim.plots.scaling import plot_scaling
from sim.plots.timeline import phase_timeline, plot_timeline

__all__ = ["plot_roofline", "plot_breakdown", "plot_memory", "plot_timeline", "phase_timeline", "plot_scaling"]
