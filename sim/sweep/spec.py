"""What a sweep is: model, cluster, GPU counts, batch, sequence, search space, options (picklable, hashable)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sim.distributed import ClusterOptions
from sim.sweep.space import SearchSpace
from topologies.cluster import Cluster
from workloads.model import ModelConfig


@dataclass(frozen=True)
class SweepSpec:
    """One sweep's inputs; `key()` identifies it in a resumable work directory."""

    model: ModelConfig | str
    cluster: Cluster | str
    gpus: tuple[int, ...]
    global_batch: int
    seq_len: int
    space: SearchSpace = field(default_factory=SearchSpace)
    options: ClusterOptions = field(default_factory=ClusterOptions)
    top_k: int = 10
    price_per_gpu_hour: float | None = None
    chunk_size: int = 2000
    memory_budget_bytes: float | None = None   # per GPU, below the usable HBM

    def __post_init__(self) -> None:
        if not self.gpus or any(int(n) < 1 for n in self.gpus):
            raise ValueError(f"GPU counts must be positive integers, got {self.gpus!r}")
        for label in ("global_batch", "seq_len", "chunk_size", "top_k"):
            if int(getattr(self, label)) < 1:
                raise ValueError(f"{label} must be a positive integer, got {getattr(self, label)!r}")
        if self.price_per_gpu_hour is not None and not self.price_per_gpu_hour > 0:
            raise ValueError(f"price per GPU-hour must be > 0, got {self.price_per_gpu_hour!r}")

    def key(self) -> str:
        """Digest of everything that decides the rows (the chunking included)."""
        text = repr((self.model, self.cluster, self.gpus, self.global_batch, self.seq_len, self.space,
                     self.options, self.chunk_size, self.price_per_gpu_hour, self.memory_budget_bytes))
        return hashlib.sha1(text.encode()).hexdigest()[:16]
