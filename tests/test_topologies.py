"""Cluster catalog, file loading, placement and graph building: structure and bad input."""
import json
import math

import pytest

from topologies.catalog import CLUSTERS, get_cluster
from topologies.graph import build_graph
from topologies.group import Group, place
from topologies.units import parse_bytes, parse_sweep


@pytest.mark.parametrize("name", sorted(CLUSTERS))
def test_catalog_entries_build_and_cite_sources(name):
    """Every catalog cluster validates and says where its numbers come from."""
    cluster = get_cluster(name)
    assert cluster.gpus >= 2
    assert cluster.sources


def test_superpod_scales_and_picks_tiers():
    """SuperPOD: 32 nodes per rail leaf (64-port NDR, non-blocking); 2 tiers to 2,048 NIC ports, then 3."""
    pod = get_cluster("dgx-h100-superpod", gpus=1024)
    assert pod.nodes_per_leaf == 32 and pod.tiers == 2
    assert get_cluster("dgx-h100-superpod", gpus=16384).tiers == 3   # 2,048 nodes x 8 rails > 32 x 64


def test_hundred_thousand_gpu_cluster_is_small_data():
    """A 100k-GPU cluster is a few objects, not 100k nodes, and answers placement in O(1)."""
    big = get_cluster("h100-100k")
    assert big.gpus == 100_000
    p = place(big, Group(12500, stride=8))
    assert p.nodes == 12500 and p.ppn == 1 and p.top_tier >= 3


def test_group_placement_of_tp_and_dp_groups():
    """TP group of 8 fills a node; a DP group of stride 8 has one rank per node on one rail."""
    pod = get_cluster("dgx-h100-superpod")
    tp = place(pod, Group(8, start=16))
    assert (tp.nodes, tp.ppn, tp.rails) == (1, 8, 8)
    dp = place(pod, Group(64, stride=8, start=3))
    assert (dp.nodes, dp.ppn, dp.rails, dp.first_rail) == (64, 1, 1, 3)
    assert dp.blocks[0] == 2   # 64 nodes span two 32-node leaves


def test_group_outside_cluster_is_rejected():
    """A group naming rank 8 on an 8-GPU node is a clear ValueError."""
    with pytest.raises(ValueError, match="only 8 GPUs"):
        place(get_cluster("dgx-h100"), Group(9))


@pytest.mark.parametrize("text, group", [("8", Group(8)), ("8-15", Group(8, 1, 8)), ("0,8,16", Group(3, 8, 0)),
                                         ("size=4,stride=2,start=1", Group(4, 2, 1))])
def test_group_parse(text, group):
    """CLI group syntaxes."""
    assert Group.parse(text) == group


def test_irregular_group_is_rejected():
    """Ranks without a constant stride cannot be placed structurally."""
    with pytest.raises(ValueError, match="constant stride"):
        Group.parse("0,1,5")


def test_sizes_parse():
    """Binary and decimal units like nccl-tests and datasheets."""
    assert parse_bytes("1GiB") == 2**30 and parse_bytes("512MB") == 512e6 and parse_bytes("4096") == 4096
    assert parse_sweep("1KiB:4KiB") == [1024, 2048, 4096]
    with pytest.raises(ValueError):
        parse_bytes("12 parsecs")


def test_zero_bandwidth_link_is_rejected(tmp_path):
    """A link with zero bandwidth is a one-line ValueError naming the field."""
    path = tmp_path / "bad.yaml"
    path.write_text("base: dgx-h100\nscale_up: {bandwidth_GBps: 0}\n")
    with pytest.raises(ValueError, match="bandwidth must be a positive number") as err:
        get_cluster(str(path))
    assert "\n" not in str(err.value)


def test_malformed_file_is_rejected(tmp_path):
    """Broken YAML, wrong shape and misspelled keys all fail loudly on one line."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [1, 2\n")
    with pytest.raises(ValueError, match="malformed"):
        get_cluster(str(bad))
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"base": "dgx-h100", "nodez": 4}))
    with pytest.raises(ValueError, match="unknown key"):
        get_cluster(str(typo))


def test_example_files_load():
    """The shipped examples/clusters files are valid."""
    import pathlib
    files = sorted(pathlib.Path(__file__).parent.parent.joinpath("examples/clusters").glob("*.yaml"))
    assert files
    for f in files:
        assert get_cluster(str(f)).gpus > 0


def test_unknown_cluster_lists_known():
    """Unknown names list the catalog."""
    with pytest.raises(ValueError, match="dgx-h100"):
        get_cluster("dgx-h9000")


def test_graph_of_small_cluster():
    """2 DGX nodes, rail-optimized: 16 GPUs, 16 NICs, 8 rail leaves; each GPU has an NVLink to the switch."""
    g = build_graph(get_cluster("dgx-h100-superpod", gpus=16))
    kinds = [d["kind"] for _, d in g.nodes(data=True)]
    assert kinds.count("gpu") == 16 and kinds.count("nic") == 16 and kinds.count("leaf") == 8
    bw = g.edges["n0.gpu0", "n0.nvswitch"]["bandwidth"]
    assert math.isclose(bw, 450e9)


def test_graph_refuses_huge_clusters():
    """Enumerating 100k GPUs is refused with advice, not attempted."""
    with pytest.raises(ValueError, match="analytic"):
        build_graph(get_cluster("h100-100k"))


@pytest.mark.parametrize("name", sorted(CLUSTERS))
def test_cluster_devices_exist_in_hardware_catalog(name):
    """Each cluster's device resolves in hardware/ and its NVLink-class number agrees where both state it."""
    from hardware.catalog import get_device
    cluster = get_cluster(name)
    dev = get_device(cluster.device)
    if cluster.scale_up.kind == "switch":
        assert math.isclose(dev.scaleup_bandwidth, cluster.scale_up.bandwidth, rel_tol=1e-6)
