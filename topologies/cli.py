"""`roofsim collective`: cost one collective or a size sweep on a cluster; table or JSON; optional PNG plot.

    python -m topologies.cli --cluster dgx-h100 --op all_reduce --bytes 1GiB --json
    python -m topologies.cli --cluster dgx-h100 --op all_reduce --sweep 1KiB:4GiB --plot out.png
"""
from __future__ import annotations

import argparse
import json
import sys

from topologies.catalog import CLUSTERS, get_cluster
from topologies.collectives import ALGORITHMS, OPS, collective_time
from topologies.group import Group
from topologies.units import format_bytes, parse_bytes, parse_sweep


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the collective subcommand."""
    parser.add_argument("--cluster", required=True,
                        help=f"catalog name ({', '.join(sorted(CLUSTERS))}) or a .yaml/.json file")
    parser.add_argument("--gpus", type=int, default=None, help="scale the cluster design to this many GPUs")
    parser.add_argument("--op", default="all_reduce", help=f"collective: {', '.join(OPS)}")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--bytes", default=None, help="message size (nccl-tests convention), e.g. 1GiB, 512MB, 4096")
    size.add_argument("--sweep", default=None, help="MIN:MAX[:FACTOR] size sweep, e.g. 1KiB:4GiB")
    parser.add_argument("--group", default=None,
                        help="ranks: N | A-B | r0,r1,... (constant stride) | size=N,stride=S,start=T (default: all)")
    parser.add_argument("--algorithm", default="auto", help=f"auto or one of {', '.join(ALGORITHMS)}")
    parser.add_argument("--protocol", default="auto", help="auto, LL, LL128 or Simple")
    parser.add_argument("--json", action="store_true", help="print JSON (keys time_s, algbw_gbps, busbw_gbps, ...)")
    parser.add_argument("--plot", default=None, help="write a PNG of bus bandwidth vs size (with --sweep)")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the `collective` subcommand on an argparse subparsers object."""
    parser = subparsers.add_parser("collective", help="time a collective on a cluster (NCCL model, contention-aware)",
                                   description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def _plot(results, path: str, title: str) -> None:
    """PNG of busbw vs message size (log x)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r.nbytes for r in results], [r.busbw / 1e9 for r in results], marker="o", ms=3)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel("bus bandwidth (GB/s)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    """Execute the subcommand; 0 on success, 2 with a one-line error on bad input."""
    try:
        cluster = get_cluster(args.cluster, gpus=args.gpus)
        group = Group.parse(args.group) if args.group else Group(cluster.gpus)
        if args.sweep:
            sizes = parse_sweep(args.sweep)
        else:
            sizes = [parse_bytes(args.bytes if args.bytes is not None else "1GiB")]
        if args.plot and not args.sweep:
            raise ValueError("--plot needs --sweep MIN:MAX")
        results = [collective_time(cluster, args.op, s, group, args.algorithm, args.protocol) for s in sizes]
        if args.plot:
            _plot(results, args.plot, f"{results[0].op} on {group.size} GPUs of {cluster.name}")
    except ValueError as exc:
        print(f"roofsim: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"roofsim: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        rows = [dict(r.to_dict(), cluster=cluster.name, device=cluster.device) for r in results]
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=1))
        return 0
    print(f"# {results[0].op} on {group.size} GPUs of {cluster.name} ({cluster.device}); model: NCCL tuning "
          f"constants + topology link loads")
    print(f"{'size':>12} {'time (us)':>12} {'algbw (GB/s)':>13} {'busbw (GB/s)':>13}  algorithm/protocol  bottleneck")
    for r in results:
        print(f"{format_bytes(r.nbytes):>12} {r.time_s * 1e6:12.2f} {r.algbw / 1e9:13.2f} {r.busbw / 1e9:13.2f}"
              f"  {r.algorithm + '/' + r.protocol:18s}  {r.bottleneck}")
    if args.plot:
        print(f"# plot written to {args.plot}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry: python -m topologies.cli ..."""
    parser = argparse.ArgumentParser(prog="roofsim collective", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
