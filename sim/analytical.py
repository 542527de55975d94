"""Closed-form estimate of a plan's step time and memory, no event engine: the fast tier of a sweep.

Same costs as `sim.distributed` (per-layer op times from the cached graph, collectives from
`topologies`), combined by formulas instead of the event loop. Per micro-batch, stage s runs
its chunks' tasks; a task lasts
    blocking comm + overlap(compute, overlapped comm),
    overlap(c, x) = x if x >= c*k else c + x*(1 - 1/k)        (k = overlap slowdown)
and async comm (p2p sends, FSDP reduce-scatters) costs the slowdown it inflicts, x*(1 - 1/k).
With t_s = F_s + B_s (+ W_s) per micro-batch on stage s (all its chunks):
    T_pipe = m*max_s t_s + bubble + 2(p-1)*t_p2p
    bubble = sum_s t_s - max_s t_s              1f1b, gpipe   ((p-1)*t when uniform)
             (sum_s t_s - max_s t_s) / v        interleaved   (Narayanan et al. 2021, sec. 2.2)
             (sum_s t_s - max_s t_s)*(F+B-W)/t  zb            (Qi et al. 2023: (p-1)*T_F when F=B=W)
    T_step = max_s(T_pipe - offset_s + dp_exposed_s + optimizer_s + dist-opt all-gather_s)
offset_s: stage s ends its last backward s hops before stage 0. dp_exposed: what of the DP
gradient reduction of the chunk's last backward is left when it ends (distributed.py's rule).
Memory is `sim.memory_dist.plan_memory` with in-flight counts from the schedule formulas.
NB: it ranks plans, it does not replace the engine: the sweep re-simulates its top plans.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from hardware.catalog import get_device
from hardware.perf import profile_for
from hardware.spec import canonical_dtype
from sim.pipeline_formulas import (BUBBLES, in_flight, paired_fraction, register_bubble,  # noqa: F401
                                   weighted_in_flight)
from sim.plan import chunk_layers
from sim.schedules import SPLIT_BACKWARD, layout_position, virtual_stage
from sim.schedules.base import SCHEDULE_LAYOUT
from sim.distributed import (DP_BUCKET_PARAMS, ClusterOptions, comm_groups, ep_overlap_split, param_gather_exposed,
                             precision_policy, step_graph, step_profile)
from sim.memory_dist import StateBytes, plan_memory
from sim.plan import ParallelPlan
from sim.single import usable_memory
from sim.timing import op_time
from topologies.catalog import get_cluster
from topologies.cluster import Cluster
from topologies.collectives import collective_time
from topologies.group import Group
from workloads.catalog import get_model
from workloads.flops import model_flops_per_token
from workloads.model import ModelConfig
from workloads.optimizer import optimizer_ops


@dataclass(frozen=True)
class Estimate:
    """Closed-form prediction of one step: time, throughput, MFU and the worst stage's memory."""

    step_time_s: float            # nan when only memory was estimated
    tokens_per_s: float
    mfu: float
    peak_bytes: float             # worst pipeline stage, bytes per GPU
    capacity_bytes: float
    bubble_s: float = 0.0
    exposed_comm_s: float = 0.0   # blocking TP/CP/EP comm + exposed DP + optimizer-tail comm
    optimizer_s: float = 0.0

    @property
    def fits(self) -> bool:
        return self.peak_bytes <= self.capacity_bytes


@dataclass(frozen=True)
class _Sec:
    """One section (layer kind, embedding, head) of one micro-batch on one rank: compute seconds and sizes."""

    fwd: float
    bwd: float
    wgt: float
    comm: tuple            # ((phase, collective, group, bytes, count), ...)
    params: float
    experts: float
    saved: float
    ws: float


@dataclass
class _Chunk:
    """Sum of sections of one (stage, chunk)."""

    fwd: float = 0.0
    bwd: float = 0.0
    wgt: float = 0.0
    params: float = 0.0
    experts: float = 0.0
    saved: float = 0.0
    ws: float = 0.0
    comm: dict = None      # (phase, group) -> seconds
    units: int = 1         # FSDP wrapping units (layers, + embedding / head), as in sim.distributed


def _overlap(c: float, x: float, k: float) -> float:
    """Duration of compute c with comm x on another stream of the same GPU (engine's slowdown rule)."""
    if x <= 0:
        return c
    if x >= c * k:
        return x
    return c + x * (1.0 - 1.0 / k)


class AnalyticalModel:
    """Closed-form step estimates of one model on one cluster size; memoizes costs across plans."""

    def __init__(self, model: ModelConfig | str, cluster: Cluster | str, options: ClusterOptions | None = None,
                 *, gpus: int | None = None, profile=None):
        self.opts = options or ClusterOptions()
        self.model = get_model(model)
        self.cluster = cluster if isinstance(cluster, Cluster) else get_cluster(cluster, gpus)
        if gpus is not None and isinstance(cluster, Cluster) and cluster.nodes * cluster.gpus_per_node != gpus:
            self.cluster = cluster.with_gpus(gpus)
        self.n_gpus = self.cluster.nodes * self.cluster.gpus_per_node
        self.dev = get_device(self.cluster.device)
        self.dtype = canonical_dtype(self.opts.dtype)
        self.peak_flops = self.dev.flops(self.dtype)
        self.base_prof = profile or profile_for(self.dev)
        self.prof = self.base_prof   # replaced per step graph by step_profile (attention kernel, throttling)
        self.act_dtype = {"fp8": "fp8", "fp32": "fp32", "fp16": "fp16"}.get(self.dtype, "bf16")   # as distributed.py
        self.capacity = usable_memory(self.dev)
        self.flops_per_token = model_flops_per_token(self.model, self.opts.seq_len)
        self.kinds = self.model.layer_kinds()
        self.homogeneous = len(set(self.kinds)) == 1
        self.k = self.opts.overlap_slowdown
        self._graphs: dict = {}
        self._groups: dict = {}
        self._comm: dict = {}
        self._opt: dict = {}
        self._chunks: dict = {}

    # --- cached building blocks ---
    def _graph(self, plan: ParallelPlan, split_w: bool):
        key = (plan.micro_batch, plan.recompute, plan.tp, plan.cp, plan.sequence_parallel and plan.tp > 1,
               plan.ep, plan.expert_tp if self.model.is_moe else 1, split_w)
        g = self._graphs.get(key)
        if g is None:
            graph = step_graph(self.model, plan, self.opts)
            self.prof = step_profile(self.dev, self.base_prof, self.opts, graph)
            secs = {sec.kind: self._section(sec, split_w) for sec in graph.sections}
            g = self._graphs[key] = (key, secs, graph.flops, graph.layers[0].params)
        return g

    def _graph_extras(self) -> dict:
        """build_step keywords simulate_cluster passes from ClusterOptions (those this version has)."""
        return {k: getattr(self.opts, k) for k in ("dropout", "attention") if hasattr(self.opts, k)}

    def _section(self, sec, split_w: bool) -> _Sec:
        fwd = bwd = wgt = 0.0
        comm = []
        for op in sec.ops:
            if op.kind == "comm":
                collective, group, nbytes = op.dims
                comm.append((op.phase, collective, group, float(nbytes), op.count))
                continue
            t = op_time(op, self.dev, self.prof, self.dtype).time_s * op.count
            if op.phase == "fwd":
                fwd += t
            elif split_w and op.kind == "gemm" and op.name.endswith(".wgrad"):
                wgt += t
            else:
                bwd += t
        return _Sec(fwd, bwd, wgt, tuple(comm), float(sec.params), float(sec.expert_params),
                    float(sec.saved_bytes), float(sec.workspace_bytes))

    def groups(self, plan: ParallelPlan) -> dict:
        key = (plan.tp, plan.cp, plan.dp, plan.pp, plan.ep, plan.expert_tp)
        g = self._groups.get(key)
        if g is None:
            g = self._groups[key] = comm_groups(plan, self.cluster, self.opts.order)
        return g

    def comm_time(self, groups: dict, collective: str, group: str, nbytes: float) -> float:
        """Seconds of one collective on one of the plan's groups (0 for a group of one)."""
        g = groups[group]
        if g.size == 1 or nbytes <= 0:
            return 0.0
        key = (collective, g.size, g.stride, nbytes)
        t = self._comm.get(key)
        if t is None:
            t = self._comm[key] = collective_time(self.cluster, collective, nbytes, g, host_floor=False).time_s
        return t

    def _optimizer_time(self, shard: float, policy) -> float:
        key = (int(shard), policy.name)
        t = self._opt.get(key)
        if t is None:
            t = sum(op_time(op, self.dev, self.prof, self.dtype).time_s * op.count
                    for op in optimizer_ops(int(shard), policy.param_dtype, policy.state_dtype,
                                            master_weights=policy.master_weights, fused=True,
                                            grad_dtype=policy.grad_dtype))
            self._opt[key] = t
        return t

    def _chunk(self, g, groups, gkey, pp: int, vp: int, v: int, tied_copy: bool = True, layout: str = "loop",
               counts: tuple[int, ...] | None = None) -> _Chunk:
        """Cost of virtual stage v (layers, + embedding on v=0, + head on the last; `tied_copy`: the last
        stage sits on another rank than the embedding, so it keeps its own copy of tied weights)."""
        last = pp * vp - 1
        r = chunk_layers(len(self.kinds), pp, vp, v, layout, counts)
        layers = Counter(self.kinds[r.start:r.stop])
        ckey = (g[0], gkey, tuple(sorted(layers.items())), v == 0, v == last,
                self.model.tied_embeddings and pp > 1 and v == last and tied_copy)
        c = self._chunks.get(ckey)
        if c is not None:
            return c
        secs = g[1]
        parts = [(secs[k], n) for k, n in layers.items()]
        if v == 0:
            parts.append((secs["embedding"], 1))
        if v == last:
            parts.append((secs["head"], 1))
        c = _Chunk(comm={}, units=max(1, sum(n for _, n in parts)))
        for sec, n in parts:
            c.fwd += sec.fwd * n
            c.bwd += sec.bwd * n
            c.wgt += sec.wgt * n
            c.params += sec.params * n
            c.experts += sec.experts * n
            c.saved += sec.saved * n
            c.ws = max(c.ws, sec.ws)
            for phase, collective, group, nbytes, count in sec.comm:
                t = self.comm_time(groups, collective, group, nbytes) * count * n
                c.comm[(phase, group)] = c.comm.get((phase, group), 0.0) + t
        if ckey[5]:
            c.params += secs["embedding"].params   # tied embedding copy on the last stage (Megatron)
        self._chunks[ckey] = c
        return c

    def _stages(self, plan: ParallelPlan) -> list[int]:
        """Stages whose costs differ: all of them unless every layer is the same kind."""
        p = plan.pp
        if not self.homogeneous or len(self.kinds) % (p * plan.vp) or plan.stage_layers:
            return list(range(p))   # mixed layer kinds or an uneven split: stages differ
        return sorted({0, p // 2, p - 1})

    def _stage_chunks(self, plan, g, groups, gkey, s):
        tied_copy = layout_position(SCHEDULE_LAYOUT[plan.schedule], plan.pp, plan.vp, plan.pp * plan.vp - 1)[0] != 0
        layout = SCHEDULE_LAYOUT[plan.schedule]
        counts = plan.stage_layers and tuple(plan.stage_layers)
        return [self._chunk(g, groups, gkey, plan.pp, plan.vp, virtual_stage(plan.schedule, plan.pp, plan.vp, s, c),
                            tied_copy, layout, counts) for c in range(plan.vp)]

    # --- public ---
    def check(self, plan: ParallelPlan) -> None:
        """ParallelPlan.validate against this model and cluster size (ValueError naming the constraint)."""
        m = self.model
        plan.validate(self.n_gpus, m.n_layers, m.n_heads, m.n_kv_heads, m.n_experts)

    def memory(self, plan: ParallelPlan) -> float:
        """Peak bytes per GPU of the worst stage."""
        split_w = plan.schedule in SPLIT_BACKWARD
        g = self._graph(plan, split_w)
        groups = self.groups(plan)
        gkey = (plan.tp, plan.cp, plan.dp, plan.pp, plan.ep, plan.expert_tp)
        policy = precision_policy(self.opts, plan)
        states = StateBytes(policy.weight_bytes, policy.grad_bytes, policy.optimizer_bytes)
        m = plan.num_microbatches
        peak = 0.0
        alike = self.homogeneous and not len(self.kinds) % (plan.pp * plan.vp) and not plan.stage_layers
        for s in ({0, plan.pp - 1} if alike else range(plan.pp)):
            chunks = self._stage_chunks(plan, g, groups, gkey, s)
            params = sum(c.params for c in chunks)
            experts = sum(c.experts for c in chunks)
            saved = sum(c.saved for c in chunks)   # one micro-batch through the stage (in_flight's unit)
            ws = max(c.ws for c in chunks)
            infl = in_flight(plan.schedule, plan.pp, m, plan.vp, s)
            if plan.schedule == "dualpipev" and saved > 0:   # its two chunks differ most (rank 0: head)
                infl = weighted_in_flight(plan.schedule, plan.pp, m, plan.vp, s, tuple(c.saved for c in chunks))
            gm = plan_memory(plan, params, saved, infl, experts, g[3], states, transient=ws)
            peak = max(peak, gm.total)
        return peak

    def estimate(self, plan: ParallelPlan, *, check: bool = True, memory_only: bool = False,
                 peak: float | None = None) -> Estimate:
        """Step time, throughput, MFU and peak memory of `plan` by formula (`peak`: memory() already known)."""
        if check:
            self.check(plan)
        if peak is None:
            peak = self.memory(plan)
        if memory_only:
            nan = float("nan")
            return Estimate(nan, nan, nan, peak, self.capacity)
        split_w = plan.schedule in SPLIT_BACKWARD
        g = self._graph(plan, split_w)
        groups = self.groups(plan)
        gkey = (plan.tp, plan.cp, plan.dp, plan.pp, plan.ep, plan.expert_tp)
        policy = precision_policy(self.opts, plan)
        k = self.k
        slow = 1.0 - 1.0 / k
        zero = plan.zero_stage
        p, vp, m = plan.pp, plan.vp, plan.num_microbatches
        modes = {kind: plan.comm_mode(kind) for kind in ("tp", "cp", "ep", "dp", "fsdp", "pp")}
        # p2p activation send between neighbouring stages (distributed.py's message)
        p2p = 0.0
        if p > 1:
            act = plan.micro_batch * (self.opts.seq_len // plan.cp) * self.model.hidden * 2 / (
                plan.tp if plan.sequence_parallel else 1)
            key = ("send_recv", 2, groups["pp"].stride, act)
            p2p = self._comm.get(key)
            if p2p is None:
                p2p = self._comm[key] = collective_time(self.cluster, "send_recv", act,
                                                        Group(2, groups["pp"].stride), host_floor=False).time_s
        p2p_blocking = modes["pp"] == "blocking"
        stages = self._stages(plan)
        per_stage = {}
        fbw = [0.0, 0.0, 0.0]
        for s in stages:
            chunks = self._stage_chunks(plan, g, groups, gkey, s)
            paired = paired_fraction(plan.schedule, p, m, vp, s)   # their blocking comm hides (engine: paired)
            b_last = async_dp = blocking_sum = 0.0
            dp_sync = []
            lane = comp_total = active = async_all = 0.0
            stream_tot: dict = {}
            for ci, c in enumerate(chunks):
                durs = []
                for phase, comp in (("fwd", c.fwd), ("bwd", c.bwd)):
                    blocking = 0.0
                    streams: dict = {}
                    asyncs = p2p if p > 1 and not p2p_blocking else 0.0
                    if p2p_blocking:
                        blocking += p2p
                    for (ph, group), secs in c.comm.items():
                        if ph != phase or secs <= 0:
                            continue
                        if group == "ep" and modes["ep"] == "overlapped":   # partly hidden (distributed.py)
                            lane_s, secs = ep_overlap_split(secs)
                            blocking += lane_s
                        if modes[{"etp": "tp"}.get(group, group)] == "blocking":
                            blocking += secs * (1 - paired)
                            if paired:
                                streams[group] = streams.get(group, 0.0) + secs * paired
                        else:
                            streams[group] = streams.get(group, 0.0) + secs
                    if zero >= 3:   # per wrapping unit; in bwd all-gather and reduce-scatter share the links
                        u = c.units
                        gather = u * (self.comm_time(groups, "all_gather", "dpcp", c.params * policy.weight_bytes / u)
                                      + self.comm_time(groups, "all_gather", "edp", c.experts * policy.weight_bytes / u))
                        if phase == "bwd":
                            gather += u * (
                                self.comm_time(groups, "reduce_scatter", "dpcp", c.params * policy.grad_bytes / u)
                                + self.comm_time(groups, "reduce_scatter", "edp", c.experts * policy.grad_bytes / u))
                        if modes["fsdp"] == "blocking":
                            blocking += gather
                        else:
                            streams["fsdp"] = gather
                    x = max(streams.values()) if streams else 0.0
                    # An overlapped piece starts when the previous task's ended (engine's stream order):
                    # prefetch runs ahead, so each stream is a resource of its own across tasks.
                    for name, secs in streams.items():
                        stream_tot[name] = stream_tot.get(name, 0.0) + secs
                    lane += comp + blocking
                    comp_total += comp
                    active += min(comp, x)
                    async_all += asyncs
                    blocking_sum += blocking
                    durs.append(blocking + _overlap(comp, x, k))
                lane += c.wgt
                comp_total += c.wgt
                if s == stages[0]:
                    fbw[0] += durs[0]
                    fbw[1] += durs[1]
                    fbw[2] += c.wgt
                if ci == 0:
                    b_last = durs[1] + c.wgt
                # DP gradient reduction on the chunk's last backward (Megatron), not under ZeRO-3
                if zero < 3 and not plan.zeroth_order:
                    op = "reduce_scatter" if zero >= 1 else "all_reduce"
                    sync = (self.comm_time(groups, op, "dpcp", c.params * policy.grad_bytes)
                            + self.comm_time(groups, op, "edp", c.experts * policy.grad_bytes))
                    dp_sync.append((sync, c))
            # compute is slowed (1 - 1/k) while comm of its GPU runs: overlapped pieces, then async ones
            lane += slow * min(comp_total, active + async_all)
            t = max([lane, *stream_tot.values()])
            # per-stage tail: DP leftovers, optimizer, distributed-optimizer all-gather
            dp_blocking = 0.0
            dp_async = []   # per chunk: what of its reduction outlives its last backward (distributed.py's rule)
            for sync, c in dp_sync:
                if modes["dp"] == "blocking":
                    dp_blocking += sync
                else:
                    last = min(1.0, DP_BUCKET_PARAMS / max(c.params + c.experts, 1.0))
                    dp_async.append(max(sync * last, sync - c.bwd - c.wgt) if sync > 0 else 0.0)
            dp_exposed = 0.0   # ZeRO-3's reduce-scatters ride on the backward's FSDP stream (above), as in the engine
            params = sum(c.params for c in chunks)
            experts = sum(c.experts for c in chunks)
            shard = (params / (plan.dp * plan.cp) if zero >= 1 else params) + (
                experts / plan.expert_dp if zero >= 1 else experts)
            opt = 0.0 if plan.zeroth_order else self._optimizer_time(shard, policy)
            if 1 <= zero < 3 and not plan.zeroth_order:
                opt_comm = (self.comm_time(groups, "all_gather", "dpcp", params * policy.weight_bytes)
                            + self.comm_time(groups, "all_gather", "edp", experts * policy.weight_bytes))
                if plan.param_gather_overlap:
                    opt_comm = param_gather_exposed(opt_comm, params + experts, sum(c.fwd for c in chunks))
            else:
                opt_comm = 0.0
            per_stage[s] = (t, b_last, dp_exposed, dp_blocking, async_dp, opt, opt_comm, blocking_sum, dp_async)
        # weights of the stage types (homogeneous models: middle stages are all alike)
        if p > 3 and stages == sorted({0, p // 2, p - 1}):   # first, last, and one of p-2 alike middle stages
            weight = {0: 1, p - 1: 1, p // 2: p - 2}
        else:
            weight = {s: 1 for s in stages}
        times = {s: v[0] for s, v in per_stage.items()}
        worst = max(times.values())
        total = sum(times[s] * w for s, w in weight.items())
        if plan.schedule not in BUBBLES:
            raise ValueError(f"no bubble formula for schedule {plan.schedule!r}; known: {', '.join(BUBBLES)}")
        bubble = BUBBLES[plan.schedule](total, worst, fbw, p, m, vp) + 2 * (p - 1) * p2p
        pipe = m * worst + bubble
        step = 0.0
        exposed = 0.0
        opt_s = 0.0
        offset_per_hop = {s: per_stage[s][1] / 1 + p2p for s in per_stage}
        for s, (t, b_last, dp_exp, dp_blk, async_dp, opt, opt_comm, blk, dp_async) in per_stage.items():
            offset = s * offset_per_hop[s]
            end = pipe - offset + dp_blk
            # The chunks' reductions queue on one DP stream: chunk c is released when its last backward
            # ends, ~c*p backward tasks before the stage's last one (the final group sweeps chunks vp-1..0).
            q = 0.0
            for c in reversed(range(len(dp_async))):
                q = max(q, end - c * p * b_last) + dp_async[c]
            dp_left = max(dp_exp, q - end, async_dp - (pipe - offset))
            finish = end + dp_left + opt + opt_comm
            if finish > step:
                step = finish
                exposed = blk * m + dp_blk + dp_left + opt_comm
                opt_s = opt
        tokens = plan.global_batch * self.opts.seq_len
        tps = tokens / step
        mfu = self.flops_per_token * tokens / (step * self.peak_flops * plan.n_gpus)
        return Estimate(step, tps, mfu, peak, self.capacity, bubble, exposed, opt_s)


@lru_cache(maxsize=64)
def _cached_model(model, cluster, options, gpus) -> AnalyticalModel:
    return AnalyticalModel(model, cluster, options, gpus=gpus)


def estimate(model: ModelConfig | str, cluster: Cluster | str, plan: ParallelPlan,
             options: ClusterOptions | None = None, *, gpus: int | None = None) -> Estimate:
    """Closed-form step estimate of `plan` (memoized per model, cluster, options and GPU count)."""
    return _cached_model(model, cluster, options or ClusterOptions(), gpus or plan.n_gpus).estimate(plan)
