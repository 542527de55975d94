"""SweepResult: ranked rows (analytical, and simulated for the refined top), fronts, and exports."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sim.sweep.reduce import pareto_gpus
from sim.sweep.rows import COLUMNS, PLAN_KEYS, plan_of_row


@dataclass(frozen=True)
class SweepResult:
    """Every fitting plan's row, best first; `stats` counts what was enumerated, pruned and refined."""

    rows: tuple[dict, ...]
    rank_by: str
    global_batch: int
    seq_len: int
    capacity_GiB: float                      # memory per GPU a plan may use (usable HBM or the budget)
    stats: dict = field(default_factory=dict)

    def top(self, n: int = 10) -> list[dict]:
        """The n best rows."""
        return list(self.rows[:n])

    @property
    def best(self) -> dict:
        return self.rows[0]

    def best_plan(self, gpus: int | None = None):
        """ParallelPlan of the best row (of one GPU count if given)."""
        rows = [r for r in self.rows if gpus is None or r["gpus"] == gpus]
        if not rows:
            raise ValueError(f"no fitting plan for {gpus} GPUs")
        return plan_of_row(rows[0], self.global_batch)

    def simulated(self) -> list[dict]:
        """Rows refined with the event engine, best first."""
        return [r for r in self.rows if r["stage"] == "simulated"]

    def pareto(self) -> list[dict]:
        """Throughput vs GPU count front: the best plan per GPU count that beats every smaller count."""
        return pareto_gpus(self.rows)

    def find(self, **plan) -> dict | None:
        """The row of a plan given by its fields (gpus, tp, pp, ...), or None if it was pruned."""
        for r in self.rows:
            if all(r.get(k) == v for k, v in plan.items()):
                return r
        return None

    def to_dataframe(self):
        """pandas DataFrame of the rows (needs the optional pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ValueError("to_dataframe needs pandas: pip install 'roofsim[dask]' (or pandas)") from None
        return pd.DataFrame(list(self.rows), columns=list(COLUMNS))

    def write(self, path: str | Path) -> Path:
        """Rows to .csv (csv module) or .parquet (pandas + pyarrow)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ValueError("writing .parquet needs pandas and pyarrow; write .csv instead") from None
            self.to_dataframe().to_parquet(path, index=False)
            return path
        if path.suffix != ".csv":
            raise ValueError(f"output must end in .csv or .parquet, got {path.name}")
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
            w.writeheader()
            w.writerows(self.rows)
        return path


def plan_label(r: dict) -> str:
    """Short text of a row's plan, e.g. 'tp8 pp8 dp16 vp2 interleaved mb1 z1 selective'."""
    parts = [f"tp{r['tp']}", f"pp{r['pp']}", f"dp{r['dp']}"]
    parts += [f"{k}{r[k]}" for k in ("cp", "ep", "vp") if r[k] > 1]
    parts += [r["schedule"], f"mb{r['micro_batch']}", f"z{r['zero']}", r["recompute"]]
    if r["tp_overlap"]:
        parts.append("tp-overlap")
    return " ".join(parts)


__all__ = ["PLAN_KEYS", "SweepResult", "plan_label"]
