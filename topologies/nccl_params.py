"""NCCL's own cost constants (latencies, protocol efficiencies, link efficiencies), read from its source.

Source: NVIDIA/nccl at commit 5067397c2676 (2026-06), files src/graph/tuning.cc
(`ncclTunerConstantsDefaults`, `ncclTopoTuneModel`) and src/graph/topo.h
(`SM90_NVLINK_BW` ...). Numbers only are reproduced here (facts), in SI units.
NCCL itself uses these to pick algorithm and protocol, so modelling with them
predicts what NCCL chooses as well as what it costs.
"""
from __future__ import annotations

US = 1e-6
GBPS = 1e9

PROTOCOLS = ("LL", "LL128", "Simple")

# baseLatencies[algo][proto], us (tuning.cc): fixed cost of one collective launch.
BASE_LATENCY = {
    "tree": {"LL": 6.8 * US, "LL128": 14.0 * US, "Simple": 8.4 * US},
    "ring": {"LL": 6.6 * US, "LL128": 14.0 * US, "Simple": 8.4 * US},
    "nvls": {"LL": 0.0, "LL128": 0.0, "Simple": 0.0},   # NVLS has no base term; its hw latency is 25 us
    "pat": {"LL": 8.0 * US, "LL128": 8.0 * US, "Simple": 8.0 * US},
}
# hwLatencies[hw][algo][proto], us (tuning.cc): cost of one step over that link type.
HW_LATENCY = {
    "nvlink": {"tree": {"LL": 0.6, "LL128": 1.25, "Simple": 4.0},
               "ring": {"LL": 0.6, "LL128": 1.9, "Simple": 3.4},
               "nvls": {"Simple": 25.0}, "collnet": {"Simple": 3.7}},
    "pcie": {"tree": {"LL": 1.0, "LL128": 1.9, "Simple": 4.0},
             "ring": {"LL": 1.0, "LL128": 2.5, "Simple": 5.7},
             "nvls": {"Simple": 0.0}, "collnet": {"Simple": 3.7}},
    "net": {"tree": {"LL": 5.0, "LL128": 8.5, "Simple": 14.0},
            "ring": {"LL": 2.7, "LL128": 4.0, "Simple": 14.0},
            "nvls": {"Simple": 18.0}, "collnet": {"Simple": 31.0}},
}
HW_LATENCY = {hw: {a: {p: v * US for p, v in d.items()} for a, d in algos.items()}
              for hw, algos in HW_LATENCY.items()}

# Network post overhead per inter-node ring step (getNetOverhead: 1 us Intel/ARM, x3 for Simple).
NET_OVERHEAD = {"LL": 1.0 * US, "LL128": 1.0 * US, "Simple": 3.0 * US}

# Protocol bandwidth efficiency (ncclTopoTuneModel "model refinements"):
# LL sends 8-byte lines of 4 data + 4 flag bytes -> 50 %; LL128 120 of 128 bytes -> 0.92 in the model;
# Simple moves raw data (efficiency 1) but pays the larger per-step latency above.
PROTOCOL_EFFICIENCY = {"LL": 0.5, "LL128": 0.92, "Simple": 1.0}
# Tree all-reduce extra factor 0.92 and LL on tree 1/3.8 (tuning.cc).
TREE_EFFICIENCY = {"LL": 1.0 / 3.8, "LL128": 7.0 / 9.0, "Simple": 0.92}

# Caps on busbw (GB/s) by generation, tuning.cc: llMaxBws (single node index), perChMaxRingLL128Bws,
# perChMaxTreeBws. Keys: "volta", "ampere", "hopper", "blackwell".
LL_MAX_BW = {"volta": 39.0 * GBPS, "ampere": 87.7 * GBPS, "hopper": 141.0 * GBPS, "blackwell": 282.0 * GBPS}
LL_MAX_BW_MULTINODE = {"volta": 39.0 * GBPS, "ampere": 87.7 * GBPS, "hopper": 141.0 * GBPS,
                       "blackwell": 282.0 * GBPS}  # Intel/ARM hosts, index1 = 0 for nNodes > 1
PER_CHANNEL_LL128_BW = {"volta": 20.0 * GBPS, "ampere": 20.0 * GBPS, "hopper": 36.7 * GBPS, "blackwell": 40.0 * GBPS}
PER_CHANNEL_TREE_BW = {"volta": 26.5 * GBPS, "ampere": 24.0 * GBPS, "hopper": 38.7 * GBPS, "blackwell": 70.0 * GBPS}

# NVLS (NVLink SHARP) efficiency of the switch reduction (tuning.cc nvlsEfficiency).
NVLS_EFFICIENCY = {"volta": 0.0, "ampere": 0.0, "hopper": 0.85, "blackwell": 0.74}

# Usable data bandwidth of one NVLink as NCCL's topology search counts it (topo.h, GB/s per link per
# direction) over the signalling rate of that NVLink generation (25 GB/s NVLink3/4, 50 GB/s NVLink5).
NVLINK_EFFICIENCY = {"volta": 20.0 / 25.0, "ampere": 20.0 / 25.0, "hopper": 20.6 / 25.0,
                     "blackwell": 40.1 / 50.0}
# PCIe: topo.h PCI_BW 12.0 GB/s for a Gen3 x16 link whose raw rate is 15.75 GB/s.
PCIE_EFFICIENCY = 12.0 / 15.75

# Tree correction factor by log2(bytes/64) for all-reduce tree (ncclTopoGetAlgoTime treeCorrectionFactor).
TREE_CORRECTION = {
    "LL": (1.0, 1.0, 1.0, 1.0, .9, .8, .7, .7, .7, .7, .6, .5, .4, .4, .5, .6, .7, .8, .9, 1.0, 1.0, 1.0, 1.0, 1.0),
    "LL128": (1.0, 1.0, 1.0, 1.0, 1.0, .9, .8, .8, .8, .7, .6, .6, .6, .6, .6, .6, .8, .9, .9, .9, .9, 1.0, 1.0,
              1.0),
    "Simple": (.9, .9, .9, .9, .9, .9, .9, .8, .7, .6, .6, .5, .5, .5, .5, .6, .7, .8, .7, .7, .8, .9, .9, .9),
}
# Ring Simple multi-node all-reduce "plateau effect": latency x1.4 on sm80+ (ncclTopoGetAlgoTime).
RING_PLATEAU = 1.4

# Channel tuning (src/enqueue.cc topoGetAlgoInfo, ring/tree): NCCL drops channels while
# nBytes < nChannels * nThreads * threadThreshold, nBytes being the larger of send/recv buffer (the whole
# gathered/scattered buffer for AG/RS, as nccl-tests counts it). Thresholds: src/include/comm.h
# NCCL_{LL,LL128,SIMPLE}_THREAD_THRESHOLD 8/8/64 bytes per thread, the ring LL one x nRanks (tuning.cc);
# threads per channel: src/include/device.h NCCL_{LL,LL128,SIMPLE}_MAX_NTHREADS 512/640/512.
THREAD_THRESHOLD = {"LL": 8, "LL128": 8, "Simple": 64}
MAX_NTHREADS = {"LL": 512, "LL128": 640, "Simple": 512}
