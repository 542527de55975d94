"""Zeroth-order steps (sim/zeroth_order.py): MeZO and ZO2 memory and time."""
import pytest

from hardware.catalog import get_device
from hardware.perf import profile_for
from sim.zeroth_order import (mezo_memory, mezo_step, perturb_bytes, perturb_time, zo2_memory, zo2_step,
                              forward_workspace)
from workloads.graph import build_step


def test_mezo_memory_is_weights_plus_workspace():
    """MeZO keeps weights and one layer's workspace: no grads, no optimizer, nothing saved."""
    m = mezo_memory(30e9, 2, 3e9)
    assert m.total == pytest.approx(30e9 * 2 + 3e9) and m.buffers == 0.0


def test_zo2_memory_golden():
    """ZO2: resident embedding/head + buffers x block + workspace on the GPU; streamed blocks on the host."""
    m = zo2_memory(0.6e9, 1.8e9, 2, 2e9, host_params=96 * 1.8e9, buffers=3)
    assert m.total == pytest.approx(1.2e9 + 3 * 3.6e9 + 2e9) and m.host == pytest.approx(96 * 3.6e9)


def test_perturbation_passes():
    """Four passes (+eps, -2eps, +eps, update), 4 x param bytes each; time grows with params."""
    assert perturb_bytes(1e9, 2) == pytest.approx(32e9)
    dev = get_device("a100-sxm-80gb")
    prof = profile_for(dev)
    assert perturb_time(dev, prof, 2e9) > perturb_time(dev, prof, 1e9) > 0


def test_mezo_step_is_two_forwards_plus_passes():
    """No backward: step = 2 forwards + perturbation passes."""
    s = mezo_step(0.3, 0.05)
    assert s.step_s == pytest.approx(0.65) and s.transfer_exposed_s == 0.0


def test_zo2_exposed_limits():
    """ZO2 exposes only the first upload and last offload when compute dominates, else the transfer excess."""
    n, c, nb = 10, 1.0, 1e9
    fast = zo2_step([c / 2] * n, [nb] * n, 1e10, 1e10)     # 0.1 s transfers vs 1 s compute per block
    assert fast.step_s == pytest.approx(n * c + 0.2)
    slow = zo2_step([0.05] * n, [nb] * n, 1e9, 1e9)         # 1 s transfers vs 0.1 s compute
    assert slow.step_s == pytest.approx(n * 1.0 + 0.1 + 1)   # uploads back to back, last compute, last offload
    assert slow.transfer_exposed_s == pytest.approx(slow.step_s - n * 0.1)


def test_zo2_slower_link_never_faster():
    """Halving the link bandwidth never shortens a ZO2 step."""
    f = [0.01, 0.02, 0.03]
    b = [1e8, 3e8, 2e8]
    assert zo2_step(f, b, 5e9, 5e9).step_s <= zo2_step(f, b, 2.5e9, 5e9).step_s


def test_forward_workspace_counts_second_hidden_state():
    """Interleaved forwards (ZO2) add one b*s*h hidden state each."""
    g = build_step("opt-13b", 1, 512, kernels="eager", dtype="fp16")
    assert forward_workspace(g, 2) - forward_workspace(g, 1) == pytest.approx(512 * 5120 * 2)


def test_bad_input():
    """Mismatched blocks or a missing link are one-line ValueErrors."""
    with pytest.raises(ValueError, match="one transfer size per block"):
        zo2_step([0.1, 0.1], [1e9], 1e10, 1e10)
    with pytest.raises(ValueError, match="host link"):
        zo2_step([0.1], [1e9], 0.0, 1e10)
    with pytest.raises(ValueError, match="params"):
        mezo_memory(-1, 2, 0)
