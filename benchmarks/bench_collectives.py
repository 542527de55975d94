"""Speed of the collective model: one collective on 16,384 GPUs (ms, not s) and a 100k-GPU cluster build.

    python benchmarks/bench_collectives.py          # prints timings
    pytest benchmarks/bench_collectives.py --benchmark-enable   # pytest-benchmark groups
"""
from __future__ import annotations

import time
import tracemalloc

from topologies.catalog import get_cluster
from topologies.collectives import _collective_time, collective_time
from topologies.contention import Flow, concurrent_times
from topologies.group import Group, _place

GiB = 2**30


def _uncached_16k() -> float:
    """One all-reduce on 16,384 GPUs with caches cleared (the cold cost the simulator pays once)."""
    _collective_time.cache_clear()
    _place.cache_clear()
    pod = get_cluster("dgx-h100-superpod", gpus=16384)
    return collective_time(pod, "all_reduce", GiB, Group(16384)).time_s


def _build_100k() -> int:
    """Build a 100k-GPU cluster and answer a DP all-reduce and an all-to-all on it."""
    _collective_time.cache_clear()
    big = get_cluster("h100-100k")
    collective_time(big, "all_reduce", GiB, Group(12500, stride=8))
    collective_time(big, "all_to_all", GiB, Group(big.gpus))
    return big.gpus


def _contention_8dp() -> int:
    """Eight DP rings (one per rail) plus a TP all-reduce per node sharing a 1,024-GPU fabric."""
    pod = get_cluster("dgx-h100-superpod")
    flows = [Flow("reduce_scatter", GiB, Group(128, stride=8, start=r)) for r in range(8)]
    flows.append(Flow("all_reduce", 2**27, Group(8)))
    return len(concurrent_times(pod, flows))


def test_bench_16k_collective(benchmark):
    benchmark.group = "collectives"
    benchmark(_uncached_16k)


def test_bench_100k_build(benchmark):
    benchmark.group = "collectives"
    benchmark(_build_100k)


def test_bench_contention(benchmark):
    benchmark.group = "collectives"
    benchmark(_contention_8dp)


def main() -> None:
    """Print wall times and peak memory."""
    for name, fn in (("16,384-GPU all-reduce (cold)", _uncached_16k), ("100k-GPU build + 2 collectives", _build_100k),
                     ("8 DP rings + TP contention", _contention_8dp)):
        tracemalloc.start()
        t0 = time.perf_counter()
        reps = 20
        for _ in range(reps):
            fn()
        dt = (time.perf_counter() - t0) / reps
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{name:34s} {dt * 1e3:8.3f} ms   peak Python memory {peak / 1e6:.2f} MB")
    t0 = time.perf_counter()
    pod = get_cluster("dgx-h100-superpod", gpus=16384)
    for s in range(10, 33):
        collective_time(pod, "all_reduce", 2**s, Group(16384))
    print(f"{'sweep 1 KiB..4 GiB on 16,384 GPUs':34s} {(time.perf_counter() - t0) * 1e3:8.3f} ms (23 sizes)")


if __name__ == "__main__":
    main()
