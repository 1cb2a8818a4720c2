"""From a method's head scores to the circuit suite's metrics, and back from a results file.

Per replicate (seed): ``auc`` (node ROC AUC), ``precision``, ``recall``, ``f1`` at k = |ground truth|
(``metrics/circuit.py``), ``seconds`` (the method's wall time), and ``auc_edge`` for a method that
scores edges (``sae-codes``: the paper's edge variant, a node AUC). ``metrics`` are their means.
The head scores are the file's ``predictions`` (kind ``score``), so ``check`` recomputes every quality
metric from them and the committed ground truth; ``seconds`` is a timing, bounded like ``timings_s``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import FieldError
from harness.metrics.circuit import precision_recall_f1, roc_auc
from harness.results import Predictions, Replicate, TaskResult
from harness.suites.base import Scores
from harness.suites.checks import check_recomputed
from harness.timing import Timer

if TYPE_CHECKING:
    from harness.circuits.methods import Method
    from harness.circuits.problems import PromptSet
    from harness.circuits.subject import Metric, Subject

QUALITY = ("auc", "precision", "recall", "f1")
METRICS = (*QUALITY, "seconds")


def replicate_metrics(
    node: Sequence[float], members: Sequence[bool], edge: Sequence[float] | None, seconds: float
) -> dict[str, float]:
    precision, recall, f1 = precision_recall_f1(node, members)
    metrics = {"auc": roc_auc(node, members), "precision": precision, "recall": recall, "f1": f1}
    if edge is not None:
        metrics["auc_edge"] = roc_auc(edge, members)
    return metrics | {"seconds": seconds}


@dataclass(frozen=True)
class Replication:
    """What one seed of a circuit task runs the method on, and the circuit it is scored against."""

    seed: int
    subject: Subject
    metric: Metric
    prompts: PromptSet
    members: Sequence[bool]


def score_replicates(method: Method, replications: Iterable[Replication], timer: Timer) -> Scores:
    """Run ``method`` once per seed (timed as the ``method`` phase and as each replicate's ``seconds``)."""
    nodes, edges, replicates = [], [], []
    for run in replications:
        with timer("method"):
            start = time.perf_counter()
            scores = method.score(run.subject, run.metric, run.prompts, run.seed)
            seconds = time.perf_counter() - start
        node = scores.node.tolist()
        edge = None if scores.edge is None else scores.edge.tolist()
        nodes.append(node)
        if edge is not None:
            edges.append(edge)
        metrics = replicate_metrics(node, run.members, edge, seconds)
        replicates.append(Replicate(seed=run.seed, metrics=metrics))
    return Scores(
        metrics=means(replicates), predictions=pack(nodes, edges or None), replicates=tuple(replicates)
    )


def means(replicates: Sequence[Replicate]) -> dict[str, float]:
    names = replicates[0].metrics
    return {name: math.fsum(r.metrics[name] for r in replicates) / len(replicates) for name in names}


def pack(nodes: Sequence[Sequence[float]], edges: Sequence[Sequence[float]] | None) -> Predictions:
    values = [float(v) for node in nodes for v in node]
    if edges is not None:
        values += [float(v) for edge in edges for v in edge]
    return Predictions(kind="score", item_kind="head", values=values)


def check_scores(
    result: TaskResult, seeds: Sequence[int], members: Sequence[Sequence[bool]], task: str
) -> None:
    """Every replicate's quality metrics recomputed from the head scores and ``members`` (one per seed).

    Raises:
        FieldError: a field of ``result`` does not hold.
    """
    found = [r.seed for r in result.replicates]
    if found != list(seeds):
        raise FieldError("replicates", f"holds seeds {found}; {task} runs seeds {list(seeds)}")
    predictions = result.predictions
    if predictions is None or predictions.kind != "score" or predictions.item_kind != "head":
        raise FieldError("predictions", f"{task} keeps every head's score (kind 'score', items 'head')")
    if result.per_item is not None:
        raise FieldError("per_item", f"{task} keeps head scores as predictions, not per-item values")
    heads = len(members[0])
    block = heads * len(seeds)
    has_edges = "auc_edge" in result.metrics
    if len(predictions.values) != block * (2 if has_edges else 1):
        expected = f"{block} (or {2 * block} with edge scores)"
        raise FieldError("predictions.values", f"holds {len(predictions.values)} scores, not {expected}")
    for index, (replicate, truth) in enumerate(zip(result.replicates, members, strict=True)):
        node = predictions.values[index * heads : (index + 1) * heads]
        edge = predictions.values[block + index * heads : block + (index + 1) * heads] if has_edges else None
        recomputed = replicate_metrics(node, truth, edge, replicate.metrics.get("seconds", 0.0))
        if set(replicate.metrics) != set(recomputed):
            raise FieldError(
                f"replicates[{index}].metrics", f"names {sorted(replicate.metrics)}, not {sorted(recomputed)}"
            )
        for name in (*QUALITY, *(("auc_edge",) if has_edges else ())):
            if not abs(replicate.metrics[name] - recomputed[name]) <= 1e-9:
                raise FieldError(
                    f"replicates[{index}].metrics.{name}",
                    f"{replicate.metrics[name]!r} is not what the head scores give ({recomputed[name]!r})",
                )
    for name in result.metrics:
        values = [r.metrics[name] for r in result.replicates]
        check_recomputed(result, name, math.fsum(values) / len(values), "the mean of the replicates")
    total = sum(result.timings_s.values())
    for index, replicate in enumerate(result.replicates):
        if replicate.metrics["seconds"] > total:
            raise FieldError(
                f"replicates[{index}].metrics.seconds", f"exceeds the run's recorded time ({total:.3f} s)"
            )
