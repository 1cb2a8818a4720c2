"""BEIR retrieval: index the corpus, search the judged queries, score with trec_eval semantics.

Settings follow Pyserini's BEIR reproductions (castorini/pyserini, pyserini/2cr/beir.yaml): 1000
hits per query; with ``--remove-query`` a hit whose doc id equals the query id is dropped (ArguAna and
Quora hold their queries in the corpus; BEIR's evaluator does the same with ignore_identical_ids),
so k + 1 hits are fetched and the run is cut back to k after the drop. Missing queries score 0
(``trec_eval -c``). Every measure is a mean over queries, so a file's aggregates are checked against
its per-query values, and those against the queries of the local qrels when the data is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TypeVar

from harness.data.cards import DatasetCard
from harness.errors import FieldError
from harness.metrics.measures import Measure, measure
from harness.metrics.retrieval import drop_self_hits, retrieval_scores, truncate
from harness.models.dense import DenseRetriever
from harness.models.protocols import Encoder, IndexSize, Retriever
from harness.results import Inputs, ItemValues, TaskResult
from harness.results.runs import RankedRun
from harness.suites.base import Scores
from harness.suites.beir.data import BeirDataset, load_beir
from harness.suites.checks import AGGREGATE_TOLERANCE, check_item_means, check_recomputed
from harness.timing import Timer
from harness.types import JSONValue, Run

BEIR_METRICS = ("ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10")


class _Loaded(Protocol):
    @property
    def inputs(self) -> Inputs: ...


LoadedT = TypeVar("LoadedT", bound=_Loaded)


def rescore_run(
    result: TaskResult, data: LoadedT | None, k: int, task: str, score: Callable[[LoadedT], Scores]
) -> bool:
    """The part of ``check_run`` every retrieval task shares, after its own ``check`` held the file.

    Returns:
        True when the local data is here, is the file's and is the card's, and ``score(data)`` (the
        run scored by the task) gives every metric and per-query value of ``result``; False when the
        data is not, so nothing could be recomputed.

    Raises:
        FieldError: the file names no run, or one cut at another ``k``, or values the run does not give.
    """
    ref = result.predictions.run if result.predictions is not None else None
    if ref is None:
        raise FieldError("predictions", "names no run to rescore")
    if ref.k != k:
        raise FieldError("predictions.run.k", f"{ref.k}: {task} cuts runs at k = {k}")
    if data is None or data.inputs.fingerprint != result.inputs.fingerprint or not data.inputs.verified:
        return False
    check_run_scores(result, score(data))
    return True


def check_run_scores(result: TaskResult, scores: Scores) -> None:
    """Every metric and per-query value of ``result`` equals what its run scores (``scores``).

    Raises:
        FieldError: a metric or a per-query value differs by more than float summation noise
            (``AGGREGATE_TOLERANCE``): a tampered run, or tampered scores.
    """
    for name, value in scores.metrics.items():
        check_recomputed(result, name, value, "what the run scores")
    if scores.per_item is None or result.per_item is None:  # the task's check has held the file's
        raise FieldError("per_item", "holds no per-query values to compare with the run's")
    for name, values in scores.per_item.values.items():
        claimed = result.per_item.values.get(name, {})
        for qid, value in values.items():
            if qid not in claimed or not abs(claimed[qid] - value) <= AGGREGATE_TOLERANCE:
                raise FieldError(
                    f"per_item.values.{name}.{qid[:60]}",
                    f"{claimed.get(qid)!r} is not what the run scores ({value!r})",
                )


@dataclass(frozen=True)
class RetrievalTask:
    """One BEIR dataset split as a task; ``version`` changes whenever scoring or data handling does."""

    card: DatasetCard
    split: str = "test"
    k: int = 1000
    remove_self_hits: bool = True
    metrics: tuple[str, ...] = BEIR_METRICS
    main_metric: str = "ndcg@10"
    version: int = 1

    @property
    def name(self) -> str:
        return self.card.id

    @property
    def measures(self) -> tuple[Measure, ...]:
        return tuple(measure(name) for name in self.metrics)

    def settings(self) -> dict[str, JSONValue]:
        return {
            "k": self.k,
            "remove_self_hits": self.remove_self_hits,
            "trec_eval": "-c",
            "ties": "doc id desc",
        }

    def load(self, data_root: Path) -> BeirDataset:
        return load_beir(self.card, data_root, self.split)

    def evaluate(self, model: Retriever | Encoder, data: BeirDataset, timer: Timer) -> Scores:
        retriever = model if isinstance(model, Retriever) else DenseRetriever(model)
        with timer("index"):
            retriever.index(data.corpus)
        with timer("search"):
            run = retriever.search(data.queries, k=self.k + 1 if self.remove_self_hits else self.k)
        with timer("evaluate"):
            scores = self.score_run(data, run)
        sizes = {"index": retriever.index_bytes()} if isinstance(retriever, IndexSize) else {}
        return replace(scores, sizes_bytes=sizes)

    def score_run(self, data: BeirDataset, run: Run) -> Scores:
        """Score a run as this task scores its own search: self-hits dropped, cut at ``k``, ``trec_eval -c``.

        The run kept in the ``Scores`` is exactly what was scored, so a saved run rescored gives the
        same values (``harness score``, ``check_run``). Queries of the run that the qrels lack are
        ignored, judged queries it lacks score 0 (``trec_eval -c``, ``metrics.retrieval``).
        """
        if self.remove_self_hits:
            run = drop_self_hits(run)
        run = truncate(run, self.k)
        metrics, per_query = retrieval_scores(data.qrels, run, self.metrics)
        return Scores(
            metrics=metrics, per_item=ItemValues(kind="query", values=per_query), run=RankedRun(run, self.k)
        )

    def check_run(self, result: TaskResult, data: BeirDataset | None, run: Run) -> bool:
        """``check``, then every metric and per-query value recomputed from ``run`` and the local qrels.

        The run is the one ``predictions.run`` names by sha256 (the caller has held its digest to
        it). Rescored only where the local data is here, is the file's and is the card's; otherwise
        the means are checked as ``check`` does. A run that does not give the file's values to within
        float summation noise (``AGGREGATE_TOLERANCE``) is refused: a tampered run or tampered scores.
        """
        self.check(result, data)
        return rescore_run(result, data, self.k, self.name, lambda loaded: self.score_run(loaded, run))

    def check(self, result: TaskResult, data: BeirDataset | None) -> bool:
        """Aggregates are means of one value per query, and those queries are the local qrels' own.

        Not "rescored" on its own: nDCG and recall cannot be recomputed from per-query values, only
        their means checked; with the run file the result names (``check_run``) they are. Where the
        data is here, a file with made-up or missing query ids is refused, whatever its inputs claim.
        """
        items = check_item_means(result, self, "query", "queries")
        if data is None or data.inputs.fingerprint != result.inputs.fingerprint:
            return False  # other data than the local copy: its ids cannot be checked here
        judged = data.qrels.keys()
        if items != judged:
            stray = sorted(items - judged) or sorted(judged - items)
            missing = "holds a query id the qrels lack" if items - judged else "lacks a judged query"
            raise FieldError(
                "per_item.values",
                f"{missing} of the local {self.name} data (e.g. {stray[0][:40]!r})",
            )
        return False
