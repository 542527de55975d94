"""`roofsim plan`: capacity planning: time, GPU-hours, cost and energy to train a model on a token budget."""
from __future__ import annotations

import json

from sim.commands.simulate import add_step_arguments

GiB = 2**30


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("plan", help="capacity plan: days, GPU-hours, cost, energy per GPU count",
                              description="Time, GPU-hours, cost, energy and MFU of training a model on a token "
                                          "budget for each GPU count; GPUs needed for a deadline; the largest "
                                          "model one GPU holds. Step flags describe the per-GPU step.")
    add_step_arguments(p)
    p.add_argument("--tokens", default="15T", help="token budget: 15T, 300B, 2.5e12 (default 15T)")
    p.add_argument("--gpus", default="1024,2048,4096,8192,16384",
                   help="GPU counts: 1024,2048 or 1024-16384 (doublings) or 1024:8192:1024")
    p.add_argument("--deadline-days", type=float, default=None, help="report the GPUs needed to finish in time")
    p.add_argument("--granularity", type=int, default=None,
                   help="GPU count granularity of the deadline answer (default 512 on a cluster, 8 placeholder)")
    p.add_argument("--price-per-gpu-hour", type=float, default=None, help="price of one GPU-hour (any currency)")
    p.add_argument("--cluster", default=None,
                   help="cluster to plan on (default: the usual cluster of --hardware); each GPU count gets its "
                        "best parallelism plan from a sweep, simulated by the event engine")
    p.add_argument("--global-batch-tokens", type=float, default=4 * 2**20,
                   help="tokens per optimizer step (default 4Mi; Llama 3 405B used 16Mi)")
    p.add_argument("--placeholder", action="store_true",
                   help="use the single-GPU x data-parallel placeholder instead of the cluster simulator")
    p.add_argument("--efficiency-per-doubling", type=float, default=None,
                   help="placeholder data-parallel scaling efficiency per doubling of GPUs (default 0.99)")
    p.add_argument("--pue", type=float, default=None, help="power usage effectiveness (default 1.2, assumption)")
    p.add_argument("--no-memory-wall", action="store_true", help="skip the largest-model-per-GPU scan")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", default=None, help="write scaling curves (throughput, MFU vs GPUs) to this PNG")


# The cluster a device usually comes in, when --cluster is not given.
USUAL_CLUSTER = {"h100-sxm": "dgx-h100-superpod", "a100-sxm-80gb": "dgx-a100-superpod",
                 "h200": "dgx-h100-superpod", "b200": "dgx-h100-superpod", "gb200": "gb200-nvl72"}


def throughput_function(args):
    """n_gpus -> StepResult: the best plan a sweep finds at that size, simulated by the event engine
    (or, with --placeholder, one GPU times a data-parallel scaling assumption)."""
    if not args.placeholder:
        return cluster_throughput(args)
    return placeholder_function(args)


def cluster_throughput(args):
    from hardware.catalog import get_device
    from sim.distributed import ClusterOptions, simulate_cluster
    from sim.sweep import sweep
    from topologies.catalog import get_cluster
    dev = get_device(args.hardware)
    name = args.cluster or USUAL_CLUSTER.get(dev.name)
    if name is None:
        raise ValueError(f"no usual cluster for {dev.name}; give --cluster")
    gbs = max(1, int(round(args.global_batch_tokens / args.seq_len)))
    opts = ClusterOptions(seq_len=args.seq_len, kernels=args.kernels, dtype=args.dtype,
                          attention_kernel=args.attention_kernel)

    def best(n: int):
        cluster = get_cluster(name, n)
        res = sweep(args.model, cluster, n, gbs, args.seq_len, options=opts, refine=2, jobs=1, progress=False)
        result, _ = simulate_cluster(args.model, cluster, res.best_plan(n), opts, gpus=n)
        return result

    def fn(n: int):
        """Best plan on n GPUs; when no plan divides n (e.g. 13,312 GPUs for a batch of 2,048), the job
        runs on the largest power of two <= n and the rest idle (their hours still count)."""
        try:
            return best(n)
        except ValueError:
            m = 1 << (n.bit_length() - 1)
            if m == n:
                raise
            return best(m)
    return fn


def placeholder_function(args):
    """The data-parallel PLACEHOLDER over the single-GPU step (no sharding, no communication)."""
    from sim.capacity import PLACEHOLDER_EFFICIENCY_PER_DOUBLING, placeholder_throughput
    from sim.commands.simulate import single_options
    from dataclasses import replace
    opts = single_options(args)
    if args.batch is None:
        opts = replace(opts, batch=1, micro_batch=1)   # placeholder: one sequence per GPU per step
    eff = args.efficiency_per_doubling if args.efficiency_per_doubling is not None \
        else PLACEHOLDER_EFFICIENCY_PER_DOUBLING
    return placeholder_throughput(args.model, args.hardware, opts, eff)


def build_plan(args):
    from sim.commands.simulate import resolve_seq_len
    resolve_seq_len(args)
    from dataclasses import replace
    from hardware.catalog import get_device
    from sim.capacity import memory_wall, plan_capacity
    from sim.power import PowerModel
    device = get_device(args.hardware)
    if args.plot is not None and not str(args.plot).lower().endswith(".png"):
        raise ValueError(f"--plot must name a .png file, got {args.plot!r}")
    power = PowerModel() if args.pue is None else replace(PowerModel(), pue=args.pue)
    wall = None if args.no_memory_wall else memory_wall(device, seq_len=args.seq_len, base=args.model)
    return plan_capacity(throughput_function(args), args.tokens, args.gpus, device,
                         price_per_gpu_hour=args.price_per_gpu_hour, deadline_days=args.deadline_days,
                         power_model=power, granularity=args.granularity or (8 if args.placeholder else 512),
                         wall=wall)


def format_plan(plan) -> str:
    """Terminal table of a CapacityPlan (every number with its unit)."""
    cost_h = "cost" if plan.price_per_gpu_hour is not None else ""
    lines = [f"roofsim plan: {plan.model} on {plan.hardware}, {plan.tokens:.3g} tokens",
             f"  {'GPUs':>7} {'step':>9} {'tokens/s':>12} {'MFU':>6} {'days':>8} {'GPU-hours':>11} "
             f"{cost_h:>12} {'energy':>10} {'power':>8}"]
    for r in plan.rows:
        cost = f"{r.cost:,.0f}" if r.cost is not None else ""
        lines.append(f"  {r.n_gpus:>7} {r.step_time_s:>7.2f} s {r.tokens_per_s:>12,.0f} {r.mfu * 100:>5.1f}% "
                     f"{r.days:>8.1f} {r.gpu_hours:>11,.0f} {cost:>12} {r.energy_mwh:>6,.0f} MWh "
                     f"{r.facility_w / 1e6:>5.2f} MW")
    if plan.deadline is not None:
        d = plan.deadline
        days = d.deadline_s / 86400
        if d.n_gpus is None:
            lines.append(f"  deadline {days:g} days: not reachable with up to {d.max_gpus} GPUs")
        else:
            lines.append(f"  deadline {days:g} days: needs {d.n_gpus} GPUs (multiple of {d.granularity}); "
                         f"{d.row.days:.1f} days, {d.row.gpu_hours:,.0f} GPU-hours")
    w = plan.memory_wall
    if w is not None:
        lines.append(f"  memory wall of one {w.hardware} (seq {w.seq_len}, best single-GPU plan):")
        for label, e in (("largest catalog model", w.largest), ("deepest variant of " + plan.model, w.depth_scaled)):
            if e is None:
                lines.append(f"    {label}: none fits")
            else:
                lines.append(f"    {label}: {e.name} ({e.params / 1e9:.2f} B params, peak {e.peak_bytes / GiB:.1f} "
                             f"of {e.capacity_bytes / GiB:.1f} GiB; {e.plan})")
    for n in plan.notes:
        lines.append(f"  note: {n}")
    if plan.provenance:
        lines.append("  from: " + "; ".join(f"{k}={v}" for k, v in plan.provenance.items()))
    return "\n".join(lines)


def run(args) -> int:
    plan = build_plan(args)
    if args.plot:
        from sim.plots.scaling import plot_scaling
        plot_scaling(plan.rows, args.plot, title=f"{plan.model} on {plan.hardware}: scaling "
                     f"({'placeholder' if any('PLACEHOLDER' in n for n in plan.notes) else 'simulated'})")
    if args.json:
        out = plan.to_dict()
        if args.plot:
            out["plot"] = str(args.plot)
        print(json.dumps(out, indent=2, default=float))
    else:
        print(format_plan(plan))
        if args.plot:
            print(f"  scaling curves written to {args.plot}")
    return 0
