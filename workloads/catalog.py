"""Registry of published architectures, each with its source, and `get_model` to look one up.

Names are case-insensitive; a path to a Hugging Face `config.json` (or a folder holding
one) is parsed by `workloads.hf_config` instead.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import replace

from workloads.model import ModelConfig

MODELS: dict[str, ModelConfig] = {}
_ALIASES: dict[str, str] = {}


def _key(name: str) -> str:
    return str(name).strip().lower().replace("_", "-").replace(" ", "-")


def register_model(model: ModelConfig) -> ModelConfig:
    """Add `model` (and its aliases) to the registry; a name already taken is an error."""
    for name in (model.name, *model.aliases):
        key = _key(name)
        if key in MODELS or key in _ALIASES:
            raise ValueError(f"model name {name!r} is already registered")
    MODELS[_key(model.name)] = model
    for alias in model.aliases:
        _ALIASES[_key(alias)] = _key(model.name)
    return model


def known_models() -> tuple[str, ...]:
    """Registered model names (without aliases), sorted."""
    return tuple(sorted(MODELS))


def _looks_like_path(name: str) -> bool:
    return name.endswith(".json") or os.path.isdir(name) or os.path.isfile(name)


def get_model(name_or_path: str | ModelConfig) -> ModelConfig:
    """Catalog entry by (case-insensitive) name or alias, or a ModelConfig parsed from a config.json path."""
    if isinstance(name_or_path, ModelConfig):
        return name_or_path
    name = str(name_or_path)
    key = _key(name)
    key = _ALIASES.get(key, key)
    if key in MODELS:
        return MODELS[key]
    tail = key.rsplit("/", 1)[-1]
    if "/" in key and (tail in MODELS or tail in _ALIASES) and not _looks_like_path(name):
        return get_model(tail)                          # "meta-llama/Llama-2-7b-hf" style hub ids
    if _looks_like_path(name):
        from workloads.hf_config import load_hf_config
        return load_hf_config(name)
    close = difflib.get_close_matches(key, [*MODELS, *_ALIASES], n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ValueError(f"unknown model {name!r}{hint}; known: {', '.join(known_models())}")


def _gpt(name, n_layers, hidden, n_heads, vocab, max_seq, source, aliases=(), **kw) -> ModelConfig:
    """GPT-2/3 and Megatron GPT: LayerNorm, GELU MLP of 4h, learned positions, biases, tied head."""
    return ModelConfig(name=name, n_layers=n_layers, hidden=hidden, n_heads=n_heads,
                       ffn_hidden=4 * hidden, vocab=vocab, activation="gelu", norm="layernorm",
                       position="learned", tied_embeddings=True, qkv_bias=True, out_bias=True,
                       mlp_bias=True, norm_bias=True, max_seq=max_seq, aliases=aliases,
                       source=source, **kw)


def _mpt(name, n_layers, hidden, n_heads, aliases=()) -> ModelConfig:
    """MosaicML MPT: ALiBi, LayerNorm without bias, no linear biases, GELU MLP of 4h, tied."""
    # vocab 50368: llm-foundry scripts/train/yamls/pretrain/mpt-*.yaml and the benchmarking
    # README (validation/published_runs.csv); the released HF checkpoints pad it to 50432.
    return ModelConfig(name=name, n_layers=n_layers, hidden=hidden, n_heads=n_heads,
                       ffn_hidden=4 * hidden, vocab=50368, activation="gelu", norm="layernorm",
                       position="alibi", tied_embeddings=True, max_seq=2048, aliases=aliases,
                       source="mosaicml/llm-foundry scripts/train/yamls/pretrain/" + name + ".yaml")


def _llama(name, n_layers, hidden, n_heads, n_kv_heads, ffn_hidden, vocab, max_seq, source,
           aliases=(), **kw) -> ModelConfig:
    """Llama family: RMSNorm, SwiGLU, RoPE, no biases."""
    return ModelConfig(name=name, n_layers=n_layers, hidden=hidden, n_heads=n_heads,
                       n_kv_heads=n_kv_heads, ffn_hidden=ffn_hidden, vocab=vocab,
                       max_seq=max_seq, aliases=aliases, source=source, **kw)


def _opt(name, n_layers, hidden, n_heads) -> ModelConfig:
    """Meta OPT: LayerNorm, ReLU MLP of 4h, learned positions (+2 offset rows), biases, tied."""
    return ModelConfig(name=name, n_layers=n_layers, hidden=hidden, n_heads=n_heads,
                       ffn_hidden=4 * hidden, vocab=50272, activation="relu", norm="layernorm",
                       position="learned", tied_embeddings=True, qkv_bias=True, out_bias=True,
                       mlp_bias=True, norm_bias=True, max_seq=2048, n_positions=2050,
                       aliases=(f"facebook/{name}",),
                       source=f"HF facebook/{name} config.json; Zhang et al. 2022 (OPT) Table 1")


_MLM21 = "Narayanan et al. 2021 (Megatron-LM PTD-P) Table 1; vocab 51200, seq 2048"
_MLM22 = "Korthikanti et al. 2022 (selective recompute) Table 3; vocab 51200, seq 2048"

for _m in (
    # --- GPT-2 / GPT-3 ---
    _gpt("gpt2", 12, 768, 12, 50257, 1024, "HF openai-community/gpt2 config.json (124M)",
         aliases=("gpt2-124m", "openai-community/gpt2")),
    _gpt("gpt3-175b", 96, 12288, 96, 50257, 2048, "Brown et al. 2020 (GPT-3) Table 2.1",
         aliases=("gpt-3", "gpt3")),
    # --- Megatron GPT family (Narayanan et al. 2021 Table 1; Korthikanti et al. 2022) ---
    _gpt("megatron-gpt-1.7b", 24, 2304, 24, 51200, 2048, _MLM21),
    _gpt("megatron-gpt-3.6b", 30, 3072, 32, 51200, 2048, _MLM21),
    _gpt("megatron-gpt-7.5b", 36, 4096, 32, 51200, 2048, _MLM21),
    _gpt("megatron-gpt-18.4b", 40, 6144, 48, 51200, 2048, _MLM21),
    _gpt("megatron-gpt-22b", 48, 6144, 64, 51200, 2048, _MLM22),
    _gpt("megatron-gpt-39.1b", 48, 8192, 64, 51200, 2048, _MLM21),
    _gpt("megatron-gpt-76.1b", 60, 10240, 80, 51200, 2048, _MLM21),
    _gpt("megatron-gpt-145.6b", 80, 12288, 96, 51200, 2048, _MLM21),
    _gpt("megatron-gpt-175b", 96, 12288, 96, 51200, 2048, _MLM22),
    _gpt("megatron-gpt-310.1b", 96, 16384, 128, 51200, 2048, _MLM21),
    _gpt("megatron-gpt-530b", 105, 20480, 128, 51200, 2048, _MLM22,
         aliases=("megatron-gpt-529.6b", "mt-nlg-530b")),
    _gpt("megatron-gpt-1t", 128, 25600, 160, 51200, 2048, _MLM22, aliases=("megatron-gpt-1008b",)),
    # NeMo 2.0 nemo/collections/llm/gpt/model/base.py GPTConfig5B / GPTConfig20B; vocab: GPT-2
    # BPE 50257 padded to a multiple of 128 (NeMo make_vocab_size_divisible_by=128) -> 50304.
    _gpt("nemo-gpt3-5b", 24, 4096, 32, 50304, 2048, "NeMo GPTConfig5B", aliases=("gpt3-5b",)),
    _gpt("nemo-gpt3-20b", 44, 6144, 48, 50304, 2048, "NeMo GPTConfig20B", aliases=("gpt3-20b",)),
    # --- MPT (llm-foundry yamls) ---
    _mpt("mpt-1b", 24, 2048, 16), _mpt("mpt-3b", 32, 2560, 20), _mpt("mpt-7b", 32, 4096, 32),
    _mpt("mpt-13b", 40, 5120, 40), _mpt("mpt-30b", 48, 7168, 56), _mpt("mpt-70b", 80, 8192, 64),
    # --- Llama 2 (Touvron et al. 2023; HF meta-llama/Llama-2-*-hf config.json) ---
    _llama("llama2-7b", 32, 4096, 32, 32, 11008, 32000, 4096, "HF meta-llama/Llama-2-7b-hf",
           aliases=("llama-2-7b", "llama-2-7b-hf")),
    _llama("llama2-13b", 40, 5120, 40, 40, 13824, 32000, 4096, "HF meta-llama/Llama-2-13b-hf",
           aliases=("llama-2-13b", "llama-2-13b-hf")),
    _llama("llama2-70b", 80, 8192, 64, 8, 28672, 32000, 4096, "HF meta-llama/Llama-2-70b-hf",
           aliases=("llama-2-70b", "llama-2-70b-hf")),
    # --- Llama 3 / 3.1 / 3.2 (HF meta-llama/* config.json; vocab 128256) ---
    _llama("llama3-8b", 32, 4096, 32, 8, 14336, 128256, 8192, "HF meta-llama/Meta-Llama-3-8B",
           aliases=("llama-3-8b", "meta-llama-3-8b", "llama3.1-8b", "llama-3.1-8b")),
    _llama("llama3-70b", 80, 8192, 64, 8, 28672, 128256, 8192, "HF meta-llama/Meta-Llama-3-70B",
           aliases=("llama-3-70b", "meta-llama-3-70b", "llama3.1-70b", "llama-3.1-70b")),
    _llama("llama3-405b", 126, 16384, 128, 8, 53248, 128256, 131072, "HF meta-llama/Llama-3.1-405B",
           aliases=("llama3.1-405b", "llama-3.1-405b")),
    _llama("llama3.2-1b", 16, 2048, 32, 8, 8192, 128256, 131072, "HF meta-llama/Llama-3.2-1B",
           aliases=("llama-3.2-1b",), tied_embeddings=True, head_dim=64),
    _llama("llama3.2-3b", 28, 3072, 24, 8, 8192, 128256, 131072, "HF meta-llama/Llama-3.2-3B",
           aliases=("llama-3.2-3b",), tied_embeddings=True, head_dim=128),
    _llama("tinyllama-1.1b", 22, 2048, 32, 4, 5632, 32000, 2048,
           "HF TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T", aliases=("tinyllama",)),
    # --- MoE ---
    _llama("mixtral-8x7b", 32, 4096, 32, 8, 14336, 32000, 32768, "HF mistralai/Mixtral-8x7B-v0.1",
           aliases=("mixtral-8x7b-v0.1",), n_experts=8, top_k=2),
    # vocab 32768 per mistralai/Mixtral-8x22B-v0.1 (the mistral-community conversion has 32000).
    _llama("mixtral-8x22b", 56, 6144, 48, 8, 16384, 32768, 65536, "HF mistralai/Mixtral-8x22B-v0.1",
           aliases=("mixtral-8x22b-v0.1",), n_experts=8, top_k=2),
    _llama("qwen2-57b-a14b", 28, 3584, 28, 4, 18944, 151936, 32768, "HF Qwen/Qwen2-57B-A14B",
           qkv_bias=True, n_experts=64, top_k=8, moe_ffn_hidden=2560, n_shared_experts=1,
           shared_ffn_hidden=20480, shared_expert_gate=True),
    # Qwen3 MoE (HF Qwen/Qwen3-30B-A3B and Qwen/Qwen3-235B-A22B config.json; Qwen3 technical report Table 2):
    # per-head q/k RMSNorm, 128 experts, 8 active, no shared expert, every layer MoE, head dim 128, untied.
    _llama("qwen3-30b-a3b", 48, 2048, 32, 4, 6144, 151936, 40960, "HF Qwen/Qwen3-30B-A3B",
           head_dim=128, qk_norm=True, n_experts=128, top_k=8, moe_ffn_hidden=768),
    _llama("qwen3-235b-a22b", 94, 4096, 64, 4, 12288, 151936, 40960, "HF Qwen/Qwen3-235B-A22B",
           head_dim=128, qk_norm=True, n_experts=128, top_k=8, moe_ffn_hidden=1536),
    # Nemotron-4 340B (Nvidia 2024 tech report Table 1; HF nvidia/Nemotron-4-340B-Base):
    # squared-ReLU MLP, LayerNorm (layernorm1p, with bias), RoPE, no linear biases, untied.
    # DeepSeek-V3 (HF deepseek-ai/DeepSeek-V3 config.json; DeepSeek-V3 technical report): MLA, 61 layers, the
    # first 3 dense, then DeepSeekMoE with 1 shared + 256 routed experts of 2048, 8 active. 671B parameters,
    # 37B active (the report's counts); one multi-token-prediction depth (report sec. 2.2), counted apart
    # (n_params_mtp, 11.6B; the checkpoint's 685B adds its copies of the shared embedding and head).
    _llama("deepseek-v3", 61, 7168, 128, 128, 18432, 129280, 163840, "HF deepseek-ai/DeepSeek-V3 config.json",
           aliases=("deepseek-v3-base", "deepseek-r1"), head_dim=192, n_experts=256, top_k=8, moe_ffn_hidden=2048,
           n_shared_experts=1, first_k_dense=3, kv_lora_rank=512, q_lora_rank=1536, qk_rope_head_dim=64,
           v_head_dim=128, mtp_depth=1),
    # DeepSeek-V2-Lite (HF deepseek-ai/DeepSeek-V2-Lite): MLA without query compression, 15.7B / 2.4B active.
    _llama("deepseek-v2-lite", 27, 2048, 16, 16, 10944, 102400, 163840, "HF deepseek-ai/DeepSeek-V2-Lite config.json",
           head_dim=192, n_experts=64, top_k=6, moe_ffn_hidden=1408, n_shared_experts=2, first_k_dense=1,
           kv_lora_rank=512, qk_rope_head_dim=64, v_head_dim=128),
    # Nemotron-3 8B / 22B as NeMo benchmarks them (NeMo 2.0 nemo/collections/llm/gpt/model/nemotron.py
    # Nemotron3Config8B/22B; NeMo-Framework-Launcher conf/training/nemotron/nemotron_{8b,22b}.yaml):
    # same block as Nemotron-4 (squared ReLU, layernorm1p, RoPE, no biases), MHA. NB vocab 256000 is
    # the Nemotron SentencePiece tokenizer's (Nemotron-4 15B report); the configs leave the tokenizer out.
    ModelConfig(name="nemotron-8b", n_layers=32, hidden=4096, n_heads=32, ffn_hidden=16384, vocab=256000,
                activation="relu2", norm="layernorm", norm_bias=True, max_seq=4096,
                source="NeMo Nemotron3Config8B", aliases=("nemotron3-8b",)),
    ModelConfig(name="nemotron-22b", n_layers=40, hidden=6144, n_heads=48, ffn_hidden=24576, vocab=256000,
                activation="relu2", norm="layernorm", norm_bias=True, max_seq=4096,
                source="NeMo Nemotron3Config22B", aliases=("nemotron3-22b",)),
    ModelConfig(name="nemotron-4-15b", n_layers=32, hidden=6144, n_heads=48, n_kv_heads=8, ffn_hidden=24576,
                vocab=256000, activation="relu2", norm="layernorm", norm_bias=True, max_seq=4096,
                source="NeMo Nemotron4Config15B; Nemotron-4 15B report (vocab 256000)", aliases=("nemotron-15b",)),
    ModelConfig(name="nemotron-4-340b", n_layers=96, hidden=18432, n_heads=96, n_kv_heads=8,
                ffn_hidden=73728, vocab=256000, activation="relu2", norm="layernorm",
                norm_bias=True, max_seq=4096, source="Nemotron-4 340B tech report Table 1"),
    # --- OPT (ZeRO / MeZO papers) ---
    _opt("opt-13b", 40, 5120, 40), _opt("opt-30b", 48, 7168, 56), _opt("opt-175b", 96, 12288, 96),
):
    register_model(_m)
del _m


def with_changes(model: ModelConfig | str, **changes) -> ModelConfig:
    """A copy of a catalog model with some fields changed (e.g. a longer max_seq)."""
    return replace(get_model(model), **changes)
