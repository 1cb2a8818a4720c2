"""Seeded stratified fold assignment and subsampling, pure functions of the labels and a seed.

SentEval draws its folds with scikit-learn's ``StratifiedKFold(shuffle=True, random_state=seed)``
(``senteval/tools/validation.py``, ``InnerKFoldClassifier``). The harness draws its own with numpy's
``Generator(PCG64(seed))``, whose stream numpy keeps stable across releases, so that ``Task.check``
can recompute the folds of a results file from the local labels alone, whatever scikit-learn
version is installed: the folds are part of the task, not of a library.

The rule: within each class (in class-index order) the examples are put in a random order drawn
from the generator; the classes' orders are concatenated and position ``p`` of the concatenation
goes to fold ``p % k``. Each fold then holds ``floor`` or ``ceil`` of ``n_c / k`` examples of every
class ``c``, and fold sizes differ by at most one (fold ``f`` holds ``ceil((n - f) / k)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Seed = int | tuple[int, ...]
"""A seed: one integer, or a tuple of them (``(seed, fold)`` for the inner folds of an outer fold),
fed to ``numpy.random.PCG64`` (which hashes it through ``SeedSequence``)."""

IntArray = npt.NDArray[np.int64]


def _generator(seed: Seed) -> np.random.Generator:
    entropy = list(seed) if isinstance(seed, tuple) else seed
    return np.random.Generator(np.random.PCG64(entropy))


def _class_orders(labels: IntArray, generator: np.random.Generator) -> list[IntArray]:
    """Each class's example indices (ascending class index) in an order drawn from ``generator``."""
    return [generator.permutation(np.flatnonzero(labels == label)) for label in np.unique(labels)]


def _labels(labels: Sequence[int] | npt.NDArray[np.integer]) -> IntArray:
    array = np.asarray(labels, dtype=np.int64)
    if array.ndim != 1:
        raise ValueError(f"labels are one class index per example, not an array of shape {array.shape}")
    return array


def stratified_folds(labels: Sequence[int] | npt.NDArray[np.integer], k: int, seed: Seed) -> IntArray:
    """The fold (``0 .. k-1``) of each example: stratified by class, drawn from ``seed``.

    Args:
        labels: the class index of each example.
        k: the number of folds (at least 2).
        seed: the seed of the draw; equal labels, ``k`` and seed give equal folds on any machine.

    Returns:
        One fold index per example, in the examples' order.

    Raises:
        ValueError: ``k`` is below 2 or above the number of examples.
    """
    array = _labels(labels)
    if not 2 <= k <= len(array):
        raise ValueError(f"{k} folds of {len(array)} examples: need 2 <= k <= the number of examples")
    order = np.concatenate(_class_orders(array, _generator(seed)))
    folds = np.empty(len(array), dtype=np.int64)
    folds[order] = np.arange(len(array), dtype=np.int64) % k
    return folds


def class_quotas(counts: Sequence[int], size: int) -> list[int]:
    """How many examples of each class a stratified sample of ``size`` keeps (largest remainder).

    Each class gets ``floor(size * n_c / n)``; the examples left over go one each to the classes with
    the largest remainders (ties: the lower class index), so the quotas sum to ``size``.
    """
    total = sum(counts)
    if size >= total:
        return list(counts)
    exact = [size * count for count in counts]  # quotas times ``total``, in integers
    quotas = [value // total for value in exact]
    left = size - sum(quotas)
    by_remainder = sorted(range(len(counts)), key=lambda c: (-(exact[c] % total), c))
    for index in by_remainder[:left]:
        quotas[index] += 1
    return quotas


def stratified_subsample(labels: Sequence[int] | npt.NDArray[np.integer], size: int, seed: Seed) -> IntArray:
    """The indices (ascending: the examples' own order) of a stratified sample of ``size`` examples.

    Each class keeps its ``class_quotas`` share, the first examples of its order drawn from
    ``seed``; with ``size`` at least the number of examples every index is kept.
    """
    array = _labels(labels)
    if size >= len(array):
        return np.arange(len(array), dtype=np.int64)
    orders = _class_orders(array, _generator(seed))
    quotas = class_quotas([len(order) for order in orders], size)
    kept = np.concatenate([order[:quota] for order, quota in zip(orders, quotas, strict=True)])
    return np.sort(kept)
