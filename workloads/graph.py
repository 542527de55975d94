"""Operator graph of one training micro-batch on one rank: embedding, layer templates x repeat, head.

A 126-layer model is one layer template repeated 126 times (a dense and an MoE template for
mixed models); `layer_kinds` keeps the per-layer order for pipeline stage assignment.
Optimizer ops are built apart (`workloads.optimizer.optimizer_ops`) since their size
depends on how the simulator shards optimizer state.

Recompute policies:
- none: every fwd op keeps what autograd keeps.
- selective (Megatron core_attn): recompute core attention in backward. With flash attention
  nothing quadratic is stored, so this saves only the logsumexp and costs one more
  attention forward: it is nearly the same as none (fused profile only).
- full: each layer keeps its input (b*s*h, /tp under SP); backward first re-runs the layer's
  forward (ops with phase "bwd", category "recompute"), so one layer's activations are
  alive again transiently. Embedding and head are not checkpointed (Megatron and HF alike).
- Megatron-Core's fine-grained modules (layernorm, mla_up_proj, moe_act, mlp, shared_experts, with or
  without core_attn), as a comma list: workloads/recompute.py.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Iterator

from workloads import recompute as recompute_policy
from workloads.catalog import get_model
from workloads.model import ModelConfig
from workloads.ops import Op, memory
from workloads.profiles import get_profile
from workloads.shape import Shape



@dataclass(frozen=True)
class Section:
    """Ops of one part of the model (fwd then bwd, execution order), repeated `repeat` times."""

    kind: str                 # "embedding", "head", or a layer kind ("dense", "moe")
    ops: tuple[Op, ...]
    repeat: int
    params: int               # parameters per rank of one repeat, expert weights excluded
    expert_params: int        # routed-expert parameters per rank of one repeat (MoE)
    saved_bytes: float        # activations kept per micro-batch by one repeat
    workspace_bytes: float    # largest transient allocation while running one repeat

    @property
    def fwd(self) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if op.phase == "fwd")

    @property
    def bwd(self) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if op.phase == "bwd")


@dataclass(frozen=True)
class StepGraph:
    """One micro-batch's forward and backward ops on one rank, with per-rank parameter counts."""

    model: ModelConfig
    micro_batch: int
    seq_len: int
    kernels: str
    recompute: str
    dtype: str
    tp: int
    cp: int
    sequence_parallel: bool
    ep: int
    etp: int
    causal: bool
    embedding: Section
    layers: tuple[Section, ...]
    head: Section
    layer_kinds: tuple[str, ...]

    @property
    def sections(self) -> tuple[Section, ...]:
        return (self.embedding, *self.layers, self.head)

    def layer(self, kind: str) -> Section:
        """The layer template of `kind` ("dense" or "moe")."""
        for sec in self.layers:
            if sec.kind == kind:
                return sec
        raise ValueError(f"no {kind!r} layers in {self.model.name}; kinds: {', '.join(s.kind for s in self.layers)}")

    def iter_ops(self) -> Iterator[tuple[Op, int]]:
        """Every op with the number of times it runs per micro-batch."""
        for sec in self.sections:
            for op in sec.ops:
                yield op, sec.repeat * op.count

    def total(self, attr: str = "flops", *, phase: str | None = None, kind: str | None = None,
              category: str | None = None) -> float:
        """Sum of an op attribute (flops, bytes, kernels, saved_bytes) over the micro-batch, filtered."""
        return float(sum(getattr(op, attr) * n for op, n in self.iter_ops()
                         if (phase is None or op.phase == phase) and (kind is None or op.kind == kind)
                         and (category is None or op.category == category)))

    @property
    def flops(self) -> float:
        """FLOPs of one micro-batch on this rank (recompute included)."""
        return self.total("flops")

    @property
    def params(self) -> int:
        """Parameters held by this rank (all layers, no pipeline split), experts included."""
        return sum((s.params + s.expert_params) * s.repeat for s in self.sections)

    @property
    def saved_bytes(self) -> float:
        """Activations kept for backward by one micro-batch on this rank (all layers)."""
        return sum(s.saved_bytes * s.repeat for s in self.sections)

    @property
    def workspace_bytes(self) -> float:
        """Largest transient allocation of any section."""
        return max(s.workspace_bytes for s in self.sections)

    def to_networkx(self, optimizer_ops: tuple[Op, ...] = ()):
        """DiGraph of the explicit ops in execution order: fwd layer by layer, bwd in reverse, then optimizer.

        Nodes are "<section>.<op name>" (layers "L<i>.") with attributes op, section, layer;
        edges "seq" chain execution order, "saved" link a layer's fwd to its bwd.
        """
        import networkx as nx
        g = nx.DiGraph()
        template = {s.kind: s for s in self.layers}
        order: list[tuple[str, Op, int | None, str]] = []
        order += [(f"embed.{op.name}", op, None, "embedding") for op in self.embedding.fwd]
        for i, kind in enumerate(self.layer_kinds):
            order += [(f"L{i}.{op.name}", op, i, kind) for op in template[kind].fwd]
        order += [(f"head.{op.name}", op, None, "head") for op in self.head.ops]
        for i in reversed(range(len(self.layer_kinds))):
            kind = self.layer_kinds[i]
            order += [(f"L{i}.{op.name}", op, i, kind) for op in template[kind].bwd]
        order += [(f"embed.{op.name}", op, None, "embedding") for op in self.embedding.bwd]
        order += [(f"opt.{op.name}", op, None, "optimizer") for op in optimizer_ops]
        prev = None
        last_fwd: dict[int, str] = {}
        for node, op, layer, section in order:
            if node in g:
                raise ValueError(f"duplicate op name {node!r} in the step graph")
            g.add_node(node, op=op, section=section, layer=layer)
            if prev is not None:
                g.add_edge(prev, node, dep="seq")
            if layer is not None and op.phase == "fwd":
                last_fwd[layer] = node
            elif layer is not None and last_fwd.get(layer) and not g.has_edge(last_fwd[layer], node):
                g.add_edge(last_fwd.pop(layer), node, dep="saved")
            prev = node
        return g


# ---- parameters per rank ----

def _mlp_params(m: ModelConfig, ffn: int, shards: int, replicated_bias: bool = True) -> int:
    br = 2 if m.gated else 1
    w = (br + 1) * m.hidden * ffn // shards
    return w + ((br * ffn // shards + m.hidden) if m.mlp_bias else 0)


def _attn_params(m: ModelConfig, tp: int) -> int:
    if m.mla:   # down-projections and latent norms duplicated on every TP rank (Megatron-Core MLA)
        heads, dq, r = m.n_heads // tp, m.head_dim, m.qk_rope_head_dim
        q = (m.hidden * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * heads * dq) if m.q_lora_rank \
            else m.hidden * heads * dq
        kv = m.hidden * (m.kv_lora_rank + r) + m.kv_lora_rank + m.kv_lora_rank * heads * (dq - r + m.v_head_dim)
        return q + kv + heads * m.v_head_dim * m.hidden
    width = m.q_dim + 2 * m.kv_dim
    p = m.hidden * width // tp + (width // tp if m.qkv_bias else 0)
    return p + m.q_dim * m.hidden // tp + (m.hidden if m.out_bias else 0) + (2 * m.head_dim if m.qk_norm else 0)


def _layer_params(m: ModelConfig, kind: str, sh: Shape) -> tuple[int, int]:
    norms = 2 * m.hidden * (2 if m.norm_bias else 1)
    base = norms + _attn_params(m, sh.tp)
    if kind == "dense":
        return base + _mlp_params(m, m.ffn_hidden, sh.tp), 0
    shared = m.n_shared_experts * _mlp_params(m, m.shared_ffn_hidden, sh.tp)
    extra = m.hidden * m.n_experts + (m.hidden if m.shared_expert_gate else 0)
    experts = (m.n_experts // sh.ep) * _mlp_params(m, m.moe_ffn_hidden, sh.etp)
    return base + shared + extra, experts


# ---- building ----

def _layer_ops(prof, sh: Shape, kind: str, core_attn: bool, modules: frozenset) -> tuple[list[Op], list[Op]]:
    """One layer's ops under the recompute modules (core_attn inside the builders, the rest by op name)."""
    fwd, bwd = prof.layers[kind](sh, core_attn)
    if not sh.model.mla:
        return recompute_policy.apply_modules(fwd, bwd, modules - {"mla_up_proj"})
    # under mla_up_proj MLA's attention kernel keeps only its output o and the logsumexp
    return recompute_policy.apply_modules(fwd, bwd, modules, sh.b * sh.s_loc * sh.hq * (sh.model.v_head_dim * sh.e + 4))


def _mtp_module(prof, sh: Shape, kind: str, prefix: str, selective: bool, modules: frozenset = frozenset()
                ) -> tuple[list[Op], list[Op], int, int]:
    """One multi-token-prediction depth (DeepSeek-V3 sec. 2.2): RMSNorm of the last hidden state and of the
    next token's embedding, a 2h -> h projection, one transformer layer, the shared output head and its loss."""
    from workloads.layers_fused import linear
    n, e = sh.tsp * sh.h, sh.e
    norms = memory(f"{prefix}norms", "fwd", "norm", 2 * n, 2 * (2 * n * e) + 2 * sh.tsp * 4, flops=8 * n,
                   saved=2 * n * e + 2 * sh.tsp * 4, workspace=2 * n * e)
    norms_b = memory(f"{prefix}norms.bwd", "bwd", "norm", 2 * n, 6 * n * e, flops=12 * n, kernels=4,
                     workspace=2 * n * e)
    proj = linear(sh, f"{prefix}proj", "mtp", sh.tsp, sh.h, 2 * sh.h, saved_input=2 * n * e)
    lf, lb = _layer_ops(prof, sh, kind, selective, modules)
    hf, hb = prof.head(sh)
    ren = lambda ops: [replace(op, name=prefix + op.name) for op in ops]  # noqa: E731
    params, experts = _layer_params(sh.model, kind, sh)
    params += 2 * sh.h * sh.h + 2 * sh.h
    fwd = [norms, proj[0], *ren(lf), *ren(hf)]
    bwd = [*ren(hb), *ren(lb), proj[1], proj[2], norms_b]
    return fwd, bwd, params, experts


def _section(kind: str, fwd: list[Op], bwd: list[Op], repeat: int, params: int, experts: int = 0,
             extra_workspace: float = 0.0) -> Section:
    ops = (*fwd, *bwd)
    return Section(kind, ops, repeat, params, experts, float(sum(op.saved_bytes for op in ops)),
                   float(max([extra_workspace, *(op.workspace_bytes for op in ops)])))


def _full_recompute(fwd: list[Op], bwd: list[Op], keep: float) -> tuple[list[Op], list[Op], float]:
    """Checkpoint a layer: keep only its input; backward re-runs the forward first."""
    alive = sum(op.saved_bytes for op in fwd)
    kept = [replace(op, saved_bytes=0.0) for op in fwd]
    kept[0] = replace(kept[0], saved_bytes=float(keep))
    redo = [replace(op, name=f"recompute.{op.name}", phase="bwd", category="recompute", saved_bytes=0.0)
            for op in fwd]
    return kept, redo + bwd, alive


@functools.lru_cache(maxsize=256)
def _build(model: ModelConfig, micro_batch: int, seq_len: int, kernels: str, recompute: str, dtype: str,
           tp: int, cp: int, sp: bool, ep: int, etp: int, causal: bool, dropout: bool,
           attention: str = "flash") -> StepGraph:
    prof = get_profile(kernels)
    policy, modules = recompute_policy.parse(recompute)
    if not prof.model_parallel and max(tp, cp, ep, etp) > 1:
        raise ValueError(f"kernels={kernels!r} models one unsharded model replica (tp=cp=ep=etp=1); "
                         "use kernels='fused' for model parallelism")
    if seq_len > model.max_seq and model.position == "learned":
        raise ValueError(f"seq_len {seq_len} exceeds the {model.max_seq} learned positions of {model.name}")
    sh = Shape(model, micro_batch, seq_len, tp, cp, sp, ep, etp, dtype, causal, dropout, prof.pad_vocab,
               attention)
    kinds = model.layer_kinds()
    layers = []
    core_attn = "core_attn" in modules
    if modules - {"core_attn"} and not prof.model_parallel:
        raise ValueError(f"recompute modules ({recompute}) are Megatron-Core's; use kernels='fused'")
    for kind in dict.fromkeys(kinds):
        fwd, bwd = _layer_ops(prof, sh, kind, core_attn, modules)
        alive = 0.0
        if policy == "full":
            fwd, bwd, alive = _full_recompute(fwd, bwd, sh.tsp * sh.h * sh.e)
        params, experts = _layer_params(model, kind, sh)
        layers.append(_section(kind, fwd, bwd, kinds.count(kind), params, experts, alive))
    ef, eb = prof.embedding(sh)
    hf, hb = prof.head(sh)
    mtp_params = mtp_experts = 0
    for k in range(model.mtp_depth):   # DeepSeek-V3 MTP: norms, 2h -> h projection, one layer, shared head
        f, b, mtp_params_k, mtp_experts_k = _mtp_module(prof, sh, kinds[-1], f"mtp{k}.", core_attn, modules)
        hf, hb = hf + f, b + hb
        mtp_params += mtp_params_k
        mtp_experts += mtp_experts_k
    emb_params = sh.v * model.hidden + model.n_positions * model.hidden
    head_params = model.hidden * (2 if model.norm_bias else 1) + (0 if model.tied_embeddings
                                                                  else sh.v * model.hidden)
    return StepGraph(model, micro_batch, seq_len, kernels, recompute, sh.dtype, tp, cp, sh.sp, ep, etp,
                     causal, _section("embedding", ef, eb, 1, emb_params), tuple(layers),
                     _section("head", hf, hb, 1, head_params + mtp_params, mtp_experts), kinds)


def build_step(model: ModelConfig | str, micro_batch: int, seq_len: int, *, kernels: str = "fused",
               recompute: str = "none", dtype: str = "bf16", tp: int = 1, cp: int = 1,
               sequence_parallel: bool | None = None, ep: int = 1, etp: int = 1, causal: bool = True,
               dropout: bool = False, attention: str = "flash") -> StepGraph:
    """Ops of one micro-batch (fwd + bwd) on one rank; cached, so repeated sweeps cost nothing.

    sequence_parallel defaults to True when tp > 1 with fused kernels. `causal=False` counts
    full attention (encoders, or to compare with formulas that ignore the mask); `dropout`
    adds Megatron's hidden-dropout masks. `attention="unfused"` models Megatron before flash
    attention (QK^T and AV batched GEMMs around a fused scale-mask-softmax, s^2 tensors stored).
    """
    m = get_model(model)
    if sequence_parallel is None:
        sequence_parallel = tp > 1 and kernels == "fused"
    return _build(m, int(micro_batch), int(seq_len), kernels, recompute, dtype, int(tp), int(cp),
                  bool(sequence_parallel), int(ep), int(etp), bool(causal), bool(dropout), attention)
