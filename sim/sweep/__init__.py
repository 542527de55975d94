"""Search over parallelism plans: enumerate, prune, estimate in closed form, refine the best with the engine.

    from sim.sweep import sweep, SearchSpace
    res = sweep("gpt3-175b", "dgx-h100-superpod", gpus=[1024, 2048], global_batch=1536, seq_len=2048)
    res.top(5); res.to_dataframe()

Work is cut into chunks of thousands of plans, each enumerated lazily and reduced where it runs
(top-k, Pareto front, one shard of rows on disk); chunks run in local processes or on a Dask
cluster, and a manifest of finished chunks lets an interrupted sweep resume.
"""
from sim.sweep.result import SweepResult
from sim.sweep.runner import sweep
from sim.sweep.space import SearchSpace

__all__ = ["SearchSpace", "SweepResult", "sweep"]
