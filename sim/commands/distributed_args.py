"""Flags of `roofsim simulate` for a cluster step (parallelism plan), and the call they make."""
from __future__ import annotations

import argparse

from sim.plan import OffloadPolicy, ParallelPlan

PLAN_INTS = ("tp", "pp", "dp", "cp", "ep", "vp")


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cluster and parallelism plan (any of these makes the step distributed)")
    g.add_argument("--cluster", default=None, help="cluster catalog name or .yaml/.json file")
    g.add_argument("--gpus", type=int, default=None, help="GPUs in the job (scales the cluster)")
    for name in PLAN_INTS:
        g.add_argument(f"--{name}", type=int, default=None)
    g.add_argument("--etp", type=int, default=None, help="expert tensor parallel (default: tp)")
    g.add_argument("--zero", type=int, choices=(0, 1, 2, 3), default=None)
    g.add_argument("--fsdp", action="store_true", help="PyTorch FSDP full shard (= ZeRO-3)")
    g.add_argument("--schedule", choices=("1f1b", "interleaved", "zb", "gpipe", "dualpipev"), default=None,
                   help="dualpipev: DeepSeek's DualPipe in its V form (two chunks per rank, vp=2)")
    g.add_argument("--global-batch", type=int, default=None, help="sequences per step, all replicas")
    g.add_argument("--stage-layers", default=None,
                   help="comma list of layers per pipeline rank (default: even, the ends one short when uneven)")
    g.add_argument("--no-sequence-parallel", action="store_true")
    g.add_argument("--tp-overlap", action="store_true", help="overlap TP collectives with GEMMs")
    g.add_argument("--no-dp-overlap", action="store_true")
    g.add_argument("--no-param-gather-overlap", action="store_true",
                   help="distributed optimizer: all-gather the updated parameters after the step, exposed "
                        "(default: under the next forward, Megatron --overlap-param-gather)")
    g.add_argument("--ep-overlap", action="store_true",
                   help="Megatron-Core's EP comm overlap: hides 20%% of the expert all-to-all (measured on NeMo 26 "
                        "recipes, sim.distributed.EP_OVERLAP_HIDDEN)")
    g.add_argument("--offload", default=None,
                   help="comma list of what leaves the GPU: optimizer=cpu|nvme,params=cpu|nvme,"
                        "grads=cpu|nvme,activations=cpu")
    g.add_argument("--zeroth-order", action="store_true", help="MeZO/ZO2 forward-only fine-tuning")
    g.add_argument("--delayed-update", action="store_true", help="ZeRO-Offload one-step delayed parameter update")
    g.add_argument("--precision", default=None,
                   help="megatron (bf16 weights, fp32 grads + master + Adam: 18 B/param) | mixed (16-bit grads: "
                        "ZeRO's 16 B/param) | pure-bf16 (8 B/param) | fp32")
    g.add_argument("--overlap-slowdown", type=float, default=None)
    g.add_argument("--trace", default=None, help="write a Chrome/Perfetto trace of the step here")
    g.add_argument("--trace-stages", default=None, help="comma list of pipeline stages to trace (default all)")


def is_distributed(args) -> bool:
    return any(getattr(args, k, None) is not None for k in
               ("cluster", "gpus", "global_batch", "zero", "schedule", "offload", "stage_layers", *PLAN_INTS)) \
        or args.fsdp or args.zeroth_order


def _offload(text: str | None) -> OffloadPolicy:
    if not text:
        return OffloadPolicy()
    kw: dict = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in ("optimizer", "params", "grads", "activations"):
            raise ValueError(f"--offload: unknown item {key!r}; use optimizer, params, grads, activations")
        kw[key] = value.strip() or "cpu"
    # ZeRO-Offload: offloaded optimizer states bring their gradients to the host too, and the step
    # runs there (CPU Adam); say grads=none explicitly to keep gradients on the GPU.
    if kw.get("optimizer", "none") != "none":
        kw.setdefault("grads", "cpu")
        kw["cpu_adam"] = True
    return OffloadPolicy(**kw)


def plan_from_args(args, n_gpus: int) -> ParallelPlan:
    """A ParallelPlan from flags; dp defaults to what the GPU count leaves."""
    tp, pp, cp = args.tp or 1, args.pp or 1, args.cp or 1
    dp = args.dp
    if dp is None:
        if n_gpus % (tp * pp * cp):
            raise ValueError(f"{n_gpus} GPUs are not divisible by tp*pp*cp = {tp}*{pp}*{cp}")
        dp = n_gpus // (tp * pp * cp)
    vp = args.vp or (2 if args.schedule == "dualpipev" else 1)
    mb = args.micro_batch or 1
    schedule = args.schedule or ("interleaved" if vp > 1 else "1f1b")
    gb = args.global_batch or (args.batch * dp if args.batch else dp * mb * max(pp, 1) * 4)
    return ParallelPlan(tp=tp, pp=pp, dp=dp, cp=cp, ep=args.ep or 1, etp=args.etp, vp=vp,
                        zero=args.zero or 0, fsdp=args.fsdp,
                        sequence_parallel=tp > 1 and not args.no_sequence_parallel,
                        micro_batch=mb, global_batch=gb, schedule=schedule,
                        recompute=args.recompute or "none", tp_overlap=args.tp_overlap,
                        dp_overlap=not args.no_dp_overlap, ep_overlap=args.ep_overlap,
                        param_gather_overlap=not args.no_param_gather_overlap, offload=_offload(args.offload),
                        zeroth_order=args.zeroth_order, stage_layers=_stage_layers(args.stage_layers))


def _stage_layers(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--stage-layers must be a comma list of integers, got {text!r}") from None


def one_node(hardware: str, n: int):
    """A single server of `n` GPUs of `hardware` (for --hardware without --cluster): NVLink/switch when
    the device has a scale-up link, else PCIe through the host."""
    from hardware.catalog import get_device
    from topologies.cluster import Cluster, ScaleUp
    dev = get_device(hardware)
    if dev.scaleup_bandwidth > 0 and n <= max(dev.scaleup_domain, 1):
        up = ScaleUp("switch", dev.scaleup_bandwidth, 0.82)   # NB: NCCL-usable share, see topologies
    else:
        up = ScaleUp("pcie", max(dev.host_link_bandwidth, 1e9), 0.8)
    arch = {"h100-sxm": "hopper", "h100-pcie": "hopper", "h800": "hopper", "h200": "hopper",
            "b200": "blackwell", "gb200": "blackwell", "v100-sxm2-32gb": "volta"}.get(dev.name, "ampere")
    return Cluster(name=f"{n}x{dev.name}", device=dev.name, arch=arch, nodes=1, gpus_per_node=n, scale_up=up)


def simulate(args):
    """Run the distributed simulator for these flags; writes the trace if asked."""
    return simulate_with_engine(args)[0]


def simulate_with_engine(args, record_timeline: bool = False):
    """(StepResult, EngineResult) for these flags; writes the trace if asked."""
    from sim.distributed import ClusterOptions, OVERLAP_SLOWDOWN, simulate_cluster
    from topologies.catalog import get_cluster
    if args.cluster:
        cluster = get_cluster(args.cluster, args.gpus)
        from hardware.catalog import get_device
        from sim.commands.simulate import DEFAULT_HARDWARE
        if args.hardware != DEFAULT_HARDWARE and get_device(args.hardware).name != get_device(cluster.device).name:
            raise ValueError(f"--hardware {args.hardware} contradicts --cluster {args.cluster}, whose GPUs are "
                             f"{cluster.device}; give one of them (or a cluster file with that device)")
    else:
        cluster = one_node(args.hardware, args.gpus or 1)
    n_gpus = args.gpus or cluster.nodes * cluster.gpus_per_node
    plan = plan_from_args(args, n_gpus)
    opts = ClusterOptions(seq_len=args.seq_len, kernels=args.kernels, dtype=args.dtype,
                          record_timeline=record_timeline,
                          precision=args.precision or ("pure-bf16" if args.optimizer_state_dtype == "bf16" else "megatron"),
                          overlap_slowdown=args.overlap_slowdown or OVERLAP_SLOWDOWN,
                          delayed_update=args.delayed_update,
                          attention_kernel=getattr(args, "attention_kernel", "native"))
    stages = [int(s) for s in args.trace_stages.split(",")] if args.trace_stages else None
    from sim.commands.simulate import load_user_profile
    result, engine = simulate_cluster(args.model, cluster, plan, opts, gpus=n_gpus,
                                      profile=load_user_profile(args, cluster.device),
                                      trace_stages=stages or (list(range(plan.pp)) if args.trace else None))
    if args.trace:
        from sim.trace import write_chrome_trace
        write_chrome_trace(engine, args.trace, stages)
    return result, engine
