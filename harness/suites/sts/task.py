"""STS: Spearman (main) and Pearson of the cosine similarity of each pair against the human score.

As MTEB's ``STSEvaluator`` and SentEval score it: both sentences of a pair are encoded, the pair's
similarity is the cosine of the two embeddings, and the metrics are correlations over the whole set
of pairs, so they are not means of anything per pair. A result therefore keeps its per-pair
similarities (``predictions``, in the order ``data.load_sts`` reads the pairs) and ``check``
recomputes both correlations from them and the gold scores of the local data. The similarities
are computed in float64 and stored to ``DIGITS`` significant digits; the metrics are computed from
exactly the stored values, so a file's numbers and its predictions agree to the last bit.

Each distinct sentence is encoded once (SICK repeats many), in one call, through the encoder's
cache when it has one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.cards import DatasetCard
from harness.errors import FieldError
from harness.metrics.correlation import pearson, spearman
from harness.metrics.measures import Measure, measure
from harness.models.protocols import Encoder
from harness.results import Predictions, TaskResult
from harness.suites.base import Scores
from harness.suites.checks import check_recomputed
from harness.suites.sts.data import StsDataset, load_sts
from harness.timing import Timer
from harness.types import JSONValue

DIGITS = 10
"""Significant digits kept of each similarity (float32 embeddings carry about 7)."""

SIMILARITY_SLACK = 1e-6
"""How far past [-1, 1] a stored cosine may sit: float rounding of normalised vectors."""

CORRELATIONS = {"spearman": spearman, "pearson": pearson}


def cosine_similarities(vectors: np.ndarray, left: tuple[int, ...], right: tuple[int, ...]) -> list[float]:
    """Cosine of each (left, right) row pair, in float64, rounded to ``DIGITS`` significant digits."""
    unit = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(unit, axis=1, keepdims=True)
    unit = unit / np.where(norms == 0.0, 1.0, norms)
    similarity = np.einsum("ij,ij->i", unit[list(left)], unit[list(right)])
    return [float(f"{value:.{DIGITS}g}") for value in similarity.tolist()]


def correlations(
    similarities: list[float], gold: tuple[float, ...], names: tuple[str, ...]
) -> dict[str, float]:
    return {name: CORRELATIONS[name](similarities, gold) for name in names}


@dataclass(frozen=True)
class StsTask:
    """One STS dataset as a task (pooled subsets are one task and one Spearman, as in MTEB)."""

    card: DatasetCard
    split: str = "test"
    main_metric: str = "spearman"
    version: int = 1

    @property
    def name(self) -> str:
        return self.card.id

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (measure("spearman"), measure("pearson"))

    def settings(self) -> dict[str, JSONValue]:
        return {"similarity": "cosine", "unscored_pairs": "skipped"}

    def load(self, data_root: Path) -> StsDataset:
        return load_sts(self.card, data_root, self.split)

    def evaluate(self, model: Encoder, data: StsDataset, timer: Timer) -> Scores:
        with timer("encode"):
            vectors = model.encode(list(data.sentences))
        with timer("evaluate"):
            similarities = cosine_similarities(vectors, data.left, data.right)
            metrics = correlations(similarities, data.gold, tuple(m.name for m in self.measures))
        predictions = Predictions(kind="similarity", item_kind="pair", values=similarities)
        return Scores(metrics=metrics, predictions=predictions)

    def check(self, result: TaskResult, data: StsDataset | None) -> bool:
        """Recompute Spearman and Pearson from the file's per-pair similarities and the local gold.

        Every metric is recomputed, so the result is "rescored" whenever the local data is the card's;
        without local data only the predictions' shape and range can be checked.
        """
        if result.per_item is not None:
            raise FieldError("per_item", f"{self.name} keeps per-pair predictions, not per-item values")
        predictions = result.predictions
        if predictions is None:
            raise FieldError("predictions", f"missing: {self.name} keeps the similarity of every pair")
        if predictions.kind != "similarity" or predictions.item_kind != "pair":
            raise FieldError("predictions.kind", f"{self.name} predicts a similarity per pair")
        pairs = result.inputs.counts.get("pairs")
        if pairs != len(predictions.values):
            raise FieldError(
                "predictions.values",
                f"holds {len(predictions.values)} values, but inputs.counts.pairs is {pairs}",
            )
        for index, value in enumerate(predictions.values):
            if not (math.isfinite(value) and abs(value) <= 1.0 + SIMILARITY_SLACK):
                raise FieldError(f"predictions.values[{index}]", f"{value!r} is not a cosine in [-1, 1]")
        if data is None:
            return False  # accepted as submitted, not rescored: nothing here to recompute against
        if data.inputs.fingerprint != result.inputs.fingerprint:
            raise FieldError(
                "inputs.fingerprint",
                f"differs from the local {self.name} data's: its scores cannot be recomputed from "
                "this data's gold scores",
            )
        names = sorted(result.metrics, key=lambda name: name != self.main_metric)  # the main metric first
        recomputed = correlations(predictions.values, data.gold, tuple(names))
        for name, value in recomputed.items():
            check_recomputed(result, name, value, "recomputed from predictions and the local gold scores")
        return data.inputs.verified and result.inputs.verified
