"""Scoring a circuit method's head scores against a ground-truth head set.

- ``roc_auc``: the probability that a random circuit head outscores a random other head, ties
  counting one half (the Mann-Whitney U statistic over the two groups; equal to scikit-learn's
  ``roc_auc_score``, which the paper reports).
- ``precision_recall_f1``: of the ``k = |ground truth|`` highest-scoring heads, the fraction in the
  circuit (precision) and of the circuit found (recall), and their harmonic mean (F1). At this k
  the three are equal by construction; they are kept apart because a threshold or another k
  separates them. Heads tied at the cut-off share the remaining places equally (the expected value
  over random tie orders), so a method that scores every head alike gets chance, never the luck of
  an index order. Not the paper's "F1", which is the harmonic mean of TPR and TNR
  (``common_utils.evaluate_circuit`` in ``charlieoneill11/sae-circuits``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.metrics.correlation import average_ranks


def roc_auc(scores: Sequence[float], members: Sequence[bool]) -> float:
    """ROC AUC of ``scores`` for the 0/1 ``members``; both groups must be non-empty."""
    values = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(members, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC needs heads inside and outside the circuit")
    ranks = average_ranks(values)  # ties share the mean of their ranks
    u = float(ranks[labels].sum()) - positives * (positives + 1) / 2
    return u / (positives * negatives)


def precision_recall_f1(scores: Sequence[float], members: Sequence[bool]) -> tuple[float, float, float]:
    """Precision, recall and F1 of the top ``k = sum(members)`` heads, ties at the cut-off shared."""
    values = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(members, dtype=bool)
    k = int(labels.sum())
    if k == 0:
        raise ValueError("precision at |ground truth| needs a non-empty ground truth")
    cutoff = np.sort(values)[::-1][k - 1]
    above = values > cutoff
    tied = values == cutoff
    places = k - int(above.sum())
    share = places / int(tied.sum())
    hits = float(labels[above].sum()) + share * float(labels[tied].sum())
    predicted = k  # the top k heads
    precision = hits / predicted
    recall = hits / k
    f1 = 2 * hits / (predicted + k)  # = 2PR / (P + R), without its rounding
    return precision, recall, f1
