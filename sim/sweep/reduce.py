"""Reductions of rows done where a chunk runs: top-k per GPU count, Pareto fronts."""
from __future__ import annotations

import heapq


def top_k(rows, k: int) -> list[dict]:
    """The k fastest fitting rows per GPU count."""
    by: dict[int, list] = {}
    for i, r in enumerate(rows):
        if not r["fits"]:
            continue
        h = by.setdefault(r["gpus"], [])
        item = (r["tokens_per_s"], -i, r)
        if len(h) < k:
            heapq.heappush(h, item)
        elif item[:2] > h[0][:2]:
            heapq.heapreplace(h, item)
    out = []
    for n in sorted(by):
        out += [r for _, _, r in sorted(by[n], key=lambda t: t[:2], reverse=True)]
    return out


def pareto_memory(rows) -> list[dict]:
    """Rows not beaten on both throughput and peak memory by another row of the same GPU count."""
    out = []
    by: dict[int, list] = {}
    for r in rows:
        if r["fits"]:
            by.setdefault(r["gpus"], []).append(r)
    for n in sorted(by):
        best = -1.0
        for r in sorted(by[n], key=lambda r: (r["peak_memory_GiB"], -r["tokens_per_s"])):
            if r["tokens_per_s"] > best:
                out.append(r)
                best = r["tokens_per_s"]
    return out


def pareto_gpus(rows) -> list[dict]:
    """Best row per GPU count (the first of each count in `rows` when ranked, else the fastest), kept when
    no smaller GPU count is as fast: the throughput vs GPUs front."""
    best: dict[int, dict] = {}
    ranked = any(r.get("stage") == "simulated" for r in rows)
    for r in rows:
        if not r["fits"]:
            continue
        n = r["gpus"]
        if n not in best or (not ranked and r["tokens_per_s"] > best[n]["tokens_per_s"]):
            best[n] = r
    out, top = [], -1.0
    for n in sorted(best):
        if best[n]["tokens_per_s"] > top:
            out.append(best[n])
            top = best[n]["tokens_per_s"]
    return out
