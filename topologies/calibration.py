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

# Per-call host floor of a torch.distributed collective (Python + c10d + NCCL enqueue + kernel launch), s.
# FITTED on data/measured/2026-11-23_h200x2/collectives.jsonl, bf16 all_reduce and all_gather rows < 64 KiB
# (12 rows; the median, as the median abs error is what docs/collectives.md reports). Checked (held out) on
# the fp32 all_reduce, reduce_scatter, all_to_all, broadcast, send/recv rows and the NCCL_ALGO/NCCL_PROTO
# variant files. Physically: back-to-back calls are host-issue-bound when the GPU work is shorter, so the
# measured time per call is max(host floor, NCCL latency + transfer); it is NOT NCCL's algorithmic latency
# (nccl_params.BASE_LATENCY/HW_LATENCY stay as NCCL's tuner has them and still pick algorithm/protocol).
# Cross-check (not fitted): hardware microbench on H200, one add_ op + synchronize = 11.6 us, back-to-back
# eager op 5.8 us; c10d + NCCL enqueue adds the rest.
HOST_FLOOR_S = 29.8e-6   # median of those 12 rows: 29.85 us (range 19.0-42.6 us: the floor is ~20 us plus host jitter)

# Achievable HBM bandwidth per GPU, bytes/s. H100/H200: MEASURED (not fitted), hardware microbench `peak_mem`
# copy of 8 GiB moved, data/measured/2026-11-23_h100|h200/microbench.jsonl (3028 / 4273 GB/s, 90 % / 89 % of the
# 3.35 / 4.8 TB/s datasheets); other GPUs: datasheet (hardware/devices/*.yaml hbm_bandwidth_GBps). The memory-side
# work of a collective (local copy of a rank's own shard, reduction reads/writes) runs at this rate and is
# not hidden behind the link transfer (measured on the H200 pair: broadcast and send/recv, which have no such
# work, reach the full NVLink rate; AG/RS/AR/A2A fall short by about the HBM time of that work).
HBM_BANDWIDTH = {"h100-sxm": 3.028e12, "h200-sxm": 4.273e12, "h800": 3.35e12, "b200": 8.0e12, "gb200": 8.0e12,
                 "a100-sxm-80gb": 2.039e12, "a100-sxm-40gb": 1.555e12, "mi300x": 5.3e12}
