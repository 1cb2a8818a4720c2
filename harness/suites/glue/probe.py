"""Linear probes on frozen sentence embeddings, as SentEval evaluates its transfer tasks.

The protocol of SentEval (Conneau & Kiela 2018, "SentEval: An Evaluation Toolkit for Universal
Sentence Representations", LREC; ``facebookresearch/SentEval``, ``senteval/tools/validation.py``):
a logistic regression on the frozen embeddings, its L2 regularisation chosen by cross-validation on
the training data only, never on the evaluation split.

- **Classifier.** scikit-learn's ``LogisticRegression`` with lbfgs (SentEval's ``usepytorch=False``
  path), ``C`` from SentEval's grid ``[2**t for t in range(-2, 4)]`` (``C_GRID``).
- **Choice of C** (``select_c``). Stratified ``INNER_FOLDS``-fold cross-validation on the training
  data, each ``C`` scored by the task's main metric averaged over the folds; the first best ``C``
  (the smallest, as SentEval's ``np.argmax``) is refitted on all training data, which then predicts
  the evaluation split. Train -> eval tasks (``split_probe``) do this once per seed, as SentEval's
  ``SplitClassifier`` and ``KFoldClassifier`` refit on all training data (here the inner folds
  choose ``C`` where ``SplitClassifier`` uses the dev split, since the dev split is what GLUE
  scores).
- **Cross-validated tasks** (``cv_probe``; MR, CR, SUBJ, MPQA): SentEval's ``InnerKFoldClassifier``:
  an outer stratified ``OUTER_FOLDS``-fold split; inside each outer training part the same inner
  choice of ``C``, then the outer held-out fold is predicted (nested cross-validation).
- **Seeds.** ``SEEDS`` (five). A seed draws every fold split (``folds.stratified_folds``: the inner
  folds of seed ``s`` from ``s``, of outer fold ``f`` under seed ``s`` from ``(s, f)``, the outer
  folds from ``s``); lbfgs itself draws nothing, so equal inputs give equal predictions.

Speed (the suite fits ~6,000 models in its cross-validated tasks alone): each inner fold fits the
grid in ascending ``C``, warm-started from the previous ``C``'s weights (``warm_start=True``);
features are float32 (lbfgs fits float32 natively since scikit-learn 1.8); fits run in ``THREADS``
threads with BLAS held to one thread each. ``TOL`` is scikit-learn's default gradient tolerance: at
1e-3 a warm start stops at once, so every ``C`` after the first would keep the first one's weights.
Measured on the shared 2-core machine (2026-12-06, while other work ran, so CPU seconds are the
comparable figure): one grid on 7,700 real all-MiniLM-L6-v2 MR embeddings costs per fit 120 ms
(float64, cold), 62 ms (float64, warm), 49 ms (float32, cold), 36 ms (float32, warm), equal
accuracy within 0.001; two BLAS threads per fit took 3 to 10 times longer than one. All ten
tasks at full size on synthetic unit-norm 384-d features with MiniLM-like accuracy took 213 CPU s
of probes (SST-2 19, SST-5 21, MRPC 13, CoLA 3, RTE 5, TREC 17, MR 41, CR 20, SUBJ 39, MPQA 36);
MR on its real MiniLM embeddings 48 CPU s. How much two threads gain could not be measured there
(two processes on that machine ran no faster than one).

``ProbeOutcome`` is what every probe of the suite returns, these and ``mteb_protocol.mteb_probe``
alike, so ``task.py`` treats both protocols the same way.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt

from harness.results import Replicate
from harness.suites.glue.folds import Seed, stratified_folds
from harness.suites.glue.scoring import score
from harness.types import JSONValue

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

C_GRID: tuple[float, ...] = tuple(2.0**t for t in range(-2, 4))
"""SentEval's grid for scikit-learn's logistic regression: ``[2**t for t in range(-2, 4, 1)]``."""

INNER_FOLDS = 5
"""Folds of the cross-validation that chooses ``C`` on the training data."""

OUTER_FOLDS = 10
"""Folds of the outer cross-validation of datasets without a split (SentEval's ``kfold=10``)."""

SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)
"""The seeds every task runs; each gives one replicate (per fold for cross-validated tasks)."""

TOL = 1e-4
"""lbfgs's gradient tolerance (scikit-learn's default)."""

MAX_ITER = 1000
"""lbfgs's iteration limit: far above what a fit needs (under 100 on MiniLM features), so every fit
converges; scikit-learn's default of 100 would stop some large-C fits short."""

DTYPE = np.float32
"""The features' type in the fits: the encoders' own, and the faster one (module docstring)."""

THREADS = 2
"""Fits run at once: the two cores of the CI machine (CONTRIBUTING.md, "Threads")."""

Labels = npt.NDArray[np.int64]
Features = npt.NDArray[np.floating]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ProbeOutcome:
    """What a probe produced: replicates, flat predictions and the settings that made them.

    Attributes:
        replicates: one per seed (train -> eval) or per (seed, fold) (cross-validation).
        predictions: predicted class indices, seed-major over the eval examples: ``predictions[s * n + i]``
            is example ``i``'s under the ``s``-th seed.
        settings: everything that changes the scores, recorded in the results file.
    """

    replicates: tuple[Replicate, ...]
    predictions: tuple[int, ...]
    settings: dict[str, JSONValue]


def probe_settings(cross_validated: bool, seeds: Sequence[int] = SEEDS) -> dict[str, JSONValue]:
    """The settings of a SentEval probe, as a task records them."""
    settings: dict[str, JSONValue] = {
        "protocol": "senteval",
        "probe": "logistic-regression",
        "solver": "lbfgs",
        "c_grid": list(C_GRID),
        "c_selection": f"stratified {INNER_FOLDS}-fold cross-validation on the training data",
        "inner_folds": INNER_FOLDS,
        "outer_folds": OUTER_FOLDS if cross_validated else None,
        "seeds": list(seeds),
        "tol": TOL,
        "max_iter": MAX_ITER,
        "warm_start": "along the C grid",
        "dtype": np.dtype(DTYPE).name,
        "folds": "harness.suites.glue.folds.stratified_folds (numpy PCG64)",
    }
    return settings


def _classifier(c: float, warm: bool) -> LogisticRegression:
    from sklearn.linear_model import LogisticRegression  # seconds to import: only where a probe runs

    return LogisticRegression(C=c, solver="lbfgs", tol=TOL, max_iter=MAX_ITER, warm_start=warm)


def _predict(model: LogisticRegression, features: Features) -> Labels:
    return np.asarray(model.predict(features), dtype=np.int64)


def grid_predictions(
    train: Features, train_labels: Labels, evaluation: Features, grid: Sequence[float] = C_GRID
) -> list[Labels]:
    """The predictions of ``evaluation`` by a fit on ``train`` at each ``C`` of ``grid``, warm-started."""
    model = _classifier(grid[0], warm=True)
    predictions = []
    for c in grid:
        model.set_params(C=c)
        model.fit(train, train_labels)
        predictions.append(_predict(model, evaluation))
    return predictions


def fit_predict(train: Features, train_labels: Labels, evaluation: Features, c: float) -> Labels:
    """A fresh fit on all of ``train`` at ``c``, predicting ``evaluation`` (SentEval's refit)."""
    return _predict(_classifier(c, warm=False).fit(train, train_labels), evaluation)


def _inner_fold(
    job: tuple[Features, Labels, Labels, int, int, str],
) -> list[float]:
    features, labels, folds, fold, classes, metric = job
    held = folds == fold
    predictions = grid_predictions(features[~held], labels[~held], features[held])
    return [score(labels[held], p, classes, (metric,))[metric] for p in predictions]


def select_c(
    features: Features,
    labels: Labels,
    seed: Seed,
    classes: int,
    metric: str,
    parallel: bool = False,
) -> float:
    """The ``C`` of ``C_GRID`` with the best mean ``metric`` over stratified inner folds drawn from ``seed``.

    Ties go to the smaller ``C`` (the first maximum, as SentEval's ``np.argmax``). ``parallel`` fits
    the folds in ``THREADS`` threads (a caller already in a thread of its own leaves it off).
    """
    folds = stratified_folds(labels, INNER_FOLDS, seed)
    jobs = [(features, labels, folds, fold, classes, metric) for fold in range(INNER_FOLDS)]
    scores = _parallel(_inner_fold, jobs) if parallel else [_inner_fold(job) for job in jobs]
    means = [math.fsum(fold[i] for fold in scores) / INNER_FOLDS for i in range(len(C_GRID))]
    return C_GRID[int(np.argmax(means))]


def _parallel(function: Callable[[T], R], jobs: Iterable[T]) -> list[R]:
    """``function`` over ``jobs`` in ``THREADS`` threads, results in job order (so deterministic)."""
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(function, jobs))


@contextmanager
def _quiet() -> Iterator[None]:
    """BLAS held to one thread, and lbfgs's convergence warnings kept out of the user's terminal.

    Entered once around a probe from the calling thread (``warnings.catch_warnings`` is not safe to
    enter from several threads). A fit reaching ``MAX_ITER`` keeps its weights, as SentEval's do.
    """
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _as_features(features: Features) -> Features:
    return np.ascontiguousarray(features, dtype=DTYPE)


def _as_labels(labels: Sequence[int] | npt.NDArray[np.integer]) -> Labels:
    return np.asarray(labels, dtype=np.int64)


def split_probe(
    train: Features,
    train_labels: Sequence[int] | npt.NDArray[np.integer],
    evaluation: Features,
    eval_labels: Sequence[int] | npt.NDArray[np.integer],
    classes: int,
    measures: tuple[str, ...],
    seeds: Sequence[int] = SEEDS,
) -> ProbeOutcome:
    """Train -> eval: per seed, ``select_c`` on the training data, refit, predict the eval split.

    Args:
        train: training features, one row per example.
        train_labels: class index of each training example.
        evaluation: evaluation features.
        eval_labels: class index of each evaluation example.
        classes: the number of classes.
        measures: metric names, the main metric (which chooses ``C``) first.
        seeds: the seeds, one replicate each.

    Returns:
        One replicate per seed and the predictions, seed-major.
    """
    x_train, x_eval = _as_features(train), _as_features(evaluation)
    y_train, y_eval = _as_labels(train_labels), _as_labels(eval_labels)
    predictions: list[int] = []
    replicates = []
    with _quiet():
        for seed in seeds:
            c = select_c(x_train, y_train, seed, classes, measures[0], parallel=True)
            predicted = fit_predict(x_train, y_train, x_eval, c)
            predictions.extend(predicted.tolist())
            replicates.append(Replicate(seed=seed, metrics=score(y_eval, predicted, classes, measures)))
    return ProbeOutcome(tuple(replicates), tuple(predictions), probe_settings(False, seeds))


def _outer_fold(job: tuple[Features, Labels, Labels, int, int, int, str]) -> Labels:
    features, labels, folds, seed, fold, classes, metric = job
    held = folds == fold
    x_train, y_train = features[~held], labels[~held]
    c = select_c(x_train, y_train, (seed, fold), classes, metric)
    return fit_predict(x_train, y_train, features[held], c)


def cv_folds(labels: Sequence[int] | npt.NDArray[np.integer], seed: int) -> Labels:
    """The outer fold of each example under ``seed``: what ``cv_probe`` holds out and ``check`` recomputes."""
    return stratified_folds(labels, OUTER_FOLDS, seed)


def cv_probe(
    features: Features,
    labels: Sequence[int] | npt.NDArray[np.integer],
    classes: int,
    measures: tuple[str, ...],
    seeds: Sequence[int] = SEEDS,
) -> ProbeOutcome:
    """Nested cross-validation (SentEval's ``InnerKFoldClassifier``): every example predicted once per seed.

    Returns:
        One replicate per (seed, outer fold), with that fold's metrics, and the predictions
        seed-major over the examples: ``predictions[s * n + i]`` is example ``i``'s, from the model
        of the outer fold that held it out under the ``s``-th seed.
    """
    x, y = _as_features(features), _as_labels(labels)
    predictions: list[int] = []
    replicates = []
    with _quiet():
        for seed in seeds:
            folds = cv_folds(y, seed)
            jobs = [(x, y, folds, seed, fold, classes, measures[0]) for fold in range(OUTER_FOLDS)]
            predicted = np.empty(len(y), dtype=np.int64)
            for fold, held_out in enumerate(_parallel(_outer_fold, jobs)):
                held = folds == fold
                predicted[held] = held_out
                metrics = score(y[held], held_out, classes, measures)
                replicates.append(Replicate(seed=seed, fold=fold, metrics=metrics))
            predictions.extend(predicted.tolist())
    return ProbeOutcome(tuple(replicates), tuple(predictions), probe_settings(True, seeds))
