"""config.json of more families (Qwen3, Qwen3-MoE, Gemma 2, Phi-3): parameter counts against the model cards."""
import pytest

from workloads import build_step
from workloads.hf_config import parse_hf_config

QWEN3_8B = {"model_type": "qwen3", "hidden_size": 4096, "num_hidden_layers": 36, "num_attention_heads": 32,
            "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 12288, "vocab_size": 151936,
            "hidden_act": "silu", "tie_word_embeddings": False, "max_position_embeddings": 40960}
QWEN3_30B_A3B = {"model_type": "qwen3_moe", "hidden_size": 2048, "num_hidden_layers": 48, "num_attention_heads": 32,
                 "num_key_value_heads": 4, "head_dim": 128, "intermediate_size": 6144, "moe_intermediate_size": 768,
                 "num_experts": 128, "num_experts_per_tok": 8, "decoder_sparse_step": 1, "mlp_only_layers": [],
                 "vocab_size": 151936, "hidden_act": "silu", "tie_word_embeddings": False,
                 "max_position_embeddings": 40960}
GEMMA2_9B = {"model_type": "gemma2", "hidden_size": 3584, "num_hidden_layers": 42, "num_attention_heads": 16,
             "num_key_value_heads": 8, "head_dim": 256, "intermediate_size": 14336, "vocab_size": 256000,
             "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 8192}
PHI3_MINI = {"model_type": "phi3", "hidden_size": 3072, "num_hidden_layers": 32, "num_attention_heads": 32,
             "num_key_value_heads": 32, "intermediate_size": 8192, "vocab_size": 32064, "hidden_act": "silu",
             "tie_word_embeddings": False, "max_position_embeddings": 4096}


@pytest.mark.parametrize("cfg,total,active", [
    (QWEN3_8B, 8.2e9, None),            # Qwen3-8B model card: 8.2B
    (QWEN3_30B_A3B, 30.5e9, 3.3e9),     # Qwen3-30B-A3B: 30.5B total, 3.3B activated
    (PHI3_MINI, 3.8e9, None),           # Phi-3-mini: 3.8B
])
def test_param_counts(cfg, total, active):
    m = parse_hf_config(cfg, "config.json")
    assert m.n_params == pytest.approx(total, rel=0.01)
    if active:
        assert m.n_params_active == pytest.approx(active, rel=0.03)
    assert not m.tied_embeddings and m.qk_norm == cfg["model_type"].startswith("qwen3")


def test_eager_and_fused_graphs_build_for_the_new_families():
    for cfg in (QWEN3_8B, PHI3_MINI):
        m = parse_hf_config(cfg, "config.json")
        for kernels in ("eager", "fused"):
            assert build_step(m, 1, 1024, kernels=kernels).flops > 0
    moe = parse_hf_config(QWEN3_30B_A3B, "config.json")
    assert build_step(moe, 1, 1024, ep=8).flops > 0


def test_gemma2_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="soft-capping"):
        parse_hf_config(GEMMA2_9B, "config.json")


def test_qwen3_qk_norm_adds_kernels_and_memory_in_eager():
    m = parse_hf_config(QWEN3_8B, "config.json")
    plain = parse_hf_config({**QWEN3_8B, "model_type": "llama"}, "config.json")
    g, p = build_step(m, 1, 2048, kernels="eager"), build_step(plain, 1, 2048, kernels="eager")
    kernels = lambda gr: sum(o.kernels for sec in gr.sections for o in sec.ops)  # noqa: E731
    assert kernels(g) > kernels(p) and g.saved_bytes > p.saved_bytes
    assert m.n_params - plain.n_params == 36 * 2 * 128
