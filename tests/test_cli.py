"""The `roofsim` command: the --json contract, the default run, and one-line errors with exit code 2."""
import json

import pytest

from sim.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_run_prints_a_report(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    assert "llama3-8b" in out and "step time" in out and "MFU" in out and "fits" in out


def test_json_contract(capsys):
    code, out, _ = run(capsys, "simulate", "--model", "llama3.2-1b", "--hardware", "h100", "--batch", "4",
                       "--seq-len", "2048", "--json")
    assert code == 0
    d = json.loads(out)
    for key in ("step_time_s", "mfu", "tokens_per_s", "peak_memory_bytes", "fits_in_memory", "breakdown", "memory"):
        assert key in d
    assert d["step_time_s"] > 0 and 0 < d["mfu"] < 1
    assert d["tokens_per_s"] == pytest.approx(4 * 2048 / d["step_time_s"])
    assert sum(d["memory"].values()) == pytest.approx(d["peak_memory_bytes"], rel=1e-9)


@pytest.mark.parametrize("argv, needle", [
    (["simulate", "--model", "no-such-model"], "unknown model"),
    (["simulate", "--hardware", "no-such-gpu"], "unknown device"),
    (["simulate", "--batch", "0"], "--batch"),
    (["simulate", "--seq-len", "-5"], "--seq-len"),
    (["simulate", "--batch", "6", "--micro-batch", "4"], "divisible"),
    (["simulate", "--hardware", "a100", "--dtype", "fp8"], "fp8"),
    (["simulate", "--model", "/nonexistent/config.json"], "config.json"),
    (["simulate", "--model", "llama3-8b", "--cluster", "dgx-h100", "--gpus", "8", "--tp", "3"], "tp"),
    (["simulate", "--model", "llama3-8b", "--cluster", "dgx-h100", "--gpus", "16", "--tp", "2", "--pp", "3",
      "--dp", "2"], "16"),
    (["simulate", "--model", "llama3-8b", "--cluster", "dgx-h100", "--gpus", "8", "--pp", "8", "--tp", "1",
      "--vp", "5"], "layers"),
    (["simulate", "--model", "llama3-8b", "--cluster", "dgx-h100", "--gpus", "8", "--tp", "8",
      "--global-batch", "3", "--micro-batch", "2"], "global batch"),
    (["simulate", "--kernels", "bogus"], "kernels"),
    (["simulate", "--cluster", "dgx-h100", "--gpus", "8", "--hardware", "a100"], "contradicts"),
    (["simulate", "--model", "megatron-gpt-22b", "--seq-len", "4096"], "2048 learned positions"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = [l for l in err.strip().splitlines() if l]
    assert len(lines) == 1 and lines[0].startswith("roofsim: error:")
    assert needle.lower() in lines[0].lower()


def test_malformed_config_json(tmp_path, capsys):
    bad = tmp_path / "config.json"
    bad.write_text("{ not json")
    code, _, err = run(capsys, "simulate", "--model", str(bad))
    assert code == 2 and "config.json" in err and len(err.strip().splitlines()) == 1


def test_overflow_is_reported_not_failed(capsys):
    code, out, _ = run(capsys, "simulate", "--model", "llama3-70b", "--hardware", "h100", "--batch", "1",
                       "--seq-len", "4096", "--json")
    d = json.loads(out)
    assert code == 0 and d["fits_in_memory"] is False and d["memory_overflow_bytes"] > 100 * 2**30


@pytest.mark.parametrize("extra", [(), ("--cluster", "dgx-h100", "--dp", "8", "--global-batch", "8")])
def test_attention_kernel_flag_slows_hopper_attention(capsys, extra):
    """--attention-kernel fa2 (2024 stacks) makes an attention-heavy H100 step slower than the native kernel."""
    base = ("simulate", "--model", "llama3.2-1b", "--hardware", "h100", "--batch", "1", "--micro-batch", "1",
            "--seq-len", "16384", "--json", *extra)
    times = {}
    for kernel in ("native", "fa2"):
        code, out, _ = run(capsys, *base, "--attention-kernel", kernel)
        assert code == 0
        times[kernel] = json.loads(out)["step_time_s"]
    assert times["fa2"] > 1.1 * times["native"]


@pytest.mark.parametrize("model, seq", [("megatron-gpt-22b", 2048), ("opt-13b", 2048), ("llama3-8b", 4096)])
def test_default_seq_len_respects_learned_positions(capsys, model, seq):
    """Without --seq-len a GPT-3/OPT-style model runs at its own context, not the 4096 default."""
    code, out, _ = run(capsys, "simulate", "--model", model, "--json")
    assert code == 0
    assert json.loads(out)["config"]["seq_len"] == seq


def test_validate_unknown_source_is_one_line(tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    csv.write_text("src,model,L,h,heads,seq,vocab,prec,gpu,n_gpu,TP,PP,DP,CP,EP,VP,MBS,GBS,recompute,metric,value,flag\n"
                   "FA,x,,,,,,,,1,,,,,,,,,,TF,1,\n")
    code, _, err = run(capsys, "validate", "--csv", str(csv), "--sources", "NOPE")
    assert code == 2
    assert err.strip().count("\n") == 0 and "unknown validation source(s) NOPE" in err and "FA" in err
