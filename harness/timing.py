"""Named phases of a run (load, index, encode, search, evaluate) on a monotonic clock, plus peak RSS."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

CACHED_SUFFIX = "_cached"
"""A phase that reused cached work (embeddings, an index) is recorded as ``index_cached``: its time
is kept, but no speed is derived from it (the board's rates read ``index``)."""

SUBPHASE_SEPARATOR = "/"
"""``search/first_stage`` is a part of ``search`` (a pipeline's stages, ``models.protocols.StageTimed``):
recorded beside its phase and left out of sums over phases, which already hold it."""


def is_subphase(phase: str) -> bool:
    return SUBPHASE_SEPARATOR in phase


class Timer:
    """Accumulates wall seconds per phase; a phase entered twice adds up.

    ``on_phase`` is told each phase as it starts, so the CLI can show where a long run is;
    ``reused_items`` (a model's ``CacheAware.reused_items``) tells whether a phase was served from a
    cache, which renames it (``CACHED_SUFFIX``).
    """

    def __init__(
        self, on_phase: Callable[[str], None] | None = None, reused_items: Callable[[], int] | None = None
    ) -> None:
        self.phases: dict[str, float] = {}
        self._start = time.perf_counter()
        self._on_phase = on_phase
        self._reused_items = reused_items

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        if self._on_phase:
            self._on_phase(phase)
        reused_before = self._reused_items() if self._reused_items else 0
        start = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - start
            if self._reused_items and self._reused_items() > reused_before:
                phase += CACHED_SUFFIX
            self.phases[phase] = self.phases.get(phase, 0.0) + spent

    def total(self) -> float:
        return time.perf_counter() - self._start


def peak_rss_mib() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
