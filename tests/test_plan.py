"""ParallelPlan: derived sizes and the one-line ValueErrors of validate()."""
import pytest

from sim.plan import OffloadPolicy, ParallelPlan


def test_num_microbatches_and_gpus():
    """m = global_batch / (dp * micro_batch); GPUs = tp*pp*dp*cp."""
    p = ParallelPlan(tp=8, pp=16, dp=96, micro_batch=1, global_batch=1536)
    assert p.n_gpus == 12288
    assert p.num_microbatches == 16
    p.validate(12288, 96, 96)


@pytest.mark.parametrize("plan,args,msg", [
    (ParallelPlan(tp=4, pp=8, dp=32, global_batch=1024), (512, 96, 96), "4*8*32*1 = 1024 != 512 GPUs"),
    (ParallelPlan(tp=3, global_batch=1), (3, 32, 32), "tp=3 does not divide 32 attention heads"),
    (ParallelPlan(tp=8, global_batch=1), (8, 32, 32, 4), "does not divide 4 KV heads"),
    (ParallelPlan(pp=7, global_batch=1), (7, 6, 64), "pp=7 stages exceed the 6 layers"),
    (ParallelPlan(pp=4, vp=3, schedule="interleaved", global_batch=8), (4, 8, 32), "pp*vp = 4*3 = 12 chunks"),
    (ParallelPlan(dp=16, micro_batch=4, global_batch=1000), (16, 32, 32), "global batch 1000 is not divisible by dp*micro_batch = 64"),
    (ParallelPlan(dp=16, ep=16, global_batch=16), (16, 32, 32, 32, 8), "ep=16 does not divide 8 experts"),
    (ParallelPlan(dp=4, ep=8, global_batch=4), (4, 32, 32, 32, 64), "EP is carved out of DP x CP"),
    (ParallelPlan(pp=4, vp=2, schedule="interleaved", global_batch=6), (4, 32, 32), "num_microbatches % pp == 0"),
    (ParallelPlan(ep=2, dp=2, global_batch=2), (2, 32, 32), "has no experts"),
])
def test_validate_messages(plan, args, msg):
    """Each broken constraint is named in the message."""
    with pytest.raises(ValueError, match=msg.replace("*", r"\*")):
        plan.validate(*args)


def test_moe_plan_ok_and_expert_dp():
    """Mixtral-like: ep=8 inside dp*cp=16 with etp=1 leaves expert_dp = tp*cp*dp/(etp*ep)."""
    p = ParallelPlan(tp=2, dp=8, cp=2, ep=8, etp=1, global_batch=64)
    p.validate(32, 32, 32, 8, 8)
    assert p.expert_dp == 2 * 2 * 8 // 8


@pytest.mark.parametrize("kwargs,msg", [
    (dict(vp=2), "needs schedule 'interleaved'"),
    (dict(schedule="interleaved", pp=4), "needs pp > 1 and vp > 1"),
    (dict(schedule="dualpip"), "unknown pipeline schedule 'dualpip'; known:"),
    (dict(zero=4), "zero stage"),
    (dict(fsdp=True, zero=2), "contradicts zero=2"),
    (dict(recompute="half"), "got 'half'"),
    (dict(recompute_layers=2), "needs recompute='full'"),
    (dict(tp=0), "tp must be a positive integer"),
    (dict(offload=OffloadPolicy(params="cpu")), "needs ZeRO-3"),
])
def test_construction_errors(kwargs, msg):
    """Field-level mistakes fail at construction with a readable message."""
    with pytest.raises(ValueError, match=msg):
        ParallelPlan(**kwargs)


def test_zero_stage_effective():
    """FSDP counts as ZeRO-3, the distributed optimizer as ZeRO-1 at least."""
    assert ParallelPlan(fsdp=True).zero_stage == 3
    assert ParallelPlan(distributed_optimizer=True).zero_stage == 1
    assert ParallelPlan(distributed_optimizer=True, zero=2).zero_stage == 2
    assert ParallelPlan(fsdp=True, offload=OffloadPolicy(params="nvme", optimizer="nvme")).offload.any


def test_offload_policy_checks():
    """cpu_adam needs optimizer states on the CPU; targets are checked."""
    with pytest.raises(ValueError, match="cpu_adam"):
        OffloadPolicy(cpu_adam=True)
    with pytest.raises(ValueError, match="offload.grads='disk'"):
        OffloadPolicy(grads="disk")


def test_comm_modes_follow_overlap_flags():
    """Overlap flags map to engine comm modes; unknown kinds fail."""
    p = ParallelPlan(dp_overlap=True, tp_overlap=False, pp_overlap=False)
    assert (p.comm_mode("dp"), p.comm_mode("tp"), p.comm_mode("pp")) == ("async", "blocking", "blocking")
    assert ParallelPlan(tp_overlap=True).comm_mode("tp") == "overlapped"
    with pytest.raises(ValueError, match="unknown comm kind 'nvlink'"):
        p.comm_mode("nvlink")


def test_uneven_split_spreads_layers_within_one():
    """126 layers on 16 stages (Llama 3 405B): every layer once, the first and last stage one layer short
    (as Meta ran it, Llama 3 paper sec. 3.3.2), the rest 8."""
    from sim.plan import chunk_layers, stage_layer_counts
    assert stage_layer_counts(126, 16) == [7] + [8] * 14 + [7]
    sizes = [len(chunk_layers(126, 16, 1, v)) for v in range(16)]
    assert sizes == stage_layer_counts(126, 16)
    assert [i for v in range(16) for i in chunk_layers(126, 16, 1, v)] == list(range(126))


@pytest.mark.parametrize("layout,vp", [("loop", 2), ("loop", 4), ("v", 2)])
def test_uneven_split_with_virtual_stages_keeps_each_rank_balanced(layout, vp):
    """With interleaving (or DualPipeV's V), a rank's chunks add up to its stage count and cover the model once."""
    from sim.plan import chunk_layers, stage_layer_counts
    from sim.schedules import layout_position
    pp, n = 16, 126
    per_rank = [0] * pp
    covered = []
    for v in range(pp * vp):
        r = chunk_layers(n, pp, vp, v, layout)
        per_rank[layout_position(layout, pp, vp, v)[0]] += len(r)
        covered += list(r)
    assert covered == list(range(n)) and per_rank == stage_layer_counts(n, pp)


@pytest.mark.parametrize("layers,msg", [((8,) * 15 + (7,), "summing to the 126 layers"),
                                        ((8,) * 15, "must give 16 non-negative layer counts"),
                                        ((1,) + (8,) * 14 + (13,), "at least vp=2 layers")])
def test_explicit_stage_layers_are_checked(layers, msg):
    p = ParallelPlan(tp=8, pp=16, dp=1, vp=2 if 1 in layers else 1, schedule="interleaved" if 1 in layers else "1f1b",
                     micro_batch=1, global_batch=32, stage_layers=layers)
    with pytest.raises(ValueError, match=msg):
        p.validate(128, 126, 128, 8)


def test_explicit_stage_layers_move_work_between_ranks():
    """Fewer layers on rank 0 (embedding + head there under DualPipeV) lowers its compute."""
    from sim.distributed import ClusterOptions, simulate_cluster
    base = dict(tp=1, pp=4, dp=2, vp=2, schedule="dualpipev", micro_batch=1, global_batch=16)
    even = ParallelPlan(**base)
    light = ParallelPlan(**base, stage_layers=(4, 10, 10, 8))
    r0, e0 = simulate_cluster("llama3-8b", "dgx-h100", even, ClusterOptions(seq_len=2048), gpus=8)
    r1, e1 = simulate_cluster("llama3-8b", "dgx-h100", light, ClusterOptions(seq_len=2048), gpus=8)
    assert e1.compute_work[0] < e0.compute_work[0] and e1.compute_work[1] > e0.compute_work[1]


def test_ep_overlap_hides_the_expert_all_to_all():
    """--ep-overlap turns the MoE all-to-all from blocking into overlapped comm: less exposed time."""
    from sim.distributed import ClusterOptions, simulate_cluster
    base = dict(tp=1, pp=1, dp=16, ep=8, micro_batch=1, global_batch=32)
    opts = ClusterOptions(seq_len=4096)
    a, _ = simulate_cluster("mixtral-8x7b", "dgx-h100-superpod", ParallelPlan(**base), opts, gpus=16)
    b, _ = simulate_cluster("mixtral-8x7b", "dgx-h100-superpod", ParallelPlan(**base, ep_overlap=True), opts, gpus=16)
    assert ParallelPlan(**base, ep_overlap=True).comm_mode("ep") == "overlapped"
    assert b.breakdown.get("exposed_ep_comm", 0.0) < a.breakdown.get("exposed_ep_comm", 0.0)
    assert b.step_time_s < a.step_time_s
