"""The `fused` kernel profile against torch.compile'd Hugging Face Llama steps measured on an H100.

Usage: python benchmarks/compiled_step_check.py
Inductor fuses norms, rotary and SwiGLU as Megatron/TE do (but keeps q/k/v as separate GEMMs and an
fp32 loss): the closest fused stack we could run. Step time only (the fused profile's memory assumes
Megatron's fp32 gradient buffer, which this stack does not have).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "benchmarks"))
from sim.single import StepOptions, simulate  # noqa: E402
from train_step_accuracy import measured_steps, model_of  # noqa: E402

DATA = ROOT / "data/measured/2026-11-23_h100/train_steps_compiled.jsonl"


def main() -> int:
    print("| model | batch x seq | measured (compiled) | fused profile | error | eager profile | error |")
    print("|---|---|---|---|---|---|---|")
    for r in measured_steps(DATA):
        m = model_of(r)
        t = r["step_s_median"]
        cells = []
        for kernels in ("fused", "eager"):
            res = simulate(m, "h100-sxm", StepOptions(batch=r["batch"], seq_len=r["seq"], micro_batch=r["batch"],
                                                      kernels=kernels, optimizer_state_dtype="bf16"))
            cells.append(f"{res.step_time_s * 1e3:.1f} ms | {(res.step_time_s / t - 1) * 100:+.1f}%")
        print(f"| {r['model']} | {r['batch']}x{r['seq']} | {t * 1e3:.1f} ms | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
