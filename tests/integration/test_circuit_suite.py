"""The circuit suite end to end on the committed toy models: all four methods, scored and re-scored.

Real parts: the committed checkpoints and ground-truth files (``harness/suites/circuit/toys``), the
real methods, the real runner, ``submit``'s gate and SQLite. This module is what CI runs to score
every method on every toy task (the issue asks for under 3 minutes on 2 CPUs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness import submit
from harness.cli import main
from harness.errors import InputError
from harness.results import ResultsFile, canonical_bytes, parse_results, read_results
from harness.suites.circuit import SUITE
from harness.suites.circuit.cards import TOY_FOLDER, TOY_TASKS, toy_files
from harness.suites.circuit.ground_truth import read_ground_truth
from harness.suites.circuit.spec import SEEDS
from harness.suites.circuit.toy_task import load_toys

METHODS = ("sae-codes", "activation-patching", "attribution-patching", "mean-diff")
TOY_TASK_NAMES = {f"circuit/{spec.dataset}" for spec in TOY_TASKS}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ResultsFile]:
    out = tmp_path_factory.mktemp("circuit")
    found = {}
    for method in METHODS:
        output = out / f"{method}.json"
        argv = ["run", "--suite", "circuit", "--model", method, "--quiet", "--output", str(output)]
        argv += ["--db", f"sqlite:///{out}/db.sqlite", "--results-dir", str(out / "results")]
        assert main(argv) == 0
        found[method] = read_results(output)
    return found


def _resubmitted(results: ResultsFile, data_root: Path) -> list[submit.TaskVerdict]:
    return submit.check(parse_results(canonical_bytes(results), "run.json"), "run.json", data_root)


def test_activation_patching_finds_the_induction_circuit(runs: dict[str, ResultsFile]) -> None:
    """A sanity bound, not a competition: it uses the ground truth's own kind of intervention."""
    result = next(r for r in runs["activation-patching"].results if r.task == "circuit/toy-induction")
    assert result.metrics["auc"] >= 0.95


def test_every_method_scores_every_toy_task_over_three_seeds(runs: dict[str, ResultsFile]) -> None:
    for method, results in runs.items():
        assert results.model.kind == "circuit" and results.model.id == method
        assert {r.task for r in results.results} == TOY_TASK_NAMES
        for result in results.results:
            assert [r.seed for r in result.replicates] == list(SEEDS)
            assert 0.0 <= result.metrics["auc"] <= 1.0
            # at k = |ground truth| precision and recall are one number
            assert result.metrics["precision"] == result.metrics["recall"] == result.metrics["f1"]
            assert result.metrics["seconds"] > 0
            assert ("auc_edge" in result.metrics) == (method == "sae-codes")
            assert result.inputs.verified, result.inputs
            assert result.spread("auc") is not None


def test_a_run_is_rescored_from_its_head_scores(runs: dict[str, ResultsFile], data_root: Path) -> None:
    for verdict in _resubmitted(runs["sae-codes"], data_root):
        assert verdict.verified and verdict.rescored, verdict


def test_a_changed_head_score_is_refused(runs: dict[str, ResultsFile], data_root: Path) -> None:
    results = runs["attribution-patching"]
    result = next(r for r in results.results if r.task == "circuit/toy-ioi")
    assert result.predictions is not None
    values = list(result.predictions.values)
    best = max(range(24), key=lambda h: values[h])
    values[best] = -1.0  # the top head of seed 0 falls to the bottom: its AUC no longer holds
    changed = result.model_copy(
        update={"predictions": result.predictions.model_copy(update={"values": values})}
    )
    tampered = results.model_copy(update={"results": [changed]})
    with pytest.raises(InputError, match=r"replicates\[0\]\.metrics\."):
        _resubmitted(tampered, data_root)


def test_a_changed_metric_is_refused(runs: dict[str, ResultsFile], data_root: Path) -> None:
    results = runs["mean-diff"]
    result = results.results[0]
    replicates = [
        r.model_copy(update={"metrics": {**r.metrics, "auc": min(1.0, r.metrics["auc"] + 0.2)}})
        for r in result.replicates
    ]
    mean = sum(r.metrics["auc"] for r in replicates) / len(replicates)
    changed = result.model_copy(update={"replicates": replicates, "metrics": {**result.metrics, "auc": mean}})
    with pytest.raises(InputError, match="auc"):
        _resubmitted(results.model_copy(update={"results": [changed]}), data_root)


def test_an_impossible_method_time_is_refused(runs: dict[str, ResultsFile], data_root: Path) -> None:
    results = runs["mean-diff"]
    result = results.results[0]
    slow = [r.model_copy(update={"metrics": {**r.metrics, "seconds": 1e6}}) for r in result.replicates]
    changed = result.model_copy(update={"replicates": slow, "metrics": {**result.metrics, "seconds": 1e6}})
    with pytest.raises(InputError, match="seconds"):
        _resubmitted(results.model_copy(update={"results": [changed]}), data_root)


def test_a_toy_file_that_is_not_the_committed_one_is_unverified(tmp_path: Path) -> None:
    for seed in SEEDS:
        for name in toy_files("induction-2l4h", seed):
            shutil.copy(TOY_FOLDER / name, tmp_path / name)
    assert load_toys("induction-2l4h", tmp_path).inputs.verified
    truth = tmp_path / toy_files("induction-2l4h", 1)[2]
    document = json.loads(truth.read_text())
    document["circuits"]["induction"]["mean"]["heads"] = ["0.0"]
    truth.write_text(json.dumps(document))
    assert not load_toys("induction-2l4h", tmp_path).inputs.verified


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["circuits"]["induction"]["mean"].update(heads=["0.9"]), "circuits"),
        (lambda d: d["circuits"]["induction"]["mean"].update(heads=["zero.one"]), "heads"),
        (lambda d: d["circuits"]["induction"]["mean"].update(heads=["0.1", "0.1"]), "heads"),
        (lambda d: d.update(n_layers=0), "n_layers"),
        (lambda d: d.update(extra="field"), "extra"),
    ],
)
def test_a_bad_ground_truth_file_is_one_line(tmp_path: Path, change: object, field: str) -> None:
    document = json.loads((TOY_FOLDER / toy_files("induction-2l4h", 0)[2]).read_text())
    change(document)  # type: ignore[operator]
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError, match=field) as raised:
        read_ground_truth(path)
    assert "\n" not in str(raised.value) and str(path) in str(raised.value)


def test_toy_tasks_need_no_data_root(tmp_path: Path) -> None:
    """The toy track reads only committed files: it runs on a machine with no datasets at all."""
    selection = SUITE.select(tmp_path / "nothing-here", None, None)
    assert {task.name for task in selection.tasks} >= TOY_TASK_NAMES
