"""PerfProfile: JSON round trip, validation, shipped and transferred profiles."""
import dataclasses
import json

import pytest

from hardware.catalog import get_device
from hardware.perf import PerfProfile, gemm_time, profile_for


def test_shipped_h100_profile_is_fitted():
    prof = profile_for(get_device("h100-sxm"))
    assert prof.transferred_from == ""
    assert "h100_sxm_microbench" in prof.source and prof.fitted_on
    assert 0.6 < prof.fraction("bf16") < 0.85   # big bf16 GEMMs reach ~700 of 989 TFLOP/s on the shared data
    assert "gemm m>=128" in prof.residuals


def test_round_trip(tmp_path):
    prof = profile_for(get_device("h100-sxm"))
    path = tmp_path / "p.json"
    prof.to_json(path)
    assert PerfProfile.from_json(path) == prof


def test_unknown_and_missing_fields(tmp_path):
    data = profile_for(get_device("h100-sxm")).to_dict()
    with pytest.raises(ValueError, match="unknown profile field"):
        PerfProfile.from_dict({**data, "hbm_fractoin": 0.9})
    del data["hbm_fraction"]
    with pytest.raises(ValueError, match="missing field"):
        PerfProfile.from_dict(data)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        PerfProfile.from_json(bad)


def test_fraction_out_of_range():
    prof = profile_for(get_device("h100-sxm"))
    with pytest.raises(ValueError, match="hbm_fraction"):
        dataclasses.replace(prof, hbm_fraction=1.5)


def test_transfer_to_h200_keeps_fractions_and_uses_own_bandwidth():
    h100, h200 = get_device("h100-sxm"), get_device("h200")
    p100, p200 = profile_for(h100), profile_for(h200)
    assert p200.transferred_from == "h100-sxm" and "transferred" in p200.source
    assert p200.fraction("bf16") == p100.fraction("bf16")
    # weight-streaming GEMV scales with HBM bandwidth (4.8 vs 3.35 TB/s), big GEMM stays equal (same chip)
    gemv = gemm_time(h100, p100, 1, 49152, 12288).time_s / gemm_time(h200, p200, 1, 49152, 12288).time_s
    assert 1.25 < gemv < h200.hbm_bandwidth / h100.hbm_bandwidth + 0.01
    big = gemm_time(h100, p100, 8192, 8192, 8192).time_s / gemm_time(h200, p200, 8192, 8192, 8192).time_s
    assert big == pytest.approx(1.0, rel=0.02)


def test_profile_json_is_plain():
    data = json.loads(json.dumps(profile_for(get_device("b200")).to_dict()))
    assert data["device"] == "b200"
