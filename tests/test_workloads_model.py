"""ModelConfig validation and parameter counts, the catalog, and config.json import."""
import json
from pathlib import Path

import pytest

from workloads import ModelConfig, get_model
from workloads.catalog import register_model
from workloads.hf_config import load_hf_config

CONFIGS = Path(__file__).resolve().parent.parent / "examples" / "configs"


def tiny(**kw) -> ModelConfig:
    """L=2, h=8, 2 heads of 4, 1 kv head, SwiGLU ffn 16, vocab 128, untied."""
    args = dict(name="tiny", n_layers=2, hidden=8, n_heads=2, n_kv_heads=1, ffn_hidden=16, vocab=128)
    return ModelConfig(**{**args, **kw})


def test_tiny_param_count_by_hand():
    """embed 128*8 + 2 layers*(norms 16 + q 64 + k 32 + v 32 + o 64 + mlp 3*8*16) + norm 8 + head 128*8."""
    m = tiny()
    assert m.n_params == 1024 + 2 * (16 + 192 + 384) + 8 + 1024 == 3240
    assert tiny(tied_embeddings=True).n_params == 3240 - 1024


def test_biases_and_layernorm_counted():
    """GELU MLP with all biases and LayerNorm beta: each bias adds its width."""
    m = tiny(activation="gelu", norm="layernorm", norm_bias=True, qkv_bias=True, out_bias=True,
             mlp_bias=True, position="learned", max_seq=4)
    layer = 2 * 16 + (8 * 16 + 16) + (64 + 8) + (2 * 8 * 16 + 16 + 8)
    assert m.n_params == 128 * 8 + 4 * 8 + 2 * layer + 16 + 128 * 8


@pytest.mark.parametrize("name, total, active", [
    ("llama3-8b", 8.03e9, None),             # Meta model card: 8.03B
    ("llama2-7b", 6.74e9, None),             # Touvron et al. 2023: 6.74B (HF count 6,738,415,616)
    ("llama2-70b", 68.98e9, None),
    ("gpt3-175b", 174.6e9, None),            # Brown et al. 2020: "175B" = 174.6B exact count
    ("mixtral-8x7b", 46.7e9, 12.9e9),        # Mistral AI: 46.7B total, 12.9B active
    ("mixtral-8x22b", 141e9, 39e9),          # Mistral AI: 141B total, 39B active
    ("qwen2-57b-a14b", 57.4e9, 14.2e9),      # Qwen2 report: 57B total, 14B active
    ("llama3-405b", 405.9e9, None),
    ("gpt2", 124.44e6, None),                # 124,439,808 (HF)
    # Narayanan 2021 Table 1 (its formula 12lh^2(1 + 13/12h + (V+s)/12lh) gives 1.65B for "1.7B")
    ("megatron-gpt-1.7b", 1.65e9, None), ("megatron-gpt-18.4b", 18.4e9, None),
    ("megatron-gpt-145.6b", 145.6e9, None), ("megatron-gpt-530b", 529.6e9, None),
    ("megatron-gpt-1t", 1008e9, None),
])
def test_published_param_counts(name, total, active):
    m = get_model(name)
    assert m.n_params == pytest.approx(total, rel=0.005 if total > 1e9 else 1e-3)
    if active:
        assert m.n_params_active == pytest.approx(active, rel=0.01)
    else:
        assert m.n_params_active == m.n_params


def test_lookup_aliases_and_case():
    assert get_model("LLaMA-3-8B") is get_model("llama3-8b")
    assert get_model("meta-llama/Llama-2-7b-hf") is get_model("llama2-7b")
    assert get_model("mt-nlg-530b").n_layers == 105


def test_unknown_model_suggests():
    with pytest.raises(ValueError, match="unknown model 'llama3-9b'.*did you mean.*llama3-8b"):
        get_model("llama3-9b")


def test_duplicate_registration_fails():
    with pytest.raises(ValueError, match="already registered"):
        register_model(get_model("gpt2"))


@pytest.mark.parametrize("kw, msg", [
    (dict(n_kv_heads=3), "n_kv_heads"),
    (dict(n_heads=3), "divide hidden"),
    (dict(hidden=0), "positive"),
    (dict(activation="swish"), "activation"),
    (dict(n_experts=4, top_k=5), "top_k"),
    (dict(top_k=2), "n_experts"),
    (dict(norm_bias=True), "RMSNorm"),
])
def test_bad_configs_raise(kw, msg):
    with pytest.raises(ValueError, match=msg):
        tiny(**kw)


def test_head_dim_given_overrides_division():
    m = tiny(n_heads=3, n_kv_heads=1, head_dim=4)
    assert m.q_dim == 12


def test_moe_layer_kinds():
    m = tiny(n_experts=4, top_k=2, n_layers=5, first_k_dense=1, moe_layer_freq=2)
    assert m.layer_kinds() == ("dense", "moe", "dense", "moe", "dense")


@pytest.mark.parametrize("file, catalog, params", [
    ("llama-3-8b.json", "llama3-8b", None),
    ("mixtral-8x7b.json", "mixtral-8x7b", None),
    ("gpt2.json", "gpt2", 124_439_808),
    ("qwen2-0.5b.json", None, 494_032_768),   # Qwen/Qwen2-0.5B: 494M
])
def test_sample_hf_configs(file, catalog, params):
    m = get_model(str(CONFIGS / file))
    if catalog:
        ref = get_model(catalog)
        assert (m.n_params, m.n_params_active, m.n_kv_heads, m.activation, m.tied_embeddings) == (
            ref.n_params, ref.n_params_active, ref.n_kv_heads, ref.activation, ref.tied_embeddings)
    if params:
        assert m.n_params == params


def test_hf_config_qwen2_moe_keys(tmp_path):
    cfg = {"model_type": "qwen2_moe", "hidden_size": 3584, "num_hidden_layers": 28,
           "num_attention_heads": 28, "num_key_value_heads": 4, "intermediate_size": 18944,
           "moe_intermediate_size": 2560, "shared_expert_intermediate_size": 20480, "num_experts": 64,
           "num_experts_per_tok": 8, "vocab_size": 151936, "tie_word_embeddings": False}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    m = load_hf_config(str(tmp_path))
    assert m.n_params == get_model("qwen2-57b-a14b").n_params


@pytest.mark.parametrize("text, msg", [
    ('{"model_type": "llama", ', "malformed JSON at line 1"),
    ('{"model_type": "llama", "hidden_size": 64}', "missing key num_attention_heads"),
    ('{"model_type": "t5", "hidden_size": 64}', "unsupported model_type 't5'"),
    ('[1, 2]', "JSON object"),
])
def test_hf_config_errors_name_file(tmp_path, text, msg):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=msg) as err:
        load_hf_config(str(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_replace_head_dim_keeps_values_as_wide_as_keys():
    """Without MLA v_head_dim follows head_dim, also through dataclasses.replace (examples derive models so)."""
    import dataclasses
    m = dataclasses.replace(get_model("llama3-8b"), head_dim=64)
    assert m.v_head_dim == 64
    with pytest.raises(ValueError, match="need multi-head latent attention"):
        dataclasses.replace(get_model("llama3-8b"), q_lora_rank=512)
