"""Published numbers, reproduced through the harness's own path (registry -> runner -> metrics).

Each condition is run once per session on the full BEIR SciFact test split from ../shared/data,
with a fresh cache folder, so nothing from an earlier run is reused.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from harness import registry, runner
from harness.results import ResultsFile, TaskResult

REFERENCE = tomllib.loads((Path(__file__).parent.parent / "reference_scores.toml").read_text())
CASES = [
    (model, dataset, metric, float(value), float(entry["tolerance"]))
    for model, datasets in REFERENCE.items()
    for dataset, entry in datasets.items()
    for metric, value in entry.items()
    if metric not in {"source", "why", "tolerance"}
]
MARKS = {
    "bm25-flat": [pytest.mark.lucene],
    "bm25-multifield": [pytest.mark.lucene],
    "all-MiniLM-L6-v2": [pytest.mark.slow],
}


@pytest.fixture(scope="session")
def reference_runs() -> dict[tuple[str, str], ResultsFile]:
    return {}


def _result(
    runs: dict[tuple[str, str], ResultsFile], model: str, dataset: str, data_root: Path, cache: Path
) -> TaskResult:
    if (model, dataset) not in runs:
        options = registry.ModelOptions(cache_dir=cache)
        tasks, _ = registry.suite_tasks("beir", data_root, [dataset], "test")
        runs[model, dataset] = runner.run(registry.load_model(model, options), tasks, "beir")
    (result,) = runs[model, dataset].results
    return result


@pytest.mark.parametrize(
    ("model", "dataset", "metric", "expected", "tolerance"),
    [
        pytest.param(*case, id=f"{case[0]}-{case[1]}-{case[2]}", marks=MARKS.get(case[0], []))
        for case in CASES
    ],
)
def test_reproduces_published_number(
    reference_runs: dict[tuple[str, str], ResultsFile],
    data_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    model: str,
    dataset: str,
    metric: str,
    expected: float,
    tolerance: float,
) -> None:
    result = _result(reference_runs, model, dataset, data_root, tmp_path_factory.mktemp("cache"))
    assert result.dataset.verified, "the data must be the verified SciFact build"
    value = result.metrics[metric]
    assert abs(value - expected) <= tolerance, (
        f"{model} {dataset} {metric} = {value:.5f}, expected {expected} ± {tolerance}"
    )


def test_reference_cases_cover_the_issue() -> None:
    """The four conditions the core issue names are all listed, with a source and a reason."""
    assert {"bm25-flat", "bm25-multifield", "bm25s", "all-MiniLM-L6-v2"} <= set(REFERENCE)
    for datasets in REFERENCE.values():
        for entry in datasets.values():
            assert entry["source"] and entry["why"] and 0 < entry["tolerance"] <= 0.015
