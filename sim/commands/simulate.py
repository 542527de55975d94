"""`roofsim simulate`: predict one training step (one GPU, or a cluster with a parallelism plan)."""
from __future__ import annotations

import argparse
import json

DEFAULT_MODEL = "llama3-8b"
DEFAULT_HARDWARE = "h100-sxm"
DEFAULT_SEQ_LEN = 4096


def add_step_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by `simulate`, `roofline` and `report`."""
    p.add_argument("--model", default=DEFAULT_MODEL, help="catalog name or path to a HF config.json")
    p.add_argument("--hardware", default=DEFAULT_HARDWARE, help="device name or device .yaml/.json")
    p.add_argument("--batch", type=int, default=None, help="sequences per optimizer step (per replica)")
    p.add_argument("--seq-len", type=int, default=None,
                   help=f"tokens per sequence (default {DEFAULT_SEQ_LEN}, or the model's learned positions if fewer)")
    p.add_argument("--micro-batch", type=int, default=None)
    p.add_argument("--recompute", default=None,
                   help="none | selective (core attention) | full | Megatron-Core recompute modules, comma "
                        "separated: core_attn, layernorm, mla_up_proj, moe_act, mlp, shared_experts")
    p.add_argument("--dtype", default="bf16", help="bf16 | fp16 | fp8 | fp32")
    p.add_argument("--optimizer-state-dtype", default=None, help="fp32 (mixed precision) | bf16 (pure bf16)")
    p.add_argument("--kernels", choices=("fused", "eager"), default="fused",
                   help="fused: Megatron/TE kernels; eager: Hugging Face in PyTorch eager")
    p.add_argument("--profile", default=None, help="device perf profile JSON written by `roofsim calibrate`")
    p.add_argument("--attention-kernel", choices=("native", "fa2", "triton-v1"), default="native",
                   help="attention kernel class: native (the profile's own: cuDNN on Hopper), fa2 "
                        "(FlashAttention-2 rates, also 2024 NeMo/TE stacks), triton-v1 (llm-foundry 2023)")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("simulate", help="predict one training step",
                              description="Predict step time, MFU and peak memory of one training step.")
    add_step_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--ops", action="store_true", help="include the per-operator table")
    try:
        from sim.commands import distributed_args
        distributed_args.add_arguments(p)
    except ImportError:
        pass


def resolve_seq_len(args) -> int:
    """--seq-len, else DEFAULT_SEQ_LEN capped at the model's learned position table (GPT-3, OPT: 2048)."""
    if args.seq_len is None:
        from workloads.catalog import get_model
        m = get_model(args.model)
        args.seq_len = min(DEFAULT_SEQ_LEN, m.max_seq) if m.position == "learned" else DEFAULT_SEQ_LEN
    return args.seq_len


def single_options(args):
    """StepOptions from parsed flags, with the built-in defaults filled in."""
    from sim.single import StepOptions
    resolve_seq_len(args)
    batch = args.batch if args.batch is not None else 8
    return StepOptions(batch=batch, seq_len=args.seq_len,
                       micro_batch=args.micro_batch if args.micro_batch is not None else batch,
                       recompute=args.recompute or "none", dtype=args.dtype,
                       optimizer_state_dtype=args.optimizer_state_dtype or "fp32", kernels=args.kernels,
                       attention_kernel=getattr(args, "attention_kernel", "native"))


def run_step(args):
    """Simulate what the flags describe: distributed when a cluster or plan is given."""
    resolve_seq_len(args)
    try:
        from sim.commands import distributed_args
        if distributed_args.is_distributed(args):
            return distributed_args.simulate(args)
    except ImportError:
        pass
    from sim.single import simulate
    return simulate(args.model, args.hardware, single_options(args), profile=load_user_profile(args))


def load_user_profile(args, device_name: str | None = None):
    """The --profile file for the device, or None for the shipped one."""
    if not getattr(args, "profile", None):
        return None
    from hardware.calibration import load_profile
    from hardware.catalog import get_device
    return load_profile(args.profile, get_device(device_name or args.hardware))


def run(args) -> int:
    from sim.report_text import format_step
    result = run_step(args)
    if args.json:
        print(json.dumps(result.to_dict(with_ops=args.ops), indent=2, default=float))
    else:
        print(format_step(result, ops=True))
    return 0
