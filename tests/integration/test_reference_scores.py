"""Published numbers, reproduced through the harness's own path (registry -> runner -> metrics).

Each (model, suite) in ``reference_scores.toml`` is run once per session over every task the file
lists for it, on the real data in ../shared/data, with a fresh cache folder, so nothing from an
earlier run is reused. The reference runs committed under ``results/`` are held to the same numbers
by a fast test, which also re-derives their metrics from what they carry (``submit.check``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import registry, runner
from harness.models.options import ModelOptions
from harness.results import ResultsFile, TaskResult, read_results
from harness.submit import check

REFERENCE = tomllib.loads((Path(__file__).parent.parent / "reference_scores.toml").read_text())
NOT_METRICS = {"source", "why", "tolerance"}
CASES = [
    (model, task, metric, float(value), float(entry["tolerance"]))
    for model, tasks in REFERENCE.items()
    for task, entry in tasks.items()
    for metric, value in entry.items()
    if metric not in NOT_METRICS
]
MARKS = {
    "bm25-flat": [pytest.mark.lucene],
    "bm25-multifield": [pytest.mark.lucene],
    "all-MiniLM-L6-v2": [pytest.mark.slow],
    "all-mpnet-base-v2": [pytest.mark.slow],
}
CASE_MARKS = {
    ("all-mpnet-base-v2", "beir/scifact"): [pytest.mark.reproduction],
    ("splade-pp-ed", "beir/scifact"): [pytest.mark.reproduction],
}
"""all-mpnet-base-v2 encodes SciFact in about 20-40 minutes on 2 CPUs: its committed run is held to the
number by the fast test below, and this re-run (with ``harness verify`` of the committed file) runs with
``python -m pytest -m reproduction``, outside the default run."""
RESULTS = Path(__file__).resolve().parents[2] / "results"
MODEL_IDS = {
    "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "all-mpnet-base-v2": "sentence-transformers/all-mpnet-base-v2",
    "splade-pp-ed": "naver/splade-cocondenser-ensembledistil",
}
UNCOMMITTED = {"splade-pp-ed": "its weights are not on the CI machine: a target for users who have them"}
"""Conditions with no committed run; their reproduction test (-m reproduction) fails without the weights."""


def suite_of(task: str) -> str:
    return task.partition("/")[0]


@pytest.fixture(scope="session")
def reference_runs() -> dict[tuple[str, str], ResultsFile]:
    return {}


def _result(
    runs: dict[tuple[str, str], ResultsFile], model: str, task: str, data_root: Path, cache: Path
) -> TaskResult:
    suite_name = suite_of(task)
    if (model, suite_name) not in runs:
        suite = registry.suite(suite_name)
        datasets = [
            name.partition("/")[2]
            for name in REFERENCE[model]
            if suite_of(name) == suite_name and (name == task or (model, name) not in CASE_MARKS)
        ]
        selection = suite.select(data_root, datasets, None)
        loaded = registry.load_model(model, ModelOptions(cache_dir=cache))
        runs[model, suite_name] = runner.run(loaded, suite, selection.tasks, data_root)
    (result,) = [r for r in runs[model, suite_name].results if r.task == task]
    return result


@pytest.mark.parametrize(
    ("model", "task", "metric", "expected", "tolerance"),
    [
        pytest.param(
            *case,
            id=f"{case[0]}-{case[1]}-{case[2]}",
            marks=CASE_MARKS.get((case[0], case[1]), MARKS.get(case[0], [])),
        )
        for case in CASES
    ],
)
def test_reproduces_published_number(
    reference_runs: dict[tuple[str, str], ResultsFile],
    data_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    model: str,
    task: str,
    metric: str,
    expected: float,
    tolerance: float,
) -> None:
    result = _result(reference_runs, model, task, data_root, tmp_path_factory.mktemp("cache"))
    assert result.inputs.verified, f"the data of {task} must be the verified build"
    assert (result.task, result.split) == (task, "test")
    value = result.metrics[metric]
    assert abs(value - expected) <= tolerance, (
        f"{model} {task} {metric} = {value:.5f}, expected {expected} ± {tolerance}"
    )


def test_reference_cases_cover_the_issues() -> None:
    """The four core conditions and MTEB's seven STS numbers are listed, each with a source and a reason."""
    assert {"bm25-flat", "bm25-multifield", "bm25s", "all-MiniLM-L6-v2"} <= set(REFERENCE)
    sts = {task for task in REFERENCE["all-MiniLM-L6-v2"] if suite_of(task) == "sts"}
    assert sts == {f"sts/{name}" for name in ("stsb", "sickr", "sts12", "sts13", "sts14", "sts15", "sts16")}
    for tasks in REFERENCE.values():
        for entry in tasks.values():
            assert entry["source"] and entry["why"] and 0 < entry["tolerance"] <= 0.015


def committed_runs() -> Iterator[ResultsFile]:
    for path in sorted(RESULTS.glob("*/*.json")):
        yield read_results(path)


def test_every_reference_condition_has_a_committed_run() -> None:
    committed = {(run.model.id, result.task) for run in committed_runs() for result in run.results}
    for model, tasks in REFERENCE.items():
        if model in UNCOMMITTED:
            continue
        for task in tasks:
            assert (MODEL_IDS.get(model, model), task) in committed, f"no committed run of {model} on {task}"


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*/*.json")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_committed_reference_run_holds_its_numbers_and_re_derives_them(path: Path, data_root: Path) -> None:
    run = read_results(path)
    assert run.origin == "local"
    verdicts = check(run, path.name, data_root)  # per-query means, STS correlations from predictions
    generated = {result.task for result in run.results if result.inputs.generator is not None}
    assert all(verdict.verified for verdict in verdicts if verdict.task not in generated)
    assert generated <= {r.task for r in run.results if r.task.startswith("kernels/attention-")}
    names = {MODEL_IDS.get(model, model): model for model in REFERENCE}
    for result in run.results:
        entry = REFERENCE.get(names.get(run.model.id, run.model.id), {}).get(result.task)
        if entry is None or result.variant:
            continue  # a sweep's variant (a layer, a dimension) is another model than the published one
        for metric, expected in entry.items():
            if metric in NOT_METRICS:
                continue
            assert abs(result.metrics[metric] - float(expected)) <= float(entry["tolerance"]), (
                result.task,
                metric,
            )
