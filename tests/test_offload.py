"""Offload cost model (sim/offload.py): bytes moved off the GPU, monotonicity, limits, bad input."""
from dataclasses import replace

import pytest

from hardware.catalog import get_device
from sim.memory_dist import model_state_memory
from sim.offload import CPU_ADAM_PARAMS_PER_S, offload_cost
from sim.plan import OffloadPolicy

V100 = get_device("v100-sxm2-32gb")
ZO = OffloadPolicy(optimizer="cpu", grads="cpu", cpu_adam=True)   # ZeRO-Offload
P = 10e9


def test_offload_moves_optimizer_bytes_to_host():
    """Optimizer states leave the GPU (memory_dist) and appear in host bytes (offload_cost), 12 B/param."""
    gpu = model_state_memory(P, 1, 0, "mixed", offload=ZO)
    assert gpu.optimizer == 0.0 and gpu.host == pytest.approx(P * (12 + 2))
    c = offload_cost(V100, ZO, P, "mixed", 1.0, 2.0)
    assert c.host_bytes == pytest.approx(P * (12 + 2)) and c.nvme_bytes == 0.0 and c.host_fits


def test_cpu_adam_golden():
    """CPU Adam time = params / ZeRO-Offload Table 3 throughput (10B in 2.57 s on the DGX-2 host)."""
    c = offload_cost(V100, ZO, P, "mixed", 1.0, 2.0)
    assert c.cpu_step_s == pytest.approx(2.57)
    assert c.tail_exposed_s == pytest.approx(max(2.57, P * 2 / (16e9 * 0.8)))


def test_slower_host_link_never_faster():
    """Halving the host link bandwidth never shortens the exposed time, for every policy."""
    slow = replace(V100, host_link_bandwidth=V100.host_link_bandwidth / 2)
    pols = [ZO, OffloadPolicy(optimizer="cpu"), OffloadPolicy(optimizer="nvme", params="nvme", grads="nvme"),
            OffloadPolicy(optimizer="cpu", params="cpu", activations="cpu", cpu_adam=True)]
    for pol in pols:
        for fwd, bwd in ((0.01, 0.02), (1.0, 2.0), (30.0, 60.0)):
            for dpu in (False, True):
                kw = dict(microbatches=2, layers=40, saved_bytes=5e9, delayed_update=dpu, gpu_optimizer_s=0.5)
                fast = offload_cost(V100, pol, P, "mixed", fwd, bwd, **kw).exposed_s
                assert offload_cost(slow, pol, P, "mixed", fwd, bwd, **kw).exposed_s >= fast - 1e-12


def test_infinite_bandwidth_limits():
    """With an unbounded link: exposed -> CPU step without DPU, -> max(0, CPU step - compute) with DPU."""
    fast = replace(V100, host_link_bandwidth=1e30)
    cpu = P / CPU_ADAM_PARAMS_PER_S
    assert offload_cost(fast, ZO, P, "mixed", 1.0, 2.0).exposed_s == pytest.approx(cpu, rel=1e-9)
    assert offload_cost(fast, ZO, P, "mixed", 1.0, 2.0, delayed_update=True).exposed_s == pytest.approx(0.0, abs=1e-9)
    assert offload_cost(fast, ZO, P, "mixed", 0.5, 0.5, delayed_update=True).exposed_s == pytest.approx(cpu - 1.0)


def test_overlap_hides_transfers_behind_long_compute():
    """Grad copies pipelined with a long backward expose only the last bucket; a short one exposes the rest."""
    long = offload_cost(V100, ZO, P, "mixed", 10.0, 100.0)
    short = offload_cost(V100, ZO, P, "mixed", 0.0, 0.0)
    assert long.bwd_exposed_s == pytest.approx(long.grad_d2h_s / (P / 5e8))
    assert short.bwd_exposed_s == pytest.approx(short.grad_d2h_s)
    assert long.exposed_s + long.overlapped_s == pytest.approx(short.exposed_s + short.overlapped_s)


def test_no_offload_costs_nothing():
    """The default policy moves nothing."""
    c = offload_cost(V100, OffloadPolicy(), P, "mixed", 1.0, 2.0)
    assert c.exposed_s == 0.0 and c.host_bytes == 0.0 and c.overlapped_s == 0.0


def test_host_memory_shared_by_active_gpus():
    """16 active GPUs of a DGX-2 each get 1/16 of its 1.5 TB: 10B params of states no longer fit."""
    assert offload_cost(V100, ZO, P, "mixed", 1.0, 2.0).host_fits
    c = offload_cost(V100, ZO, P, "mixed", 1.0, 2.0, active_gpus_per_host=16)
    assert not c.host_fits and c.notes


def test_missing_links_raise():
    """Offloading to an absent NVMe or host link is a one-line ValueError naming it."""
    tpu = get_device("tpu-v5p")
    with pytest.raises(ValueError, match="no NVMe") as e:
        offload_cost(tpu, OffloadPolicy(optimizer="nvme"), P, "mixed", 1.0, 2.0)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="no host link"):
        offload_cost(replace(V100, host_link_bandwidth=0.0), ZO, P, "mixed", 1.0, 2.0)
    with pytest.raises(ValueError, match="microbatches"):
        offload_cost(V100, ZO, P, "mixed", 1.0, 2.0, microbatches=0)
