"""Ops of one rank for Megatron-Core + TransformerEngine kernels ("fused" profile).

Each block returns (fwd ops, bwd ops), both in execution order. What is modelled:
- TE LayerNormLinear: one norm kernel that keeps its input and stats; the linear keeps the
  (sequence-parallel local) norm output and, under SP, all-gathers it again in backward
  for the weight gradient (Korthikanti et al. 2022, sec. 4.2.2).
- Weight gradients accumulate into fp32 `main_grad` (gradient_accumulation_fusion): the
  wgrad GEMM reads and writes an fp32 C.
- Flash attention keeps q, k, v, o and the fp32 logsumexp; its dropout uses Philox and
  keeps no mask. Backward is 3 kernels (FA2: dO.O preprocess, main, dq convert) with an fp32
  dq accumulator.
- Bias-dropout-add is one fused kernel; it keeps a 1-byte mask only when dropout is on.
- Residual branches: autograd adds the two gradients of each residual stream once.
Activations saved per layer (MHA, 4h GELU, dropout, no SP): 34*s*b*h bytes, as in
Korthikanti et al. 2022 eq. (1) without its 5*a*s/h term, which flash attention removes.
"""
from __future__ import annotations

from dataclasses import replace

from workloads.ops import Op, attention, comm, gemm, memory
from workloads.shape import Shape


def linear(sh: Shape, name: str, cat: str, m: int, n: int, k: int, saved_input: float,
           batch: int = 1, high_precision: bool = False) -> tuple[Op, Op, Op]:
    """Forward, dgrad and wgrad GEMMs of Y[m,n] = X[m,k] W^T (wgrad accumulates into fp32 main_grad).

    high_precision: a linear outside TE's fp8_autocast (Megatron's LM head), bf16 even in fp8 steps."""
    g, e, dt = sh.g, sh.e, sh.gemm_dtype
    if high_precision and dt == "fp8":
        g, dt = e, "bf16"
    fwd = gemm(name, "fwd", cat, m, n, k, batch, a_bytes=g, b_bytes=g, c_bytes=e, dtype=dt,
               saved=saved_input)
    dgrad = gemm(f"{name}.dgrad", "bwd", cat, m, k, n, batch, a_bytes=g, b_bytes=g, c_bytes=e, dtype=dt)
    wgrad = gemm(f"{name}.wgrad", "bwd", cat, n, k, m, batch, a_bytes=g, b_bytes=g, c_bytes=4,
                 accumulate=True, dtype=dt, workspace=0.0)
    return fwd, dgrad, wgrad


def fp8_casts(sh: Shape, name: str, cat: str, m: int, n: int, k: int, fused_input: bool = True
              ) -> tuple[list[Op], list[Op]]:
    """Transformer Engine's FP8 casts around one linear (nothing unless the step runs fp8 GEMMs).

    fwd: the input must exist in fp8 and, for the wgrad GEMM, fp8-transposed. When the producer
    is a TE module that emits fp8 itself (LayerNormLinear, the fused activation of LayerNormMLP)
    only the transpose is written (1 B/elem); otherwise one cast-transpose kernel reads bf16 and
    writes both (2 + 2 B/elem). bwd: the output gradient is cast-transposed (2 + 2 B/elem).
    NB: amax reductions are fused into these kernels; weight casts (once per step) are ignored.
    """
    if sh.gemm_dtype != "fp8":
        return [], []
    e = sh.e
    fwd_bytes = m * k * 1 if fused_input else m * k * (e + 2)
    return ([memory(f"{name}.fp8_cast", "fwd", cat, m * k, fwd_bytes, flops=m * k)],
            [memory(f"{name}.fp8_cast_grad", "bwd", cat, m * n, m * n * (e + 2), flops=m * n)])


def norm(sh: Shape, name: str, cat: str, tokens: int) -> tuple[Op, Op, Op]:
    """Fused LayerNorm/RMSNorm fwd (keeps input + fp32 stats), its bwd, and the residual-grad add."""
    n, e, h = tokens * sh.h, sh.e, sh.h
    ln = sh.model.norm == "layernorm"
    stats = tokens * 4 * (2 if ln else 1)                    # rstd (+ mean) in fp32
    weights = h * e * (2 if sh.model.norm_bias else 1)
    fwd = memory(name, "fwd", cat, n, n * e + n * sh.g + weights + stats, flops=(8 if ln else 4) * n,
                 saved=n * e + stats, workspace=n * sh.g)
    bwd = memory(f"{name}.bwd", "bwd", cat, n, 3 * n * e + stats + 2 * weights, flops=(10 if ln else 6) * n,
                 kernels=2, workspace=n * e)                 # main kernel + dgamma partial reduction
    add = memory(f"{name}.residual_grad", "bwd", "residual", n, 3 * n * e, flops=n, workspace=n * e)
    return fwd, bwd, add


def _tp_in(sh: Shape, name: str, cat: str, high_precision: bool = False) -> tuple[list[Op], list[Op], list[Op]]:
    """Comms around a column-parallel linear: fwd AG (SP); bwd AG of input for wgrad (SP), RS/AR of dgrad."""
    size = sh.t * sh.h * sh.e
    g = sh.e if high_precision else sh.g
    if sh.tp == 1:
        return [], [], []
    if sh.sp:
        return ([comm(f"{name}.ag", "fwd", cat, "all_gather", "tp", size)],
                [comm(f"{name}.ag_input", "bwd", cat, "all_gather", "tp", sh.t * sh.h * g)],
                [comm(f"{name}.rs_dgrad", "bwd", cat, "reduce_scatter", "tp", size)])
    return [], [], [comm(f"{name}.ar_dgrad", "bwd", cat, "all_reduce", "tp", size)]


def _tp_out(sh: Shape, name: str, cat: str) -> tuple[list[Op], list[Op]]:
    """Comms after a row-parallel linear: fwd RS (SP) or AR; bwd AG of the output grad (SP)."""
    size = sh.t * sh.h * sh.e
    if sh.tp == 1:
        return [], []
    if sh.sp:
        return ([comm(f"{name}.rs", "fwd", cat, "reduce_scatter", "tp", size)],
                [comm(f"{name}.ag_grad", "bwd", cat, "all_gather", "tp", size)])
    return [comm(f"{name}.ar", "fwd", cat, "all_reduce", "tp", size)], []


def bias_dropout_add(sh: Shape, name: str, cat: str, bias: bool) -> tuple[list[Op], list[Op]]:
    """Fused (bias +) dropout + residual add; backward is a kernel only when dropout keeps a mask."""
    n, e = sh.tsp * sh.h, sh.e
    mask = n if sh.dropout else 0
    fwd = memory(name, "fwd", cat, n, 3 * n * e + mask + (sh.h * e if bias else 0), flops=2 * n,
                 saved=mask, workspace=n * e)
    if not sh.dropout:
        return [fwd], []
    return [fwd], [memory(f"{name}.bwd", "bwd", cat, n, 2 * n * e + mask, flops=n, workspace=n * e)]


def attention_block(sh: Shape, selective: bool = False) -> tuple[list[Op], list[Op]]:
    """Norm, QKV, rotary, flash attention, out-projection, bias-dropout-add (and TP/CP comms)."""
    m, t, e, d = sh.model, sh.t, sh.e, sh.d
    cat = "attention"
    nfwd, nbwd, nadd = norm(sh, "attn.norm", "norm", sh.tsp)
    ag, ag_in, rs_dgrad = _tp_in(sh, "attn.qkv", cat)
    qkv = linear(sh, "attn.qkv", cat, t, (sh.hq + 2 * sh.hkv) * d, sh.h, saved_input=sh.tsp * sh.h * sh.g)
    proj = linear(sh, "attn.proj", cat, t, sh.h, sh.hq * d, saved_input=0.0)  # input kept by attention
    out_fwd, out_bwd = _tp_out(sh, "attn.proj", cat)
    bda_fwd, bda_bwd = bias_dropout_add(sh, "attn.bda", "residual", m.out_bias)

    rope_f, rope_b = [], []
    if m.qk_norm:                     # Megatron qk_layernorm: a fused RMSNorm over each q and k head
        nqk = t * (sh.hq + sh.hkv) * d
        rows = t * (sh.hq + sh.hkv) * 4
        rope_f.append(memory("attn.qk_norm", "fwd", cat, nqk, 2 * nqk * e + rows, flops=4 * nqk, kernels=2,
                             saved=nqk * e + rows, workspace=nqk * e))
        rope_b.append(memory("attn.qk_norm.bwd", "bwd", cat, nqk, 3 * nqk * e + rows, flops=6 * nqk, kernels=4,
                             workspace=nqk * e))
    if m.position == "rope":          # TE fused rotary on q and k (2 kernels); freqs fp32 [s, d]
        n = t * (sh.hq + sh.hkv) * d
        rope_f += [memory("attn.rope", "fwd", cat, n, 2 * n * e + sh.s_loc * d * 4, flops=3 * n, kernels=2,
                          workspace=n * e)]
        rope_b = [memory("attn.rope.bwd", "bwd", cat, n, 2 * n * e + sh.s_loc * d * 4, flops=3 * n,
                         kernels=2, workspace=n * e), *rope_b]
    cp_f, cp_b = [], []
    if sh.cp > 1:                     # TE cp_comm_type="all_gather"; the p2p ring moves the same bytes
        kv = sh.b * sh.s * 2 * sh.hkv * d * e
        cp_f = [comm("attn.kv.ag", "fwd", cat, "all_gather", "cp", kv)]
        cp_b = [comm("attn.kv.ag_bwd", "bwd", cat, "all_gather", "cp", kv),
                comm("attn.dkv.rs", "bwd", cat, "reduce_scatter", "cp", kv)]
    lse = sh.b * sh.hq * sh.s_loc * 4
    qkv_o = t * (2 * sh.hq + 2 * sh.hkv) * d * e
    dims = (sh.b, sh.hq, sh.hkv, sh.s_loc, sh.s, d, sh.causal)
    # Selective recompute (Megatron core_attn) keeps q,k,v (o is kept by attn.proj) and re-runs
    # the flash forward in backward: with flash attention it only saves the logsumexp.
    if sh.attention == "unfused":
        core_f, core_bw, recompute = unfused_core(sh, selective)
        return _attention_ops(sh, nfwd, ag, qkv, rope_f, cp_f, core_f, proj, out_fwd, bda_fwd, bda_bwd, out_bwd,
                              cp_b, recompute, core_bw, rope_b, ag_in, rs_dgrad, nbwd, nadd)
    if sh.cp > 1:
        core_f, core_bw, recompute = ring_attention(sh, qkv_o + lse, selective)
        return _attention_ops(sh, nfwd, ag, qkv, rope_f, cp_f, core_f, proj, out_fwd, bda_fwd, bda_bwd, out_bwd,
                              cp_b, recompute, core_bw, rope_b, ag_in, rs_dgrad, nbwd, nadd)
    core = attention("attn.core", "fwd", cat, *dims, e=e, saved=qkv_o if selective else qkv_o + lse)
    core_b = attention("attn.core.bwd", "bwd", cat, *dims, e=e, kernels=3,
                       extra_bytes=2 * t * sh.hq * d * 4 + t * sh.hq * d * e)  # fp32 dq_accum, dO re-read
    recompute = [attention("recompute.attn.core", "bwd", "recompute", *dims, e=e,
                                 backward=False)] if selective else []

    return _attention_ops(sh, nfwd, ag, qkv, rope_f, cp_f, [core], proj, out_fwd, bda_fwd, bda_bwd, out_bwd,
                          cp_b, recompute, [core_b], rope_b, ag_in, rs_dgrad, nbwd, nadd)


def ring_attention(sh: Shape, saved: float, selective: bool) -> tuple[list[Op], list[Op], list[Op]]:
    """Context-parallel attention as Megatron/TE run it: each rank holds 2 of 2*cp sequence chunks (i and
    2cp-1-i) so causal work is balanced; cp steps of flash attention over the KV of one rank at a time.

    Step 0 is the causal diagonal (s_loc x s_loc); each of the cp-1 others is one full rectangle of
    s_loc x s_loc/2 pairs (all queries on half the keys, or half the queries on all keys): per rank
    s_loc*s/2 pairs, half of a bottom-right-aligned s_loc x s kernel. Non-causal: cp full s_loc x s_loc
    steps. Between steps the partial outputs are merged by their logsumexp (fp32 out accumulator), and in
    backward dq accumulates in fp32 while dk, dv travel the ring. KV exchange: the cp comm ops.
    """
    e, d, cat, cp = sh.e, sh.d, "attention", sh.cp
    s_loc, causal = sh.s_loc, sh.causal
    heads = (sh.b, sh.hq, sh.hkv)
    ring_kv = (cp - 1) * (s_loc // 2 if causal else s_loc)
    diag = attention("attn.core", "fwd", cat, *heads, s_loc, s_loc, d, causal, e=e,
                     saved=saved - sh.b * sh.hq * s_loc * 4 if selective else saved)
    ring = attention("attn.core.ring", "fwd", cat, *heads, s_loc, ring_kv, d, False, e=e, kernels=cp - 1)
    nq = sh.b * s_loc * sh.hq * d            # query/output elements on this rank
    nkv = sh.b * s_loc * sh.hkv * d
    merge = memory("attn.cp_out_merge", "fwd", cat, nq, (cp - 1) * nq * (e + 4 + 4) + nq * (4 + e), flops=4 * nq * cp,
                   kernels=2 * (cp - 1) + 1, workspace=nq * 4)
    extra = 2 * nq * 4 + nq * e
    diag_b = attention("attn.core.bwd", "bwd", cat, *heads, s_loc, s_loc, d, causal, e=e, kernels=3, extra_bytes=extra)
    ring_b = attention("attn.core.ring.bwd", "bwd", cat, *heads, s_loc, ring_kv, d, False, e=e, kernels=3 * (cp - 1),
                       extra_bytes=(cp - 1) * extra)
    # dq: fp32 accumulate per step; dk, dv: the partial sums received, added to, sent on (fp32 in TE)
    accum = memory("attn.cp_grad_accum", "bwd", cat, nq + 2 * nkv, (cp - 1) * (3 * nq * 4 + 3 * 2 * nkv * 4),
                   flops=(cp - 1) * (nq + 2 * nkv), kernels=2 * (cp - 1), workspace=(nq + 2 * nkv) * 4)
    recompute = []
    if selective:
        recompute = [attention("recompute.attn.core", "bwd", "recompute", *heads, s_loc, s_loc, d, causal, e=e,
                               backward=False),
                     attention("recompute.attn.core.ring", "bwd", "recompute", *heads, s_loc, ring_kv, d, False, e=e,
                               kernels=cp - 1, backward=False)]
    return [diag, ring, merge], [diag_b, ring_b, accum], recompute


def _attention_ops(sh, nfwd, ag, qkv, rope_f, cp_f, core_f, proj, out_fwd, bda_fwd, bda_bwd, out_bwd, cp_b,
                   recompute, core_b, rope_b, ag_in, rs_dgrad, nbwd, nadd) -> tuple[list[Op], list[Op]]:
    """Order the attention block's ops (fwd, bwd), with the FP8 casts when the step runs fp8."""
    t, d, cat = sh.t, sh.d, "attention"
    qkv_cf, qkv_cb = fp8_casts(sh, "attn.qkv", cat, t, (sh.hq + 2 * sh.hkv) * d, sh.h)
    proj_cf, proj_cb = fp8_casts(sh, "attn.proj", cat, t, sh.h, sh.hq * d, fused_input=False)
    fwd = [nfwd, *ag, *qkv_cf, qkv[0], *rope_f, *cp_f, *core_f, *proj_cf, proj[0], *out_fwd, *bda_fwd]
    bwd = [*bda_bwd, *out_bwd, *proj_cb, proj[1], proj[2], *cp_b[:1], *recompute, *core_b, *cp_b[1:], *rope_b,
           *ag_in, *qkv_cb, qkv[1], *rs_dgrad, qkv[2], nbwd, nadd]
    return fwd, bwd


def unfused_core(sh: Shape, selective: bool) -> tuple[list[Op], list[Op], list[Op]]:
    """Megatron's attention before flash attention: QK^T bmm, fused scale-mask-softmax, dropout, AV bmm.

    Keeps Q, K (for QK^T), the softmax output, the dropout mask and output, V: 5*a*s^2*b bytes per
    layer beyond the s*b*h terms (Korthikanti et al. 2022, eq. 1). NB: the full s x s scores are
    computed even when causal (the mask is applied in the softmax). Selective recompute
    (Korthikanti sec. 5) keeps only Q, K, V and re-runs this forward in backward.
    """
    e, d, cat = sh.e, sh.d, "attention"
    bh = sh.b * sh.hq                      # batched heads on this rank
    sq, skv = sh.s_loc, sh.s
    n = bh * sq * skv                      # score elements
    qkv_bytes = sh.t * (sh.hq + 2 * sh.hkv) * d * e
    mask = n if sh.dropout else 0
    s2_saved = n * e + mask + (n * e if sh.dropout else 0)     # softmax out, dropout mask, dropout out
    qk = gemm("attn.qk", "fwd", cat, sq, skv, d, bh, a_bytes=e, b_bytes=e, c_bytes=e, weight=False,
              saved=0.0 if selective else qkv_bytes)
    sm = memory("attn.softmax", "fwd", cat, n, 2 * n * e, flops=5 * n, saved=0.0 if selective else s2_saved,
                workspace=n * e)
    drop = [memory("attn.dropout", "fwd", cat, n, 2 * n * e + mask, flops=n, workspace=n * e)] if sh.dropout else []
    av = gemm("attn.av", "fwd", cat, sq, d, skv, bh, a_bytes=e, b_bytes=e, c_bytes=e, weight=False)
    fwd = [qk, sm, *drop, av]
    bwd = [gemm("attn.av.dgrad_p", "bwd", cat, sq, skv, d, bh, a_bytes=e, b_bytes=e, c_bytes=e, weight=False),
           gemm("attn.av.dgrad_v", "bwd", cat, skv, d, sq, bh, a_bytes=e, b_bytes=e, c_bytes=e, weight=False)]
    if sh.dropout:
        bwd.append(memory("attn.dropout.bwd", "bwd", cat, n, 2 * n * e + mask, flops=n, workspace=n * e))
    bwd += [memory("attn.softmax.bwd", "bwd", cat, n, 3 * n * e, flops=4 * n, workspace=n * e),
            gemm("attn.qk.dgrad_q", "bwd", cat, sq, d, skv, bh, a_bytes=e, b_bytes=e, c_bytes=e, weight=False),
            gemm("attn.qk.dgrad_k", "bwd", cat, skv, d, sq, bh, a_bytes=e, b_bytes=e, c_bytes=e, weight=False)]
    recompute = [replace(op, name=f"recompute.{op.name}", phase="bwd", category="recompute", saved_bytes=0.0)
                 for op in fwd] if selective else []
    if selective:
        fwd = [replace(fwd[0], saved_bytes=qkv_bytes), *fwd[1:]]
    return fwd, bwd, recompute


def mlp_ops(sh: Shape, prefix: str, cat: str, ffn_local: int, bias: bool) -> tuple[list[Op], list[Op]]:
    """Column-parallel fc1 (2 branches if gated), fused activation, row-parallel fc2, with TP comms."""
    m, t, e, g = sh.model, sh.t, sh.e, sh.g
    n1 = (2 if m.gated else 1) * ffn_local
    ag, ag_in, rs_dgrad = _tp_in(sh, f"{prefix}.fc1", cat)
    fc1 = linear(sh, f"{prefix}.fc1", cat, t, n1, sh.h, saved_input=sh.tsp * sh.h * g)
    fc2 = linear(sh, f"{prefix}.fc2", cat, t, sh.h, ffn_local, saved_input=t * ffn_local * g)
    out_fwd, out_bwd = _tp_out(sh, f"{prefix}.fc2", cat)
    a_in, a_out = t * n1, t * ffn_local
    bias_b = n1 * e if bias else 0
    act = memory(f"{prefix}.act", "fwd", cat, a_in, a_in * e + a_out * e + bias_b, flops=8 * a_out,
                 saved=a_in * e, workspace=a_out * e)
    act_b = memory(f"{prefix}.act.bwd", "bwd", cat, a_in, a_out * e + 2 * a_in * e, flops=12 * a_out,
                   workspace=a_in * e)
    fc1_cf, fc1_cb = fp8_casts(sh, f"{prefix}.fc1", cat, t, n1, sh.h)
    fc2_cf, fc2_cb = fp8_casts(sh, f"{prefix}.fc2", cat, t, sh.h, ffn_local)
    fwd = [*ag, *fc1_cf, fc1[0], act, *fc2_cf, fc2[0], *out_fwd]
    bwd = [*out_bwd, *fc2_cb, fc2[1], fc2[2], act_b, *ag_in, *fc1_cb, fc1[1], *rs_dgrad, fc1[2]]
    return fwd, bwd


def mlp_block(sh: Shape) -> tuple[list[Op], list[Op]]:
    """Norm, dense MLP and bias-dropout-add of one layer."""
    nfwd, nbwd, nadd = norm(sh, "mlp.norm", "norm", sh.tsp)
    f, b = mlp_ops(sh, "mlp", "mlp", sh.f, sh.model.mlp_bias)
    bda_fwd, bda_bwd = bias_dropout_add(sh, "mlp.bda", "residual", sh.model.mlp_bias)
    return [nfwd, *f, *bda_fwd], [*bda_bwd, *b, nbwd, nadd]


def embedding(sh: Shape) -> tuple[list[Op], list[Op]]:
    """Vocab-parallel embedding lookup (+ learned positions), its TP reduction, and dense weight grad."""
    m, t, h, e = sh.model, sh.t, sh.h, sh.e
    cat = "embedding"
    n = t * h
    # mask ids outside this rank's vocab shard, gather rows, zero masked rows (4 kernels)
    fwd = [memory("embed.lookup", "fwd", cat, n, t * 8 * 3 + 2 * n * e + n * e, kernels=4, workspace=n * e)]
    # embedding_dense_backward: zero the bf16 grad table, sort ids (radix sort), segment-sum
    # rows in fp32, then add into the fp32 main_grad (read grad + main_grad, write main_grad).
    table = sh.v * h
    bwd = [memory("embed.grad", "bwd", cat, n, table * e + t * 8 * 8 + n * (e + 4 + 4) + table * (e + 8),
                  kernels=8, workspace=table * e)]
    if m.position == "learned":
        fwd.append(memory("embed.pos", "fwd", cat, n, 2 * n * e + n * e, kernels=2))
        pos = m.n_positions * h
        bwd.append(memory("embed.pos.grad", "bwd", cat, n, pos * e + n * e * 2 + pos * (e + 8), kernels=5))
    if sh.tp > 1:
        col = "reduce_scatter" if sh.sp else "all_reduce"
        fwd.append(comm("embed." + ("rs" if sh.sp else "ar"), "fwd", cat, col, "tp", n * e))
        if sh.sp:
            bwd.insert(0, comm("embed.ag_grad", "bwd", cat, "all_gather", "tp", n * e))
    if sh.dropout:
        k = sh.tsp * h
        fwd.append(memory("embed.dropout", "fwd", cat, k, 2 * k * e + k, saved=k))
        bwd.insert(0, memory("embed.dropout.bwd", "bwd", cat, k, 2 * k * e + k))
    return fwd, bwd


def head(sh: Shape) -> tuple[list[Op], list[Op]]:
    """Final norm, vocab-parallel LM head GEMM and Megatron's vocab-parallel cross entropy (fp32)."""
    t, v, e = sh.t, sh.v, sh.e
    nfwd, nbwd, _ = norm(sh, "head.norm", "norm", sh.tsp)
    ag, ag_in, rs_dgrad = _tp_in(sh, "head.logits", "logits_loss", high_precision=True)
    # Megatron-Core's output layer is its own ColumnParallelLinear, outside TE's fp8_autocast (which
    # wraps the transformer block only): the LM head GEMMs run in bf16 in fp8 training.
    lm = linear(sh, "head.logits", "logits_loss", t, v, sh.h, saved_input=sh.tsp * sh.h * sh.e,
                high_precision=True)
    nl = t * v
    # Megatron-Core vocab_parallel_cross_entropy (cross_entropy_loss_fusion off, its default):
    # .float() (r2 w4), max (r4), x -= max (r4 w4), exp in place (r4 w4), sum (r4), /= sum
    # (r4 w4), plus target gathers; keeps the fp32 softmax for backward.
    ce = memory("head.loss", "fwd", "logits_loss", nl, nl * (6 + 4 + 8 + 8 + 4 + 8) + t * 32, flops=6 * nl,
                kernels=10, saved=nl * 4, workspace=nl * (e + 4))
    # backward: softmax[target] -= 1, *= grad (in place r4 w4), .float() backward to bf16 (r4 w2)
    ce_b = memory("head.loss.bwd", "bwd", "logits_loss", nl, nl * (8 + 6) + t * 16, flops=2 * nl, kernels=3,
                  workspace=nl * e)
    ce_comm = [comm(f"head.loss.ar{i}", "fwd", "logits_loss", "all_reduce", "tp", t * 4)
               for i in range(3)] if sh.tp > 1 else []       # max, predicted logit, sum of exp
    fwd = [nfwd, *ag, lm[0], ce, *ce_comm]
    bwd = [ce_b, *ag_in, lm[1], *rs_dgrad, lm[2], nbwd]
    return fwd, bwd


def attention_for(sh: Shape, selective: bool = False) -> tuple[list[Op], list[Op]]:
    """The model's attention block: multi-head latent attention (DeepSeek) or the usual one."""
    if sh.model.mla:
        from workloads.layers_mla import attention_block as mla_block
        return mla_block(sh, selective)
    return attention_block(sh, selective)


def dense_layer(sh: Shape, selective: bool = False) -> tuple[list[Op], list[Op]]:
    """One dense transformer layer: attention block then MLP block (bwd in reverse)."""
    af, ab = attention_for(sh, selective)
    mf, mb = mlp_block(sh)
    return af + mf, mb + ab
