"""Tests of the device catalog, its citations, and the loader of user device files."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from hardware import DEVICES, DeviceSpec, get_device, list_devices, load_device, save_device
from hardware.catalog import register_device
from hardware.loader import SI_NUMERIC, field_source, spec_from_dict, spec_to_dict

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "devices" / "my-gpu.yaml"
ALL = list_devices()

# Published 2:4-SPARSE peaks (the vendors' starred figures), FLOP/s, for the catalog's main dtype.
# The catalog must hold half of each: a sparse peak passed off as dense is the classic error.
SPARSE_PEAKS = {
    ("a100-sxm-80gb", "bf16"): 624e12,       # A100 datasheet, BF16 624*
    ("a100-sxm-40gb", "bf16"): 624e12,
    ("a100-pcie-80gb", "bf16"): 624e12,
    ("h100-sxm", "bf16"): 1979e12,           # H100 datasheet, SXM BF16 1,979*
    ("h100-sxm", "fp8"): 3958e12,            # H100 datasheet, SXM FP8 3,958*
    ("h100-pcie", "bf16"): 1513e12,          # H100 datasheet, PCIe BF16 1,513*
    ("h800", "bf16"): 1979e12,
    ("h200", "bf16"): 1979e12,
    ("b200", "bf16"): 4.5e15,                # DGX B200: 36 PF* / 8 GPUs
    ("b200", "fp4"): 18e15,                  # DGX B200: 144 PF* / 8 GPUs
    ("gb200", "bf16"): 5e15,                 # GB200 NVL72: 360 PF* / 72 GPUs
    ("mi300x", "bf16"): 2614.9e12,           # MI300X data sheet, BF16 with sparsity
    ("rtx-4090", "bf16"): 330.4e12,          # Ada whitepaper, BF16 FP32-accumulate sparse
    ("l40s", "bf16"): 733e12,                # L40S datasheet, BF16 733*
    ("l40s", "tf32"): 366e12,
}


def _peak_order_ok(flops: dict) -> bool:
    order = [d for d in ("fp64", "fp32", "tf32", "bf16", "fp8", "fp4") if d in flops]
    return all(flops[a] <= flops[b] * (1 + 1e-9) for a, b in zip(order, order[1:]))


def test_catalog_has_the_required_devices():
    """Every part the brief names is registered under its canonical lower-case name."""
    needed = {"a100-sxm-40gb", "a100-sxm-80gb", "a100-pcie-80gb", "h100-sxm", "h100-pcie", "h800",
              "h200", "b200", "gb200", "mi300x", "tpu-v5p", "v100-sxm2-32gb", "rtx-4090", "l40s"}
    assert needed <= set(ALL)
    assert ALL == sorted(ALL) and all(n == n.lower() for n in ALL)


@pytest.mark.parametrize("name", ALL)
def test_every_number_has_a_source(name):
    """No datasheet number without a citation; each cites a URL/paper or says it is an estimate."""
    dev = get_device(name)
    for field in [*SI_NUMERIC, *(f"peak_flops.{d}" for d in dev.peak_flops)]:
        text = field_source(dev, field)
        assert len(text) > 20, (name, field, text)
        assert any(mark in text for mark in ("http", "arXiv", "estimate", "derived", "see ")), (name, field)


@pytest.mark.parametrize("key", sorted(SPARSE_PEAKS))
def test_peaks_are_dense_not_sparse(key):
    """Each listed peak is half the vendor's 2:4-sparse figure (within 1%), never the sparse figure."""
    name, dtype = key
    dense = get_device(name).flops(dtype)
    assert dense == pytest.approx(SPARSE_PEAKS[key] / 2, rel=0.015)  # L40S: 362.05 vs 733/2, 1.2%
    assert dense < 0.6 * SPARSE_PEAKS[key]


def test_h100_golden_values_and_ridge_point():
    """H100 SXM: 989.4 TFLOP/s dense bf16, 3.35 TB/s, ridge 989.4/3.35 = 295 FLOP/byte."""
    h100 = get_device("h100-sxm")
    assert h100.flops("bf16") == pytest.approx(989.4e12, rel=0.01)
    assert h100.flops("fp8") == pytest.approx(1978.9e12, rel=0.01)
    assert h100.hbm_bandwidth == pytest.approx(3.35e12)
    assert h100.flops("bf16") / h100.hbm_bandwidth == pytest.approx(295.3, rel=0.01)
    assert h100.scaleup_bandwidth == pytest.approx(450e9)      # 900 GB/s NVLink4 is bidirectional
    assert h100.nic_bandwidth == pytest.approx(50e9)           # ConnectX-7 400 Gb/s
    assert h100.host_link_bandwidth == pytest.approx(64e9)     # PCIe Gen5 x16 per direction
    assert h100.host_memory_bytes == pytest.approx(2 * 2**40 / 8)


def test_h100_capacity_brackets_measured_usable_memory():
    """CUDA on the calibration H100 reports 79.18 GiB (shared/calibration): just under the 80 GiB listed."""
    measured = 79.1787109375 * 2**30
    assert 0.98 * get_device("h100").hbm_bytes < measured < get_device("h100").hbm_bytes


def test_l40s_capacity_excludes_the_ecc_carve_out():
    """L40S GDDR6 runs with ECC on: 48 GiB x 15/16 = 46080 MiB; nvidia-smi shows 46068 MiB."""
    mib = get_device("l40s").hbm_bytes / 2**20
    assert mib == pytest.approx(48 * 1024 * 15 / 16, rel=0.001)


@pytest.mark.parametrize("name", ALL)
def test_physics_properties(name):
    """Narrower dtypes are never slower; links are slower than HBM; peaks match SMs x clock x 2^k."""
    dev = get_device(name)
    assert _peak_order_ok(dict(dev.peak_flops)), dict(dev.peak_flops)
    assert dev.scaleup_bandwidth < dev.hbm_bandwidth
    assert dev.nic_bandwidth <= dev.scaleup_bandwidth or dev.scaleup_domain == 1
    assert dev.idle_w < dev.tdp_w
    assert dev.hbm_bytes < 2**40 and dev.l2_bytes < dev.hbm_bytes
    top = max(dev.peak_flops.get(d, 0) for d in ("bf16", "fp16"))
    per_unit_clock = top / (dev.sm_count * dev.clock_hz)     # FLOP per clock per SM/CU/TensorCore
    power_of_two = 2 ** round(math.log2(per_unit_clock))
    assert 0.85 < per_unit_clock / power_of_two < 1.10, per_unit_clock


@pytest.mark.parametrize("alias, canonical", [
    ("a100", "a100-sxm-80gb"), ("a100-80gb", "a100-sxm-80gb"), ("h100", "h100-sxm"),
    ("h100-sxm5", "h100-sxm"), ("h100-80gb", "h100-sxm"), ("H100_SXM", "h100-sxm"),
    ("h200-sxm", "h200"), ("v100", "v100-sxm2-32gb"), ("4090", "rtx-4090"), ("MI300X", "mi300x"),
])
def test_aliases_resolve(alias, canonical):
    assert get_device(alias) is DEVICES[canonical]


def test_unknown_device_lists_names_and_suggests():
    with pytest.raises(ValueError, match="unknown device 'h100-smx'") as err:
        get_device("h100-smx")
    assert "a100-sxm-40gb" in str(err.value) and "did you mean 'h100-sxm'" in str(err.value)


def test_duplicate_registration_is_an_error():
    clash = dataclasses.replace(get_device("h100"), name="h100-clone", aliases=("h100",))
    with pytest.raises(ValueError, match="already registered"):
        register_device(clash)
    assert "h100-clone" not in DEVICES


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip_through_a_file(tmp_path, suffix):
    """save_device then load_device gives back the same spec (floats to 1e-12)."""
    for name in ("h100-sxm", "tpu-v5p", "rtx-4090"):
        dev = get_device(name)
        back = get_device(save_device(dev, tmp_path / f"{name}{suffix}"))
        for f in dataclasses.fields(DeviceSpec):
            a, b = getattr(dev, f.name), getattr(back, f.name)
            if isinstance(a, float):
                assert b == pytest.approx(a, rel=1e-12), f.name
            else:
                assert dict(a) == pytest.approx(dict(b), rel=1e-12) if f.name == "peak_flops" else a == b


def test_example_file_inherits_from_base_and_keeps_citations():
    dev = get_device(str(EXAMPLE))
    base = get_device("h100-sxm")
    assert dev.name == "h100-sxm-500w" and dev.aliases == ()
    assert dev.flops("bf16") == pytest.approx(800e12) and dev.flops("fp8") == base.flops("fp8")
    assert dev.tdp_w == 500 and dev.nic_bandwidth == pytest.approx(25e9)
    assert dev.hbm_bytes == base.hbm_bytes
    assert "example only" in field_source(dev, "peak_flops.bf16")
    assert field_source(dev, "peak_flops.fp8") == field_source(base, "peak_flops.fp8")
    assert field_source(dev, "hbm_bytes") == field_source(base, "hbm_bytes")


def test_unit_conversion_golden_values():
    """Each edge unit converts once: Gb/s /8, bidirectional /2, GiB/MiB binary, TFLOP/s x 1e12."""
    dev = spec_from_dict({"base": "h100-sxm", "name": "u", "nic_gbps": 400, "scaleup_bidir_GBps": 900,
                          "hbm_gib": 80, "l2_mib": 50, "clock_ghz": 1.5, "host_memory_gb": 1000,
                          "peak_tflops": {"bfloat16": 100}})
    assert dev.nic_bandwidth == 50e9 and dev.scaleup_bandwidth == 450e9
    assert dev.hbm_bytes == 85_899_345_920 and dev.l2_bytes == 52_428_800
    assert dev.clock_hz == 1.5e9 and dev.host_memory_bytes == 1e12 and dev.flops("bf16") == 100e12
    assert field_source(dev, "nic_bandwidth").startswith("user file")


BAD_FILES = [
    ("unknown", "base: h100-sxm\nhbm_gbs: 80\n", ["unknown field 'hbm_gbs'", "did you mean 'hbm_gb'"]),
    ("missing", "name: x\nvendor: y\npeak_tflops: {bf16: 1}\n", ["missing required field", "hbm_gb"]),
    ("type", "base: h100-sxm\nhbm_gb: '80'\n", ["'hbm_gb'", "must be a number"]),
    ("zero", "base: h100-sxm\nhbm_bandwidth_GBps: 0\n", ["'hbm_bandwidth_GBps'", "must be positive"]),
    ("negative", "base: h100-sxm\nnic_gbps: -1\n", ["'nic_gbps'", "must not be negative"]),
    ("integer", "base: h100-sxm\nsm_count: 13.5\n", ["'sm_count'", "whole number"]),
    ("dtype", "base: h100-sxm\npeak_tflops: {bf61: 5}\n", ["'bf61'", "peak_tflops"]),
    ("peak-type", "base: h100-sxm\npeak_tflops: 989\n", ["'peak_tflops'", "mapping"]),
    ("twice", "base: h100-sxm\nhbm_gb: 80\nhbm_gib: 80\n", ["'hbm_gb'", "'hbm_gib'"]),
    ("base", "base: h100-smx\n", ["field 'base'", "unknown device 'h100-smx'"]),
    ("source", "base: h100-sxm\nsources: {hbm_gbs: x}\n", ["'hbm_gbs'", "sources"]),
    ("yaml", "name: x\nbase: h100-sxm\ntdp_w: [1, 2\n", ["malformed YAML at line", "mydev.yaml"]),
]


@pytest.mark.parametrize("case, text, needles", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_files_raise_one_clear_valueerror(tmp_path, case, text, needles):
    path = tmp_path / "mydev.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        load_device(path)
    message = str(err.value)
    assert "\n" not in message and "mydev.yaml" in message
    for needle in needles:
        assert needle in message, message


def test_malformed_json_missing_file_and_bad_suffix(tmp_path):
    bad = tmp_path / "dev.json"
    bad.write_text('{\n  "base": "h100-sxm",\n  "tdp_w": 500,,\n}\n')
    with pytest.raises(ValueError, match=r"dev.json: malformed JSON at line 3"):
        get_device(str(bad))
    with pytest.raises(ValueError, match="not found"):
        get_device(str(tmp_path / "absent.yaml"))
    with pytest.raises(ValueError, match=r"\.yaml, \.yml or \.json"):
        load_device(tmp_path / "dev.txt")


def test_full_user_file_without_base_is_cited_as_user_file(tmp_path):
    """A file that lists every field needs no `sources:`; each number is then cited to the file."""
    data = {k: v for k, v in spec_to_dict(get_device("l40s")).items() if k not in ("sources", "aliases")}
    path = tmp_path / "lab-card.json"
    path.write_text(json.dumps({**data, "name": "lab-card"}))
    dev = get_device(path)
    assert dev.name == "lab-card" and dev.flops("bf16") == pytest.approx(362.05e12)
    assert field_source(dev, "peak_flops.bf16") == "user file lab-card.json"
    assert field_source(dev, "nvme_bandwidth") == "user file lab-card.json"
