"""Paired significance of a score difference between two systems over the same items.

``paired_randomization`` is Fisher's randomization test in its paired (sign-flip) form, the test
Smucker, Allan and Carterette recommend for IR evaluation ("A Comparison of Statistical
Significance Tests for Information Retrieval Evaluation", CIKM 2007) and the one ranx runs in
``compare(stat_test="fisher")``. Under the null hypothesis the two systems are exchangeable on each
item, so the sign of each per-item difference is a fair coin; the p-value is the share of
sign assignments whose mean difference is at least as far from zero as the observed one.

Invariants: the test is two-sided, uses only the items both systems scored, and is deterministic
for a given ``seed``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

_CHUNK_CELLS = 1 << 21
"""Sign-matrix cells drawn at once (16 MiB as float64): 10,000 trials x 10,000 queries stay small."""


def paired_randomization(
    a: Mapping[str, float],
    b: Mapping[str, float],
    trials: int = 10_000,
    seed: int = 0,
    weights: Mapping[str, float] | None = None,
) -> float:
    """Two-sided p-value that ``a`` and ``b`` have the same mean over their shared items.

    ``weights`` (default: 1 for every item) make the statistic the weighted mean difference, for a
    task whose score is not the plain mean over items: CQADupStack's is the mean of its 12 forums'
    means, so a query weighs 1 / (its forum's query count). Flipping signs stays a valid test under
    the null hypothesis whatever the weights; only the statistic follows the task's aggregate.

    Each trial flips the sign of every per-item difference ``a[i] - b[i]`` with probability 1/2
    (Smucker, Allan and Carterette, CIKM 2007). The p-value is ``(hits + 1) / (trials + 1)``, where a
    hit is a trial whose absolute mean difference reaches the observed one; the +1 counts the
    observed assignment itself, so the estimate is never 0 (Phipson and Smyth, 2010). Identical
    scores give exactly 1.

    Raises:
        ValueError: the two mappings share no item, or ``trials`` is below 1.
    """
    if trials < 1:
        raise ValueError(f"trials must be at least 1, not {trials}")
    shared = sorted(a.keys() & b.keys())
    if not shared:
        raise ValueError("the two systems share no scored item")
    differences = np.array([a[key] - b[key] for key in shared], dtype=np.float64)
    if weights is not None:
        scale = np.array([weights[key] for key in shared], dtype=np.float64)
        if not (np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("weights must be positive and finite")
        differences *= scale * (scale.size / scale.sum())  # the weighted mean is then the plain mean
    observed = abs(float(differences.mean()))
    # a permuted mean equal to the observed one up to rounding must count as a hit
    threshold = observed - 1e-12 * max(1.0, observed)
    rng = np.random.default_rng(seed)
    n = differences.size
    rows_per_chunk = max(1, _CHUNK_CELLS // n)
    hits = 0
    done = 0
    while done < trials:
        rows = min(rows_per_chunk, trials - done)
        signs = rng.integers(0, 2, size=(rows, n), dtype=np.int8) * 2 - 1
        means = np.abs(signs @ differences) / n
        hits += int(np.count_nonzero(means >= threshold))
        done += rows
    return (hits + 1) / (trials + 1)
