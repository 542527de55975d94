"""Multi-head latent attention (DeepSeek-V2/V3): parameter counts, FLOPs, sharding, config import, limits."""
import json

import pytest

from workloads import build_step, get_model
from workloads.flops import model_flops_per_token
from workloads.hf_config import parse_hf_config


def test_deepseek_v3_parameter_counts_match_the_report():
    """DeepSeek-V3 technical report: 671B total, 37B activated per token (MTP module excluded)."""
    m = get_model("deepseek-v3")
    assert m.n_params == pytest.approx(671e9, rel=0.002)
    assert m.n_params_active == pytest.approx(37e9, rel=0.03)


def test_mla_attention_parameters_by_hand():
    """q down 7168x1536 + norm + up 1536x128x192; kv down 7168x576 + norm + up 512x128x256; out 128*128x7168."""
    m = get_model("deepseek-v3")
    by_hand = (7168 * 1536 + 1536 + 1536 * 128 * 192) + (7168 * 576 + 512 + 512 * 128 * 256) + 128 * 128 * 7168
    assert m.attention_params() == by_hand


def test_graph_flops_match_the_formula_and_split_over_tp():
    """Causal step FLOPs of one micro-batch = 3 x (2 x active matmul params + MLA attention) per token."""
    m = get_model("deepseek-v2-lite")
    s = 2048
    g1 = build_step(m, 1, s)
    g2 = build_step(m, 1, s, tp=2, sequence_parallel=True)
    per_token = model_flops_per_token(m, s, causal=True)
    # router and norms are not in the formula; the graph has them: within 1%
    assert g1.flops == pytest.approx(per_token * s, rel=0.01)
    attn1 = sum(o.flops for sec in g1.sections for o in sec.ops if o.kind == "attention")
    attn2 = sum(o.flops for sec in g2.sections for o in sec.ops if o.kind == "attention")
    assert attn2 == pytest.approx(attn1 / 2)


def test_sequence_parallel_gathers_the_small_latents_not_the_hidden_states():
    g = build_step("deepseek-v3", 1, 4096, tp=4, ep=4, sequence_parallel=True)
    ops = {o.name: o for sec in g.sections for o in sec.ops}
    assert "attn.latent.ag" in ops and "attn.qkv.ag" not in ops
    latent = ops["attn.latent.ag"].dims[2]
    assert latent == 4096 * (1536 + 512 + 64) * 2          # q latent + kv latent + shared rope key, bf16
    assert latent < 4096 * 7168 * 2 / 3                     # a third of gathering the hidden states


def test_hf_config_import(tmp_path):
    cfg = {"model_type": "deepseek_v3", "hidden_size": 7168, "num_hidden_layers": 61, "num_attention_heads": 128,
           "num_key_value_heads": 128, "intermediate_size": 18432, "moe_intermediate_size": 2048,
           "n_routed_experts": 256, "num_experts_per_tok": 8, "n_shared_experts": 1, "first_k_dense_replace": 3,
           "moe_layer_freq": 1, "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
           "qk_rope_head_dim": 64, "v_head_dim": 128, "vocab_size": 129280, "max_position_embeddings": 163840,
           "hidden_act": "silu", "tie_word_embeddings": False, "num_nextn_predict_layers": 1}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    m = parse_hf_config(cfg, str(path))
    assert m.n_params == get_model("deepseek-v3").n_params
    assert m.n_params_mtp == get_model("deepseek-v3").n_params_mtp > 0
    with pytest.raises(ValueError, match="missing key kv_lora_rank"):
        parse_hf_config({k: v for k, v in cfg.items() if k != "kv_lora_rank"}, str(path))


@pytest.mark.parametrize("kw,msg", [(dict(kernels="eager"), "multi-head latent attention"),
                                    (dict(cp=2), "context parallelism with multi-head latent attention")])
def test_unsupported_combinations_say_so(kw, msg):
    with pytest.raises(ValueError, match=msg):
        build_step("deepseek-v2-lite", 1, 4096, **kw)


def test_mtp_module_adds_one_layer_and_a_head_on_the_last_stage():
    """DeepSeek-V3's checkpoint holds 685B: 671B + the MTP depth (11.6B) + its copies of embedding and head."""
    m = get_model("deepseek-v3")
    assert m.n_params + m.n_params_mtp + 2 * m.vocab * m.hidden == pytest.approx(685e9, rel=0.002)
    g = build_step(m, 1, 4096, ep=64)
    names = [o.name for o in g.head.ops]
    assert "mtp0.proj" in names and "mtp0.head.logits" in names and "mtp0.attn.core" in names
