"""Measures as values: everything the harness knows about a metric, in one object per name.

As ir_measures and ranx treat them, a measure is a value with its parameters (``ndcg@10`` is
nDCG with cut-off 10), not a string looked up in several tables. Each ``Measure`` says:

- its **direction** (``higher_is_better``): the board's sort, best-value mark and ▲/▼ ask it;
- its **bounds**: ``submit`` refuses values outside them;
- how it **aggregates**: ``"mean"`` over per-item values (nDCG, recall: a file's aggregate must be
  the mean of its per-query values), or ``"whole"``, computed over the whole set at once (Spearman,
  Pearson, F1, MCC, AUC are not means of anything per item; a task re-derives them from the
  predictions a file carries);
- whether it is **deterministic** for a given model and data (scores are; timings and speed-ups
  are not, so ``verify`` never compares those);
- its **reproduction tolerance** by model kind (``verify``'s OKish band);
- its **display format**.

Names follow one grammar, ``<measure>[@<k>]`` in lower case. ``measure(name)`` knows the fixed
names of ``MEASURES`` and every cut-off of the rank-based measures (``ndcg@20``, ``precision@5``).
The functions that compute the measures live beside this module and are pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Aggregate = Literal["mean", "whole"]

UNIT = (0.0, 1.0)
SIGNED = (-1.0, 1.0)

SPARSE_TOLERANCE = 0.0005
"""BM25 scores come from integer term statistics, so rankings are deterministic; what moves a score is
the tokenizer or library version (as Pyserini's 2CR allows for Lucene upgrades)."""

DENSE_TOLERANCE = 0.005
"""Float32 encoders give other last bits on other BLAS builds, thread counts and devices, which
reorders near-ties; MTEB's and sentence-transformers' published scores differ by this much
(REFERENCES.md §7: dense retrieval and STS Spearman both ±0.005)."""

KERNEL_ERROR_TOLERANCES: Mapping[str, float] = {"*": 0.002}
"""A kernel's error on seeded inputs moves with the BLAS build and thread count in its last float32
bits; relative errors of interest are 0.01 to 0.3, so a re-run within 0.002 is the same kernel."""

SCORE_TOLERANCES: Mapping[str, float] = {"sparse": SPARSE_TOLERANCE, "*": DENSE_TOLERANCE}
"""Reproduction tolerance of a score by ``model.kind``; ``"*"`` is every other kind."""


@dataclass(frozen=True, slots=True)
class Measure:
    """One metric and everything that is known about it; see the module docstring."""

    name: str
    label: str
    higher_is_better: bool = True
    bounds: tuple[float, float] | None = UNIT
    aggregate: Aggregate = "mean"
    deterministic: bool = True
    tolerances: Mapping[str, float] = field(default_factory=lambda: dict(SCORE_TOLERANCES))
    digits: int = 4

    def format(self, value: float) -> str:
        """The value as the board and the terminal show it (full precision stays in the file)."""
        return f"{value:,.{self.digits}f}"

    def in_bounds(self, value: float) -> bool:
        return self.bounds is None or self.bounds[0] <= value <= self.bounds[1]

    def better(self, value: float, other: float) -> bool:
        """Whether ``value`` is strictly better than ``other`` in this measure's direction."""
        return value > other if self.higher_is_better else value < other

    def tolerance(self, kind: str) -> float:
        """How far a re-run of a ``kind`` model may land and still be close (``verify``'s OKish)."""
        return self.tolerances.get(kind, self.tolerances["*"])


RANKING_LABELS: Mapping[str, str] = {
    "ndcg": "nDCG",
    "recall": "R",
    "map": "MAP",
    "mrr": "MRR",
    "precision": "P",
}
"""Rank-based measures that take a cut-off ``@k``, with their display label (ir_measures spelling)."""

MEASURES: Mapping[str, Measure] = {
    m.name: m
    for m in (
        Measure("spearman", "Spearman", bounds=SIGNED, aggregate="whole"),
        Measure("pearson", "Pearson", bounds=SIGNED, aggregate="whole"),
        Measure("accuracy", "Accuracy", aggregate="whole"),
        Measure("f1", "F1", aggregate="whole"),
        Measure("f1_macro", "F1 (macro)", aggregate="whole"),
        Measure("mcc", "MCC", bounds=SIGNED, aggregate="whole"),
        Measure("auc", "AUC", aggregate="whole"),
        # circuit: head scores against a ground-truth circuit, at k = |ground truth| (metrics/circuit.py)
        Measure("precision", "P@|GT|", aggregate="whole"),
        Measure("recall", "R@|GT|", aggregate="whole"),
        Measure("auc_edge", "AUC (edge variant)", aggregate="whole"),
        # kernels: speed and accuracy of an attention kernel or a quantiser against its peer
        Measure("speedup", "speed-up", bounds=(0.0, 1e6), aggregate="whole", deterministic=False, digits=2),
        Measure("seconds", "s", False, (0.0, 1e9), "whole", deterministic=False, digits=3),
        Measure("seconds_exact", "s (peer)", False, (0.0, 1e9), "whole", deterministic=False, digits=3),
        Measure("peak_mib", "peak MiB", False, (0.0, 1e9), "whole", deterministic=False, digits=1),
        Measure(
            "peak_mib_exact", "peak MiB (peer)", False, (0.0, 1e9), "whole", deterministic=False, digits=1
        ),
        Measure("rel_error", "rel. error", False, (0.0, 1e6), "whole", tolerances=KERNEL_ERROR_TOLERANCES),
        Measure(
            "rel_error_random",
            "rel. error (random)",
            False,
            (0.0, 1e6),
            "whole",
            tolerances=KERNEL_ERROR_TOLERANCES,
        ),
        Measure("mse", "MSE", False, (0.0, 1e6), "whole", tolerances=KERNEL_ERROR_TOLERANCES, digits=5),
        Measure("cost", "quality cost", False, SIGNED, "whole"),
    )
}
"""The measures without a cut-off; ``measure`` builds the ranking ones (``ndcg@10``) on demand."""

_NAME = re.compile(r"(?P<measure>[a-z][a-z0-9_]*)(?:@(?P<k>[1-9][0-9]*))?")


def parse_metric_name(name: str) -> tuple[str, int | None]:
    """Split ``<measure>[@<k>]`` into the measure and its cut-off (``None`` when there is none).

    Raises:
        ValueError: ``name`` does not follow the grammar (upper case, ``@0``, ``@k`` not an integer).
    """
    match = _NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"metric name {name!r} does not follow <measure>[@<k>] in lower case")
    k = match.group("k")
    return match.group("measure"), None if k is None else int(k)


def measure(name: str) -> Measure:
    """The ``Measure`` called ``name``: one of ``MEASURES`` or any ``<ranking measure>@<k>``.

    Raises:
        ValueError: the name is not a known measure.
    """
    if name in MEASURES:
        return MEASURES[name]
    base, k = parse_metric_name(name)
    if base in RANKING_LABELS and k is not None:
        return Measure(name, f"{RANKING_LABELS[base]}@{k}")
    raise ValueError(f"unknown metric {name!r}")


def known_measure(name: str) -> Measure | None:
    """``measure(name)``, or None for a name that is not a measure (a stored name from elsewhere)."""
    try:
        return measure(name)
    except ValueError:
        return None
