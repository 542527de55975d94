"""Capacity planning: parsing, golden arithmetic of a row, the deadline search, the memory wall, `roofsim plan`."""
import json
import math
import runpy
import struct
import sys

import pytest

from hardware.catalog import get_device
from sim.capacity import (DataParallelPlaceholder, capacity_row, check_fit, gpus_for_deadline, memory_plans,
                          memory_wall, parse_gpu_counts, parse_tokens, placeholder_throughput, plan_capacity)
from sim.cli import main
from sim.results import MemoryBreakdown, StepResult

H100 = get_device("h100-sxm")


def one_gpu(step_time=1.0, tokens=1000):
    mem = MemoryBreakdown(1, 0, 0, 0, 0, 0, peak=1, capacity=2)
    return StepResult(model="m", hardware="h100-sxm", config={}, step_time_s=step_time, tokens_per_step=tokens,
                      model_flops=6e12, hardware_flops=6e12, peak_flops=H100.flops("bf16"), n_gpus=1,
                      breakdown={}, memory=mem)


@pytest.mark.parametrize("text,value", [("15T", 15e12), ("300B", 3e11), ("2.5e12", 2.5e12), (" 7 m", 7e6), (42, 42.0)])
def test_parse_tokens(text, value):
    assert parse_tokens(text) == pytest.approx(value)


@pytest.mark.parametrize("bad", ["15X", "", "-3T", 0])
def test_parse_tokens_rejects(bad):
    with pytest.raises(ValueError):
        parse_tokens(bad)


def test_parse_gpu_counts():
    """Lists, doubling ranges and start:stop:step, sorted and deduplicated."""
    assert parse_gpu_counts("1024-8192") == (1024, 2048, 4096, 8192)
    assert parse_gpu_counts("8:32:8,16") == (8, 16, 24, 32)
    assert parse_gpu_counts([4, 2]) == (2, 4)
    for bad in ("a,b", "0", "8:32:0"):
        with pytest.raises(ValueError):
            parse_gpu_counts(bad)


def test_placeholder_scales_tokens_and_time():
    """n GPUs: n x tokens and FLOPs per step; step time / e^log2(n); MFU x e^log2(n)."""
    base = one_gpu()
    fn = DataParallelPlaceholder(base, efficiency_per_doubling=0.9)
    r = fn(8)
    assert r.n_gpus == 8 and r.tokens_per_step == 8000
    assert r.step_time_s == pytest.approx(1 / 0.9**3)
    assert r.mfu == pytest.approx(base.mfu * 0.9**3)
    assert any("PLACEHOLDER" in n for n in r.notes)
    assert fn(1).step_time_s == base.step_time_s


def test_capacity_row_golden():
    """1e9 tokens at 1e6 tokens per 10 s step on 1000 GPUs: 1000 steps, 1e4 s, 2777.8 GPU-hours, x $2."""
    r = DataParallelPlaceholder(one_gpu(step_time=10.0, tokens=1000), 1.0)(1000)
    row = capacity_row(r, 1e9, H100, price_per_gpu_hour=2.0)
    assert row.steps == 1000 and row.time_to_train_s == pytest.approx(1e4)
    assert row.gpu_hours == pytest.approx(1000 * 1e4 / 3600)
    assert row.cost == pytest.approx(2 * 1000 * 1e4 / 3600)
    assert row.energy_j > 0 and row.energy_mwh == pytest.approx(row.energy_j / 3.6e9)


def test_deadline_search_exact():
    """T(n) = 1e6 / n s (ideal scaling); a 1e4 s deadline needs 100 GPUs -> 104 at granularity 8."""
    fn = DataParallelPlaceholder(one_gpu(step_time=1.0, tokens=1000), 1.0)
    d = gpus_for_deadline(fn, 1e9, 1e4, H100, granularity=8)
    assert d.n_gpus == 104 and d.row.time_to_train_s <= 1e4
    assert capacity_row(fn(96), 1e9, H100).time_to_train_s > 1e4
    assert gpus_for_deadline(fn, 1e9, 1.0, H100, granularity=8, max_gpus=1024).n_gpus is None


def test_plan_rows_and_monotone_time():
    """More GPUs train faster under the placeholder; GPU-hours grow only by the lost efficiency."""
    fn = placeholder_throughput("llama3.2-1b", "h100-sxm", batch=1, seq_len=1024, micro_batch=1)
    plan = plan_capacity(fn, "10B", "8-64", H100, price_per_gpu_hour=2.5, deadline_days=1.0)
    days = [r.days for r in plan.rows]
    assert [r.n_gpus for r in plan.rows] == [8, 16, 32, 64] and days == sorted(days, reverse=True)
    assert plan.rows[-1].gpu_hours == pytest.approx(plan.rows[0].gpu_hours / 0.99**3, rel=1e-4)
    assert plan.deadline.n_gpus % 8 == 0 and plan.deadline.row.days <= 1.0
    json.dumps(plan.to_dict(), default=float)


def test_memory_wall_small_scan():
    """On one H100 (78.7 GiB usable): llama3-8b fits with pure-bf16 Adam; 70B's weights alone do not."""
    w = memory_wall("h100-sxm", seq_len=1024, models=["llama3.2-1b", "llama3-8b", "llama3-70b"], base="llama3-8b")
    assert w.largest.name == "llama3-8b" and "bf16" in w.largest.plan
    assert not w.scanned[-1].fits and "weights alone" in w.scanned[-1].plan
    depth = int(w.depth_scaled.name.rsplit("-", 1)[1].rstrip("L"))
    from workloads.catalog import with_changes
    deeper = with_changes("llama3-8b", n_layers=depth + 1, name="deeper", aliases=())
    assert w.depth_scaled.fits and not check_fit(deeper, H100, memory_plans(1024)).fits


def png_size(path):
    data = open(path, "rb").read(24)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_cli_plan_json_and_plot(tmp_path, capsys):
    """`roofsim plan --json --plot` prints one JSON object with a row per count and writes the PNG."""
    png = tmp_path / "scaling.png"
    rc = main(["plan", "--model", "llama3.2-1b", "--tokens", "1B", "--gpus", "8,16", "--seq-len", "1024",
               "--deadline-days", "1", "--price-per-gpu-hour", "2", "--json", "--plot", str(png)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and [r["n_gpus"] for r in out["rows"]] == [8, 16]
    assert out["deadline"]["n_gpus"] >= 8 and out["memory_wall"]["largest"]["name"]
    assert math.isclose(out["rows"][0]["cost"], 2 * out["rows"][0]["gpu_hours"])
    assert png_size(png) == (1100, 450)


def test_cli_plan_bad_tokens():
    assert main(["plan", "--model", "llama3.2-1b", "--tokens", "lots", "--no-memory-wall"]) == 2


def test_example_capacity_plan(tmp_path, monkeypatch, capsys):
    """examples/capacity_plan.py runs on small settings and writes its JSON and PNG."""
    monkeypatch.setattr(sys, "argv", ["capacity_plan.py", str(tmp_path), "8,16", "1B", "1"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path("examples/capacity_plan.py", run_name="__main__")
    assert exc.value.code == 0
    assert json.loads((tmp_path / "capacity_plan.json").read_text())["rows"]
    png_size(tmp_path / "scaling.png")
