"""Held-out check on published NeMo runs not in shared/validation: DGX B200 / H100 (25.02) and long sequences.

Usage: python benchmarks/nemo_held_out.py
Source: NVIDIA NeMo Framework performance summary, container 25.02, pre-training at FP8 with per-tensor
current scaling (docs.nvidia.com/nemo-framework/user-guide/latest/performance/performance_summary.html,
read 2026-11-23; plans as published there). Nothing was fitted to these rows; they were added after every
model choice in this repository, so they measure how the simulator carries to a newer GPU and stack.
Assumed where the page is silent: no activation recompute, distributed optimizer, TP comm overlap when
TP > 1, sequence parallel when TP > 1, the B200 profile transferred from the H100 fit. These are early-2025
stacks: Blackwell rows use hardware.perf.profile.blackwell_2025 (tensor rates x0.655, set from arXiv 2512.02189);
today's stacks run at the default, unscaled rates (benchmarks/nemo26_held_out.py).
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardware.catalog import get_device  # noqa: E402
from hardware.perf.profile import blackwell_2025, profile_for  # noqa: E402
from sim.distributed import ClusterOptions, simulate_cluster  # noqa: E402
from sim.plan import ParallelPlan  # noqa: E402


def era_profile(device: str):
    """The 2025-software profile for Blackwell devices, None (the default) for the others."""
    return blackwell_2025(profile_for(get_device(device))) if device in ("b200", "gb200") else None

# (system, model, gpus, gbs, mbs, seq, tp, pp, cp, vp, ep, published tokens/s/GPU)
ROWS = [
    ("dgx-b200-superpod", "gpt3-175b", 512, 2048, 2, 2048, 4, 4, 1, 6, 1, 1600),
    ("dgx-b200-superpod", "llama3-8b", 8, 128, 2, 8192, 1, 1, 1, 1, 1, 26006),
    ("dgx-b200-superpod", "llama3-70b", 64, 128, 1, 8192, 2, 4, 2, 5, 1, 3062),
    ("dgx-b200-superpod", "llama3-405b", 128, 64, 1, 8192, 4, 8, 2, 8, 1, 625),
    ("dgx-b200-superpod", "nemotron-4-15b", 64, 256, 2, 4096, 1, 1, 1, 1, 1, 14760),
    ("dgx-b200-superpod", "nemotron-4-340b", 128, 32, 1, 4096, 8, 4, 1, 12, 1, 602),
    ("dgx-b200-superpod", "mixtral-8x7b", 64, 256, 2, 4096, 1, 1, 1, 1, 8, 15457),
    ("dgx-h100-superpod", "gpt3-175b", 512, 2048, 2, 2048, 4, 8, 1, 6, 1, 866),
]


# Long sequences with context parallelism: NeMo 24.12 "Long Sequence Performance", LLAMA2-7B FP8 on DGX H100
# (docs.nvidia.com/nemo-framework/user-guide/24.12/nemotoolkit/performance/performance_long_sequence.html),
# the "with CP" column: (seq K tokens, GPUs, tp, pp, dp, cp, published model TFLOP/s/GPU). The page gives no
# batch: GBS = 8 x DP assumed (MBS 1). Its TFLOP/s count attention as non-causal (12*L*h*s per token, as
# the 4K row and NeMo's summary table show), so predictions are converted with the same count. The 4K row
# (4 GPUs, half a node) is left out: the cluster model scales in whole 8-GPU nodes.
LONG = [(8, 8, 1, 2, 4, 1, 730), (16, 16, 2, 1, 8, 1, 660), (32, 32, 2, 1, 8, 2, 610), (64, 64, 4, 1, 8, 2, 574),
        (128, 128, 4, 1, 8, 4, 555), (256, 256, 4, 1, 8, 8, 549), (512, 512, 8, 1, 4, 16, 549),
        (1024, 1024, 8, 1, 4, 32, 536)]


# NeMo 25.04 on DGX-GB200 (same page, container 25.04; FP8): the rows that fit in one NVL72 NVLink domain.
# (model, GPUs, GBS, MBS, seq, plan keywords, published tokens/s/GPU); FSDP=1 rows as ZeRO-3.
GB200 = [("llama3-8b", 8, 128, 2, 8192, {}, 33099), ("llama3-70b", 64, 128, 1, 8192, {"zero": 3, "fsdp": True}, 4035),
         ("nemotron-4-15b", 64, 256, 2, 4096, {}, 17809), ("mixtral-8x7b", 64, 256, 2, 4096, {"ep": 8}, 19275)]


def gb200() -> list[float]:
    from sim.commands.distributed_args import one_node
    print("\n| system | model | GPUs | plan | published tok/s/GPU | predicted | error | fits |")
    print("|---|---|---|---|---|---|---|---|")
    errs = []
    for model, n, gbs, mbs, seq, kw, pub in GB200:
        plan = ParallelPlan(dp=n, micro_batch=mbs, global_batch=gbs, distributed_optimizer=True, **kw)
        r, _ = simulate_cluster(model, one_node("gb200", n), plan, ClusterOptions(seq_len=seq, dtype="fp8"), gpus=n,
                                profile=era_profile("gb200"))
        pred = r.tokens_per_s / r.n_gpus
        errs.append(abs(pred / pub - 1))
        label = ", ".join(f"{k}={v}" for k, v in kw.items()) or "dp only"
        print(f"| GB200 NVL72 (one domain) | {model} | {n} | dp{n} {label} mbs{mbs} | {pub} | {pred:.0f} | "
              f"{(pred / pub - 1) * 100:+.1f}% | {'yes' if r.memory.fits else 'NO'} |")
    print(f"\nmean absolute error on GB200: {statistics.mean(errs) * 100:.1f}% over {len(errs)} rows")
    return errs


def nemo_flops_per_token(model: str, seq: int) -> float:
    """NeMo's model FLOPs per token for a Llama: 6 x non-embedding params + LM head + non-causal attention."""
    from workloads.catalog import get_model
    m = get_model(model)
    nonemb = m.n_layers * (4 * m.hidden * m.hidden + 3 * m.hidden * m.ffn_hidden)
    return 6 * nonemb + 6 * m.hidden * m.vocab + 12 * m.n_layers * m.hidden * seq


def long_sequences() -> dict[str, list[float]]:
    """Both attention rates: today's cuDNN (the profile's own, 'native') and FlashAttention-2-class ('fa2')."""
    kernels = ("native", "fa2")
    print("\n| seq | GPUs | plan | published TFLOP/s/GPU | " + " | ".join(f"predicted ({k}) | error" for k in kernels)
          + " | fits |")
    print("|---|---|---|---|" + "---|---|" * len(kernels) + "---|")
    errs: dict[str, list[float]] = {k: [] for k in kernels}
    for k, n, tp, pp, dp, cp, pub in LONG:
        seq = k * 1024
        plan = ParallelPlan(tp=tp, pp=pp, dp=dp, cp=cp, micro_batch=1, global_batch=8 * dp,
                            sequence_parallel=tp > 1, recompute="none", distributed_optimizer=True, tp_overlap=tp > 1)
        cells = []
        for kern in kernels:
            r, _ = simulate_cluster("llama2-7b", "dgx-h100-superpod", plan,
                                    ClusterOptions(seq_len=seq, dtype="fp8", attention_kernel=kern), gpus=n)
            pred = r.tokens_per_s / r.n_gpus * nemo_flops_per_token("llama2-7b", seq) / 1e12
            errs[kern].append(abs(pred / pub - 1))
            cells.append(f"{pred:.0f} | {(pred / pub - 1) * 100:+.1f}%")
        print(f"| {k}K | {n} | tp{tp} pp{pp} dp{dp} cp{cp} | {pub} | " + " | ".join(cells)
              + f" | {'yes' if r.memory.fits else 'NO'} |")
    for kern, e in errs.items():
        print(f"\nmean absolute error, LLAMA2-7B long sequences (H100), attention '{kern}': "
              f"{statistics.mean(e) * 100:.1f}% over {len(e)} rows")
    return errs


def main() -> int:
    print("| system | model | GPUs | plan | published tok/s/GPU | predicted | error | fits |")
    print("|---|---|---|---|---|---|---|---|")
    errs = {}
    for cl, model, n, gbs, mbs, seq, tp, pp, cp, vp, ep, pub in ROWS:
        dp = n // (tp * pp * cp)
        plan = ParallelPlan(tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, vp=vp, schedule="interleaved" if vp > 1 else "1f1b",
                            sequence_parallel=tp > 1, micro_batch=mbs, global_batch=gbs, recompute="none",
                            distributed_optimizer=True, tp_overlap=tp > 1)
        try:
            r, _ = simulate_cluster(model, cl, plan, ClusterOptions(seq_len=seq, dtype="fp8"), gpus=n,
                                    profile=era_profile("b200" if "b200" in cl else "h100-sxm"))
        except ValueError as exc:
            print(f"| {cl} | {model} | {n} | - | {pub} | not expressed: {exc} | | |")
            continue
        pred = r.tokens_per_s / r.n_gpus
        err = pred / pub - 1
        errs.setdefault(cl, []).append(abs(err))
        print(f"| {cl} | {model} | {n} | tp{tp} pp{pp} cp{cp} vp{vp} ep{ep} dp{dp} mbs{mbs} | {pub} | {pred:.0f} | "
              f"{err * 100:+.1f}% | {'yes' if r.memory.fits else 'NO'} |")
    for cl, e in errs.items():
        print(f"\nmean absolute error on {cl}: {statistics.mean(e) * 100:.1f}% over {len(e)} rows")
    gb200()
    long_sequences()
    return 0


if __name__ == "__main__":
    sys.exit(main())
