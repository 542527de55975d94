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
