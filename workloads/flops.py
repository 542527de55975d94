"""Model-FLOP formulas used to report MFU, as the papers define them.

PaLM (Chowdhery et al. 2022, appendix B): per token 6N + 12*L*H*Q*T (H heads, Q head dim,
T sequence length). N counts the parameters that multiply activations: every layer weight
plus the LM head matrix (tied or not: the head still does its GEMM); the embedding lookup
and learned position table do no FLOPs. For MoE, N counts active parameters (top_k experts).
The 12*L*H*Q*T term counts all T^2 attention scores (non-causal), as PaLM, Megatron, NeMo
and llm-foundry's MFU do; causal=True halves it (what a causal flash kernel computes).
"""
from __future__ import annotations

from workloads.catalog import get_model
from workloads.model import ModelConfig


def matmul_params(model: ModelConfig | str, active: bool = True) -> int:
    """Parameters that take part in GEMMs per token: layers (active experts) + LM head matrix."""
    m = get_model(model)
    total = m.n_params_active if active else m.n_params
    return total - m.n_params_embedding + m.vocab * m.hidden * (1 if m.tied_embeddings else 0)


def model_flops_per_token(model: ModelConfig | str, seq_len: int, causal: bool = False) -> float:
    """PaLM MFU numerator per token: 6N + 12*L*n_heads*head_dim*seq_len (halved attention if causal);
    with MLA's wider query/key heads, 6*L*n_heads*(head_dim + v_head_dim)*seq_len."""
    m = get_model(model)
    attn = 6.0 * m.n_layers * m.n_heads * (m.head_dim + m.v_head_dim) * seq_len   # QK^T at head_dim, PV at v_head_dim
    return 6.0 * matmul_params(m) + (attn / 2 if causal else attn)


def megatron_flops_per_iteration(model: ModelConfig | str, batch: int, seq_len: int,
                                 recompute: bool = False) -> float:
    """Narayanan et al. 2021: 72*B*s*L*h^2*(1 + s/(6h) + V/(12hL)); with full recompute (their eq. 3)
    96*B*s*L*h^2*(1 + s/(6h) + V/(16hL)), the LM head not being recomputed.

    Assumes MHA and a 4h GELU MLP; counts all s^2 scores and attention backward as 2x forward.
    """
    m = get_model(model)
    b, s, L, h, V = batch, seq_len, m.n_layers, m.hidden, m.vocab
    if recompute:
        return 96.0 * b * s * L * h * h * (1 + s / (6 * h) + V / (16 * h * L))
    return 72.0 * b * s * L * h * h * (1 + s / (6 * h) + V / (12 * h * L))
