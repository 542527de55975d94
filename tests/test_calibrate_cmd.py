"""`roofsim calibrate` from an existing file (no GPU), device naming, profile loading and its errors."""
import builtins
import json
from pathlib import Path

import pytest

from hardware.calibration import load_profile
from hardware.catalog import get_device
from sim.cli import main
from sim.commands.calibrate import device_name_of

SHARED = Path("/work/shared/calibration/h100_sxm_microbench.jsonl")
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="shared calibration data absent")


def _subset(tmp_path, kinds=("device", "peak_mem", "memop")):
    out = tmp_path / "mb.jsonl"
    out.write_text("".join(l + "\n" for l in SHARED.read_text().splitlines() if json.loads(l)["kind"] in kinds))
    return out


@needs_shared
def test_fit_from_data_writes_a_loadable_profile_with_holdout(tmp_path, capsys):
    data, out = _subset(tmp_path), tmp_path / "p.json"
    assert main(["calibrate", "--data", str(data), "--out", str(out), "--holdout", "hidden"]) == 0
    prof = load_profile(out, get_device("h100-sxm"))
    assert prof.device == "h100-sxm" and 0.8 < prof.hbm_fraction <= 1.0
    assert prof.residuals["memory op"]["cv_n"] == 12                 # 3 tensor sizes x 4 ops, each held out once
    assert prof.residuals["calibrated_range"]["memory_bytes_min"] == 4 * 4096 * 4096
    assert "hold-out" in capsys.readouterr().out


def test_measuring_without_torch_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_torch(name, *a, **k):
        if name == "torch":
            raise ImportError("no torch")
        return real_import(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_torch)
    assert main(["calibrate", "--out", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "PyTorch" in err and "--data" in err and len(err.splitlines()) == 1


def test_device_name_from_records_or_flag():
    assert device_name_of([{"kind": "device", "device": "NVIDIA H200"}]) == "h200"
    assert device_name_of([{"kind": "device", "device": "NVIDIA H100 80GB HBM3"}]) == "h100-sxm"
    assert device_name_of([{"kind": "device", "device": "mystery"}], "h200") == "h200"
    with pytest.raises(ValueError, match="--device-name"):
        device_name_of([{"kind": "device", "device": "Mystery GPU 9000"}])


def test_empty_data_is_rejected(tmp_path, capsys):
    f = tmp_path / "x.jsonl"
    f.write_text('{"kind": "device", "device": "NVIDIA H200"}\n')
    assert main(["calibrate", "--data", str(f), "--out", str(tmp_path / "p.json")]) == 2
    assert "no microbenchmark records" in capsys.readouterr().err


def test_load_profile_validation(tmp_path):
    good = json.loads((Path(__file__).resolve().parent.parent / "hardware/profiles/h100-sxm.json").read_text())
    p = tmp_path / "p.json"
    p.write_text(json.dumps(good))
    assert load_profile(p).device == "h100-sxm"
    with pytest.raises(ValueError, match="fitted on device 'h100-sxm', not 'h200'"):
        load_profile(p, get_device("h200"))
    p.write_text(json.dumps({**good, "hbm_fraction": 1.7}))
    with pytest.raises(ValueError, match="hbm_fraction"):
        load_profile(p)
    p.write_text(json.dumps({**good, "colour": "red"}))
    with pytest.raises(ValueError, match="unknown profile field"):
        load_profile(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_profile(p)
    with pytest.raises(ValueError, match="does not exist"):
        load_profile(tmp_path / "nope.json")
