"""DualPipeV (V-shaped DualPipe): order, memory, bubble, F&B overlap, layout and plan checks."""
import pytest

from sim.distributed import ClusterOptions, simulate_cluster
from sim.engine import CommPiece, TaskCost, simulate_pipeline
from sim.plan import ParallelPlan
from sim.schedules import build_schedule


@pytest.mark.parametrize("pp,m", [(2, 4), (4, 8), (4, 13), (8, 20)])
def test_every_rank_runs_every_chunk_and_holds_pp_plus_half(pp, m):
    """README table: activations (PP+1) chunk-stages with PP = 2*pp stages = pp + 1/2 rank micro-batches."""
    s = build_schedule("dualpipev", pp, m, 2)
    assert s.split_backward and s.layout == "v"
    assert all(x == pytest.approx(pp + 0.5) for x in s.in_flight)
    assert s.position(2 * pp - 1) == (0, 1) and s.virtual_stage(pp - 1, 1) == pp


@pytest.mark.parametrize("pp,m", [(4, 16), (8, 32)])
def test_bubble_below_the_readme_bound_and_below_1f1b(pp, m):
    """Equal F, B, W per chunk: the engine's bubble is at most DualPipe's (PP/2-1)(F&B+B-3W) and far below
    1F1B's on the same ranks (each rank runs two chunks, so its F and B are twice a chunk's)."""
    f = b = w = 1.0
    dual = simulate_pipeline(build_schedule("dualpipev", pp, m, 2), lambda s, c, k: TaskCost({"F": f, "B": b, "W": w}[k]))
    one = simulate_pipeline(build_schedule("1f1b", pp, m), lambda s, c, k: TaskCost(2 * f if k == "F" else 2 * (b + w)))
    work = m * 2 * (f + b + w)
    bubble = dual.step_time - work
    assert 0 < bubble <= (pp - 1) * ((f + b + w) + (b + w) - 3 * w) + 1e-9
    assert bubble < (one.step_time - work) / 3


def test_paired_tasks_hide_blocking_comm():
    """Blocking comm (EP all-to-all, TP) of an overlapped F&B pair runs beside the other half's compute."""
    pp, m = 4, 16
    cost = lambda s, c, k: TaskCost(1.0, (CommPiece("comm:ep", 0.4, "blocking"),) if k in "FB" else ())  # noqa: E731
    sched = build_schedule("dualpipev", pp, m, 2)
    res = simulate_pipeline(sched, cost)
    paired = sum(t.paired and t.kind in "FB" for t in sched.stages[0])
    unpaired = sum(not t.paired and t.kind in "FB" for t in sched.stages[0])
    assert paired > 0
    assert res.exposed_comm_per_stage[0].get("comm:ep", 0.0) == pytest.approx(0.4 * unpaired)
    serial = simulate_pipeline(sched, cost, overlap=False)
    assert serial.step_time > res.step_time + 0.3 * paired


def test_v_layout_puts_embedding_and_head_on_rank_0():
    plan = ParallelPlan(tp=1, pp=2, dp=1, vp=2, schedule="dualpipev", micro_batch=1, global_batch=8)
    res, eng = simulate_cluster("llama3.2-1b", "h200-nvlink-pair", plan, ClusterOptions(seq_len=2048), gpus=2)
    assert eng.compute_work[0] > eng.compute_work[1]
    # tied embeddings: the last stage shares rank 0 with the embedding, so no second copy is kept
    one, _ = simulate_cluster("llama3.2-1b", "h200-nvlink-pair", ParallelPlan(tp=1, pp=2, dp=1, micro_batch=1, global_batch=8),
                              ClusterOptions(seq_len=2048), gpus=2)
    assert res.memory.weights < one.memory.weights * 1.0001 + 1


@pytest.mark.parametrize("kw,msg", [
    (dict(vp=3), "dualpipev holds two chunks per rank"),
    (dict(vp=2, global_batch=4), "dualpipev needs num_microbatches >= 2\\*pp = 8"),
])
def test_plan_checks(kw, msg):
    args = dict(tp=1, pp=4, dp=1, schedule="dualpipev", micro_batch=1, global_batch=16)
    args.update(kw)
    with pytest.raises(ValueError, match=msg):
        ParallelPlan(**args).validate(4, 32, 32)


def test_analytical_tier_is_close_to_the_engine_and_not_optimistic():
    """The sweep's closed form uses the README bubble (a bound the engine's order stays under)."""
    from sim.analytical import estimate
    plan = ParallelPlan(tp=8, pp=8, dp=1, vp=2, schedule="dualpipev", micro_batch=1, global_batch=32,
                        sequence_parallel=True, distributed_optimizer=True)
    opts = ClusterOptions(seq_len=4096)
    res, _ = simulate_cluster("llama3-70b", "dgx-h100-superpod", plan, opts, gpus=64)
    est = estimate("llama3-70b", "dgx-h100-superpod", plan, opts, gpus=64)
    assert res.step_time_s <= est.step_time_s <= 1.10 * res.step_time_s


def test_v_turn_on_the_last_rank_needs_no_p2p():
    """Chunk 0's output on the last rank feeds chunk 1 on the same rank: no send, and p2p cost is not paid there."""
    from sim.engine.program import build_program
    pp, m = 4, 8
    sched = build_schedule("dualpipev", pp, m, 2)
    prog = build_program(sched, lambda s, c, k: TaskCost(1.0), p2p=0.5)
    sends = [prog.label[i] for i in range(len(prog)) if prog.label[i].startswith("send") and prog.stage[i] == pp - 1]
    # the last rank sends chunk 1's forwards and chunk 0's backwards to rank pp-2, never F of chunk 0 or B of chunk 1
    assert sends and not any(lab.endswith(".c0") and lab.startswith("send F") for lab in sends)
    assert not any(lab.endswith(".c1") and lab.startswith("send B") for lab in sends)


def test_memory_counts_each_chunk_with_its_own_in_flight():
    """Rank r holds 2p-r micro-batches of chunk 0 at most and r+1 of chunk 1; rank 0's chunk 1 has the LM head:
    the activation peak is below (chunk 0 + chunk 1 bytes) x (p + 1/2); engine and sweep tier agree."""
    from sim.analytical import AnalyticalModel
    from sim.schedules import peak_saved_bytes
    pp, m = 4, 16
    plan = ParallelPlan(tp=1, pp=pp, dp=2, vp=2, schedule="dualpipev", micro_batch=1, global_batch=2 * m)
    opts = ClusterOptions(seq_len=4096)
    res, _ = simulate_cluster("llama3-8b", "dgx-h100", plan, opts, gpus=8)
    sched = build_schedule("dualpipev", pp, m, 2)
    light, heavy = {0: 1.0, 1: 0.0}, {0: 0.0, 1: 1.0}
    for r in range(pp):
        assert peak_saved_bytes(sched.stages[r], light, True) == 2 * pp - r
        assert peak_saved_bytes(sched.stages[r], heavy, True) == r + 1
    est = AnalyticalModel("llama3-8b", "dgx-h100", opts, gpus=8).memory(plan)
    assert est == pytest.approx(res.memory.peak, rel=0.05)
