"""One chunk of a sweep, run where it is scheduled: enumerate its plans, prune, estimate, reduce."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sim.analytical import AnalyticalModel
from sim.sweep.reduce import pareto_memory, top_k
from sim.sweep.rows import make_row, plan_of, write_rows
from sim.sweep.space import chunk_slice, iter_raw
from sim.sweep.spec import SweepSpec
from topologies.catalog import get_cluster
from topologies.cluster import Cluster
from workloads.catalog import get_model


@dataclass(frozen=True)
class ChunkTask:
    """Chunk `chunk` of `spec`; `shard_dir` set: the worker writes its rows there, else returns them."""

    spec: SweepSpec
    chunk: int
    shard_dir: str | None = None


@dataclass(frozen=True)
class ChunkSummary:
    """What a chunk hands back: counts, its top-k and Pareto rows, and its rows when not on disk."""

    chunk: int
    plans: int                 # enumerated
    invalid: int               # rejected by ParallelPlan.validate
    over_memory: int           # pruned by the analytical memory estimate
    evaluated: int
    seconds: float
    top: tuple = ()
    pareto: tuple = ()
    rows: tuple | None = field(default=None, compare=False)


def base_cluster(cluster: Cluster | str) -> Cluster:
    return cluster if isinstance(cluster, Cluster) else get_cluster(cluster)


@lru_cache(maxsize=32)
def _models(model, cluster, options, gpus: int) -> AnalyticalModel:
    """Per-process memo of analytical models (their cost caches are shared by every chunk of a sweep)."""
    return AnalyticalModel(model, base_cluster(cluster), options, gpus=gpus)


def shard_path(directory: str | Path, chunk: int) -> Path:
    return Path(directory) / f"shard-{chunk:06d}.csv"


def evaluate_chunk(spec: SweepSpec, chunk: int) -> tuple[list[dict], dict]:
    """Rows of the fitting plans of one chunk, and the counts of what was pruned."""
    m = get_model(spec.model)
    gpn = base_cluster(spec.cluster).gpus_per_node
    raws = chunk_slice(iter_raw(m, spec.space, spec.gpus, spec.global_batch, spec.seq_len, gpn),
                       chunk, spec.chunk_size)
    rows: list[dict] = []
    counts = {"plans": 0, "invalid": 0, "over_memory": 0}
    for raw in raws:
        counts["plans"] += 1
        am = _models(spec.model, spec.cluster, spec.options, raw[0])
        try:
            plan = plan_of(raw, spec.global_batch)
            am.check(plan)
            peak = am.memory(plan)     # the graph adds shape checks (e.g. tokens divisible by tp under SP)
        except ValueError:
            counts["invalid"] += 1
            continue
        cap = am.capacity if spec.memory_budget_bytes is None else min(am.capacity, spec.memory_budget_bytes)
        if peak > cap:
            counts["over_memory"] += 1
            continue
        e = am.estimate(plan, check=False, peak=peak)
        rows.append(make_row(raw, plan, e.step_time_s, e.tokens_per_s, e.mfu, peak, cap, "analytical",
                             chunk, spec.price_per_gpu_hour))
    return rows, counts


def run_chunk(task: ChunkTask) -> ChunkSummary:
    """Evaluate a chunk and reduce it: top-k per GPU count, memory/throughput Pareto front, shard of rows."""
    t0 = time.perf_counter()
    rows, counts = evaluate_chunk(task.spec, task.chunk)
    if task.shard_dir is not None:
        write_rows(shard_path(task.shard_dir, task.chunk), rows)
    return ChunkSummary(task.chunk, counts["plans"], counts["invalid"], counts["over_memory"], len(rows),
                        time.perf_counter() - t0, tuple(top_k(rows, task.spec.top_k)), tuple(pareto_memory(rows)),
                        None if task.shard_dir is not None else tuple(rows))
