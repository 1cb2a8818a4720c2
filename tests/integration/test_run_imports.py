"""``harness run`` stays light: the harness's own modules never import pandas or Streamlit.

The board's modules (``harness.board``) use both; the run path (CLI, registry, runner, store,
results, suites) uses neither, so a run pays for no DataFrame library it does not use. Measured in a
fresh interpreter around a real ``harness run`` of bm25s (no third-party model library loads
pandas there). A dense model's own library is another matter: sentence-transformers imports
scikit-learn and datasets, which import pandas, so for it only Streamlit is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
from harness import cli
code = cli.main(sys.argv[1:])
loaded = sorted(m for m in ("pandas", "streamlit", "altair") if m in sys.modules)
print(json.dumps({"code": code, "loaded": loaded}))
"""


def run_in_fresh_interpreter(tmp_path: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "run", *args, "--db", f"sqlite:///{tmp_path / 'db.sqlite'}",
         "--results-dir", str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache"), "--quiet"],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_a_bm25s_run_imports_neither_pandas_nor_streamlit(tmp_path: Path, data_root: Path) -> None:
    report = run_in_fresh_interpreter(
        tmp_path, "--model", "bm25s", "--suite", "beir", "--datasets", "scifact", "--data-dir", str(data_root)
    )
    assert report == {"code": 0, "loaded": []}


@pytest.mark.slow
def test_a_dense_sts_run_does_not_import_streamlit(tmp_path: Path, data_root: Path) -> None:
    report = run_in_fresh_interpreter(
        tmp_path,
        "--model",
        "all-MiniLM-L6-v2",
        "--suite",
        "sts",
        "--datasets",
        "stsb",
        "--data-dir",
        str(data_root),
    )
    assert report["code"] == 0
    assert "streamlit" not in report["loaded"]  # type: ignore[operator]
    assert "altair" not in report["loaded"]  # type: ignore[operator]


def test_the_run_path_modules_import_no_dataframe_library() -> None:
    code = (
        "import sys\n"
        "import harness.cli, harness.registry, harness.runner, harness.store\n"
        "import harness.submit, harness.verify\n"
        "import harness.results, harness.suites.beir, harness.suites.sts, harness.report\n"
        "print(sorted(m for m in ('pandas', 'streamlit', 'altair') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
