#!/bin/bash
# One device call on the 2-GPU H200 machine: topology, NCCL collectives (C), algo/proto variants, P2P copy.
# NCCL_ALGO=Tree alone fails at init (no Tree for the int8 Broadcast of the store); allreduce:tree limits it to all_reduce.
# usage: bash benchmarks/device/run_pair.sh OUTDIR MAIN_BUDGET_S
O=${1:-$OUT}; MAIN=${2:-150}
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
mkdir -p "$O"
S=benchmarks/device/collectives.py
{
  date -u; nvidia-smi; echo "== topo -m"; nvidia-smi topo -m; echo "== nvlink -s"; nvidia-smi nvlink -s
  echo "== env"; env | grep -E '^(NCCL|TORCH_SYMM|NVSHMEM)' | sort
  python3 -c 'import torch,sys;print("python",sys.version);print("torch",torch.__version__,"cuda",torch.version.cuda,"nccl",torch.cuda.nccl.version());print("gpus",torch.cuda.device_count(),torch.cuda.get_device_name(0))'
} > "$O/env.txt" 2>&1
grep -A4 'topo -m' "$O/env.txt"; grep -E '^(torch|gpus)' "$O/env.txt"; grep -c 'GB/s' "$O/env.txt"
timeout $((MAIN + 60)) torchrun --nproc_per_node=2 $S --out "$O/collectives.jsonl" --budget-s "$MAIN" 2>&1 | grep -E '^\[coll\]|Error' | head -60
timeout 60 python3 $S --p2p-copy --out "$O/p2p_copy.jsonl" 2>&1 | grep -E '^\[p2p\]|Error'
SZ=1024,65536,1048576,16777216,268435456,1073741824,4294967296
for v in NCCL_ALGO=Ring NCCL_ALGO=allreduce:tree NCCL_PROTO=LL NCCL_PROTO=LL128 NCCL_PROTO=Simple; do
  echo "== $v"
  env $v timeout 50 torchrun --nproc_per_node=2 $S --out "$O/collectives_variants.jsonl" --ops all_reduce --no-fp32 \
    --sizes $SZ --target-ms 20 --budget-s 25 2>&1 | grep -E '^\[coll\]|Error' | head -10
done
echo "done $(date -u)"
