"""Ops of one rank for a Megatron-Core MoE layer (alltoall token dispatcher, TE grouped GEMMs).

Routing is assumed balanced: every expert gets tokens*top_k/E token copies (dropless), or
its capacity ceil(capacity_factor * tokens*top_k/E) per source rank when a capacity factor
is set (tokens padded to capacity). Real routing is imbalanced; the slowest rank sets the
pace, which this average does not show.
"""
from __future__ import annotations

import math

from workloads.layers_fused import bias_dropout_add, linear, mlp_ops, norm
from workloads.ops import Op, comm, gemm, memory
from workloads.shape import Shape


def _expert_tokens(sh: Shape) -> float:
    """Token copies one local expert multiplies (m of each grouped GEMM)."""
    m = sh.model
    per_source = sh.tsp * m.top_k / m.n_experts          # copies one rank sends to one expert
    if m.capacity_factor is not None:
        per_source = math.ceil(m.capacity_factor * per_source)
    copies = per_source * sh.ep * sh.etp                 # all ep ranks send; etp all-gathers them
    return int(copies) if float(copies).is_integer() else copies


def moe_block(sh: Shape) -> tuple[list[Op], list[Op]]:
    """Norm, router, permute, all-to-all, grouped expert MLP, all-to-all back, unpermute, shared experts."""
    m, e, g, h = sh.model, sh.e, sh.g, sh.h
    if sh.tp > 1 and not sh.sp:
        raise ValueError("MoE with tp > 1 needs sequence_parallel (Megatron-Core requires it)")
    cat, tm, k, n_exp = "moe", sh.tsp, m.top_k, m.n_experts
    local = n_exp // sh.ep
    mt = _expert_tokens(sh)
    copies = mt * local                                  # token copies on this rank's experts
    sent = tm * k * h * e                                # dispatched bytes of this rank

    nfwd, nbwd, nadd = norm(sh, "moe.norm", "norm", tm)
    router = gemm("moe.router", "fwd", cat, tm, n_exp, h, a_bytes=e, b_bytes=e, c_bytes=e,
                  saved=tm * h * e)
    router_d = gemm("moe.router.dgrad", "bwd", cat, tm, h, n_exp, a_bytes=e, b_bytes=e, c_bytes=e)
    router_w = gemm("moe.router.wgrad", "bwd", cat, n_exp, h, tm, c_bytes=4, accumulate=True, workspace=0)
    # softmax (fp32) + top-k + aux-loss bookkeeping: ~8 small kernels over [tm, E]
    route = memory("moe.route", "fwd", cat, tm * n_exp, tm * n_exp * (e + 4 * 3) + tm * k * 12,
                   flops=8 * tm * n_exp, kernels=8, saved=tm * n_exp * 4 + tm * k * 8)
    route_b = memory("moe.route.bwd", "bwd", cat, tm * n_exp, tm * n_exp * (4 * 3 + e), kernels=4)
    permute = memory("moe.permute", "fwd", cat, tm * k * h, tm * h * e + sent + tm * k * 8 * 4, kernels=4,
                     saved=tm * k * 4, workspace=sent)
    permute_b = memory("moe.permute.bwd", "bwd", cat, tm * k * h, sent + tm * h * e * 2, kernels=2,
                       workspace=tm * h * e)
    a2a = [comm("moe.dispatch", "fwd", cat, "all_to_all", "ep", sent)] if sh.ep > 1 else []
    a2a_back = [comm("moe.combine", "fwd", cat, "all_to_all", "ep", sent)] if sh.ep > 1 else []
    a2a_b = [comm("moe.combine.bwd", "bwd", cat, "all_to_all", "ep", sent)] if sh.ep > 1 else []
    a2a_back_b = [comm("moe.dispatch.bwd", "bwd", cat, "all_to_all", "ep", sent)] if sh.ep > 1 else []
    etp_f, etp_b, etp_f2, etp_b2 = [], [], [], []
    if sh.etp > 1:
        gathered = copies * h * e
        etp_f = [comm("moe.etp.ag", "fwd", cat, "all_gather", "etp", gathered)]
        etp_f2 = [comm("moe.etp.rs", "fwd", cat, "reduce_scatter", "etp", gathered)]
        etp_b = [comm("moe.etp.ag_grad", "bwd", cat, "all_gather", "etp", gathered)]
        etp_b2 = [comm("moe.etp.rs_dgrad", "bwd", cat, "reduce_scatter", "etp", gathered)]

    fe = m.moe_ffn_hidden // sh.etp
    n1 = (2 if m.gated else 1) * fe
    fc1 = linear(sh, "moe.fc1", cat, mt, n1, h, saved_input=copies * h * g, batch=local)
    fc2 = linear(sh, "moe.fc2", cat, mt, h, fe, saved_input=copies * fe * g, batch=local)
    a_in, a_out = copies * n1, copies * fe
    # The routing probs scale the activation output (Megatron-Core >= 0.13, weighted_bias_swiglu in experts.py):
    # the activation keeps its input and the probs; unpermute is then a plain scatter-add that keeps nothing but
    # the permutation (before 0.13 it weighted each copy and kept all expert outputs, copies x h, for the probs' grad).
    probs = copies * 4
    act = memory("moe.act", "fwd", cat, a_in, (a_in + a_out) * e + probs, flops=9 * a_out, saved=a_in * e + probs,
                 workspace=a_out * e)
    act_b = memory("moe.act.bwd", "bwd", cat, a_in, (a_out + 2 * a_in) * e + 2 * probs, flops=14 * a_out,
                   workspace=a_in * e)
    unperm = memory("moe.unpermute", "fwd", cat, tm * k * h, sent + tm * k * 4 + tm * h * e, flops=tm * k * h,
                    kernels=2, saved=tm * k * 4, workspace=tm * h * e)
    unperm_b = memory("moe.unpermute.bwd", "bwd", cat, tm * k * h, tm * h * e + sent + tm * k * 4,
                      kernels=2, workspace=sent)

    shared_f, shared_b = [], []
    if m.n_shared_experts:
        sf, sb = mlp_ops(sh, "moe.shared", "mlp", m.n_shared_experts * m.shared_ffn_hidden // sh.tp,
                         m.mlp_bias)
        add = memory("moe.shared.add", "fwd", "mlp", tm * h, 3 * tm * h * e)
        shared_f, shared_b = [*sf, add], list(sb)
        if m.shared_expert_gate:       # Qwen2-MoE: sigmoid(x W_g) * shared_out, W_g: [1, h]
            gate = linear(sh, "moe.shared.gate", "mlp", tm, 1, h, saved_input=0.0)
            gmul = memory("moe.shared.gate_mul", "fwd", "mlp", tm * h, 3 * tm * h * e, kernels=2,
                          saved=tm * h * e)
            gmul_b = memory("moe.shared.gate_mul.bwd", "bwd", "mlp", tm * h, 5 * tm * h * e, kernels=3)
            shared_f += [gate[0], gmul]
            shared_b = [gmul_b, gate[1], gate[2], *shared_b]
        # x feeds router, permute and shared expert: two extra gradient adds
    grad_adds = memory("moe.input_grad_add", "bwd", cat, tm * h, 3 * tm * h * e * (2 if shared_f else 1),
                       kernels=2 if shared_f else 1)
    bda_fwd, bda_bwd = bias_dropout_add(sh, "moe.bda", "residual", False)

    fwd = [nfwd, router, route, permute, *a2a, *etp_f, fc1[0], act, fc2[0], *etp_f2, *a2a_back, unperm,
           *shared_f, *bda_fwd]
    bwd = [*bda_bwd, *shared_b, unperm_b, *a2a_b, *etp_b, fc2[1], fc2[2], act_b, fc1[1], fc1[2], *etp_b2,
           *a2a_back_b, permute_b, route_b, router_d, router_w, grad_adds, nbwd, nadd]
    return fwd, bwd
