"""MTEB's classification protocol, reimplemented on precomputed embeddings (no import of mteb).

This mirrors ``AbsTaskClassification`` of mteb 2.26.24 exactly, so that a glue task run with
``protocol="mteb"`` gives MTEB's numbers from our own embeddings. Paths below are inside the installed
package (``site-packages/mteb/``); line numbers are those of 2.26.24.

What mteb does (``abstasks/classification.py`` unless said otherwise):

- **Settings.** ``evaluator_model = LogisticRegression(max_iter=100)`` (110-112), a class attribute;
  every other parameter is scikit-learn's default (``C=1.0``, ``solver="lbfgs"``, ``tol=1e-4``,
  ``fit_intercept=True``, no class weights). ``samples_per_label = 8`` (114), ``n_experiments = 10``
  (115), ``train_split = "train"`` (116). ``evaluate`` sets ``random_state=self.seed`` on the
  classifier (157-160); lbfgs never reads it, so the fit is deterministic. ``self.seed`` is the
  task's seed, 42 by default (``abstasks/abstask.py:131-139``, which also seeds ``random``, numpy and
  torch globally; ``_evaluators/evaluator.py:21-23`` seeds them again for each experiment's evaluator:
  neither touches what follows).
- **Undersampling** (``_undersample_data``, 480-513; driven by 238-243). ``idxs`` starts as
  ``list(range(len(train)))``; each experiment makes a *fresh* ``np.random.RandomState(self.seed)``
  and shuffles the *previous experiment's* ``idxs`` list in place, so experiment ``i`` sees the
  shuffle applied ``i + 1`` times (``experiment_num`` is unused). Walking the shuffled list, it keeps
  an index while its label has fewer than ``samples_per_label`` kept (a ``defaultdict(int)`` keyed by
  the label value), so each experiment trains on at most ``samples_per_label`` examples per class,
  in shuffled order. All experiments are simulated first; only the union of their indices is
  encoded (245-268), and each experiment's training matrix is that encoding's rows in the
  experiment's selected order (301-303).
- **Evaluation split.** Encoded once, whole and in order (271-289); ``AbsTaskClassification`` does not
  subsample it. (Some hub tasks cut their test split to 2,048 stratified examples in their own
  ``dataset_transform`` with ``AbsTask.stratified_subsampling``, ``abstasks/abstask.py:328-383``;
  that is a choice of those tasks' data, not of the protocol.)
- **Each experiment** (299-316, ``_run_experiment`` 418-435, ``_evaluators/sklearn_evaluator.py:48-56``):
  ``fit(train_embeddings, y_train)`` on the same classifier object (no warm start, so a fresh fit),
  then ``predict(test_embeddings)``: hard class labels. The embeddings reach scikit-learn as the
  model returned them; since scikit-learn 1.8 lbfgs accepts float32, so the dtype takes part in
  the fit.
- **Metrics per experiment** (``_calculate_scores``, 455-478), all from the hard predictions:
  ``accuracy`` (``accuracy_score``), ``f1`` = **macro** F1, ``f1_weighted``, ``precision`` and
  ``recall`` (macro), ``precision_weighted``, ``recall_weighted``; when the gold labels hold exactly
  two values also ``ap`` and ``ap_weighted`` (``average_precision_score`` of the 0/1 predictions),
  otherwise ``None``. scikit-learn's ``zero_division="warn"`` default scores a class never
  predicted as 0.
- **Aggregation** (``_calculate_avg_scores``, 437-453): each metric is ``float(np.mean(...))`` over
  the experiments (``nan`` for ``ap`` when every experiment has ``None``), plus
  ``scores_per_experiment``. ``main_score`` is the metadata's ``main_score``
  (``abstasks/abstask.py:648-649``), ``accuracy`` for classification tasks.
- Cross-validation (``is_cross_validation``, 329-416: ``KFold(5, shuffle=True, random_state=seed)``,
  undersampling inside each fold) is used only by tasks without a train split; it is not mirrored.

Here ``mteb_probe`` runs exactly these steps on embeddings the harness computed: the same
``RandomState`` calls on a Python list and the same classifier, so on the same vectors it reproduces
mteb's predictions exactly. Its metrics are computed from a confusion matrix, as the glue suite's
``scoring.py`` does, so that ``Task.check`` rescores a file without scikit-learn; on equal
predictions they equal the scikit-learn values mteb reports to the last bit
(``tests/integration/test_glue_mteb.py`` runs real mteb beside it). Its metric names are the
harness's: ``accuracy``, ``f1`` (binary F1 of class 1, which mteb does not compute), ``mcc``
(Matthews, which mteb does not compute either), and ``f1_macro`` (what mteb calls ``f1``).
mteb's weighted and precision/recall/AP variants are not reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from harness.errors import FieldError
from harness.results import Replicate
from harness.suites.glue.probe import ProbeOutcome
from harness.suites.glue.scoring import SCORERS, confusion
from harness.types import JSONValue

MTEB_VERSION: Final = "2.26.24"
"""The mteb release whose ``AbsTaskClassification`` this module mirrors."""

N_EXPERIMENTS: Final = 10
"""``AbsTaskClassification.n_experiments`` (``abstasks/classification.py:115``)."""

SAMPLES_PER_LABEL: Final = 8
"""``AbsTaskClassification.samples_per_label`` (``abstasks/classification.py:114``)."""

MAX_ITER: Final = 100
"""``LogisticRegression(max_iter=100)``: mteb's ``evaluator_model`` (``abstasks/classification.py:110``)."""

DEFAULT_SEED: Final = 42
"""``AbsTask.__init__``'s default seed (``abstasks/abstask.py:131``)."""

Labels = npt.NDArray[np.integer]


def f1_macro(matrix: npt.NDArray[np.int64]) -> float:
    """Macro F1, mteb's ``f1``: ``f1_score(y_test, y_pred, average="macro")`` (classification.py:462).

    The unweighted mean of each class's ``2 TP / (2 TP + FP + FN)`` over the classes that occur in
    the gold labels or the predictions (scikit-learn's ``unique_labels``; a class in neither is left
    out), in float64 in class order, as ``precision_recall_fscore_support`` computes it. 0 for no
    examples.
    """
    true, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    present = (true + predicted) > 0
    if not present.any():
        return 0.0
    per_class = 2 * np.diag(matrix)[present] / (true[present] + predicted[present])
    return float(np.mean(per_class))


MEASURES: Final[dict[str, Callable[[npt.NDArray[np.int64]], float]]] = {**SCORERS, "f1_macro": f1_macro}
"""The measures a probe reports, by harness name, each from a confusion matrix: the glue suite's
``accuracy``, ``f1`` (binary, class 1) and ``mcc`` (``scoring.py``), and ``f1_macro``, mteb's ``f1``.
On equal predictions they equal scikit-learn's functions mteb calls to the last bit here (the same
integer counts and one float64 division each; ``test_glue_mteb.py`` measures it), and ``Task.check``
recomputes them without scikit-learn."""


def mteb_settings(
    seed: int, *, n_experiments: int = N_EXPERIMENTS, samples_per_label: int = SAMPLES_PER_LABEL
) -> dict[str, JSONValue]:
    """Everything that changes the scores of ``mteb_probe``, as a task records it.

    Versions of scikit-learn and numpy are left out: ``check_declared`` compares settings for
    equality across machines, and those belong to the run's provenance.
    """
    return {
        "protocol": "mteb",
        "mteb_version": MTEB_VERSION,
        "seed": seed,
        "n_experiments": n_experiments,
        "samples_per_label": samples_per_label,
        "undersampling": "RandomState(seed).shuffle of the previous experiment's order, first k per label",
        "classifier": "LogisticRegression",
        "solver": "lbfgs",
        "C": 1.0,
        "max_iter": MAX_ITER,
        "tol": 1e-4,
        "fit_intercept": True,
        "eval_subsampling": "none",
    }


def mteb_undersample(
    labels: Sequence[int] | Labels, seed: int, n_experiments: int, samples_per_label: int
) -> list[list[int]]:
    """The training indices of each experiment, as mteb's ``_undersample_data`` draws them.

    The same calls as ``abstasks/classification.py:238-243, 480-513``: one list of indices, shuffled
    in place by a fresh ``np.random.RandomState(seed)`` per experiment (so the shuffles compound),
    then the first ``samples_per_label`` indices of each label in that order. The walk stops early
    once every label is full, which selects the same indices.
    """
    values = [int(label) for label in labels]
    label_count = len(set(values))
    order = list(range(len(values)))
    experiments: list[list[int]] = []
    for _ in range(n_experiments):
        np.random.RandomState(seed).shuffle(order)
        counts: defaultdict[int, int] = defaultdict(int)
        full = 0
        selected: list[int] = []
        for index in order:
            label = values[index]
            if counts[label] < samples_per_label:
                selected.append(index)
                counts[label] += 1
                full += counts[label] == samples_per_label
                if full == label_count:
                    break
        experiments.append(selected)
    return experiments


def _checked_measures(measures: tuple[str, ...]) -> None:
    unknown = [name for name in measures if name not in MEASURES]
    if unknown:
        raise ValueError(f"unknown probe measures {unknown}; known: {', '.join(MEASURES)}")


def mteb_probe(
    train: np.ndarray,
    train_labels: np.ndarray,
    evaluation: np.ndarray,
    eval_labels: np.ndarray,
    seed: int,
    measures: tuple[str, ...],
    *,
    n_experiments: int = N_EXPERIMENTS,
    samples_per_label: int = SAMPLES_PER_LABEL,
) -> ProbeOutcome:
    """MTEB's classification protocol on precomputed embeddings: one replicate per experiment.

    Each experiment fits ``LogisticRegression(max_iter=100, random_state=seed)`` on the rows
    ``mteb_undersample`` selects (in its order) and predicts the whole evaluation set
    (``abstasks/classification.py:219-327``). The embeddings go to scikit-learn unconverted, as mteb
    passes them, since lbfgs fits float32 input in float32. Only the selected training rows are read.

    Args:
        train: training embeddings, one row per training example.
        train_labels: class index of each training row.
        evaluation: evaluation embeddings.
        eval_labels: class index of each evaluation row.
        seed: mteb's task seed (``DEFAULT_SEED`` = 42 reproduces MTEB).
        measures: names among ``MEASURES`` to report per experiment.
        n_experiments: experiments (mteb's default 10).
        samples_per_label: training examples per class in each experiment (mteb's default 8).

    Returns:
        Replicates with ``seed`` = the experiment's index, predictions experiment-major over the
        evaluation examples, and ``mteb_settings``.

    Raises:
        ValueError: an unknown measure, or embeddings and labels of different lengths.
    """
    _checked_measures(measures)
    if len(train) != len(train_labels) or len(evaluation) != len(eval_labels):
        raise ValueError(
            f"{len(train)} training rows for {len(train_labels)} labels, "
            f"{len(evaluation)} evaluation rows for {len(eval_labels)} labels"
        )
    classifier = LogisticRegression(max_iter=MAX_ITER, random_state=seed)
    predictions: list[int] = []
    for selected in mteb_undersample(train_labels, seed, n_experiments, samples_per_label):
        classifier.fit(train[selected], train_labels[selected])
        predictions.extend(int(label) for label in classifier.predict(evaluation).tolist())
    classes = int(max(np.max(train_labels, initial=0), np.max(eval_labels, initial=0))) + 1
    scores = mteb_rescore(predictions, eval_labels, n_experiments, measures, classes=classes)
    return ProbeOutcome(
        replicates=tuple(Replicate(seed=index, metrics=metrics) for index, metrics in enumerate(scores)),
        predictions=tuple(predictions),
        settings=mteb_settings(seed, n_experiments=n_experiments, samples_per_label=samples_per_label),
    )


def mteb_rescore(
    predictions: Sequence[float],
    eval_labels: np.ndarray,
    n_experiments: int,
    measures: tuple[str, ...],
    *,
    classes: int | None = None,
) -> list[dict[str, float]]:
    """Each experiment's metrics from flat predictions, as ``_calculate_scores`` computes them.

    ``predictions`` are experiment-major (experiment 0's predictions of every evaluation example,
    then experiment 1's ...), as ``mteb_probe`` writes them and a results file stores them.
    ``classes`` is the number of classes (the dataset's; by default ``max(eval_labels) + 1``): a
    prediction must be an integer below it, which also bounds the confusion matrix a file can ask for.

    Raises:
        FieldError: ``predictions`` is not ``n_experiments`` times the evaluation set, or holds a value
            that is not a class index.
        ValueError: an unknown measure.
    """
    _checked_measures(measures)
    gold = np.asarray(eval_labels)
    size = len(gold)
    if n_experiments < 1 or len(predictions) != n_experiments * size:
        raise FieldError(
            "predictions",
            f"{len(predictions)} values; expected {n_experiments} experiments x {size} examples",
        )
    flat = np.asarray(predictions, dtype=np.float64)
    if classes is None:
        classes = int(gold.max()) + 1 if size else 0
    bad = ~np.isfinite(flat) | (flat != np.round(flat)) | (flat < 0) | (flat >= classes)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise FieldError(
            f"predictions[{index}]", f"{predictions[index]!r} is not a class index below {classes}"
        )
    labels = flat.astype(np.int64).reshape(n_experiments, size)
    matrices = [confusion(gold, row, classes) for row in labels]
    return [{name: MEASURES[name](matrix) for name in measures} for matrix in matrices]
