"""Spearman and Pearson (harness/metrics/correlation.py) against scipy and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from harness.metrics.correlation import average_ranks, pearson, spearman

TOLERANCE = 1e-12


def _random_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded vectors of several lengths: few distinct values (many ties), STS-like floats, mixed."""
    rng = np.random.default_rng(20240611)
    cases = []
    for n in (2, 3, 5, 17, 100, 1379):
        cases.append((rng.integers(0, 4, n).astype(float), rng.integers(0, 6, n).astype(float)))
        gold = np.round(rng.uniform(0, 5, n) * 5) / 5  # scores on a 0.2 grid: ties
        cases.append((gold, gold + rng.normal(0, 1.5, n)))
        cases.append((rng.normal(size=n), rng.normal(size=n) * 1e6 + 3e9))
    return [(x, y) for x, y in cases if np.ptp(x) > 0 and np.ptp(y) > 0]


@pytest.mark.parametrize(("x", "y"), _random_pairs())
def test_equal_to_scipy_on_random_data_with_ties(x: np.ndarray, y: np.ndarray) -> None:
    assert spearman(x, y) == pytest.approx(float(stats.spearmanr(x, y).statistic), abs=TOLERANCE)
    assert pearson(x, y) == pytest.approx(float(stats.pearsonr(x, y).statistic), abs=TOLERANCE)
    assert np.array_equal(average_ranks(x), stats.rankdata(x, method="average"))


small_vectors = st.lists(st.integers(-3, 3), min_size=2, max_size=40)


@settings(max_examples=200, deadline=None)
@given(small_vectors, st.data())
def test_equal_to_scipy_on_generated_ties(x: list[int], data: st.DataObject) -> None:
    y = data.draw(st.lists(st.integers(-3, 3), min_size=len(x), max_size=len(x)))
    assert np.array_equal(average_ranks(x), stats.rankdata(x, method="average"))
    if len(set(x)) == 1 or len(set(y)) == 1:
        return
    assert spearman(x, y) == pytest.approx(float(stats.spearmanr(x, y).statistic), abs=TOLERANCE)
    assert pearson(x, y) == pytest.approx(float(stats.pearsonr(x, y).statistic), abs=TOLERANCE)


def test_perfect_agreement_and_disagreement() -> None:
    assert pearson([1, 2, 3], [10, 20, 30]) == 1.0
    assert pearson([1, 2, 3], [30, 20, 10]) == -1.0
    assert spearman([1, 2, 3, 4], [1, 4, 9, 16]) == 1.0  # monotone, not linear
    assert pearson([1, 2, 3, 4], [1, 4, 9, 16]) < 1.0
    assert spearman([1, 2, 3, 4], [5, -1, -2, -100]) == -1.0


def test_hand_computed_examples() -> None:
    # rho = 1 - 6 * sum(d^2) / (n (n^2 - 1)) with d = (1, 1, 1, 1, 0): 1 - 24 / 120
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8, abs=TOLERANCE)
    # centred (-1, 0, 1) and (-1, 1, 0): covariance 1, variances 2 and 2
    assert pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5, abs=TOLERANCE)
    # ties: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): Pearson of those
    ranks = [1, 2.5, 2.5, 4]
    expected = 4.5 / math.sqrt(4.5 * 5)
    assert spearman([10, 20, 20, 30], [1, 2, 3, 4]) == pytest.approx(expected, abs=TOLERANCE)
    assert average_ranks([10, 20, 20, 30]).tolist() == ranks
    assert average_ranks([3, 1, 3, 3, 2]).tolist() == [4, 1, 4, 4, 2]


def test_accepts_lists_tuples_and_arrays() -> None:
    x, y = (0.1, 0.4, 0.2, 0.9), [1.0, 3.0, 2.0, 2.5]
    assert spearman(x, y) == spearman(np.array(x), np.array(y, dtype=np.float32))
    assert isinstance(spearman(x, y), float) and isinstance(pearson(x, y), float)


@pytest.mark.parametrize("function", [spearman, pearson])
@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1, 1, 1], [1, 2, 3], "constant"),
        ([1, 2, 3], [2, 2, 2], "constant"),
        ([1, 2, 3], [1, 2], "x has 3 values and y 2"),
        ([1, float("nan"), 3], [1, 2, 3], "not finite"),
        ([1, 2, 3], [1, float("inf"), 3], "not finite"),
        ([1], [2], "at least two"),
        ([], [], "at least two"),
        ([[1, 2], [3, 4]], [[1, 2], [3, 4]], "one-dimensional"),
    ],
)
def test_invalid_input_raises(function: object, x: list[float], y: list[float], message: str) -> None:
    assert callable(function)
    with pytest.raises(ValueError, match=message):
        function(x, y)


def test_average_ranks_rejects_nan() -> None:
    with pytest.raises(ValueError, match="not finite"):
        average_ranks([1.0, float("nan")])
