"""`roofsim roofline`: the device roofline with every operator of one simulated step, as a PNG."""
from __future__ import annotations

from sim.commands.simulate import add_step_arguments, run_step


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("roofline", help="roofline PNG of the device with every operator of a step",
                              description="Simulate one step and draw the device roofline (log-log intensity "
                                          "vs FLOP/s) with each operator placed where it runs.")
    add_step_arguments(p)
    p.add_argument("--out", default="roofline.png", help="PNG file to write (default: roofline.png)")
    p.add_argument("--label-top", type=int, default=8, help="label this many operators, biggest by time")
    try:
        from sim.commands import distributed_args
        distributed_args.add_arguments(p)
    except ImportError:
        pass


def run(args) -> int:
    from hardware.catalog import get_device
    from hardware.perf import profile_for
    from sim.plots.roofline import plot_roofline

    if not str(args.out).lower().endswith(".png"):
        raise ValueError(f"--out must name a .png file, got {args.out!r}")
    if args.label_top < 0:
        raise ValueError(f"--label-top must not be negative, got {args.label_top}")
    result = run_step(args)
    device = get_device(args.hardware)
    plot_roofline(result, device, profile_for(device), args.out, label_top=args.label_top)
    print(f"roofline of {result.model} on {result.hardware} ({len(result.ops)} operators) written to {args.out}")
    return 0
