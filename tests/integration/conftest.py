"""Integration fixtures: the distilled ``m2v-minilm``, built once per machine by the real command.

Distillation takes 30-130 s on 2 cores, so it happens here, once, and never in a unit test. The
build goes to the user's default cache root (not a temporary folder) because it is cached there by
the hashes of its inputs (``harness.models.distill``): only the first session on a machine, or the
first after an input changed, pays for it; later sessions find the folder in about a second.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import run_harness

from harness.data.files import default_cache_root


@pytest.fixture(scope="session")
def m2v_minilm_dir() -> Path:
    """The folder of the built ``m2v-minilm``, from ``harness distill m2v-minilm`` run as a user would."""
    done = run_harness("distill", "m2v-minilm", "--cache-dir", default_cache_root())
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r"^folder: (.+)$", done.stdout, re.MULTILINE)
    assert found is not None, done.stdout
    folder = Path(found.group(1))
    assert (folder / "build.json").is_file()
    return folder
