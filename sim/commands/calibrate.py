"""`roofsim calibrate`: measure this GPU (or read measurements) and fit a perf profile, with hold-out errors.

  roofsim calibrate [--out PROFILE.json] [--data MICROBENCH.jsonl] [--budget-s 480] [--device-name NAME]
                    [--holdout hidden|none]

Without --data it runs hardware.microbench (needs PyTorch and a CUDA GPU) and keeps the raw JSONL
beside the profile (`<profile stem>_microbench_<date>.jsonl`). The profile is fitted on all records
(hardware.calibration.fit_profile); with --holdout hidden every hold-out group (a GEMM hidden size, an
attention shape, a memory-op tensor size) is also left out in turn, refitted without and predicted: those
held-out errors go into the profile (residuals "cv_*") and set its error bands (sim.uncertainty).
Use the result with: roofsim simulate --hardware <device> --profile PROFILE.json

  roofsim calibrate --collectives [--gpus N] [--collective-data FILE.jsonl] [--cluster-out CLUSTER.yaml]
                    [--base-cluster NAME] [--budget-s 480]

The multi-GPU half: without --collective-data (which implies --collectives) it runs
benchmarks/device/collectives.py through torchrun on N local GPUs (default: all; NVLink multicast kept off)
and keeps the raw JSONL beside the cluster file (`<cluster stem>_collectives_<date>.jsonl`). It fits the
scale-up efficiency and the per-call host floor of a one-node cluster (topologies.calibrate_fit), prints
fit vs held-out errors per op and writes a cluster YAML (`base:` + the fitted fields).
Use the result with: roofsim simulate --cluster CLUSTER.yaml
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import subprocess
import sys
from pathlib import Path

# nvidia-smi / torch device name fragment -> catalog name (first match wins; most specific first).
DEVICE_HINTS = (("GB200", "gb200"), ("B200", "b200"), ("H200", "h200"), ("H800", "h800"),
                ("H100 PCIe", "h100-pcie"), ("H100", "h100-sxm"), ("A100-SXM4-40GB", "a100-sxm-40gb"),
                ("A100 80GB PCIe", "a100-pcie-80gb"), ("A100", "a100-sxm-80gb"), ("L40S", "l40s"),
                ("RTX 4090", "rtx-4090"), ("MI300X", "mi300x"), ("V100", "v100-sxm2-32gb"))
# NVLink multicast off while measuring collectives (the variables benchmarks/device/collectives.py requires).
MULTICAST_OFF = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}
COLLECTIVES_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "device" / "collectives.py"
ORDER = ("gemm m>=128", "gemm m<128", "gemm peak", "attn fwd", "attn bwd", "attn fwd+bwd", "memory op",
         "memory copy")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("calibrate", help="measure this GPU and fit a perf profile",
                              description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None,
                   help="profile JSON to write (default: profile-<device>-<date>.json)")
    p.add_argument("--data", type=Path, default=None,
                   help="fit an existing microbenchmark JSONL instead of measuring")
    p.add_argument("--budget-s", type=float, default=480.0, help="seconds the microbenchmarks may take")
    p.add_argument("--device-name", default=None,
                   help="catalog device the measurements are of (default: from the device name in the data)")
    p.add_argument("--holdout", choices=("hidden", "none"), default="hidden",
                   help="hidden: leave-one-group-out errors (slower, sets the error bands); none: fit only")
    c = p.add_argument_group("collectives (multi-GPU): fit a one-node cluster's link parameters")
    c.add_argument("--collectives", action="store_true",
                   help="measure NCCL collectives on the local GPUs (torchrun) and fit a cluster YAML")
    c.add_argument("--gpus", type=int, default=None, help="local GPUs to measure on (default: all)")
    c.add_argument("--collective-data", type=Path, default=None,
                   help="fit an existing benchmarks/device/collectives.py JSONL instead of measuring")
    c.add_argument("--cluster-out", type=Path, default=None,
                   help="cluster YAML to write (default: cluster-<base>-calibrated-<date>.yaml)")
    c.add_argument("--base-cluster", default=None,
                   help="catalog cluster the fit starts from (default: a one-node cluster of the measured device)")


def device_name_of(records: list[dict], override: str | None = None) -> str:
    """Catalog name of the measured device: --device-name, else from the records' "device" field."""
    from hardware.catalog import get_device
    if override:
        return get_device(override).name
    names = sorted({str(r.get("device", "")) for r in records if r.get("device")})
    for raw in names:
        for fragment, name in DEVICE_HINTS:
            if fragment.lower() in raw.lower():
                return get_device(name).name
    raise ValueError(f"cannot tell which catalog device {', '.join(names) or '(unnamed)'} is; "
                     "pass --device-name (see the hardware catalog)")


def measure(raw: Path, budget_s: float) -> None:
    """Run the microbenchmark suite on the local CUDA GPU into `raw` (ValueError when that is impossible)."""
    try:
        import torch
    except ImportError:
        raise ValueError("measuring needs PyTorch with CUDA (torch is not installed); "
                         "pass --data FILE.jsonl to fit existing measurements") from None
    if not torch.cuda.is_available():
        raise ValueError("measuring needs a CUDA GPU (torch.cuda.is_available() is False); "
                         "pass --data FILE.jsonl to fit existing measurements")
    if budget_s <= 0:
        raise ValueError(f"--budget-s must be positive, got {budget_s}")
    from hardware import microbench
    raw.parent.mkdir(parents=True, exist_ok=True)
    microbench.main(["--out", str(raw), "--budget-s", str(budget_s)])


def calibrated_range(records: list[dict]) -> dict[str, float]:
    """The shapes the records cover (sim.uncertainty flags predictions outside them)."""
    from hardware.calibration import MEMOPS, is_eager_rmsnorm
    gm = [r["m"] for r in records if r["kind"] == "gemm"]
    at = [r for r in records if r["kind"] == "attn"]
    mem = [MEMOPS[r["op"]][0](r) for r in records
           if r["kind"] == "memop" and r.get("op") in MEMOPS and not is_eager_rmsnorm(r) and r.get("op") != "copy"]
    out: dict[str, float] = {}
    if gm:
        out["gemm_m_min"] = float(min(gm))
    if at:
        out.update(attn_s_min=float(min(r["s"] for r in at)), attn_s_max=float(max(r["s"] for r in at)),
                   attn_d_min=float(min(r["d"] for r in at)), attn_d_max=float(max(r["d"] for r in at)))
    if mem:
        out["memory_bytes_min"] = float(min(mem))
    return out


def fit(records: list[dict], dev, source: str, holdout: str):
    """Fitted profile (with hold-out residuals and the calibrated range) and its in-sample / held-out errors."""
    from hardware.calibration import (NOTES, cross_validate, fit_profile, relative_errors, samples,
                                      with_holdout_residuals)
    from hardware.perf import profile_for
    # Parameters the records do not inform (e.g. the fused-RMSNorm fraction when only eager RMSNorm was
    # measured) keep the values of the device's shipped (or transferred) profile.
    base = dataclasses.replace(profile_for(dev), residuals={})
    prof = fit_profile(records, dev, source=source, base=base)
    insample = relative_errors(samples(records, dev), prof)
    cv = cross_validate(records, dev, base=base) if holdout == "hidden" else {}
    if cv:
        prof = with_holdout_residuals(prof, cv)
    res = {k: dict(v) for k, v in prof.residuals.items()}
    res["calibrated_range"] = calibrated_range(records)
    notes = NOTES + (" cv_* residuals: leave-one-group-out (GEMM hidden size, attention shape, memory-op size)."
                     if cv else " No hold-out errors: bands use in-sample quantiles, widened.")
    return dataclasses.replace(prof, residuals=res, notes=notes), insample, cv


def table(prof, insample: dict, cv: dict) -> str:
    """Markdown table of fit and hold-out errors per kind, with the 90% band the profile now implies."""
    from hardware.calibration import error_stats
    from sim.uncertainty import kernel_band
    lines = ["| kind | n | fit median abs % | fit p90 % | hold-out n | hold-out median abs % | hold-out p90 % "
             "| 90% band of truth/pred |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    kinds = [k for k in ORDER if k in insample] + sorted(set(insample) - set(ORDER))
    for kind in kinds:
        s, c = error_stats(insample[kind]), error_stats(cv.get(kind, []))
        held = (f"{c['n']} | {100 * c['median_abs']:.1f} | {100 * c['p90_abs']:.1f}" if c["n"] else "0 | - | -")
        lo, hi = kernel_band(kind, prof)
        lines.append(f"| {kind} | {s['n']} | {100 * s['median_abs']:.1f} | {100 * s['p90_abs']:.1f} | {held} "
                     f"| {lo:.2f} - {hi:.2f} |")
    return "\n".join(lines)


def measure_collectives(raw: Path, gpus: int | None, budget_s: float) -> None:
    """Run benchmarks/device/collectives.py through torchrun on `gpus` local GPUs into `raw` (ValueError when impossible)."""
    try:
        import torch
    except ImportError:
        raise ValueError("measuring collectives needs PyTorch with CUDA (torch is not installed); "
                         "pass --collective-data FILE.jsonl to fit existing measurements") from None
    have = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if have < 2:
        raise ValueError(f"measuring collectives needs >= 2 CUDA GPUs, found {have}; "
                         "pass --collective-data FILE.jsonl to fit existing measurements")
    n = have if gpus is None else gpus
    if not 2 <= n <= have:
        raise ValueError(f"--gpus must be between 2 and the {have} local GPUs, got {n}")
    if budget_s <= 0:
        raise ValueError(f"--budget-s must be positive, got {budget_s}")
    if not COLLECTIVES_SCRIPT.exists():
        raise ValueError(f"collective benchmark {COLLECTIVES_SCRIPT} is missing (needs a source checkout)")
    raw.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
           str(COLLECTIVES_SCRIPT), "--out", str(raw), "--budget-s", str(budget_s)]
    print("measuring: " + " ".join(cmd), flush=True)
    # NB: collectives.py checks its own budget between sizes; the timeout only catches a hung NCCL init.
    try:
        rc = subprocess.run(cmd, env={**os.environ, **MULTICAST_OFF}, timeout=budget_s + 300).returncode
    except subprocess.TimeoutExpired:
        raise ValueError(f"collective benchmark did not finish in {budget_s + 300:.0f} s") from None
    if rc != 0:
        raise ValueError(f"collective benchmark failed (torchrun exit {rc}); see its output above")


def run_collectives(args) -> int:
    """`--collectives`: measure (or read) collectives, fit the cluster's link parameters, write the YAML."""
    from topologies.calibrate_fit import (base_cluster_for, error_rows, error_table, fit_cluster, large_busbw,
                                          load_collectives, to_yaml)
    from topologies.catalog import get_cluster
    from topologies.loader import load_cluster
    today = _dt.date.today().isoformat()
    data = args.collective_data
    if data is None:
        stem = args.cluster_out.with_suffix("") if args.cluster_out else Path(f"cluster-calibrated-{today}")
        data = Path(f"{stem}_collectives_{today}.jsonl")
        measure_collectives(data, args.gpus, args.budget_s)
        print(f"raw measurements: {data}")
    records, env = load_collectives(data)
    world = records[0]["world"]
    if args.base_cluster:
        base_ref, base = args.base_cluster, get_cluster(args.base_cluster)
    else:
        dev = device_name_of([env, *records], args.device_name)
        base_ref, base = base_cluster_for(dev, world)
    if base.gpus < world:
        raise ValueError(f"base cluster {base.name} has {base.gpus} GPUs, the data {world} ranks")
    fit_ = fit_cluster(records, base)
    out = args.cluster_out or Path(f"cluster-{base.name}-calibrated-{today}.yaml")
    command = "roofsim calibrate --collectives --collective-data " + str(data) + \
        (f" --base-cluster {args.base_cluster}" if args.base_cluster else "") + f" --cluster-out {out}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_yaml(fit_, base_ref, str(data), today, command, env))
    loaded = load_cluster(out)   # what --cluster will read
    meas, pred = large_busbw(records, loaded)
    print(f"### {Path(data).name} ({env.get('device', '?')}, {world} ranks) on base {base_ref}: "
          f"scale_up.efficiency {base.scale_up.efficiency:.3f} -> {fit_.efficiency:.3f} ({fit_.n_efficiency} rows), "
          f"host floor {base.host_floor * 1e6:.1f} us -> {fit_.host_floor * 1e6:.2f} us ({fit_.n_host_floor} rows)\n")
    print("Median |predicted / measured time - 1|; fit set: all_reduce + send/recv, held out: the other ops\n")
    print(error_table(error_rows(records, {"base": base, "calibrated": loaded}), ["base", "calibrated"]))
    print(f"\nlargest all_reduce: measured busbw {meas / 1e9:.1f} GB/s, predicted {pred / 1e9:.1f} GB/s "
          f"({100 * (pred / meas - 1):+.1f}%)")
    print(f"wrote {out}; use it with: roofsim simulate --cluster {out}")
    return 0


def run(args) -> int:
    if args.collectives or args.collective_data is not None:
        return run_collectives(args)
    from hardware.calibration import load_microbench
    from hardware.catalog import get_device
    today = _dt.date.today().isoformat()
    data = args.data
    if data is None:
        stem = args.out.with_suffix("") if args.out else Path(f"profile-{args.device_name or 'gpu'}-{today}")
        data = Path(f"{stem}_microbench_{today}.jsonl")
        measure(data, args.budget_s)
        print(f"raw measurements: {data}")
    records = load_microbench(data)
    if not any(r["kind"] in ("gemm", "peak_gemm", "attn", "memop", "peak_mem") for r in records):
        raise ValueError(f"{data}: no microbenchmark records to fit (gemm, attn, memop, peak_*)")
    dev = get_device(device_name_of(records, args.device_name))
    out = args.out or Path(f"profile-{dev.name}-{today}.json")
    source = f"fitted on all of {Path(data).name} ({len(records)} records) by roofsim calibrate on {today}"
    prof, insample, cv = fit(records, dev, source, args.holdout)
    out.parent.mkdir(parents=True, exist_ok=True)
    prof.to_json(out)
    print(f"### {Path(data).name} on {dev.name}: predicted / measured - 1\n")
    print(table(prof, insample, cv))
    print(f"\nwrote {out}; use it with: roofsim simulate --hardware {dev.name} --profile {out}")
    return 0
