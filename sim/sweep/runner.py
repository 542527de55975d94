"""Run a sweep: chunks over local processes or a Dask cluster, resumable; refine the top plans by simulation."""
from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Sequence

from sim.distributed import ClusterOptions, simulate_cluster
from sim.sweep.reduce import top_k
from sim.sweep.result import SweepResult
from sim.sweep.rows import GIB, PLAN_KEYS, plan_of_row, rank_key, usd_per_million
from sim.sweep.space import SearchSpace, count_raw
from sim.sweep.spec import SweepSpec
from sim.sweep.store import Store
from sim.sweep.worker import ChunkSummary, ChunkTask, _models, base_cluster, run_chunk
from sim.sweep.progress import Progress
from workloads.catalog import get_model


def _refine_one(args) -> dict:
    """Re-predict one row with the event engine (simulate_cluster)."""
    spec, row = args
    am = _models(spec.model, spec.cluster, spec.options, row["gpus"])
    plan = plan_of_row(row, spec.global_batch)
    res, _ = simulate_cluster(am.model, am.cluster, plan, spec.options, gpus=row["gpus"])
    cap = am.capacity if spec.memory_budget_bytes is None else min(am.capacity, spec.memory_budget_bytes)
    out = dict(row)
    out.update(step_time_s=res.step_time_s, tokens_per_s=res.tokens_per_s, mfu=res.mfu,
               peak_memory_GiB=res.memory.peak / GIB, fits=res.memory.peak <= cap, stage="simulated",
               usd_per_million_tokens=usd_per_million(spec.price_per_gpu_hour, row["gpus"], res.tokens_per_s))
    return out


def _run_local(store: Store, spec: SweepSpec, todo: list[int], jobs: int, on_done) -> None:
    if jobs <= 1 or len(todo) <= 1:
        for c in todo:
            on_done(run_chunk(ChunkTask(spec, c, str(store.dir))))
        return
    ex = ProcessPoolExecutor(max_workers=jobs)
    try:
        pending = set()
        queue = list(todo)
        while queue or pending:
            while queue and len(pending) < 2 * jobs:   # a bounded window: never one task per plan
                pending.add(ex.submit(run_chunk, ChunkTask(spec, queue.pop(0), str(store.dir))))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                on_done(f.result())
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    ex.shutdown(wait=True)


def _run_dask(client, spec: SweepSpec, todo: list[int], on_done) -> None:
    try:
        from dask.distributed import as_completed
    except ImportError:
        raise ValueError("a Dask sweep needs dask.distributed: pip install 'roofsim[dask]'") from None
    futures = client.map(run_chunk, [ChunkTask(spec, c, None) for c in todo], pure=False)
    try:
        for f in as_completed(futures):
            on_done(f.result())
    except BaseException:
        client.cancel(futures)
        raise


def connect_dask(address: str):
    """A dask.distributed Client for `address` (one-line ValueError when dask is missing)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError("--dask needs dask.distributed: pip install 'roofsim[dask]'") from None
    return Client(address)


def sweep(model, cluster, gpus: int | Sequence[int], global_batch: int, seq_len: int, *,
          space: SearchSpace | None = None, options: ClusterOptions | None = None, refine: int = 10,
          top_k_per_chunk: int | None = None, price_per_gpu_hour: float | None = None,
          memory_budget_GiB: float | None = None, rank_by: str = "throughput", jobs: int | None = None,
          client=None, workdir: str | None = None, resume: bool = False, progress: bool = False,
          chunk_size: int = 2000, on_chunk: Callable[[ChunkSummary], None] | None = None) -> SweepResult:
    """Every valid plan of `model` on `cluster` for each GPU count, ranked; the top `refine` per count simulated.

    jobs: local processes (default: all cores); client: a dask.distributed.Client instead.
    workdir: where shards and the manifest go (default: a temporary folder, removed at the end);
    resume=True continues a sweep interrupted in the same workdir. on_chunk(summary) runs after each
    finished chunk is on disk.
    """
    rank_key(rank_by)
    if rank_by == "cost" and price_per_gpu_hour is None:
        raise ValueError("ranking by cost needs a price per GPU-hour")
    gpus_t = tuple(sorted({int(gpus)} if isinstance(gpus, int) else {int(n) for n in gpus}))
    opts = options or ClusterOptions(seq_len=seq_len)
    if opts.seq_len != seq_len:
        raise ValueError(f"options.seq_len={opts.seq_len} contradicts seq_len={seq_len}")
    m = get_model(model)
    base = base_cluster(cluster)
    for n in gpus_t:
        _models(model, cluster, opts, n)     # unknown device, bad GPU count: fail before any work
    budget = None if memory_budget_GiB is None else memory_budget_GiB * GIB
    spec = SweepSpec(model, cluster, gpus_t, int(global_batch), int(seq_len), space or SearchSpace(), opts,
                     max(refine, top_k_per_chunk or 0, 1), price_per_gpu_hour, int(chunk_size), budget)
    total = count_raw(m, spec.space, gpus_t, spec.global_batch, spec.seq_len, base.gpus_per_node)
    if total == 0:
        raise ValueError(f"empty search space: no plan of {m.name} on {', '.join(map(str, gpus_t))} GPUs divides "
                         f"global batch {global_batch} and the model's heads and layers")
    n_chunks = math.ceil(total / spec.chunk_size)
    temp = workdir is None
    store = Store(workdir or tempfile.mkdtemp(prefix="roofsim-sweep-"), spec.key(), resume)
    bar = Progress(total, progress)
    bar.update(sum(s.plans for s in store.done.values()))
    reused = len(store.done)
    t0 = time.perf_counter()

    def on_done(s: ChunkSummary) -> None:
        store.record(s)
        bar.update(s.plans)
        if on_chunk is not None:
            on_chunk(s)

    todo = [c for c in range(n_chunks) if c not in store.done]
    try:
        if client is not None:
            _run_dask(client, spec, todo, on_done)
        else:
            _run_local(store, spec, todo, jobs or os.cpu_count() or 1, on_done)
    except BaseException:
        bar.close(f"stopped: {len(store.done)} of {n_chunks} chunks kept in {store.dir}")
        raise
    t_ana = time.perf_counter() - t0
    bar.close()
    summaries = list(store.done.values())
    stats = {k: sum(getattr(s, k) for s in summaries) for k in ("plans", "invalid", "over_memory", "evaluated")}
    computed = [s for s in summaries if s.chunk in set(todo)]
    stats.update(chunks=n_chunks, chunks_reused=reused, seconds_analytical=t_ana,
                 plans_per_s=sum(s.plans for s in computed) / t_ana if t_ana > 0 else float("nan"))
    if stats["evaluated"] == 0:
        what = f"the {memory_budget_GiB:g} GiB budget" if budget else "GPU memory"
        raise ValueError(f"no plan fits {what}: all {stats['over_memory']} valid plans of {m.name} exceed it "
                         f"({stats['invalid']} more break divisibility)")
    # Refine: the best `refine` rows per GPU count, by the engine.
    t1 = time.perf_counter()
    cands = top_k([r for s in summaries for r in s.top], max(refine, 0)) if refine > 0 else []
    if client is not None and cands:
        refined = client.gather(client.map(_refine_one, [(spec, r) for r in cands], pure=False))
    elif (jobs or os.cpu_count() or 1) > 1 and len(cands) > 2:
        with ProcessPoolExecutor(max_workers=jobs or os.cpu_count()) as ex:
            refined = list(ex.map(_refine_one, [(spec, r) for r in cands]))
    else:
        refined = [_refine_one((spec, r)) for r in cands]
    stats.update(refined=len(refined), seconds_refine=time.perf_counter() - t1)
    by_key = {tuple(r[k] for k in PLAN_KEYS): r for r in refined}
    rows = [by_key.get(tuple(r[k] for k in PLAN_KEYS), r) for r in store.rows()]
    rows = [r for r in rows if r["fits"]]
    rows.sort(key=rank_key(rank_by))
    cap = min(_models(model, cluster, opts, n).capacity for n in gpus_t)
    if budget is not None:
        cap = min(cap, budget)
    if temp:
        shutil.rmtree(store.dir, ignore_errors=True)
    return SweepResult(tuple(rows), rank_by, spec.global_batch, spec.seq_len, cap / GIB, stats)
