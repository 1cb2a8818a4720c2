"""Run the ``harness`` command as a user would: a real subprocess, offline, with its own cache folder."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

HARNESS = [sys.executable, "-m", "harness"]


def run_harness(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HARNESS_CACHE": str(Path(cwd or ".") / "cache")}
    return subprocess.run(
        [*HARNESS, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
