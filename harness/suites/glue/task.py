"""Glue tasks: a linear probe on frozen embeddings, scored by accuracy, F1 or Matthews correlation.

Every distinct text of a task is encoded once (``timer("encode")``, one ``Encoder.encode`` call, through
the encoder's cache when it has one; a ``-mteb`` task encodes only the training texts mteb's
undersampling reads, as mteb does); an example's features are its text's embedding, or for a pair
``[u, v, |u - v|, u * v]`` (InferSent's pair features, Conneau et al. 2017, which SentEval uses for
SICK-E and SNLI; SentEval's MRPC uses only ``[|u - v|, u * v]``). The probe then runs
(``timer("probe")``): SentEval's protocol (``probe``), or mteb's for a ``-mteb`` variant
(``mteb_protocol``, imported only when a ``-mteb`` task runs); see those modules for the protocols
and their sources, and ``variants`` for the ``-mteb`` and ``-cap<N>`` variants. Class indices and
example order are those of ``cards`` and ``data``.

What a result holds: one replicate per seed (train -> eval) or per seed and outer fold
(cross-validation) or per mteb experiment, with that replicate's metrics; ``metrics`` is their
exact mean (``math.fsum``); ``predictions`` (kind ``label``) hold every predicted class index,
seed-major. Accuracy, F1 and MCC are not means over examples, so ``check`` recomputes every
replicate's metrics from the predictions and the local gold labels (and, for cross-validation, the
folds, a pure function of the labels and the seed), then their means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from harness.data.cards import DatasetCard
from harness.errors import FieldError
from harness.metrics.measures import Measure, measure
from harness.models.protocols import Encoder
from harness.results import Predictions, Replicate, TaskResult
from harness.suites.base import Scores
from harness.suites.checks import AGGREGATE_TOLERANCE, check_recomputed, shown
from harness.suites.glue.data import Examples, GlueDataset, load_glue
from harness.suites.glue.probe import (
    OUTER_FOLDS,
    SEEDS,
    ProbeOutcome,
    cv_folds,
    cv_probe,
    split_probe,
)
from harness.suites.glue.probe import probe_settings as senteval_settings
from harness.suites.glue.scoring import score
from harness.suites.glue.variants import CAP_SEED, HOLDOUT_FOLDS, HOLDOUT_SEED, MTEB_SEED, Variant
from harness.timing import Timer
from harness.types import JSONValue

PAIR_FEATURES = "[u, v, |u-v|, u*v]"
SINGLE_FEATURES = "u"


def features(vectors: npt.NDArray[np.floating], examples: Examples, pair: bool) -> npt.NDArray[np.float32]:
    """One row per example: its text's embedding, or ``[u, v, |u - v|, u * v]`` for a pair.

    A text left unencoded (index -1: a training example mteb's undersampling never reads) gets a
    row of zeros, which no probe reads.
    """
    embeddings = np.asarray(vectors, dtype=np.float32)
    first = np.asarray(examples.first, dtype=np.int64)
    if (first < 0).any():
        u = np.zeros((len(first), embeddings.shape[1]), dtype=np.float32)
        u[first >= 0] = embeddings[first[first >= 0]]
    else:
        u = embeddings[first]
    if not pair:
        return u
    v = embeddings[list(examples.second)]
    return np.hstack([u, v, np.abs(u - v), u * v])


def mean_metrics(replicates: Sequence[Replicate]) -> dict[str, float]:
    """Each metric's exact mean over the replicates (``math.fsum``), as the schema checks it."""
    names = list(replicates[0].metrics)
    return {name: math.fsum(r.metrics[name] for r in replicates) / len(replicates) for name in names}


@dataclass(frozen=True)
class GlueTask:
    """One glue dataset variant as a task: its probe, its measures, its card."""

    variant: Variant
    version: int = 1

    @property
    def name(self) -> str:
        return f"glue/{self.variant.name}"

    @property
    def split(self) -> str:
        return self.variant.split

    @property
    def main_metric(self) -> str:
        return self.variant.layout.measures[0]

    @property
    def measures(self) -> tuple[Measure, ...]:
        return tuple(measure(name) for name in self.variant.layout.measures)

    @cached_property
    def card(self) -> DatasetCard:
        return self.variant.card()

    @property
    def seeds(self) -> tuple[int, ...]:
        """The replicate seeds: SentEval's ``SEEDS``, or mteb's experiment indices."""
        if self.variant.mteb:
            from harness.suites.glue.mteb_protocol import N_EXPERIMENTS

            return tuple(range(N_EXPERIMENTS))
        return SEEDS

    def settings(self) -> dict[str, JSONValue]:
        """The probe's settings, the features, the cap and the holdout split; equal runs compare."""
        variant = self.variant
        if variant.mteb:
            from harness.suites.glue.mteb_protocol import mteb_settings

            probe = mteb_settings(MTEB_SEED)
        else:
            probe = senteval_settings(variant.cross_validated)
        settings: dict[str, JSONValue] = {
            **probe,
            "features": PAIR_FEATURES if variant.layout.pair else SINGLE_FEATURES,
            "train_cap": variant.cap,
            "cap_seed": CAP_SEED if variant.cap is not None else None,
        }
        if variant.holdout:
            settings["holdout"] = f"fold 0 of stratified_folds(labels, {HOLDOUT_FOLDS}, {HOLDOUT_SEED})"
        return settings

    def load(self, data_root: Path) -> GlueDataset:
        return load_glue(self.variant, data_root)

    def _probe(self, vectors: npt.NDArray[np.floating], data: GlueDataset) -> ProbeOutcome:
        measures = self.variant.layout.measures
        classes = len(data.classes)
        train = features(vectors, data.train, data.pair)
        train_labels = np.asarray(data.train.labels, dtype=np.int64)
        if data.cross_validated:
            return cv_probe(train, train_labels, classes, measures)
        evaluation = features(vectors, data.evaluation, data.pair)
        eval_labels = np.asarray(data.evaluation.labels, dtype=np.int64)
        if self.variant.mteb:
            from harness.suites.glue.mteb_protocol import mteb_probe

            return mteb_probe(train, train_labels, evaluation, eval_labels, MTEB_SEED, measures)
        return split_probe(train, train_labels, evaluation, eval_labels, classes, measures)

    def evaluate(self, model: Encoder, data: GlueDataset, timer: Timer) -> Scores:
        with timer("encode"):
            vectors = model.encode(list(data.texts))
        with timer("probe"):
            outcome = self._probe(vectors, data)
        expected = self.settings()
        drift = sorted(name for name, value in outcome.settings.items() if expected.get(name) != value)
        if drift:
            raise RuntimeError(f"{self.name}: the probe ran with settings the task does not record: {drift}")
        predictions = Predictions(
            kind="label", item_kind="example", values=[float(p) for p in outcome.predictions]
        )
        return Scores(
            metrics=mean_metrics(outcome.replicates),
            predictions=predictions,
            replicates=outcome.replicates,
        )

    def _expected_replicates(self) -> list[tuple[int, int | None]]:
        if self.variant.cross_validated:
            return [(seed, fold) for seed in self.seeds for fold in range(OUTER_FOLDS)]
        return [(seed, None) for seed in self.seeds]

    def _check_shape(self, result: TaskResult) -> list[float]:
        """Replicates name the task's seeds (and folds); predictions are class indices, seeds x examples."""
        if result.per_item is not None:
            raise FieldError("per_item", f"{self.name} keeps predicted labels, not per-item values")
        expected = self._expected_replicates()
        found = [(r.seed, r.fold) for r in result.replicates]
        if found != expected:
            raise FieldError(
                "replicates",
                f"name (seed, fold) {found[:3]}...; {self.name} has {len(expected)} replicates "
                f"{expected[:3]}... in that order",
            )
        names = set(result.metrics)
        for index, replicate in enumerate(result.replicates):
            if set(replicate.metrics) != names:
                raise FieldError(f"replicates[{index}].metrics", f"names {sorted(replicate.metrics)}")
        predictions = result.predictions
        if predictions is None:
            raise FieldError("predictions", f"missing: {self.name} keeps every predicted label")
        if predictions.kind != "label" or predictions.item_kind != "example":
            raise FieldError("predictions.kind", f"{self.name} predicts a class label per example")
        classes = result.inputs.counts.get("classes")
        if classes != len(self.variant.layout.classes):
            raise FieldError(
                "inputs.counts.classes", f"{classes}; {self.name} has {len(self.variant.layout.classes)}"
            )
        examples = result.inputs.counts.get("eval")
        if examples is None or len(predictions.values) != len(self.seeds) * examples:
            raise FieldError(
                "predictions.values",
                f"holds {len(predictions.values)} values, not {len(self.seeds)} seeds x "
                f"inputs.counts.eval ({examples})",
            )
        for index, value in enumerate(predictions.values):
            if not (0 <= value < classes and value == int(value)):
                raise FieldError(
                    f"predictions.values[{index}]", f"{value!r} is not a class index below {classes}"
                )
        return predictions.values

    def rescore(self, values: Sequence[float], data: GlueDataset) -> list[dict[str, float]]:
        """Each replicate's metrics from flat predictions and the local gold labels, in replicate order."""
        measures = self.variant.layout.measures
        gold = np.asarray(data.evaluation.labels, dtype=np.int64)
        n, classes = len(gold), len(data.classes)
        if self.variant.mteb:
            from harness.suites.glue.mteb_protocol import mteb_rescore

            return mteb_rescore(values, gold, len(self.seeds), measures)
        labels = np.asarray(values, dtype=np.int64).reshape(len(self.seeds), n)
        if not self.variant.cross_validated:
            return [score(gold, row, classes, measures) for row in labels]
        scores: list[dict[str, float]] = []
        for seed, row in zip(self.seeds, labels, strict=True):
            folds = cv_folds(gold, seed)
            scores.extend(
                score(gold[folds == f], row[folds == f], classes, measures) for f in range(OUTER_FOLDS)
            )
        return scores

    def check(self, result: TaskResult, data: GlueDataset | None) -> bool:
        """Recompute every replicate's metrics from the predicted labels and the local gold labels.

        Without local data only the shape is checked (replicates, prediction count, class indices),
        and the result is not rescored. With it, the file's inputs must be the local data's; every
        replicate's metrics are recomputed (cross-validation: on the folds recomputed from the local
        labels and the replicate's seed) and then their means.

        Raises:
            FieldError: naming the field that does not hold (``replicates[3].metrics.accuracy``).
        """
        values = self._check_shape(result)
        if data is None:
            return False  # accepted as submitted, not rescored: no gold labels here
        if data.inputs.fingerprint != result.inputs.fingerprint:
            raise FieldError(
                "inputs.fingerprint",
                f"differs from the local {self.name} data's: its labels cannot be rescored against this data",
            )
        if data.inputs.counts != result.inputs.counts:
            raise FieldError(
                "inputs.counts", f"{result.inputs.counts} are not the local data's {data.inputs.counts}"
            )
        recomputed = self.rescore(values, data)
        for index, (replicate, metrics) in enumerate(zip(result.replicates, recomputed, strict=True)):
            for name, value in metrics.items():
                claimed = replicate.metrics[name]
                if not abs(claimed - value) <= AGGREGATE_TOLERANCE:
                    left, right = shown(claimed, value)
                    raise FieldError(
                        f"replicates[{index}].metrics.{name}",
                        f"{left} is not recomputed from predictions and the local gold labels ({right})",
                    )
        means = mean_metrics([Replicate(seed=0, metrics=m) for m in recomputed])
        for name in sorted(result.metrics, key=lambda name: name != self.main_metric):
            check_recomputed(
                result, name, means[name], "the mean of the replicates recomputed from predictions"
            )
        return data.inputs.verified and result.inputs.verified
