"""Predicted vs published (and, when present, measured) collective bandwidth: the table in docs/collectives.md.

    python -m topologies.validate            # markdown to stdout
Published rows: shared/validation/published_runs.csv NCCL rows and NVIDIA/nccl issue #1281.
Measured rows: data/measured/*/*.jsonl records {"kind": "collective", "op", "bytes", "world", "us", "busbw_gbps"}
written by benchmarks/device/collectives.py (torch.distributed, NVLS off).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from topologies.catalog import get_cluster
from topologies.collectives import collective_time
from topologies.group import Group

GiB = 2**30
# (cluster, op, algorithm, bytes, published busbw GB/s, source)
PUBLISHED = [
    ("dgx-h100", "all_reduce", "auto", 4 * GiB, 480.0, "nccl-tests #212/#290 maintainer: NVLS ~480 (algbw ~275)"),
    ("dgx-h100", "all_reduce", "ring", 4 * GiB, 370.0, "same answer: ~370 effective without NVLS"),
    ("dgx-h200", "all_reduce", "auto", 4 * GiB, 475.0, "nccl-tests #272 user report"),
    ("dgx-h100", "reduce_scatter", "auto", 4 * GiB, 360.0, "NVIDIA/nccl #1281 (8x H100)"),
    ("dgx-h100", "all_gather", "auto", 4 * GiB, 350.0, "NVIDIA/nccl #1281 (8x H100)"),
]
# Multi-node, one rank per node on one NDR rail (NET_EFFICIENCY was calibrated on this very figure).
PUBLISHED_NET = ("dgx-h100-superpod", "all_reduce", "ring", 4 * GiB, 47.0, Group(16, stride=8),
                 "nccl-tests #212: NDR 400G = 46-48 GB/s per NIC (calibration point, not independent)")
MEASURED_OPS = {"all_reduce": "all_reduce", "all_gather": "all_gather", "reduce_scatter": "reduce_scatter",
                "all_to_all": "all_to_all", "broadcast": "broadcast", "sendrecv_uni": "send_recv"}


def published_rows() -> list[str]:
    """Markdown rows: predicted vs published busbw."""
    rows = ["| cluster | op | algorithm (model pick) | size | predicted busbw GB/s | published | error | source |",
            "|---|---|---|---|---|---|---|---|"]
    cases = [(c, op, a, s, pub, Group(get_cluster(c).gpus), src) for c, op, a, s, pub, src in PUBLISHED]
    c, op, a, s, pub, g, src = PUBLISHED_NET
    cases.append((c, op, a, s, pub, g, src))
    for c, op, algo, size, pub, group, src in cases:
        r = collective_time(get_cluster(c), op, size, group, algorithm=algo)
        rows.append(f"| {c} ({group.size} GPUs) | {op} | {algo} ({r.algorithm}/{r.protocol}) | {size / GiB:g} GiB | "
                    f"{r.busbw / 1e9:.0f} | {pub:.0f} | {100 * (r.busbw / 1e9 / pub - 1):+.1f}% | {src} |")
    return rows


KiB, MiB = 2**10, 2**20
RANGES = (("latency < 64 KiB", 0, 64 * KiB), ("mid 64 KiB-256 MiB", 64 * KiB, 256 * MiB),
          ("bandwidth >= 256 MiB", 256 * MiB, float("inf")))
# What calibration.HOST_FLOOR_S was fitted on (the only constant fitted to these files): collectives.jsonl, bf16
# all_reduce + all_gather. Everything else (fp32, RS, A2A, broadcast, send/recv, forced variants) is held out.
FIT_FILE, FIT_OPS, FIT_DTYPE = "collectives.jsonl", ("all_reduce", "all_gather"), "bf16"
ALGO_ENV = {"Ring": "ring", "allreduce:tree": "tree", "Tree": "tree"}


def measured_records(root: Path) -> list[dict]:
    """Every measured collective record, with `file`, `fit` (in the fit set) and the model's prediction."""
    out = []
    for path in sorted(root.glob("*/*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if rec.get("kind") != "collective" or "us" not in rec or rec.get("op") not in MEASURED_OPS:
                continue
            dev = str(rec.get("device", ""))
            cluster = get_cluster("h200-nvlink-pair") if "H200" in dev else get_cluster("dgx-h100")
            algo = ALGO_ENV.get(rec.get("NCCL_ALGO") or "", "auto")
            proto = rec.get("NCCL_PROTO") or "auto"
            r = collective_time(cluster, MEASURED_OPS[rec["op"]], rec["bytes"], Group(int(rec.get("world", 2))),
                                algorithm=algo, protocol=proto)
            variant = "/".join(x for x in (rec.get("NCCL_ALGO"), rec.get("NCCL_PROTO")) if x) or "default"
            fit = path.name == FIT_FILE and rec["op"] in FIT_OPS and rec.get("dtype") == FIT_DTYPE
            out.append({**rec, "file": f"{path.parent.name}/{path.name}", "variant": variant, "fit": fit,
                        "pred_us": r.time_s * 1e6, "pred_busbw": r.busbw / 1e9, "pick": f"{r.algorithm}/{r.protocol}",
                        "cluster": cluster.name})
    return out


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2 if xs else float("nan")


def summary_rows(recs: list[dict]) -> list[str]:
    """Median |time error| per op/dtype/variant and size range, fit set vs held out."""
    rows = ["| set | op | dtype | variant | " + " | ".join(n for n, _, _ in RANGES) + " |",
            "|---|---|---|---|" + "---|" * len(RANGES)]
    keys = sorted({(not r["fit"], r["op"], r.get("dtype", ""), r["variant"]) for r in recs})
    for held, op, dtype, variant in keys:
        cells = []
        for _, lo, hi in RANGES:
            errs = [abs(r["pred_us"] / r["us"] - 1) * 100 for r in recs if (not r["fit"]) == held and r["op"] == op
                    and r.get("dtype", "") == dtype and r["variant"] == variant and lo <= r["bytes"] < hi]
            cells.append(f"{_median(errs):.0f}% (n={len(errs)})" if errs else "-")
        rows.append(f"| {'held out' if held else 'fit'} | {op} | {dtype} | {variant} | " + " | ".join(cells) + " |")
    for held in (False, True):
        cells = []
        for _, lo, hi in RANGES:
            errs = [abs(r["pred_us"] / r["us"] - 1) * 100 for r in recs if (not r["fit"]) == held and lo <= r["bytes"] < hi]
            cells.append(f"{_median(errs):.0f}% (n={len(errs)})" if errs else "-")
        rows.append(f"| **{'held out' if held else 'fit'}, all** | | | | " + " | ".join(cells) + " |")
    return rows


def measured_rows(recs: list[dict]) -> list[str]:
    """Markdown rows: predicted vs measured per file, op, variant and size (forced NCCL_ALGO/PROTO honoured)."""
    rows, current = [], None
    for r in recs:
        if r["file"] != current:
            current = r["file"]
            rows += [f"\n**{current}** ({r.get('device', '')}, world {r.get('world')}, model cluster {r['cluster']})\n",
                     "| op | dtype | variant | size | measured us | predicted us | measured busbw | predicted busbw | "
                     "time error | model pick |", "|---|---|---|---|---|---|---|---|---|---|"]
        rows.append(f"| {r['op']} | {r.get('dtype', '')} | {r['variant']} | {r['bytes']} | {r['us']:.1f} | "
                    f"{r['pred_us']:.1f} | {r.get('busbw_gbps', 0):.1f} | {r['pred_busbw']:.1f} | "
                    f"{100 * (r['pred_us'] / r['us'] - 1):+.0f}% | {r['pick']} |")
    return rows


def main() -> int:
    """Print the validation tables."""
    print("\n".join(published_rows()))
    root = Path(__file__).resolve().parent.parent / "data" / "measured"
    if root.exists():
        recs = measured_records(root)
        if recs:
            print("\n**Median |time error| on the measured files** (fit set: collectives.jsonl bf16 all_reduce + "
                  "all_gather, used only for calibration.HOST_FLOOR_S)\n")
            print("\n".join(summary_rows(recs)))
        rows = measured_rows(recs)
        print("\n".join(rows) if rows else "\n(no measured collective files under data/measured yet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
