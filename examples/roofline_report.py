"""Simulate one training step on one GPU, then write its roofline PNG and an HTML report.

Usage: python examples/roofline_report.py [OUT_DIR] [MODEL] [HARDWARE]   (defaults: ./out llama3-8b h100-sxm)
Copy it and change the StepOptions to your run.
"""
import sys
from pathlib import Path

from hardware.catalog import get_device
from hardware.perf import profile_for
from sim.plots import plot_roofline
from sim.report_html import write_html
from sim.single import StepOptions, simulate


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "out")
    model = argv[2] if len(argv) > 2 else "llama3-8b"
    hardware = get_device(argv[3] if len(argv) > 3 else "h100-sxm")
    options = StepOptions(batch=8, seq_len=4096, micro_batch=1, recompute="selective")
    result = simulate(model, hardware, options)
    out.mkdir(parents=True, exist_ok=True)
    png = plot_roofline(result, hardware, profile_for(hardware), out / "roofline.png")
    html = write_html(result, out / "report.html")
    print(f"{result.model} on {result.hardware}: step {result.step_time_s:.3f} s, MFU {result.mfu * 100:.1f} %")
    print(f"wrote {png} and {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
