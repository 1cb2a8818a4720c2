"""BEIR retrieval: index the corpus, search the judged queries, score with trec_eval semantics.

Settings follow Pyserini's BEIR reproductions (castorini/pyserini, pyserini/2cr/beir.yaml): 1000
hits per query; with ``--remove-query`` a hit whose doc id equals the query id is dropped (ArguAna and
Quora hold their queries in the corpus; BEIR's evaluator does the same with ignore_identical_ids),
so k + 1 hits are fetched and the run is cut back to k after the drop. Missing queries score 0
(``trec_eval -c``). Every measure is a mean over queries, so a file's aggregates are checked against
its per-query values, and those against the queries of the local qrels when the data is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.data.cards import DatasetCard
from harness.errors import FieldError
from harness.metrics.measures import Measure, measure
from harness.metrics.retrieval import drop_self_hits, retrieval_scores, truncate
from harness.models.dense import DenseRetriever
from harness.models.protocols import Encoder, IndexSize, Retriever
from harness.results import ItemValues, TaskResult
from harness.suites.base import Scores
from harness.suites.beir.data import BeirDataset, load_beir
from harness.suites.checks import check_item_means
from harness.timing import Timer
from harness.types import JSONValue

BEIR_METRICS = ("ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10")


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
            if self.remove_self_hits:
                run = drop_self_hits(run)
            metrics, per_query = retrieval_scores(data.qrels, truncate(run, self.k), self.metrics)
        sizes = {"index": retriever.index_bytes()} if isinstance(retriever, IndexSize) else {}
        return Scores(metrics=metrics, per_item=ItemValues(kind="query", values=per_query), sizes_bytes=sizes)

    def check(self, result: TaskResult, data: BeirDataset | None) -> bool:
        """Aggregates are means of one value per query, and those queries are the local qrels' own.

        Never "rescored": nDCG and recall cannot be recomputed from per-query values, only their
        means checked (a run file would let them be; see the interop issue). Where the data is here,
        a file with made-up or missing query ids is refused, whatever its inputs claim.
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
