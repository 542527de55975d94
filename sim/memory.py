"""Peak memory of one GPU during a training step, from parameter counts and saved activations.

The peak is the largest of three moments of a step:
  start of backward:  weights + optimizer states + all saved activations + the loss-head transient
                      (+ gradients, when they persist across steps or micro-batches)
  end of backward:    weights + optimizer states + all gradients + the first layer's live
                      activations (with full recompute: its re-run forward)
  optimizer step:     weights + gradients + optimizer states + the optimizer's own temporaries
Gradients persist when a framework keeps a contiguous gradient buffer (Megatron's fp32 main_grad)
or when gradients accumulate over micro-batches; Hugging Face + `zero_grad(set_to_none=True)`
frees them after every step, so on one micro-batch they only grow as activations are freed.
"""
from __future__ import annotations

from dataclasses import dataclass

from sim.precision import PrecisionPolicy
from sim.results import MemoryBreakdown


@dataclass(frozen=True)
class MemoryInputs:
    """What the memory model needs of one GPU's share of the step (bytes unless named otherwise)."""

    params: float                 # parameters held by this GPU
    activations: float            # saved activations of the micro-batches in flight
    transient: float              # largest short-lived buffer live at the peak (logits/loss grads)
    head_grad_params: float = 0.0  # params whose grads exist already at the start of backward
    grads_persist: bool = True    # gradient buffer allocated for the whole step
    optimizer_transient: float = 0.0
    backward_end: float = 0.0     # live at the end of backward beside all grads (one layer's activations)
    other: float = 0.0            # comm buffers, workspace (e.g. cuBLAS), allocator reserve
    offload_optimizer: bool = False
    offload_params: bool = False
    offload_grads: bool = False


def peak_memory(inp: MemoryInputs, policy: PrecisionPolicy, capacity: float) -> MemoryBreakdown:
    """Memory breakdown at the step's peak for one GPU."""
    w = 0.0 if inp.offload_params else inp.params * policy.weight_bytes
    g_full = 0.0 if inp.offload_grads else inp.params * policy.grad_bytes
    o = 0.0 if inp.offload_optimizer else inp.params * policy.optimizer_bytes
    g_at_bwd = g_full if inp.grads_persist else min(g_full, inp.head_grad_params * policy.grad_bytes)
    at_backward = w + o + g_at_bwd + inp.activations + inp.transient
    at_backward_end = w + o + g_full + inp.backward_end
    at_optimizer = w + o + g_full + inp.optimizer_transient
    moment = max(at_backward, at_backward_end, at_optimizer)
    if moment == at_backward:
        grads, acts, transient = g_at_bwd, inp.activations, inp.transient
    elif moment == at_backward_end:
        grads, acts, transient = g_full, inp.backward_end, 0.0
    else:
        grads, acts, transient = g_full, 0.0, inp.optimizer_transient
    host = inp.params * ((policy.optimizer_bytes if inp.offload_optimizer else 0)
                         + (policy.weight_bytes if inp.offload_params else 0)
                         + (policy.grad_bytes if inp.offload_grads else 0))
    peak = w + o + grads + acts + transient + inp.other
    return MemoryBreakdown(weights=w, gradients=grads, optimizer=o, activations=acts,
                           transient=transient, other=inp.other, peak=peak, capacity=capacity,
                           host_bytes=host)
