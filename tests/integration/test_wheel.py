"""The installed package is complete: a wheel carries the board page and the schema, not only a checkout.

``harness board`` runs ``harness/board/page.py`` from wherever the package is installed (it used to
exec ``leaderboard/app.py``, which only a source checkout has). Built offline with the project's
own build backend, as pip installs it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import harness.board

ROOT = Path(__file__).resolve().parents[2]


def test_the_board_page_lives_inside_the_package() -> None:
    package = Path(harness.__file__).resolve().parent
    assert harness.board.PAGE.parent == package / "board"
    assert harness.board.PAGE.is_file()


def test_a_wheel_carries_the_board_page_the_app_and_the_schema(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("repbench_harness-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in (
        "harness/board/page.py",
        "harness/board/app.py",
        "harness/board/views.py",
        "harness/board/cache.py",
        "harness/board/queries.py",
        "harness/schema/results-v2.json",
        "harness/suites/sts/task.py",
        "harness/py.typed",
        "harness/circuits/model.py",  # a package of its own (it once lacked an __init__.py)
        "harness/suites/circuit/toys/mix4-3l8h-seed2.safetensors",
        "harness/suites/circuit/toys/induction-2l4h-seed0.ground-truth.json",
        "harness/suites/circuit/ground_truth/gpt2-small.ground-truth.json",
    ):
        assert member in names, member
    assert not any(name.startswith(("leaderboard/", "tests/", "results/")) for name in names)
