"""Plain-text rendering of a StepResult for the terminal (every number with its unit)."""
from __future__ import annotations

from sim.results import StepResult

GiB = 2**30


def _t(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def format_step(r: StepResult, ops: bool = True, top: int = 15) -> str:
    c = r.config
    lines = [
        f"roofsim: {r.model} on {r.n_gpus} x {r.hardware}",
        "  " + ", ".join(f"{k}={v}" for k, v in c.items()),
        "",
        f"  step time        {_t(r.step_time_s)}" + (
            f"   (90% band {_t(r.step_time_s_low)} .. {_t(r.step_time_s_high)})" if r.step_time_s_low else ""),
        f"  throughput       {r.tokens_per_s:,.0f} tokens/s  ({r.tokens_per_s / r.n_gpus:,.0f} tokens/s/GPU)",
        f"  MFU              {r.mfu * 100:.1f} %   (model FLOPs / (time x {r.peak_flops / 1e12:.0f} TFLOP/s peak))",
        f"  HFU              {r.hfu * 100:.1f} %   (executed FLOPs, recompute included)",
        f"  model TFLOP/s    {r.tflops_per_gpu:.0f} per GPU",
        f"  peak memory      {r.memory.peak / GiB:.2f} GiB of {r.memory.capacity / GiB:.2f} GiB usable"
        f"  -> {'fits' if r.memory.fits else 'DOES NOT FIT (over by %.2f GiB)' % (r.memory.overflow / GiB)}",
        "",
        "  memory per GPU at the peak:",
    ]
    for k, v in r.memory.by_category().items():
        if v:
            lines.append(f"    {k:<14}{v / GiB:9.2f} GiB")
    if r.memory.host_bytes:
        lines.append(f"    (offloaded to host: {r.memory.host_bytes / GiB:.2f} GiB)")
    lines += ["", "  where the time goes (seconds per step, summed over streams):"]
    total = sum(r.breakdown.values()) or 1.0
    for k, v in sorted(r.breakdown.items(), key=lambda kv: -kv[1]):
        lines.append(f"    {k:<22}{_t(v):>12}  {v / total * 100:5.1f} %")
    if ops and r.ops:
        lines += ["", f"  top {min(top, len(r.ops))} operators:",
                  f"    {'operator':<34}{'phase':<6}{'count':>7}{'time':>12}{'share':>8}  {'TFLOP/s':>8}  bound"]
        dev_total = sum(o.time_s for o in r.ops) or 1.0
        for o in r.ops[:top]:
            lines.append(f"    {o.name[:33]:<34}{o.phase:<6}{o.count:>7}{_t(o.time_s):>12}"
                         f"{o.time_s / dev_total * 100:7.1f}%  {o.achieved_flops / 1e12:8.1f}  {o.bound}")
    for n in r.notes:
        lines.append(f"  note: {n}")
    if r.provenance:
        lines += ["", "  from: " + "; ".join(f"{k}={v}" for k, v in r.provenance.items())]
    return "\n".join(lines)
