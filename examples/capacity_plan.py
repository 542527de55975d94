"""Plan training Llama 3 405B on 15T tokens on H100s: days, GPU-hours, cost, energy; GPUs for a deadline.

Usage: python examples/capacity_plan.py [OUT_DIR] [GPU_COUNTS] [TOKENS] [DEADLINE_DAYS]
       (defaults: ./out 1024,2048,4096,8192,16384 15T 90)
Throughput here is the data-parallel PLACEHOLDER (sim.capacity); swap in another `n_gpus -> StepResult`
function as `throughput` to use a distributed simulation.
"""
import json
import sys
from pathlib import Path

from hardware.catalog import get_device
from sim.capacity import memory_wall, placeholder_throughput, plan_capacity
from sim.plots import plot_scaling
from sim.single import StepOptions


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "out")
    gpus = argv[2] if len(argv) > 2 else "1024,2048,4096,8192,16384"
    tokens = argv[3] if len(argv) > 3 else "15T"
    deadline = float(argv[4]) if len(argv) > 4 else 90.0
    device = get_device("h100-sxm")
    throughput = placeholder_throughput("llama3-405b", device, StepOptions(batch=1, seq_len=8192, micro_batch=1,
                                                                           recompute="selective"))
    wall = memory_wall(device, seq_len=8192, models=["llama3-8b", "llama3-70b", "llama3-405b"])
    plan = plan_capacity(throughput, tokens, gpus, device, price_per_gpu_hour=2.5, deadline_days=deadline,
                         wall=wall)
    out.mkdir(parents=True, exist_ok=True)
    for r in plan.rows:
        print(f"{r.n_gpus:>6} GPUs: {r.days:7.1f} days, {r.gpu_hours:13,.0f} GPU-hours, ${r.cost:13,.0f}, "
              f"{r.energy_mwh:8,.0f} MWh, MFU {r.mfu * 100:.1f} %")
    if plan.deadline and plan.deadline.n_gpus:
        print(f"{deadline:g}-day deadline: {plan.deadline.n_gpus} GPUs")
    print("largest of the scanned models on one GPU:", wall.largest.name if wall.largest else "none")
    (out / "capacity_plan.json").write_text(json.dumps(plan.to_dict(), indent=2, default=float))
    plot_scaling(plan.rows, out / "scaling.png", title="llama3-405b on h100-sxm (placeholder scaling)")
    print(f"wrote {out / 'capacity_plan.json'} and {out / 'scaling.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
