"""verify's grading (Pyserini 2CR: OK / OKish / FAIL) on hand-made pairs of results files."""

from __future__ import annotations

import pytest
from factories import make_submission

from harness import verify
from harness.results import ModelRecord, ResultsFile


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
    assert verify.grade(0.5, 0.5 + difference, kind) == expected


def test_a_metric_not_computed_now_fails() -> None:
    assert verify.grade(0.5, None, "dense") == "FAIL"


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


def test_reproduced_needs_ok_everywhere() -> None:
    claimed = make_submission()
    assert verify.reproduced(verify.compare(claimed, claimed))
    close = with_kind(make_submission(), "dense", ndcg_shift=0.001)
    checks = verify.compare(claimed, close)
    assert [c.grade for c in checks] == ["OKish", "OK"] and not verify.reproduced(checks)
    assert not verify.reproduced([])


def test_differences_name_model_and_data_changes() -> None:
    claimed = make_submission(model_id="a")
    now = make_submission(model_id="b", verified=False)
    notes = verify.differences(claimed, now)
    assert "model.id: file 'a', here 'b'" in notes
    assert "beir/scifact (test): the data here differs from the file's" in notes
