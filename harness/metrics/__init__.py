"""Metric names and what they mean: one table, read by reports and the leaderboard.

A metric name follows one grammar, ``<measure>[@<k>]`` in lower case (``ndcg@10``, ``spearman``).
``METRICS`` lists the names the suites report, each with a display label, its direction and its
range, as lm-eval's ``higher_is_better`` table does. ``metric_info`` also knows every cut-off of the
rank-based measures (``ndcg@20``, ``precision@5`` ...). The metric functions themselves live in the
submodules (``harness.metrics.retrieval`` ...) and are pure functions over dicts and arrays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """How to show and sort one metric; ``bounds`` is the closed range of its values, if it has one."""

    label: str
    higher_is_better: bool
    bounds: tuple[float, float] | None


_UNIT = (0.0, 1.0)
_SIGNED = (-1.0, 1.0)

RANKING_MEASURES: dict[str, str] = {
    "ndcg": "nDCG",
    "recall": "R",
    "map": "MAP",
    "mrr": "MRR",
    "precision": "P",
}
"""Rank-based measures that take a cut-off ``@k``, with their display label (ir_measures spelling)."""

METRICS: dict[str, MetricInfo] = {
    "ndcg@10": MetricInfo("nDCG@10", True, _UNIT),
    "recall@100": MetricInfo("R@100", True, _UNIT),
    "recall@1000": MetricInfo("R@1000", True, _UNIT),
    "map@100": MetricInfo("MAP@100", True, _UNIT),
    "mrr@10": MetricInfo("MRR@10", True, _UNIT),
    "spearman": MetricInfo("Spearman", True, _SIGNED),
    "pearson": MetricInfo("Pearson", True, _SIGNED),
    "accuracy": MetricInfo("Accuracy", True, _UNIT),
    "f1": MetricInfo("F1", True, _UNIT),
    "mcc": MetricInfo("MCC", True, _SIGNED),
    "auc": MetricInfo("AUC", True, _UNIT),
}

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


def metric_info(name: str) -> MetricInfo:
    """The ``MetricInfo`` of a name in ``METRICS`` or of any ``<measure>@<k>`` of a ranking measure.

    Raises:
        ValueError: the name is not a known metric.
    """
    if name in METRICS:
        return METRICS[name]
    measure, k = parse_metric_name(name)
    if measure in RANKING_MEASURES and k is not None:
        return MetricInfo(f"{RANKING_MEASURES[measure]}@{k}", True, _UNIT)
    raise ValueError(f"unknown metric {name!r}")
