"""Power and energy of a training step: GPU board power from utilisation, plus network, times PUE.

  P_gpu      = P_idle + (TDP - P_idle) * u                     (linear in utilisation, per GPU)
  u          = min(1, s_compute * 1.0 + s_memory * a_memory + s_other * a_other)
               s_*: shares of the step time each GPU spends in compute-bound, memory-bound, and
               latency-bound/communication operators (from StepResult.ops; the rest of the step,
               e.g. waiting on host dispatch or a slower peer, counts as idle, u contribution 0)
  P_facility = (P_gpu + P_network + P_host) * PUE              (per GPU)
  E_step     = P_facility * n_gpus * T_step;   E_token = E_step / tokens_per_step

Why compute-bound time counts as full power: large GEMMs on an H100 SXM run at the 700 W cap; the
fitted bf16 compute fraction (0.73 of the dense peak, hardware/profiles/h100-sxm.json) "absorbs the
clock drop of a power-capped chip under tensor-core load". A result without an op table falls back to
u = min(1, HFU / FALLBACK_FULL_POWER_HFU). Every constant below is an assumption or has its source.
Network power is counted only when the job spans more than one scale-up domain (one 8-GPU node
for H100: NVLink switches sit on the GPU baseboard and are not modelled).
NB: not a thermal or DVFS model; CPU/host power is left out unless `host_w_per_gpu` is set.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from hardware.spec import DeviceSpec
from sim.results import StepResult

# --- utilisation weights (assumptions) ---
MEMORY_ACTIVITY = 0.6   # assumption: HBM-streaming kernels draw ~60% of the TDP headroom (SMs mostly stalled)
OTHER_ACTIVITY = 0.3    # assumption: latency-bound kernels and communication (NVLink/NIC DMA, few SMs busy)
FALLBACK_FULL_POWER_HFU = 0.73  # HFU at which the chip sits at its power cap: the H100 bf16 compute fraction

# --- network power per GPU, from components (2-tier non-blocking fat tree of 64-port 400G switches) ---
NIC_W = 25.0            # assumption: one ConnectX-7 400G adapter under load (no vendor figure found)
NIC_OPTICS_W = 9.0      # NVIDIA MMS4X00-NS400 400G OSFP transceiver, "9 Watts typical" (product spec,
                        # docs.nvidia.com/networking/display/mms4x00ns400/overview)
SWITCH_OPTICS_W_PER_PORT = 8.5   # NVIDIA MMS4X00-NS twin-port 2x400G OSFP "17 Watts" / 2 ports
                                 # (docs.nvidia.com/networking/display/800gmms4x00nst/overview)
SWITCH_ASIC_W_PER_PORT = 12.0    # assumption: a 64-port 400G switch (Quantum-2 class) at ~750 W / 64 ports
SWITCH_PORTS_PER_GPU = 3         # 2-tier fat tree: leaf down-link + leaf up-link + spine down-link per GPU
NETWORK_W_PER_GPU = NIC_W + NIC_OPTICS_W + SWITCH_PORTS_PER_GPU * (SWITCH_OPTICS_W_PER_PORT + SWITCH_ASIC_W_PER_PORT)
# = 25 + 9 + 3 x (8.5 + 12) = 95.5 W

# --- facility ---
PUE = 1.2   # assumption between Google's fleet-wide trailing-twelve-month PUE of 1.10 (2023,
            # google.com/about/datacenters/efficiency) and the 1.58 industry average of the Uptime
            # Institute Global Data Center Survey 2023; new AI halls are built near the low end.


@dataclass(frozen=True)
class PowerModel:
    """The assumptions of the power model; change any of them with dataclasses.replace."""

    pue: float = PUE
    network_w_per_gpu: float = NETWORK_W_PER_GPU
    host_w_per_gpu: float = 0.0          # CPU, DRAM, fans per GPU; 0 = left out (see module docstring)
    memory_activity: float = MEMORY_ACTIVITY
    other_activity: float = OTHER_ACTIVITY
    fallback_full_power_hfu: float = FALLBACK_FULL_POWER_HFU

    def __post_init__(self) -> None:
        if not self.pue >= 1:
            raise ValueError(f"PUE must be >= 1 (total facility power over IT power), got {self.pue!r}")
        for key in ("network_w_per_gpu", "host_w_per_gpu"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must not be negative, got {getattr(self, key)!r}")
        for key in ("memory_activity", "other_activity"):
            if not 0 <= getattr(self, key) <= 1:
                raise ValueError(f"{key} must be in [0, 1], got {getattr(self, key)!r}")
        if not 0 < self.fallback_full_power_hfu <= 1:
            raise ValueError(f"fallback_full_power_hfu must be in (0, 1], got {self.fallback_full_power_hfu!r}")


@dataclass(frozen=True)
class PowerResult:
    """Average power per GPU over a step and the energy of the step, SI units (W, J)."""

    utilization: float         # u of the formula, 0..1
    compute_share: float       # share of the step in compute-bound operators
    memory_share: float        # share in memory-bound operators
    other_share: float         # share in latency-bound operators and communication
    gpu_w: float               # board power per GPU
    network_w: float           # per GPU
    host_w: float              # per GPU
    pue: float
    n_gpus: int
    step_time_s: float
    tokens_per_step: int

    @property
    def it_w_per_gpu(self) -> float:
        return self.gpu_w + self.network_w + self.host_w

    @property
    def facility_w_per_gpu(self) -> float:
        return self.it_w_per_gpu * self.pue

    @property
    def facility_w(self) -> float:
        """Whole-job facility power, W."""
        return self.facility_w_per_gpu * self.n_gpus

    @property
    def energy_per_step_j(self) -> float:
        return self.facility_w * self.step_time_s

    @property
    def energy_per_token_j(self) -> float:
        return self.energy_per_step_j / self.tokens_per_step

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(it_w_per_gpu=self.it_w_per_gpu, facility_w_per_gpu=self.facility_w_per_gpu,
                   facility_w=self.facility_w, energy_per_step_j=self.energy_per_step_j,
                   energy_per_token_j=self.energy_per_token_j)
        return out


def busy_shares(result: StepResult) -> tuple[float, float, float]:
    """Shares of the step time in compute-bound, memory-bound and other (latency, comm) operators.

    Operator times are normalised by max(step time, their sum), so overlapped streams never give
    shares above 1 in total."""
    c = sum(o.time_s for o in result.ops if o.bound == "compute")
    m = sum(o.time_s for o in result.ops if o.bound == "memory")
    x = sum(o.time_s for o in result.ops if o.bound not in ("compute", "memory"))
    denom = max(result.step_time_s, c + m + x)
    return (c / denom, m / denom, x / denom) if denom > 0 else (0.0, 0.0, 0.0)


def gpu_power(device: DeviceSpec, utilization: float) -> float:
    """Board power at `utilization` in [0, 1]: idle + (TDP - idle) * u, W."""
    if not 0 <= utilization <= 1:
        raise ValueError(f"utilization must be in [0, 1], got {utilization!r}")
    if device.tdp_w <= 0:
        raise ValueError(f"device {device.name} has no TDP in its spec; cannot estimate power")
    return device.idle_w + (device.tdp_w - device.idle_w) * utilization


def estimate_power(result: StepResult, device: DeviceSpec, model: PowerModel | None = None) -> PowerResult:
    """Average power and energy of one step of `result` on GPUs of `device`."""
    model = model or PowerModel()
    if result.ops:
        c, m, x = busy_shares(result)
        u = min(1.0, c + m * model.memory_activity + x * model.other_activity)
    else:
        c = m = x = 0.0
        u = min(1.0, result.hfu / model.fallback_full_power_hfu)
    return PowerResult(utilization=u, compute_share=c, memory_share=m, other_share=x,
                       gpu_w=gpu_power(device, u), network_w=model.network_w_per_gpu if result.n_gpus > device.scaleup_domain else 0.0,
                       host_w=model.host_w_per_gpu, pue=model.pue, n_gpus=result.n_gpus,
                       step_time_s=result.step_time_s, tokens_per_step=result.tokens_per_step)
