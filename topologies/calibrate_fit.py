"""Fit a single-node cluster's link parameters to measured torch.distributed/NCCL collectives.

Two parameters are fitted, everything else stays as the base cluster has it:

  scale_up.efficiency  usable fraction of the per-direction scale-up bandwidth. Fitted on the rows of the
                       fit ops >= LARGE_BYTES (bandwidth-bound), minimising the mean squared log time error
                       of the model's prediction (so HBM work, channels and protocol caps stay in the model).
  host_floor           per-call host floor of a lone collective, s: the median measured time of the fit
                       ops' rows < SMALL_BYTES (host-issue-bound; docs/collectives.md).

Fit ops: all_reduce (every dtype) and unidirectional send/recv. Every other op (all_gather,
reduce_scatter, all_to_all, broadcast) is held out and only predicted. Measurements are taken with
NVLink multicast off (benchmarks/device/collectives.py), so predictions of the records use nvls=False;
the written cluster keeps the base's nvls flag.
Records: benchmarks/device/collectives.py JSONL ({"kind": "collective", "op", "dtype", "bytes", "world",
"us", ...}; one {"kind": "coll_env", "device", "nccl", ...} line).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from hardware.jsonl import iter_jsonl

from topologies.cluster import Cluster
from topologies.collectives import busbw_factor, collective_time
from topologies.group import Group
from topologies.validate import ALGO_ENV, MEASURED_OPS, RANGES, _median

KiB, MiB = 2**10, 2**20
SMALL_BYTES = 64 * KiB     # below: host-bound (validate.RANGES "latency" range)
LARGE_BYTES = 256 * MiB    # at or above: bandwidth-bound (validate.RANGES "bandwidth" range)
FIT_OPS = ("all_reduce", "sendrecv_uni")
# Search range of the scale-up efficiency: coarse grid then a fine one around the best point.
EFF_RANGE, EFF_COARSE, EFF_FINE = (0.2, 1.0), 0.01, 0.0005


def load_collectives(path: str | Path) -> tuple[list[dict], dict]:
    """(successful collective records of modelled ops, the coll_env record); one-line ValueError when unusable."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"cannot read collective data {path}: no such file")
    recs, env = [], {}
    for i, rec in iter_jsonl(path, bad_json="not a JSON record"):
        if rec.get("kind") == "coll_env":
            env = rec
        if rec.get("kind") != "collective" or "error" in rec or rec.get("op") not in MEASURED_OPS:
            continue
        try:
            rec = {**rec, "bytes": int(rec["bytes"]), "us": float(rec["us"]), "world": int(rec.get("world", 2))}
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}:{i}: collective record needs numeric bytes and us") from None
        if not (rec["bytes"] > 0 and rec["us"] > 0):
            raise ValueError(f"{path}:{i}: bytes and us must be positive")
        recs.append(rec)
    if not recs:
        raise ValueError(f"{path}: no collective records (benchmarks/device/collectives.py JSONL) to fit")
    worlds = sorted({r["world"] for r in recs})
    if len(worlds) > 1:
        raise ValueError(f"{path}: records of several world sizes {worlds}; fit one at a time")
    return recs, env


def base_cluster_for(device: str, world: int) -> tuple[str, Cluster]:
    """Default base (catalog name, cluster): a one-node catalog cluster of `device` (hardware catalog name) with
    `world` GPUs, else a one-node catalog design of that device resized to `world` GPUs; ValueError if none."""
    from topologies.catalog import CLUSTERS, get_cluster
    # NB: the hardware catalog names SXM parts without the suffix the cluster catalog uses ("h200" / "h200-sxm").
    same = [get_cluster(n) for n in sorted(CLUSTERS)]
    same = [c for c in same if c.device in (device, f"{device}-sxm") and c.nodes == 1 and c.scale_up.kind != "torus"]
    for c in same:
        if c.gpus_per_node == world:
            return c.name, c
    if same:
        return same[0].name, replace(same[0], name=f"{same[0].name}-{world}gpu", gpus_per_node=world)
    raise ValueError(f"no one-node catalog cluster of device {device}; pass --base-cluster NAME")


def measured_view(cluster: Cluster) -> Cluster:
    """The cluster as measured: NVLink multicast (NVLS) off."""
    return replace(cluster, scale_up=replace(cluster.scale_up, nvls=False))


def predict_s(cluster: Cluster, rec: dict) -> float:
    """Model time of one measured record, s (a forced NCCL_ALGO/NCCL_PROTO of the record honoured)."""
    algo = ALGO_ENV.get(rec.get("NCCL_ALGO") or "", "auto")
    proto = rec.get("NCCL_PROTO") or "auto"
    return collective_time(cluster, MEASURED_OPS[rec["op"]], rec["bytes"], Group(rec["world"]),
                           algorithm=algo, protocol=proto).time_s


def is_fit(rec: dict) -> bool:
    """Whether a record is in the fit set (else held out)."""
    return rec["op"] in FIT_OPS


@dataclass(frozen=True)
class CollectiveFit:
    """The fitted cluster, its two parameters and the rows each was fitted on."""
    cluster: Cluster
    efficiency: float
    host_floor: float     # s
    n_efficiency: int
    n_host_floor: int


def _msle(cluster: Cluster, rows: list[dict]) -> float:
    return sum(math.log(predict_s(cluster, r) / (r["us"] * 1e-6)) ** 2 for r in rows) / len(rows)


def fit_efficiency(base: Cluster, rows: list[dict]) -> float:
    """Scale-up efficiency minimising the mean squared log time error on `rows` (grid, then a finer grid)."""
    def at(eff: float) -> float:
        return _msle(replace(base, scale_up=replace(base.scale_up, efficiency=eff)), rows)
    lo, hi = EFF_RANGE
    grid = [lo + i * EFF_COARSE for i in range(int(round((hi - lo) / EFF_COARSE)) + 1)]
    best = min(grid, key=at)
    fine = [best + i * EFF_FINE for i in range(-int(EFF_COARSE / EFF_FINE), int(EFF_COARSE / EFF_FINE) + 1)]
    return round(min((e for e in fine if lo <= e <= hi), key=at), 4)


def fit_cluster(records: list[dict], base: Cluster, name: str | None = None) -> CollectiveFit:
    """Fit scale_up.efficiency and host_floor on the fit rows; ValueError when a range has no fit rows."""
    large = [r for r in records if is_fit(r) and r["bytes"] >= LARGE_BYTES]
    small = [r for r in records if is_fit(r) and r["bytes"] < SMALL_BYTES]
    if not large:
        raise ValueError(f"no {'/'.join(FIT_OPS)} rows >= {LARGE_BYTES // MiB} MiB to fit the scale-up efficiency")
    if not small:
        raise ValueError(f"no {'/'.join(FIT_OPS)} rows < {SMALL_BYTES // KiB} KiB to fit the host floor")
    floor = round(_median([r["us"] for r in small]), 2) * 1e-6
    eff = fit_efficiency(replace(measured_view(base), host_floor=floor), large)
    fitted = replace(base, name=name or f"{base.name}-calibrated", host_floor=floor,
                     scale_up=replace(base.scale_up, efficiency=eff))
    return CollectiveFit(fitted, eff, floor, len(large), len(small))


def error_rows(records: list[dict], clusters: dict[str, Cluster]) -> list[dict]:
    """Median |time error| per (set, op, dtype, size range) for each named cluster (predicted as measured)."""
    views = {k: measured_view(c) for k, c in clusters.items()}
    out = []
    keys = sorted({(not is_fit(r), r["op"], r.get("dtype", "")) for r in records})
    for held, op, dtype in keys:
        rows = [r for r in records if (not is_fit(r)) == held and r["op"] == op and r.get("dtype", "") == dtype]
        for label, lo, hi in RANGES:
            sub = [r for r in rows if lo <= r["bytes"] < hi]
            if sub:
                errs = {k: _median([abs(predict_s(c, r) / (r["us"] * 1e-6) - 1) for r in sub]) for k, c in views.items()}
                out.append({"set": "held out" if held else "fit", "op": op, "dtype": dtype, "range": label,
                            "n": len(sub), **errs})
    for held in (False, True):   # every op of the set together
        for label, lo, hi in RANGES:
            sub = [r for r in records if (not is_fit(r)) == held and lo <= r["bytes"] < hi]
            if sub:
                errs = {k: _median([abs(predict_s(c, r) / (r["us"] * 1e-6) - 1) for r in sub]) for k, c in views.items()}
                out.append({"set": f"**{'held out' if held else 'fit'}, all**", "op": "", "dtype": "", "range": label,
                            "n": len(sub), **errs})
    return out


def error_table(rows: list[dict], names: list[str]) -> str:
    """Markdown: median |time error| per op and size range, one column per cluster."""
    lines = ["| set | op | dtype | size range | n | " + " | ".join(f"{n} median abs %" for n in names) + " |",
             "|---|---|---|---|---:|" + "---:|" * len(names)]
    for r in rows:
        lines.append(f"| {r['set']} | {r['op']} | {r['dtype']} | {r['range']} | {r['n']} | "
                     + " | ".join(f"{100 * r[n]:.1f}" for n in names) + " |")
    return "\n".join(lines)


def large_busbw(records: list[dict], cluster: Cluster, op: str = "all_reduce") -> tuple[float, float]:
    """(measured, predicted) busbw of the largest `op` record, bytes/s (nccl-tests convention)."""
    rows = [r for r in records if r["op"] == op]
    if not rows:
        raise ValueError(f"no {op} records")
    r = max(rows, key=lambda r: r["bytes"])
    factor = busbw_factor(MEASURED_OPS[op], r["world"])
    return factor * r["bytes"] / (r["us"] * 1e-6), factor * r["bytes"] / predict_s(measured_view(cluster), r)


def data_date(path: str | Path) -> str:
    """The YYYY-MM-DD a measurement file is dated by (its folder or name, e.g. data/measured/2026-11-23_h200x2/),
    else its modification date."""
    import datetime as dt
    import re
    p = Path(path)
    for part in (p.name, p.parent.name):
        m = re.match(r"(\d{4}-\d{2}-\d{2})", part) or re.search(r"_(\d{4}-\d{2}-\d{2})", part)
        if m:
            return m.group(1)
    return dt.date.fromtimestamp(p.stat().st_mtime).isoformat()


def to_yaml(fit: CollectiveFit, base_ref: str, data: str, date: str, command: str, env: dict) -> str:
    """Cluster file (topologies.loader format): `base:` plus the fitted fields, with where they came from."""
    from topologies.catalog import get_cluster
    c, ref = fit.cluster, get_cluster(base_ref)
    body: dict = {"name": c.name, "base": base_ref}
    if (ref.nodes, ref.gpus_per_node) != (c.nodes, c.gpus_per_node):   # a resized catalog design: its shape
        body.update(nodes=c.nodes, gpus_per_node=c.gpus_per_node)
    body["scale_up"] = {"efficiency": fit.efficiency}
    body["host_floor_us"] = round(fit.host_floor * 1e6, 2)
    body["sources"] = {
        "calibration": f"roofsim calibrate --collectives from {data} (measured {data_date(data)}, fitted {date}; "
                       f"{env.get('device', 'device ?')}, NCCL {env.get('nccl', '?')}, torch {env.get('torch', '?')}, "
                       "NVLS off)",
        "scale_up_efficiency": f"fitted: mean squared log time error of {'/'.join(FIT_OPS)} rows >= "
                               f"{LARGE_BYTES // MiB} MiB ({fit.n_efficiency} rows)",
        "host_floor": f"fitted: median time of {'/'.join(FIT_OPS)} rows < {SMALL_BYTES // KiB} KiB "
                      f"({fit.n_host_floor} rows)"}
    import yaml
    head = (f"# Fitted by: {command}\n# Data: {data} (measured {data_date(data)}, fitted {date}). Everything not listed comes from base "
            f"{base_ref}.\n# Use with: roofsim simulate --cluster THIS_FILE.yaml ...\n")
    return head + yaml.safe_dump(body, sort_keys=False, width=200)
