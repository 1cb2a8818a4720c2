"""Stratified folds and subsamples of the glue suite: pure, seeded, balanced, and pinned to numpy's PCG64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.suites.glue.folds import class_quotas, stratified_folds, stratified_subsample

labels_strategy = st.lists(st.integers(0, 4), min_size=10, max_size=300)


@settings(max_examples=60, deadline=None)
@given(labels=labels_strategy, k=st.integers(2, 10), seed=st.integers(0, 2**32))
def test_folds_are_stratified_and_balanced(labels: list[int], k: int, seed: int) -> None:
    folds = stratified_folds(labels, k, seed)
    array = np.asarray(labels)
    n = len(labels)
    assert folds.shape == (n,) and set(folds.tolist()) <= set(range(k))
    sizes = np.bincount(folds, minlength=k)
    assert sizes.tolist() == [-(-(n - f) // k) for f in range(k)]  # fold f holds ceil((n - f) / k)
    for label in set(labels):
        per_fold = np.bincount(folds[array == label], minlength=k)
        assert per_fold.max() - per_fold.min() <= 1


@settings(max_examples=30, deadline=None)
@given(labels=labels_strategy, seed=st.integers(0, 2**32))
def test_folds_are_a_pure_function_of_labels_k_and_seed(labels: list[int], seed: int) -> None:
    first = stratified_folds(labels, 5, seed)
    assert np.array_equal(first, stratified_folds(np.asarray(labels, dtype=np.int32), 5, seed))
    assert np.array_equal(stratified_folds(labels, 5, (seed, 3)), stratified_folds(labels, 5, (seed, 3)))


def test_seeds_draw_other_folds() -> None:
    labels = [0] * 50 + [1] * 50
    draws = {tuple(stratified_folds(labels, 10, seed).tolist()) for seed in range(5)}
    assert len(draws) == 5
    assert not np.array_equal(stratified_folds(labels, 10, (0, 1)), stratified_folds(labels, 10, (0, 2)))


def test_folds_are_pinned_to_the_numpy_stream() -> None:
    """A results file's folds are recomputed on other machines: numpy keeps PCG64's stream stable."""
    assert stratified_folds([0, 0, 0, 1, 1, 1, 1, 2], 3, 0).tolist() == PINNED


PINNED = [1, 2, 0, 0, 2, 1, 0, 1]


@pytest.mark.parametrize("k", [0, 1, 11])
def test_impossible_fold_counts_are_refused(k: int) -> None:
    with pytest.raises(ValueError, match="folds"):
        stratified_folds([0, 1] * 5, k, 0)


def test_quotas_follow_the_largest_remainder() -> None:
    assert class_quotas([86, 1162, 1250, 1223, 835, 896], 100) == [2, 21, 23, 22, 15, 17]
    assert sum(class_quotas([86, 1162, 1250, 1223, 835, 896], 1000)) == 1000
    assert class_quotas([3, 3], 3) == [2, 1]  # a tie goes to the lower class index
    assert class_quotas([5, 7], 20) == [5, 7]


@settings(max_examples=40, deadline=None)
@given(labels=labels_strategy, size=st.integers(1, 400), seed=st.integers(0, 2**32))
def test_a_subsample_is_sorted_stratified_and_of_its_size(labels: list[int], size: int, seed: int) -> None:
    kept = stratified_subsample(labels, size, seed)
    assert len(kept) == min(size, len(labels)) and len(set(kept.tolist())) == len(kept)
    assert kept.tolist() == sorted(kept.tolist())
    counts = np.bincount(np.asarray(labels), minlength=5)
    expected = class_quotas([int(c) for c in counts], size)
    assert np.bincount(np.asarray(labels)[kept], minlength=5).tolist() == expected
    assert np.array_equal(kept, stratified_subsample(labels, size, seed))
