"""Ops of one rank for Hugging Face transformers in PyTorch eager ("eager" profile).

Models LlamaForCausalLM (transformers v4.48+ / v5) with attn_implementation="sdpa" and bf16
weights, kernel by kernel, with the tensors autograd really keeps:
- LlamaRMSNorm: to(fp32), pow, mean, add eps, rsqrt, mul, to(bf16), mul weight (8 kernels);
  keeps the fp32 input, rsqrt (fp32, per token) and the bf16 normalized tensor; the linear
  after it keeps the norm output as well.
- q_proj, k_proj, v_proj and gate_proj, up_proj are separate GEMMs.
- rotary: q*cos + rotate_half(q)*sin with rotate_half = cat(-x2, x1): mul, neg, cat, mul,
  add for q and for k; mul keeps q and rotate_half(q). cos/sin come once per forward (fp32,
  then cast), in the embedding section.
- GQA: integrations/sdpa_attention.py passes enable_gqa=True (torch >= 2.5 and no
  attention mask, which holds for causal training without padding), so repeat_kv makes no
  copy. The flash backward (FA2 code) writes dk, dv expanded to all query heads and sums
  them per group. The output transpose(1, 2).contiguous() copies nothing: flash already
  writes [b, s, h, d].
- SiLU keeps its input; the gate*up mul keeps both inputs; down_proj keeps the product.
- loss (loss_utils.ForCausalLMLoss): logits.float(), log_softmax (keeps its fp32 output),
  nll_loss; backward writes a dense fp32 grad of the logits.
Other families in eager reuse this layout with a native LayerNorm (one kernel) and one
activation kernel. NB: GPT-2's python gelu_new (8 kernels) and fused c_attn are not modelled.
Weight grads are bf16 (no fp32 main_grad); accumulating them over micro-batches is not modelled.
"""
from __future__ import annotations


from workloads.ops import Op, attention, chain, gemm, memory
from workloads.shape import Shape


def _linear(sh: Shape, name: str, cat: str, m: int, n: int, k: int, saved_input: float) -> tuple[Op, Op, Op]:
    """nn.Linear in bf16: fwd, dgrad, wgrad (bf16 weight grad written, not accumulated)."""
    e = sh.e
    return (gemm(name, "fwd", cat, m, n, k, a_bytes=e, b_bytes=e, c_bytes=e, dtype=sh.dtype, saved=saved_input),
            gemm(f"{name}.dgrad", "bwd", cat, m, k, n, a_bytes=e, b_bytes=e, c_bytes=e, dtype=sh.dtype),
            gemm(f"{name}.wgrad", "bwd", cat, n, k, m, a_bytes=e, b_bytes=e, c_bytes=e, dtype=sh.dtype))


def norm(sh: Shape, name: str, cat: str, rows: int | None = None, width: int | None = None,
         rms: bool = False) -> tuple[Op, Op]:
    """Eager RMSNorm (HF LlamaRMSNorm, fp32 upcast) or native LayerNorm: fwd and bwd ops; `rows` x `width`
    default to tokens x hidden (`rms`: RMSNorm whatever the model's layer norm is)."""
    t, h, e = rows or sh.t, width or sh.h, sh.e
    n = t * h
    if sh.model.norm == "layernorm" and not rms:   # torch native_layer_norm: 1 fwd kernel, 2 bwd kernels
        w = h * e * (2 if sh.model.norm_bias else 1)
        return (memory(name, "fwd", cat, n, 2 * n * e + w + 8 * t, flops=8 * n, saved=n * e + 8 * t,
                       workspace=n * e),
                memory(f"{name}.bwd", "bwd", cat, n, 3 * n * e + 8 * t + 2 * w, flops=10 * n, kernels=2,
                       workspace=n * e))
    cast = e != 4                        # to(float32) / to(bf16) are no-ops for fp32 inputs
    fwd = ([(n * e, n * 4)] if cast else []) + [
        (n * 4, n * 4),                  # pow(2)
        (n * 4, t * 4),                  # mean(-1)
        (t * 4, t * 4),                  # + eps
        (t * 4, t * 4),                  # rsqrt
        (n * 4 + t * 4, n * 4),          # x * rsqrt
    ] + ([(n * 4, n * e)] if cast else []) + [(n * e + h * e, n * e)]   # to(bf16), weight *
    saved = n * 4 + t * 4 + n * e        # fp32 input, rsqrt, bf16 normalized (kept by weight *)
    bwd = [
        (n * e + h * e, n * e),          # grad * weight
        (2 * n * e, n * e), (n * e, h * e),   # grad * x_norm, sum over tokens -> grad weight
    ] + ([(n * e, n * 4)] if cast else []) + [   # to(bf16) backward
        (n * 4 + t * 4, n * 4),          # grad * rsqrt
        (2 * n * 4, n * 4), (n * 4, t * 4),   # (grad * x).sum(-1) -> grad rsqrt
        (2 * t * 4, t * 4),              # rsqrt backward
        (t * 4, n * 4),                  # mean backward: expand / h
        (n * 4, n * 4), (2 * n * 4, n * 4),   # pow backward: 2 * x, * grad
        (2 * n * 4, n * 4),              # sum the two grads of the fp32 input
    ] + ([(n * 4, n * e)] if cast else [])       # to(fp32) backward
    return (chain(name, "fwd", cat, n, fwd, saved=saved), chain(f"{name}.bwd", "bwd", cat, n, bwd))


def _add(name: str, phase: str, cat: str, n: int, e: int) -> Op:
    return memory(name, phase, cat, n, 3 * n * e, flops=n, workspace=n * e)


def _rope(sh: Shape, which: str, heads: int) -> tuple[Op, Op]:
    """apply_rotary_pos_emb on q or k: x*cos + rotate_half(x)*sin (5 kernels), and its backward (9)."""
    e, n = sh.e, sh.t * heads * sh.d
    cs = sh.t * sh.d * e                 # cos / sin [b, s, d], broadcast over heads
    fwd = [(n * e + cs, n * e), (n * e / 2, n * e / 2), (n * e, n * e), (n * e + cs, n * e), (2 * n * e, n * e)]
    bwd = [(n * e + cs, n * e),          # grad * sin
           (n * e / 2, n * e / 2),       # neg backward (cat backward is views)
           (0, n * e), (n * e / 2, n * e / 2), (0, n * e), (n * e / 2, n * e / 2),  # 2 slice backwards
           (n * e + cs, n * e),          # grad * cos
           (2 * n * e, n * e), (2 * n * e, n * e)]  # sum the 3 grads of x
    # NB: saves nothing of size n. PyTorch's autograd saves an input of mul only when the *other*
    # input requires grad; cos/sin do not, so x*cos and rotate_half(x)*sin keep only cos and sin
    # (shared by all layers). Checked on H100: saving x and rotate_half(x) over-predicted the peak
    # memory of Llama-3.2-1B (b=4, s=2048) by 1.25 GiB (data/measured/2026-11-23_h100).
    return (chain(f"attn.rope_{which}", "fwd", "attention", n, fwd, flops_per_element=1, saved=0.0),
            chain(f"attn.rope_{which}.bwd", "bwd", "attention", n, bwd))


def attention_block(sh: Shape) -> tuple[list[Op], list[Op]]:
    """Norm, q/k/v projections, rotary, SDPA flash, o_proj, residual add."""
    m, t, h, e, d = sh.model, sh.t, sh.h, sh.e, sh.d
    cat, n = "attention", t * h
    if m.position == "alibi":
        raise ValueError("eager profile: ALiBi needs an attention bias, which SDPA's flash kernel lacks; "
                         "use kernels='fused'")
    if m.mla:
        raise ValueError("eager profile: multi-head latent attention (DeepSeek) is not modelled; use kernels='fused'")
    nf, nb = norm(sh, "attn.norm", "norm")
    q = _linear(sh, "attn.q_proj", cat, t, sh.hq * d, h, saved_input=n * e)
    k = _linear(sh, "attn.k_proj", cat, t, sh.hkv * d, h, saved_input=0.0)   # same input as q_proj
    v = _linear(sh, "attn.v_proj", cat, t, sh.hkv * d, h, saved_input=0.0)
    o = _linear(sh, "attn.o_proj", cat, t, h, sh.hq * d, saved_input=0.0)    # input kept by sdpa
    nq, nkv = t * sh.hq * d, t * sh.hkv * d
    dims = (sh.b, sh.hq, sh.hkv, sh.s, sh.s, d, sh.causal)
    lse = sh.b * sh.hq * sh.s * 4
    core = attention("attn.sdpa", "fwd", cat, *dims, e=e, saved=(2 * nq + 2 * nkv) * e + lse)
    gqa = 0 if sh.hq == sh.hkv else 2 * nq * e + 2 * nq * e + 2 * nkv * e   # expanded dk, dv + group sum
    core_b = attention("attn.sdpa.bwd", "bwd", cat, *dims, e=e, kernels=3 + (2 if gqa else 0),
                       extra_bytes=2 * nq * 4 + nq * e + gqa)
    rope_f, rope_b = [], []
    if m.qk_norm:   # Qwen3: q_norm / k_norm, LlamaRMSNorm over each head before rotary
        (qnf, qnb), (knf, knb) = norm(sh, "attn.q_norm", cat, t * sh.hq, d, rms=True), \
            norm(sh, "attn.k_norm", cat, t * sh.hkv, d, rms=True)
        rope_f, rope_b = [qnf, knf], [knb, qnb]
    if m.position == "rope":
        (rqf, rqb), (rkf, rkb) = _rope(sh, "q", sh.hq), _rope(sh, "k", sh.hkv)
        rope_f, rope_b = [*rope_f, rqf, rkf], [rkb, rqb, *rope_b]
    add = _add("attn.residual", "fwd", "residual", n, e)
    grads_x = memory("attn.qkv.grad_add", "bwd", cat, n, 2 * 3 * n * e, flops=2 * n, kernels=2)
    fwd = [nf, q[0], k[0], v[0], *rope_f, core, o[0], add]
    bwd = [o[1], o[2], core_b, *rope_b, v[1], v[2], k[1], k[2], q[1], q[2], grads_x, nb,
           _add("attn.residual_grad", "bwd", "residual", n, e)]
    return fwd, bwd


def mlp_block(sh: Shape) -> tuple[list[Op], list[Op]]:
    """Norm, gate/up projections, SiLU and mul (or one activation), down projection, residual add."""
    m, t, h, e, f = sh.model, sh.t, sh.h, sh.e, sh.f
    cat, n, nf_ = "mlp", t * h, t * f
    nf, nb = norm(sh, "mlp.norm", "norm")
    down = _linear(sh, "mlp.down_proj", cat, t, h, f, saved_input=nf_ * e)
    add = _add("mlp.residual", "fwd", "residual", n, e)
    res_b = _add("mlp.residual_grad", "bwd", "residual", n, e)
    if m.gated:
        gate = _linear(sh, "mlp.gate_proj", cat, t, f, h, saved_input=n * e)
        up = _linear(sh, "mlp.up_proj", cat, t, f, h, saved_input=0.0)
        act = memory("mlp.act", "fwd", cat, nf_, 2 * nf_ * e, flops=4 * nf_, saved=nf_ * e, workspace=nf_ * e)
        mul = memory("mlp.mul", "fwd", cat, nf_, 3 * nf_ * e, flops=nf_, saved=2 * nf_ * e, workspace=nf_ * e)
        mul_b = memory("mlp.mul.bwd", "bwd", cat, nf_, 6 * nf_ * e, flops=2 * nf_, kernels=2, workspace=2 * nf_ * e)
        act_b = memory("mlp.act.bwd", "bwd", cat, nf_, 3 * nf_ * e, flops=6 * nf_, workspace=nf_ * e)
        grads_x = memory("mlp.grad_add", "bwd", cat, n, 3 * n * e, flops=n)
        fwd = [nf, gate[0], up[0], act, mul, down[0], add]
        bwd = [down[1], down[2], mul_b, up[1], up[2], act_b, gate[1], gate[2], grads_x, nb, res_b]
        return fwd, bwd
    fc1 = _linear(sh, "mlp.fc1", cat, t, f, h, saved_input=n * e)
    act = memory("mlp.act", "fwd", cat, nf_, 2 * nf_ * e, flops=8 * nf_, saved=nf_ * e, workspace=nf_ * e)
    act_b = memory("mlp.act.bwd", "bwd", cat, nf_, 3 * nf_ * e, flops=12 * nf_, workspace=nf_ * e)
    return [nf, fc1[0], act, down[0], add], [down[1], down[2], act_b, fc1[1], fc1[2], nb, res_b]


def dense_layer(sh: Shape, selective: bool = False) -> tuple[list[Op], list[Op]]:
    """One HF decoder layer (LlamaDecoderLayer layout)."""
    if selective:
        raise ValueError("selective recompute is a Megatron feature; the eager (HF) profile supports "
                         "recompute='none' or 'full' (gradient checkpointing)")
    af, ab = attention_block(sh)
    mf, mb = mlp_block(sh)
    return af + mf, mb + ab


def embedding(sh: Shape) -> tuple[list[Op], list[Op]]:
    """nn.Embedding lookup (+ learned positions, + rotary cos/sin once) and embedding_dense_backward."""
    m, t, h, e = sh.model, sh.t, sh.h, sh.e
    n, table, cat = t * h, sh.v * h, "embedding"
    fwd = [memory("embed.lookup", "fwd", cat, n, t * 8 + 2 * n * e, workspace=n * e)]
    # zero the bf16 grad table, radix-sort ids, fp32 segment sums, write rows
    bwd = [memory("embed.grad", "bwd", cat, n, table * e + t * 8 * 8 + n * (e + 8) + n * e, kernels=8,
                  workspace=table * e)]
    if m.position == "rope":           # LlamaRotaryEmbedding: inv_freq @ positions, cat, cos, sin, *scale, casts
        c = sh.b * sh.s * m.head_dim
        fwd.append(chain("embed.rope_cos_sin", "fwd", cat, c,
                         [(c * 2, c * 2)] + [(c * 4, c * 4)] * 5 + [(c * 4, c * e)] * 2))
    if m.position == "learned":
        fwd.append(memory("embed.pos", "fwd", cat, n, 2 * n * e + 3 * n * e, kernels=2))
        pos = m.n_positions * h
        bwd.append(memory("embed.pos.grad", "bwd", cat, n, pos * e + 2 * n * e + t * 64, kernels=6))
    return fwd, bwd


def head(sh: Shape) -> tuple[list[Op], list[Op]]:
    """Final norm, lm_head, logits.float(), log_softmax + nll_loss, and their backward kernels."""
    m, t, h, e, v = sh.model, sh.t, sh.h, sh.e, sh.v
    nl, cat = t * v, "logits_loss"
    nf, nb = norm(sh, "head.norm", "norm")
    lm = _linear(sh, "head.lm_head", cat, t, v, h, saved_input=t * h * e)
    # Three ops, not one chain, so each kernel is timed with its own kind of memory kernel.
    upcast = memory("head.logits_float", "fwd", cat, nl, nl * (e + 4), workspace=nl * (e + 4))
    log_softmax = memory("head.log_softmax", "fwd", cat, nl, nl * 8, flops=3 * nl, saved=nl * 4,
                         workspace=nl * (e + 4))    # bf16 logits (held by the output) + fp32 input
    nll = chain("head.nll_loss", "fwd", cat, t, [(t * 12, 4), (4, 4)])   # gather + reduce, / num_items
    nll_b = chain("head.nll_loss.bwd", "bwd", cat, nl, [(0, nl * 4), (t * 12, t * 4)])  # zeros + scatter
    # Live beside the saved fp32 log-probs while log_softmax_backward runs: the fp32 grad of the
    # log-probs and the fp32 grad of the logits (8 B/elem). The bf16 grad is made only after both
    # fp32 log-prob tensors are freed, so it never adds to that peak.
    log_softmax_b = memory("head.log_softmax.bwd", "bwd", cat, nl, nl * 12, flops=2 * nl, workspace=nl * 8)
    upcast_b = memory("head.logits_float.bwd", "bwd", cat, nl, nl * (4 + e), workspace=nl * (4 + e))
    loss_b = [nll_b, log_softmax_b, upcast_b]
    bwd = [*loss_b, lm[1], lm[2], nb]
    if m.tied_embeddings:              # lm_head and embedding share a leaf: autograd sums the two grads
        bwd.append(memory("head.tied_grad_add", "bwd", cat, v * h, 3 * v * h * e))
    return [nf, lm[0], upcast, log_softmax, nll], bwd
