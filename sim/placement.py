"""Rank placement: which global ranks form each parallel group, and how a group sits on nodes.

Ranks are numbered in a mixed radix given by an order string, innermost dimension
first. Megatron's default "tp-cp-ep-dp-pp" puts TP innermost so a TP group stays inside
a node; EP is folded into DP (the dense layers see dp, the expert layers see ep x
dp/ep), so the dense layout uses the order without "ep". A dimension's group is an
arithmetic progression: size n_d, stride = product of the sizes inside it.

Everything is computed from one group's offsets (O(group size)) and the residues of the
group bases modulo gpus_per_node (at most gpus_per_node of them), never from the list of
all ranks, so a 12,288-GPU cluster costs what an 8-GPU one does.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

MEGATRON_ORDER = "tp-cp-ep-dp-pp"
KNOWN_DIMS = ("tp", "cp", "ep", "dp", "pp", "etp", "edp")


@dataclass(frozen=True)
class GroupLayout:
    """Shape of the groups of one parallel dimension (or of several, e.g. 'dp-cp') on the cluster."""

    dims: tuple[str, ...]
    size: int  # ranks per group
    stride: int  # global-rank distance between consecutive members (innermost dim of the group)
    num_groups: int
    ranks_per_node: int  # fewest ranks of one group sharing a node (over groups and nodes)
    max_ranks_per_node: int
    nodes_spanned: int  # most nodes one group touches
    uniform: bool  # every group has the same node footprint

    @property
    def intra_node(self) -> bool:
        """True when every group fits inside one node (NVLink / scale-up domain)."""
        return self.nodes_spanned == 1


def parse_order(order: str) -> tuple[str, ...]:
    """Split an order string like 'tp-cp-dp-pp' (innermost first) and check its names."""
    dims = tuple(d.strip() for d in order.split("-") if d.strip())
    unknown = [d for d in dims if d not in KNOWN_DIMS]
    if unknown:
        raise ValueError(f"unknown parallel dimension {unknown[0]!r} in order {order!r}; known: {', '.join(KNOWN_DIMS)}")
    if len(set(dims)) != len(dims):
        raise ValueError(f"order {order!r} names a dimension twice")
    return dims


def strides(sizes: dict[str, int], order: str = MEGATRON_ORDER) -> dict[str, int]:
    """Global-rank stride of each dimension: product of the sizes of the dimensions inside it."""
    dims = parse_order(order)
    missing = [d for d in sizes if d not in dims]
    if missing:
        raise ValueError(f"dimension {missing[0]!r} is not in order {order!r}")
    out, s = {}, 1
    for d in dims:
        n = sizes.get(d, 1)
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"size of {d} must be a positive integer, got {n!r}")
        out[d] = s
        s *= n
    return out


def rank_of(coords: dict[str, int], sizes: dict[str, int], order: str = MEGATRON_ORDER) -> int:
    """Global rank of a coordinate (missing dimensions at 0)."""
    st = strides(sizes, order)
    for d, i in coords.items():
        if not 0 <= i < sizes.get(d, 1):
            raise ValueError(f"coordinate {d}={i} is outside size {sizes.get(d, 1)}")
    return sum(i * st[d] for d, i in coords.items())


def group_layout(sizes: dict[str, int], dims: str, gpus_per_node: int,
                 order: str = MEGATRON_ORDER) -> GroupLayout:
    """Group structure of `dims` ('tp', or 'dp-cp' for a combined group) with sizes placed by `order`."""
    if not isinstance(gpus_per_node, int) or gpus_per_node < 1:
        raise ValueError(f"gpus_per_node must be a positive integer, got {gpus_per_node!r}")
    st = strides(sizes, order)
    group_dims = parse_order(dims)
    for d in group_dims:
        if d not in st:
            raise ValueError(f"dimension {d!r} is not in order {order!r}")
    world = 1
    for d in st:
        world *= sizes.get(d, 1)
    size = 1
    for d in group_dims:
        size *= sizes.get(d, 1)
    inner = sorted(group_dims, key=lambda d: st[d])
    stride = st[inner[0]] if size > 1 else 0
    offsets = [0]
    for d in group_dims:
        offsets = [o + i * st[d] for o in offsets for i in range(sizes.get(d, 1))]
    # Residues of group bases mod G: i*stride mod G repeats with period <= G per dimension.
    g = gpus_per_node
    residues = {0}
    for d in st:
        if d in group_dims:
            continue
        steps = {(i * st[d]) % g for i in range(min(sizes.get(d, 1), g))}
        residues = {(r + k) % g for r, k in product(residues, steps)}
    footprints = set()
    for r in sorted(residues):
        counts: dict[int, int] = {}
        for o in offsets:
            node = (r + o) // g
            counts[node] = counts.get(node, 0) + 1
        footprints.add((len(counts), min(counts.values()), max(counts.values())))
    return GroupLayout(
        dims=group_dims,
        size=size,
        stride=stride,
        num_groups=world // size,
        ranks_per_node=min(f[1] for f in footprints),
        max_ranks_per_node=max(f[2] for f in footprints),
        nodes_spanned=max(f[0] for f in footprints),
        uniform=len(footprints) == 1,
    )


def plan_sizes(plan, expert: bool = False) -> dict[str, int]:
    """Dimension sizes of a ParallelPlan for the dense layers, or (expert=True) for the MoE layers.

    Dense: tp, cp, dp, pp (ep = 1: EP lives inside DP x CP). Expert: the same ranks
    re-factored as etp, ep, edp, pp with etp*ep*edp = tp*cp*dp; use order "etp-ep-edp-pp".
    """
    if expert:
        return {"etp": plan.expert_tp, "ep": plan.ep, "edp": plan.expert_dp, "pp": plan.pp}
    return {"tp": plan.tp, "cp": plan.cp, "dp": plan.dp, "pp": plan.pp}


EXPERT_ORDER = "etp-ep-edp-pp"
