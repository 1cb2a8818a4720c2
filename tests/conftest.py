"""Shared fixtures: the real data in ../shared/data, an offline hub, and the measured thread setting.

The store's two backends come from ``pg_cluster.py``: ``store_url`` (a fresh SQLite file or a fresh
database of a throw-away PostgreSQL cluster, ids ``sqlite`` and ``postgresql``) and ``postgres_server``.

Threads: the heaviest encode of the tests (all of SciFact through all-MiniLM-L6-v2,
``tests/benchmarks/scifact_encode.py``) was timed as a whole process on the 2-core CI machine, with
1 OpenMP thread against 2 threads that sleep when idle (``OMP_WAIT_POLICY=PASSIVE``): 2 passive
threads took 0.56x the wall time of 1 (184 s against 328 s, medians of 2 alternated runs;
CONTRIBUTING.md, "Threads"). CI runs alone on its machine, so the tests use both cores; passive
waiting keeps an idle OpenMP pool from spinning against the other processes the tests start (Java,
Streamlit, Chromium).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_cluster import postgres_cluster, postgres_server, store_url  # noqa: F401  (fixtures)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DATA_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA_ROOT / "MANIFEST.md").is_file():
        raise RuntimeError(f"the shared data is missing: expected it at {DATA_ROOT}")
    return DATA_ROOT


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread for the test: training is bit for bit only there (threaded gradient sums)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
