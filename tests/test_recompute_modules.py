"""Megatron-Core fine-grained recompute modules: what each one stops keeping and what it re-runs."""
import pytest

from workloads.graph import build_step
from workloads.recompute import parse


def _ops(graph, kind="dense"):
    return {op.name: op for op in graph.layer(kind).ops}


def test_parse():
    assert parse("none") == ("none", frozenset())
    assert parse("full") == ("full", frozenset())
    assert parse("selective") == ("selective", frozenset({"core_attn"}))
    assert parse("selective:layernorm, moe_act") == ("selective", frozenset({"layernorm", "moe_act"}))
    assert parse("mla_up_proj,mlp")[1] == frozenset({"mla_up_proj", "mlp"})
    for bad in ("half", "layernorm,bogus", "selective:", ""):
        with pytest.raises(ValueError, match="recompute modules"):
            parse(bad)


def test_layernorm_drops_the_norm_fed_gemm_inputs_and_reruns_the_norms():
    base, rc = (build_step("llama3-8b", 1, 4096, recompute=r) for r in ("none", "layernorm"))
    b, r = _ops(base), _ops(rc)
    dropped = b["attn.qkv"].saved_bytes + b["mlp.fc1"].saved_bytes
    assert dropped > 0
    assert base.layer("dense").saved_bytes - rc.layer("dense").saved_bytes == pytest.approx(dropped)
    assert {"recompute.attn.norm", "recompute.mlp.norm"} <= set(r)
    assert r["recompute.attn.norm"].phase == "bwd" and r["recompute.attn.norm"].category == "recompute"


def test_mlp_keeps_only_its_input_and_reruns_fc1():
    base, rc = (build_step("llama3-8b", 1, 4096, recompute=r) for r in ("none", "mlp"))
    b, r = _ops(base), _ops(rc)
    assert r["mlp.fc1"].saved_bytes == b["mlp.fc1"].saved_bytes          # the checkpoint's input
    assert r["mlp.act"].saved_bytes == 0 and r["mlp.fc2"].saved_bytes == 0
    assert r["recompute.mlp.fc1"].flops == b["mlp.fc1"].flops
    layers = base.model.n_layers
    assert rc.flops - base.flops == pytest.approx(layers * (b["mlp.fc1"].flops + b["mlp.act"].flops), rel=1e-9)


def test_mla_up_proj_keeps_latents_and_output_only():
    base, rc = (build_step("deepseek-v2-lite", 1, 4096, recompute=r) for r in ("none", "mla_up_proj"))
    m = base.model
    r, b = _ops(rc), _ops(base)
    kept = 4096 * m.n_heads * (m.v_head_dim * 2 + 4)                     # o (bf16) and the fp32 logsumexp
    assert r["attn.core"].saved_bytes == pytest.approx(kept)
    assert b["attn.core"].saved_bytes > 3 * kept
    assert r["recompute.attn.kv_up"].flops == b["attn.kv_up"].flops > 0
    assert r["attn.kv_up"].saved_bytes == b["attn.kv_up"].saved_bytes     # the latent stays


def test_moe_act_and_modules_compose():
    g = {rc: build_step("deepseek-v2-lite", 1, 4096, ep=8, recompute=rc)
         for rc in ("none", "moe_act", "mla_up_proj", "mla_up_proj,moe_act,layernorm,mlp", "full")}
    assert _ops(g["moe_act"], "moe")["moe.fc2"].saved_bytes == 0 < _ops(g["none"], "moe")["moe.fc2"].saved_bytes
    combo = g["mla_up_proj,moe_act,layernorm,mlp"].saved_bytes
    assert g["full"].saved_bytes < combo < min(g["moe_act"].saved_bytes, g["mla_up_proj"].saved_bytes)
    assert g["none"].flops < g["mla_up_proj,moe_act,layernorm,mlp"].flops < g["full"].flops


def test_modules_need_the_fused_profile_and_leave_other_models_alone():
    with pytest.raises(ValueError, match="fused"):
        build_step("llama3.2-1b", 1, 1024, kernels="eager", recompute="layernorm")
    a, b = (build_step("llama3-8b", 1, 4096, recompute=r) for r in ("none", "mla_up_proj,moe_act"))
    assert a.saved_bytes == b.saved_bytes and a.flops == b.flops


def test_plan_and_cli_accept_modules(capsys):
    import json

    from sim.cli import main
    args = ["simulate", "--model", "mixtral-8x7b", "--cluster", "dgx-h100", "--gpus", "8", "--ep", "8",
            "--tp", "1", "--global-batch", "8", "--seq-len", "4096", "--json"]
    assert main(args + ["--recompute", "none"]) == 0
    none = json.loads(capsys.readouterr().out)
    assert main(args + ["--recompute", "moe_act,layernorm"]) == 0
    mods = json.loads(capsys.readouterr().out)
    assert mods["memory"]["activations"] < none["memory"]["activations"]
    assert mods["step_time_s"] > none["step_time_s"]


def test_sweep_space_accepts_modules():
    from sim.sweep.space import SearchSpace
    assert SearchSpace(recompute=("none", "moe_act,layernorm")).recompute == ("none", "moe_act,layernorm")
    with pytest.raises(ValueError, match="recompute modules"):
        SearchSpace(recompute=("bogus",))
