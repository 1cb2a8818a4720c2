"""The ``beir`` suite: BEIR retrieval datasets, scored as Pyserini's BEIR reproductions score them."""

from __future__ import annotations

from harness.data import user
from harness.data.cards import DatasetCard
from harness.models.protocols import Encoder, Retriever
from harness.suites.base import BoardSpec, CardSuite, Rate, Size
from harness.suites.beir.cards import CARDS, CQADUPSTACK
from harness.suites.beir.cqadupstack import CqaDupStackTask
from harness.suites.beir.task import RetrievalTask


def _task(card: DatasetCard, split: str) -> RetrievalTask | CqaDupStackTask:
    if card.id == CQADUPSTACK.id:  # 12 forums scored apart, the mean of the forums (BEIR, Pyserini 2CR)
        return CqaDupStackTask(card, split)
    return RetrievalTask(card, split)


SUITE = CardSuite(
    name="beir",
    description="retrieval: nDCG@10, R@100, R@1000, MAP@100, MRR@10 (trec_eval -c, Pyserini's settings)",
    model_types=(Retriever, Encoder),
    cards=CARDS,
    make_task=_task,
    user_card=user.beir_card,
    board=BoardSpec(
        rates=(
            Rate(
                "queries/s",
                "queries",
                "search",
                "queries searched per second: counts.queries / timings_s.search",
            ),
            Rate(
                "docs/s",
                "corpus",
                "index",
                "documents indexed per second, counts.corpus / timings_s.index (encoding speed for dense "
                "models; an index or embedding cache hit makes this look fast)",
            ),
        ),
        sizes=(
            Size("index MiB", "index", "size of the index searched (Lucene files, bm25s matrix, embeddings)"),
        ),
    ),
)
