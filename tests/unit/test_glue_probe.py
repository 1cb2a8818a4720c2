"""SentEval's probe (choice of C, nested cross-validation) and the glue scorers against scikit-learn."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from harness.suites.glue import probe
from harness.suites.glue.probe import C_GRID, OUTER_FOLDS, cv_folds, cv_probe, select_c, split_probe
from harness.suites.glue.scoring import confusion, score


def blobs(
    n: int, classes: int, seed: int, signal: float = 0.6
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Unit-norm points around one random centre per class: separable in part, as embeddings are."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centres = rng.standard_normal((classes, 12))
    points = rng.standard_normal((n, 12)) + signal * centres[labels]
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32), labels


@pytest.mark.parametrize("seed", range(5))
def test_scores_agree_with_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gold, predicted = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    ours = score(gold, predicted, 2, ("accuracy", "f1", "mcc"))
    assert ours["accuracy"] == pytest.approx(accuracy_score(gold, predicted), abs=1e-15)
    assert ours["f1"] == pytest.approx(f1_score(gold, predicted), abs=1e-12)
    assert ours["mcc"] == pytest.approx(matthews_corrcoef(gold, predicted), abs=1e-12)
    gold, predicted = rng.integers(0, 6, 300), rng.integers(0, 6, 300)
    multi = score(gold, predicted, 6, ("accuracy", "mcc"))
    assert multi["mcc"] == pytest.approx(matthews_corrcoef(gold, predicted), abs=1e-12)


def test_degenerate_scores_are_zero_as_scikit_learn_s() -> None:
    gold, predicted = [1, 1, 0, 0], [0, 0, 0, 0]
    assert score(gold, predicted, 2, ("f1", "mcc")) == {"f1": 0.0, "mcc": 0.0}
    assert matthews_corrcoef(gold, predicted) == 0.0
    with pytest.raises(ValueError, match="class indices"):
        confusion([0, 2], [0, 1], 2)


def test_select_c_takes_the_smallest_of_equal_scores() -> None:
    features = np.array([[1.0, 0.0]] * 20 + [[0.0, 1.0]] * 20, dtype=np.float32)
    labels = np.array([0] * 20 + [1] * 20)
    assert select_c(features, labels, 0, 2, "accuracy") == C_GRID[0]  # every C scores 1.0


def test_split_probe_has_a_replicate_per_seed_and_seed_major_predictions() -> None:
    x, y = blobs(400, 3, 0)
    outcome = split_probe(x[:300], y[:300], x[300:], y[300:], 3, ("accuracy", "mcc"), seeds=(0, 1, 2))
    assert [(r.seed, r.fold) for r in outcome.replicates] == [(0, None), (1, None), (2, None)]
    assert len(outcome.predictions) == 3 * 100
    for index, replicate in enumerate(outcome.replicates):
        row = outcome.predictions[index * 100 : (index + 1) * 100]
        assert replicate.metrics == score(y[300:], row, 3, ("accuracy", "mcc"))
        assert replicate.metrics["accuracy"] > 0.5
    assert outcome.settings["outer_folds"] is None and outcome.settings["c_grid"] == list(C_GRID)


def test_cv_probe_predicts_each_example_once_per_seed_from_its_fold() -> None:
    x, y = blobs(300, 2, 1)
    outcome = cv_probe(x, y, 2, ("accuracy", "f1"), seeds=(3, 4))
    assert [(r.seed, r.fold) for r in outcome.replicates] == [
        (seed, fold) for seed in (3, 4) for fold in range(OUTER_FOLDS)
    ]
    for index, seed in enumerate((3, 4)):
        row = np.asarray(outcome.predictions[index * 300 : (index + 1) * 300])
        folds = cv_folds(y, seed)
        for fold in range(OUTER_FOLDS):
            replicate = outcome.replicates[index * OUTER_FOLDS + fold]
            assert replicate.metrics == score(y[folds == fold], row[folds == fold], 2, ("accuracy", "f1"))
    assert outcome.settings["outer_folds"] == OUTER_FOLDS


def test_probes_are_deterministic_and_threads_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = blobs(250, 2, 2, signal=0.3)
    first = cv_probe(x, y, 2, ("accuracy",), seeds=(0,))
    monkeypatch.setattr(probe, "THREADS", 1)
    assert cv_probe(x, y, 2, ("accuracy",), seeds=(0,)) == first
    split = split_probe(x[:200], y[:200], x[200:], y[200:], 2, ("accuracy",), seeds=(0, 1))
    monkeypatch.setattr(probe, "THREADS", 2)
    assert split_probe(x[:200], y[:200], x[200:], y[200:], 2, ("accuracy",), seeds=(0, 1)) == split


def test_float64_input_gives_the_float32_probe() -> None:
    x, y = blobs(200, 2, 3)
    single = split_probe(x[:150], y[:150], x[150:], y[150:], 2, ("accuracy",), seeds=(0,))
    double = split_probe(x[:150].astype(np.float64), y[:150], x[150:], y[150:], 2, ("accuracy",), seeds=(0,))
    assert single == double
