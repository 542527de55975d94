"""The sweep's best plan against the published plan of each MLM21 / MLM22 / NE24 run (same model, GPUs, batch, seq)."""
from __future__ import annotations

from dataclasses import dataclass

from sim.distributed import simulate_cluster
from sim.sweep.result import plan_label
from sim.sweep.runner import sweep
from sim.sweep.space import SearchSpace
from sim.validate import ADAPTERS, load_rows

SOURCES = ("MLM21", "MLM22+KOR", "NE24")


@dataclass(frozen=True)
class Comparison:
    """Published plan vs the sweep's best, both simulated by the engine (tokens/s)."""

    src: str
    label: str
    published_plan: str
    published_tokens_per_s: float
    best_plan: str
    best_tokens_per_s: float
    published_rank: int | None      # rank of the published plan among the sweep's rows (None: pruned)
    note: str = ""

    @property
    def gain(self) -> float:
        return self.best_tokens_per_s / self.published_tokens_per_s - 1


def compare(path=None, sources=SOURCES, refine: int = 5, jobs: int | None = None) -> list[Comparison]:
    out = []
    for row in load_rows(path):
        if row["src"] not in sources:
            continue
        label = f"{row['model']} on {row['n_gpu']} GPUs"
        try:
            case = ADAPTERS[row["src"]](row)
        except (ValueError, KeyError) as exc:
            out.append(Comparison(row["src"], label, "", float("nan"), "", float("nan"), None, str(exc)))
            continue
        p = case.plan
        pub, _ = simulate_cluster(case.model, case.cluster, p, case.options, gpus=p.n_gpus)
        space = SearchSpace(tp_overlap=(p.tp_overlap,) if p.tp > 1 else (False,), cp=(1, 2) if p.cp > 1 else None)
        res = sweep(case.model, case.cluster, p.n_gpus, p.global_batch, case.options.seq_len, space=space,
                    options=case.options, refine=refine, jobs=jobs)
        b = res.best
        prow = res.find(gpus=p.n_gpus, tp=p.tp, pp=p.pp, dp=p.dp, cp=p.cp, vp=p.vp, schedule=p.schedule,
                        micro_batch=p.micro_batch, zero=p.zero_stage, recompute=p.recompute)
        rank = res.rows.index(prow) + 1 if prow is not None else None
        pl = (f"tp{p.tp} pp{p.pp} dp{p.dp}" + (f" cp{p.cp}" if p.cp > 1 else "") + (f" vp{p.vp}" if p.vp > 1 else "")
              + f" {p.schedule} mb{p.micro_batch} z{p.zero_stage} {p.recompute}"
              + ("" if pub.memory.fits else " (predicted not to fit)"))
        out.append(Comparison(row["src"], label, pl, pub.tokens_per_s, plan_label(b), b["tokens_per_s"], rank))
    return out
