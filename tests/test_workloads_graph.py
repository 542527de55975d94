"""Step graph: exact FLOPs, published FLOP formulas, activations, sharding, recompute, eager vs fused."""
import networkx as nx
import pytest

from workloads import (KINDS, ModelConfig, Op, build_step, get_kind, get_model,
                       megatron_flops_per_iteration, model_flops_per_token, optimizer_ops)
from workloads.ops import OpKind, register_kind
from workloads.profiles import PROFILES, register_profile

TINY = ModelConfig(name="tiny", n_layers=2, hidden=8, n_heads=2, n_kv_heads=1, ffn_hidden=16, vocab=128)


def layer_flops(g, kind="dense", op_kind=None, phase=None):
    return sum(op.flops for op in g.layer(kind).ops
               if (op_kind is None or op.kind == op_kind) and (phase is None or op.phase == phase))


def test_tiny_flops_by_hand():
    """t=4: qkv 2*4*16*8 + proj 2*4*8*8 + fc1 2*4*32*8 + fc2 2*4*8*16 = 4608 fwd GEMM FLOPs per layer;
    attention 4*b*hq*s*s*d = 512 (non-causal); bwd GEMMs 2x, flash bwd 2.5x; head 2*4*128*8 x3."""
    g = build_step(TINY, 1, 4, causal=False)
    assert layer_flops(g, op_kind="gemm", phase="fwd") == 4608
    assert layer_flops(g, op_kind="attention", phase="fwd") == 512
    assert layer_flops(g, op_kind="gemm", phase="bwd") == 9216
    assert layer_flops(g, op_kind="attention", phase="bwd") == 1280
    assert g.total("flops", kind="gemm") + g.total("flops", kind="attention") == 2 * 15616 + 3 * 8192
    assert build_step(TINY, 1, 4, causal=True).total("flops", kind="attention") == 2 * (256 + 640)


def test_gqa_swiglu_fwd_gemm_flops_exact():
    m = get_model("llama3-8b")
    g = build_step(m, 2, 4096)
    t, h, f = 2 * 4096, m.hidden, m.ffn_hidden
    per_layer = 2 * t * (h * (m.q_dim + 2 * m.kv_dim) + m.q_dim * h + 3 * h * f)
    assert layer_flops(g, op_kind="gemm", phase="fwd") == per_layer


def test_megatron_formula_term_by_term():
    """Ops = Narayanan eq. (3) + 2*b*s^2*h per layer: flash backward recomputes QK^T (5 matmuls, not 4)."""
    m = get_model("megatron-gpt-175b")
    b, s = 2, 2048
    g = build_step(m, b, s, causal=False)
    ops = g.total("flops", kind="gemm") + g.total("flops", kind="attention")
    extra = 2 * b * s * s * m.hidden * m.n_layers
    assert ops == pytest.approx(megatron_flops_per_iteration(m, b, s) + extra, rel=1e-12)
    gemm_only = g.total("flops", kind="gemm")
    L, h, V = m.n_layers, m.hidden, m.vocab
    assert gemm_only == pytest.approx(72 * b * s * L * h * h * (1 + V / (12 * h * L)), rel=1e-12)


def test_megatron_full_recompute_formula():
    """Full recompute adds one forward of every layer: 96*BsLh^2(1 + s/6h + V/16hL) + flash extras."""
    m = get_model("megatron-gpt-22b")
    b, s = 1, 2048
    g = build_step(m, b, s, causal=False, recompute="full", tp=8)
    ops = (g.total("flops", kind="gemm") + g.total("flops", kind="attention")) * 8
    extra = 2 * b * s * s * m.hidden * m.n_layers
    assert ops == pytest.approx(megatron_flops_per_iteration(m, b, s, recompute=True) + extra, rel=1e-12)


def test_palm_6n_plus_attention():
    """Per token: GEMMs = 6 x matmul params (biases/norms aside); attention = 14/12 of PaLM's 12Lhs
    (non-causal), since the op graph counts flash backward as 2.5x forward where PaLM counts 2x."""
    m = get_model("llama3-8b")
    s = 8192
    g = build_step(m, 1, s, causal=False)
    palm_attn = 12 * m.n_layers * m.q_dim * s
    assert model_flops_per_token(m, s) - model_flops_per_token(m, s, causal=True) == palm_attn / 2
    gemm = g.total("flops", kind="gemm") / s
    assert gemm == pytest.approx(model_flops_per_token(m, s) - palm_attn, rel=1e-4)
    assert g.total("flops", kind="attention") / s == pytest.approx(palm_attn * 14 / 12, rel=1e-12)


def test_korthikanti_activations_34sbh():
    """GPT layer, dropout, no TP: 34*s*b*h bytes (Korthikanti 2022 eq. 1 minus 5as/h, removed by flash),
    plus fp32 norm stats and logsumexp; with tp=8 and SP everything divides by 8."""
    m = get_model("megatron-gpt-22b")
    b, s, h, a = 1, 2048, m.hidden, m.n_heads
    stats = 2 * 2 * s * b * 4
    g = build_step(m, b, s, dropout=True)
    assert g.layer("dense").saved_bytes == 34 * s * b * h + stats + b * a * s * 4
    g8 = build_step(m, b, s, dropout=True, tp=8)
    assert g8.layer("dense").saved_bytes == (34 * s * b * h + stats + b * a * s * 4) / 8


def test_recompute_policies():
    m = get_model("llama3-70b")
    none = build_step(m, 1, 4096, tp=8)
    full = build_step(m, 1, 4096, tp=8, recompute="full")
    sel = build_step(m, 1, 4096, tp=8, recompute="selective")
    lay_none, lay_full = none.layer("dense"), full.layer("dense")
    assert lay_full.saved_bytes == 4096 * m.hidden * 2 / 8            # the layer input, SP-sharded
    fwd = sum(op.flops for op in lay_none.fwd)
    assert sum(op.flops for op in lay_full.ops) == pytest.approx(sum(op.flops for op in lay_none.ops) + fwd)
    redo = [op for op in lay_full.bwd if op.category == "recompute"]
    assert len(redo) == len(lay_none.fwd) and lay_full.bwd[:len(redo)] == tuple(redo)
    assert lay_full.workspace_bytes >= lay_none.saved_bytes
    attn_fwd = sum(op.flops for op in lay_none.fwd if op.kind == "attention")
    assert sel.layer("dense").saved_bytes == lay_none.saved_bytes - (m.n_heads // 8) * 4096 * 4
    assert sum(op.flops for op in sel.layer("dense").ops) == sum(op.flops for op in lay_none.ops) + attn_fwd
    assert none.total("saved_bytes", category="logits_loss") == full.total("saved_bytes", category="logits_loss")


@pytest.mark.parametrize("tp, cp", [(2, 1), (8, 1), (1, 4), (2, 2)])
def test_sharding_conserves_flops(tp, cp):
    m = get_model("llama3-8b")
    ref = build_step(m, 2, 8192)
    g = build_step(m, 2, 8192, tp=tp, cp=cp)
    for kind in ("gemm", "attention"):
        assert layer_flops(g, op_kind=kind) * tp * cp == pytest.approx(layer_flops(ref, op_kind=kind), rel=1e-12)
    # Megatron pads the vocab to a multiple of 128*tp: 128256 stays for tp=2, becomes 129024 for tp=8
    padded = -(-128256 // (128 * tp)) * 128 * tp
    head = lambda g: sum(op.flops for op in g.head.ops if op.kind == "gemm")
    assert head(g) * tp * cp == pytest.approx(head(ref) * padded / 128256, rel=1e-12)
    assert g.layer("dense").params * tp == pytest.approx(ref.layer("dense").params, rel=1e-3)


def test_tp_comm_placement():
    """SP: fwd AG+RS per linear pair; bwd AG(grad), AG(input), RS(dgrad) per block. No SP: AR fwd and bwd."""
    sp = build_step("llama3-8b", 1, 4096, tp=4).layer("dense")
    colls = lambda ops: sorted(op.dims[0] for op in ops if op.kind == "comm")
    assert colls(sp.fwd) == ["all_gather"] * 2 + ["reduce_scatter"] * 2
    assert colls(sp.bwd) == ["all_gather"] * 4 + ["reduce_scatter"] * 2
    nosp = build_step("llama3-8b", 1, 4096, tp=4, sequence_parallel=False).layer("dense")
    assert colls(nosp.fwd) == colls(nosp.bwd) == ["all_reduce"] * 2
    assert all(op.dims[2] == 4096 * 4096 * 2 for op in nosp.ops if op.kind == "comm")


def test_moe_expert_parallel_conserves_and_dispatches():
    m = get_model("mixtral-8x7b")
    ref = build_step(m, 1, 4096)
    g = build_step(m, 1, 4096, ep=4)
    experts = lambda g: sum(op.flops for op in g.layer("moe").ops if op.name.startswith("moe.fc"))
    assert experts(g) == experts(ref)            # each rank: its own tokens x top_k, on E/ep experts
    grouped = next(op for op in g.layer("moe").fwd if op.name == "moe.fc1")
    assert grouped.dims == (4096 * 2 * 4 // 8, 2 * 14336, 4096, 2)
    a2a = [op for op in g.layer("moe").ops if op.kind == "comm"]
    assert [op.dims[0] for op in a2a] == ["all_to_all"] * 4 and a2a[0].dims[2] == 4096 * 2 * 4096 * 2
    assert g.layer("moe").expert_params * 4 == ref.layer("moe").expert_params
    active = ref.total("flops", kind="gemm", phase="fwd") / 4096
    assert active == pytest.approx(2 * (m.n_params_active - m.n_params_embedding), rel=2e-3)


def test_eager_more_kernels_and_bytes_than_fused():
    fused = build_step("llama3-8b", 1, 4096)
    eager = build_step("llama3-8b", 1, 4096, kernels="eager")
    assert eager.total("kernels") > 2 * fused.total("kernels")
    assert eager.total("bytes") > fused.total("bytes")
    assert eager.total("flops", kind="gemm") == fused.total("flops", kind="gemm")


def test_eager_rmsnorm_saves_fp32_input_and_bf16_output():
    g = build_step(TINY, 1, 4, kernels="eager")
    norm = next(op for op in g.layer("dense").fwd if op.name == "attn.norm")
    t, h = 4, 8
    assert norm.kernels == 8 and norm.saved_bytes == t * h * 4 + t * 4 + t * h * 2
    loss = next(op for op in g.head.fwd if op.name == "head.log_softmax")
    assert loss.saved_bytes == t * 128 * 4                       # fp32 log_softmax output


def test_full_recompute_eager_keeps_layer_input():
    g = build_step("tinyllama-1.1b", 2, 2048, kernels="eager", recompute="full")
    assert g.layer("dense").saved_bytes == 2 * 2048 * 2048 * 2


def test_optimizer_bytes_per_param():
    fused = optimizer_ops(10**6, master_weights=True)
    assert sum(op.bytes for op in fused) == 34 * 10**6          # Adam r16 w12 fp32 + bf16 copy 6
    pure = optimizer_ops(10**6, param_dtype="bf16", state_dtype="bf16", master_weights=False)
    assert sum(op.bytes for op in pure) == 14 * 10**6
    foreach = optimizer_ops(10**6, param_dtype="bf16", state_dtype="bf16", master_weights=False, fused=False)
    assert sum(op.bytes for op in foreach) > 2 * sum(op.bytes for op in pure)
    assert all(op.phase == "opt" and op.category == "optimizer" for op in foreach)


def test_networkx_order_and_dag():
    g = build_step("mixtral-8x7b", 1, 1024, ep=2, recompute="full")
    dg = g.to_networkx(optimizer_ops(10**6))
    assert nx.is_directed_acyclic_graph(dg)
    n_ops = len(g.embedding.ops) + len(g.head.ops) + sum(len(s.ops) * s.repeat for s in g.layers) + 2
    assert dg.number_of_nodes() == n_ops
    order = list(nx.topological_sort(dg))
    assert order[0] == "embed.embed.lookup" and order[-1] == "opt.adam.copy_to_model"
    assert order.index("L31.recompute.attn.norm") < order.index("L31.attn.norm.bwd")
    assert order.index("L31.attn.norm.bwd") < order.index("L30.recompute.attn.norm")


def test_layer_kinds_for_mixed_moe():
    m = ModelConfig(name="mix", n_layers=4, hidden=64, n_heads=4, ffn_hidden=128, vocab=256,
                    n_experts=4, top_k=1, first_k_dense=1)
    g = build_step(m, 1, 64)
    assert g.layer_kinds == ("dense", "moe", "moe", "moe")
    assert [(s.kind, s.repeat) for s in g.layers] == [("dense", 1), ("moe", 3)]
    assert g.params == m.n_params                                  # vocab 256 needs no padding
    assert build_step(m, 1, 64) is g                               # cached


@pytest.mark.parametrize("kw, msg", [
    (dict(kernels="xla"), "unknown kernels profile"),
    (dict(recompute="some"), "recompute must be"),
    (dict(tp=3), "divisible by tp"),
    (dict(kernels="eager", tp=2), "one unsharded"),
    (dict(kernels="eager", recompute="selective"), "Megatron"),
    (dict(ep=2), "need an MoE"),
    (dict(dtype="int4"), "dtype"),
])
def test_bad_step_arguments(kw, msg):
    with pytest.raises(ValueError, match=msg):
        build_step("llama3-8b", 1, 1024, **kw)


def test_registries_fail_loudly():
    with pytest.raises(ValueError, match="unknown op kind 'conv'"):
        get_kind("conv")
    with pytest.raises(ValueError, match="already registered"):
        register_kind(OpKind("gemm", ("m",), ""))
    with pytest.raises(ValueError, match="already registered"):
        register_profile(PROFILES["fused"])
    with pytest.raises(ValueError, match="unknown op kind"):
        Op("x", "conv", "fwd", "mlp", 0, 0, ())
    with pytest.raises(ValueError, match="phase"):
        Op("x", "memory", "step", "mlp", 0, 0, (1,))
    assert set(KINDS) == {"gemm", "attention", "memory", "comm"}


def test_fp8_step_keeps_lm_head_in_bf16():
    """Megatron's output layer sits outside TE's fp8_autocast: its GEMMs cost what they cost in a bf16
    step, while the transformer linears get faster."""
    from hardware.catalog import get_device
    from hardware.perf import profile_for
    from sim.timing import op_time
    dev = get_device("h100-sxm")
    prof = profile_for(dev)

    def times(dtype):
        g = build_step("llama3-8b", 1, 4096, dtype=dtype)
        ops = {o.name: o for sec in g.sections for o in sec.ops}
        return {n: op_time(ops[n], dev, prof, dtype).time_s for n in ("head.logits", "attn.qkv")}
    fp8, bf16 = times("fp8"), times("bf16")
    assert fp8["head.logits"] == pytest.approx(bf16["head.logits"], rel=1e-9)
    assert fp8["attn.qkv"] < 0.8 * bf16["attn.qkv"]


def test_context_parallel_ring_attention_is_load_balanced():
    """Causal CP (2*cp chunks, rank i holds i and 2cp-1-i): each rank does s_loc*s/2 score pairs, as a causal
    diagonal step plus cp-1 rectangles; timed that way it is much cheaper than one bottom-right-aligned
    s_loc x s kernel (the last rank of an unbalanced split)."""
    from hardware.catalog import get_device
    from hardware.perf import attention_time, profile_for
    from sim.timing import op_time
    from workloads.ops import attention_flops
    dev = get_device("h100-sxm")
    prof = profile_for(dev)
    s, cp, tp = 131072, 8, 4
    g = build_step("llama2-7b", 1, s, tp=tp, cp=cp, sequence_parallel=True)
    ops = [o for o in g.layers[0].ops if o.kind == "attention" and o.phase == "fwd"]
    hq, s_loc = 32 // tp, s // cp
    assert sum(o.flops for o in ops) == pytest.approx(attention_flops(1, hq, s_loc, s, 128, True, False))
    ring = sum(op_time(o, dev, prof, "bf16").time_s for o in ops)
    unbalanced = attention_time(dev, prof, 1, hq, hq, s_loc, s, 128, True).time_s
    assert ring < 0.6 * unbalanced
    assert any(o.name == "attn.cp_out_merge" for o in g.layers[0].ops)
