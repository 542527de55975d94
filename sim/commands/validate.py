"""`roofsim validate`: predicted vs published for every row of the validation table it can express."""
from __future__ import annotations

import json


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("validate", help="compare predictions with published measured runs",
                              description="Run the rows of shared/validation/published_runs.csv the "
                                          "simulator can express; print predicted vs published and the error.")
    p.add_argument("--csv", default=None, help="published_runs.csv (default: ../shared/validation/)")
    p.add_argument("--sources", default="MLM21,MLM22+KOR,MPT,NE24,KOR-Fig1,FA",
                   help="comma list of src keys to run")
    p.add_argument("--json", action="store_true")
    p.add_argument("--assumptions", action="store_true", help="print each row's assumptions")


def run(args) -> int:
    from sim.validate import summary, validate
    sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
    results = validate(args.csv, sources)
    stats = summary(results)
    if args.json:
        print(json.dumps({"rows": [{"src": r.src, "label": r.label, "metric": r.metric, "published": r.published,
                                    "predicted": r.predicted, "error": r.error, "reason": r.reason,
                                    "assumptions": list(r.assumptions)} for r in results],
                          "mean_abs_error": stats}, indent=2))
        return 0
    print(f"{'source':<11}{'run':<44}{'metric':<34}{'published':>12}{'predicted':>12}{'error':>9}")
    for r in results:
        if r.predicted is not None:
            print(f"{r.src:<11}{r.label[:43]:<44}{r.metric:<34}{r.published:>12.4g}{r.predicted:>12.4g}"
                  f"{r.error * 100:>+8.1f}%")
            if args.assumptions:
                for a in r.assumptions:
                    print(f"{'':<13}- {a}")
    skipped = [r for r in results if r.predicted is None and r.src in sources]
    if skipped:
        print("\nrows not expressed:")
        for r in skipped:
            print(f"  {r.src:<11}{r.label[:43]:<44}{r.reason}")
    print("\nmean absolute error: " + ", ".join(f"{k} {v * 100:.1f}%" for k, v in stats.items()))
    return 0
