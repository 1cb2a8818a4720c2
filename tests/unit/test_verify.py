"""verify's grading (Pyserini 2CR: OK / OKish / FAIL) on hand-made pairs of results files, and a real re-run.

The OKish band is the measure's reproduction tolerance for the model's kind
(``harness.metrics.measures``): 0.0005 for sparse models, 0.005 for every other kind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import make_submission, make_task_result

from harness import registry, runner, verify
from harness.errors import DataNotFound, FieldError
from harness.metrics.measures import DENSE_TOLERANCE, SPARSE_TOLERANCE
from harness.models.options import ModelOptions
from harness.results import MetricCheck, ModelRecord, ResultsFile, Verification


@pytest.mark.parametrize(
    ("difference", "kind", "expected"),
    [
        (0.0, "sparse", "OK"),
        (0.00009, "sparse", "OK"),
        (0.0003, "sparse", "OKish"),
        (0.0006, "sparse", "FAIL"),
        (0.0006, "dense", "OKish"),
        (0.004, "hybrid", "OKish"),
        (0.006, "dense", "FAIL"),
        (-0.006, "dense", "FAIL"),
    ],
)
def test_grade(difference: float, kind: str, expected: str) -> None:
    assert verify.grade(0.5, 0.5 + difference, verify.tolerance("ndcg@10", kind)) == expected


def test_a_metric_not_computed_now_fails() -> None:
    assert verify.grade(0.5, None, verify.tolerance("ndcg@10", "dense")) == "FAIL"
    assert verify.grade(0.5, None, 1.0) == "FAIL"


def test_the_band_is_the_measure_tolerance_for_the_kind() -> None:
    assert verify.OK_TOLERANCE == 1e-4
    for metric in ("ndcg@10", "recall@1000", "ndcg@20", "spearman", "pearson"):
        assert verify.tolerance(metric, "sparse") == SPARSE_TOLERANCE == 0.0005
        for kind in ("dense", "hybrid", "kernel", "circuit"):
            assert verify.tolerance(metric, kind) == DENSE_TOLERANCE == 0.005
    # a stored name that is no measure (from another harness version) gets the wide, dense band
    assert verify.tolerance("queries_per_s", "sparse") == DENSE_TOLERANCE
    # the band is what grade applies, whatever it is
    assert verify.grade(0.5, 0.52, 0.05) == "OKish"
    assert verify.grade(0.5, 0.50009, 0.0) == "OK"


def with_kind(results: ResultsFile, kind: str, ndcg_shift: float = 0.0) -> ResultsFile:
    model = ModelRecord(**{**results.model.model_dump(), "kind": kind})
    (result,) = results.results
    metrics = {**result.metrics, "ndcg@10": result.metrics["ndcg@10"] + ndcg_shift}
    return results.model_copy(
        update={"model": model, "results": [result.model_copy(update={"metrics": metrics})]}
    )


def test_compare_uses_the_kind_of_the_model_loaded_here() -> None:
    """A file that calls a sparse model dense does not buy itself the wider tolerance."""
    claimed = with_kind(make_submission(), "dense")
    now = with_kind(make_submission(), "sparse", ndcg_shift=0.002)
    checks = verify.compare(claimed, now)
    assert {c.metric: c.grade for c in checks} == {"ndcg@10": "FAIL", "recall@100": "OK"}
    assert not verify.reproduced(checks)
    # the other way round: a dense model here gets the dense band, whatever the file calls it
    relaxed = verify.compare(
        with_kind(make_submission(), "sparse"), with_kind(make_submission(), "dense", 0.002)
    )
    assert {c.metric: c.grade for c in relaxed} == {"ndcg@10": "OKish", "recall@100": "OK"}


def test_compare_records_each_check() -> None:
    claimed = make_submission()
    now = with_kind(make_submission(), "dense", ndcg_shift=0.001)
    ndcg, recall = verify.compare(claimed, now)  # sorted by metric name
    assert isinstance(ndcg, MetricCheck)
    assert (ndcg.task, ndcg.split, ndcg.variant, ndcg.metric) == ("beir/scifact", "test", "", "ndcg@10")
    assert ndcg.claimed == claimed.results[0].metrics["ndcg@10"]
    assert ndcg.now == now.results[0].metrics["ndcg@10"]
    assert ndcg.grade == "OKish"
    assert (recall.metric, recall.grade, recall.now) == ("recall@100", "OK", recall.claimed)


def test_reproduced_needs_ok_everywhere() -> None:
    claimed = make_submission()
    assert verify.reproduced(verify.compare(claimed, claimed))
    close = with_kind(make_submission(), "dense", ndcg_shift=0.001)
    checks = verify.compare(claimed, close)
    assert [c.grade for c in checks] == ["OKish", "OK"] and not verify.reproduced(checks)
    assert not verify.reproduced([])


def test_compare_matches_tasks_by_split_and_variant() -> None:
    plain = make_task_result()
    small = plain.model_copy(update={"variant": {"dim": 128}})
    shifted = make_task_result(ndcg=0.3).model_copy(update={"variant": {"dim": 128}})
    claimed = make_submission().model_copy(update={"results": [plain, small]})
    now = make_submission().model_copy(update={"results": [shifted, plain]})  # other order, one moved
    grades = {(c.variant, c.metric): c.grade for c in verify.compare(claimed, now)}
    assert grades == {
        ("", "ndcg@10"): "OK",
        ("", "recall@100"): "OK",
        ("dim=128", "ndcg@10"): "FAIL",
        ("dim=128", "recall@100"): "FAIL",
    }
    missing = verify.compare(claimed, make_submission().model_copy(update={"results": [plain]}))
    assert {(c.variant, c.now is None, c.grade) for c in missing} == {
        ("", False, "OK"),
        ("dim=128", True, "FAIL"),  # not computed now: FAIL, never skipped
    }
    train = make_task_result(split="train")
    other_split = verify.compare(make_submission().model_copy(update={"results": [train]}), make_submission())
    assert [(c.split, c.now, c.grade) for c in other_split] == [("train", None, "FAIL")] * 2


def test_verification_records_the_rerun() -> None:
    claimed = make_submission()
    before = datetime.now(UTC)
    record = verify.verification(verify.compare(claimed, claimed), "cpu")
    assert isinstance(record, Verification)
    assert before - timedelta(seconds=1) <= record.at <= datetime.now(UTC) + timedelta(seconds=1)
    assert record.at.tzinfo is not None
    assert record.reproduced
    assert [c.metric for c in record.checks] == ["ndcg@10", "recall@100"]
    assert record.hardware.logical_cpus >= 1
    assert record.harness.version
    failed = verify.verification(verify.compare(claimed, with_kind(claimed, "dense", 0.01)), "cpu")
    assert not failed.reproduced
    annotated = claimed.model_copy(update={"verifications": [failed, record]})
    assert annotated.reproduced


def test_differences_name_model_and_data_changes() -> None:
    claimed = make_submission(model_id="a")
    now = make_submission(model_id="b", verified=False)
    notes = verify.differences(claimed, now)
    assert "model.id: file 'a', here 'b'" in notes
    assert "beir/scifact (test): the data here differs from the file's" in notes
    assert verify.differences(claimed, claimed) == []


# --- a real re-run --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bm25s_run(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> ResultsFile:
    """bm25s over SciFact test, as `harness run --model bm25s --suite beir --datasets scifact` does."""
    options = ModelOptions(cache_dir=tmp_path_factory.mktemp("cache"))
    suite = registry.suite("beir")
    tasks = suite.select(data_root, ["scifact"], "test").tasks
    return runner.run(registry.load_model("bm25s", options), suite, tasks, data_root)


def test_a_real_run_is_reproduced_here(bm25s_run: ResultsFile, data_root: Path, tmp_path: Path) -> None:
    again = verify.reproduce(bm25s_run, data_root, ModelOptions(cache_dir=tmp_path))
    assert [(r.task, r.split) for r in again.results] == [("beir/scifact", "test")]
    assert again.seed == bm25s_run.seed
    checks = verify.compare(bm25s_run, again)
    assert {c.metric for c in checks} == set(bm25s_run.results[0].metrics)
    assert all(c.grade == "OK" for c in checks)
    assert verify.reproduced(checks)
    assert verify.differences(bm25s_run, again) == []


def test_reproduce_names_missing_data_before_loading_the_model(
    bm25s_run: ResultsFile, tmp_path: Path
) -> None:
    unknown = bm25s_run.model_copy(
        update={"model": bm25s_run.model.model_copy(update={"id": "no-such-model-xyz"})}
    )
    with pytest.raises(DataNotFound) as caught:
        verify.reproduce(unknown, tmp_path, ModelOptions(cache_dir=tmp_path / "cache"))
    assert caught.value.dataset == "beir/scifact"


def test_reproduce_says_when_the_model_is_not_available_here(
    bm25s_run: ResultsFile, data_root: Path, tmp_path: Path
) -> None:
    for model_id in ("no-such-model-xyz", "no-such-org/no-such-model"):
        unknown = bm25s_run.model_copy(update={"model": bm25s_run.model.model_copy(update={"id": model_id})})
        with pytest.raises(FieldError) as caught:  # the file names it: the CLI reports FILE: model.id
            verify.reproduce(unknown, data_root, ModelOptions(cache_dir=tmp_path))
        assert caught.value.field == "model.id"
        assert caught.value.message.startswith("not available here: ")
        assert model_id in caught.value.message
