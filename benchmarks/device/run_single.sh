#!/bin/bash
# One device call on a single-GPU machine: env, microbench (A), HF train steps (B).
# usage: bash benchmarks/device/run_single.sh OUTDIR MB_BUDGET_S TRAIN_BUDGET_S [--big]
O=${1:-$OUT}; MB=${2:-230}; TR=${3:-230}; BIG=$4
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
mkdir -p "$O"
{
  date -u; uname -a; nvidia-smi; nvidia-smi -q -d CLOCK,POWER,PERFORMANCE | head -80
  python3 -c 'import torch,transformers,triton,sys;print("python",sys.version);print("torch",torch.__version__,"cuda",torch.version.cuda,"cudnn",torch.backends.cudnn.version());print("transformers",transformers.__version__);print("triton",triton.__version__);print("gpus",torch.cuda.device_count(),torch.cuda.get_device_name(0))'
} > "$O/env.txt" 2>&1
head -5 "$O/env.txt"; grep -E '^(torch|transformers|triton|gpus)' "$O/env.txt"
timeout $((MB + 40)) python3 -m hardware.microbench --out "$O/microbench.jsonl" --budget-s "$MB" 2>&1 | tee "$O/log_microbench.txt" | grep -v Warning
timeout $((TR + 60)) python3 benchmarks/device/hf_train_step.py --out "$O/train_steps.jsonl" --budget-s "$TR" \
  --kernels "$O/kernels_llama32_1b.json" $BIG 2>&1 | tee "$O/log_train.txt" | grep -E '^\[train\]|Error|error' | head -60
echo "done $(date -u)"
