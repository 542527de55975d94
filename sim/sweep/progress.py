"""A one-line progress bar on stderr (no dependency): plans done, rate, time left."""
from __future__ import annotations

import sys
import time


class Progress:
    """Redrawn with a carriage return at most every `every` seconds; silent when disabled."""

    def __init__(self, total: int, enabled: bool = True, stream=None, label: str = "sweep", every: float = 0.2):
        self.total, self.enabled, self.label, self.every = max(total, 1), enabled, label, every
        self.stream = stream or sys.stderr
        self.done = 0
        self.t0 = time.perf_counter()
        self._last = 0.0

    def update(self, n: int, force: bool = False) -> None:
        self.done += n
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < self.every):
            return
        self._last = now
        frac = min(1.0, self.done / self.total)
        rate = self.done / max(now - self.t0, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {frac:4.0%} {self.done:,}/{self.total:,} plans, "
                          f"{rate:,.0f} plans/s, {left:,.0f} s left ")
        self.stream.flush()

    def close(self, message: str = "") -> None:
        if self.enabled:
            self.update(0, force=True)
            self.stream.write(f"\n{message}\n" if message else "\n")
            self.stream.flush()
