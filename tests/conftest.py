"""Shared fixtures: the real data in ../shared/data, offline hub, one thread for torch/OpenMP."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

DATA_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA_ROOT / "MANIFEST.md").is_file():
        raise RuntimeError(f"the shared data is missing: expected it at {DATA_ROOT}")
    return DATA_ROOT
