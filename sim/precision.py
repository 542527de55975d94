"""Precision policies: bytes per parameter of weights, gradients and optimizer states.

A registry, so a new policy is one entry. Bytes are per parameter held by the GPU.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrecisionPolicy:
    """How a training recipe stores each parameter."""

    name: str
    weight_bytes: float      # working copy used by forward/backward
    grad_bytes: float        # gradient accumulation buffer
    master_bytes: float      # fp32 master copy (0 when the working copy is the master)
    state_bytes: float       # Adam exp_avg + exp_avg_sq
    description: str
    param_dtype: str = "bf16"
    grad_dtype: str = "fp32"
    state_dtype: str = "fp32"

    @property
    def master_weights(self) -> bool:
        return self.master_bytes > 0

    @property
    def optimizer_bytes(self) -> float:
        """Optimizer-owned bytes per parameter (master copy + Adam moments)."""
        return self.master_bytes + self.state_bytes

    @property
    def total_bytes(self) -> float:
        return self.weight_bytes + self.grad_bytes + self.optimizer_bytes


POLICIES: dict[str, PrecisionPolicy] = {}


def _register(p: PrecisionPolicy) -> None:
    if p.name in POLICIES:
        raise ValueError(f"precision policy {p.name!r} registered twice")
    POLICIES[p.name] = p


# Megatron-LM mixed precision: bf16/fp16 weights, fp32 main gradients (Megatron accumulates
# into fp32 `main_grad`), fp32 master weights, fp32 Adam moments: 2 + 4 + 4 + 8 = 18 B/param.
# This is the count behind Korthikanti et al. 2022 Fig. 1 (45.56 GiB for 2.72e9 params/GPU).
_register(PrecisionPolicy("megatron", 2, 4, 4, 8,
                          "bf16 weights, fp32 grads, fp32 master weights, fp32 Adam (Megatron)",
                          "bf16", "fp32", "fp32"))
# ZeRO paper's count (Rajbhandari et al. 2020, sec. 3.1): fp16 weights and grads, K=12 of fp32 states.
_register(PrecisionPolicy("mixed", 2, 2, 4, 8,
                          "16-bit weights and grads, fp32 master + Adam (ZeRO's 16 B/param)",
                          "bf16", "bf16", "fp32"))
# Pure bf16 (e.g. Hugging Face model in bf16 + torch.optim.AdamW): states take the param dtype.
_register(PrecisionPolicy("pure-bf16", 2, 2, 0, 4, "bf16 weights, grads and Adam moments",
                          "bf16", "bf16", "bf16"))
# fp32 everything (eager fp32 training).
_register(PrecisionPolicy("fp32", 4, 4, 0, 8, "fp32 weights, grads and Adam moments",
                          "fp32", "fp32", "fp32"))


def policy_for(dtype: str, optimizer_state_dtype: str) -> PrecisionPolicy:
    """Pick the policy a user means by --dtype and --optimizer-state-dtype."""
    if dtype == "fp32":
        return POLICIES["fp32"]
    if optimizer_state_dtype == "fp32":
        return POLICIES["megatron"]
    if optimizer_state_dtype in ("bf16", "fp16"):
        return POLICIES["pure-bf16"]
    raise ValueError(f"unknown optimizer state dtype {optimizer_state_dtype!r}; use fp32 or bf16")


def get_policy(name: str) -> PrecisionPolicy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown precision policy {name!r}; known: {', '.join(POLICIES)}") from None
