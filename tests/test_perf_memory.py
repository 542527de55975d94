"""Memory-bound kernel model: latency floor, bandwidth limit, kernel classes."""
import dataclasses

import pytest

from hardware.perf import memory_time


def test_golden(h100, prof):
    kt = memory_time(h100, prof, 1e9, kernels=2)
    assert kt.time_s == pytest.approx(2 * prof.kernel_latency_s + 1e9 / (3.35e12 * prof.hbm_fraction))
    assert kt.bound == "memory"


def test_tiny_kernels_latency_bound(h100, prof):
    kt = memory_time(h100, prof, 4096, kernels=10)
    assert kt.bound == "latency"
    assert kt.time_s == pytest.approx(10 * prof.kernel_latency_s, rel=0.01)


def test_bandwidth_limit_and_doubling(h100, prof):
    big = memory_time(h100, prof, 8e9).time_s
    assert big >= 8e9 / h100.hbm_bandwidth
    fast = dataclasses.replace(h100, hbm_bandwidth=2 * h100.hbm_bandwidth)
    assert memory_time(fast, prof, 8e9).time_s < 0.55 * big


def test_classes_ordered(h100, prof):
    t = {c: memory_time(h100, prof, 1e9, op_class=c).time_s for c in ("elementwise", "reduction", "softmax")}
    assert t["elementwise"] <= t["reduction"] <= t["softmax"]
    with pytest.raises(ValueError, match="known: elementwise"):
        memory_time(h100, prof, 1e9, op_class="scatter")


@pytest.mark.parametrize("kwargs", [dict(bytes_moved=-1), dict(bytes_moved=1, kernels=-1),
                                    dict(bytes_moved=1, kernels=0), dict(bytes_moved=1, flops=-5)])
def test_invalid(h100, prof, kwargs):
    with pytest.raises(ValueError):
        memory_time(h100, prof, **kwargs)
