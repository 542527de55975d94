"""Closed-form estimate (sim.analytical) against the event engine: time, memory, ranking."""
import pytest

from sim.analytical import AnalyticalModel, in_flight
from sim.distributed import ClusterOptions, simulate_cluster
from sim.plan import ParallelPlan as P
from sim.schedules import build_schedule

GB = 1536
PLANS_175B = [
    P(tp=8, pp=8, dp=16, vp=2, schedule="interleaved", sequence_parallel=True, global_batch=GB,
      recompute="selective", zero=1),
    P(tp=8, pp=8, dp=16, sequence_parallel=True, global_batch=GB, recompute="selective", zero=1),
    P(tp=8, pp=16, dp=8, sequence_parallel=True, micro_batch=2, global_batch=GB, recompute="full"),
    P(tp=4, pp=16, dp=16, sequence_parallel=True, global_batch=GB, recompute="full", zero=1),
    P(tp=8, pp=4, dp=32, sequence_parallel=True, global_batch=GB, recompute="full", zero=1, schedule="zb"),
    P(tp=8, pp=8, dp=16, vp=4, schedule="interleaved", sequence_parallel=True, global_batch=GB,
      recompute="full", zero=1, tp_overlap=True),
    P(tp=8, pp=1, dp=128, sequence_parallel=True, global_batch=GB, recompute="full", zero=3),
    P(tp=2, pp=32, dp=16, sequence_parallel=True, global_batch=GB, recompute="full", zero=1),
    P(tp=4, pp=8, dp=32, sequence_parallel=True, micro_batch=2, global_batch=GB, recompute="full", zero=2),
    P(tp=8, pp=2, dp=64, sequence_parallel=True, micro_batch=1, global_batch=GB, recompute="full", zero=1),
    P(tp=2, pp=16, dp=32, sequence_parallel=True, global_batch=GB, recompute="full", zero=0),
    P(tp=8, pp=12, dp=8, vp=2, schedule="interleaved", sequence_parallel=True, micro_batch=2, global_batch=1536,
      recompute="selective", zero=1),
]


def _spearman(a, b):
    ra = {v: i for i, v in enumerate(sorted(range(len(a)), key=lambda i: a[i]))}
    rb = {v: i for i, v in enumerate(sorted(range(len(b)), key=lambda i: b[i]))}
    n = len(a)
    return 1 - 6 * sum((ra[i] - rb[i]) ** 2 for i in range(n)) / (n * (n * n - 1))


@pytest.fixture(scope="module")
def pairs():
    opts = ClusterOptions(seq_len=2048)
    out = []
    for p in PLANS_175B:
        am = AnalyticalModel("gpt3-175b", "dgx-h100-superpod", opts, gpus=p.n_gpus)
        res, _ = simulate_cluster("gpt3-175b", "dgx-h100-superpod", p, opts, gpus=p.n_gpus)
        out.append((am.estimate(p), res))
    return out


def test_step_time_within_15_percent_of_engine(pairs):
    """A dozen GPT-3 175B plans (all schedules, ZeRO 0-3, recompute): |analytical/engine - 1| < 15%."""
    for est, res in pairs:
        assert est.step_time_s == pytest.approx(res.step_time_s, rel=0.15)


def test_memory_matches_engine(pairs):
    """Same plan_memory inputs as the engine: peak bytes agree to 1%."""
    for est, res in pairs:
        assert est.peak_bytes == pytest.approx(res.memory.peak, rel=0.01)


def test_rank_order_agrees(pairs):
    """Spearman rank correlation of step times > 0.8."""
    a = [e.step_time_s for e, _ in pairs]
    b = [r.step_time_s for _, r in pairs]
    assert _spearman(a, b) > 0.8


@pytest.mark.parametrize("name,pp,m,vp", [("1f1b", 4, 8, 1), ("1f1b", 8, 3, 1), ("gpipe", 4, 6, 1), ("zb", 4, 8, 1),
                                          ("zb", 6, 2, 1), ("interleaved", 4, 8, 2), ("interleaved", 4, 4, 3),
                                          ("interleaved", 2, 6, 4)])
def test_in_flight_formulas_match_schedules(name, pp, m, vp):
    """Closed-form in-flight counts equal the peaks of the built schedules."""
    sched = build_schedule(name, pp, m, vp)
    assert [in_flight(name, pp, m, vp, s) for s in range(pp)] == pytest.approx(list(sched.in_flight))


def test_invalid_plan_raises():
    """ParallelPlan.validate runs first: tp=5 does not divide 96 heads."""
    am = AnalyticalModel("gpt3-175b", "dgx-h100-superpod", ClusterOptions(seq_len=2048), gpus=80)
    with pytest.raises(ValueError, match="does not divide"):
        am.estimate(P(tp=5, pp=1, dp=16, global_batch=64))


def test_more_microbatches_shrink_bubble_share():
    """Physics: with pp fixed, a larger global batch lowers the bubble's share of the step."""
    opts = ClusterOptions(seq_len=2048)
    am = AnalyticalModel("gpt3-175b", "dgx-h100-superpod", opts, gpus=512)
    small = am.estimate(P(tp=8, pp=8, dp=8, sequence_parallel=True, global_batch=64, recompute="full", zero=1))
    big = am.estimate(P(tp=8, pp=8, dp=8, sequence_parallel=True, global_batch=512, recompute="full", zero=1))
    assert big.bubble_s / big.step_time_s < small.bubble_s / small.step_time_s
