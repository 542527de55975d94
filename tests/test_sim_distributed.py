"""The cluster step: mapping a plan onto the engine obeys the physics the issue lists."""
import dataclasses

import pytest

from sim.distributed import ClusterOptions, simulate_cluster
from sim.plan import ParallelPlan
from topologies.catalog import get_cluster


def sim(model, cluster, plan, gpus=None, **opts):
    return simulate_cluster(model, cluster, plan, ClusterOptions(**opts), gpus=gpus or plan.n_gpus)


def fast_network(cluster):
    """The same cluster with 1000x the link bandwidth and no latency."""
    up = dataclasses.replace(cluster.scale_up, bandwidth=cluster.scale_up.bandwidth * 1000, latency=0.0)
    out = dataclasses.replace(cluster.scale_out, link_bandwidth=cluster.scale_out.link_bandwidth * 1000,
                              hop_latency=0.0)
    return dataclasses.replace(cluster, scale_up=up, scale_out=out)


def test_doubling_dp_keeps_per_gpu_compute_and_adds_only_communication():
    base = ParallelPlan(tp=8, pp=1, dp=2, micro_batch=1, global_batch=16, sequence_parallel=True)
    big = dataclasses.replace(base, dp=4, global_batch=32)
    r2, e2 = sim("llama3-70b", "dgx-h100-superpod", base, seq_len=4096)
    r4, e4 = sim("llama3-70b", "dgx-h100-superpod", big, seq_len=4096)
    assert e4.compute_work[0] == pytest.approx(e2.compute_work[0], rel=1e-9)
    assert r4.step_time_s >= r2.step_time_s - 1e-12
    assert r4.tokens_per_s == pytest.approx(2 * r2.tokens_per_s, rel=0.1)


def test_fast_network_step_is_compute_critical_path():
    cl = get_cluster("dgx-h100-superpod", 64)
    plan = ParallelPlan(tp=8, pp=1, dp=8, micro_batch=1, global_batch=32, sequence_parallel=True)
    r, e = simulate_cluster("llama3-8b", fast_network(cl), plan, ClusterOptions(seq_len=2048), gpus=64)
    assert r.step_time_s == pytest.approx(e.compute_busy[0] + sum(e.exposed_comm_per_stage[0].values()), rel=1e-6)
    slow, _ = simulate_cluster("llama3-8b", cl, plan, ClusterOptions(seq_len=2048), gpus=64)
    assert slow.step_time_s > r.step_time_s


def test_pipeline_bubble_matches_1f1b_formula_on_fast_network():
    cl = fast_network(get_cluster("dgx-h100-superpod", 8))
    plan = ParallelPlan(pp=8, dp=1, micro_batch=1, global_batch=32)
    r, e = simulate_cluster("llama2-7b", cl, plan, ClusterOptions(seq_len=2048), gpus=8)
    p, m = 8, 32
    # The busiest stage (the last: it also runs the LM head) idles only while the pipeline fills
    # and drains: (p-1)/(m+p-1) of the step, as for equal stages.
    busiest = max(range(p), key=lambda s: e.compute_work[s])
    assert e.bubble[busiest] / r.step_time_s == pytest.approx((p - 1) / (m + p - 1), abs=0.03)


def test_interleaving_shrinks_the_bubble():
    cl = fast_network(get_cluster("dgx-h100-superpod", 8))
    one = ParallelPlan(pp=4, dp=2, micro_batch=1, global_batch=16)
    inter = dataclasses.replace(one, vp=2, schedule="interleaved")
    _, e1 = simulate_cluster("llama2-7b", cl, one, ClusterOptions(seq_len=2048), gpus=8)
    _, e2 = simulate_cluster("llama2-7b", cl, inter, ClusterOptions(seq_len=2048), gpus=8)
    assert e2.bubble[1] < 0.7 * e1.bubble[1]


def test_memory_drops_with_zero_stage():
    peaks = []
    for zero in (0, 1, 2, 3):
        plan = ParallelPlan(dp=64, zero=zero, micro_batch=1, global_batch=64)
        r, _ = sim("llama2-7b", "dgx-h100-superpod", plan, seq_len=2048)
        peaks.append(r.memory.weights + r.memory.gradients + r.memory.optimizer)
    assert peaks[0] > peaks[1] > peaks[2] > peaks[3]
    p = 6.74e9
    assert peaks[0] == pytest.approx(18 * p, rel=0.02)                # 2 + 4 + 12 B/param
    assert peaks[1] == pytest.approx((2 + 4) * p + 12 * p / 64, rel=0.02)


def test_tp_communication_is_exposed_without_overlap_and_hidden_with_it():
    plan = ParallelPlan(tp=8, dp=1, micro_batch=1, global_batch=8, sequence_parallel=True)
    r_block, _ = sim("llama3-70b", "dgx-h100", plan, seq_len=4096)
    r_over, _ = sim("llama3-70b", "dgx-h100", dataclasses.replace(plan, tp_overlap=True), seq_len=4096)
    assert r_block.breakdown.get("exposed_tp_comm", 0) > r_over.breakdown.get("exposed_tp_comm", 0)
    assert r_over.step_time_s < r_block.step_time_s


def test_plan_that_cannot_fit_reports_overflow():
    plan = ParallelPlan(dp=8, micro_batch=1, global_batch=8)
    r, _ = sim("llama3-70b", "dgx-h100", plan, seq_len=4096)
    assert not r.memory.fits and r.memory.overflow > 0 and any("over by" in n for n in r.notes)


def test_moe_expert_parallel_runs_and_adds_all_to_all():
    plan = ParallelPlan(tp=1, dp=8, ep=8, micro_batch=1, global_batch=8, zero=1)
    r, e = sim("mixtral-8x7b", "dgx-h100", plan, seq_len=4096)
    assert r.step_time_s > 0
    assert e.comm_time_per_stage[0].get("comm:ep", 0) > 0


def test_deterministic():
    plan = ParallelPlan(tp=8, pp=4, dp=4, vp=2, schedule="interleaved", micro_batch=1, global_batch=64,
                        sequence_parallel=True)
    a, _ = sim("llama3-70b", "dgx-h100-superpod", plan, seq_len=4096)
    b, _ = sim("llama3-70b", "dgx-h100-superpod", plan, seq_len=4096)
    assert a.step_time_s == b.step_time_s and a.memory.peak == b.memory.peak


def _one_gpu(hardware):
    from sim.commands.distributed_args import one_node
    return one_node(hardware, 1)


def test_zero_offload_makes_13b_fit_on_one_v100():
    """ZeRO-Offload (Ren et al. 2021): a 13B model trains on one 32 GB V100 with CPU offload, not without."""
    from sim.plan import OffloadPolicy
    plan = ParallelPlan(dp=1, micro_batch=8, global_batch=8, recompute="full")
    opts = dict(seq_len=1024, dtype="fp16", precision="mixed")
    plain, _ = simulate_cluster("opt-13b", _one_gpu("v100"), plan, ClusterOptions(**opts), gpus=1)
    off = dataclasses.replace(plan, offload=OffloadPolicy(optimizer="cpu", grads="cpu", cpu_adam=True))
    offl, _ = simulate_cluster("opt-13b", _one_gpu("v100"), off, ClusterOptions(**opts), gpus=1)
    assert not plain.memory.fits and offl.memory.fits
    assert offl.memory.host_bytes > 12 * 13e9          # fp32 master + Adam moments live on the host
    assert offl.step_time_s > plain.step_time_s        # transfers and the CPU step cost time


def test_zeroth_order_needs_far_less_memory_than_backprop():
    """MeZO (Malladi et al. 2023): forward-only fine-tuning fits OPT-30B on one A100-80GB; backprop does not."""
    base = ParallelPlan(dp=1, micro_batch=1, global_batch=1)
    bp, _ = simulate_cluster("opt-30b", _one_gpu("a100"), base, ClusterOptions(seq_len=2048), gpus=1)
    zo, _ = simulate_cluster("opt-30b", _one_gpu("a100"), dataclasses.replace(base, zeroth_order=True),
                             ClusterOptions(seq_len=2048), gpus=1)
    assert not bp.memory.fits and zo.memory.fits
    assert zo.memory.optimizer == 0 and zo.memory.gradients == 0
