"""Capacity planning on top of a throughput function: time, GPU-hours, cost and energy to train on a
token budget for each GPU count, the GPUs a deadline needs, and the largest model one GPU holds.

  steps      = ceil(tokens / tokens_per_step(n))
  T_train(n) = steps x T_step(n);   GPU-hours = n x T_train / 3600;   cost = GPU-hours x price
  E_train(n) = steps x E_step(n)   (sim.power: GPU + network power, times PUE)

Throughput comes from `throughput_fn(n_gpus) -> StepResult` passed in; `DataParallelPlaceholder`
is the stand-in until the distributed simulator is wired (pass its function instead).
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Iterable, Sequence

from hardware.spec import DeviceSpec
from sim.power import PowerModel, estimate_power
from sim.results import StepResult

ThroughputFn = Callable[[int], StepResult]
SECONDS_PER_DAY = 86400.0
_SUFFIX = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15}

# Placeholder data-parallel scaling: each doubling of GPUs keeps this fraction of per-GPU throughput
# (gradient all-reduce not fully hidden, stragglers). Assumption, not a model: 0.99^14 = 0.87 at 16,384 GPUs.
PLACEHOLDER_EFFICIENCY_PER_DOUBLING = 0.99
PLACEHOLDER_NOTE = ("PLACEHOLDER scaling: one GPU's simulated step x n GPUs x {e}^log2(n) efficiency; ignores "
                    "sharding (TP/PP/FSDP) and its communication, and per-GPU memory is that of the unsharded model")


def parse_tokens(text: str | float | int) -> float:
    """Token count from '15T', '300B', '2.5e12' or a number."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmbgtp]?)\s*", str(text), re.I)
        if not m:
            raise ValueError(f"cannot read a token count from {text!r}; use e.g. 15T, 300B, 2.5e12")
        value = float(m.group(1)) * _SUFFIX[m.group(2).upper()]
    if not value > 0:
        raise ValueError(f"token budget must be positive, got {text!r}")
    return value


def parse_gpu_counts(text: str | Iterable[int]) -> tuple[int, ...]:
    """GPU counts from '1024,2048', '1024-16384' (powers of two between) or '1024:8192:1024' (start:stop:step)."""
    if not isinstance(text, str):
        counts = [int(x) for x in text]
    else:
        counts = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            try:
                if ":" in part:
                    a, b, s = (int(x) for x in part.split(":"))
                    if s < 1:
                        raise ValueError
                    counts += list(range(a, b + 1, s))
                elif "-" in part:
                    a, b = (int(x) for x in part.split("-"))
                    n = a
                    while n <= b:
                        counts.append(n)
                        n *= 2
                else:
                    counts.append(int(part))
            except ValueError:
                raise ValueError(f"cannot read GPU counts from {part!r}; use 1024,2048 or 1024-16384 "
                                 "or 1024:8192:1024") from None
    if not counts or any(n < 1 for n in counts):
        raise ValueError(f"GPU counts must be positive integers, got {text!r}")
    return tuple(sorted(set(counts)))


@dataclass(frozen=True)
class DataParallelPlaceholder:
    """PLACEHOLDER throughput function: a single-GPU step replicated on n GPUs with an assumed efficiency.

    Weak scaling: each GPU runs `base` (its own batch), so tokens per step grow with n and the step
    time grows by 1 / efficiency_per_doubling^log2(n)."""

    base: StepResult
    efficiency_per_doubling: float = PLACEHOLDER_EFFICIENCY_PER_DOUBLING

    def __post_init__(self) -> None:
        if not 0 < self.efficiency_per_doubling <= 1:
            raise ValueError(f"efficiency per doubling must be in (0, 1], got {self.efficiency_per_doubling!r}")
        if self.base.n_gpus != 1:
            raise ValueError("the placeholder scales a single-GPU StepResult (n_gpus=1)")

    @property
    def note(self) -> str:
        return PLACEHOLDER_NOTE.format(e=self.efficiency_per_doubling)

    def efficiency(self, n_gpus: int) -> float:
        return self.efficiency_per_doubling ** math.log2(n_gpus)

    def __call__(self, n_gpus: int) -> StepResult:
        if not isinstance(n_gpus, int) or n_gpus < 1:
            raise ValueError(f"GPU count must be a positive integer, got {n_gpus!r}")
        b = self.base
        return replace(b, n_gpus=n_gpus, step_time_s=b.step_time_s / self.efficiency(n_gpus),
                       tokens_per_step=b.tokens_per_step * n_gpus, model_flops=b.model_flops * n_gpus,
                       hardware_flops=b.hardware_flops * n_gpus, notes=(*b.notes, self.note),
                       config={**b.config, "scaling": "data-parallel placeholder",
                               "efficiency_per_doubling": self.efficiency_per_doubling})


def placeholder_throughput(model, hardware, options=None, efficiency_per_doubling: float =
                           PLACEHOLDER_EFFICIENCY_PER_DOUBLING, profile=None, **kw) -> DataParallelPlaceholder:
    """The default throughput function: simulate one GPU (sim.single; StepOptions or its fields as
    keywords) and replicate it (PLACEHOLDER)."""
    from sim.single import simulate
    return DataParallelPlaceholder(simulate(model, hardware, options, profile=profile, **kw), efficiency_per_doubling)


@dataclass(frozen=True)
class CapacityRow:
    """One GPU count of a plan, SI units (s, J, W); cost in the currency of the price given."""

    n_gpus: int
    step_time_s: float
    tokens_per_step: int
    tokens_per_s: float
    mfu: float
    steps: int
    time_to_train_s: float
    gpu_hours: float
    cost: float | None
    energy_j: float
    facility_w: float          # average facility power of the whole job
    fits_in_memory: bool

    @property
    def days(self) -> float:
        return self.time_to_train_s / SECONDS_PER_DAY

    @property
    def energy_mwh(self) -> float:
        return self.energy_j / 3.6e9

    def to_dict(self) -> dict:
        return {**asdict(self), "days": self.days, "energy_mwh": self.energy_mwh}


def capacity_row(result: StepResult, tokens: float, device: DeviceSpec, price_per_gpu_hour: float | None = None,
                 power_model: PowerModel | None = None) -> CapacityRow:
    """Time, GPU-hours, cost and energy to train on `tokens` at the throughput of `result`."""
    steps = math.ceil(tokens / result.tokens_per_step)
    t = steps * result.step_time_s
    gpu_hours = result.n_gpus * t / 3600.0
    power = estimate_power(result, device, power_model)
    return CapacityRow(n_gpus=result.n_gpus, step_time_s=result.step_time_s, tokens_per_step=result.tokens_per_step,
                       tokens_per_s=result.tokens_per_s, mfu=result.mfu, steps=steps, time_to_train_s=t,
                       gpu_hours=gpu_hours, cost=None if price_per_gpu_hour is None else gpu_hours * price_per_gpu_hour,
                       energy_j=steps * power.energy_per_step_j, facility_w=power.facility_w,
                       fits_in_memory=result.memory.fits)


@dataclass(frozen=True)
class DeadlineAnswer:
    """The fewest GPUs (a multiple of `granularity`) that train the budget within the deadline."""

    deadline_s: float
    granularity: int
    n_gpus: int | None         # None: not reachable up to max_gpus
    max_gpus: int
    row: CapacityRow | None

    def to_dict(self) -> dict:
        return {"deadline_days": self.deadline_s / SECONDS_PER_DAY, "granularity": self.granularity,
                "n_gpus": self.n_gpus, "max_gpus": self.max_gpus, "row": self.row.to_dict() if self.row else None}


def gpus_for_deadline(throughput_fn: ThroughputFn, tokens: float, deadline_s: float, device: DeviceSpec,
                      granularity: int = 8, max_gpus: int = 1 << 20, price_per_gpu_hour: float | None = None,
                      power_model: PowerModel | None = None) -> DeadlineAnswer:
    """Doubling search then bisection over multiples of `granularity`.

    NB: assumes time to train does not increase with more GPUs (true of the placeholder; a real
    plan can plateau, then the answer is the first count that meets the deadline on the way up)."""
    if not deadline_s > 0:
        raise ValueError(f"deadline must be positive, got {deadline_s / SECONDS_PER_DAY!r} days")
    if granularity < 1:
        raise ValueError(f"granularity must be a positive integer, got {granularity!r}")

    def row(n: int) -> CapacityRow:
        return capacity_row(throughput_fn(n), tokens, device, price_per_gpu_hour, power_model)

    n, r = granularity, row(granularity)
    if r.time_to_train_s <= deadline_s:
        return DeadlineAnswer(deadline_s, granularity, n, max_gpus, r)
    lo = n
    while True:
        n *= 2
        if n > max_gpus:
            return DeadlineAnswer(deadline_s, granularity, None, max_gpus, None)
        r = row(n)
        if r.time_to_train_s <= deadline_s:
            break
        lo = n
    hi, best = n, r
    while hi - lo > granularity:
        mid = (lo + hi) // 2 // granularity * granularity
        r = row(mid)
        if r.time_to_train_s <= deadline_s:
            hi, best = mid, r
        else:
            lo = mid
    return DeadlineAnswer(deadline_s, granularity, hi, max_gpus, best)


@dataclass(frozen=True)
class WallEntry:
    """One model tried against one GPU's memory."""

    name: str
    params: int
    fits: bool
    peak_bytes: float          # lowest peak over the plans tried (weights alone when skipped)
    capacity_bytes: float
    plan: str                  # the plan that fits (or the one with the lowest peak)


@dataclass(frozen=True)
class MemoryWall:
    """The largest model that fits one GPU with the best memory plan, from a scan."""

    hardware: str
    seq_len: int
    largest: WallEntry | None            # largest fitting model among those scanned
    depth_scaled: WallEntry | None       # largest fitting depth-scaled variant of `base`
    scanned: tuple[WallEntry, ...] = ()
    plans: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"hardware": self.hardware, "seq_len": self.seq_len, "plans": list(self.plans),
                "largest": asdict(self.largest) if self.largest else None,
                "depth_scaled": asdict(self.depth_scaled) if self.depth_scaled else None,
                "scanned": [asdict(e) for e in self.scanned]}


def memory_plans(seq_len: int, dtype: str = "bf16", kernels: str = "fused") -> tuple:
    """Single-GPU memory plans, least intrusive first: batch 1, full recompute, mixed-precision Adam;
    then pure bf16 Adam states (no fp32 master copy: 8 instead of 16 bytes per parameter)."""
    from sim.single import StepOptions
    return tuple(StepOptions(batch=1, seq_len=seq_len, micro_batch=1, recompute="full", dtype=dtype,
                             optimizer_state_dtype=s, kernels=kernels) for s in ("fp32", "bf16"))


def _plan_name(o) -> str:
    return f"micro_batch={o.micro_batch}, recompute={o.recompute}, optimizer_state_dtype={o.optimizer_state_dtype}"


def check_fit(model, hardware, plans: Sequence) -> WallEntry:
    """Try `plans` in order on one GPU (sim.single); the first that fits, else the lowest peak."""
    from hardware.catalog import get_device
    from sim.single import simulate, usable_memory
    from workloads.catalog import get_model
    m, dev = get_model(model), get_device(hardware)
    cap = usable_memory(dev)
    if 2.0 * m.n_params > cap:      # bf16 weights alone do not fit: skip the simulation
        return WallEntry(m.name, m.n_params, False, 2.0 * m.n_params, cap, "weights alone exceed memory")
    best = None
    for opts in plans:
        try:
            mem = simulate(m, dev, opts).memory
        except ValueError as exc:    # e.g. seq_len beyond a learned position table
            return WallEntry(m.name, m.n_params, False, float("nan"), cap, f"not simulated: {exc}")
        entry = WallEntry(m.name, m.n_params, mem.fits, mem.peak, mem.capacity, _plan_name(opts))
        if mem.fits:
            return entry
        best = entry if best is None or entry.peak_bytes < best.peak_bytes else best
    return best


def memory_wall(hardware, seq_len: int = 4096, models: Sequence | None = None, base=None,
                plans: Sequence | None = None, fits_fn: Callable | None = None) -> MemoryWall:
    """Largest of `models` (default: the whole catalog) that fits one GPU, and the deepest variant of
    `base` (same width, fewer/more layers) that fits. `fits_fn(model) -> WallEntry` replaces the
    single-GPU check (e.g. a distributed memory model with ZeRO-3 over n GPUs)."""
    from hardware.catalog import get_device
    from workloads.catalog import get_model, known_models, with_changes
    dev = get_device(hardware)
    plans = tuple(plans) if plans is not None else memory_plans(seq_len)
    check = fits_fn or (lambda m: check_fit(m, dev, plans))
    entries = tuple(sorted((check(get_model(m)) for m in (models if models is not None else known_models())),
                           key=lambda e: e.params))
    fitting = [e for e in entries if e.fits]
    depth = None
    if base is not None:
        b = get_model(base)

        def variant(n_layers: int):
            return with_changes(b, n_layers=n_layers, name=f"{b.name}-{n_layers}L", aliases=())
        lo, hi = 0, 1
        while check(variant(hi)).fits and hi < 4096:
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if check(variant(mid)).fits else (lo, mid)
        depth = check(variant(lo)) if lo >= 1 else None
    return MemoryWall(hardware=dev.name, seq_len=seq_len, largest=fitting[-1] if fitting else None,
                      depth_scaled=depth, scanned=entries, plans=tuple(_plan_name(p) for p in plans))


@dataclass(frozen=True)
class CapacityPlan:
    """A capacity plan: one row per GPU count, the deadline answer, the memory wall, and its assumptions."""

    model: str
    hardware: str
    tokens: float
    rows: tuple[CapacityRow, ...]
    price_per_gpu_hour: float | None = None
    deadline: DeadlineAnswer | None = None
    memory_wall: MemoryWall | None = None
    notes: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"model": self.model, "hardware": self.hardware, "tokens": self.tokens,
                "price_per_gpu_hour": self.price_per_gpu_hour, "rows": [r.to_dict() for r in self.rows],
                "deadline": self.deadline.to_dict() if self.deadline else None,
                "memory_wall": self.memory_wall.to_dict() if self.memory_wall else None,
                "notes": list(self.notes), "provenance": dict(self.provenance)}


def plan_capacity(throughput_fn: ThroughputFn, tokens: float | str, gpu_counts: Iterable[int] | str,
                  device: DeviceSpec, price_per_gpu_hour: float | None = None, deadline_days: float | None = None,
                  power_model: PowerModel | None = None, granularity: int = 8, max_gpus: int = 1 << 20,
                  wall: MemoryWall | None = None) -> CapacityPlan:
    """Evaluate `throughput_fn` at each GPU count and summarise training on `tokens` tokens."""
    tokens = parse_tokens(tokens)
    counts = parse_gpu_counts(gpu_counts)
    if price_per_gpu_hour is not None and price_per_gpu_hour < 0:
        raise ValueError(f"price per GPU-hour must not be negative, got {price_per_gpu_hour!r}")
    results = [throughput_fn(n) for n in counts]
    rows = tuple(capacity_row(r, tokens, device, price_per_gpu_hour, power_model) for r in results)
    deadline = None
    if deadline_days is not None:
        deadline = gpus_for_deadline(throughput_fn, tokens, deadline_days * SECONDS_PER_DAY, device, granularity,
                                     max_gpus, price_per_gpu_hour, power_model)
    pm = power_model or PowerModel()
    notes = tuple(dict.fromkeys(n for r in results for n in r.notes if "PLACEHOLDER" in n))
    notes += (f"energy: sim.power with PUE {pm.pue}, network {pm.network_w_per_gpu:.1f} W/GPU beyond one "
              f"scale-up domain, host {pm.host_w_per_gpu:.0f} W/GPU (assumptions, see sim/power.py)",)
    first = results[0]
    return CapacityPlan(model=first.model, hardware=first.hardware, tokens=tokens, rows=rows,
                        price_per_gpu_hour=price_per_gpu_hour, deadline=deadline, memory_wall=wall, notes=notes,
                        provenance=dict(first.provenance))
