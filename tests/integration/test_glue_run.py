"""``harness run --suite glue`` through the CLI with all-MiniLM-L6-v2, then ``harness submit`` rescoring it.

The slow test runs all ten datasets capped at 1,000 training examples (about 19,000 texts to
encode: minutes on 2 CPUs); the fast one runs one cross-validated and one train -> test dataset
capped at 100. Both file the run as a submission to a fresh database, with the data here, so
``submit`` recomputes every metric from the predicted labels ("verified, rescored").
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_harness as harness

ALL = ("sst2", "sst5", "mrpc", "cola", "rte", "trec", "mr", "cr", "subj", "mpqa")
SANE = {  # main metric -> a range around what all-MiniLM-L6-v2 scored with 1,000 training examples
    # (2026-12-06: SST-2 0.771, SST-5 0.378, MRPC 0.721, RTE 0.553, TREC 0.846, MR 0.747, CR 0.781,
    # SUBJ 0.899, MPQA 0.849)
    "sst2": (0.70, 0.95),
    "sst5": (0.30, 0.60),
    "mrpc": (0.60, 0.85),
    "cola": (-0.05, 0.6),  # MCC; 0.013 measured: with 1,000 examples a MiniLM probe is near chance
    "rte": (0.45, 0.75),
    "trec": (0.60, 0.98),
    "mr": (0.65, 0.90),
    "cr": (0.70, 0.95),
    "subj": (0.80, 0.99),
    "mpqa": (0.70, 0.95),
}


def run_and_submit(data_root: Path, work: Path, datasets: list[str]) -> tuple[dict[str, Any], list[str]]:
    output = work / "run.json"
    done = harness(
        "run", "--model", "all-MiniLM-L6-v2", "--suite", "glue", "--datasets", ",".join(datasets),
        "--data-dir", data_root, "--db", f"sqlite:///{work / 'run.sqlite'}",
        "--results-dir", work / "results", "--output", output, "--quiet", cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    submitted = harness(
        "submit", output, "--db", f"sqlite:///{work / 'submit.sqlite'}", "--data-dir", data_root,
        "--submissions-dir", work / "submissions", cwd=work,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    return json.loads(output.read_text()), submitted.stdout.splitlines()


def assert_rescored(lines: list[str], tasks: list[str]) -> None:
    for task in tasks:
        (line,) = [line for line in lines if line.startswith(f"glue/{task} (")]
        assert line.endswith(": verified, rescored"), line


FAST = ["cr-cap100", "trec-cap100"]


@pytest.fixture(scope="module")
def fast_run(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], list[str]]:
    work = tmp_path_factory.mktemp("glue")
    return work, *run_and_submit(data_root, work, FAST)


def test_two_capped_tasks_run_and_are_rescored_on_submit(
    fast_run: tuple[Path, dict[str, Any], list[str]],
) -> None:
    _, document, lines = fast_run
    results = {r["task"]: r for r in document["results"]}
    assert set(results) == {"glue/cr-cap100", "glue/trec-cap100"}
    assert results["glue/cr-cap100"]["split"] == "cv" and results["glue/trec-cap100"]["split"] == "test"
    assert results["glue/trec-cap100"]["inputs"]["counts"] == {
        "train": 100,
        "eval": 500,
        "sentences": 600,
        "classes": 6,
    }
    assert results["glue/trec-cap100"]["metrics"]["accuracy"] > 0.4  # majority class: 0.28
    assert results["glue/cr-cap100"]["metrics"]["accuracy"] > 0.6
    assert_rescored(lines, FAST)


def test_a_tampered_label_is_refused_on_submit(
    data_root: Path, fast_run: tuple[Path, dict[str, Any], list[str]]
) -> None:
    work, document, _ = fast_run
    tampered = json.loads(json.dumps(document))
    values = tampered["results"][0]["predictions"]["values"]
    values[0] = 1.0 - values[0]
    path = work / "tampered.json"
    path.write_text(json.dumps(tampered))
    done: subprocess.CompletedProcess[str] = harness(
        "submit", path, "--db", f"sqlite:///{work / 'other.sqlite'}", "--data-dir", data_root,
        "--submissions-dir", work / "other", cwd=work,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert ": results[0].replicates[" in line and "].metrics.accuracy: " in line, line


@pytest.mark.slow
def test_all_ten_datasets_capped_at_1000_run_and_are_rescored(data_root: Path, tmp_path: Path) -> None:
    datasets = [f"{name}-cap1000" for name in ALL]
    document, lines = run_and_submit(data_root, tmp_path, datasets)
    results = {r["task"]: r for r in document["results"]}
    assert list(results) == [f"glue/{name}" for name in datasets]
    for name in ALL:
        result = results[f"glue/{name}-cap1000"]
        low, high = SANE[name]
        value = result["metrics"][result["main_metric"]]
        assert low < value < high, (name, result["main_metric"], value)
        assert result["inputs"]["verified"] is True and result["settings"]["train_cap"] == 1000
    assert results["glue/cola-cap1000"]["main_metric"] == "mcc"
    assert set(results["glue/mrpc-cap1000"]["metrics"]) == {"accuracy", "f1"}
    assert_rescored(lines, datasets)
