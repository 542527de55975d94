"""The example scripts users copy run end to end (on small settings) and print what they promise."""
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script,argv,expect", [
    ("offload_one_gpu.py", [], "MeZO"),
    ("deepseek_dualpipe.py", ["256", "1024"], "dualpipev"),
    ("network_compare.py", ["mixtral-8x7b", "64", "128", "2048"], "multi-plane"),
    ("sweep_llama70b.py", ["128", "64", "4096", "1"], "interleaved"),
    ("moe_memory_wall.py", ["256"], "moe_act,layernorm"),
])
def test_example_runs(script, argv, expect, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [script, *argv])
    try:
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert expect in capsys.readouterr().out
