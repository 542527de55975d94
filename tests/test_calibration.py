"""Calibration: loader validation, fitting, and the shipped profile against the shared measurements."""
from pathlib import Path

import pytest

from hardware.calibration import evaluate, fit_profile, load_microbench
from hardware.catalog import get_device
from hardware.perf import profile_for

DATA = Path("/work/shared/calibration/h100_sxm_microbench.jsonl")
REPO_DATA = Path(__file__).resolve().parent.parent / "shared" / "calibration" / "h100_sxm_microbench.jsonl"
needs_data = pytest.mark.skipif(not (DATA.exists() or REPO_DATA.exists()), reason="shared calibration data absent")


def _data() -> Path:
    return DATA if DATA.exists() else REPO_DATA


def test_malformed_json_names_line(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"kind": "device"}\n{"kind": "gemm", "m": 1,\n')
    with pytest.raises(ValueError, match=r"x.jsonl:2: malformed JSON"):
        load_microbench(f)


def test_missing_field_names_line_and_field(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"kind": "gemm", "m": 1, "n": 2, "k": 3, "ms": 0.1}\n\n{"kind": "gemm", "m": 1, "n": 2, "ms": 1}\n')
    with pytest.raises(ValueError, match=r"x.jsonl:3: gemm record is missing field\(s\) k"):
        load_microbench(f)


def test_non_positive_time_and_missing_kind(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"kind": "memop", "op": "add", "t": 1, "h": 2, "ms": 0}\n')
    with pytest.raises(ValueError, match="ms must be a positive"):
        load_microbench(f)
    f.write_text('{"m": 1}\n')
    with pytest.raises(ValueError, match="kind"):
        load_microbench(f)


@needs_data
def test_shipped_profile_reproduces_shared_data():
    """Regression: targets of the brief (GEMM m>=128 10%, attention and memory ops 15% median abs error)."""
    dev = get_device("h100-sxm")
    stats = evaluate(load_microbench(_data()), dev, profile_for(dev))
    assert stats["gemm m>=128"]["median_abs"] < 0.10
    assert stats["gemm m<128"]["median_abs"] < 0.15
    assert stats["attn fwd"]["median_abs"] < 0.15
    assert stats["attn bwd"]["median_abs"] < 0.15
    assert stats["memory op"]["median_abs"] < 0.15
    assert stats["memory copy"]["max_abs"] < 0.05


@needs_data
def test_fit_memory_block_recovers_bandwidth():
    """Fitting only copies: the fraction lands near 3.03 TB/s measured / 3.35 TB/s datasheet."""
    recs = [r for r in load_microbench(_data()) if r["kind"] == "peak_mem"]
    prof = fit_profile(recs, get_device("h100-sxm"))
    assert prof.hbm_fraction == pytest.approx(3.03 / 3.35, abs=0.03)
    assert prof.residuals["memory copy"]["max_abs"] < 0.02
