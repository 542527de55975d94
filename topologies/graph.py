"""networkx graphs of small clusters (visualisation, tests): GPUs, NVSwitch/PCIe switch, NICs, leaf/spine switches.

Built on demand only. The collective model never needs the graph: it uses the regular structure
(`Cluster` geometry), so clusters larger than MAX_GRAPH_GPUS are refused rather than enumerated.
Edges carry `bandwidth` (bytes/s per direction) and `latency` (s).
"""
from __future__ import annotations

import networkx as nx

from topologies.cluster import Cluster

MAX_GRAPH_GPUS = 4096


def build_graph(cluster: Cluster) -> nx.Graph:
    """Graph of a cluster of at most MAX_GRAPH_GPUS GPUs (2 switch tiers drawn: leaves and one spine layer)."""
    if cluster.gpus > MAX_GRAPH_GPUS:
        raise ValueError(f"cluster {cluster.name} has {cluster.gpus} GPUs; graphs are built up to {MAX_GRAPH_GPUS} "
                         f"(collective costs use the analytic structure at any size)")
    g = nx.Graph(name=cluster.name)
    up = cluster.scale_up
    for node in range(cluster.nodes):
        hub = f"n{node}.{'nvswitch' if up.kind == 'switch' else up.kind}"
        g.add_node(hub, kind="scaleup_switch", node=node)
        for i in range(cluster.gpus_per_node):
            gpu = f"n{node}.gpu{i}"
            g.add_node(gpu, kind="gpu", node=node, local=i, device=cluster.device)
            if up.kind == "torus":
                continue
            g.add_edge(gpu, hub, bandwidth=up.bandwidth, latency=up.latency, kind="scaleup")
        if up.kind == "torus":
            _torus_edges(g, cluster, node)
    so = cluster.scale_out
    if so.kind == "none" or cluster.nics_per_node == 0:
        return g
    per_nic = max(1, cluster.gpus_per_node // cluster.nics_per_node)
    leaves = set()
    for node in range(cluster.nodes):
        for r in range(cluster.nics_per_node):
            nic = f"n{node}.nic{r}"
            g.add_node(nic, kind="nic", node=node, rail=r, plane=r % so.planes)
            g.add_edge(f"n{node}.gpu{r * per_nic}", nic, bandwidth=so.link_bandwidth, latency=0.0, kind="pcie")
            block = node // cluster.nodes_per_leaf
            leaf = f"p{r % so.planes}.leaf{block}.r{r}" if so.kind == "rail_optimized" \
                else f"p{r % so.planes}.leaf{block}"
            g.add_node(leaf, kind="leaf", plane=r % so.planes)
            leaves.add(leaf)
            g.add_edge(nic, leaf, bandwidth=so.link_bandwidth, latency=so.hop_latency, kind="nic")
    if len(leaves) > 1:
        spines = max(1, so.leaf_up)
        for plane in range(so.planes):
            for s in range(spines):
                spine = f"p{plane}.spine{s}"
                g.add_node(spine, kind="spine", plane=plane)
                for leaf in leaves:
                    if g.nodes[leaf]["plane"] == plane:
                        g.add_edge(leaf, spine, bandwidth=so.link_bandwidth, latency=so.hop_latency, kind="tier1")
    return g


def _torus_edges(g: nx.Graph, cluster: Cluster, node: int) -> None:
    """Wrap-around neighbour links of an ICI torus inside one scale-up domain."""
    dims = cluster.scale_up.torus_dims
    link_bw = cluster.scale_up.bandwidth / (2 * len(dims))
    for i in range(cluster.gpus_per_node):
        coord, rest = [], i
        for d in dims:
            coord.append(rest % d)
            rest //= d
        for axis, d in enumerate(dims):
            if d < 2:
                continue
            nxt = list(coord)
            nxt[axis] = (coord[axis] + 1) % d
            j, mult = 0, 1
            for c, dd in zip(nxt, dims):
                j += c * mult
                mult *= dd
            g.add_edge(f"n{node}.gpu{i}", f"n{node}.gpu{j}", bandwidth=link_bw, latency=0.0, kind="ici")
