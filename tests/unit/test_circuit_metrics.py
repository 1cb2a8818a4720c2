"""Circuit metrics: ROC AUC against scikit-learn's, precision/recall/F1 at |ground truth| by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from harness.metrics.circuit import precision_recall_f1, roc_auc


def test_auc_by_hand() -> None:
    # circuit heads score 0.9 and 0.4; others 0.5, 0.1: of 4 pairs, 3 ordered right
    assert roc_auc([0.9, 0.5, 0.4, 0.1], [True, False, True, False]) == 0.75


def test_auc_ties_count_half() -> None:
    assert roc_auc([1.0, 1.0, 1.0, 1.0], [True, False, True, False]) == 0.5


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=40).filter(
        lambda rows: 0 < sum(label for _, label in rows) < len(rows)
    )
)
def test_auc_equals_sklearn(rows: list[tuple[int, bool]]) -> None:
    scores = [float(score) for score, _ in rows]  # small integers: many ties
    labels = [label for _, label in rows]
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_auc_needs_both_groups() -> None:
    with pytest.raises(ValueError, match="inside and outside"):
        roc_auc([0.1, 0.2], [True, True])


def test_precision_at_ground_truth_size() -> None:
    # |GT| = 2; the top two are heads 0 (in) and 1 (out)
    precision, recall, f1 = precision_recall_f1([0.9, 0.8, 0.7, 0.1], [True, False, True, False])
    assert (precision, recall, f1) == (0.5, 0.5, 0.5)


def test_ties_at_the_cut_off_share_the_places() -> None:
    # every head alike: the expected precision under random tie order is |GT| / n
    precision, _, _ = precision_recall_f1([0.3] * 8, [True, True, False, False, False, False, False, False])
    assert precision == pytest.approx(2 / 8)
    # one clear hit, then three tied for the last place, one of them in the circuit
    precision, _, _ = precision_recall_f1([0.9, 0.5, 0.5, 0.5], [True, True, False, False])
    assert precision == pytest.approx((1 + 1 / 3) / 2)


def test_not_the_papers_f1() -> None:
    # the paper's "F1" is the harmonic mean of TPR and TNR; ours is precision and recall's
    scores = np.array([0.9, 0.8, 0.1, 0.0])
    _, _, f1 = precision_recall_f1(scores, [True, False, False, True])
    assert f1 == 0.5  # top 2 = heads 0, 1: one hit of two
