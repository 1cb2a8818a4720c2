"""BEIR retrieval: index the corpus, search the judged queries, score with trec_eval semantics.

Settings follow Pyserini's BEIR reproductions (castorini/pyserini, pyserini/2cr/beir.yaml): 1000
hits per query; with ``--remove-query`` a hit whose doc id equals the query id is dropped (ArguAna and
Quora hold their queries in the corpus; BEIR's evaluator does the same with ignore_identical_ids),
so k + 1 hits are fetched and the run is cut back to k after the drop. Missing queries score 0
(``trec_eval -c``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.data.beir import BeirDataset, load_beir
from harness.data.cards import DatasetCard
from harness.metrics.retrieval import drop_self_hits, retrieval_scores, truncate
from harness.models.dense import DenseRetriever
from harness.models.protocols import Encoder, IndexSize, Retriever
from harness.tasks.base import Scores
from harness.timing import Timer
from harness.types import JSONValue

BEIR_METRICS = ("ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10")


@dataclass(frozen=True)
class RetrievalTask:
    """One BEIR dataset split as a task; ``version`` changes whenever scoring or data handling does."""

    card: DatasetCard
    data_root: Path
    split: str = "test"
    k: int = 1000
    remove_self_hits: bool = True
    metrics: tuple[str, ...] = BEIR_METRICS
    main_metric: str = "ndcg@10"
    version: int = 1
    model_type: tuple[type, ...] = (Retriever, Encoder)

    @property
    def name(self) -> str:
        return self.card.id

    def settings(self) -> dict[str, JSONValue]:
        return {
            "k": self.k,
            "remove_self_hits": self.remove_self_hits,
            "trec_eval": "-c",
            "ties": "doc id desc",
        }

    def load(self) -> BeirDataset:
        return load_beir(self.card, self.data_root, self.split)

    def evaluate(self, model: Retriever | Encoder, data: BeirDataset, timer: Timer) -> Scores:
        retriever = model if isinstance(model, Retriever) else DenseRetriever(model)
        with timer("index"):
            retriever.index(data.corpus)
        with timer("search"):
            run = retriever.search(data.queries, k=self.k + 1 if self.remove_self_hits else self.k)
        with timer("evaluate"):
            if self.remove_self_hits:
                run = drop_self_hits(run)
            metrics, per_item = retrieval_scores(data.qrels, truncate(run, self.k), self.metrics)
        size = retriever.index_bytes() if isinstance(retriever, IndexSize) else None
        return Scores(metrics=metrics, per_item=per_item, index_bytes=size)
