"""Parallelism plan of a training step (TP, PP, DP, CP, EP, ZeRO/FSDP, schedule, recompute, offload) and its checks.

Megatron conventions: world = tp*pp*dp*cp; experts reuse the same GPUs with
tp*cp*dp = etp*ep*edp (EP is carved out of DP x CP); num_microbatches =
global_batch / (dp * micro_batch).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sim.schedules import SCHEDULES

OFFLOAD_TARGETS = ("none", "cpu", "nvme")


def stage_layer_counts(n_layers: int, pp: int) -> list[int]:
    """Layers per pipeline rank when pp does not divide them: the middle ranks get one more and the
    shortfall is taken from the ends inward (rank 0, rank pp-1, rank 1, ...), which also carry the
    embedding and the LM head - Llama 3 405B's 126 layers on 16 stages: 7, 8 x 14, 7 (Llama 3 paper,
    sec. 3.3.2)."""
    base, rem = divmod(n_layers, pp)
    counts = [base + (1 if rem else 0)] * pp
    short = (pp - rem) if rem else 0
    ends = [i // 2 if i % 2 == 0 else pp - 1 - i // 2 for i in range(pp)]
    for r in ends[:short]:
        counts[r] -= 1
    return counts


def chunk_layers(n_layers: int, pp: int, vp: int, v: int, layout: str = "loop",
                 counts: tuple[int, ...] | None = None) -> range:
    """Layers of virtual stage v (model order) when n_layers are split over pp ranks x vp chunks.

    Each rank's layers (`counts`, default stage_layer_counts) are split over its vp chunks as evenly as
    possible; the chunks are laid along the model in virtual-stage order (`layout`: "loop" = chunk c of
    rank s is virtual stage c*pp + s; "v" = DualPipeV's V).
    """
    from sim.schedules import layout_position
    per_rank = list(counts) if counts else stage_layer_counts(n_layers, pp)

    def size(u: int) -> int:
        s, c = layout_position(layout, pp, vp, u)
        n = per_rank[s]
        return (c + 1) * n // vp - c * n // vp

    start = sum(size(u) for u in range(v))
    return range(start, start + size(v))


def _check_choice(label: str, value: str, known: tuple[str, ...]) -> None:
    """One-line ValueError for a value outside a fixed set."""
    if value not in known:
        raise ValueError(f"{label}={value!r} is not one of {', '.join(known)}")


@dataclass(frozen=True)
class OffloadPolicy:
    """Where model states and activations live when not on the GPU (ZeRO-Offload / ZeRO-Infinity)."""

    optimizer: str = "none"  # fp32 master + moments: "none" | "cpu" | "nvme"
    params: str = "none"  # low-precision params (needs ZeRO-3/FSDP)
    grads: str = "none"  # low-precision grads
    activations: str = "none"  # saved activations ("none" | "cpu")
    cpu_adam: bool = False  # optimizer step runs on the host CPU (DeepSpeed CPUAdam)

    def __post_init__(self) -> None:
        for label in ("optimizer", "params", "grads"):
            _check_choice(f"offload.{label}", getattr(self, label), OFFLOAD_TARGETS)
        _check_choice("offload.activations", self.activations, ("none", "cpu"))
        if self.cpu_adam and self.optimizer == "none":
            raise ValueError("offload.cpu_adam needs offload.optimizer='cpu' or 'nvme' (the step runs on the host)")

    @property
    def any(self) -> bool:
        """True when anything leaves the GPU."""
        return any(getattr(self, k) != "none" for k in ("optimizer", "params", "grads", "activations"))


@dataclass(frozen=True)
class ParallelPlan:
    """How one training step is split over GPUs; frozen, checked against a model by validate()."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    ep: int = 1
    etp: int | None = None  # expert tensor parallel; None = tp (Megatron's default)
    vp: int = 1  # virtual pipeline stages (model chunks) per pipeline rank
    zero: int = 0  # ZeRO stage 0..3
    fsdp: bool = False  # PyTorch FSDP full shard = ZeRO-3
    sequence_parallel: bool = False
    micro_batch: int = 1
    global_batch: int = 1
    schedule: str = "1f1b"
    recompute: str = "none"
    recompute_layers: int | None = None  # layers per stage fully recomputed; None = all
    distributed_optimizer: bool = False  # Megatron distributed optimizer = ZeRO-1 over dp*cp
    dp_overlap: bool = True  # gradient reduce(-scatter) per bucket overlapped with backward
    param_gather_overlap: bool = True  # distributed optimizer: updated params all-gathered per bucket under the
    #                                    next step's first forward (Megatron --overlap-param-gather, NeMo overlap_param_sync)
    tp_overlap: bool = False  # TP collectives overlapped with GEMMs (userbuffers)
    pp_overlap: bool = True  # p2p sends asynchronous
    fsdp_prefetch: bool = True  # next layer's all-gather overlapped with this layer
    cp_overlap: bool = True  # context-parallel ring exchange overlapped with attention
    ep_overlap: bool = False  # expert all-to-all hidden behind other compute (Megatron's
    #                           --overlap-moe-expert-parallel-comm, DeepEP-style); DualPipe pairs do it anyway
    offload: OffloadPolicy = field(default_factory=OffloadPolicy)
    zeroth_order: bool = False  # MeZO/ZO2: forward only, two perturbed forwards per step
    stage_layers: tuple[int, ...] | None = None  # layers per pipeline rank (Megatron's first/last-stage
    #                                              layer flags, generalized); None: stage_layer_counts

    def __post_init__(self) -> None:
        for label in ("tp", "pp", "dp", "cp", "ep", "vp", "micro_batch", "global_batch"):
            v = getattr(self, label)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{label} must be a positive integer, got {v!r}")
        if self.etp is not None and (not isinstance(self.etp, int) or self.etp < 1):
            raise ValueError(f"etp must be a positive integer or None, got {self.etp!r}")
        if self.zero not in (0, 1, 2, 3):
            raise ValueError(f"zero stage must be 0, 1, 2 or 3, got {self.zero!r}")
        if self.fsdp and self.zero not in (0, 3):
            raise ValueError(f"fsdp is ZeRO-3; it contradicts zero={self.zero}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown pipeline schedule {self.schedule!r}; known: {', '.join(sorted(SCHEDULES))}")
        from workloads.recompute import check
        check(self.recompute)
        if self.recompute_layers is not None:
            if self.recompute != "full":
                raise ValueError(f"recompute_layers={self.recompute_layers} needs recompute='full'")
            if not isinstance(self.recompute_layers, int) or self.recompute_layers < 0:
                raise ValueError(f"recompute_layers must be a non-negative integer, got {self.recompute_layers!r}")
        if self.schedule == "dualpipev":
            if self.vp != 2 or self.pp < 2:
                raise ValueError(f"dualpipev holds two chunks per rank: needs vp=2 and pp > 1, got pp={self.pp}, "
                                 f"vp={self.vp}")
        elif self.vp > 1 and self.schedule != "interleaved":
            raise ValueError(f"vp={self.vp} needs schedule 'interleaved', got {self.schedule!r}")
        if self.schedule == "interleaved" and (self.vp < 2 or self.pp < 2):
            raise ValueError(f"interleaved schedule needs pp > 1 and vp > 1, got pp={self.pp}, vp={self.vp}")
        if self.offload.params != "none" and self.zero_stage != 3:
            raise ValueError(f"offloading params needs ZeRO-3 or FSDP (sharded params), got zero={self.zero}")

    @property
    def n_gpus(self) -> int:
        """GPUs the plan occupies: tp*pp*dp*cp."""
        return self.tp * self.pp * self.dp * self.cp

    @property
    def num_microbatches(self) -> int:
        """Micro-batches per step per pipeline: global_batch / (dp * micro_batch) (floor; validate() checks)."""
        return self.global_batch // (self.dp * self.micro_batch)

    @property
    def zero_stage(self) -> int:
        """Effective ZeRO stage: FSDP is 3, the distributed optimizer at least 1."""
        if self.fsdp:
            return 3
        return max(self.zero, 1) if self.distributed_optimizer else self.zero

    @property
    def expert_tp(self) -> int:
        """Expert tensor-parallel size (defaults to tp)."""
        return self.tp if self.etp is None else self.etp

    @property
    def expert_dp(self) -> int:
        """Expert data-parallel size: tp*cp*dp / (etp*ep) (Megatron's MoE parallel folding)."""
        return (self.tp * self.cp * self.dp) // (self.expert_tp * self.ep)

    def comm_mode(self, kind: str) -> str:
        """Engine comm mode ("blocking" | "overlapped" | "async") of a comm kind under this plan's overlap flags.

        dp: reduce of gradient buckets after their backward ("async") or at the end ("blocking");
        tp, cp, fsdp: concurrent with the task's compute ("overlapped") or serialized;
        pp: "async" p2p sends (pass p2p_blocking = comm_mode("pp") == "blocking" to the engine).
        """
        flags = {"dp": (self.dp_overlap, "async"), "tp": (self.tp_overlap, "overlapped"),
                 "cp": (self.cp_overlap, "overlapped"), "fsdp": (self.fsdp_prefetch, "overlapped"),
                 "ep": (self.ep_overlap, "overlapped"), "pp": (self.pp_overlap, "async")}
        if kind not in flags:
            raise ValueError(f"unknown comm kind {kind!r}; known: {', '.join(flags)}")
        on, mode = flags[kind]
        return mode if on else "blocking"

    def layers_per_stage(self, n_layers: int) -> int:
        """Most layers held by one pipeline rank (all its chunks)."""
        return max(self.stage_counts(n_layers))

    def stage_counts(self, n_layers: int) -> tuple[int, ...]:
        """Layers held by each pipeline rank: `stage_layers` if given, else stage_layer_counts."""
        return tuple(self.stage_layers) if self.stage_layers else tuple(stage_layer_counts(n_layers, self.pp))

    def validate(self, n_gpus: int, n_layers: int, n_heads: int, n_kv_heads: int | None = None,
                 n_experts: int = 0) -> None:
        """Check the plan against a cluster size and a model; raise ValueError naming the broken constraint."""
        kv = n_heads if n_kv_heads is None else n_kv_heads
        if self.n_gpus != n_gpus:
            raise ValueError(f"tp*pp*dp*cp = {self.tp}*{self.pp}*{self.dp}*{self.cp} = {self.n_gpus} != {n_gpus} GPUs")
        if n_heads % self.tp:
            raise ValueError(f"tp={self.tp} does not divide {n_heads} attention heads")
        if kv % self.tp:
            raise ValueError(f"tp={self.tp} does not divide {kv} KV heads (query groups)")
        chunks = self.pp * self.vp
        if self.stage_layers is not None:
            sl = tuple(self.stage_layers)
            if len(sl) != self.pp or sum(sl) != n_layers or any(not isinstance(x, int) or x < 0 for x in sl):
                raise ValueError(f"stage_layers {list(sl)} must give {self.pp} non-negative layer counts (one per "
                                 f"pipeline rank) summing to the {n_layers} layers")
            if self.vp > 1 and min(sl) < self.vp:
                raise ValueError(f"stage_layers {list(sl)}: every rank needs at least vp={self.vp} layers (one per chunk)")
        elif n_layers < chunks or min(stage_layer_counts(n_layers, self.pp)) < self.vp:
            what = f"pp*vp = {self.pp}*{self.vp} = {chunks} chunks" if self.vp > 1 else f"pp={self.pp} stages"
            raise ValueError(f"{what} exceed the {n_layers} layers (each model chunk needs at least one layer)")
        per = self.dp * self.micro_batch
        if self.global_batch % per:
            raise ValueError(f"global batch {self.global_batch} is not divisible by dp*micro_batch = {per}")
        m = self.num_microbatches
        if self.schedule == "dualpipev" and m < 2 * self.pp:
            raise ValueError(f"dualpipev needs num_microbatches >= 2*pp = {2 * self.pp}, got {m}")
        if self.schedule == "interleaved" and m % self.pp:
            raise ValueError(f"interleaved schedule needs num_microbatches % pp == 0, got {m} % {self.pp} = {m % self.pp}")
        if self.recompute_layers is not None and self.recompute_layers > n_layers // self.pp:
            raise ValueError(f"recompute_layers={self.recompute_layers} exceeds {n_layers // self.pp} layers per stage")
        if self.ep > 1 and n_experts == 0:
            raise ValueError(f"ep={self.ep} needs a mixture-of-experts model, this one has no experts")
        if n_experts and n_experts % self.ep:
            raise ValueError(f"ep={self.ep} does not divide {n_experts} experts")
        if n_experts or self.etp is not None:
            dense = self.tp * self.cp * self.dp
            moe = self.expert_tp * self.ep
            if dense % moe:
                raise ValueError(f"etp*ep = {self.expert_tp}*{self.ep} = {moe} does not divide "
                                 f"tp*cp*dp = {dense} (EP is carved out of DP x CP)")
