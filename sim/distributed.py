"""One training step on a cluster under a parallelism plan: mapping, communication costs, the event engine.

Symmetry: every DP replica and every TP/CP/EP peer runs the same program, so one rank per
pipeline stage is simulated (`sim.engine`), and communication groups are priced once by their
structure on the fabric (`sim.placement` -> `topologies`).

Per (stage, model chunk) the engine gets:
  F: forward compute of the chunk's layers (+ embedding on the first, head on the last) and its
     TP/CP/EP collectives; B: backward (+ recompute); W: weight gradients when the schedule splits
     them (zero bubble); the DP gradient reduction on each chunk's last backward; FSDP/ZeRO-3
     parameter gathers on every F and B; p2p activation sends between stages; then the optimizer
     step (and the distributed optimizer's parameter all-gather) as each stage's tail.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from hardware.catalog import get_device
from hardware.perf import PerfProfile, profile_for
from hardware.spec import canonical_dtype
from sim.kernel_choice import with_attention_kernel
from sim.engine import CommPiece, TaskCost, simulate_pipeline
from sim.memory_dist import StateBytes, plan_memory
from sim.offload import offload_cost
from sim.zeroth_order import forward_workspace, perturb_time
from sim.placement import EXPERT_ORDER, MEGATRON_ORDER, group_layout, plan_sizes
from sim.plan import ParallelPlan, chunk_layers
from sim.schedules import peak_saved_bytes, virtual_stage
from sim.schedules.base import SCHEDULE_LAYOUT
from sim.precision import POLICIES, PrecisionPolicy
from sim.results import MemoryBreakdown, StepResult
from sim.schedules import build_schedule
from sim.single import usable_memory
from sim.throttle import throttled_for_step
from sim.timing import op_time
from topologies.catalog import get_cluster
from topologies.cluster import Cluster
from topologies.collectives import collective_time
from topologies.group import Group
from workloads.catalog import get_model
from workloads.flops import model_flops_per_token
from workloads.graph import Section, StepGraph, build_step
from workloads.model import ModelConfig
from workloads.optimizer import optimizer_ops

# Compute running beside communication on the same GPU is slowed by this factor: NCCL kernels take
# SMs (one per channel; 16-32 of 132 on H100 for large messages) and HBM bandwidth. A prior, not
# fitted: overlap costs of 5-20% are reported for Megatron TP/DP overlap (e.g. Wang et al. 2023,
# "Overlap communication with dependent computation", ASPLOS; MegaScale, NSDI 2024, sec. 3.2).
OVERLAP_SLOWDOWN = 1.1
# Megatron-Core's EP comm overlap (--overlap-moe-expert-parallel-comm, batch-level F/B interleaving) hides only
# part of the expert all-to-all: on the four NeMo 26.x recipes that turn it on (Qwen3-235B on 256 H100; Qwen3-30B,
# Qwen3-235B and DeepSeek-V3 on GB200) the published throughput sits 0-31% of the way from our no-overlap to our
# full-overlap prediction (mean 18%). So an overlapped EP all-to-all runs 20% hidden, 80% on the compute lane.
# Fitted on those four rows (benchmarks/nemo26_held_out.py), which are therefore not held out for it.
# DualPipe's paired F&B chunks hide blocking comm on their own (sim.engine paired tasks) and are not affected.
EP_OVERLAP_HIDDEN = 0.2


def ep_overlap_split(secs: float) -> tuple[float, float]:
    """(seconds on the compute lane, seconds overlapped) of an expert all-to-all under EP comm overlap."""
    return secs * (1 - EP_OVERLAP_HIDDEN), secs * EP_OVERLAP_HIDDEN
# DP gradient buckets: Megatron's default bucket is 40M elements; the last bucket's reduction
# cannot overlap backward. We expose one bucket's worth of the reduction (at most all of it).
DP_BUCKET_PARAMS = 40e6


def param_gather_exposed(ag_s: float, params: float, first_forward_s: float) -> float:
    """Exposed part of the distributed optimizer's parameter all-gather when it runs bucket by bucket under the
    next step's first forward (Megatron's --overlap-param-gather): at least the first bucket, else what the
    forward cannot cover. A steady-state step: the gather that follows this step's optimizer is the next one's."""
    first = min(1.0, DP_BUCKET_PARAMS / max(params, 1.0))
    return max(ag_s * first, ag_s - first_forward_s)


# Cross-node pipeline sends go rank to rank over the NIC: one message per micro-batch boundary.
FWD, BWD, WGT = "F", "B", "W"


@dataclass(frozen=True)
class ClusterOptions:
    """What a user chooses beyond the plan: sequence length, kernels, precision, overlap model."""

    seq_len: int = 2048
    kernels: str = "fused"
    dtype: str = "bf16"
    precision: str = "megatron"        # sim.precision policy name (18 B/param: fp32 grads, master, Adam)
    overlap_slowdown: float = OVERLAP_SLOWDOWN
    order: str = MEGATRON_ORDER
    record_timeline: bool = False
    dropout: bool = False              # Megatron GPT-3 recipes keep dropout masks (1 B/elem)
    attention: str = "flash"           # "unfused": Megatron before flash attention (s^2 scores stored)
    attention_kernel: str = "native"   # "fa2": FlashAttention-2 on Hopper (sim.kernel_choice)
    delayed_update: bool = False       # ZeRO-Offload's one-step delayed parameter update (DPU)


@dataclass(frozen=True)
class _ChunkCost:
    """Seconds of one micro-batch of one model chunk on one rank, split by what can overlap what."""

    fwd: float
    bwd: float
    wgt: float          # weight-gradient GEMMs (inside bwd unless the schedule splits them)
    comm: dict          # (phase, group) -> seconds of blocking-capable collectives
    params: float       # parameters of the chunk on this rank (dense)
    expert_params: float
    saved: float        # activations kept per micro-batch
    workspace: float
    categories: dict    # category -> seconds per micro-batch (fwd+bwd)
    units: int = 1      # FSDP/ZeRO-3 wrapping units (one per layer, + embedding / head)


def comm_groups(plan: ParallelPlan, cluster: Cluster, order: str) -> dict[str, Group]:
    """Structural Group of every parallel dimension, as the collective model needs it."""
    gpn = cluster.gpus_per_node
    dense = plan_sizes(plan)
    out = {}
    for dim, sizes, ordr in (("tp", dense, order), ("cp", dense, order), ("dp", dense, order),
                             ("pp", dense, order)):
        lay = group_layout(sizes, dim, gpn, ordr)
        out[dim] = Group(lay.size, max(lay.stride, 1))
    lay = group_layout(dense, "dp-cp", gpn, order)
    out["dpcp"] = Group(lay.size, max(lay.stride, 1))
    expert = plan_sizes(plan, expert=True)
    for dim, key in (("ep", "ep"), ("etp", "etp"), ("edp", "edp")):
        lay = group_layout(expert, dim, gpn, EXPERT_ORDER)
        out[key] = Group(lay.size, max(lay.stride, 1))
    return out


def _comm_time(cluster: Cluster, groups: dict, collective: str, group: str, nbytes: float) -> float:
    g = groups[group]
    if g.size == 1 or nbytes <= 0:
        return 0.0
    # Inside a training step collectives are enqueued on streams ahead of time: the host floor of a
    # lone torch.distributed call (topologies.calibration.HOST_FLOOR_S) does not apply, the GPU time does.
    return collective_time(cluster, collective, nbytes, g, host_floor=False).time_s


def _section_costs(sec: Section, dev, prof: PerfProfile, dtype: str, cluster, groups, split_w: bool):
    """Per-repeat compute seconds by phase, comm seconds by (phase, group), and category seconds."""
    fwd = bwd = wgt = 0.0
    comm: dict = defaultdict(float)
    cats: dict = defaultdict(float)
    for op in sec.ops:
        if op.kind == "comm":
            collective, group, nbytes = op.dims
            comm[(op.phase, group)] += _comm_time(cluster, groups, collective, group, nbytes) * op.count
            continue
        t = op_time(op, dev, prof, dtype).time_s * op.count
        cats[op.category] += t
        if op.phase == "fwd":
            fwd += t
        elif split_w and op.kind == "gemm" and op.name.endswith(".wgrad"):
            wgt += t
        else:
            bwd += t
    return fwd, bwd, wgt, comm, cats


def _chunk_layers(graph: StepGraph, plan: ParallelPlan, v: int) -> list[str]:
    """Layer kinds of virtual stage v: a contiguous block (sim.plan.chunk_layers for uneven splits)."""
    n = len(graph.layer_kinds)
    r = chunk_layers(n, plan.pp, plan.vp, v, SCHEDULE_LAYOUT[plan.schedule], plan.stage_counts(n))
    return list(graph.layer_kinds[r.start:r.stop])


def _chunk_cost(graph, plan, dev, prof, dtype, cluster, groups, stage, chunk, split_w, cache) -> _ChunkCost:
    v, last = virtual_stage(plan.schedule, plan.pp, plan.vp, stage, chunk), plan.pp * plan.vp - 1
    kinds = _chunk_layers(graph, plan, v)
    sections = [(graph.layer(k), 1) for k in kinds]
    if v == 0:
        sections.append((graph.embedding, 1))
    if v == last:
        sections.append((graph.head, 1))
    fwd = bwd = wgt = params = experts = saved = ws = 0.0
    comm: dict = defaultdict(float)
    cats: dict = defaultdict(float)
    for sec, n in sections:
        key = sec.kind
        if key not in cache:
            cache[key] = _section_costs(sec, dev, prof, dtype, cluster, groups, split_w)
        f, b, w, c, ca = cache[key]
        fwd += f * n
        bwd += b * n
        wgt += w * n
        for k, v in c.items():
            comm[k] += v * n
        for k, v in ca.items():
            cats[k] += v * n
        params += sec.params * n
        experts += sec.expert_params * n
        saved += sec.saved_bytes * n
        ws = max(ws, sec.workspace_bytes)
    if graph.model.tied_embeddings and v == last and stage != 0:
        params += graph.embedding.params   # Megatron keeps a copy of the tied embedding on the last stage
    return _ChunkCost(fwd, bwd, wgt, dict(comm), params, experts, saved, ws, dict(cats), max(1, len(sections)))


def precision_policy(opts: ClusterOptions, plan: ParallelPlan) -> PrecisionPolicy:
    if plan.zeroth_order:
        return PrecisionPolicy("zeroth-order", 2, 0, 0, 0, "bf16 weights only (MeZO)", "bf16", "bf16", "bf16")
    if opts.precision not in POLICIES:
        raise ValueError(f"unknown precision {opts.precision!r}; known: {', '.join(POLICIES)}")
    return POLICIES[opts.precision]


def step_graph(m: ModelConfig, plan: ParallelPlan, opts: ClusterOptions) -> StepGraph:
    """The per-rank operator graph of one micro-batch under `plan` (shared with sim.analytical)."""
    dtype = canonical_dtype(opts.dtype)
    act_dtype = {"fp8": "fp8", "fp32": "fp32", "fp16": "fp16"}.get(dtype, "bf16")   # fp8: GEMMs only
    return build_step(m, plan.micro_batch, opts.seq_len, kernels=opts.kernels, recompute=plan.recompute,
                      dtype=act_dtype, tp=plan.tp, cp=plan.cp,
                      sequence_parallel=plan.sequence_parallel if plan.tp > 1 else False,
                      ep=plan.ep, etp=plan.expert_tp if m.is_moe else 1, dropout=opts.dropout,
                      attention=opts.attention)


def step_profile(dev, base: PerfProfile, opts: ClusterOptions, graph: StepGraph) -> PerfProfile:
    """The device profile as this step sees it: its attention kernel, then power-capped clocks."""
    dtype = canonical_dtype(opts.dtype)
    prof = with_attention_kernel(base, dev, opts.attention_kernel)
    return throttled_for_step(prof, dev, dtype, graph)


def simulate_cluster(model: ModelConfig | str, cluster: Cluster | str, plan: ParallelPlan,
                     options: ClusterOptions | None = None, *, gpus: int | None = None,
                     profile: PerfProfile | None = None, trace_stages=None):
    """Predict one training step of `model` on `cluster` under `plan`; returns (StepResult, EngineResult)."""
    opts = options or ClusterOptions()
    m = get_model(model)
    cl = cluster if isinstance(cluster, Cluster) else get_cluster(cluster, gpus or plan.n_gpus)
    plan.validate(cl.nodes * cl.gpus_per_node, m.n_layers, m.n_heads, m.n_kv_heads, m.n_experts)
    dev = get_device(cl.device)
    dtype = canonical_dtype(opts.dtype)
    dev.flops(dtype)
    policy = precision_policy(opts, plan)
    graph = step_graph(m, plan, opts)
    prof = step_profile(dev, profile or profile_for(dev), opts, graph)
    groups = comm_groups(plan, cl, opts.order)
    sched = build_schedule(plan.schedule, plan.pp, plan.num_microbatches, plan.vp)
    split_w = getattr(sched, "split_backward", False)
    cache: dict = {}
    chunks = {(s, c): _chunk_cost(graph, plan, dev, prof, dtype, cl, groups, s, c, split_w, cache)
              for s in range(plan.pp) for c in range(plan.vp)}
    zero = plan.zero_stage
    grad_bytes = policy.grad_bytes

    def stage_shard(stage: int) -> tuple[float, float]:
        """(params held, optimizer shard) of one pipeline rank."""
        params = sum(chunks[(stage, c)].params for c in range(plan.vp))
        experts = sum(chunks[(stage, c)].expert_params for c in range(plan.vp))
        shard = params / (plan.dp * plan.cp) if zero >= 1 else params
        shard += experts / plan.expert_dp if zero >= 1 else experts
        return params + experts, shard

    def gpu_optimizer(shard: float) -> float:
        if plan.zeroth_order:    # MeZO: regenerate-and-add passes over the weights replace Adam
            return perturb_time(dev, prof, shard, policy.weight_bytes)
        return sum(op_time(op, dev, prof, dtype).time_s * op.count
                   for op in optimizer_ops(int(shard), policy.param_dtype, policy.state_dtype,
                                           master_weights=policy.master_weights, fused=True,
                                           grad_dtype=policy.grad_dtype))

    offload = {}
    if plan.offload.any:
        states = StateBytes(policy.weight_bytes, policy.grad_bytes, policy.optimizer_bytes)
        for s in range(plan.pp):
            _, shard = stage_shard(s)
            offload[s] = offload_cost(
                dev, plan.offload, shard, states, sum(chunks[(s, c)].fwd for c in range(plan.vp)),
                sum(chunks[(s, c)].bwd + chunks[(s, c)].wgt for c in range(plan.vp)),
                microbatches=plan.num_microbatches, layers=max(1, len(graph.layer_kinds) // plan.pp),
                saved_bytes=sum(chunks[(s, c)].saved for c in range(plan.vp)),
                gpu_optimizer_s=gpu_optimizer(shard), delayed_update=opts.delayed_update,
                active_gpus_per_host=min(plan.n_gpus, cl.gpus_per_node))

    def comm_pieces(cc: _ChunkCost, phase: str, stage: int) -> tuple:
        pieces = []
        for (ph, group), secs in cc.comm.items():
            if ph != phase or secs <= 0:
                continue
            kind = {"etp": "tp", "ep": "ep"}.get(group, group)
            mode = plan.comm_mode(kind)
            if kind == "ep" and mode == "overlapped":   # partly hidden only: EP_OVERLAP_HIDDEN
                lane, secs = ep_overlap_split(secs)
                pieces.append(CommPiece(f"comm:{group}", lane, "blocking"))
            pieces.append(CommPiece(f"comm:{group}", secs, mode))
        if zero >= 3:   # FSDP / ZeRO-3: gather this chunk's params before its F and again before its B
            # One collective per wrapping unit (FSDP wraps each transformer block): at scale each pays
            # its ring latency, so a chunk is `units` collectives of its per-unit share, not one big one.
            # Dense params are sharded over DP x CP, routed experts over the expert-DP group.
            u = cc.units
            gather = u * (_comm_time(cl, groups, "all_gather", "dpcp", cc.params * policy.weight_bytes / u)
                          + _comm_time(cl, groups, "all_gather", "edp", cc.expert_params * policy.weight_bytes / u))
            if phase == "bwd":   # and reduce-scatter its grads after B, every micro-batch
                rs = u * (_comm_time(cl, groups, "reduce_scatter", "dpcp", cc.params * grad_bytes / u)
                          + _comm_time(cl, groups, "reduce_scatter", "edp", cc.expert_params * grad_bytes / u))
                # In backward the next unit's all-gather and this unit's reduce-scatter cross the same
                # links (NVLink/NIC) at once: they share the bandwidth, so their times add on one stream.
                gather += rs
            pieces.append(CommPiece("comm:fsdp", gather, plan.comm_mode("fsdp")))
        if stage in offload:   # exposed offload transfers (already net of their overlap with compute)
            oc = offload[stage]
            extra = (oc.fwd_exposed_s if phase == "fwd" else oc.bwd_exposed_s) / plan.vp
            if extra > 0:
                pieces.append(CommPiece("offload", extra, "blocking"))
        return tuple(pieces)

    def cost(stage: int, chunk: int, kind: str) -> TaskCost:
        cc = chunks[(stage, chunk)]
        if kind == FWD:
            return TaskCost(cc.fwd, comm_pieces(cc, "fwd", stage))
        if plan.zeroth_order:    # MeZO/ZO2: the "backward" slot is the second perturbed forward
            return TaskCost(cc.fwd if kind == BWD else 0.0)
        if kind == BWD:
            return TaskCost(cc.bwd, comm_pieces(cc, "bwd", stage))
        return TaskCost(cc.wgt)

    def grad_sync(stage: int, chunk: int):
        if zero >= 3 or plan.zeroth_order:
            return ()
        cc = chunks[(stage, chunk)]
        op = "reduce_scatter" if zero >= 1 else "all_reduce"
        t = _comm_time(cl, groups, op, "dpcp", cc.params * grad_bytes)
        t += _comm_time(cl, groups, op, "edp", cc.expert_params * grad_bytes)
        if t <= 0:
            return ()
        if plan.comm_mode("dp") == "blocking":
            return (("comm:dp", t, True),)
        # Buckets are reduced while the chunk's last backward still runs; what is left when it ends
        # (at least the last bucket) continues asynchronously and only gates the optimizer. The
        # gradient send to the previous stage does not wait for it, so all of it is "async" here.
        last = min(1.0, DP_BUCKET_PARAMS / max(cc.params + cc.expert_params, 1.0))
        return (CommPiece("comm:dp", max(t * last, t - cc.bwd - cc.wgt), "async"),)

    def tail(stage: int) -> TaskCost:
        params, shard = stage_shard(stage)
        opt = offload[stage].tail_exposed_s if stage in offload else gpu_optimizer(shard)
        pieces = []
        if 1 <= zero < 3 and not plan.zeroth_order:   # distributed optimizer: gather the updated params
            dense = sum(chunks[(stage, c)].params for c in range(plan.vp))
            ag = (_comm_time(cl, groups, "all_gather", "dpcp", dense * policy.weight_bytes)
                  + _comm_time(cl, groups, "all_gather", "edp", (params - dense) * policy.weight_bytes))
            if plan.param_gather_overlap:   # bucket by bucket under the next step's first forward of this stage
                ag = param_gather_exposed(ag, params, sum(chunks[(stage, c)].fwd for c in range(plan.vp)))
            pieces.append(CommPiece("comm:dp", ag, "blocking"))
        return TaskCost(opt, tuple(pieces))

    act_bytes = plan.micro_batch * (opts.seq_len // plan.cp) * m.hidden * 2 / (plan.tp if plan.sequence_parallel else 1)
    pp_pair = Group(2, groups["pp"].stride)   # neighbouring stages: one sender, one receiver
    p2p_t = collective_time(cl, "send_recv", act_bytes, pp_pair, host_floor=False).time_s if plan.pp > 1 else 0.0
    eng = simulate_pipeline(sched, cost, p2p_t, overlap_slowdown=opts.overlap_slowdown,
                            p2p_blocking=plan.comm_mode("pp") == "blocking", tail=tail,
                            grad_sync=grad_sync, record_timeline=opts.record_timeline or bool(trace_stages))
    return _result(m, cl, dev, plan, opts, policy, graph, sched, chunks, eng, prof, offload), eng


# Relative 90% half-width (log) given to exposed communication: the collective model's error on
# the measured H200 pair and published 8-GPU figures (docs/collectives.md) is within ~25-35%.
COMM_LOG_HALF_WIDTH = 0.35
# What a cluster step adds beyond its kernels and collectives (framework overheads, sustained clocks,
# stragglers): the spread of the published-run errors in docs/validation.md (up to ~20-25% on H100).
CLUSTER_LOG_HALF_WIDTH = 0.2


def _band(step: float, breakdown: dict, prof: PerfProfile) -> tuple[float, float]:
    """90% band of a cluster step: compute as large GEMMs (fully correlated), comm with its own prior."""
    from sim.uncertainty import log_band
    total = sum(breakdown.values()) or step
    comm = sum(v for k, v in breakdown.items() if k.startswith("exposed_")) / total
    centre, lo, hi = log_band("gemm m>=128", prof, ("transferred",) if prof.transferred_from else ())
    lo_w = ((1 - comm) ** 2 * lo ** 2 + (comm * COMM_LOG_HALF_WIDTH) ** 2 + CLUSTER_LOG_HALF_WIDTH ** 2) ** 0.5
    hi_w = ((1 - comm) ** 2 * hi ** 2 + (comm * COMM_LOG_HALF_WIDTH) ** 2 + CLUSTER_LOG_HALF_WIDTH ** 2) ** 0.5
    return step * math.exp(centre - lo_w), step * math.exp(centre + hi_w)


def _result(m, cl, dev, plan, opts, policy, graph, sched, chunks, eng, prof, offload) -> StepResult:
    nm = plan.num_microbatches
    tokens = plan.global_batch * opts.seq_len
    n_gpus = plan.n_gpus
    model_flops = model_flops_per_token(m, opts.seq_len) * tokens
    hw_flops = graph.flops * nm * n_gpus / plan.pp   # graph: all layers of one TP/CP rank, one micro-batch
    # Time by category on the busiest stage, then bubble and exposed communication.
    busiest = max(range(plan.pp), key=lambda s: eng.compute_work[s])
    breakdown: dict[str, float] = defaultdict(float)
    for c in range(plan.vp):
        for k, v in chunks[(busiest, c)].categories.items():
            breakdown[k] += v * nm
    breakdown["pipeline_bubble"] = eng.bubble[busiest]
    for kind, secs in eng.exposed_comm_per_stage[busiest].items():
        breakdown[f"exposed_{kind.replace('comm:', '')}_comm"] = secs
    tail_opt = eng.step_time - sum(breakdown.values())
    if tail_opt > 0:
        breakdown["optimizer_and_other"] = tail_opt
    # Memory: the worst stage.
    states = StateBytes(policy.weight_bytes, policy.grad_bytes, policy.optimizer_bytes)
    worst: MemoryBreakdown | None = None
    for s in range(plan.pp):
        params = sum(chunks[(s, c)].params for c in range(plan.vp))
        experts = sum(chunks[(s, c)].expert_params for c in range(plan.vp))
        saved = sum(chunks[(s, c)].saved for c in range(plan.vp))   # one micro-batch through the stage
        ws = max(chunks[(s, c)].workspace for c in range(plan.vp))
        in_flight = sched.in_flight[s] if hasattr(sched, "in_flight") else nm
        if plan.vp > 1 and saved > 0 and hasattr(sched, "stages"):   # chunks may differ (head, embedding)
            peak = peak_saved_bytes(sched.stages[s], {c: chunks[(s, c)].saved for c in range(plan.vp)},
                                    sched.split_backward)
            in_flight = peak / saved
        layer_params = graph.layers[0].params
        transient = forward_workspace(graph) if plan.zeroth_order else ws
        gm = plan_memory(plan, params, saved, in_flight, experts, layer_params, states, transient=transient)
        oc = offload.get(s)
        mb = MemoryBreakdown(weights=gm.model_states.params, gradients=gm.model_states.grads,
                             optimizer=gm.model_states.optimizer, activations=gm.activations,
                             transient=gm.transient, other=gm.comm_buffers, peak=gm.total,
                             capacity=usable_memory(dev), host_bytes=oc.host_bytes if oc else gm.host,
                             nvme_bytes=oc.nvme_bytes if oc else gm.nvme)
        if worst is None or mb.peak > worst.peak:
            worst = mb
    notes = []
    for s, oc in offload.items():   # its exposed time is already in the engine's "offload" stream and tail
        if not oc.host_fits:
            notes.append(f"stage {s}: offloaded states need {oc.host_bytes / 2**30:.0f} GiB of host memory, "
                         f"the host share is {oc.host_capacity / 2**30:.0f} GiB")
        notes.extend(n for n in oc.notes if n not in notes)
    if not worst.fits:
        notes.append(f"does not fit: the worst stage needs {worst.peak / 2**30:.1f} GiB of "
                     f"{worst.capacity / 2**30:.1f} GiB usable (over by {worst.overflow / 2**30:.1f} GiB)")
    config = {"cluster": cl.name, "gpus": n_gpus, "tp": plan.tp, "pp": plan.pp, "dp": plan.dp, "cp": plan.cp,
              "ep": plan.ep, "vp": plan.vp, "zero": plan.zero_stage, "schedule": plan.schedule,
              "micro_batch": plan.micro_batch, "global_batch": plan.global_batch, "num_microbatches": nm,
              "seq_len": opts.seq_len, "recompute": plan.recompute, "sequence_parallel": plan.sequence_parallel,
              "dtype": opts.dtype, "precision": policy.name, "kernels": opts.kernels,
              "overlap_slowdown": opts.overlap_slowdown}
    prov = {"device_spec": dev.name, "cluster": cl.name, "model": m.name,
            "perf_profile": prof.source + (f" (transferred from {prof.transferred_from})" if prof.transferred_from else "")}
    low, high = _band(eng.step_time, breakdown, prof)
    return StepResult(model=m.name, hardware=dev.name, config=config, step_time_s=eng.step_time,
                      step_time_s_low=low, step_time_s_high=high,
                      tokens_per_step=tokens, model_flops=model_flops, hardware_flops=hw_flops,
                      peak_flops=dev.flops(canonical_dtype(opts.dtype)), n_gpus=n_gpus,
                      breakdown=dict(breakdown), memory=worst, ops=(), notes=tuple(notes), provenance=prov)
