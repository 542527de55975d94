"""The published-run adapters: a row becomes the plan its source (or the framework's config) says."""
import pytest

from sim.validate import ADAPTERS, run_row


def _ne24(model, **kw):
    row = {"src": "NE24", "model": model, "seq": "4096", "TP": "8", "PP": "8", "DP": "2", "CP": "1", "VP": "12",
           "MBS": "1", "GBS": "32", "metric": "tok/s/GPU;TF", "value": "326;686", "n_gpu": "128", "gpu": "DGX-H100"}
    row.update(kw)
    return row


def test_ne24_launcher_config_facts():
    """Nemotron-340B ran selective recompute and GPT3-175B without TP comm overlap (NeMo launcher, 2024)."""
    nem = ADAPTERS["NE24"](_ne24("Nemotron-340B"))
    assert nem.plan.recompute == "selective" and nem.plan.tp_overlap
    gpt = ADAPTERS["NE24"](_ne24("GPT3-175B", seq="2048", TP="4", VP="6", DP="4", GBS="256"))
    assert gpt.plan.recompute == "none" and not gpt.plan.tp_overlap
    llama = ADAPTERS["NE24"](_ne24("Llama2-70B", TP="4", PP="4", VP="20", DP="4", GBS="128"))
    assert llama.plan.tp_overlap and llama.plan.recompute == "none"


def test_ne24_unknown_architecture_is_listed_with_reason():
    res = run_row(_ne24("Nemotron-9000B"))
    assert res.predicted is None and "architecture not published" in res.reason


@pytest.mark.parametrize("model", ["Nemotron-8B", "Nemotron-22B"])
def test_ne24_nemotron3_rows_are_expressed(model):
    case = ADAPTERS["NE24"](_ne24(model, TP="2", PP="1", VP="1", DP="32", CP="1", MBS="4", GBS="256", n_gpu="64"))
    assert case.model.startswith("nemotron-") and any("vocab 256000" in a for a in case.assumptions)
