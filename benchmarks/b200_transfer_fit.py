"""Where hardware.perf.profile.BLACKWELL_2025_SCALE comes from (Blackwell software of early 2025), and its check.

Usage: python benchmarks/b200_transfer_fit.py
Jarmusch & Chandrasekaran 2025 (arXiv 2512.02189) measured B200 training a GPT-1.3B model 1.55x faster than an
H200 (mixed precision). With the H100 profile's tensor-core fractions on the B200's datasheet peaks the model
says ~2.1x. Scale k on the B200's GEMM and attention fractions, chosen so the model gives 1.55x on a GPT-1.3B
step (24 layers, hidden 2048, 16 heads, eager PyTorch, batch 8 x 1024: the paper's exact setup is not given).
The NeMo 25.02 DGX-B200 rows in benchmarks/nemo_held_out.py are the held-out check.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardware.catalog import get_device  # noqa: E402
from hardware.perf.profile import REFERENCE_PROFILE, PROFILE_DIR, PerfProfile, with_tensor_scale  # noqa: E402
from sim.single import StepOptions, simulate  # noqa: E402
from workloads.catalog import get_model  # noqa: E402

PUBLISHED_SPEEDUP = 1.55


def unscaled_b200() -> PerfProfile:
    ref = PerfProfile.from_json(PROFILE_DIR / f"{REFERENCE_PROFILE}.json")
    return dataclasses.replace(ref, device="b200", transferred_from=ref.device)


def scaled(base: PerfProfile, k: float) -> PerfProfile:
    return with_tensor_scale(base, k, f"tensor-core fractions x{k}")


def main() -> int:
    get_device("b200")
    m = dataclasses.replace(get_model("gpt2"), name="gpt-1.3b", n_layers=24, hidden=2048, n_heads=16, n_kv_heads=16,
                            ffn_hidden=8192, head_dim=128, max_seq=2048, n_positions=2048)
    opts = StepOptions(batch=8, seq_len=1024, micro_batch=8, kernels="eager", optimizer_state_dtype="fp32")
    h200 = simulate(m, "h200", opts).step_time_s
    base = unscaled_b200()
    best = min((abs(h200 / simulate(m, "b200", opts, profile=scaled(base, k / 1000)).step_time_s - PUBLISHED_SPEEDUP),
                k / 1000) for k in range(400, 1001, 5))[1]
    print(f"unscaled: B200 {h200 / simulate(m, 'b200', opts, profile=base).step_time_s:.2f}x H200; "
          f"scale {best:.3f} gives {h200 / simulate(m, 'b200', opts, profile=scaled(base, best)).step_time_s:.2f}x "
          f"(published {PUBLISHED_SPEEDUP}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
