"""Activation recompute policies, as named in Megatron-Core.

`none`, `full` (each layer keeps only its input), `selective` (Megatron's core-attention recompute), and the
fine-grained modules of Megatron-Core >= 0.13 (`--recompute-granularity selective --recompute-modules ...`),
written as a comma list, e.g. "mla_up_proj,moe_act,layernorm,mlp" (NVIDIA's DeepSeek-V3 H100 recipe):
  core_attn       re-run the attention kernel in backward (= `selective`; handled by the layer builders)
  layernorm       the outputs of the pre-attention / pre-MLP norms are not kept; the norms re-run
  mla_up_proj     MLA keeps its latents, not the up-projected q, k, v; q/kv up-projections and rotary re-run
  moe_act         the routed experts' activation output (fc2 input) is not kept; the activation re-runs
  mlp             the dense MLP keeps only its input; fc1 and the activation re-run
  shared_experts  the same for the MoE layer's shared experts
A module that does not apply to the model (mla_up_proj on a Llama) changes nothing.
"""
from __future__ import annotations

from dataclasses import replace

from workloads.ops import Op

POLICIES = ("none", "selective", "full")
MODULES = ("core_attn", "layernorm", "mla_up_proj", "moe_act", "mlp", "shared_experts")

# module -> (ops re-run in backward, ops whose kept activation is dropped). Names are the fused builders'.
_NORM_FED = ("attn.qkv", "attn.q", "attn.q_down", "attn.kv_down", "mlp.fc1", "moe.router", "moe.shared.fc1")
_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "layernorm": (("attn.norm", "mlp.norm", "moe.norm"), _NORM_FED),
    "mla_up_proj": (("attn.q_up.ag", "attn.q_up.fp8_cast", "attn.q_up", "attn.kv_up.ag", "attn.kv_up.fp8_cast",
                     "attn.kv_up", "attn.rope", "attn.k_assemble"), ("attn.core",)),
    "moe_act": (("moe.act",), ("moe.fc2",)),
    "mlp": (("mlp.fc1.ag", "mlp.fc1.fp8_cast", "mlp.fc1", "mlp.act"), ("mlp.act", "mlp.fc2")),
    "shared_experts": (("moe.shared.fc1.ag", "moe.shared.fc1.fp8_cast", "moe.shared.fc1", "moe.shared.act"),
                       ("moe.shared.act", "moe.shared.fc2")),
}


def parse(recompute: str) -> tuple[str, frozenset[str]]:
    """(policy, modules): policy is none | full | selective; modules is what `selective` re-runs."""
    if recompute in ("none", "full"):
        return recompute, frozenset()
    if recompute == "selective":
        return "selective", frozenset({"core_attn"})
    text = recompute.split(":", 1)[1] if recompute.startswith("selective:") else recompute
    mods = frozenset(m.strip() for m in text.split(",") if m.strip())
    unknown = sorted(mods - set(MODULES))
    if not mods or unknown:
        raise ValueError(f"recompute must be one of {', '.join(POLICIES)} or a comma list of Megatron "
                         f"recompute modules ({', '.join(MODULES)}), got {recompute!r}")
    return "selective", mods


def check(recompute: str) -> str:
    """`recompute` unchanged if valid, else the one-line ValueError of `parse`."""
    parse(recompute)
    return recompute


def apply_modules(fwd: list[Op], bwd: list[Op], modules: frozenset[str], mla_kept: float | None = None
                  ) -> tuple[list[Op], list[Op]]:
    """Drop the kept activations the modules name and re-run their producers at the start of backward.

    mla_kept: what MLA's attention kernel still keeps under mla_up_proj (its output o and logsumexp)."""
    rerun: list[str] = []
    drop: set[str] = set()
    for mod in sorted(modules - {"core_attn"}):
        r, d = _RULES[mod]
        rerun += [n for n in r if n not in rerun]
        drop |= set(d)
    if not rerun and not drop:
        return fwd, bwd
    kept = []
    for op in fwd:
        if op.name in drop and op.saved_bytes > 0:
            new = mla_kept if op.name == "attn.core" else 0.0
            if new is None:
                raise ValueError("mla_up_proj needs what MLA's attention kernel keeps (mla_kept)")
            op = replace(op, saved_bytes=float(min(op.saved_bytes, new)))
        kept.append(op)
    redo = [replace(op, name=f"recompute.{op.name}", phase="bwd", category="recompute", saved_bytes=0.0)
            for op in fwd if op.name in rerun]
    return kept, redo + bwd
