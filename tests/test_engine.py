"""Pipeline engine: bubble physics, critical path, overlap and blocking comm, backends agree, determinism."""
import math

import networkx as nx
import pytest

from sim.engine import CommPiece, TaskCost, simulate_pipeline
from sim.schedules import PipelineSchedule, Task, build_schedule


def fb(tf=1.0, tb=2.0, comm=()):
    """Cost callback: forward tf, backward tb (backward carries `comm`)."""
    return lambda s, c, k: TaskCost(tf if k == "F" else tb, tuple(comm) if k == "B" else ())


@pytest.mark.parametrize("p,m", [(4, 8), (8, 32), (2, 1), (16, 64)])
def test_1f1b_bubble_fraction(p, m):
    """Equal stages, no comm: bubble fraction (p-1)/(m+p-1) on every stage."""
    r = simulate_pipeline(build_schedule("1f1b", p, m), fb())
    assert r.step_time == pytest.approx((m + p - 1) * 3.0)
    assert r.bubble_fraction == pytest.approx((p - 1) / (m + p - 1))
    assert all(b == pytest.approx((p - 1) * 3.0) for b in r.bubble)


@pytest.mark.parametrize("vp", [2, 3, 4])
def test_interleaving_shrinks_bubble_by_vp(vp):
    """Chunks of 1/vp the work: the bubble time is the 1F1B bubble / vp (Narayanan et al. 2021, eq. 2)."""
    p, m = 4, 16
    base = simulate_pipeline(build_schedule("1f1b", p, m), fb())
    inter = simulate_pipeline(build_schedule("interleaved", p, m, vp), fb(1.0 / vp, 2.0 / vp))
    assert max(inter.bubble) == pytest.approx(max(base.bubble) / vp)
    assert sum(inter.compute_work) == pytest.approx(sum(base.compute_work))


def test_zb_h1_bubble_is_a_third():
    """T_F = T_B = T_W: ZB-H1 bubble (p-1) T_F vs 1F1B's (p-1)(T_F + T_B + T_W)."""
    p, m = 8, 32
    one = simulate_pipeline(build_schedule("1f1b", p, m), fb(1.0, 2.0))
    zb = simulate_pipeline(build_schedule("zb", p, m), lambda s, c, k: TaskCost(1.0))
    assert max(zb.bubble) == pytest.approx(max(one.bubble) / 3)
    assert zb.step_time == pytest.approx(3 * m + (p - 1))


def critical_path(sched: PipelineSchedule, dur) -> float:
    """Longest path of the schedule's DAG (stage order + data dependencies), built independently here."""
    g = nx.DiGraph()
    last = sched.pp * sched.vp - 1
    for s, tasks in enumerate(sched.stages):
        for a, b in zip(tasks, tasks[1:]):
            g.add_edge((s, a), (s, b))
        for t in tasks:
            v = t.chunk * sched.pp + s
            if t.kind == "F" and v > 0:
                u = v - 1
                g.add_edge((u % sched.pp, Task("F", t.microbatch, u // sched.pp)), (s, t))
            if t.kind == "B" and v < last:
                u = v + 1
                g.add_edge((u % sched.pp, Task("B", t.microbatch, u // sched.pp)), (s, t))
    # node-weighted longest path: weight of an edge = duration of its head; add the source's own
    best = {}
    for n in nx.topological_sort(g):
        preds = [best[q] for q in g.predecessors(n)]
        best[n] = (max(preds) if preds else 0.0) + dur(*n)
    return max(best.values())


@pytest.mark.parametrize("name,p,m,vp", [("1f1b", 4, 8, 1), ("gpipe", 3, 5, 1), ("interleaved", 4, 8, 2)])
def test_zero_comm_step_is_critical_path(name, p, m, vp):
    """Unequal stages, no comm: the step equals the DAG's longest path."""
    sched = build_schedule(name, p, m, vp)
    tf = lambda s, c: 1.0 + 0.3 * s + 0.1 * c  # noqa: E731
    dur = lambda s, t: tf(s, t.chunk) * (1.0 if t.kind == "F" else 2.1)  # noqa: E731
    r = simulate_pipeline(sched, lambda s, c, k: TaskCost(dur(s, Task(k, 0, c))))
    assert r.step_time == pytest.approx(critical_path(sched, dur))


def test_no_overlap_exposes_all_comm():
    """overlap=False, or an infinite slowdown, leaves every comm second exposed."""
    sched = build_schedule("1f1b", 4, 8)
    comm = (CommPiece("comm:dp", 0.5, "async"), CommPiece("comm:tp", 0.2, "overlapped"))
    for kwargs in (dict(overlap=False), dict(overlap_slowdown=math.inf)):
        r = simulate_pipeline(sched, fb(comm=comm), 0.1, **kwargs)
        for ex, tot in zip(r.exposed_comm_per_stage, r.comm_time_per_stage):
            assert set(ex) == set(tot) and tot["comm:dp"] == pytest.approx(8 * 0.5)
            for k in tot:
                assert ex[k] == pytest.approx(tot[k])


def test_serialized_comm_adds_to_step():
    """overlap=False on one stage: step = m * (F + B + comm)."""
    sched = build_schedule("1f1b", 1, 6)
    r = simulate_pipeline(sched, fb(comm=(CommPiece("comm:dp", 0.5, "async"),)), overlap=False)
    assert r.step_time == pytest.approx(6 * 3.5)


def test_async_dp_comm_hides_but_the_last_bucket():
    """One stage, DP reduce after each backward: only the last bucket is exposed (slowdown 1)."""
    sched = build_schedule("1f1b", 1, 6)
    r = simulate_pipeline(sched, fb(comm=(CommPiece("comm:dp", 0.5, "async"),)))
    assert r.step_time == pytest.approx(6 * 3.0 + 0.5)
    assert r.exposed_comm["comm:dp"] == pytest.approx(0.5)


def test_blocking_comm_is_on_the_critical_path():
    """Blocking (e.g. TP all-reduce) comm extends every task: step = m (F + B + 2c) on one stage."""
    c = CommPiece("comm:tp", 0.25, "blocking")
    r = simulate_pipeline(build_schedule("1f1b", 1, 4), lambda s, ch, k: TaskCost(1.0, (c,)))
    assert r.step_time == pytest.approx(4 * 2 * 1.25)
    assert r.exposed_comm["comm:tp"] == pytest.approx(2.0)


def test_overlap_slowdown_golden():
    """B of 1 s overlapped with 1 s of comm at slowdown 2: 0.5 s of work done under comm, B ends at 2.5 s."""
    sched = build_schedule("1f1b", 1, 1)
    cost = lambda s, c, k: TaskCost(1.0, (CommPiece("comm:cp", 1.0, "overlapped"),) if k == "B" else ())  # noqa: E731
    for backend in ("heap", "simpy"):
        r = simulate_pipeline(sched, cost, overlap_slowdown=2.0, backend=backend)
        assert r.step_time == pytest.approx(2.5)
        assert r.exposed_comm["comm:cp"] == pytest.approx(0.5)
        assert r.compute_busy[0] == pytest.approx(2.5) and r.compute_work[0] == pytest.approx(2.0)


def test_step_grows_with_slowdown():
    """More interference never makes the step shorter."""
    sched = build_schedule("interleaved", 4, 8, 2)
    cost = fb(0.5, 1.0, comm=(CommPiece("comm:dp", 0.3, "async"), CommPiece("comm:tp", 0.1, "overlapped")))
    steps = [simulate_pipeline(sched, cost, 0.05, overlap_slowdown=k).step_time for k in (1.0, 1.1, 1.3, 2.0, math.inf)]
    assert steps == sorted(steps) and steps[-1] > steps[0]


def test_p2p_latency_single_microbatch():
    """m = 1: the micro-batch crosses p-1 links forward and back: step = p (F + B) + 2 (p - 1) d."""
    p, d = 5, 0.2
    r = simulate_pipeline(build_schedule("1f1b", p, 1), fb(), d)
    assert r.step_time == pytest.approx(p * 3.0 + 2 * (p - 1) * d)


def test_tail_waits_for_async_comm():
    """The optimizer tail starts after the last DP bucket, then its blocking all-gather."""
    sched = build_schedule("1f1b", 1, 2)
    r = simulate_pipeline(sched, fb(comm=(CommPiece("comm:dp", 0.5, "async"),)),
                          tail=lambda s: TaskCost(0.3, (CommPiece("comm:dp", 0.2, "blocking"),)))
    assert r.step_time == pytest.approx(2 * 3.0 + 0.5 + 0.3 + 0.2)


def test_tuple_costs_and_backends_agree():
    """(compute, [(stream, s, blocking)]) is accepted; heap and simpy give the same times."""
    sched = build_schedule("interleaved", 4, 8, 2)
    cost = lambda s, c, k: (0.5 + 0.1 * s, [("comm:tp", 0.05, True), ("comm:dp", 0.2, False)] if k == "B" else [])  # noqa: E731
    a = simulate_pipeline(sched, cost, 0.02, overlap_slowdown=1.25, backend="heap")
    b = simulate_pipeline(sched, cost, 0.02, overlap_slowdown=1.25, backend="simpy")
    assert a.step_time == pytest.approx(b.step_time, rel=1e-12)
    for x, y in zip(a.timeline, b.timeline):
        assert (x.stage, x.stream, x.label) == (y.stage, y.stream, y.label)
        assert x.start == pytest.approx(y.start, abs=1e-9) and x.end == pytest.approx(y.end, abs=1e-9)


def test_deterministic():
    """Same input, same output, bit for bit."""
    sched = build_schedule("zb", 4, 8)
    cost = lambda s, c, k: TaskCost(1.0, (CommPiece("comm:dp", 0.4, "async"),) if k == "W" else ())  # noqa: E731
    a = simulate_pipeline(sched, cost, 0.1, overlap_slowdown=1.2)
    b = simulate_pipeline(sched, cost, 0.1, overlap_slowdown=1.2)
    assert a == b


def test_inconsistent_order_raises():
    """A cross-stage order that can never run is a ValueError, not a hang."""
    stages = ((Task("F", 0), Task("B", 0), Task("F", 1), Task("B", 1)),
              (Task("F", 0), Task("F", 1), Task("B", 0), Task("B", 1)))
    bad = PipelineSchedule("bad", 2, 1, 2, stages, False, (1, 2))
    with pytest.raises(ValueError, match="deadlocked"):
        simulate_pipeline(bad, fb())
    early = PipelineSchedule("early", 1, 1, 1, ((Task("B", 0), Task("F", 0)),), False, (1,))
    with pytest.raises(ValueError, match="before its F"):
        simulate_pipeline(early, fb())


def test_argument_errors():
    """Bad slowdown, backend and negative durations fail loudly."""
    sched = build_schedule("1f1b", 2, 2)
    with pytest.raises(ValueError, match="overlap_slowdown"):
        simulate_pipeline(sched, fb(), overlap_slowdown=0.5)
    with pytest.raises(ValueError, match="unknown engine backend 'gpu'; known: heap, simpy"):
        simulate_pipeline(sched, fb(), backend="gpu")
    with pytest.raises(ValueError, match="compute time"):
        simulate_pipeline(sched, lambda s, c, k: TaskCost(-1.0))
    with pytest.raises(ValueError, match="comm mode"):
        CommPiece("comm:dp", 1.0, "later")


def test_grad_sync_only_on_last_backward_of_each_chunk():
    """Megatron-style DP reduce: one async piece per chunk, after its last backward; the tail waits for it."""
    sched = build_schedule("interleaved", 2, 4, 2)
    r = simulate_pipeline(sched, fb(), grad_sync=lambda s, c: [("comm:dp", 0.5, False)],
                          tail=lambda s: TaskCost(0.0))
    for tot in r.comm_time_per_stage:
        assert tot["comm:dp"] == pytest.approx(2 * 0.5)
    dp = [e for e in r.timeline if e.stream == "comm:dp" and e.stage == 0]
    assert len(dp) == 2
    # on one stage: the last bucket after the final B is exposed, nothing else
    one = simulate_pipeline(build_schedule("1f1b", 1, 5), fb(), grad_sync=lambda s, c: [("comm:dp", 0.5, False)])
    assert one.step_time == pytest.approx(5 * 3.0 + 0.5)
