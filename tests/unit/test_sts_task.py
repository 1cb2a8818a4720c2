"""The STS task: evaluate with any Encoder, and ``check`` re-deriving Spearman and Pearson from a file.

The encoder here is a real, tiny model (hashed character trigrams, ``tests/encoders.py``), so the
task's whole path runs in a second; all-MiniLM-L6-v2 runs the same path in the reference and CLI tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from encoders import TrigramEncoder

from harness.errors import FieldError, InputError, SettingError
from harness.metrics.correlation import pearson, spearman
from harness.models.sparse import Bm25s
from harness.results import ItemValues, Predictions, TaskResult
from harness.runner import check_compatible, run_task
from harness.submit import check
from harness.suites import sts
from harness.suites.sts.data import StsDataset
from harness.suites.sts.task import DIGITS, StsTask
from harness.timing import Timer


@pytest.fixture(scope="module")
def task() -> StsTask:
    return StsTask(sts.SUITE.cards["stsb"])


@pytest.fixture(scope="module")
def data(task: StsTask, data_root: Path) -> StsDataset:
    return task.load(data_root)


@pytest.fixture(scope="module")
def result(task: StsTask, data_root: Path) -> TaskResult:
    return run_task(task, TrigramEncoder(), data_root, Timer())


def edited(result: TaskResult, **update: object) -> TaskResult:
    return result.model_copy(update=update)


def with_values(result: TaskResult, values: list[float]) -> TaskResult:
    assert result.predictions is not None
    return edited(result, predictions=result.predictions.model_copy(update={"values": values}))


def test_a_run_records_one_similarity_per_pair_and_the_correlations_of_exactly_those(
    result: TaskResult, data: StsDataset
) -> None:
    assert result.task == "sts/stsb"
    assert result.main_metric == "spearman"
    assert result.inputs.verified
    assert result.inputs.counts == {"pairs": 1379, "sentences": 2552}
    assert result.per_item is None
    assert result.predictions is not None
    assert result.predictions.kind == "similarity"
    values = result.predictions.values
    assert len(values) == 1379
    assert all(-1.0 <= v <= 1.0 for v in values)
    assert all(float(f"{v:.{DIGITS}g}") == v for v in values)  # stored as computed from
    assert result.metrics == {"spearman": spearman(values, data.gold), "pearson": pearson(values, data.gold)}
    assert 0.3 < result.metrics["spearman"] < 0.9  # trigram overlap tracks similarity, loosely
    assert {"load", "encode", "evaluate", "total"} <= set(result.timings_s)


def test_each_distinct_sentence_is_encoded_once_in_one_call(task: StsTask, data_root: Path) -> None:
    encoder = TrigramEncoder()
    run_task(task, encoder, data_root, Timer())
    assert encoder.calls == [2552]


def test_the_file_of_a_run_passes_its_check(task: StsTask, result: TaskResult, data: StsDataset) -> None:
    assert task.check(result, data) is True  # every metric recomputed from the card's data: rescored


def test_a_spearman_changed_by_a_thousandth_is_refused(
    task: StsTask, result: TaskResult, data: StsDataset
) -> None:
    metrics = {**result.metrics, "spearman": result.metrics["spearman"] + 0.001}
    with pytest.raises(FieldError) as caught:
        task.check(edited(result, metrics=metrics), data)
    assert caught.value.field == "metrics.spearman"
    assert "recomputed from predictions and the local gold scores" in caught.value.message


def test_a_pearson_changed_below_the_fourth_decimal_is_refused(
    task: StsTask, result: TaskResult, data: StsDataset
) -> None:
    metrics = {**result.metrics, "pearson": result.metrics["pearson"] + 1e-7}
    with pytest.raises(FieldError, match=r"metrics\.pearson"):
        task.check(edited(result, metrics=metrics), data)


def test_one_changed_prediction_is_refused(task: StsTask, result: TaskResult, data: StsDataset) -> None:
    assert result.predictions is not None
    values = list(result.predictions.values)
    values[700] = -values[700] if abs(values[700]) > 0.2 else values[700] + 0.9
    with pytest.raises(FieldError) as caught:
        task.check(with_values(result, values), data)
    assert caught.value.field == "metrics.spearman"  # the main metric is re-derived first


def test_two_predictions_swapped_are_refused(task: StsTask, result: TaskResult, data: StsDataset) -> None:
    assert result.predictions is not None
    values = list(result.predictions.values)
    first, second = values.index(max(values)), values.index(min(values))
    values[first], values[second] = values[second], values[first]
    with pytest.raises(FieldError, match=r"metrics\.spearman"):
        task.check(with_values(result, values), data)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: edited(r, predictions=None), "predictions"),
        (lambda r: with_values(r, r.predictions.values[:-1]), "predictions.values"),
        (
            lambda r: with_values(r, [*r.predictions.values[:3], 1.5, *r.predictions.values[4:]]),
            "predictions.values[3]",
        ),
        (
            lambda r: edited(r, per_item=ItemValues(kind="pair", values={"spearman": {"1": 0.5}})),
            "per_item",
        ),
        (
            lambda r: edited(r, predictions=Predictions(kind="similarity", item_kind="query", values=[0.5])),
            "predictions.kind",
        ),
    ],
    ids=["missing", "one-short", "out-of-range", "per-item", "wrong-item-kind"],
)
def test_malformed_predictions_are_refused_naming_the_field(
    task: StsTask, result: TaskResult, data: StsDataset, change: object, field: str
) -> None:
    with pytest.raises(FieldError) as caught:
        task.check(change(result), data)  # type: ignore[operator]
    assert caught.value.field == field


def test_without_the_local_data_the_scores_cannot_be_recomputed(task: StsTask, result: TaskResult) -> None:
    """Without the local data the file is accepted as submitted, not rescored; its shape is still checked."""
    assert task.check(result, None) is False
    assert result.predictions is not None
    values = [*result.predictions.values[:3], 1.5, *result.predictions.values[4:]]
    with pytest.raises(FieldError) as caught:
        task.check(with_values(result, values), None)
    assert caught.value.field == "predictions.values[3]"
    with pytest.raises(FieldError) as caught:
        task.check(with_values(result, values[:-1]), None)
    assert caught.value.field == "predictions.values"


def test_a_result_on_other_data_cannot_be_recomputed_from_ours(
    task: StsTask, result: TaskResult, data: StsDataset
) -> None:
    inputs = result.inputs.model_copy(update={"fingerprint": "0" * 64, "verified": False})
    with pytest.raises(FieldError) as caught:
        task.check(edited(result, inputs=inputs), data)
    assert caught.value.field == "inputs.fingerprint"


def test_a_sparse_model_cannot_run_the_suite() -> None:
    with pytest.raises(SettingError) as caught:
        check_compatible(Bm25s(), sts.SUITE)
    assert caught.value.setting == "model"
    assert "bm25s (sparse) cannot run the sts suite: it needs Encoder" in caught.value.message


def test_submit_check_places_the_task_error_in_the_file(result: TaskResult, data_root: Path) -> None:
    from factories import make_results

    results = make_results(results=[result], suite="sts")
    (verdict,) = check(results, "run.json", data_root)
    assert (verdict.verified, verdict.rescored) == (True, True)
    metrics: Mapping[str, float] = {**result.metrics, "spearman": 0.5}
    tampered = make_results(results=[edited(result, metrics=dict(metrics))], suite="sts")
    with pytest.raises(InputError) as caught:
        check(tampered, "run.json", data_root)
    assert str(caught.value).startswith("run.json: results[0].metrics.spearman: 0.5000 is not recomputed")
    # without the local data: accepted (the inputs equal the card) but not rescored
    (verdict,) = check(results, "run.json", None)
    assert (verdict.verified, verdict.rescored) == (True, False)


def test_every_sts_dataset_is_a_task_of_the_suite() -> None:
    assert sts.SUITE.datasets() == tuple(sts.SUITE.cards)
    assert set(sts.SUITE.datasets()) == {
        "stsb",
        "sickr",
        "sickr-test",
        "sts12",
        "sts13",
        "sts14",
        "sts15",
        "sts16",
    }
    for name in sts.SUITE.datasets():
        made = sts.SUITE.task(name, "test")
        assert made.name == f"sts/{name}"
        assert [m.name for m in made.measures] == ["spearman", "pearson"]
