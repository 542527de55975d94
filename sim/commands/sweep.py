"""`roofsim sweep`: search every valid parallelism plan, rank by throughput (or cost), refine the best by simulation."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _ints(text: str | None):
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"expected a comma list of integers, got {text!r}") from None


def _words(text: str | None, default):
    return default if text is None else tuple(v.strip() for v in text.split(",") if v.strip())


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="search parallelism plans and rank them",
                              description="Enumerate every valid plan (TP, PP, DP, CP, EP, VP, ZeRO, micro-batch, "
                                          "recompute, schedule), estimate each in closed form, simulate the best.")
    p.add_argument("--model", required=True, help="catalog name or HF config.json")
    p.add_argument("--cluster", required=True, help="cluster catalog name or .yaml/.json file")
    p.add_argument("--gpus", type=int, default=None, help="GPU count")
    p.add_argument("--gpus-list", default=None, help="comma list of GPU counts (e.g. 1024,2048,4096)")
    p.add_argument("--global-batch", type=int, required=True, help="sequences per step")
    p.add_argument("--seq-len", type=int, required=True)
    for dim in ("tp", "pp", "cp", "ep", "vp", "zero"):
        p.add_argument(f"--{dim}", default=None, help=f"comma list of {dim} values (default: all valid)")
    p.add_argument("--micro-batch", default=None, help="comma list (default 1,2,4,8)")
    p.add_argument("--recompute", default=None,
                   help="comma list of none, selective, full, or Megatron recompute modules joined by + "
                        "(e.g. none,full,moe_act+layernorm)")
    p.add_argument("--schedule", default=None, help="comma list of 1f1b,interleaved,zb,gpipe,dualpipev (default 1f1b,interleaved,zb)")
    p.add_argument("--tp-overlap", choices=("off", "on", "both"), default="off")
    p.add_argument("--tp-any", action="store_true", help="allow TP groups wider than a node")
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--precision", default="megatron")
    p.add_argument("--attention-kernel", choices=("native", "fa2", "triton-v1"), default="native",
                   help="attention kernel class (see roofsim simulate --help)")
    p.add_argument("--memory-budget", type=float, default=None, help="GiB per GPU a plan may use")
    p.add_argument("--price", type=float, default=None, help="USD per GPU-hour: adds cost per token")
    p.add_argument("--rank-by", choices=("throughput", "cost"), default="throughput")
    p.add_argument("--top", type=int, default=20, help="rows printed")
    p.add_argument("--refine", type=int, default=10, help="best plans per GPU count re-simulated (0: none)")
    p.add_argument("--out", default=None, help="results .csv or .parquet")
    p.add_argument("--workdir", default=None, help="shards + manifest (default: <out>.parts)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep in --workdir")
    p.add_argument("--plot", default=None, help="prefix of PNG figures")
    p.add_argument("--heatmap", default="tp,pp", help="two axes of the heatmap figure")
    p.add_argument("--jobs", type=int, default=None, help="local worker processes (default: all cores)")
    p.add_argument("--dask", default=None, metavar="ADDRESS", help="run chunks on this Dask scheduler")
    p.add_argument("--chunk-size", type=int, default=2000)
    p.add_argument("--json", action="store_true", help="print the top rows and stats as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def format_table(rows: list[dict]) -> str:
    """Readable top-N table."""
    head = (f"{'#':>3} {'GPUs':>6} {'tp':>3} {'pp':>3} {'dp':>5} {'cp':>3} {'ep':>3} {'vp':>3} {'sched':<11} "
            f"{'mb':>3} {'zero':>4} {'recomp':<9} {'step':>9} {'tokens/s':>12} {'MFU':>6} {'mem GiB':>8} stage")
    out = [head, "-" * len(head)]
    for i, r in enumerate(rows, 1):
        out.append(f"{i:>3} {r['gpus']:>6} {r['tp']:>3} {r['pp']:>3} {r['dp']:>5} {r['cp']:>3} {r['ep']:>3} "
                   f"{r['vp']:>3} {r['schedule']:<11} {r['micro_batch']:>3} {r['zero']:>4} {r['recompute']:<9} "
                   f"{r['step_time_s']:>7.3f} s {r['tokens_per_s']:>12,.0f} {r['mfu']:>6.1%} "
                   f"{r['peak_memory_GiB']:>8.1f} {r['stage']}")
    return "\n".join(out)


def run(args) -> int:
    from sim.distributed import ClusterOptions
    from sim.sweep import SearchSpace, sweep
    from sim.sweep.runner import connect_dask

    gpus = _ints(args.gpus_list) or ((args.gpus,) if args.gpus else None)
    if not gpus:
        raise ValueError("give --gpus N or --gpus-list N1,N2,...")
    space = SearchSpace(tp=_ints(args.tp), pp=_ints(args.pp), cp=_ints(args.cp), ep=_ints(args.ep),
                        vp=_ints(args.vp), zero=_ints(args.zero) or (0, 1, 2, 3),
                        micro_batch=_ints(args.micro_batch) or (1, 2, 4, 8),
                        recompute=tuple(w.replace("+", ",") for w in _words(args.recompute, ("none", "selective", "full"))),
                        schedule=_words(args.schedule, ("1f1b", "interleaved", "zb")),
                        tp_overlap={"off": (False,), "on": (True,), "both": (False, True)}[args.tp_overlap],
                        tp_any=args.tp_any)
    opts = ClusterOptions(seq_len=args.seq_len, dtype=args.dtype, precision=args.precision,
                          attention_kernel=args.attention_kernel)
    workdir = args.workdir or (str(Path(args.out).with_name(Path(args.out).name + ".parts")) if args.out else None)
    if args.resume and not workdir:
        raise ValueError("--resume needs --workdir or --out (where the interrupted sweep kept its shards)")
    if args.out and Path(args.out).suffix not in (".csv", ".parquet"):
        raise ValueError(f"--out must end in .csv or .parquet, got {args.out}")
    client = connect_dask(args.dask) if args.dask else None
    try:
        res = sweep(args.model, args.cluster, gpus, args.global_batch, args.seq_len, space=space, options=opts,
                    refine=args.refine, price_per_gpu_hour=args.price, memory_budget_GiB=args.memory_budget,
                    rank_by=args.rank_by, jobs=args.jobs, client=client, workdir=workdir, resume=args.resume,
                    progress=not args.quiet and not args.json, chunk_size=args.chunk_size)
    except KeyboardInterrupt:
        where = f"; rerun with --resume to continue from {workdir}" if workdir else " (no --out/--workdir: nothing kept)"
        print(f"roofsim: sweep interrupted{where}", file=sys.stderr)
        return 130
    finally:
        if client is not None:
            client.close()
    if args.out:
        res.write(args.out)
    if args.plot:
        from sim.sweep.plots import plot_heatmap, plot_memory_throughput, plot_pareto
        x, _, y = args.heatmap.partition(",")
        plot_memory_throughput(res, f"{args.plot}_memory.png")
        plot_heatmap(res, x.strip(), y.strip(), f"{args.plot}_heatmap.png")
        if len(gpus) > 1:
            plot_pareto(res, f"{args.plot}_pareto.png")
    if args.json:
        print(json.dumps({"top": res.top(args.top), "pareto": res.pareto(), "stats": res.stats}, indent=1))
        return 0
    s = res.stats
    print(f"{args.model} on {args.cluster}, global batch {args.global_batch}, seq {args.seq_len}: "
          f"{s['plans']:,} plans, {s['invalid']:,} invalid, {s['over_memory']:,} over memory, "
          f"{s['evaluated']:,} estimated ({s['plans_per_s']:,.0f} plans/s), {s['refined']} simulated")
    print(format_table(res.top(args.top)))
    if len(gpus) > 1:
        print("Pareto front (throughput vs GPUs): " + ", ".join(
            f"{r['gpus']:,} GPUs {r['tokens_per_s']:,.0f} tok/s" for r in res.pareto()))
    if args.out:
        print(f"wrote {len(res.rows):,} rows to {args.out}")
    return 0
