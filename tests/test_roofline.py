"""Roofline plot and `roofsim roofline`: a valid PNG of the right size, the operators it draws, the CLI."""
import struct

import pytest

from hardware.catalog import get_device
from hardware.perf import profile_for
from sim.cli import main
from sim.plots.roofline import plot_roofline, roofline_points
from sim.single import simulate

SMALL = dict(batch=2, seq_len=1024, micro_batch=1)


def png_size(path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk; fails unless the file is a PNG."""
    data = open(path, "rb").read(32)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def small():
    return simulate("llama3.2-1b", "h100-sxm", **SMALL)


def test_png_valid_and_sized(small, tmp_path):
    """The figure is written as a PNG of the requested pixel size (parent folders created)."""
    dev = get_device("h100-sxm")
    out = plot_roofline(small, dev, profile_for(dev), tmp_path / "sub" / "r.png", size_px=(800, 500))
    assert png_size(out) == (800, 500)


def test_points_are_the_ops_with_flops(small):
    """Every operator with FLOPs and bytes is drawn; only those without FLOPs (lookups) are left out."""
    pts, skipped = roofline_points(small)
    assert len(pts) + skipped == len(small.ops)
    assert skipped == sum(1 for o in small.ops if o.flops == 0)
    assert {o.kind for o in pts} >= {"gemm", "attention", "memory"}


def test_points_under_the_datasheet_roof(small):
    """No operator runs above min(peak, bandwidth x intensity): the plot's roof bounds its points."""
    dev = get_device("h100-sxm")
    for o in roofline_points(small)[0]:
        assert o.achieved_flops <= min(dev.flops("bf16"), dev.hbm_bandwidth * o.intensity) * 1.001, o.name


def test_cli_writes_png(tmp_path, capsys):
    """`roofsim roofline --out X.png` writes X.png and says where."""
    out = tmp_path / "roof.png"
    rc = main(["roofline", "--model", "llama3.2-1b", "--batch", "2", "--seq-len", "1024", "--out", str(out)])
    assert rc == 0 and png_size(out) == (1100, 700)
    assert str(out) in capsys.readouterr().out


def test_cli_rejects_non_png(tmp_path):
    """A non-PNG output name is a one-line error, exit code 2."""
    assert main(["roofline", "--model", "llama3.2-1b", "--out", str(tmp_path / "r.jpg")]) == 2
