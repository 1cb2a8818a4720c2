"""Hybrid retrieval by reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009).

As ``pyserini.fusion.reciprocal_rank_fusion``: each run contributes ``1 / (rrf_k + rank)`` with
ranks starting at 1 in trec_eval order, rrf_k = 60, both runs taken to the same depth; documents
absent from one run get nothing from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.metrics.retrieval import ranked
from harness.models.protocols import CacheAware, IndexSize, ModelInfo, Retriever
from harness.types import Document, Run


def reciprocal_rank_fusion(runs: Sequence[Run], k: int, rrf_k: int = 60) -> Run:
    fused: Run = {}
    for run in runs:
        for qid, hits in run.items():
            scores = fused.setdefault(qid, {})
            for rank, doc in enumerate(ranked(hits), start=1):
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (rrf_k + rank)
    return {qid: {doc: hits[doc] for doc in ranked(hits)[:k]} for qid, hits in fused.items()}


class FusionRetriever:
    """``rrf:A+B``: two retrievers searched to the same depth and fused by RRF."""

    def __init__(self, first: Retriever, second: Retriever, rrf_k: int = 60, depth: int = 1000) -> None:
        self.parts = (first, second)
        self.rrf_k = rrf_k
        self.depth = depth
        self.info = ModelInfo(
            id=f"rrf:{first.info.id}+{second.info.id}",
            kind="hybrid",
            source="builtin",
            parameters={
                "fusion": "reciprocal rank fusion",
                "rrf_k": rrf_k,
                "depth": depth,
                "parts": [
                    {
                        "id": p.info.id,
                        "revision": p.info.revision,
                        "weights_sha256": p.info.weights_sha256,
                        "kind": p.info.kind,
                        "parameters": p.info.parameters,
                    }
                    for p in (first, second)
                ],
            },
        )

    def index(self, docs: Sequence[Document]) -> None:
        for part in self.parts:
            part.index(docs)

    def index_bytes(self) -> int:
        """Both parts' indexes; a part that cannot say counts as zero."""
        return sum(part.index_bytes() for part in self.parts if isinstance(part, IndexSize))

    def reused_items(self) -> int:
        """Both parts' cache reuse; a part without a cache counts as zero."""
        return sum(part.reused_items() for part in self.parts if isinstance(part, CacheAware))

    def search(self, queries: Mapping[str, str], k: int) -> Run:
        depth = max(k, self.depth)
        return reciprocal_rank_fusion([part.search(queries, depth) for part in self.parts], k, self.rrf_k)
