"""Accuracy, binary F1 and Matthews correlation of predicted class indices: pure functions.

The formulas scikit-learn's ``accuracy_score``, ``f1_score(pos_label=1)`` and ``matthews_corrcoef``
compute (SentEval scores MRPC's F1 with ``f1_score``, GLUE scores CoLA with ``matthews_corrcoef``),
written on a confusion matrix so that ``Task.check`` recomputes a file's metrics without the library
that made them. A zero denominator scores 0, as scikit-learn does (its ``zero_division`` default
for F1, and its documented convention for MCC).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

Labels = Sequence[int] | npt.NDArray[np.integer]
POSITIVE = 1
"""The class F1 is the F1 of: class 1 (``paraphrase`` in MRPC), as SentEval's ``f1_score`` default."""


def confusion(gold: Labels, predicted: Labels, classes: int) -> npt.NDArray[np.int64]:
    """``matrix[g, p]``: how many examples of class ``g`` were predicted as ``p``.

    Raises:
        ValueError: the two differ in length or hold a value outside ``0 .. classes-1``.
    """
    truth = np.asarray(gold, dtype=np.int64)
    guess = np.asarray(predicted, dtype=np.int64)
    if truth.shape != guess.shape or truth.ndim != 1:
        raise ValueError(f"{truth.shape} gold labels against {guess.shape} predictions")
    for values in (truth, guess):
        if values.size and (values.min() < 0 or values.max() >= classes):
            raise ValueError(f"class indices lie in 0..{classes - 1}")
    return np.bincount(truth * classes + guess, minlength=classes * classes).reshape(classes, classes)


def accuracy(matrix: npt.NDArray[np.int64]) -> float:
    """Share of examples predicted as their own class (0 for no examples)."""
    total = int(matrix.sum())
    return int(np.trace(matrix)) / total if total else 0.0


def f1(matrix: npt.NDArray[np.int64]) -> float:
    """Binary F1 of class ``POSITIVE``: ``2 TP / (2 TP + FP + FN)``."""
    tp = int(matrix[POSITIVE, POSITIVE])
    fp = int(matrix[:, POSITIVE].sum()) - tp
    fn = int(matrix[POSITIVE, :].sum()) - tp
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0


def mcc(matrix: npt.NDArray[np.int64]) -> float:
    """Matthews correlation coefficient, Gorodkin's multiclass form (scikit-learn's; binary: the phi).

    ``(c s - sum_k p_k t_k) / sqrt((s^2 - sum p_k^2) (s^2 - sum t_k^2))`` with ``c`` the correct
    predictions, ``s`` the examples, ``p_k`` and ``t_k`` the predicted and true counts of class ``k``;
    computed in Python integers, so the numerator and products are exact.
    """
    total = int(matrix.sum())
    correct = int(np.trace(matrix))
    predicted = [int(v) for v in matrix.sum(axis=0)]
    true = [int(v) for v in matrix.sum(axis=1)]
    numerator = correct * total - sum(p * t for p, t in zip(predicted, true, strict=True))
    left = total * total - sum(p * p for p in predicted)
    right = total * total - sum(t * t for t in true)
    if left == 0 or right == 0:
        return 0.0
    return numerator / math.sqrt(left * right)


SCORERS: Mapping[str, Callable[[npt.NDArray[np.int64]], float]] = {
    "accuracy": accuracy,
    "f1": f1,
    "mcc": mcc,
}
"""Each measure the glue suite reports, by its ``harness.metrics.measures`` name."""


def score(gold: Labels, predicted: Labels, classes: int, measures: Sequence[str]) -> dict[str, float]:
    """Every measure of ``measures`` for one set of predictions, by name and in that order."""
    matrix = confusion(gold, predicted, classes)
    return {name: SCORERS[name](matrix) for name in measures}
