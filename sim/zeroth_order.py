"""Forward-only zeroth-order fine-tuning: MeZO (weights on the GPU) and ZO2 (weights streamed from the host).

MeZO (Malladi et al. 2023, arXiv:2305.17333, Algorithm 1), with z regenerated from one seed each time:
  theta += eps z; l+ = f(theta); theta -= 2 eps z; l- = f(theta); theta += eps z; theta -= lr g z
  T_step = 2 T_fwd + 4 passes over the weights. One pass per tensor: z = torch.normal(...) writes z,
  theta.add_(z, alpha) reads z and theta and writes theta: 4 x (param bytes) per parameter.
  GPU memory = weights + the live layer's workspace: no grads, no optimizer state, nothing saved.
ZO2 (Wang et al. 2025, arXiv:2503.12668): weights live in host DRAM; each transformer block is
uploaded, updated with the previous step's projected gradient, perturbed, run through both perturbed
forwards (interleaved block by block, so one upload serves both), and offloaded back. Upload of block
i+1, compute of block i and offload of block i-1 run on separate CUDA streams (one per direction):
  up_end_i = max(up_end_{i-1}, down_end_{i-B}) + up_i      (B block buffers)
  comp_end_i = max(up_end_i, comp_end_{i-1}) + C_i;   down_end_i = max(comp_end_i, down_end_{i-1}) + down_i
  T = down_end_last;  exposed = T - sum_i C_i  (steady state: max(0, transfer - compute) per block)
  GPU memory = resident weights (embedding, head) + `buffers` block buffers + workspace.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from hardware.perf import PerfProfile, memory_time
from hardware.spec import DeviceSpec
from workloads.graph import StepGraph

PERTURB_PASSES = 4        # +eps, -2 eps, +eps (restore), update: MeZO Algorithm 1
BYTES_PER_PASS = 4        # x param bytes: write z, read z, read theta, write theta
KERNELS_PER_PASS = 2      # per tensor: torch.normal, add_
# Block buffers ZO2 keeps on the GPU: one uploading, one computing, one offloading (three streams,
# ZO2 sec. 4, "dynamic scheduler"). Our reading of the design; the memory check in docs/offload.md
# compares 2 and 3 against ZO2's published GPU memory table.
ZO2_BUFFERS = 3


@dataclass(frozen=True)
class ZoStep:
    """Seconds of one zeroth-order step on one GPU."""

    step_s: float
    compute_s: float          # both perturbed forwards
    perturb_s: float          # the elementwise passes over the weights
    transfer_exposed_s: float  # ZO2: uploads/offloads not hidden behind compute
    h2d_s: float = 0.0        # ZO2: all block uploads
    d2h_s: float = 0.0        # ZO2: all block offloads


@dataclass(frozen=True)
class ZoMemory:
    """GPU bytes of a zeroth-order step, and the host bytes ZO2 keeps the weights in."""

    weights: float            # resident weights
    buffers: float            # ZO2 block buffers
    workspace: float          # the live layer's activations and kernel workspace
    host: float = 0.0

    @property
    def total(self) -> float:
        """GPU bytes: weights + buffers + workspace."""
        return self.weights + self.buffers + self.workspace


def _nonneg(**kw: float) -> None:
    for k, v in kw.items():
        if not v >= 0:
            raise ValueError(f"{k} must be >= 0, got {v!r}")


def perturb_bytes(params: float, param_bytes: float = 2.0, passes: int = PERTURB_PASSES) -> float:
    """HBM bytes moved by `passes` regenerate-and-add passes over `params` weights."""
    _nonneg(params=params, param_bytes=param_bytes, passes=passes)
    return params * param_bytes * BYTES_PER_PASS * passes


def perturb_time(dev: DeviceSpec, prof: PerfProfile, params: float, param_bytes: float = 2.0,
                 passes: int = PERTURB_PASSES, tensors: int = 1) -> float:
    """Seconds of the perturbation/update passes (memory-bound elementwise kernels)."""
    if not isinstance(tensors, int) or tensors < 1:
        raise ValueError(f"tensors must be a positive integer, got {tensors!r}")
    nbytes = perturb_bytes(params, param_bytes, passes)
    # NB: Philox normal generation counted as ~8 FLOP per element; it stays memory bound.
    return memory_time(dev, prof, nbytes, flops=8.0 * params * passes,
                       kernels=KERNELS_PER_PASS * passes * tensors).time_s


def mezo_step(fwd_s: float, perturb_s: float) -> ZoStep:
    """MeZO step: two forwards of the micro-batch plus the weight passes, all on the GPU."""
    _nonneg(fwd_s=fwd_s, perturb_s=perturb_s)
    return ZoStep(2 * fwd_s + perturb_s, 2 * fwd_s, perturb_s, 0.0)


def zo2_step(block_fwd_s: Sequence[float], block_bytes: Sequence[float], h2d_bandwidth: float,
             d2h_bandwidth: float, *, block_perturb_s: Sequence[float] | None = None,
             resident_fwd_s: float = 0.0, resident_perturb_s: float = 0.0, buffers: int = ZO2_BUFFERS) -> ZoStep:
    """ZO2 step from per-block forward seconds (one forward) and per-block transfer bytes.

    Blocks are uploaded and offloaded at the given bandwidths (B/s per direction); resident parts
    (embedding, head) compute without transfers; buffers: GPU block buffers (>= 2). block_bytes are bytes on the link (ZO2's AMP mode
    sends low-bit copies: pass those sizes).
    """
    n = len(block_fwd_s)
    if n == 0 or len(block_bytes) != n:
        raise ValueError(f"zo2_step needs one transfer size per block, got {n} blocks and {len(block_bytes)} sizes")
    if not (h2d_bandwidth > 0 and d2h_bandwidth > 0):
        raise ValueError(f"zo2_step needs a host link: bandwidths {h2d_bandwidth!r}, {d2h_bandwidth!r} B/s")
    if not isinstance(buffers, int) or buffers < 2:
        raise ValueError(f"zo2_step needs at least 2 block buffers to overlap, got {buffers!r}")
    pert = list(block_perturb_s) if block_perturb_s is not None else [0.0] * n
    if len(pert) != n:
        raise ValueError(f"block_perturb_s has {len(pert)} entries for {n} blocks")
    _nonneg(resident_fwd_s=resident_fwd_s, resident_perturb_s=resident_perturb_s,
            blocks=min(min(block_fwd_s), min(block_bytes), min(pert)))
    comp = [2 * f + p for f, p in zip(block_fwd_s, pert)]
    up = [nb / h2d_bandwidth for nb in block_bytes]
    down = [nb / d2h_bandwidth for nb in block_bytes]
    up_end, comp_end, down_end = [0.0] * n, [0.0] * n, [0.0] * n
    for i in range(n):   # one stream per direction; block i's upload waits for a free buffer
        free = down_end[i - buffers] if i >= buffers else 0.0
        up_end[i] = max(up_end[i - 1] if i else 0.0, free) + up[i]
        comp_end[i] = max(up_end[i], comp_end[i - 1] if i else 0.0) + comp[i]
        down_end[i] = max(comp_end[i], down_end[i - 1] if i else 0.0) + down[i]
    t = down_end[-1]
    blocks = sum(comp)
    resident = 2 * resident_fwd_s + resident_perturb_s
    return ZoStep(t + resident, 2 * (sum(block_fwd_s) + resident_fwd_s), sum(pert) + resident_perturb_s,
                  t - blocks, sum(up), sum(down))


def mezo_memory(params: float, param_bytes: float, workspace: float) -> ZoMemory:
    """MeZO GPU memory: all weights + workspace (inference footprint)."""
    _nonneg(params=params, param_bytes=param_bytes, workspace=workspace)
    return ZoMemory(params * param_bytes, 0.0, workspace)


def zo2_memory(resident_params: float, block_params: float, param_bytes: float, workspace: float,
               host_params: float = 0.0, buffers: int = ZO2_BUFFERS) -> ZoMemory:
    """ZO2 GPU memory: resident weights + `buffers` blocks + workspace; host holds the streamed blocks."""
    _nonneg(resident_params=resident_params, block_params=block_params, param_bytes=param_bytes,
            workspace=workspace, host_params=host_params)
    if not isinstance(buffers, int) or buffers < 1:
        raise ValueError(f"buffers must be a positive integer, got {buffers!r}")
    return ZoMemory(resident_params * param_bytes, buffers * block_params * param_bytes, workspace,
                    host_params * param_bytes)


def forward_workspace(graph: StepGraph, forwards: int = 1) -> float:
    """Live GPU bytes of a no-grad forward: the largest section's activations + workspace, plus hidden states.

    NB: a layer's saved bytes bound its live set from above (without autograd an op's inputs die once
    consumed); `forwards` interleaved forwards (ZO2) each keep one b*s*h hidden state between blocks.
    """
    if not isinstance(forwards, int) or forwards < 1:
        raise ValueError(f"forwards must be a positive integer, got {forwards!r}")
    live = max(s.saved_bytes + s.workspace_bytes for s in graph.sections)
    m = graph.model
    hidden = graph.micro_batch * graph.seq_len * m.hidden * (4 if graph.dtype == "fp32" else 2)
    return live + (forwards - 1) * hidden
