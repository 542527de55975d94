"""The few constants roofsim adds to NCCL's own model, each with where its value comes from.

Every other number in the collective model is either a datasheet figure (in the
cluster catalog) or NCCL's own tuning constant (topologies/nccl_params.py).
"""
from __future__ import annotations

# Usable fraction of an InfiniBand/RoCE NIC's line rate for NCCL data.
# CALIBRATED on a published figure: NVIDIA/nccl-tests issue #212 maintainer answer, "NDR 400G NIC =
# 46-48 GB/s" of bus bandwidth per NIC (shared/validation/published_runs.csv). 47/50 = 0.94.
# Physically: IB headers per 4 KiB MTU (~1 %), PCIe Gen5 TLP overhead and proxy gaps. The multi-node
# validation row is therefore NOT independent of this constant (docs/collectives.md says so).
NET_EFFICIENCY = 0.94

# Per-hop latency of a datacenter switch (InfiniBand NDR / Spectrum class), seconds.
# Source: NVIDIA Quantum-2 QM9700 datasheet quotes sub-130 ns port-to-port; 0.13 us + ~10 m of cable (50 ns).
SWITCH_HOP_LATENCY = 0.18e-6

# Channels NCCL runs on an NVSwitch Hopper node for ring/tree (NCCL_MAX_NCHANNELS default search result on
# DGX H100: 16 rings over 18 NVLinks is what NCCL_DEBUG=INFO prints, "16 coll channels").
DEFAULT_CHANNELS = 16
