"""The sweep examples run quickly on small settings."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sweep_llama70b_small(capsys):
    res = _load("sweep_llama70b").main(["64", "64", "4096", "1"])
    assert res.rows and res.best["gpus"] == 64 and res.best["stage"] == "simulated"


def test_network_compare_small():
    out = _load("network_compare").main(["mixtral-8x7b", "32", "64", "2048"])
    assert set(out) == {"rail-optimized", "fat-tree", "multi-plane"}
    assert all(r["tokens_per_s"] > 0 for r in out.values())
