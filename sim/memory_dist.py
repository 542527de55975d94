"""Per-GPU memory of distributed training: model states under ZeRO/FSDP/offload, activations, comm buffers.

Model states (Rajbhandari et al. 2020, "ZeRO", section 3 and Figure 1), with Psi params per
rank (after TP/PP/EP sharding), N_d the sharding degree and K optimizer bytes per param:
  ZeRO-0: (2 + 2 + K) Psi     ZeRO-1: (2 + 2) Psi + K Psi / N_d
  ZeRO-2: 2 Psi + (2 + K) Psi / N_d     ZeRO-3 (= FSDP full shard): (2 + 2 + K) Psi / N_d
Megatron's distributed optimizer is ZeRO-1 over dp*cp (its grads stay whole in the
bucketed grad buffer and are reduce-scattered in place). Offloaded states take no GPU
bytes; they are reported as host or NVMe bytes per GPU.
"""
from __future__ import annotations

from dataclasses import dataclass

from sim.plan import OffloadPolicy, ParallelPlan
from sim.precision import POLICIES


@dataclass(frozen=True)
class StateBytes:
    """Bytes per parameter of each model state."""

    param: float  # working (low-precision) weights
    grad: float  # gradients as accumulated and reduced
    optimizer: float  # fp32 master copy + optimizer moments: ZeRO's K

    def __post_init__(self) -> None:
        for k in ("param", "grad", "optimizer"):
            if getattr(self, k) < 0:
                raise ValueError(f"{k} bytes per parameter must be >= 0, got {getattr(self, k)!r}")


# Bytes per parameter of each precision policy (sim.precision holds them, with their sources):
# "mixed" = ZeRO's 2 + 2 + 12, "megatron" = fp32 main grads 2 + 4 + 12, "pure-bf16" = 2 + 2 + 4, fp32.
STATE_BYTES: dict[str, StateBytes] = {
    name: StateBytes(param=p.weight_bytes, grad=p.grad_bytes, optimizer=p.optimizer_bytes)
    for name, p in POLICIES.items()}
STATE_BYTES["bf16"] = STATE_BYTES["pure-bf16"]
# MeZO-style zeroth-order SGD: weights only (perturbations regenerated from a seed).
STATE_BYTES["zo_sgd"] = StateBytes(param=2, grad=0, optimizer=0)


def get_state_bytes(name_or_spec: str | StateBytes) -> StateBytes:
    """A StateBytes, or the preset of that name; unknown names raise ValueError."""
    if isinstance(name_or_spec, StateBytes):
        return name_or_spec
    if name_or_spec not in STATE_BYTES:
        raise ValueError(f"unknown precision preset {name_or_spec!r}; known: {', '.join(sorted(STATE_BYTES))}")
    return STATE_BYTES[name_or_spec]


@dataclass(frozen=True)
class ModelStateMemory:
    """Bytes per GPU of params, grads and optimizer states on the GPU, and what was offloaded."""

    params: float
    grads: float
    optimizer: float
    host: float = 0.0  # host DRAM bytes per GPU (offloaded states)
    nvme: float = 0.0  # NVMe bytes per GPU

    @property
    def total(self) -> float:
        """GPU bytes of model states."""
        return self.params + self.grads + self.optimizer


def model_state_memory(params: float, shard_degree: int, zero: int = 0, states: str | StateBytes = "mixed",
                       offload: OffloadPolicy = OffloadPolicy(), zeroth_order: bool = False) -> ModelStateMemory:
    """Model-state bytes per GPU for `params` parameters per rank sharded `shard_degree` ways at ZeRO `zero`."""
    if params < 0:
        raise ValueError(f"params must be >= 0, got {params!r}")
    if not isinstance(shard_degree, int) or shard_degree < 1:
        raise ValueError(f"shard_degree must be a positive integer, got {shard_degree!r}")
    if zero not in (0, 1, 2, 3):
        raise ValueError(f"zero stage must be 0, 1, 2 or 3, got {zero!r}")
    b = get_state_bytes(states)
    n = shard_degree
    sizes = {
        "params": params * b.param / (n if zero >= 3 else 1),
        "grads": 0.0 if zeroth_order else params * b.grad / (n if zero >= 2 else 1),
        "optimizer": params * b.optimizer / (n if zero >= 1 else 1),
    }
    where = {"params": offload.params, "grads": offload.grads, "optimizer": offload.optimizer}
    gpu = {k: (v if where[k] == "none" else 0.0) for k, v in sizes.items()}
    host = sum(v for k, v in sizes.items() if where[k] == "cpu")
    nvme = sum(v for k, v in sizes.items() if where[k] == "nvme")
    return ModelStateMemory(gpu["params"], gpu["grads"], gpu["optimizer"], host, nvme)


def activation_memory(per_microbatch: float, in_flight: float, offload: str = "none") -> tuple[float, float]:
    """(GPU bytes, host bytes) of saved activations: per-micro-batch bytes of the stage x in-flight count.

    in_flight comes from the schedule (PipelineSchedule.in_flight[stage]). With activations
    offloaded to the CPU the GPU keeps one micro-batch's worth (the one being computed;
    NB: double buffering of the copies not counted) and the host the rest.
    """
    if per_microbatch < 0 or in_flight < 0:
        raise ValueError(f"activation bytes and in-flight count must be >= 0, got {per_microbatch!r}, {in_flight!r}")
    total = per_microbatch * in_flight
    if offload == "none":
        return total, 0.0
    if offload != "cpu":
        raise ValueError(f"activation offload {offload!r} is not one of none, cpu")
    gpu = per_microbatch * min(in_flight, 1.0)
    return gpu, total - gpu


def comm_buffer_memory(zero: int, layer_params: float, states: str | StateBytes = "mixed",
                       dp_bucket_bytes: float = 0.0, prefetch: bool = True) -> float:
    """GPU bytes of communication buffers.

    ZeRO-3/FSDP: the unsharded params of the layer being computed, plus the next one when
    prefetching, plus one layer's unsharded grads awaiting reduce-scatter. Otherwise the DP
    gradient bucket(s) in flight, given in bytes (PyTorch DDP: 25 MiB buckets; Megatron's
    bucketed grad buffer is already counted in the grads, so 0 there).
    """
    if layer_params < 0 or dp_bucket_bytes < 0:
        raise ValueError("layer_params and dp_bucket_bytes must be >= 0")
    b = get_state_bytes(states)
    if zero >= 3:
        return layer_params * (b.param * (2 if prefetch else 1) + b.grad)
    return dp_bucket_bytes


@dataclass(frozen=True)
class GpuMemory:
    """Per-GPU memory breakdown of one pipeline stage (bytes)."""

    model_states: ModelStateMemory
    activations: float
    comm_buffers: float
    transient: float  # workspace of the live layer (caller's estimate)
    host: float
    nvme: float

    @property
    def total(self) -> float:
        """GPU bytes: model states + activations + buffers + transient."""
        return self.model_states.total + self.activations + self.comm_buffers + self.transient


def plan_memory(plan: ParallelPlan, params_per_rank: float, activation_per_microbatch: float, in_flight: float,
                expert_params_per_rank: float = 0.0, layer_params: float = 0.0, states: str | StateBytes = "mixed",
                dp_bucket_bytes: float = 0.0, transient: float = 0.0) -> GpuMemory:
    """Per-GPU memory of one stage under a ParallelPlan.

    params_per_rank: dense params of the stage after TP/PP sharding; expert_params_per_rank:
    expert params after EP/ETP sharding (sharded over expert_dp instead of dp*cp).
    layer_params: unsharded params of one layer on this rank (ZeRO-3/FSDP gather buffers).
    Zeroth-order plans keep no saved activations and no grads.
    """
    z = plan.zero_stage
    dense = model_state_memory(params_per_rank, plan.dp * plan.cp, z, states, plan.offload, plan.zeroth_order)
    expert = model_state_memory(expert_params_per_rank, plan.expert_dp, z, states, plan.offload, plan.zeroth_order)
    ms = ModelStateMemory(dense.params + expert.params, dense.grads + expert.grads,
                          dense.optimizer + expert.optimizer, dense.host + expert.host, dense.nvme + expert.nvme)
    act_gpu, act_host = activation_memory(activation_per_microbatch, 0.0 if plan.zeroth_order else in_flight,
                                          plan.offload.activations)
    bufs = comm_buffer_memory(z, layer_params, states, dp_bucket_bytes, plan.fsdp_prefetch)
    return GpuMemory(ms, act_gpu, bufs, transient, ms.host + act_host, ms.nvme)
