"""Registry of kernel profiles: which software stack's kernels a step graph models.

fused: Megatron-Core + TransformerEngine (fused norms, fused QKV, flash attention, fp32 main grads).
eager: Hugging Face transformers in PyTorch eager with SDPA (unfused norms, rotary, activations).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from workloads import layers_eager, layers_fused, moe

Builder = Callable[..., tuple[list, list]]


@dataclass(frozen=True)
class Profile:
    """Builders of one software stack's ops, and what that stack supports."""

    name: str
    layers: dict[str, Builder]          # layer kind -> builder(shape, selective) -> (fwd, bwd)
    embedding: Builder
    head: Builder
    pad_vocab: int                      # vocab padded to a multiple of pad_vocab * tp
    model_parallel: bool                # supports tp/cp/ep > 1
    doc: str


PROFILES: dict[str, Profile] = {}


def register_profile(profile: Profile) -> Profile:
    """Add a kernel profile; a name registered twice is an error."""
    if profile.name in PROFILES:
        raise ValueError(f"kernel profile {profile.name!r} is already registered")
    PROFILES[profile.name] = profile
    return profile


def get_profile(name: str) -> Profile:
    """The profile `name`, or ValueError listing the known ones."""
    if name not in PROFILES:
        raise ValueError(f"unknown kernels profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]


def _moe_layer(sh, selective=False):
    af, ab = layers_fused.attention_for(sh, selective)
    mf, mb = moe.moe_block(sh)
    return af + mf, mb + ab


def _no_eager_moe(sh, selective=False):
    raise ValueError("eager profile: HF's MoE blocks loop over experts in Python; not modelled, "
                     "use kernels='fused'")


register_profile(Profile(
    "fused", {"dense": layers_fused.dense_layer, "moe": _moe_layer}, layers_fused.embedding,
    layers_fused.head, pad_vocab=128,   # Megatron --make-vocab-size-divisible-by default 128
    model_parallel=True, doc="Megatron-Core + TransformerEngine"))
register_profile(Profile(
    "eager", {"dense": layers_eager.dense_layer, "moe": _no_eager_moe}, layers_eager.embedding,
    layers_eager.head, pad_vocab=1, model_parallel=False,
    doc="Hugging Face transformers, PyTorch eager, attn_implementation='sdpa'"))
