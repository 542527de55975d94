"""Workloads: model architectures, their catalog, and the per-rank operator graph of a training step."""
from workloads.catalog import get_model, known_models, register_model
from workloads.flops import megatron_flops_per_iteration, model_flops_per_token
from workloads.graph import Section, StepGraph, build_step
from workloads.model import ModelConfig
from workloads.ops import KINDS, Op, get_kind
from workloads.optimizer import optimizer_ops

__all__ = ["ModelConfig", "get_model", "known_models", "register_model", "build_step", "StepGraph",
           "Section", "Op", "KINDS", "get_kind", "optimizer_ops", "model_flops_per_token",
           "megatron_flops_per_iteration"]
