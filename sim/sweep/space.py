"""The search space of a sweep and its lazy, deterministic enumeration (chunk i = plans [i*C, (i+1)*C))."""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import islice
from typing import Iterator

from workloads.model import ModelConfig

SCHEDULE_ORDER = ("1f1b", "interleaved", "zb", "gpipe", "dualpipev")
# Raw plan: (gpus, tp, pp, dp, cp, ep, vp, schedule, micro_batch, zero, recompute, tp_overlap)
RawPlan = tuple


def divisors(n: int) -> tuple[int, ...]:
    """Positive divisors of n, ascending."""
    return tuple(d for d in range(1, n + 1) if n % d == 0)


def _ints(label: str, values, low: int = 1) -> tuple[int, ...] | None:
    if values is None:
        return None
    out = tuple(int(v) for v in values)
    if not out or any(v < low for v in out):
        raise ValueError(f"{label}: give positive integers, got {values!r}")
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class SearchSpace:
    """Values tried per dimension; None = the default named in each comment. dp is what the GPUs leave."""

    tp: tuple[int, ...] | None = None          # divisors of the (KV) heads, <= GPUs per node unless tp_any
    pp: tuple[int, ...] | None = None          # divisors of the layers
    cp: tuple[int, ...] | None = None          # 1, and powers of two keeping >= 4,096 tokens per rank
    ep: tuple[int, ...] | None = None          # divisors of the experts (MoE), else 1
    vp: tuple[int, ...] | None = None          # interleaved: divisors > 1 of layers per stage
    zero: tuple[int, ...] = (0, 1, 2, 3)
    micro_batch: tuple[int, ...] = (1, 2, 4, 8)
    recompute: tuple[str, ...] = ("none", "selective", "full")
    schedule: tuple[str, ...] = ("1f1b", "interleaved", "zb")
    tp_overlap: tuple[bool, ...] = (False,)
    tp_any: bool = False                        # allow TP groups wider than a node

    def __post_init__(self) -> None:
        for label in ("tp", "pp", "cp", "ep", "vp"):
            object.__setattr__(self, label, _ints(label, getattr(self, label)))
        object.__setattr__(self, "zero", _ints("zero", self.zero, low=0))
        object.__setattr__(self, "micro_batch", _ints("micro_batch", self.micro_batch))
        if any(z not in (0, 1, 2, 3) for z in self.zero):
            raise ValueError(f"zero stages must be among 0, 1, 2, 3, got {self.zero}")
        from workloads.recompute import check
        for r in self.recompute:
            check(r)
        for s in self.schedule:
            if s not in SCHEDULE_ORDER:
                raise ValueError(f"schedule {s!r} is not one of {', '.join(SCHEDULE_ORDER)}")
        if not (self.recompute and self.schedule and self.tp_overlap):
            raise ValueError("empty search space: recompute, schedule and tp_overlap need at least one value")


def _tp_values(space: SearchSpace, m: ModelConfig, gpn: int) -> tuple[int, ...]:
    kv = math.gcd(m.n_heads, m.n_kv_heads or m.n_heads)
    base = space.tp or divisors(kv)
    return tuple(t for t in base if (space.tp_any or space.tp is not None or t <= gpn))


def _cp_values(space: SearchSpace, seq_len: int) -> tuple[int, ...]:
    if space.cp is not None:
        return space.cp
    return tuple(c for c in (1, 2, 4, 8, 16) if c == 1 or seq_len // c >= 4096)


def iter_raw(m: ModelConfig, space: SearchSpace, gpus: tuple[int, ...], global_batch: int, seq_len: int,
             gpus_per_node: int) -> Iterator[RawPlan]:
    """Every plan passing the cheap divisibility checks, in a fixed order (ParallelPlan.validate runs later)."""
    L = m.n_layers
    tps = _tp_values(space, m, gpus_per_node)
    # divisors of the layers, and powers of two (uneven splits, as Llama 3 405B's 126 layers on 16 stages)
    pps = space.pp or tuple(sorted(set(divisors(L)) | {2 ** i for i in range(1, 8) if 2 ** i <= L // 2}))
    cps = _cp_values(space, seq_len)
    eps = space.ep or (divisors(m.n_experts) if m.n_experts else (1,))
    for n in gpus:
        for tp in tps:
            for pp in pps:
                if pp > L:
                    continue
                for cp in cps:
                    if n % (tp * pp * cp) or seq_len % cp:
                        continue
                    dp = n // (tp * pp * cp)
                    for ep in eps:
                        if ep > 1 and (not m.n_experts or m.n_experts % ep or (tp * cp * dp) % (tp * ep)):
                            continue
                        for sched in space.schedule:
                            if pp == 1 and sched != "1f1b":
                                continue
                            if sched == "interleaved":
                                vps = space.vp or divisors(L // pp)[1:]
                                vps = tuple(v for v in vps if v > 1 and pp * v <= L)
                            elif sched == "dualpipev":
                                vps = (2,) if 2 * pp <= L else ()
                            else:
                                vps = (1,)
                            for vp in vps:
                                for mb in space.micro_batch:
                                    if global_batch % (dp * mb):
                                        continue
                                    nm = global_batch // (dp * mb)
                                    if (sched == "interleaved" and nm % pp) or (sched == "dualpipev" and nm < 2 * pp):
                                        continue
                                    for zero in space.zero:
                                        for rc in space.recompute:
                                            for ov in space.tp_overlap:
                                                if ov and tp == 1:
                                                    continue
                                                yield (n, tp, pp, dp, cp, ep, vp, sched, mb, zero, rc, ov)


def count_raw(*args) -> int:
    """Number of plans iter_raw yields."""
    return sum(1 for _ in iter_raw(*args))


def chunk_slice(it: Iterator[RawPlan], chunk: int, size: int) -> Iterator[RawPlan]:
    """Plans [chunk*size, (chunk+1)*size) of the enumeration."""
    return islice(it, chunk * size, (chunk + 1) * size)
