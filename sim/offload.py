"""Cost of offloading model states and activations to host DRAM or NVMe (ZeRO-Offload, ZeRO-Infinity).

Per micro-batch, transfers run on the GPU<->host link (one direction each way, PCIe is full
duplex) beside the phase's compute; a transfer split into n pieces (layers, gradient buckets)
that each wait for their compute piece is a two-stage pipeline:
  T_phase = max(T_xfer + C / n, C + T_xfer / n)   exposed = T_phase - C = max(T_xfer - C (1 - 1/n), T_xfer / n)
  forward:  H2D params (ZeRO-3 param offload)         | D2H saved activations (activation offload)
  backward: H2D params + activations back              | D2H gradients (every micro-batch: DeepSpeed
            accumulates on the host)
Then the optimizer step (the tail, once per step):
  CPU Adam (ZeRO-Offload sec. 4: on the critical path) pipelined with NVMe reads/writes of the
  states (ZeRO-Infinity) and with the H2D upload of the updated low-precision params:
  T_tail = max(T_cpu, T_nvme, T_upload)   (NB: the first and last tile of that pipeline ignored)
  exposed = T_tail, or with the one-step delayed parameter update (DPU, ZeRO-Offload sec. 4.2)
  max(0, T_tail - compute of the next step), since step t's update overlaps step t+1's fwd/bwd.
Optimizer states on the host without CPU Adam stream through the GPU for a GPU step instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from hardware.spec import DeviceSpec
from sim.memory_dist import StateBytes, get_state_bytes
from sim.plan import OffloadPolicy

# DeepSpeed CPUAdam on the DGX-2 host (2 x 24-core Xeon Platinum 8168): ZeRO-Offload (Ren et al.
# 2021, arXiv:2101.06840) Table 3 "Adam latency": 10B params in 2.57 s (1B in 0.22 s, 4B in 1.03 s)
# -> 3.9e9 params/s for the whole host. Other hosts: an assumption (it is DRAM-bandwidth bound,
# ~28 B/param, and CPUs of 2020-2024 servers have 1-2x the DGX-2's DRAM bandwidth).
CPU_ADAM_PARAMS_PER_S = 10e9 / 2.57
# Pinned cudaMemcpy reaches ~12-13 GB/s of PCIe Gen3 x16's 16 GB/s and ~25 of Gen4's 32 GB/s per
# direction (CUDA samples' bandwidthTest, as commonly reported): an assumption, not fitted here.
PCIE_EFFICIENCY = 0.8
# Sequential NVMe through DeepSpeed's async I/O: ZeRO-Infinity reports near-peak drive bandwidth;
# assumption. Writes of data-center U.2 drives are ~0.5-0.65 of their reads (e.g. Intel P4610
# 3.2/2.08 GB/s, Samsung PM1725a 6.4/3.0 GB/s datasheets): assumption 0.6.
NVME_EFFICIENCY = 0.9
NVME_WRITE_FRACTION = 0.6
# DeepSpeed zero_optimization.reduce_bucket_size default (5e8 elements): gradients leave in buckets.
GRAD_BUCKET_PARAMS = 5e8
# GPUs sharing one host (CPUs, DRAM, NVMe) in the system each spec's host numbers describe.
USUAL_GPUS_PER_HOST: Mapping[str, int] = MappingProxyType({
    "v100-sxm2-32gb": 16,   # DGX-2
    "a100-sxm-40gb": 8, "a100-sxm-80gb": 8, "h100-sxm": 8, "h200": 8, "h800": 8, "b200": 8,  # DGX/HGX
    "a100-pcie-80gb": 8, "h100-pcie": 8, "l40s": 8,   # 8-card PCIe servers (the specs' estimates)
    "mi300x": 8, "gb200": 4,   # GB200 compute tray: 4 GPUs, 2 Grace CPUs
    "rtx-4090": 1, "tpu-v5p": 4,   # Fuyou's workstation; a v5p TPU VM host has 4 chips
})


@dataclass(frozen=True)
class OffloadCost:
    """Seconds and bytes of one training step's offload traffic for one GPU, and what it exposes."""

    grad_d2h_s: float          # gradients GPU -> host, all micro-batches
    param_upload_s: float      # updated params host -> GPU after the step
    cpu_step_s: float          # optimizer step on the host (or the GPU step fed by streamed states)
    nvme_s: float              # NVMe reads + writes of the step (optimizer/grads/params on NVMe)
    param_stream_s: float      # ZeRO-3 param fetches host/NVMe -> GPU, every fwd and bwd
    activation_s: float        # activation offload, both directions
    fwd_exposed_s: float       # per micro-batch, added to each forward
    bwd_exposed_s: float       # per micro-batch, added to each backward
    tail_exposed_s: float      # once per step, after the last backward
    exposed_s: float           # what lengthens the step: mb * (fwd + bwd exposed) + tail
    overlapped_s: float        # transfer/CPU seconds hidden behind GPU compute
    host_bytes: float
    nvme_bytes: float
    host_capacity: float       # host DRAM this GPU's process may use
    host_fits: bool
    nvme_fits: bool
    breakdown: Mapping[str, float] = field(default_factory=dict)   # exposed seconds by source
    notes: tuple[str, ...] = ()


def _pipelined_exposed(transfer: float, compute: float, pieces: float) -> float:
    """Exposed seconds of a transfer in `pieces` chunks pipelined with `compute` (see module doc)."""
    if transfer <= 0:
        return 0.0
    n = max(1.0, pieces)
    return max(transfer - compute * (1 - 1 / n), transfer / n)


def _check_links(dev: DeviceSpec, policy: OffloadPolicy) -> None:
    """ValueError naming the missing host link or NVMe when the policy needs it."""
    for what in ("optimizer", "params", "grads", "activations"):
        where = getattr(policy, what)
        if where != "none" and dev.host_link_bandwidth <= 0:
            raise ValueError(f"device {dev.name} has no host link (host_link_bandwidth = 0): "
                             f"cannot offload {what} to {where}")
        if where == "nvme" and dev.nvme_bandwidth <= 0:
            raise ValueError(f"device {dev.name} has no NVMe (nvme_bandwidth = 0): cannot offload {what} to nvme")


def usual_gpus_per_host(dev: DeviceSpec) -> tuple[int, str]:
    """GPUs per host of the device's usual system, and a note when it had to be guessed."""
    if dev.name in USUAL_GPUS_PER_HOST:
        return USUAL_GPUS_PER_HOST[dev.name], ""
    n = max(1, min(dev.scaleup_domain, 8))
    return n, f"{dev.name}: GPUs per host unknown, assumed {n} (min(scale-up domain, 8)); pass gpus_per_host"


def offload_cost(dev: DeviceSpec, policy: OffloadPolicy, params: float, states: str | StateBytes,
                 fwd_s: float, bwd_s: float, *, microbatches: int = 1, layers: int = 1,
                 saved_bytes: float = 0.0, gpu_optimizer_s: float = 0.0, delayed_update: bool = False,
                 active_gpus_per_host: int = 1, gpus_per_host: int | None = None, gpus_per_uplink: int = 1,
                 cpu_adam_params_per_s: float = CPU_ADAM_PARAMS_PER_S, host_memory_bytes: float | None = None,
                 nvme_capacity_bytes: float | None = None, bucket_params: float = GRAD_BUCKET_PARAMS,
                 pcie_efficiency: float = PCIE_EFFICIENCY) -> OffloadCost:
    """Offload cost of one step on one GPU holding `params` parameters (after all sharding).

    fwd_s, bwd_s: compute seconds of one micro-batch (bwd with recompute); layers: pieces the
    params and activations move in; saved_bytes: activations saved per micro-batch;
    gpu_optimizer_s: the GPU optimizer step, used when states live on the host without CPU Adam.
    active_gpus_per_host: GPUs of this host training at once (1 for the single-GPU papers); they
    split its CPU Adam throughput, DRAM and NVMe; gpus_per_host: GPUs of the usual system whose
    per-GPU shares the spec lists (default by device); gpus_per_uplink: active GPUs behind one
    PCIe uplink to the CPU (1: each has its own x16).
    """
    for label, v in (("params", params), ("fwd_s", fwd_s), ("bwd_s", bwd_s), ("saved_bytes", saved_bytes),
                     ("gpu_optimizer_s", gpu_optimizer_s)):
        if not v >= 0:
            raise ValueError(f"offload_cost: {label} must be >= 0, got {v!r}")
    for label, v in (("microbatches", microbatches), ("layers", layers),
                     ("active_gpus_per_host", active_gpus_per_host), ("gpus_per_uplink", gpus_per_uplink)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"offload_cost: {label} must be a positive integer, got {v!r}")
    if not (cpu_adam_params_per_s > 0 and bucket_params > 0 and 0 < pcie_efficiency <= 1):
        raise ValueError("offload_cost: cpu_adam_params_per_s and bucket_params must be > 0, pcie_efficiency in (0, 1]")
    _check_links(dev, policy)
    b = get_state_bytes(states)
    notes = []
    usual, guess = (gpus_per_host, "") if gpus_per_host else usual_gpus_per_host(dev)
    if guess:
        notes.append(guess)
    share = usual / active_gpus_per_host     # host resources per active GPU, in per-GPU spec shares
    link = dev.host_link_bandwidth * pcie_efficiency / min(gpus_per_uplink, active_gpus_per_host)
    nvme_rd = dev.nvme_bandwidth * share * NVME_EFFICIENCY
    nvme_wr = nvme_rd * NVME_WRITE_FRACTION
    cpu_rate = cpu_adam_params_per_s / active_gpus_per_host

    P, mb = float(params), microbatches
    opt_off = policy.optimizer != "none"
    cpu_step = opt_off and (policy.cpu_adam or policy.optimizer == "nvme")   # ZeRO-Infinity steps on the CPU
    grads_to_host = opt_off or policy.grads != "none"
    w_bytes = P * b.param
    # --- per micro-batch transfers beside compute ---
    stream = 0.0
    if policy.params != "none":
        stream = w_bytes / link
        if policy.params == "nvme":
            stream = max(stream, w_bytes / nvme_rd)
    act = saved_bytes / link if policy.activations == "cpu" else 0.0
    grad = P * b.grad / link if grads_to_host else 0.0
    if policy.grads == "nvme":
        grad = max(grad, P * b.grad / nvme_wr)
    f_par, f_act = _pipelined_exposed(stream, fwd_s, layers), _pipelined_exposed(act, fwd_s, layers)
    b_in, b_grad = _pipelined_exposed(stream + act, bwd_s, layers), _pipelined_exposed(grad, bwd_s, P / bucket_params)
    f_exp, b_exp = max(f_par, f_act), max(b_in, b_grad)
    # Exposed seconds go to the binding transfer of each phase (H2D inputs split by their bytes).
    by = {"offload_params": f_exp if f_par >= f_act else 0.0, "offload_activations": 0.0 if f_par >= f_act else f_exp,
          "offload_grads": b_exp if b_grad >= b_in else 0.0}
    if b_in > b_grad:
        by["offload_params"] += b_exp * stream / (stream + act)
        by["offload_activations"] += b_exp * act / (stream + act)
    # --- the optimizer step ---
    cpu_s = nvme_s = upload = 0.0
    if cpu_step:
        cpu_s = P / cpu_rate
    elif opt_off:   # states on the host, step on the GPU: stream them in and back out
        cpu_s = max(P * b.optimizer / link, gpu_optimizer_s)
    if policy.optimizer == "nvme":   # read states (and host-held grads), write states back
        nvme_s += P * b.optimizer / nvme_rd + P * b.optimizer / nvme_wr
    if policy.grads == "nvme":
        nvme_s += P * b.grad / nvme_rd
    if policy.params == "nvme" and cpu_step:
        nvme_s += w_bytes / nvme_wr   # updated low-precision params back to NVMe
    if opt_off and policy.params == "none":
        upload = w_bytes / link       # the GPU's working copy refreshed from the host
    tail = max(cpu_s, nvme_s, upload)
    compute = mb * (fwd_s + bwd_s)
    tail_exp = max(0.0, tail - compute) if delayed_update else tail
    if delayed_update and not cpu_step:
        notes.append("delayed_update models ZeRO-Offload's DPU; it applies to a host (CPU) optimizer step")

    exposed = mb * (f_exp + b_exp) + tail_exp
    busy = mb * (2 * stream + 2 * act + grad) + tail
    breakdown = {k: mb * v for k, v in by.items()}
    breakdown["offload_step"] = tail_exp
    # --- bytes off the GPU ---
    host = nvme = 0.0
    for what, nbytes in (("optimizer", P * b.optimizer), ("params", w_bytes)):
        where = getattr(policy, what)
        host += nbytes if where == "cpu" else 0.0
        nvme += nbytes if where == "nvme" else 0.0
    if grads_to_host:
        if policy.grads == "nvme":
            nvme += P * b.grad
        else:
            host += P * b.grad
    if policy.activations == "cpu":
        host += saved_bytes
    cap = (dev.host_memory_bytes * share) if host_memory_bytes is None else host_memory_bytes
    host_fits = host <= cap
    nvme_fits = nvme_capacity_bytes is None or nvme <= nvme_capacity_bytes
    if not host_fits:
        notes.append(f"host memory: needs {host / 2**30:.1f} GiB, {cap / 2**30:.1f} GiB available to this GPU")
    if not nvme_fits:
        notes.append(f"NVMe: needs {nvme / 2**30:.1f} GiB, {nvme_capacity_bytes / 2**30:.1f} GiB available")
    return OffloadCost(grad_d2h_s=mb * grad, param_upload_s=upload, cpu_step_s=cpu_s, nvme_s=nvme_s,
                       param_stream_s=mb * 2 * stream, activation_s=mb * 2 * act, fwd_exposed_s=f_exp,
                       bwd_exposed_s=b_exp, tail_exposed_s=tail_exp, exposed_s=exposed,
                       overlapped_s=max(0.0, busy - exposed), host_bytes=host, nvme_bytes=nvme,
                       host_capacity=cap, host_fits=host_fits, nvme_fits=nvme_fits,
                       breakdown=MappingProxyType(breakdown), notes=tuple(notes))
