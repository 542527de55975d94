"""Flash-attention time model: causal work, GQA, backward, scheduling."""
import pytest

from hardware.perf import attention_time
from hardware.perf.attention import _causal_pairs


def test_causal_pairs_golden():
    assert _causal_pairs(4, 4) == 10            # 1+2+3+4
    assert _causal_pairs(2, 5) == 4 + 5         # bottom-right aligned: rows see 4 and 5 keys
    assert _causal_pairs(1, 1000) == 1000       # decode: one query sees every key


def test_flops_count(h100, prof):
    full = attention_time(h100, prof, 2, 8, 8, 1024, 1024, 128, causal=False)
    assert full.flops == 4 * 2 * 8 * 1024 * 1024 * 128
    causal = attention_time(h100, prof, 2, 8, 8, 1024, 1024, 128, causal=True)
    assert causal.flops == 4 * 2 * 8 * 128 * 1024 * 1025 / 2
    bwd = attention_time(h100, prof, 2, 8, 8, 1024, 1024, 128, causal=False, backward=True)
    assert bwd.flops == pytest.approx(2.5 * full.flops)


def test_causal_faster_backward_slower(h100, prof):
    args = (1, 32, 32, 8192, 8192, 128)
    full = attention_time(h100, prof, *args, causal=False).time_s
    causal = attention_time(h100, prof, *args, causal=True).time_s
    assert 0.45 * full < causal < 0.65 * full
    assert attention_time(h100, prof, *args, causal=False, backward=True).time_s > 2 * full


def test_short_sequences_less_efficient(h100, prof):
    short = attention_time(h100, prof, 64, 16, 16, 512, 512, 128, causal=True)
    long = attention_time(h100, prof, 1, 16, 16, 32768, 32768, 128, causal=True)
    assert short.achieved_flops < 0.8 * long.achieved_flops
    assert long.achieved_flops < h100.flops("bf16")


def test_gqa_shares_kv(h100, prof):
    mha = attention_time(h100, prof, 1, 32, 32, 4096, 4096, 128, causal=True)
    gqa = attention_time(h100, prof, 1, 32, 8, 4096, 4096, 128, causal=True)
    assert gqa.bytes < mha.bytes
    assert gqa.time_s <= mha.time_s
    with pytest.raises(ValueError, match="divisible"):
        attention_time(h100, prof, 1, 32, 5, 128, 128, 64, causal=False)


def test_head_dim_64_less_efficient_than_128(h100, prof):
    d64 = attention_time(h100, prof, 4, 32, 32, 4096, 4096, 64, causal=False)
    d128 = attention_time(h100, prof, 4, 32, 32, 4096, 4096, 128, causal=False)
    assert d64.achieved_flops < d128.achieved_flops


def test_decode_is_latency_or_memory_bound(h100, prof):
    kt = attention_time(h100, prof, 1, 32, 8, 1, 4096, 128, causal=True)
    assert kt.bound in ("latency", "memory")
    assert kt.time_s >= prof.gemm_latency_s


def test_wide_heads_run_the_padded_kernel(h100, prof):
    """cuDNN-class kernels: d=160 costs what d=192 does, whose backward runs at the d=256 per-FLOP rate."""
    def t(d, backward, p=prof, **kw):
        return attention_time(h100, p, 4, 16, 16, 4096, 4096, d, causal=True, backward=backward, **kw).time_s
    assert t(160, False) == pytest.approx(t(192, False))
    assert t(160, True) == pytest.approx(t(192, True))
    assert t(192, True) / 192 == pytest.approx(t(256, True) / 256, rel=0.1)   # per-score softmax work differs
    assert t(128, True) / 128 < 0.75 * t(192, True) / 192
    # MLA (q/k and v widths differ): its own kernels, the rate interpolated at the mean width
    assert t(160, True, mixed_width=True) < 0.8 * t(160, True)


def test_fa2_interpolates_wide_heads(h100, prof):
    """FlashAttention-2 compiles kernels per width: no padding, d=160 strictly cheaper than d=192."""
    from dataclasses import replace
    fa2 = replace(prof, attn_wide_head_padded=False)
    args = (h100, fa2, 4, 16, 16, 4096, 4096)
    for backward in (False, True):
        assert (attention_time(*args, 160, causal=True, backward=backward).time_s
                < attention_time(*args, 192, causal=True, backward=backward).time_s)
    with pytest.raises(ValueError, match="attn_wide_head_padded"):
        replace(prof, attn_wide_head_padded="yes")
