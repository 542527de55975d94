"""Adam/AdamW step as memory ops: bytes per parameter from the dtypes of param, grad, state, master copy.

fused (apex/Megatron FusedAdam, torch fused=True): one pass reads param-or-master, grad, m, v
and writes them back; with fp32 master weights the bf16 model copy is refreshed by one more
cast kernel (Megatron copies main params to model params). Launches follow apex's
multi_tensor_apply limits (110 tensors, 320 blocks of 65536 elements per launch).
unfused (torch foreach, the default AdamW): _multi_tensor_adamw runs ~8 foreach ops
(weight-decay mul, lerp m, mul v, addcmul v, sqrt, div, add eps, addcdiv p), each a pass
over full tensors, with one temporary of the state dtype.
"""
from __future__ import annotations

import math

from workloads.ops import Op, dtype_bytes, memory

_TENSORS_PER_LAUNCH = 110          # apex multi_tensor_apply depth-4 tensor list limit
_ELEMENTS_PER_LAUNCH = 320 * 65536  # 320 blocks x chunk 65536 (apex default chunk_size 2048*32)


def optimizer_ops(n_params: int, param_dtype: str = "bf16", state_dtype: str = "fp32",
                  master_weights: bool = True, fused: bool = True, n_tensors: int = 1,
                  grad_dtype: str | None = None) -> tuple[Op, ...]:
    """Ops of one Adam/AdamW step over `n_params` parameters held by this rank."""
    if n_params < 0 or n_tensors < 1:
        raise ValueError(f"optimizer_ops: n_params must be >= 0 and n_tensors >= 1, got {n_params}, {n_tensors}")
    p, s = dtype_bytes(param_dtype), dtype_bytes(state_dtype)
    gr = dtype_bytes(grad_dtype or ("fp32" if master_weights else param_dtype))
    w = 4 if master_weights else p                        # the weights Adam updates
    launches = max(1, math.ceil(n_tensors / _TENSORS_PER_LAUNCH), math.ceil(n_params / _ELEMENTS_PER_LAUNCH))
    n = int(n_params)
    if fused:
        per = (w + gr + 2 * s) + (w + 2 * s)             # read w, g, m, v ; write w, m, v
        ops = [memory("adam.step", "opt", "optimizer", n, n * per, flops=12 * n, kernels=launches,
                      dtype=state_dtype)]
    else:
        per = ((w + w) + (s + gr + s) + (s + s) + (s + gr + s) + (s + s) + (s + s) + (s + s)
               + (w + s + s + w))                         # the 8 foreach passes listed above
        ops = [memory("adam.foreach", "opt", "optimizer", n, n * per, flops=12 * n, kernels=8 * launches,
                      workspace=n * s, dtype=state_dtype)]
    if master_weights:
        ops.append(memory("adam.copy_to_model", "opt", "optimizer", n, n * (4 + p), kernels=launches,
                          dtype=param_dtype))
    return tuple(ops)
