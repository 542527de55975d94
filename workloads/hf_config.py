"""Read a Hugging Face `config.json` into a ModelConfig: parsed as JSON, never executed.

Field names differ between model families (`n_embd` in GPT-2, `hidden_size` elsewhere);
an alias table maps each onto one canonical name, and per-`model_type` defaults supply
what the family's config class would (e.g. GPT-2 ties its embeddings by default).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from workloads.model import ModelConfig

# canonical name -> keys tried in order
ALIASES: dict[str, tuple[str, ...]] = {
    "hidden": ("hidden_size", "n_embd", "d_model"),
    "n_layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "n_heads": ("num_attention_heads", "n_head"),
    "n_kv_heads": ("num_key_value_heads", "num_kv_heads", "n_kv_head"),
    "head_dim": ("head_dim",),
    "ffn_hidden": ("intermediate_size", "n_inner", "ffn_dim"),
    "vocab": ("vocab_size",),
    "max_seq": ("max_position_embeddings", "n_positions", "max_seq_len"),
    "act": ("hidden_act", "hidden_activation", "activation_function"),
    "tied": ("tie_word_embeddings",),
    "n_experts": ("num_local_experts", "num_experts", "n_routed_experts"),
    "top_k": ("num_experts_per_tok", "moe_top_k"),
    "moe_ffn": ("moe_intermediate_size",),
    "shared_ffn": ("shared_expert_intermediate_size",),
    "moe_freq": ("decoder_sparse_step",),
}


@dataclass(frozen=True)
class Family:
    """How one `model_type` builds its layers, where its config.json is silent."""

    norm: str
    position: str
    gated: bool           # llama-style gate/up/down MLP
    tied: bool            # the family config class's default for tie_word_embeddings
    bias: bool            # linear layers carry biases
    norm_bias: bool
    qkv_bias: bool = False
    ffn_default_4h: bool = False
    position_offset: int = 0


FAMILIES: dict[str, Family] = {
    "llama": Family("rmsnorm", "rope", True, False, False, False),
    "mistral": Family("rmsnorm", "rope", True, False, False, False),
    "mixtral": Family("rmsnorm", "rope", True, False, False, False),
    "qwen2": Family("rmsnorm", "rope", True, False, False, False, qkv_bias=True),
    "qwen2_moe": Family("rmsnorm", "rope", True, False, False, False, qkv_bias=True),
    "gpt2": Family("layernorm", "learned", False, True, True, True, ffn_default_4h=True),
    "opt": Family("layernorm", "learned", False, True, True, True, position_offset=2),
    "gpt_neox": Family("layernorm", "rope", False, False, True, True),
    # Qwen3 (per-head q/k RMSNorms), Gemma (GeGLU, tied; NB the sqrt(h) embedding scale is not modelled), Phi-3
    # (fused qkv and gate_up in HF: modelled as separate GEMMs), StarCoder2.
    "qwen3": Family("rmsnorm", "rope", True, False, False, False),
    "qwen3_moe": Family("rmsnorm", "rope", True, False, False, False),
    "gemma": Family("rmsnorm", "rope", True, True, False, False),
    "gemma2": Family("rmsnorm", "rope", True, True, False, False),    # refused in parse_hf_config (soft-capping)
    "phi3": Family("rmsnorm", "rope", True, False, False, False),
    "starcoder2": Family("layernorm", "rope", False, True, True, True),
    "deepseek_v2": Family("rmsnorm", "rope", True, False, False, False),
    "deepseek_v3": Family("rmsnorm", "rope", True, False, False, False),
}
DEEPSEEK = ("deepseek_v2", "deepseek_v3")

# hidden_act / activation_function -> (activation for a gated MLP, for a plain MLP)
_ACTS = {
    "silu": ("swiglu", None), "swish": ("swiglu", None),
    "gelu": ("geglu", "gelu"), "gelu_new": ("geglu", "gelu"), "gelu_fast": ("geglu", "gelu"),
    "gelu_pytorch_tanh": ("geglu", "gelu"), "quick_gelu": ("geglu", "gelu"),
    "relu": (None, "relu"), "relu2": (None, "relu2"),
}


class _Reader:
    """Look up canonical fields in one parsed config, naming the file in every error."""

    def __init__(self, path: str, cfg: dict):
        self.path, self.cfg = path, cfg

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.path}: {problem}")

    def get(self, field: str, default=None, required: bool = False):
        for key in ALIASES.get(field, (field,)):
            if self.cfg.get(key) is not None:
                return self.cfg[key]
        if required:
            raise self.fail(f"missing key {' / '.join(ALIASES.get(field, (field,)))}")
        return default

    def int(self, field: str, default=None, required: bool = False):
        value = self.get(field, default, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{field} must be an integer, got {value!r}")
        return value


def _read_json(path: str) -> dict:
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: "
                         f"{err.msg}") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    return cfg


def parse_hf_config(cfg: dict, path: str = "<config>") -> ModelConfig:
    """ModelConfig from an already-parsed config.json dict; `path` only names it in errors."""
    r = _Reader(path, cfg)
    model_type = cfg.get("model_type")
    if model_type not in FAMILIES:
        raise r.fail(f"unsupported model_type {model_type!r}; supported: {', '.join(FAMILIES)}")
    fam = FAMILIES[model_type]
    hidden = r.int("hidden", required=True)
    n_heads = r.int("n_heads", required=True)
    ffn = r.int("ffn_hidden", 4 * hidden if fam.ffn_default_4h else None, required=not fam.ffn_default_4h)
    act_name = str(r.get("act", "silu" if fam.gated else "gelu")).lower()
    if act_name not in _ACTS or _ACTS[act_name][0 if fam.gated else 1] is None:
        raise r.fail(f"unsupported activation {act_name!r} for model_type {model_type}")
    activation = _ACTS[act_name][0 if fam.gated else 1]
    bias = bool(cfg.get("enable_bias", cfg.get("use_bias", cfg.get("attention_bias", fam.bias))))
    if model_type == "opt" and cfg.get("word_embed_proj_dim", hidden) != hidden:
        raise r.fail("OPT with word_embed_proj_dim != hidden_size (project_in/out) is not supported")
    max_seq = r.int("max_seq", 2048)
    kw = {"qk_norm": True} if model_type in ("qwen3", "qwen3_moe") else {}
    if model_type == "gemma2":
        raise r.fail("gemma2: attention logit soft-capping (Hugging Face runs it with eager s x s attention) and "
                     "sliding-window layers are not modelled")
    head_dim = r.int("head_dim")
    n_kv_heads = r.int("n_kv_heads")
    if model_type in DEEPSEEK:   # multi-head latent attention and DeepSeekMoE
        rope, nope = r.int("qk_rope_head_dim", required=True), r.int("qk_nope_head_dim", required=True)
        head_dim, n_kv_heads = rope + nope, n_heads
        kw.update(kv_lora_rank=r.int("kv_lora_rank", required=True), q_lora_rank=r.int("q_lora_rank", 0) or 0,
                  qk_rope_head_dim=rope, v_head_dim=r.int("v_head_dim", required=True),
                  mtp_depth=r.int("num_nextn_predict_layers", 0) or 0)
        n_routed = r.int("n_experts", 0)
        if n_routed:
            kw.update(n_experts=n_routed, top_k=r.int("top_k", required=True), moe_ffn_hidden=r.int("moe_ffn", ffn),
                      n_shared_experts=r.int("n_shared_experts", 0), moe_layer_freq=r.int("moe_layer_freq", 1),
                      first_k_dense=r.int("first_k_dense_replace", 0))
    n_experts = r.int("n_experts", 0) if model_type in ("mixtral", "qwen2_moe", "qwen3_moe") else 0
    if n_experts:
        kw.update(n_experts=n_experts, top_k=r.int("top_k", required=True),
                  moe_ffn_hidden=r.int("moe_ffn", ffn), moe_layer_freq=r.int("moe_freq", 1))
        shared = r.int("shared_ffn", 0)
        if shared:
            kw.update(n_shared_experts=1, shared_ffn_hidden=shared, shared_expert_gate=True)
        dense_layers = sorted(cfg.get("mlp_only_layers") or [])
        if dense_layers != list(range(len(dense_layers))):
            raise r.fail("mlp_only_layers must be a prefix 0..k-1 of the layers to be supported")
        kw["first_k_dense"] = len(dense_layers)
    try:
        return ModelConfig(
            name=str(cfg.get("_name_or_path") or os.path.basename(os.path.dirname(os.path.abspath(path)))
                     or model_type),
            n_layers=r.int("n_layers", required=True), hidden=hidden, n_heads=n_heads,
            n_kv_heads=n_kv_heads, head_dim=head_dim, ffn_hidden=ffn,
            vocab=r.int("vocab", required=True), activation=activation, norm=fam.norm,
            position=fam.position, tied_embeddings=bool(r.get("tied", fam.tied)),
            qkv_bias=bias or fam.qkv_bias or bool(cfg.get("qkv_bias", False)), out_bias=bias,
            mlp_bias=bool(cfg.get("mlp_bias", bias)), norm_bias=fam.norm_bias, max_seq=max_seq,
            n_positions=(max_seq + fam.position_offset) if fam.position == "learned" else None,
            source=f"config.json {path}", **kw)
    except ValueError as err:
        raise r.fail(str(err)) from None


def load_hf_config(path: str) -> ModelConfig:
    """ModelConfig from a config.json file (or a folder holding one); ValueError names file and problem."""
    return parse_hf_config(_read_json(path), path)
