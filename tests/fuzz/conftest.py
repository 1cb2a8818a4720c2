"""Hypothesis profiles for the fuzz tests, ``ci`` (the default) and ``stress``, and the bench fixture.

``ci`` runs 100 examples per property (9 properties, about 900 files in all, under a minute on
2 cores with the fixed cases), derandomized so that CI is repeatable. ``stress`` runs 10,000 per
property (90,000 files, about half an hour) with fresh randomness each time; select it with
``HARNESS_FUZZ_PROFILE=stress`` and add ``--hypothesis-show-statistics`` for the counts. Neither
writes an example database (hypothesis keeps only its git-ignored caches in ``.hypothesis/``): a
failure prints the falsifying example and ``@reproduce_failure`` blob to rerun it.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzzkit import Bench
from hypothesis import HealthCheck, settings

from harness import store

_COMMON: dict[str, Any] = {
    "deadline": None,  # file writes and fsync make per-example times noisy; hangs: fuzzkit.hang_guard
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=100, derandomize=True, **_COMMON)
settings.register_profile("stress", max_examples=10_000, **_COMMON)
settings.load_profile(os.environ.get("HARNESS_FUZZ_PROFILE", "ci"))


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """A database and submissions folder per test module; left intact and consistent at the end."""
    work = tmp_path_factory.mktemp("fuzz")
    engine = store.connect(f"sqlite:///{work / 'db.sqlite'}")
    yield Bench(engine, work, work / "submissions")
    engine.dispose()
    assert _integrity(work / "db.sqlite") == "ok"
    leftovers = set((work / "submissions").iterdir()) if (work / "submissions").exists() else set()
    assert all(re.fullmatch(r"[0-9a-f]{64}\.json", p.name) for p in leftovers)


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
