"""Correlation of predicted similarities with gold scores: Spearman and Pearson, as pure functions.

STS is scored as MTEB (``mteb.evaluation.evaluators.STSEvaluator``) and SentEval score it: the
correlation over the whole set of pairs between the model's similarity and the human score. These
are not means of anything per pair, so a file keeps the per-pair predictions and the metric is
re-derived from them (``Measure.aggregate == "whole"``).

- ``pearson``: the sample correlation coefficient, computed in float64 on centred values.
- ``spearman``: Pearson's coefficient of the ranks, with tied values given the mean of the ranks
  they span (``scipy.stats.rankdata(method="average")``, which ``scipy.stats.spearmanr`` uses).

Both return NaN-free floats or raise: a constant input has no correlation, which is an error here
rather than a silent NaN (DESIGN: no silent failure).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Values = Sequence[float] | npt.NDArray[np.floating]


def _vector(values: Values, name: str) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds a value that is not finite")
    return array


def average_ranks(values: Values) -> npt.NDArray[np.float64]:
    """1-based ranks, ties sharing the mean of the ranks they span (scipy ``rankdata`` "average")."""
    array = _vector(values, "values")
    order = np.argsort(array, kind="mergesort")
    ordered = array[order]
    # start of each run of equal values in sorted order
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    mean_rank = (starts + ends + 1) / 2.0  # ranks start..end-1 are 1-based start+1..end
    ranks = np.empty(array.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def pearson(x: Values, y: Values) -> float:
    """Pearson's r of two equally long vectors.

    Raises:
        ValueError: lengths differ, fewer than two values, a value is not finite, or one side is
            constant (its correlation is undefined).
    """
    a, b = _vector(x, "x"), _vector(y, "y")
    if a.size != b.size:
        raise ValueError(f"x has {a.size} values and y {b.size}")
    if a.size < 2:
        raise ValueError("a correlation needs at least two values")
    a = a - a.mean()
    b = b - b.mean()
    denominator = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    if denominator == 0.0:
        raise ValueError("one side is constant: its correlation is undefined")
    return max(-1.0, min(1.0, float(np.dot(a, b)) / denominator))


def spearman(x: Values, y: Values) -> float:
    """Spearman's rho: Pearson's r of the average ranks (ties share their mean rank).

    Raises:
        ValueError: as ``pearson``.
    """
    return pearson(average_ranks(x), average_ranks(y))
