"""Unit parsing and formatting at the edges (CLI, files): sizes like 1GiB, 512MB, 4096; bandwidth in GB/s."""
from __future__ import annotations

import re

_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")

GB = 1e9  # nccl-tests and datasheets quote GB/s = 1e9 bytes/s


def parse_bytes(text: str | int | float) -> int:
    """Parse a byte count such as '1GiB', '512MB', '4096' (decimal MB/GB, binary KiB/MiB/GiB)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _SIZE_RE.match(str(text))
        unit = match.group(2).lower() if match else None
        if not match or unit not in _SIZE_UNITS:
            raise ValueError(f"cannot read size {text!r}; write e.g. 4096, 512MB, 1GiB")
        value = float(match.group(1)) * _SIZE_UNITS[unit]
    if value < 0 or value != value:
        raise ValueError(f"size must be a non-negative number of bytes, got {text!r}")
    return int(round(value))


def parse_sweep(text: str) -> list[int]:
    """Parse 'MIN:MAX' (or 'MIN:MAX:FACTOR') into sizes growing by FACTOR (default 2), like nccl-tests -b/-e/-f."""
    parts = str(text).split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"cannot read sweep {text!r}; write MIN:MAX or MIN:MAX:FACTOR, e.g. 1KiB:4GiB")
    lo, hi = parse_bytes(parts[0]), parse_bytes(parts[1])
    factor = float(parts[2]) if len(parts) == 3 else 2.0
    if lo <= 0 or hi < lo or factor <= 1:
        raise ValueError(f"sweep {text!r} needs 0 < MIN <= MAX and FACTOR > 1")
    sizes, size = [], float(lo)
    while size <= hi * (1 + 1e-12):
        sizes.append(int(round(size)))
        size *= factor
    return sizes


def format_bytes(nbytes: float) -> str:
    """Human size with binary units, e.g. 1.0 GiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:g} {unit}"
    return f"{nbytes:g} B"
