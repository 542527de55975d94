"""`roofsim report`: one self-contained HTML report (or Markdown + PNGs) of a simulated step."""
from __future__ import annotations

from sim.commands.simulate import add_step_arguments, run_step


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="self-contained HTML (or Markdown) report of one step",
                              description="Simulate one step and write a report: configuration, headline "
                                          "numbers, roofline, time and memory breakdowns, timeline, operators, "
                                          "energy, provenance.")
    add_step_arguments(p)
    p.add_argument("--out", default=None, help="output file (default report.html; report.md for --format md; "
                                               "a folder for md gets report.md inside)")
    p.add_argument("--format", choices=("html", "md"), default="html",
                   help="html: one file, images embedded; md: Markdown plus PNG files beside it")
    try:
        from sim.commands import distributed_args
        distributed_args.add_arguments(p)
    except ImportError:
        pass


def run(args) -> int:
    from sim.report_html import write_html, write_markdown

    out = args.out or ("report.html" if args.format == "html" else "report.md")
    if args.format == "html" and not str(out).lower().endswith((".html", ".htm")):
        raise ValueError(f"--out must name an .html file for --format html, got {out!r}")
    timeline = None
    from sim.commands import distributed_args
    if distributed_args.is_distributed(args):   # a cluster step: show the first and last pipeline stages
        result, engine = distributed_args.simulate_with_engine(args, record_timeline=True)
        shown = {0, max(e.stage for e in engine.timeline)} if engine.timeline else set()
        timeline = [(e.stage, e.stream, e.start, e.end, e.label) for e in engine.timeline if e.stage in shown]
    else:
        result = run_step(args)
    if args.format == "html":
        path = write_html(result, out, timeline=timeline)
        print(f"report of {result.model} on {result.n_gpus} x {result.hardware} written to {path}")
    else:
        path, pngs = write_markdown(result, out, timeline=timeline)
        print(f"report of {result.model} on {result.n_gpus} x {result.hardware} written to {path} "
              f"(+{len(pngs)} PNG files beside it)")
    return 0
