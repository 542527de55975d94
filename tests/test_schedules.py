"""Pipeline schedules: registry behaviour, task orders and in-flight activation counts."""
import pytest

from sim.schedules import SCHEDULES, Task, build_schedule, register_schedule


def test_registry_rejects_unknown_and_duplicates():
    """Unknown names list the known ones; registering a name twice is an error."""
    with pytest.raises(ValueError, match="unknown pipeline schedule 'pipedream'; known: 1f1b, dualpipev, gpipe, interleaved, zb"):
        build_schedule("pipedream", 4, 8)
    with pytest.raises(ValueError, match="already registered"):
        register_schedule("1f1b")(lambda p, m, v: [])
    assert set(SCHEDULES) >= {"gpipe", "1f1b", "interleaved", "zb"}


@pytest.mark.parametrize("p,m", [(4, 8), (8, 3), (1, 5), (16, 128)])
def test_1f1b_order_and_in_flight(p, m):
    """Stage s runs min(p-s-1, m) warm-up forwards and holds min(m, p-s) micro-batches."""
    s = build_schedule("1f1b", p, m)
    for i, tasks in enumerate(s.stages):
        warm = min(p - i - 1, m)
        assert [t.kind for t in tasks[:warm + 1]] == ["F"] * min(warm + 1, m) + (["B"] if warm + 1 > m else [])
        assert s.in_flight[i] == min(m, p - i)


def test_gpipe_holds_all_microbatches():
    """GPipe: every stage holds m micro-batches."""
    assert build_schedule("gpipe", 4, 12).in_flight == (12,) * 4


@pytest.mark.parametrize("p,vp,m", [(4, 2, 8), (4, 3, 16), (8, 4, 32)])
def test_interleaved_megatron_warmup_and_memory(p, vp, m):
    """Warm-up on rank s is (p-s-1)*2 + (vp-1)*p forwards; rank 0 holds p + (p-1)/vp micro-batches."""
    s = build_schedule("interleaved", p, m, vp)
    for i, tasks in enumerate(s.stages):
        warm = (p - i - 1) * 2 + (vp - 1) * p
        kinds = [t.kind for t in tasks]
        assert kinds[:warm + 1] == ["F"] * (warm + 1) and kinds[warm + 1] == "B"
    assert s.in_flight[0] == pytest.approx(p + (p - 1) / vp)
    # first backward on the last rank is micro-batch 0 of its last chunk
    last = s.stages[-1]
    assert next(t for t in last if t.kind == "B") == Task("B", 0, vp - 1)


def test_interleaved_m_equal_p_is_all_forward_first():
    """Megatron runs everything as warm-up when m == p."""
    s = build_schedule("interleaved", 4, 4, 2)
    for tasks in s.stages:
        assert [t.kind for t in tasks] == ["F"] * 8 + ["B"] * 8


def test_interleaved_needs_m_multiple_of_p():
    """Megatron's constraint m % p == 0."""
    with pytest.raises(ValueError, match="num_microbatches % pp == 0"):
        build_schedule("interleaved", 4, 6, 2)


def test_zb_h1_delays_weight_grads_by_stage():
    """ZB-H1: stage s runs W of micro-batch j after B of j+s; alive activations peak at p everywhere."""
    p, m = 4, 8
    s = build_schedule("zb", p, m)
    assert s.split_backward
    for i, tasks in enumerate(s.stages):
        pos = {(t.kind, t.microbatch): k for k, t in enumerate(tasks)}
        for j in range(m - i):
            assert pos[("W", j)] > pos[("B", j + i)]
    assert s.in_flight == (p,) * p


def test_no_virtual_stages_outside_interleaved():
    """vp > 1 is refused by the non-interleaved schedules."""
    with pytest.raises(ValueError, match="no virtual stages"):
        build_schedule("1f1b", 4, 8, 2)
