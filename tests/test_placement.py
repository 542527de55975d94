"""Rank placement: group sizes, strides and node footprints computed structurally."""
import pytest

from sim.placement import group_layout, plan_sizes, rank_of, strides, EXPERT_ORDER
from sim.plan import ParallelPlan

GPT3_175B = {"tp": 8, "cp": 1, "dp": 96, "pp": 16}  # MegaScale-like 12,288 GPUs


def test_strides_megatron_order():
    """TP innermost, then CP, DP, PP: stride is the product of the inner sizes."""
    st = strides({"tp": 8, "cp": 2, "dp": 4, "pp": 2}, "tp-cp-dp-pp")
    assert st == {"tp": 1, "cp": 8, "dp": 16, "pp": 64}


def test_tp_inside_node_dp_and_pp_across():
    """With 8 GPUs per node, a TP=8 group is one node; DP and PP groups put one rank per node."""
    tp = group_layout(GPT3_175B, "tp", 8)
    assert (tp.size, tp.stride, tp.num_groups, tp.ranks_per_node, tp.nodes_spanned) == (8, 1, 1536, 8, 1)
    assert tp.intra_node
    dp = group_layout(GPT3_175B, "dp", 8)
    assert (dp.size, dp.stride, dp.num_groups, dp.ranks_per_node, dp.nodes_spanned) == (96, 8, 128, 1, 96)
    pp = group_layout(GPT3_175B, "pp", 8)
    assert (pp.size, pp.stride, pp.nodes_spanned) == (16, 768, 16)


def test_small_tp_shares_node_with_dp():
    """tp=2 in 8-GPU nodes: a DP group of 16 has 4 ranks per node over 4 nodes."""
    dp = group_layout({"tp": 2, "dp": 16}, "dp", 8)
    assert (dp.stride, dp.ranks_per_node, dp.max_ranks_per_node, dp.nodes_spanned) == (2, 4, 4, 4)


def test_combined_dp_cp_group():
    """The dp-cp gradient group is contiguous above TP: size dp*cp, stride tp."""
    g = group_layout({"tp": 2, "cp": 2, "dp": 4, "pp": 2}, "dp-cp", 8)
    assert (g.size, g.stride, g.num_groups, g.ranks_per_node, g.nodes_spanned) == (8, 2, 4, 4, 2)


def test_misaligned_group_is_not_uniform():
    """tp=3 in 8-GPU nodes: group {6,7,8} straddles two nodes."""
    g = group_layout({"tp": 3, "dp": 8}, "tp", 8)
    assert not g.uniform
    assert g.nodes_spanned == 2 and g.max_ranks_per_node == 3 and g.ranks_per_node == 1


def test_expert_layout_from_plan():
    """Expert groups re-factor tp*cp*dp as etp*ep*edp; ep=8 with etp=1 stays inside a node."""
    plan = ParallelPlan(tp=2, dp=32, ep=8, etp=1, global_batch=32)
    sizes = plan_sizes(plan, expert=True)
    assert sizes == {"etp": 1, "ep": 8, "edp": 8, "pp": 1}
    ep = group_layout(sizes, "ep", 8, EXPERT_ORDER)
    assert ep.intra_node and ep.stride == 1


def test_rank_of_and_errors():
    """rank_of is the mixed-radix number; bad names and coordinates raise ValueError."""
    sizes = {"tp": 8, "dp": 4, "pp": 2}
    assert rank_of({"tp": 3, "dp": 2, "pp": 1}, sizes, "tp-dp-pp") == 3 + 2 * 8 + 1 * 32
    with pytest.raises(ValueError, match="unknown parallel dimension 'xp'"):
        group_layout(sizes, "xp", 8, "tp-dp-pp")
    with pytest.raises(ValueError, match="outside size"):
        rank_of({"tp": 8}, sizes, "tp-dp-pp")
    with pytest.raises(ValueError, match="twice"):
        strides(sizes, "tp-tp-pp")


def test_huge_cluster_is_structural():
    """A 100k-GPU DP dimension is handled from one group, not the rank list."""
    g = group_layout({"tp": 8, "dp": 12500, "pp": 1}, "tp", 8)
    assert g.num_groups == 12500 and g.intra_node
