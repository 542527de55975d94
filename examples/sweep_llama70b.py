"""Best plans for Llama-3-70B on 1,024 H100s (DGX SuperPOD). Usage: python examples/sweep_llama70b.py [gpus] [global_batch] [seq_len] [refine]"""
import sys

from sim.commands.sweep import format_table
from sim.sweep import SearchSpace, sweep


def main(argv):
    gpus = int(argv[0]) if len(argv) > 0 else 1024
    gb = int(argv[1]) if len(argv) > 1 else 1024
    seq = int(argv[2]) if len(argv) > 2 else 8192
    refine = int(argv[3]) if len(argv) > 3 else 5
    res = sweep("llama3-70b", "dgx-h100-superpod", gpus, gb, seq, space=SearchSpace(), refine=refine,
                progress=sys.stderr.isatty())
    s = res.stats
    print(f"llama3-70b, {gpus:,} H100, global batch {gb}, seq {seq}: {s['plans']:,} plans, {s['evaluated']:,} fit; "
          f"{s['plans_per_s']:,.0f} plans/s")
    print(format_table(res.top(10)))
    return res


if __name__ == "__main__":
    main(sys.argv[1:])
