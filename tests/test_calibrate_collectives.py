"""`roofsim calibrate --collectives`: fit a one-node cluster from measured NCCL collectives (no GPU, no torch)."""
import builtins
import sys
import types
from pathlib import Path

import pytest

from sim.cli import main
from topologies.calibrate_fit import (FIT_OPS, base_cluster_for, error_rows, fit_cluster, large_busbw,
                                      load_collectives)
from topologies.calibration import HOST_FLOOR_S
from topologies.catalog import get_cluster
from topologies.collectives import collective_time
from topologies.loader import cluster_from_dict, load_cluster

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data/measured/2026-11-23_h200x2/collectives.jsonl"
EXAMPLE = ROOT / "examples/clusters/h200-pair-calibrated.yaml"


def test_fit_from_committed_data_writes_a_loadable_cluster_close_on_large_all_reduce(tmp_path, capsys):
    out = tmp_path / "pair.yaml"
    assert main(["calibrate", "--collective-data", str(DATA), "--cluster-out", str(out)]) == 0
    cluster = load_cluster(out)
    base = get_cluster("h200-nvlink-pair")
    assert cluster.gpus == 2 and cluster.device == base.device and cluster.scale_up.bandwidth == base.scale_up.bandwidth
    assert 0.7 < cluster.scale_up.efficiency <= 1.0 and 15e-6 < cluster.host_floor < 45e-6
    assert "collectives.jsonl" in cluster.sources["calibration"] and "nvlink" in cluster.sources   # base sources kept
    records, _ = load_collectives(DATA)
    measured, predicted = large_busbw(records, cluster)
    assert abs(predicted / measured - 1) < 0.10
    assert "held out" in capsys.readouterr().out


def test_committed_example_is_what_the_command_fits():
    fit = fit_cluster(load_collectives(DATA)[0], get_cluster("h200-nvlink-pair"))
    example = load_cluster(EXAMPLE)
    assert example.scale_up.efficiency == pytest.approx(fit.efficiency)
    assert example.host_floor == pytest.approx(fit.host_floor)


def test_held_out_ops_are_not_in_the_fit_set():
    records, _ = load_collectives(DATA)
    base = get_cluster("h200-nvlink-pair")
    rows = error_rows(records, {"base": base, "calibrated": fit_cluster(records, base).cluster})
    held = {r["op"] for r in rows if r["set"] == "held out"}
    assert held == {"all_gather", "reduce_scatter", "all_to_all", "broadcast"} and not held & set(FIT_OPS)
    assert all(r["calibrated"] >= 0 for r in rows)


@pytest.mark.parametrize("text, fragment", [
    (None, "cannot read"),
    ('{"kind": "collective", "op": "all_reduce"\n', "not a JSON record"),
    ('{"kind": "coll_env", "device": "NVIDIA H200"}\n', "no collective records"),
    ('{"kind": "collective", "op": "all_reduce", "bytes": 1024, "world": 2}\n', "numeric bytes and us"),
    ('{"kind": "collective", "op": "all_reduce", "bytes": 1024, "world": 2, "us": -1}\n', "positive"),
])
def test_missing_or_malformed_data_is_a_one_line_value_error(tmp_path, text, fragment):
    path = tmp_path / "c.jsonl"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ValueError, match=fragment) as exc:
        load_collectives(path)
    assert "\n" not in str(exc.value)


def test_data_without_large_rows_cannot_fit_the_efficiency(tmp_path):
    path = tmp_path / "small.jsonl"
    path.write_text("".join(l + "\n" for l in DATA.read_text().splitlines() if '"bytes": 1024,' in l))
    with pytest.raises(ValueError, match="scale-up efficiency"):
        fit_cluster(load_collectives(path)[0], get_cluster("h200-nvlink-pair"))


def test_cli_bad_data_exits_2_with_one_line(tmp_path, capsys):
    assert main(["calibrate", "--collective-data", str(tmp_path / "absent.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "absent.jsonl" in err and err.count("\n") == 1


def test_collectives_without_torch_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_torch(name, *a, **k):
        if name == "torch":
            raise ImportError("no torch")
        return real_import(name, *a, **k)
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setattr(builtins, "__import__", no_torch)
    assert main(["calibrate", "--collectives", "--cluster-out", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err
    assert "torch" in err and err.count("\n") == 1


def test_collectives_with_one_gpu_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(is_available=lambda: True, device_count=lambda: 1))
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert main(["calibrate", "--collectives", "--cluster-out", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err
    assert ">= 2 CUDA GPUs" in err and err.count("\n") == 1
    assert not (tmp_path / "c.yaml").exists()


def test_host_floor_is_a_cluster_field_with_todays_default():
    base = get_cluster("h200-nvlink-pair")
    assert base.host_floor == HOST_FLOOR_S
    slow = cluster_from_dict({"base": "h200-nvlink-pair", "host_floor_us": 100})
    assert collective_time(slow, "all_reduce", 1024, 2).time_s == pytest.approx(100e-6)
    assert collective_time(base, "all_reduce", 1024, 2).time_s == pytest.approx(HOST_FLOOR_S)
    with pytest.raises(ValueError, match="host_floor"):
        cluster_from_dict({"base": "h200-nvlink-pair", "host_floor_us": -1})


def test_default_base_is_a_one_node_cluster_of_the_device():
    assert base_cluster_for("h200", 2)[0] == "h200-nvlink-pair"
    ref, four = base_cluster_for("h100-sxm", 4)
    assert ref == "dgx-h100" and four.gpus == 4 and four.nodes == 1
    with pytest.raises(ValueError, match="--base-cluster"):
        base_cluster_for("rtx-4090", 2)


def test_resized_default_base_writes_its_shape(tmp_path):
    out = tmp_path / "h100pair.yaml"
    assert main(["calibrate", "--collective-data", str(DATA), "--device-name", "h100-sxm", "--cluster-out", str(out)]) == 0
    cluster = load_cluster(out)
    assert cluster.device == "h100-sxm" and cluster.nodes == 1 and cluster.gpus_per_node == 2
