"""The paired randomization test on cases whose p-values can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from harness.metrics.significance import paired_randomization


def test_identical_systems_give_p_one() -> None:
    scores = {str(i): i / 10 for i in range(10)}
    assert paired_randomization(scores, dict(scores)) == 1.0


def test_large_consistent_shift_is_significant() -> None:
    # 30 items all 0.3 better: only the 2 all-equal-sign assignments of 2**30 reach the observed mean
    a = {str(i): 0.5 + 0.3 for i in range(30)}
    b = {str(i): 0.5 for i in range(30)}
    p = paired_randomization(a, b)
    assert p < 0.01
    assert p == pytest.approx(1 / 10_001, abs=2 / 10_001)


def test_two_sided() -> None:
    a = {str(i): 0.9 for i in range(30)}
    b = {str(i): 0.1 for i in range(30)}
    assert paired_randomization(a, b) == paired_randomization(b, a)


def test_single_item_can_never_be_significant() -> None:
    # one difference: both signs give the same |mean|, so every trial is a hit
    assert paired_randomization({"q": 1.0}, {"q": 0.0}) == 1.0


def test_two_equal_differences_give_one_half() -> None:
    # d = (1, 1): |mean| is 1 for (+,+) and (-,-), 0 otherwise, so p = 1/2
    p = paired_randomization({"1": 1.0, "2": 1.0}, {"1": 0.0, "2": 0.0}, trials=20_000)
    assert p == pytest.approx(0.5, abs=0.02)


def test_uses_only_shared_items() -> None:
    a = {"1": 1.0, "2": 1.0, "only-a": 100.0}
    b = {"1": 0.0, "2": 0.0, "only-b": -100.0}
    assert paired_randomization(a, b, seed=3) == paired_randomization(
        {"1": 1.0, "2": 1.0}, {"1": 0.0, "2": 0.0}, seed=3
    )


def test_seeded_and_deterministic() -> None:
    rng = np.random.default_rng(7)
    a = {str(i): float(v) for i, v in enumerate(rng.random(200))}
    b = {key: value + float(rng.normal(0, 0.2)) for key, value in a.items()}
    first = paired_randomization(a, b, seed=11)
    assert paired_randomization(a, b, seed=11) == first
    assert 0 < first <= 1


def test_noise_is_not_significant() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(300)
    a = {str(i): float(v) for i, v in enumerate(base)}
    b = {str(i): float(v) for i, v in enumerate(base[rng.permutation(300)])}
    assert paired_randomization(a, b) > 0.05


def test_many_items_stay_within_memory_chunks() -> None:
    a = {str(i): 0.6 for i in range(10_000)}
    b = {str(i): 0.5 if i % 2 else 0.6 for i in range(10_000)}
    assert paired_randomization(a, b, trials=2_000) == pytest.approx(1 / 2_001)


@pytest.mark.parametrize(("a", "b", "trials"), [({"1": 1.0}, {"2": 1.0}, 10), ({"1": 1.0}, {"1": 0.0}, 0)])
def test_refuses_empty_overlap_and_zero_trials(a: dict[str, float], b: dict[str, float], trials: int) -> None:
    with pytest.raises(ValueError):
        paired_randomization(a, b, trials=trials)


def test_uniform_weights_are_the_plain_test() -> None:
    rng = np.random.default_rng(5)
    a = {str(i): float(v) for i, v in enumerate(rng.random(50))}
    b = {key: value + float(rng.normal(0.05, 0.2)) for key, value in a.items()}
    weights = dict.fromkeys(a, 3.0)
    assert paired_randomization(a, b, seed=2, weights=weights) == paired_randomization(a, b, seed=2)


def test_weights_make_the_statistic_the_weighted_mean() -> None:
    # d = (2, -1, 1). Unweighted the statistic is |sum| = 2, reached by 6 of the 8 sign patterns
    # (|2-1+1|, |2+1-1|, |2+1+1| and their mirrors): p = 3/4. Weighted (1, 2, 1) it is |2 - 2 + 1| = 1,
    # which every pattern reaches (|2±2±1| is 1, 1, 3 or 5): p = 1.
    a = {"1": 2.0, "2": -1.0, "3": 1.0}
    b = dict.fromkeys(a, 0.0)
    assert paired_randomization(a, b, trials=20_000) == pytest.approx(0.75, abs=0.02)
    assert paired_randomization(a, b, trials=2_000, weights={"1": 1.0, "2": 2.0, "3": 1.0}) == 1.0


def test_cqadupstack_weights_give_the_mean_of_forum_means() -> None:
    from harness.suites.beir.cqadupstack import forum_weights

    values = {"android/1": 1.0, "android/2": 0.0, "android/3": 0.0, "tex/9": 1.0}
    weights = forum_weights(values)
    weighted = sum(weights[k] * v for k, v in values.items()) / sum(weights.values())
    assert weighted == pytest.approx((1 / 3 + 1.0) / 2)  # the task's aggregate, not the plain 2/4


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan")])
def test_refuses_weights_that_are_not_positive(weight: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        paired_randomization({"1": 1.0, "2": 0.0}, {"1": 0.0, "2": 0.0}, weights={"1": 1.0, "2": weight})
