"""Per-rank tensor sizes of one micro-batch after tensor/context/expert sharding, checked once."""
from __future__ import annotations

from dataclasses import dataclass

from workloads.model import ModelConfig

ACT_DTYPES = ("bf16", "fp16", "fp32", "fp8")


def _div(what: str, a: int, b: int, by: str) -> int:
    if a % b:
        raise ValueError(f"{what} ({a}) must be divisible by {by} ({b})")
    return a // b


@dataclass(frozen=True)
class Shape:
    """Sizes one rank sees: tokens t = b*s/cp, heads and ffn split over tp, experts over ep and etp."""

    model: ModelConfig
    b: int
    s: int
    tp: int = 1
    cp: int = 1
    sp: bool = False
    ep: int = 1
    etp: int = 1
    dtype: str = "bf16"
    causal: bool = True
    dropout: bool = False
    pad_vocab: int = 1     # Megatron pads vocab to a multiple of 128 * tp; HF eager uses it as is
    attention: str = "flash"   # "flash" (fused kernel) | "unfused" (Megatron <= 2022: bmm, softmax, bmm)

    def __post_init__(self) -> None:
        m = self.model
        for key in ("b", "s", "tp", "cp", "ep", "etp"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 1:
                raise ValueError(f"{key} must be a positive integer, got {getattr(self, key)!r}")
        if self.attention not in ("flash", "unfused"):
            raise ValueError(f"attention must be 'flash' or 'unfused', got {self.attention!r}")
        if self.dtype not in ACT_DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(ACT_DTYPES)}, got {self.dtype!r}")
        if self.sp and self.tp == 1:
            object.__setattr__(self, "sp", False)
        _div("seq_len", self.s, self.cp, "cp")
        _div("n_heads", m.n_heads, self.tp, "tp")
        _div("n_kv_heads", m.n_kv_heads, self.tp, "tp")
        _div("ffn_hidden", m.ffn_hidden, self.tp, "tp")
        if self.sp:
            _div("tokens per micro-batch (micro_batch*seq_len/cp)", self.t, self.tp, "tp (sequence parallel)")
        if m.is_moe:
            _div("n_experts", m.n_experts, self.ep, "ep")
            _div("moe_ffn_hidden", m.moe_ffn_hidden, self.etp, "etp")
            if m.n_shared_experts:
                _div("shared_ffn_hidden", m.shared_ffn_hidden, self.tp, "tp")
        elif self.ep > 1 or self.etp > 1:
            raise ValueError(f"ep/etp > 1 need an MoE model; {m.name} is dense")

    # tokens
    @property
    def s_loc(self) -> int:
        """Sequence length on one context-parallel rank."""
        return self.s // self.cp

    @property
    def t(self) -> int:
        """Tokens of the micro-batch on one rank inside the tensor-parallel region."""
        return self.b * self.s_loc

    @property
    def tsp(self) -> int:
        """Tokens in the norm/residual region: t/tp with sequence parallelism, else t."""
        return self.t // self.tp if self.sp else self.t

    # widths
    @property
    def h(self) -> int:
        return self.model.hidden

    @property
    def d(self) -> int:
        return self.model.head_dim

    @property
    def hq(self) -> int:
        """Query heads on this rank."""
        return self.model.n_heads // self.tp

    @property
    def hkv(self) -> int:
        """Key/value heads on this rank."""
        return self.model.n_kv_heads // self.tp

    @property
    def f(self) -> int:
        """Dense MLP inner width on this rank."""
        return self.model.ffn_hidden // self.tp

    @property
    def vocab(self) -> int:
        """Vocabulary as trained (padded to a multiple of pad_vocab * tp)."""
        unit = self.pad_vocab * self.tp
        return -(-self.model.vocab // unit) * unit

    @property
    def v(self) -> int:
        """Vocabulary rows on this rank (vocab-parallel embedding and LM head)."""
        return self.vocab // self.tp

    # bytes per element
    @property
    def e(self) -> int:
        """Bytes per activation element (fp8 training keeps bf16 activations)."""
        return 4 if self.dtype == "fp32" else 2

    @property
    def g(self) -> int:
        """Bytes per element of weight-GEMM operands (1 under fp8)."""
        return 1 if self.dtype == "fp8" else self.e

    @property
    def gemm_dtype(self) -> str:
        """Dtype of weight GEMMs (fp8 under fp8 training; attention and the rest stay bf16)."""
        return self.dtype
