"""Glue tasks end to end on the real data with a tiny real encoder: results, check() and the suite."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from encoders import TrigramEncoder

from harness import registry
from harness.errors import FieldError, SettingError
from harness.results import Replicate, TaskResult
from harness.runner import run_task
from harness.suites.glue import SUITE
from harness.suites.glue.data import GlueDataset
from harness.suites.glue.mteb_protocol import mteb_probe
from harness.suites.glue.probe import OUTER_FOLDS, SEEDS, cv_folds
from harness.suites.glue.task import GlueTask, features
from harness.suites.glue.variants import MTEB_SEED
from harness.timing import Timer
from harness.types import FloatArray

TASKS = ("cr-cap200", "mrpc-cap200", "cola-cap300", "sst2-mteb-cap200", "mr-mteb-cap200")


class UnitTrigrams(TrigramEncoder):
    """Hashed trigrams scaled to unit length, as sentence embeddings are: lbfgs converges in few steps."""

    def encode(self, texts: Any) -> FloatArray:
        vectors = super().encode(texts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)


SPLITS = {"cr-cap200": "cv", "mrpc-cap200": "test", "cola-cap300": "dev", "sst2-mteb-cap200": "dev",
          "mr-mteb-cap200": "holdout", "sst2-cap200": "dev"}  # fmt: skip


def task_of(name: str) -> GlueTask:
    return SUITE.task(name, SPLITS[name])


@pytest.fixture(scope="module")
def runs(data_root: Path) -> dict[str, tuple[GlueTask, GlueDataset, TaskResult]]:
    encoder = UnitTrigrams()
    done = {}
    for name in TASKS:
        task = task_of(name)
        data = task.load(data_root)
        done[name] = (task, data, run_task(task, encoder, data_root, Timer()))
    return done


def edited(result: TaskResult, **update: object) -> TaskResult:
    return result.model_copy(update=update)


def with_values(result: TaskResult, values: list[float]) -> TaskResult:
    assert result.predictions is not None
    return edited(result, predictions=result.predictions.model_copy(update={"values": values}))


def values_of(result: TaskResult) -> list[float]:
    assert result.predictions is not None
    return list(result.predictions.values)


@pytest.mark.parametrize("name", TASKS)
def test_a_result_is_rescored_from_its_predictions_and_the_local_labels(
    runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]], name: str
) -> None:
    task, data, result = runs[name]
    assert result.task == f"glue/{name}" and result.split == task.split
    assert result.inputs.verified
    assert result.predictions is not None and result.predictions.kind == "label"
    assert len(result.predictions.values) == len(task.seeds) * result.inputs.counts["eval"]
    assert set(result.metrics) == {m.name for m in task.measures}
    assert {"encode", "probe"} <= set(result.timings_s)
    assert task.check(result, data) is True
    assert task.check(result, None) is False  # shape only, without local data


def test_replicates_are_seeds_or_seeds_and_folds(
    runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]],
) -> None:
    cv = runs["cr-cap200"][2]
    assert [(r.seed, r.fold) for r in cv.replicates] == [(s, f) for s in SEEDS for f in range(OUTER_FOLDS)]
    split = runs["mrpc-cap200"][2]
    assert [(r.seed, r.fold) for r in split.replicates] == [(s, None) for s in SEEDS]
    mteb = runs["sst2-mteb-cap200"][2]
    assert [r.seed for r in mteb.replicates] == list(range(10)) and mteb.settings["protocol"] == "mteb"
    for result in (cv, split, mteb):
        for name, value in result.metrics.items():
            assert value == math.fsum(r.metrics[name] for r in result.replicates) / len(result.replicates)


def test_settings_record_the_protocol(runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]]) -> None:
    settings = runs["cr-cap200"][2].settings
    assert settings["protocol"] == "senteval" and settings["train_cap"] == 200
    assert settings["c_grid"] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0] and settings["outer_folds"] == OUTER_FOLDS
    assert {"tol", "max_iter", "inner_folds", "seeds", "features"} <= set(settings)
    assert "sklearn" not in settings  # a version in settings would refuse every other install's files
    assert runs["mrpc-cap200"][2].settings["features"] == "[u, v, |u-v|, u*v]"


def test_a_run_is_deterministic(
    data_root: Path, runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]]
) -> None:
    task, data, result = runs["mrpc-cap200"]  # cross-validation: test_glue_probe's determinism test
    again = task.evaluate(UnitTrigrams(), data, Timer())
    assert again.metrics == result.metrics and again.predictions == result.predictions
    assert list(again.replicates) == result.replicates


def test_mteb_reads_only_the_texts_it_encoded(
    data_root: Path, runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]]
) -> None:
    """The -mteb task leaves unread training texts unencoded: mteb_probe on every text predicts alike."""
    _, _, result = runs["sst2-mteb-cap200"]
    whole = task_of("sst2-cap200").load(data_root)  # the same examples, every text encoded
    vectors = UnitTrigrams().encode(list(whole.texts))
    outcome = mteb_probe(
        features(vectors, whole.train, False),
        np.asarray(whole.train.labels),
        features(vectors, whole.evaluation, False),
        np.asarray(whole.evaluation.labels),
        MTEB_SEED,
        ("accuracy",),
    )
    assert result.predictions is not None
    assert [float(p) for p in outcome.predictions] == result.predictions.values


def test_a_flipped_prediction_is_caught_in_its_fold(
    runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]],
) -> None:
    task, data, result = runs["cr-cap200"]
    values = values_of(result)
    n = result.inputs.counts["eval"]
    seed_index, example = 2, 37
    values[seed_index * n + example] = 1.0 - values[seed_index * n + example]
    fold = int(cv_folds(data.evaluation.labels, SEEDS[seed_index])[example])
    with pytest.raises(FieldError) as raised:
        task.check(with_values(result, values), data)
    assert raised.value.field == f"replicates[{seed_index * OUTER_FOLDS + fold}].metrics.accuracy"


@pytest.mark.parametrize("name", ["mrpc-cap200", "sst2-mteb-cap200", "mr-mteb-cap200"])
def test_a_flipped_prediction_is_caught_in_its_seed(
    runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]], name: str
) -> None:
    task, data, result = runs[name]
    values = values_of(result)
    n = result.inputs.counts["eval"]
    values[3 * n + 5] = 1.0 - values[3 * n + 5]
    with pytest.raises(FieldError) as raised:
        task.check(with_values(result, values), data)
    assert raised.value.field == "replicates[3].metrics.accuracy"


def test_a_changed_replicate_is_caught_even_when_the_mean_holds(
    runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]],
) -> None:
    task, data, result = runs["cola-cap300"]
    replicates = list(result.replicates)
    for index, delta in ((1, 0.01), (2, -0.01)):
        metrics = {**replicates[index].metrics, "mcc": replicates[index].metrics["mcc"] + delta}
        replicates[index] = Replicate(seed=replicates[index].seed, metrics=metrics)
    changed = TaskResult.model_validate(
        {**result.model_dump(), "replicates": [r.model_dump() for r in replicates]}
    )
    with pytest.raises(FieldError) as raised:
        task.check(changed, data)
    assert raised.value.field == "replicates[1].metrics.mcc"


def test_a_changed_mean_is_caught(runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]]) -> None:
    task, data, result = runs["mrpc-cap200"]
    with pytest.raises(FieldError) as raised:
        task.check(edited(result, metrics={**result.metrics, "f1": result.metrics["f1"] + 1e-6}), data)
    assert raised.value.field == "metrics.f1"


def test_another_fingerprint_or_count_is_refused(
    runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]],
) -> None:
    task, data, result = runs["cola-cap300"]
    inputs = result.inputs.model_copy(update={"fingerprint": "0" * 64})
    with pytest.raises(FieldError) as raised:
        task.check(edited(result, inputs=inputs), data)
    assert raised.value.field == "inputs.fingerprint"
    counts = result.inputs.model_copy(update={"counts": {**result.inputs.counts, "sentences": 1}})
    with pytest.raises(FieldError) as raised:
        task.check(edited(result, inputs=counts), data)
    assert raised.value.field == "inputs.counts"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda v: v[:-1], "predictions.values"),
        (lambda v: [0.5, *v[1:]], "predictions.values[0]"),
        (lambda v: [*v[:4], 2.0, *v[5:]], "predictions.values[4]"),
        (lambda v: [*v[:4], -1.0, *v[5:]], "predictions.values[4]"),
    ],
)
def test_predictions_that_are_not_labels_are_refused_without_data(
    runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]], change: Any, field: str
) -> None:
    task, _, result = runs["mrpc-cap200"]
    with pytest.raises(FieldError) as raised:
        task.check(with_values(result, change(values_of(result))), None)
    assert raised.value.field == field


def test_replicates_out_of_order_are_refused(
    runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]],
) -> None:
    task, data, result = runs["mrpc-cap200"]
    swapped = [result.replicates[1], result.replicates[0], *result.replicates[2:]]
    with pytest.raises(FieldError) as raised:
        task.check(edited(result, replicates=swapped), data)
    assert raised.value.field == "replicates"


def test_per_item_values_or_missing_predictions_are_refused(
    runs: dict[str, tuple[GlueTask, GlueDataset, TaskResult]],
) -> None:
    task, data, result = runs["cr-cap200"]
    with pytest.raises(FieldError) as raised:
        task.check(edited(result, predictions=None), data)
    assert raised.value.field == "predictions"


# --- the suite ----------------------------------------------------------------------------------


def test_the_suite_names_its_ten_datasets_and_is_registered() -> None:
    assert SUITE.datasets() == ("sst2", "sst5", "mrpc", "cola", "rte", "trec", "mr", "cr", "subj", "mpqa")
    assert registry.SUITES["glue"] is SUITE
    suite, task = registry.task_of("glue/sst2-mteb-cap2000", "dev")
    assert suite is SUITE and task.name == "glue/sst2-mteb-cap2000"


@pytest.mark.parametrize(("name", "split"), [("sst2", "test"), ("mr", "test"), ("mr-mteb", "cv")])
def test_a_task_runs_on_its_own_split_only(name: str, split: str) -> None:
    with pytest.raises(SettingError) as raised:
        SUITE.task(name, split)
    assert raised.value.setting == "split"


def test_select_without_datasets_takes_every_present_one_on_its_own_split(data_root: Path) -> None:
    selection = SUITE.select(data_root, None, None)
    assert [t.name for t in selection.tasks] == [f"glue/{name}" for name in SUITE.datasets()]
    assert [t.split for t in selection.tasks] == [
        "dev",
        "test",
        "test",
        "dev",
        "val",
        "test",
        "cv",
        "cv",
        "cv",
        "cv",
    ]
    assert selection.skipped == ()
    with pytest.raises(SettingError) as raised:
        SUITE.select(data_root, None, "test")
    assert raised.value.setting == "split"


def test_select_names_the_absent_and_refuses_other_splits(data_root: Path, tmp_path: Path) -> None:
    (tmp_path / "glue").symlink_to(data_root / "glue", target_is_directory=True)
    selection = SUITE.select(tmp_path, None, None)
    assert [t.name for t in selection.tasks] == ["glue/mrpc", "glue/cola", "glue/rte"]
    assert len(selection.skipped) == 7 and "glue/sst2" in selection.skipped
    chosen = SUITE.select(data_root, ["sst2-cap1000", "mr-mteb"], None)
    assert [(t.name, t.split) for t in chosen.tasks] == [
        ("glue/sst2-cap1000", "dev"),
        ("glue/mr-mteb", "holdout"),
    ]
    with pytest.raises(SettingError) as raised:
        SUITE.select(data_root, ["sst2", "sst5"], "dev")
    assert raised.value.setting == "split"
