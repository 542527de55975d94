"""Architecture of a decoder-only transformer (dense or MoE): sizes only, no training settings.

`ModelConfig` holds what a Hugging Face `config.json` or a paper's table gives; the
parameter counts here are exact (embeddings, norms and biases included), so they can be
checked against the published totals.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ACTIVATIONS = ("swiglu", "geglu", "gelu", "relu", "relu2")
GATED = ("swiglu", "geglu")      # two input projections (gate, up): fc1 has 2 * ffn outputs
NORMS = ("rmsnorm", "layernorm")
POSITIONS = ("rope", "learned", "alibi")


def _choice(name: str, value: str, known: tuple[str, ...]) -> None:
    if value not in known:
        raise ValueError(f"{name} must be one of {', '.join(known)}; got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """One transformer architecture; sizes in elements, counts exact."""

    name: str
    n_layers: int
    hidden: int
    n_heads: int
    ffn_hidden: int                   # dense MLP inner size (per branch for gated MLPs)
    vocab: int
    n_kv_heads: int | None = None     # None -> n_heads (MHA); fewer -> GQA/MQA
    head_dim: int | None = None       # None -> hidden // n_heads
    activation: str = "swiglu"
    norm: str = "rmsnorm"
    position: str = "rope"
    tied_embeddings: bool = False
    qkv_bias: bool = False
    out_bias: bool = False            # attention output projection bias
    mlp_bias: bool = False
    norm_bias: bool = False           # LayerNorm beta (RMSNorm has none)
    max_seq: int = 2048
    n_positions: int | None = None    # rows of a learned position table; None -> max_seq (OPT: max_seq + 2)
    # --- mixture of experts (n_experts == 0: dense) ---
    n_experts: int = 0
    top_k: int = 0
    moe_ffn_hidden: int | None = None     # per routed expert; None -> ffn_hidden
    n_shared_experts: int = 0
    shared_ffn_hidden: int | None = None  # per shared expert; None -> moe_ffn_hidden
    shared_expert_gate: bool = False      # Qwen2-MoE: sigmoid(Linear(h, 1)) scales the shared expert
    moe_layer_freq: int = 1               # every k-th layer (after first_k_dense) is MoE
    first_k_dense: int = 0                # the first k layers use the dense MLP
    capacity_factor: float | None = None  # None: dropless routing
    # --- multi-head latent attention (DeepSeek-V2/V3; kv_lora_rank == 0: ordinary attention) ---
    kv_lora_rank: int = 0                 # compressed KV latent width (plus qk_rope_head_dim shared rope key)
    q_lora_rank: int = 0                  # compressed query width; 0: queries projected directly from h
    qk_rope_head_dim: int = 0             # rotary part of each query/key head (head_dim = nope + rope)
    v_head_dim: int | None = None         # value head width; None -> head_dim
    qk_norm: bool = False                 # RMSNorm over each query and key head (Qwen3, OLMo 2)
    # --- multi-token prediction (DeepSeek-V3): extra modules predicting token i+1+k, trained with the model ---
    mtp_depth: int = 0
    aliases: tuple[str, ...] = field(default=(), compare=False)
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("model name must not be empty")
        for key in ("n_layers", "hidden", "n_heads", "ffn_hidden", "vocab", "max_seq"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"model {self.name}: {key} must be a positive integer, got {value!r}")
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("norm", self.norm, NORMS)
        _choice("position", self.position, POSITIONS)
        if self.n_kv_heads is None:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        if self.n_kv_heads <= 0 or self.n_heads % self.n_kv_heads:
            raise ValueError(f"model {self.name}: n_kv_heads ({self.n_kv_heads}) must be positive "
                             f"and divide n_heads ({self.n_heads})")
        if self.head_dim is None:
            if self.hidden % self.n_heads:
                raise ValueError(f"model {self.name}: n_heads ({self.n_heads}) must divide hidden "
                                 f"({self.hidden}) unless head_dim is given")
            object.__setattr__(self, "head_dim", self.hidden // self.n_heads)
        if self.head_dim <= 0:
            raise ValueError(f"model {self.name}: head_dim must be positive, got {self.head_dim}")
        if self.norm == "rmsnorm" and self.norm_bias:
            raise ValueError(f"model {self.name}: RMSNorm has no bias; set norm_bias=False")
        if self.n_positions is None:
            object.__setattr__(self, "n_positions", self.max_seq if self.position == "learned" else 0)
        if self.v_head_dim is None or not self.mla:   # without MLA values are as wide as keys (also after
            object.__setattr__(self, "v_head_dim", self.head_dim)   # dataclasses.replace changes head_dim)
        self._check_mla()
        self._check_moe()

    def _check_mla(self) -> None:
        for key in ("kv_lora_rank", "q_lora_rank", "qk_rope_head_dim", "v_head_dim", "mtp_depth"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"model {self.name}: {key} must be a non-negative integer, got {v!r}")
        if not self.mla:
            if self.q_lora_rank or self.qk_rope_head_dim:
                raise ValueError(f"model {self.name}: q_lora_rank and qk_rope_head_dim need "
                                 "multi-head latent attention (kv_lora_rank > 0)")
            return
        if self.n_kv_heads != self.n_heads:
            raise ValueError(f"model {self.name}: MLA expands its latent to every head; n_kv_heads must "
                             f"equal n_heads ({self.n_heads})")
        if not 0 < self.qk_rope_head_dim < self.head_dim or self.v_head_dim <= 0:
            raise ValueError(f"model {self.name}: MLA needs 0 < qk_rope_head_dim < head_dim and v_head_dim > 0")

    def _check_moe(self) -> None:
        if self.n_experts < 0 or self.n_shared_experts < 0 or self.first_k_dense < 0:
            raise ValueError(f"model {self.name}: n_experts, n_shared_experts and first_k_dense "
                             "must not be negative")
        if self.n_experts == 0:
            if self.top_k or self.n_shared_experts:
                raise ValueError(f"model {self.name}: top_k/n_shared_experts need n_experts > 0")
            return
        if not 1 <= self.top_k <= self.n_experts:
            raise ValueError(f"model {self.name}: top_k ({self.top_k}) must be in 1..n_experts "
                             f"({self.n_experts})")
        if self.moe_ffn_hidden is None:
            object.__setattr__(self, "moe_ffn_hidden", self.ffn_hidden)
        if self.shared_ffn_hidden is None:
            object.__setattr__(self, "shared_ffn_hidden", self.moe_ffn_hidden)
        if self.moe_ffn_hidden <= 0 or self.shared_ffn_hidden <= 0:
            raise ValueError(f"model {self.name}: moe_ffn_hidden/shared_ffn_hidden must be positive")
        if self.moe_layer_freq < 1:
            raise ValueError(f"model {self.name}: moe_layer_freq must be >= 1, got {self.moe_layer_freq}")
        if self.capacity_factor is not None and self.capacity_factor <= 0:
            raise ValueError(f"model {self.name}: capacity_factor must be positive or None")

    # ---- structure ----
    @property
    def is_moe(self) -> bool:
        """True when some layers route tokens to experts."""
        return self.n_experts > 0

    @property
    def gated(self) -> bool:
        """True for GLU-style MLPs (SwiGLU/GeGLU), whose first projection has two branches."""
        return self.activation in GATED

    def layer_kinds(self) -> tuple[str, ...]:
        """'dense' or 'moe' for each layer in order (for pipeline stage assignment)."""
        if not self.is_moe:
            return ("dense",) * self.n_layers
        return tuple("moe" if i >= self.first_k_dense and (i - self.first_k_dense) % self.moe_layer_freq == 0
                     else "dense" for i in range(self.n_layers))

    @property
    def mla(self) -> bool:
        """True for multi-head latent attention (DeepSeek-V2/V3)."""
        return self.kv_lora_rank > 0

    @property
    def q_dim(self) -> int:
        """Width of the query projection output (n_heads * head_dim)."""
        return self.n_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Width of the key (and of the value) projection output."""
        return self.n_kv_heads * self.head_dim

    # ---- parameter counts (exact) ----
    def _norm_params(self) -> int:
        return self.hidden * (2 if self.norm_bias else 1)

    def _mlp_params(self, ffn: int) -> int:
        branches = 2 if self.gated else 1
        weights = (branches + 1) * self.hidden * ffn
        return weights + ((branches * ffn + self.hidden) if self.mlp_bias else 0)

    def attention_params(self) -> int:
        """Q, K, V, output projections (with biases) of one layer."""
        if self.mla:
            return self._mla_params()
        qkv = self.hidden * (self.q_dim + 2 * self.kv_dim)
        qkv += (self.q_dim + 2 * self.kv_dim) if self.qkv_bias else 0
        out = self.q_dim * self.hidden + (self.hidden if self.out_bias else 0)
        return qkv + out + (2 * self.head_dim if self.qk_norm else 0)

    def _mla_params(self) -> int:
        """DeepSeek-V2 MLA: q down (+ RMSNorm) and up, or one q projection; KV down to the latent plus a
        shared rope key, RMSNorm, up to per-head nope keys and values; output projection."""
        h, heads, dq = self.hidden, self.n_heads, self.head_dim
        nope = dq - self.qk_rope_head_dim
        q = (h * self.q_lora_rank + self.q_lora_rank + self.q_lora_rank * heads * dq) if self.q_lora_rank \
            else h * heads * dq
        kv = h * (self.kv_lora_rank + self.qk_rope_head_dim) + self.kv_lora_rank \
            + self.kv_lora_rank * heads * (nope + self.v_head_dim)
        return q + kv + heads * self.v_head_dim * h

    def dense_layer_params(self) -> int:
        """One dense layer: two norms, attention, MLP."""
        return 2 * self._norm_params() + self.attention_params() + self._mlp_params(self.ffn_hidden)

    def moe_layer_params(self, active: bool = False) -> int:
        """One MoE layer: norms, attention, router, routed (all, or top_k if active) and shared experts."""
        routed = (self.top_k if active else self.n_experts) * self._mlp_params(self.moe_ffn_hidden)
        shared = self.n_shared_experts * self._mlp_params(self.shared_ffn_hidden)
        gate = self.hidden if self.shared_expert_gate else 0
        router = self.hidden * self.n_experts
        return 2 * self._norm_params() + self.attention_params() + router + routed + shared + gate

    @property
    def n_params_embedding(self) -> int:
        """Token (and learned position) embedding tables; the output head is counted apart if untied."""
        return self.vocab * self.hidden + self.n_positions * self.hidden

    @property
    def n_params_head(self) -> int:
        """Final norm plus the LM head matrix when it is not tied to the embedding."""
        return self._norm_params() + (0 if self.tied_embeddings else self.vocab * self.hidden)

    def _layers_params(self, active: bool) -> int:
        kinds = self.layer_kinds()
        n_moe = kinds.count("moe")
        return (len(kinds) - n_moe) * self.dense_layer_params() + n_moe * (
            self.moe_layer_params(active) if n_moe else 0)

    @property
    def n_params(self) -> int:
        """Total parameters, exact: embeddings, every layer, final norm, untied head."""
        return self.n_params_embedding + self._layers_params(False) + self.n_params_head

    @property
    def n_params_mtp(self) -> int:
        """Multi-token prediction modules (not in n_params, as DeepSeek counts them apart): per depth two
        RMSNorms, a 2h -> h projection and one transformer layer of the last layer's kind; embedding and
        output head shared with the main model."""
        if not self.mtp_depth:
            return 0
        layer = self.moe_layer_params() if self.layer_kinds()[-1] == "moe" else self.dense_layer_params()
        return self.mtp_depth * (2 * self._norm_params() + 2 * self.hidden * self.hidden + layer)

    @property
    def n_params_active(self) -> int:
        """Parameters touched by one token (MoE: top_k routed experts); equals n_params when dense."""
        return self.n_params_embedding + self._layers_params(True) + self.n_params_head
