"""One operator of one rank (possibly several kernels), with exact FLOPs, bytes moved and saved activations.

Kinds live in a registry (`KINDS`); each names the fields of its `dims` tuple:
  gemm       (m, n, k, batch)              C[m, n] = A[m, k] @ B[k, n], `batch` times
  attention  (b, hq, hkv, sq, skv, d, causal)  fused (flash) attention, fwd or bwd kernel
  memory     (n_elements,)                 elementwise / norm / softmax / gather / optimizer
  comm       (collective, group, bytes)    one collective of one rank

Comm `bytes` follow the nccl-tests "size" convention: the buffer of one rank (all_reduce:
the buffer; all_gather: the gathered output; reduce_scatter: the full input; all_to_all:
the send buffer; send_recv: the message).
"""
from __future__ import annotations

from dataclasses import dataclass

PHASES = ("fwd", "bwd", "opt")
GROUPS = ("tp", "cp", "ep", "etp", "dp", "pp")
COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv", "broadcast")

# Bytes per element of the dtypes a step uses (workloads stands alone: no import of hardware/).
DTYPE_BYTES = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int64": 8, "int32": 4, "bool": 1}


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of `dtype`; ValueError for an unknown name."""
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r}; known: {', '.join(DTYPE_BYTES)}")
    return DTYPE_BYTES[dtype]


@dataclass(frozen=True)
class OpKind:
    """A kind of operator and the names of its dims fields."""

    name: str
    dims: tuple[str, ...]
    doc: str


KINDS: dict[str, OpKind] = {}


def register_kind(kind: OpKind) -> OpKind:
    """Add an operator kind; registering a name twice is an error."""
    if kind.name in KINDS:
        raise ValueError(f"op kind {kind.name!r} is already registered")
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> OpKind:
    """The registered kind `name`, or ValueError listing the known kinds."""
    if name not in KINDS:
        raise ValueError(f"unknown op kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]


register_kind(OpKind("gemm", ("m", "n", "k", "batch"), "matrix multiply on tensor cores"))
register_kind(OpKind("attention", ("b", "hq", "hkv", "sq", "skv", "d", "causal", "mixed_width"), "fused attention"))
register_kind(OpKind("memory", ("n_elements",), "bandwidth-bound kernels, time from bytes"))
register_kind(OpKind("comm", ("collective", "group", "bytes"), "collective communication"))


@dataclass(frozen=True)
class Op:
    """One operator of one rank: FLOPs (2 per MAC), bytes read+written, activations kept for backward."""

    name: str
    kind: str
    phase: str
    category: str
    flops: float
    bytes: float
    dims: tuple
    dtype: str = "bf16"
    kernels: int = 1
    count: int = 1
    saved_bytes: float = 0.0      # activations this fwd op keeps alive until its backward
    weight_gemm: bool = False     # gemm that reads a weight (fwd, dgrad) or makes a weight grad (wgrad)
    workspace_bytes: float = 0.0  # transient bytes the op allocates (outputs not kept, scratch)

    def __post_init__(self) -> None:
        kind = get_kind(self.kind)
        if self.phase not in PHASES:
            raise ValueError(f"op {self.name}: phase must be one of {', '.join(PHASES)}, got {self.phase!r}")
        if len(self.dims) != len(kind.dims):
            raise ValueError(f"op {self.name}: {self.kind} dims need {kind.dims}, got {self.dims!r}")
        if min(self.flops, self.bytes, self.saved_bytes, self.workspace_bytes) < 0:
            raise ValueError(f"op {self.name}: flops, bytes, saved_bytes, workspace_bytes must be >= 0")
        if self.kernels < 0 or self.count < 1:
            raise ValueError(f"op {self.name}: kernels must be >= 0 and count >= 1")
        if self.kind == "comm":
            collective, group, _ = self.dims
            if collective not in COLLECTIVES or group not in GROUPS:
                raise ValueError(f"op {self.name}: unknown collective/group {collective!r}/{group!r}")


# ---- constructors: the formulas live here, once ----

def gemm(name: str, phase: str, category: str, m: int, n: int, k: int, batch: int = 1, *,
         a_bytes: float = 2, b_bytes: float = 2, c_bytes: float = 2, accumulate: bool = False,
         dtype: str = "bf16", weight: bool = True, saved: float = 0.0, workspace: float | None = None) -> Op:
    """C[m,n] = A[m,k] B[k,n]: 2mnk FLOPs; reads A and B, writes C (reads it too when accumulating)."""
    c_traffic = m * n * c_bytes * (2 if accumulate else 1)
    moved = batch * (m * k * a_bytes + k * n * b_bytes + c_traffic)
    ws = batch * m * n * c_bytes if workspace is None else workspace
    return Op(name, "gemm", phase, category, 2.0 * m * n * k * batch, float(moved), (m, n, k, batch),
              dtype, 1, 1, float(saved), weight, float(ws))


def attention_flops(b: int, hq: int, sq: int, skv: int, d: int, causal: bool, backward: bool) -> float:
    """Flash attention FLOPs: fwd 2 matmuls (QK^T, PV) = 4*b*hq*sq*skv*d; bwd 5 matmuls = 2.5x fwd.

    NB: causal counts half of the sq*skv scores (the FlashAttention benchmark convention);
    the exact unmasked count is larger by sq/2 per (batch, head) row block when sq == skv.
    """
    fwd = 4.0 * b * hq * sq * skv * d * (0.5 if causal else 1.0)
    return fwd * (2.5 if backward else 1.0)


def attention(name: str, phase: str, category: str, b: int, hq: int, hkv: int, sq: int, skv: int,
              d: int, causal: bool, *, e: float = 2, kernels: int = 1, saved: float = 0.0,
              extra_bytes: float = 0.0, backward: bool | None = None, mixed_width: bool = False) -> Op:
    """Flash attention kernel(s): minimal IO (q,k,v,o,lse; bwd also dO, dq, dk, dv) plus `extra_bytes`.

    `backward` defaults to phase == "bwd"; a forward re-run for recompute passes backward=False.
    mixed_width: q/k and v heads differ (MLA) and `d` is their mean; it picks the kernel's timing rule.
    dims: (b, hq, hkv, sq, skv, d, causal, mixed_width).
    """
    q, kv, lse = b * sq * hq * d * e, b * skv * hkv * d * e, b * hq * sq * 4
    backward = phase == "bwd" if backward is None else backward
    if backward:   # read q,k,v,o,dO,lse ; write dq,dk,dv
        moved = 2 * q + 2 * kv + 2 * q + lse + q + 2 * kv
        ws = q + 2 * kv
    else:          # read q,k,v ; write o, lse
        moved = q + 2 * kv + q + lse
        ws = q + lse
    return Op(name, "attention", phase, category,
              attention_flops(b, hq, sq, skv, d, causal, backward), float(moved + extra_bytes),
              (b, hq, hkv, sq, skv, d, bool(causal), bool(mixed_width)), "bf16" if e == 2 else "fp32", kernels, 1,
              float(saved), False, float(ws))


def memory(name: str, phase: str, category: str, n_elements: int, moved: float, *,
           flops: float = 0.0, kernels: int = 1, saved: float = 0.0, workspace: float = 0.0,
           dtype: str = "bf16") -> Op:
    """Bandwidth-bound kernel(s) touching `n_elements` (per kernel) and moving `moved` bytes in all."""
    return Op(name, "memory", phase, category, float(flops), float(moved), (int(n_elements),), dtype,
              kernels, 1, float(saved), False, float(workspace))


def comm(name: str, phase: str, category: str, collective: str, group: str, nbytes: float) -> Op:
    """One collective of `nbytes` (nccl-tests size convention) over `group`."""
    return Op(name, "comm", phase, category, 0.0, 0.0, (collective, group, float(nbytes)), "bf16", 1)


def chain(name: str, phase: str, category: str, n_elements: int, traffic: list[tuple[float, float]],
          *, flops_per_element: float = 1.0, saved: float = 0.0, dtype: str = "bf16") -> Op:
    """Several eager elementwise kernels as one op: `traffic` lists (bytes read, bytes written) per kernel."""
    moved = sum(r + w for r, w in traffic)
    ws = max((w for _, w in traffic), default=0.0)
    return memory(name, phase, category, n_elements, moved, flops=flops_per_element * n_elements * len(traffic),
                  kernels=len(traffic), saved=saved, workspace=ws, dtype=dtype)
