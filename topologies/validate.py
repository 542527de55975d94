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


def measured_rows(root: Path) -> list[str]:
    """Markdown rows: predicted vs measured per op and size for every measured collective file."""
    rows = []
    for path in sorted(root.glob("*/*.jsonl")):
        recs = []
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if rec.get("kind") == "collective" and "us" in rec and rec.get("op") in MEASURED_OPS:
                recs.append(rec)
        if not recs:
            continue
        dev = str(recs[0].get("device", ""))
        cluster = get_cluster("h200-nvlink-pair") if "H200" in dev else get_cluster("dgx-h100")
        rows += [f"\n**{path.relative_to(root.parent.parent)}** ({dev}, world {recs[0].get('world')}, "
                 f"model cluster {cluster.name})\n",
                 "| op | dtype | size | measured us | predicted us | measured busbw | predicted busbw | "
                 "time error | model pick |", "|---|---|---|---|---|---|---|---|---|"]
        for rec in recs:
            op, world = MEASURED_OPS[rec["op"]], int(rec.get("world", 2))
            r = collective_time(cluster, op, rec["bytes"], Group(world))
            err = 100 * (r.time_s * 1e6 / rec["us"] - 1)
            rows.append(f"| {rec['op']} | {rec.get('dtype', '')} | {rec['bytes']} | {rec['us']:.1f} | "
                        f"{r.time_s * 1e6:.1f} | {rec.get('busbw_gbps', 0):.1f} | {r.busbw / 1e9:.1f} | {err:+.0f}% | "
                        f"{r.algorithm}/{r.protocol} |")
    return rows


def main() -> int:
    """Print the validation tables."""
    print("\n".join(published_rows()))
    root = Path(__file__).resolve().parent.parent / "data" / "measured"
    if root.exists():
        rows = measured_rows(root)
        print("\n".join(rows) if rows else "\n(no measured collective files under data/measured yet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
