"""A sweep's work directory: one CSV shard per finished chunk and an append-only manifest of them.

A chunk counts as finished only once its manifest line is written (after its shard is whole on
disk), so an interrupted sweep loses at most the chunks in flight and `resume` never recomputes
a finished one. The manifest's first line names the sweep (SweepSpec.key()); resuming a
different sweep in the same directory is refused.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from sim.sweep.rows import read_rows, write_rows
from sim.sweep.worker import ChunkSummary, shard_path

MANIFEST = "manifest.jsonl"


class Store:
    """Shards and manifest of one sweep in `directory`."""

    def __init__(self, directory: str | Path, key: str, resume: bool):
        self.dir = Path(directory)
        self.key = key
        self.done: dict[int, ChunkSummary] = {}
        path = self.dir / MANIFEST
        if resume and path.exists():
            self._load(path)
        else:
            if path.exists() and not resume:
                for f in self.dir.glob("shard-*.csv"):
                    f.unlink()
            self.dir.mkdir(parents=True, exist_ok=True)
            with open(path, "w") as fh:
                fh.write(json.dumps({"sweep": key}) + "\n")

    def _load(self, path: Path) -> None:
        lines = path.read_text().splitlines()
        head = json.loads(lines[0]) if lines else {}
        if head.get("sweep") != self.key:
            raise ValueError(f"{self.dir} holds a different sweep (key {head.get('sweep')} != {self.key}); "
                             "use another directory or drop --resume")
        for line in lines[1:]:
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                continue   # a line cut by a kill: that chunk is simply redone
            if shard_path(self.dir, d["chunk"]).exists():
                d["top"], d["pareto"] = tuple(d["top"]), tuple(d["pareto"])
                self.done[d["chunk"]] = ChunkSummary(**{**d, "rows": None})

    def record(self, s: ChunkSummary) -> None:
        """Make a chunk finished: write its shard if the worker returned rows, then its manifest line."""
        if s.rows is not None:
            write_rows(shard_path(self.dir, s.chunk), list(s.rows))
        d = asdict(s)
        d.pop("rows")
        with open(self.dir / MANIFEST, "a") as fh:
            fh.write(json.dumps(d) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.done[s.chunk] = ChunkSummary(**{**d, "rows": None})

    def rows(self) -> list[dict]:
        """Every row of every finished chunk, in chunk order."""
        out: list[dict] = []
        for c in sorted(self.done):
            out += read_rows(shard_path(self.dir, c))
        return out
