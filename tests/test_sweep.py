"""Sweep: pruning, ranking, refinement, interrupt/resume, Dask, CLI errors."""
import pytest

from sim.analytical import AnalyticalModel
from sim.distributed import ClusterOptions
from sim.plan import ParallelPlan
from sim.sweep import SearchSpace, sweep
from sim.sweep.rows import PLAN_KEYS, plan_of
from sim.sweep.space import iter_raw
from workloads.catalog import get_model

MODEL, CLUSTER = "llama3-8b", "dgx-h100-superpod"
SMALL = dict(global_batch=64, seq_len=2048)
SPACE = SearchSpace(tp=(1, 2, 4, 8), zero=(0, 1, 3), micro_batch=(1, 2), recompute=("none", "full"))


def _key(r):
    return tuple(r[k] for k in PLAN_KEYS)


@pytest.fixture(scope="module")
def ref():
    return sweep(MODEL, CLUSTER, [16, 32], space=SPACE, refine=2, jobs=1, chunk_size=100, **SMALL)


def test_rows_are_valid_fitting_and_ranked(ref):
    """Every row validates, fits, and rows are ranked (simulated first, then by throughput)."""
    m = get_model(MODEL)
    assert ref.rows and all(r["fits"] for r in ref.rows)
    for r in ref.rows[:50]:
        plan_of(tuple(r[k] for k in PLAN_KEYS), SMALL["global_batch"]).validate(
            r["gpus"], m.n_layers, m.n_heads, m.n_kv_heads, m.n_experts)
    sims = ref.simulated()
    assert len(sims) == 4 and ref.rows[:4] == tuple(sims)
    rest = [r["tokens_per_s"] for r in ref.rows[4:]]
    assert rest == sorted(rest, reverse=True)


def test_pruning_is_exact(ref):
    """Rows = enumerated plans that validate and fit by the analytical memory; each pruned plan truly fails."""
    m = get_model(MODEL)
    kept = {_key(r) for r in ref.rows}
    raws = list(iter_raw(m, SPACE, (16, 32), SMALL["global_batch"], SMALL["seq_len"], 8))
    assert ref.stats["plans"] == len(raws)
    assert ref.stats["invalid"] + ref.stats["over_memory"] + ref.stats["evaluated"] == len(raws)
    opts = ClusterOptions(seq_len=2048)
    for raw in raws:
        if raw in kept:
            continue
        am = AnalyticalModel(MODEL, CLUSTER, opts, gpus=raw[0])
        try:
            plan = plan_of(raw, SMALL["global_batch"])
            am.check(plan)
        except ValueError:
            continue
        assert am.memory(plan) > am.capacity


def test_memory_budget_prunes_more(ref):
    """A 20 GiB budget keeps only plans under it."""
    res = sweep(MODEL, CLUSTER, [16], space=SPACE, refine=0, jobs=1, memory_budget_GiB=20, **SMALL)
    assert all(r["peak_memory_GiB"] <= 20 for r in res.rows)
    assert len(res.rows) < sum(1 for r in ref.rows if r["gpus"] == 16)


def test_interrupt_then_resume_keeps_and_never_recomputes(tmp_path, ref):
    """Stop after 3 chunks; resume: the 3 are not redone, every chunk runs once, rows equal a clean run."""
    seen = []

    def stop_after_three(s):
        seen.append(s.chunk)
        if len(seen) == 3:
            raise KeyboardInterrupt

    kw = dict(space=SPACE, refine=2, jobs=1, chunk_size=100, workdir=str(tmp_path), **SMALL)
    with pytest.raises(KeyboardInterrupt):
        sweep(MODEL, CLUSTER, [16, 32], on_chunk=stop_after_three, **kw)
    assert len(list(tmp_path.glob("shard-*.csv"))) == 3
    again = []
    res = sweep(MODEL, CLUSTER, [16, 32], on_chunk=lambda s: again.append(s.chunk), resume=True, **kw)
    assert not set(again) & set(seen)
    assert sorted(seen + again) == list(range(res.stats["chunks"]))
    assert res.stats["chunks_reused"] == 3
    assert sorted(map(_key, res.rows)) == sorted(map(_key, ref.rows))
    assert {_key(r): r["tokens_per_s"] for r in res.rows} == pytest.approx({_key(r): r["tokens_per_s"] for r in ref.rows})


def test_resume_refuses_another_sweep(tmp_path):
    sweep(MODEL, CLUSTER, [16], space=SPACE, refine=0, jobs=1, workdir=str(tmp_path), **SMALL)
    with pytest.raises(ValueError, match="different sweep"):
        sweep(MODEL, CLUSTER, [32], space=SPACE, refine=0, jobs=1, workdir=str(tmp_path), resume=True, **SMALL)


def test_process_pool_matches_serial(ref):
    """Two local processes give the same rows as one."""
    res = sweep(MODEL, CLUSTER, [16, 32], space=SPACE, refine=2, jobs=2, chunk_size=100, **SMALL)
    assert [_key(r) for r in res.rows] == [_key(r) for r in ref.rows]


def test_dask_local_cluster_matches_local(ref):
    """The same chunks on a local Dask cluster give the same rows."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        res = sweep(MODEL, CLUSTER, [16, 32], space=SPACE, refine=2, client=client, chunk_size=100, **SMALL)
    assert [_key(r) for r in res.rows] == [_key(r) for r in ref.rows]
    assert [r["tokens_per_s"] for r in res.rows] == pytest.approx([r["tokens_per_s"] for r in ref.rows])


def test_bad_inputs_are_one_line_value_errors():
    with pytest.raises(ValueError, match="unknown cluster"):
        sweep(MODEL, "no-such-cluster", [16], **SMALL)
    with pytest.raises(ValueError, match="empty search space"):
        sweep(MODEL, CLUSTER, [16], space=SearchSpace(tp=(3,), pp=(1,)), **SMALL)
    with pytest.raises(ValueError, match="no plan fits"):
        sweep(MODEL, CLUSTER, [16], space=SPACE, memory_budget_GiB=0.5, jobs=1, **SMALL)


def test_cost_ranking_needs_price_and_fills_cost():
    with pytest.raises(ValueError, match="price"):
        sweep(MODEL, CLUSTER, [16], rank_by="cost", **SMALL)
    res = sweep(MODEL, CLUSTER, [16, 32], space=SPACE, refine=1, jobs=1, price_per_gpu_hour=2.0, rank_by="cost",
                **SMALL)
    assert res.rows[0]["usd_per_million_tokens"] > 0


def test_cli_sweep_table_csv_plots_and_errors(tmp_path, capsys):
    """roofsim sweep writes CSV and figures; bad input is exit 2 with one line."""
    from sim.cli import main
    out = tmp_path / "r.csv"
    rc = main(["sweep", "--model", MODEL, "--cluster", CLUSTER, "--gpus-list", "16,32", "--global-batch", "64",
               "--seq-len", "2048", "--tp", "2,4", "--zero", "1", "--micro-batch", "1", "--recompute", "none",
               "--refine", "1", "--jobs", "1", "--top", "5", "--out", str(out), "--plot", str(tmp_path / "p"),
               "--quiet"])
    assert rc == 0 and out.exists()
    assert (tmp_path / "p_memory.png").exists() and (tmp_path / "p_heatmap.png").exists()
    assert (tmp_path / "p_pareto.png").exists()
    for bad in (["--cluster", "nope"], ["--cluster", CLUSTER, "--tp", "3", "--pp", "1"]):
        rc = main(["sweep", "--model", MODEL, "--gpus", "16", "--global-batch", "64", "--seq-len", "2048", *bad])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and len(err.splitlines()) == 1


def test_python_api_top_and_dataframe(ref):
    assert len(ref.top(3)) == 3
    assert isinstance(ref.best_plan(), ParallelPlan)
    pd = pytest.importorskip("pandas")
    df = ref.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == len(ref.rows)
