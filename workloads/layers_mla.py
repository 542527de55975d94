"""Multi-head latent attention (DeepSeek-V2/V3) as Megatron-Core + Transformer Engine run it ("fused").

Per layer: input RMSNorm; down-projections of the (sequence-parallel local) tokens to the query latent
(q_lora_rank) and to the KV latent plus one shared rotary key (kv_lora_rank + qk_rope_head_dim),
duplicated on every TP rank; with SP the small latents, not the hidden states, are all-gathered; RMSNorm
of each latent; column-parallel up-projections to the local heads (queries of head_dim = nope + rope,
keys' nope part and values of v_head_dim); rotary on the rope parts; flash attention; row-parallel output
projection. Without q_lora_rank (DeepSeek-V2-Lite) queries come straight from the hidden states.

NB: the attention kernel is timed with one head width, (head_dim + v_head_dim)/2, which gives its exact
FLOPs (QK^T at head_dim, PV at v_head_dim); the TP all-reduce of the duplicated down-projection grads
(once per step) is left out; context parallelism with MLA is not modelled.
"""
from __future__ import annotations

from workloads.layers_fused import _tp_in, _tp_out, bias_dropout_add, fp8_casts, linear, norm
from workloads.ops import Op, attention, comm, memory
from workloads.shape import Shape


def _latent_norm(sh: Shape, name: str, tokens: int, width: int) -> tuple[Op, Op]:
    """RMSNorm over a latent (fused TE kernel): keeps its input and fp32 rstd; writes the GEMM input."""
    n, e = tokens * width, sh.e
    fwd = memory(name, "fwd", "attention", n, n * e + n * sh.g + width * e + tokens * 4, flops=4 * n,
                 saved=n * e + tokens * 4, workspace=n * sh.g)
    bwd = memory(f"{name}.bwd", "bwd", "attention", n, 3 * n * e + tokens * 4 + 2 * width * e, flops=6 * n,
                 kernels=2, workspace=n * e)
    return fwd, bwd


def attention_block(sh: Shape, selective: bool = False) -> tuple[list[Op], list[Op]]:
    """MLA block of one rank: norm, latents, up-projections, rotary, flash attention, out-projection."""
    m, t, e, g = sh.model, sh.t, sh.e, sh.g
    if sh.cp > 1:
        raise ValueError("context parallelism with multi-head latent attention is not modelled; use cp=1")
    if sh.attention != "flash":
        raise ValueError("multi-head latent attention is modelled with flash attention only")
    cat, heads, dq, dv, rope = "attention", sh.hq, m.head_dim, m.v_head_dim, m.qk_rope_head_dim
    ql, kl = m.q_lora_rank, m.kv_lora_rank
    nfwd, nbwd, nadd = norm(sh, "attn.norm", "norm", sh.tsp)
    fwd: list[Op] = [nfwd]
    bwd: list[Op] = []
    # down-projections on the local tokens (SP) or all tokens (duplicated), latents gathered under SP
    ts = sh.tsp
    down_out = kl + rope + (ql if ql else 0)
    kv_down = linear(sh, "attn.kv_down", cat, ts, kl + rope, sh.h, saved_input=ts * sh.h * g)
    parts = [("attn.kv_down", kv_down, kl + rope)]
    if ql:
        parts.insert(0, ("attn.q_down", linear(sh, "attn.q_down", cat, ts, ql, sh.h, saved_input=0.0), ql))
    for name, lin, n_out in parts:
        cf, cb = fp8_casts(sh, name, cat, ts, n_out, sh.h)
        fwd += [*cf, lin[0]]
        bwd = [*cb, lin[1], lin[2]] + bwd
    if sh.sp:
        latent = t * down_out * e
        fwd.append(comm("attn.latent.ag", "fwd", cat, "all_gather", "tp", latent))
        bwd.insert(0, comm("attn.latent.rs_grad", "bwd", cat, "reduce_scatter", "tp", latent))
    # latent norms and up-projections to the local heads
    kvn_f, kvn_b = _latent_norm(sh, "attn.kv_norm", t, kl)
    kv_up = linear(sh, "attn.kv_up", cat, t, heads * (dq - rope + dv), kl, saved_input=t * kl * g)
    kvu_cf, kvu_cb = fp8_casts(sh, "attn.kv_up", cat, t, heads * (dq - rope + dv), kl)
    up_f, up_b = [kvn_f, *kvu_cf, kv_up[0]], [*kvu_cb, kv_up[1], kv_up[2], kvn_b]
    if ql:
        qn_f, qn_b = _latent_norm(sh, "attn.q_norm", t, ql)
        q_up = linear(sh, "attn.q_up", cat, t, heads * dq, ql, saved_input=t * ql * g)
        qu_cf, qu_cb = fp8_casts(sh, "attn.q_up", cat, t, heads * dq, ql)
        up_f = [qn_f, *qu_cf, q_up[0], *up_f]
        up_b = [*up_b, *qu_cb, q_up[1], q_up[2], qn_b]
    else:   # queries straight from the (gathered) hidden states, a column-parallel linear
        ag, ag_in, rs_dgrad = _tp_in(sh, "attn.q", cat)
        q = linear(sh, "attn.q", cat, t, heads * dq, sh.h, saved_input=0.0)
        q_cf, q_cb = fp8_casts(sh, "attn.q", cat, t, heads * dq, sh.h)
        up_f = [*ag, *q_cf, q[0], *up_f]
        up_b = [*up_b, *ag_in, *q_cb, q[1], *rs_dgrad, q[2]]
    fwd += up_f
    bwd = up_b + bwd
    # rotary on the rope parts of q and of the shared key; keys assembled per head (nope | rope)
    nq, nk, nv = t * heads * dq, t * heads * dq, t * heads * dv
    nr = t * (heads + 1) * rope
    rope_f = memory("attn.rope", "fwd", cat, nr, 2 * nr * e, flops=3 * nr, kernels=2, workspace=nr * e)
    kcat_f = memory("attn.k_assemble", "fwd", cat, nk, nk * e + t * heads * (dq - rope) * e + t * rope * e,
                    workspace=nk * e)
    rope_b = memory("attn.rope.bwd", "bwd", cat, nr, 2 * nr * e, flops=3 * nr, kernels=2, workspace=nr * e)
    kcat_b = memory("attn.k_assemble.bwd", "bwd", cat, nk, nk * e + t * heads * (dq - rope) * e + t * heads * rope * e,
                    flops=t * heads * rope, workspace=nk * e)   # the rope-key grad sums over heads
    # flash attention (exact FLOPs with the mean head width) and the output projection
    d_eff = (dq + dv) // 2
    lse = sh.b * heads * sh.s_loc * 4
    saved = (nq + nk + 2 * nv) * e + lse
    dims = (sh.b, heads, heads, sh.s_loc, sh.s, d_eff, sh.causal)
    core = attention("attn.core", "fwd", cat, *dims, e=e, saved=saved - lse if selective else saved, mixed_width=True)
    core_b = attention("attn.core.bwd", "bwd", cat, *dims, e=e, kernels=3, extra_bytes=2 * nq * 4 + nv * e,
                       mixed_width=True)
    recompute = ([attention("recompute.attn.core", "bwd", "recompute", *dims, e=e, backward=False, mixed_width=True)]
                 if selective else [])
    proj = linear(sh, "attn.proj", cat, t, sh.h, heads * dv, saved_input=0.0)   # its input (o) is kept by attention
    pr_cf, pr_cb = fp8_casts(sh, "attn.proj", cat, t, sh.h, heads * dv, fused_input=False)
    out_fwd, out_bwd = _tp_out(sh, "attn.proj", cat)
    bda_fwd, bda_bwd = bias_dropout_add(sh, "attn.bda", "residual", m.out_bias)
    fwd += [rope_f, kcat_f, core, *pr_cf, proj[0], *out_fwd, *bda_fwd]
    bwd = [*bda_bwd, *out_bwd, *pr_cb, proj[1], proj[2], *recompute, core_b, kcat_b, rope_b] + bwd + [nbwd, nadd]
    return fwd, bwd
