"""Result rows of a sweep: one flat dict per plan, fixed columns, CSV shards written and read with `csv`."""
from __future__ import annotations

import csv
import os
from pathlib import Path

from sim.plan import ParallelPlan

GIB = 2 ** 30   # rows carry memory in GiB (an output edge)

# name -> type; the CSV header, in this order
COLUMNS: dict[str, type] = {
    "gpus": int, "tp": int, "pp": int, "dp": int, "cp": int, "ep": int, "vp": int, "schedule": str,
    "micro_batch": int, "num_microbatches": int, "zero": int, "recompute": str, "tp_overlap": bool,
    "step_time_s": float, "tokens_per_s": float, "mfu": float, "peak_memory_GiB": float, "fits": bool,
    "stage": str, "analytical_step_time_s": float, "usd_per_million_tokens": float, "chunk": int,
}
PLAN_KEYS = ("gpus", "tp", "pp", "dp", "cp", "ep", "vp", "schedule", "micro_batch", "zero", "recompute", "tp_overlap")


def plan_of(raw: tuple, global_batch: int) -> ParallelPlan:
    """ParallelPlan of a raw enumerated tuple (Megatron defaults: sequence parallel with TP, overlapped DP)."""
    n, tp, pp, dp, cp, ep, vp, sched, mb, zero, rc, ov = raw
    return ParallelPlan(tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, vp=vp, zero=zero, sequence_parallel=tp > 1,
                        micro_batch=mb, global_batch=global_batch, schedule=sched, recompute=rc, tp_overlap=ov)


def plan_of_row(row: dict, global_batch: int) -> ParallelPlan:
    return plan_of(tuple(row[k] for k in PLAN_KEYS), global_batch)


def make_row(raw: tuple, plan: ParallelPlan, step_s: float, tokens_per_s: float, mfu: float, peak: float,
             capacity: float, stage: str, chunk: int, price_per_gpu_hour: float | None) -> dict:
    row = dict(zip(PLAN_KEYS, raw))
    row.update(num_microbatches=plan.num_microbatches, step_time_s=step_s, tokens_per_s=tokens_per_s, mfu=mfu,
               peak_memory_GiB=peak / GIB, fits=peak <= capacity, stage=stage, analytical_step_time_s=step_s,
               usd_per_million_tokens=usd_per_million(price_per_gpu_hour, raw[0], tokens_per_s), chunk=chunk)
    return row


def usd_per_million(price_per_gpu_hour: float | None, gpus: int, tokens_per_s: float) -> float:
    """Dollars per million tokens at a price per GPU-hour (nan without a price)."""
    if price_per_gpu_hour is None or not tokens_per_s > 0:
        return float("nan")
    return price_per_gpu_hour * gpus / 3600.0 / tokens_per_s * 1e6


def _parse(name: str, text: str):
    kind = COLUMNS[name]
    if kind is bool:
        return text == "True"
    if kind is float:
        return float(text) if text not in ("", "nan") else float("nan")
    return kind(text)


def write_rows(path: str | Path, rows: list[dict]) -> None:
    """Write rows as CSV atomically (temp file, flush, fsync, rename): a shard is whole or absent."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        w.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_rows(path: str | Path) -> list[dict]:
    with open(path, newline="") as fh:
        return [{k: _parse(k, v) for k, v in r.items() if k in COLUMNS} for r in csv.DictReader(fh)]


def rank_key(rank_by: str):
    """Sort key of rows: fitting first, simulated (refined) before analytical, then throughput (descending)
    or cost per token (ascending)."""
    if rank_by == "throughput":
        return lambda r: (not r["fits"], r["stage"] != "simulated", -r["tokens_per_s"])
    if rank_by == "cost":
        return lambda r: (not r["fits"], r["stage"] != "simulated", r["usd_per_million_tokens"], -r["tokens_per_s"])
    raise ValueError(f"rank_by must be 'throughput' or 'cost', got {rank_by!r}")
