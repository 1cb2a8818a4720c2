"""Named phases of a run (load, index, encode, search, evaluate) on a monotonic clock, plus peak RSS."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Timer:
    """Accumulates wall seconds per phase; a phase entered twice adds up.

    ``on_phase`` is told each phase as it starts, so the CLI can show where a long run is.
    """

    def __init__(self, on_phase: Callable[[str], None] | None = None) -> None:
        self.phases: dict[str, float] = {}
        self._start = time.perf_counter()
        self._on_phase = on_phase

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        if self._on_phase:
            self._on_phase(phase)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[phase] = self.phases.get(phase, 0.0) + time.perf_counter() - start

    def total(self) -> float:
        return time.perf_counter() - self._start


def peak_rss_mib() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
