"""Interleaved 1F1B (Narayanan et al. 2021, Megatron-LM's forward_backward_pipelining_with_interleaving).

Each rank holds vp model chunks; chunk c of rank s is virtual stage c*p + s. Micro-batches go
through in groups of p: virtual step k runs micro-batch (k // (p*vp))*p + k % p on chunk
(k % (p*vp)) // p (backwards: chunks in reverse). Megatron's warm-up count on rank s is
(p - s - 1)*2 + (vp - 1)*p, capped at m*vp; the bubble shrinks by vp, at the price of vp
times more p2p messages. Needs m % p == 0 (Megatron's constraint, checked by ParallelPlan).
"""
from __future__ import annotations

from .base import Task, register_schedule


def _chunk(k: int, pp: int, vp: int, forward: bool) -> int:
    """Model chunk of virtual step k (Megatron's get_model_chunk_id)."""
    c = (k % (pp * vp)) // pp
    return c if forward else vp - 1 - c


def _microbatch(k: int, pp: int, vp: int) -> int:
    """Micro-batch of virtual step k: groups of p micro-batches sweep all chunks in turn."""
    return (k // (pp * vp)) * pp + k % pp


@register_schedule("interleaved")
def interleaved(pp: int, m: int, vp: int) -> list[list[Task]]:
    """Megatron's interleaved order: warm-up forwards, 1F1B steady state over virtual steps, cool-down."""
    if m % pp:
        raise ValueError(f"interleaved schedule needs num_microbatches % pp == 0, got {m} % {pp} = {m % pp}")
    total = m * vp
    stages = []
    for s in range(pp):
        # NB: Megatron runs everything as warm-up when m == p (all forwards, then all backwards).
        warm = total if m == pp else min((pp - s - 1) * 2 + (vp - 1) * pp, total)
        fwd = lambda k: Task("F", _microbatch(k, pp, vp), _chunk(k, pp, vp, True))  # noqa: E731
        bwd = lambda k: Task("B", _microbatch(k, pp, vp), _chunk(k, pp, vp, False))  # noqa: E731
        tasks = [fwd(k) for k in range(warm)]
        for i in range(total - warm):
            tasks += [fwd(warm + i), bwd(i)]
        tasks += [bwd(k) for k in range(total - warm, total)]
        stages.append(tasks)
    return stages
