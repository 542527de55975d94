"""One training step on one GPU: device time of every operator, host dispatch, memory, MFU.

  T_device = accum x sum(ops of one micro-batch) + optimizer step
  T_host   = kernels launched x host dispatch cost per kernel (eager PyTorch is often CPU bound)
  T_step   = max(T_device, T_host): the host runs ahead of the GPU through the launch queue, so
             the slower of the two sets the pace (NB: ignores the start-up latency of the queue).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from hardware.catalog import get_device
from hardware.perf import PerfProfile, profile_for
from hardware.spec import DeviceSpec, canonical_dtype
from sim.kernel_choice import with_attention_kernel
from sim.memory import MemoryInputs, peak_memory
from sim.precision import PrecisionPolicy, policy_for
from sim.results import OpTiming, StepResult
from sim.throttle import throttled_for_step
from sim.timing import op_time
from sim.uncertainty import graph_flags, step_band
from workloads.catalog import get_model
from workloads.flops import model_flops_per_token
from workloads.graph import StepGraph, build_step
from workloads.model import ModelConfig
from workloads.optimizer import optimizer_ops

# The CUDA context, cuBLAS/cuDNN workspaces and the driver's reserve take this much of the HBM a
# datasheet lists: H100 80GB reports 79.18 GiB total to PyTorch (shared/calibration device record),
# of which the context (~0.5 GiB, measured with torch on H100) is not available to tensors.
CONTEXT_BYTES = 0.5 * 2**30
DRIVER_RESERVE_FRACTION = 0.0103   # 1 - 79.18/80: memory the driver keeps from an 80 GiB H100


# Host (CPU) time to issue one kernel. It depends on the host CPU, which no datasheet holds, so it is
# measured: the microbench "launch" record (back-to-back x.add_() on a tiny tensor, eager PyTorch)
# took 9.6-9.9 us on the H100 machine and 5.8 us on the H200 machine lent here
# (data/measured/2026-11-23_h1*0/microbench.jsonl); other devices get the geometric mean.
HOST_LAUNCH_S = {"h100-sxm": 9.75e-6, "h200": 5.85e-6}
DEFAULT_HOST_LAUNCH_S = 7.5e-6
# A kernel of a training step costs more host time than a bare launch: Python modules, autograd,
# the caching allocator. eager: x3.3, fitted on the one clearly host-bound case measured,
# TinyLlama-1.1B b=1 s=2048 on H100 (80.5 ms for ~2,500 kernels); H200 cases are held out.
# fused: Megatron/TE issue fewer, larger kernels from C++ modules: x1, a prior (their steps are GPU bound).
DISPATCH_PER_LAUNCH = {"eager": 3.3, "fused": 1.0}


def host_dispatch_s(dev: DeviceSpec, kernels: str) -> float:
    """Host seconds per kernel launched by the `kernels` software stack on `dev`'s usual host."""
    return HOST_LAUNCH_S.get(dev.name, DEFAULT_HOST_LAUNCH_S) * DISPATCH_PER_LAUNCH.get(kernels, 1.0)


def usable_memory(dev: DeviceSpec) -> float:
    """Bytes of device memory a training process can fill with tensors."""
    return dev.hbm_bytes * (1 - DRIVER_RESERVE_FRACTION) - CONTEXT_BYTES


@dataclass(frozen=True)
class StepOptions:
    """What a user chooses for a single-GPU step (the CLI's flags)."""

    batch: int = 8                   # sequences per optimizer step
    seq_len: int = 4096
    micro_batch: int | None = None   # sequences per forward/backward; default = batch
    recompute: str = "none"
    dtype: str = "bf16"              # compute dtype of GEMMs (fp8: Transformer-Engine style)
    optimizer_state_dtype: str = "fp32"
    kernels: str = "fused"
    attention_kernel: str = "native"   # "fa2": FlashAttention-2 on Hopper (sim.kernel_choice)

    def validate(self) -> "StepOptions":
        for key in ("batch", "seq_len"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"--{key.replace('_', '-')} must be a positive integer, got {value!r}")
        mb = self.batch if self.micro_batch is None else self.micro_batch
        if not isinstance(mb, int) or mb < 1:
            raise ValueError(f"--micro-batch must be a positive integer, got {mb!r}")
        if self.batch % mb:
            raise ValueError(f"--batch {self.batch} is not divisible by --micro-batch {mb}")
        return self


def _activation_dtype(dtype: str) -> str:
    """Activations stay 16-bit in fp8 recipes (TE casts at each GEMM); fp32 training keeps fp32."""
    return {"fp8": "fp8", "fp16": "fp16", "fp32": "fp32"}.get(dtype, "bf16")


def _time_ops(graph: StepGraph, dev: DeviceSpec, prof: PerfProfile, dtype: str, reps: int,
              rows: dict, totals: dict) -> None:
    for op, n in graph.iter_ops():
        if op.kind == "comm":
            continue   # single GPU: no peers (tp = cp = ep = 1 here)
        kt = op_time(op, dev, prof, dtype)
        _add(rows, totals, op, kt.time_s, kt.bound, n * reps)


def _add(rows: dict, totals: dict, op, t: float, bound: str, count: int) -> None:
    key = (op.name, op.phase, op.category)
    if key in rows:
        r = rows[key]
        rows[key] = OpTiming(r.name, r.kind, r.phase, r.category, r.count + count, r.time_s + t * count,
                             r.flops + op.flops * count, r.bytes + op.bytes * count, r.bound, r.kernels)
    else:
        rows[key] = OpTiming(op.name, op.kind, op.phase, op.category, count, t * count, op.flops * count,
                             op.bytes * count, bound, op.kernels)
    totals["kernels"] += op.kernels * count


def _n_tensors(m: ModelConfig) -> int:
    """Parameter tensors of a Llama-style model (9 per layer + embedding, final norm, head)."""
    return 9 * m.n_layers + 3


def simulate(model: ModelConfig | str, hardware: DeviceSpec | str, options: StepOptions | None = None,
             profile: PerfProfile | None = None, **kw) -> StepResult:
    """Predict one training step of `model` on one `hardware` GPU."""
    opts = (options or StepOptions(**kw)).validate()
    m = get_model(model)
    dev = get_device(hardware)
    dtype = canonical_dtype(opts.dtype)
    dev.flops(dtype)   # a dtype the device lacks fails here, with the device's dtypes listed
    prof = with_attention_kernel(profile or profile_for(dev), dev, opts.attention_kernel)
    mb = opts.batch if opts.micro_batch is None else opts.micro_batch
    accum = opts.batch // mb
    policy: PrecisionPolicy = policy_for(dtype, canonical_dtype(opts.optimizer_state_dtype))
    graph = build_step(m, mb, opts.seq_len, kernels=opts.kernels, recompute=opts.recompute,
                       dtype=_activation_dtype(dtype))

    prof = throttled_for_step(prof, dev, dtype, graph)
    rows: dict = {}
    totals: dict = defaultdict(float)
    _time_ops(graph, dev, prof, dtype, accum, rows, totals)
    opt_ops = optimizer_ops(graph.params, policy.param_dtype, policy.state_dtype,
                            master_weights=policy.master_weights, fused=True,
                            n_tensors=_n_tensors(m), grad_dtype=policy.grad_dtype)
    for op in opt_ops:
        kt = op_time(op, dev, prof, dtype)
        _add(rows, totals, op, kt.time_s, kt.bound, op.count)

    ops = tuple(sorted(rows.values(), key=lambda r: -r.time_s))
    device_time = sum(r.time_s for r in ops)
    host_time = totals["kernels"] * host_dispatch_s(dev, opts.kernels)
    step = max(device_time, host_time)

    breakdown: dict[str, float] = defaultdict(float)
    for r in ops:
        breakdown[r.category] += r.time_s
    notes = []
    if host_time > device_time:
        breakdown["host_overhead"] = host_time - device_time
        notes.append(f"host-bound: {int(totals['kernels'])} kernel launches take {host_time * 1e3:.1f} ms "
                     f"of CPU dispatch vs {device_time * 1e3:.1f} ms of GPU work (CPU speed varies: +-25%)")

    tokens = opts.batch * opts.seq_len
    model_flops = model_flops_per_token(m, opts.seq_len) * tokens
    hardware_flops = graph.flops * accum + sum(op.flops * op.count for op in opt_ops)
    first_layer = graph.layers[0]
    mem_in = MemoryInputs(
        params=graph.params, activations=graph.saved_bytes, transient=graph.head.workspace_bytes,
        grads_persist=(opts.kernels == "fused" or accum > 1),
        backward_end=first_layer.workspace_bytes + first_layer.saved_bytes)
    memory = peak_memory(mem_in, policy, usable_memory(dev))
    if not memory.fits:
        notes.append(f"does not fit: needs {memory.peak / 2**30:.1f} GiB, {dev.name} has "
                     f"{memory.capacity / 2**30:.1f} GiB usable (over by {memory.overflow / 2**30:.1f} GiB)")
    config = {"batch": opts.batch, "seq_len": opts.seq_len, "micro_batch": mb, "grad_accum": accum,
              "recompute": opts.recompute, "dtype": dtype, "optimizer_state_dtype": opts.optimizer_state_dtype,
              "kernels": opts.kernels, "precision_policy": policy.name}
    provenance = {"device_spec": dev.name,
                  "perf_profile": prof.source + (f" (transferred from {prof.transferred_from})"
                                                 if prof.transferred_from else ""),
                  "model": m.name}
    result = StepResult(model=m.name, hardware=dev.name, config=config, step_time_s=step, tokens_per_step=tokens,
                        model_flops=model_flops, hardware_flops=hardware_flops, peak_flops=dev.flops(dtype),
                        n_gpus=1, breakdown=dict(breakdown), memory=memory, ops=ops, notes=tuple(notes),
                        provenance=provenance)
    low, high = step_band(result, prof, flags_by_op=graph_flags(graph.iter_ops(), prof))
    return replace(result, step_time_s_low=low, step_time_s_high=high)
