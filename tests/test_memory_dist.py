"""Distributed memory: ZeRO paper numbers, offload, activations by schedule, buffers, plan wiring."""
import pytest

from sim.memory_dist import (STATE_BYTES, StateBytes, activation_memory, comm_buffer_memory, get_state_bytes,
                             model_state_memory, plan_memory)
from sim.plan import OffloadPolicy, ParallelPlan
from sim.schedules import build_schedule

GB = 1e9


@pytest.mark.parametrize("zero,published_gb", [(0, 120), (1, 31.4), (2, 16.6), (3, 1.9)])
def test_zero_paper_figure_1(zero, published_gb):
    """Rajbhandari et al. 2020, Fig. 1: Psi = 7.5B, N_d = 64, K = 12."""
    m = model_state_memory(7.5e9, 64, zero, "mixed")
    assert m.total / GB == pytest.approx(published_gb, abs=0.05)


def test_memory_drops_with_zero_stage():
    """Each ZeRO stage shards one more state: strictly less memory for N_d > 1."""
    totals = [model_state_memory(1e9, 8, z, "megatron").total for z in range(4)]
    assert totals == sorted(totals, reverse=True) and len(set(totals)) == 4


def test_megatron_fp32_grads_and_presets():
    """Megatron keeps fp32 main grads: 2 + 4 + 12 bytes per param at ZeRO-0; unknown presets fail."""
    assert model_state_memory(1e9, 1, 0, "megatron").total == pytest.approx(18e9)
    assert model_state_memory(1e9, 1, 0, "bf16").total == pytest.approx(8e9)
    assert get_state_bytes(StateBytes(2, 2, 12)) == STATE_BYTES["mixed"]
    with pytest.raises(ValueError, match="unknown precision preset 'fp8'; known:"):
        get_state_bytes("fp8")


def test_offload_moves_bytes_to_host_and_nvme():
    """ZeRO-Offload: optimizer states leave the GPU; ZeRO-Infinity: params on NVMe."""
    off = model_state_memory(10e9, 1, 2, "mixed", OffloadPolicy(optimizer="cpu", cpu_adam=True))
    assert off.optimizer == 0 and off.host == pytest.approx(120e9) and off.total == pytest.approx(40e9)
    inf = model_state_memory(1e12, 16, 3, "mixed", OffloadPolicy(optimizer="nvme", params="nvme", grads="cpu"))
    assert inf.total == 0
    assert inf.nvme == pytest.approx(1e12 * 14 / 16) and inf.host == pytest.approx(1e12 * 2 / 16)


def test_zeroth_order_has_no_grads_or_saved_activations():
    """MeZO: weights only (zo_sgd preset), no saved activations."""
    plan = ParallelPlan(zeroth_order=True)
    mem = plan_memory(plan, 30e9, activation_per_microbatch=5e9, in_flight=1, states="zo_sgd", transient=1e9)
    assert mem.total == pytest.approx(60e9 + 1e9)


def test_activations_follow_schedule_in_flight():
    """1F1B stage 0 holds p micro-batches, GPipe all m; CPU offload keeps one on the GPU."""
    one = build_schedule("1f1b", 8, 32)
    gpipe = build_schedule("gpipe", 8, 32)
    assert activation_memory(1e9, one.in_flight[0]) == (8e9, 0.0)
    assert activation_memory(1e9, gpipe.in_flight[0])[0] == pytest.approx(32e9)
    assert activation_memory(1e9, one.in_flight[0], "cpu") == (1e9, 7e9)


def test_comm_buffers():
    """FSDP with prefetch: two gathered layers of params + one of grads; DDP: the bucket."""
    assert comm_buffer_memory(3, 1e8, "mixed", prefetch=True) == pytest.approx(1e8 * (2 * 2 + 2))
    assert comm_buffer_memory(3, 1e8, "mixed", prefetch=False) == pytest.approx(1e8 * (2 + 2))
    assert comm_buffer_memory(0, 1e8, dp_bucket_bytes=25 * 2**20) == 25 * 2**20


def test_plan_memory_distributed_optimizer_and_experts():
    """Distributed optimizer = ZeRO-1 over dp*cp for dense params, over expert_dp for expert params."""
    plan = ParallelPlan(tp=2, dp=8, cp=2, ep=4, etp=1, distributed_optimizer=True, global_batch=16)
    mem = plan_memory(plan, 1e9, 0.0, 0.0, expert_params_per_rank=2e9, states="megatron")
    dense = 1e9 * (2 + 4) + 1e9 * 12 / 16
    expert = 2e9 * (2 + 4) + 2e9 * 12 / plan.expert_dp
    assert plan.expert_dp == 8
    assert mem.total == pytest.approx(dense + expert)
