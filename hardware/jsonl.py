"""Line-numbered JSONL reading shared by the calibration readers (microbenchmarks, collectives)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator


def iter_jsonl(path: str | Path, bad_json: str = "malformed JSON") -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-blank line; one-line ValueError "<path>:<line>: <bad_json> (<why>)"
    for a line that is not JSON, "<path>:<line>: a record must be a JSON object" for one that is not an object."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: {bad_json} ({exc.msg})") from None
        if not isinstance(rec, dict):
            raise ValueError(f"{path}:{lineno}: a record must be a JSON object")
        yield lineno, rec
