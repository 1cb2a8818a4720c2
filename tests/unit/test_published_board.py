"""``board.queries.published_vs_measured``: which published scores stand beside which measured ones (pure)."""

from __future__ import annotations

import pytest

from harness.board.queries import Measured, published_vs_measured
from harness.published.sources import PublishedScore
from harness.store.published import StoredScore

SCIFACT_REV = "0228b52cf27578f30900b9e5271d331663a030d7"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def published(
    value: float,
    *,
    revision: str = SCIFACT_REV,
    split: str = "test",
    same_data: bool = True,
    task: str | None = "beir/scifact",
    model: str = MINILM,
    subset: str = "default",
) -> StoredScore:
    score = PublishedScore(
        model_id=model, model_revision="8b3219a", measured_as=model, source_task="SciFact", task=task,
        dataset_revision=revision, split=split, subset=subset, metric="ndcg@10", source_metric="ndcg_at_10",
        value=value, main=True, same_data=same_data, tool="mteb 1.12.75",
    )  # fmt: skip
    return StoredScore(score, "mteb", f"mteb/x/{revision[:7]}/SciFact.json", "0" * 64)


def measured(value: float, standing: str = "reference", model: str = MINILM, split: str = "test") -> Measured:
    return Measured(model, "1110a24", "beir/scifact", split, "ndcg@10", value, standing)


def test_a_comparable_pair_shows_both_numbers_and_the_difference() -> None:
    result = published_vs_measured([published(0.64508)], [measured(0.645081)])
    (row,) = result.compared.to_dict("records")
    assert (row["published"], row["measured here"]) == (0.64508, 0.645081)
    assert row["difference"] == pytest.approx(0.000001)
    assert row["published revision"] == "8b3219a" and row["measured revision"] == "1110a24"
    assert "0.64508" in row["why comparable"]
    assert result.others.empty


def test_another_dataset_build_under_the_same_task_name_is_never_compared() -> None:
    """REFERENCES.md §1.2: SciFact 0.67393 on revision 7d24eac… is another build."""
    other = published(0.67393, revision="7d24eac886a6ae6653a6b67433e1c302cb0e9ac6", same_data=False)
    result = published_vs_measured([other], [measured(0.64508)])
    assert result.compared.empty
    (row,) = result.others.to_dict("records")
    assert row["status"] == "other dataset build" and row["published"] == 0.67393


@pytest.mark.parametrize(
    ("score", "status"),
    [
        (published(0.66, split="train"), "not measured here"),  # our runs are on test: keyed on the split
        (published(0.5, task=None), "no task here"),
        (published(0.5, model="other/model"), "not measured here"),
        (published(0.38, subset="android"), "subset android (beir/scifact scores the mean of its subsets)"),
    ],
)
def test_what_is_not_compared_says_why(score: StoredScore, status: str) -> None:
    result = published_vs_measured([score], [measured(0.64508)])
    assert result.compared.empty
    assert list(result.others["status"]) == [status]


def test_reference_first_then_submissions_each_with_its_standing() -> None:
    result = published_vs_measured(
        [published(0.64508)], [measured(0.7, "submitted"), measured(0.64508), measured(0.6, split="dev")]
    )
    assert list(result.compared["standing"]) == ["reference", "submitted"]
    assert list(result.compared["difference"]) == pytest.approx([0.0, 0.7 - 0.64508])
