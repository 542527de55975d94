"""The `roofsim` command: a thin layer of subcommands over the Python API.

Each subcommand lives in its own module and registers itself in `COMMANDS`
(name -> module exposing `add_parser(subparsers)` and `run(args) -> int`).
Bad input (ValueError, a missing file) becomes one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> module path; each module has add_parser(subparsers) and run(args) -> int.
COMMANDS: dict[str, str] = {
    "simulate": "sim.commands.simulate",
    "roofline": "sim.commands.roofline",
    "collective": "topologies.cli",
    "validate": "sim.commands.validate",
    "sweep": "sim.commands.sweep",
    "plan": "sim.commands.plan",
    "report": "sim.commands.report",
    "calibrate": "sim.commands.calibrate",
}
DEFAULT_COMMAND = "simulate"
# What `roofsim` with no arguments runs: a Llama-3-8B full fine-tuning step on one H100 that fits
# (pure bf16 states and full activation recompute; fp32 Adam states alone would need 96 GiB).
DEFAULT_ARGS = ["simulate", "--model", "llama3-8b", "--hardware", "h100-sxm", "--batch", "8",
                "--micro-batch", "1", "--seq-len", "4096", "--recompute", "full",
                "--optimizer-state-dtype", "bf16", "--kernels", "fused"]


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(2, f"roofsim: error: {message} (see '{self.prog} --help')\n")


def fail(message: str) -> int:
    """Print a one-line error and return the bad-input exit code."""
    print(f"roofsim: error: {message}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="roofsim", description=(
        "Predict step time, memory and MFU of ML training on hardware you do not have. "
        f"With no subcommand, runs '{DEFAULT_COMMAND}' on its built-in default."))
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name, module_path in COMMANDS.items():
        try:
            module = importlib.import_module(module_path)
        except ModuleNotFoundError as exc:
            if exc.name and module_path.startswith(exc.name):
                continue  # subcommand not built yet
            raise
        module.add_parser(subparsers)
        subparsers.choices[name].set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        print("roofsim " + " ".join(DEFAULT_ARGS) + "   (built-in default)\n")
        argv = list(DEFAULT_ARGS)
    elif argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = [DEFAULT_COMMAND, *argv]
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # argparse has printed its one-line error or the help
        return int(exc.code or 0)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        return fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except KeyboardInterrupt:
        return fail("interrupted")
    except BrokenPipeError:   # output piped into `head` and closed: not an error of ours
        sys.stderr.close()
        return 0
    except MemoryError:
        return fail("out of host memory while simulating; try a smaller configuration")


if __name__ == "__main__":
    sys.exit(main())
