"""Power model: golden values of P = idle + (TDP - idle) u, network and PUE, energy per step and token."""
import dataclasses

import pytest

from hardware.catalog import get_device
from sim.power import NETWORK_W_PER_GPU, PowerModel, busy_shares, estimate_power, gpu_power
from sim.results import MemoryBreakdown, OpTiming, StepResult
from sim.single import simulate

H100 = get_device("h100-sxm")   # TDP 700 W, idle 70 W (datasheet / estimate in the device file)


def step(ops, step_time=1.0, n_gpus=16, tokens=1000, hfu_flops=0.0):
    mem = MemoryBreakdown(1, 0, 0, 0, 0, 0, peak=1, capacity=2)
    return StepResult(model="m", hardware="h100-sxm", config={}, step_time_s=step_time, tokens_per_step=tokens,
                      model_flops=hfu_flops, hardware_flops=hfu_flops, peak_flops=H100.flops("bf16"),
                      n_gpus=n_gpus, breakdown={}, memory=mem, ops=tuple(ops))


def op(t, bound):
    return OpTiming("x", "gemm", "fwd", "mlp", 1, t, 1.0, 1.0, bound)


def test_gpu_power_golden():
    """70 + (700 - 70) x 0.5 = 385 W; the two ends are idle and TDP."""
    assert gpu_power(H100, 0.5) == pytest.approx(385.0)
    assert gpu_power(H100, 0.0) == H100.idle_w and gpu_power(H100, 1.0) == H100.tdp_w


def test_network_power_from_components():
    """25 W NIC + 9 W optic + 3 switch ports x (8.5 W optic + 12 W ASIC) = 95.5 W per GPU."""
    assert NETWORK_W_PER_GPU == pytest.approx(95.5)


def test_estimate_power_golden():
    """0.6 s compute + 0.4 s memory-bound in a 1 s step on 16 GPUs: u = 0.6 + 0.4 x 0.6 = 0.84."""
    p = estimate_power(step([op(0.6, "compute"), op(0.4, "memory")]), H100)
    assert p.utilization == pytest.approx(0.84)
    assert p.gpu_w == pytest.approx(70 + 630 * 0.84)                       # 599.2 W
    assert p.network_w == pytest.approx(95.5)                               # 16 GPUs > one 8-GPU node
    assert p.facility_w_per_gpu == pytest.approx((599.2 + 95.5) * 1.2)      # 833.64 W
    assert p.energy_per_step_j == pytest.approx(833.64 * 16 * 1.0)
    assert p.energy_per_token_j == pytest.approx(833.64 * 16 / 1000)


def test_idle_time_draws_idle_power_and_one_node_no_network():
    """Time outside any operator counts as idle; within one scale-up domain no network power."""
    p = estimate_power(step([op(0.5, "compute")], step_time=1.0, n_gpus=8), H100)
    assert p.utilization == pytest.approx(0.5) and p.network_w == 0.0


def test_overlapped_streams_never_exceed_one():
    """Operator times summing past the step time (overlap) are normalised: shares sum to at most 1."""
    c, m, x = busy_shares(step([op(0.9, "compute"), op(0.6, "memory"), op(0.5, "comm")], step_time=1.0))
    assert c + m + x == pytest.approx(1.0)


def test_monotone_in_compute_share():
    """More compute-bound time in the same step means more power."""
    low = estimate_power(step([op(0.2, "compute")]), H100).gpu_w
    high = estimate_power(step([op(0.8, "compute")]), H100).gpu_w
    assert H100.idle_w < low < high <= H100.tdp_w


def test_fallback_without_ops_uses_hfu():
    """No op table: u = HFU / 0.73 (capped at 1)."""
    r = step([], step_time=1.0, n_gpus=1, hfu_flops=0.365 * H100.flops("bf16"))
    assert estimate_power(r, H100).utilization == pytest.approx(0.5)


def test_real_step_is_between_idle_and_tdp():
    """A simulated llama3.2-1b step averages between idle and TDP, with a positive energy per token."""
    p = estimate_power(simulate("llama3.2-1b", "h100-sxm", batch=2, seq_len=1024, micro_batch=1), H100)
    assert H100.idle_w < p.gpu_w <= H100.tdp_w and p.energy_per_token_j > 0


def test_pue_and_bounds_validated():
    """PUE below 1 and utilisation outside [0, 1] are one-line ValueErrors."""
    with pytest.raises(ValueError, match="PUE"):
        PowerModel(pue=0.9)
    with pytest.raises(ValueError, match="utilization"):
        gpu_power(H100, 1.5)
    with pytest.raises(ValueError, match="memory_activity"):
        dataclasses.replace(PowerModel(), memory_activity=2.0)
