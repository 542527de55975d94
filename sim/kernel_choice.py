"""Which attention kernel a software stack runs, as an adjustment of the device's fitted profile.

The shipped profiles are fitted on PyTorch 2.11 SDPA, which on Hopper dispatches to cuDNN's
wgmma/TMA flash attention (FlashAttention-3 class). Stacks of 2023-24 ran FlashAttention-2, whose
Ampere-style mma.sync kernels reach far less of a Hopper GPU: FA3 paper (Shah et al. 2024, Fig. 1)
FA2 ~35% vs FA3 ~75% of H100 peak.
"""
from __future__ import annotations

from dataclasses import replace

from hardware.perf import PerfProfile
from hardware.spec import DeviceSpec

# FlashAttention-2 relative to the profile's (cuDNN, Hopper-native) attention: its matmul rate on
# Hopper (FA2_ON_HOPPER) and its fixed cost per thread block (FA2_TILE_OVERHEAD_SCALE x the profile's:
# FA2 loses less on short sequences than torch SDPA's kernels the profile was fitted on). Both fitted
# on ONE published row, the FA2 README's H100 non-causal fwd+bwd hd128 at 512-16k tokens (within
# 1.6% after the fit). Held out: the causal H100 row (within 4% at every length), the FA3 paper's
# FA2 forward at 16k (+5%), and the A100 rows, where FA2 is the native kernel (uniformly 8-10%
# slow: the Hopper-fitted fractions transfer imperfectly to Ampere); shared/validation, src FA.
FA2_ON_HOPPER = 0.605
FA2_TILE_OVERHEAD_SCALE = 0.40
# FlashAttention-2's forward at head dim 256 (smaller KV tiles): its rate relative to the model's, fitted on the
# FA3 paper's FA2 hd256 forward bars (H100, 512-16k; within 3% from 2k up, +29% at 512); nothing held out.
FA2_WIDE_HEAD_FWD_RATE = 0.65
HOPPER_OR_NEWER = {"h100-sxm", "h100-pcie", "h800", "h200", "b200", "gb200"}


def _fa2_tiles(prof: PerfProfile) -> PerfProfile:
    return replace(prof, attn_fwd_tile_overhead=prof.attn_fwd_tile_overhead * FA2_TILE_OVERHEAD_SCALE,
                   attn_bwd_tile_overhead=prof.attn_bwd_tile_overhead * FA2_TILE_OVERHEAD_SCALE,
                   attn_wide_head_fwd_rate=FA2_WIDE_HEAD_FWD_RATE, attn_wide_head_padded=False)


def _fa2(prof: PerfProfile, dev: DeviceSpec) -> PerfProfile:
    if dev.name not in HOPPER_OR_NEWER:
        return _native(prof, dev)
    return replace(_fa2_tiles(prof), attn_fwd_fraction=prof.attn_fwd_fraction * FA2_ON_HOPPER,
                   attn_bwd_fraction=prof.attn_bwd_fraction * FA2_ON_HOPPER)


# llm-foundry's `attn_impl: triton` (flash_attn_triton on the pre-MLIR Triton fork; MPT's ALiBi needed
# it before FlashAttention-2 supported ALiBi): written for Ampere, where it matches FA2; on Hopper it
# reaches this fraction of FA2's rate. Fitted on ONE published row, MPT-13B at 32k tokens on 8 H100
# (attention-dominated); the other 11 MPT H100 rows are held out (docs/validation.md).
TRITON_V1_ON_HOPPER_VS_FA2 = 0.53


def _triton_v1(prof: PerfProfile, dev: DeviceSpec) -> PerfProfile:
    if dev.name not in HOPPER_OR_NEWER:
        return _native(prof, dev)
    p = _fa2(prof, dev)
    return replace(p, attn_fwd_fraction=p.attn_fwd_fraction * TRITON_V1_ON_HOPPER_VS_FA2,
                   attn_bwd_fraction=p.attn_bwd_fraction * TRITON_V1_ON_HOPPER_VS_FA2)


def _native(prof: PerfProfile, dev: DeviceSpec) -> PerfProfile:
    """The device's usual kernel: the profile's own on Hopper and newer, FA2 (its tile costs) before."""
    return prof if dev.name in HOPPER_OR_NEWER else _fa2_tiles(prof)


ATTENTION_KERNELS = {"native": _native, "fa2": _fa2, "triton-v1": _triton_v1}


def with_attention_kernel(prof: PerfProfile, dev: DeviceSpec, kernel: str) -> PerfProfile:
    """The profile as seen by a stack running attention kernel `kernel` ("native" | "fa2")."""
    if kernel not in ATTENTION_KERNELS:
        raise ValueError(f"unknown attention kernel {kernel!r}; known: {', '.join(ATTENTION_KERNELS)}")
    return ATTENTION_KERNELS[kernel](prof, dev)
