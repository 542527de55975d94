"""One MoE model on three fabrics: rail-optimized fat-tree (DGX SuperPOD), plain fat-tree, multi-plane.

Usage: python examples/network_compare.py [model] [gpus] [global_batch] [seq_len]
The fat-tree variant is the SuperPOD with its scale-out switched to a non-rail fat-tree
(topologies.loader YAML with `base:` works the same way for file-defined variants).
"""
import dataclasses
import sys

from sim.sweep import SearchSpace, sweep
from sim.sweep.result import plan_label
from topologies.catalog import get_cluster


def clusters():
    pod = get_cluster("dgx-h100-superpod")
    fat = dataclasses.replace(pod, name="dgx-h100-fat-tree",
                              scale_out=dataclasses.replace(pod.scale_out, kind="fat_tree"))
    return {"rail-optimized": pod, "fat-tree": fat, "multi-plane": get_cluster("multiplane")}


def main(argv):
    model = argv[0] if len(argv) > 0 else "mixtral-8x7b"
    gpus = int(argv[1]) if len(argv) > 1 else 256
    gb = int(argv[2]) if len(argv) > 2 else 512
    seq = int(argv[3]) if len(argv) > 3 else 4096
    space = SearchSpace(micro_batch=(1, 2), zero=(1,), schedule=("1f1b", "interleaved"))
    out = {}
    for name, cl in clusters().items():
        res = sweep(model, cl, gpus, gb, seq, space=space, refine=3, jobs=1)
        b = res.best
        out[name] = b
        print(f"{name:>15} ({cl.name}, {cl.device}): {b['tokens_per_s']:>12,.0f} tok/s  MFU {b['mfu']:.1%}  "
              f"{plan_label(b)}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
