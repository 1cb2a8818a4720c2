"""Two-stage retrieval: ``pipe:A>B@K`` re-scores the top K of retriever A with encoder B.

The first stage is any ``Retriever`` (BM25 through Lucene or bm25s, a learned sparse model, a
fusion); its top K hits per query, in trec_eval order (``metrics.retrieval.ranked``), are re-scored
by the second stage as ``DenseRetriever`` scores: the inner product of B's query and document vectors,
the cosine for a model whose similarity is cosine (B normalises them). The run holds those K
re-scored hits only, as BEIR's ``Rerank`` returns its ``top_k`` (beir.reranking.rerank): recall at
any depth beyond K is the first stage's recall at K. K defaults to 100, BEIR's re-ranking depth
(Thakur et al., NeurIPS 2021 datasets track, section 5) and is part of the model id, so runs at
other depths are other rows.

Only documents in some query's top K are encoded, all of them once, in corpus order, through B's
embedding cache: a second run of the same pipeline on the same data encodes nothing. Each stage is
timed as a sub-phase of the task's ``search`` (``search/first_stage``, ``search/rerank_encode_docs``,
``search/rerank_encode_queries``, ``search/rerank_score``) through ``StageTimed``, so the results file
says what each stage cost; a stage served from a cache is recorded as such (``_cached``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import SettingError
from harness.metrics.retrieval import ranked
from harness.models.protocols import CacheAware, Encoder, IndexSize, ModelInfo, Retriever
from harness.types import Document, JSONValue, Run

if TYPE_CHECKING:
    from harness.timing import Timer

DEFAULT_DEPTH = 100
"""BEIR's re-ranking depth: the top 100 of BM25 re-scored (beir.reranking, the paper's section 5)."""
MAX_DEPTH = 100_000

SPEC = re.compile(r"pipe:(?P<first>[^>@]+)>(?P<second>[^>@]+)(@(?P<depth>[0-9]+))?")


def parse(spec: str) -> tuple[str, str, int]:
    """``pipe:A>B`` or ``pipe:A>B@K`` -> (A, B, K); K defaults to ``DEFAULT_DEPTH``.

    Raises:
        SettingError: ``model``: the spec is malformed or K is out of range.
    """
    found = SPEC.fullmatch(spec.strip())
    if found is None or not found["first"].strip() or not found["second"].strip():
        raise SettingError(
            "model", f"{spec!r}: a pipeline is written pipe:RETRIEVER>ENCODER or pipe:A>B@DEPTH"
        )
    depth = int(found["depth"]) if found["depth"] is not None else DEFAULT_DEPTH
    if not 1 <= depth <= MAX_DEPTH:
        raise SettingError("model", f"{spec!r}: the re-ranking depth must lie in 1..{MAX_DEPTH:,}")
    return found["first"].strip(), found["second"].strip(), depth


def _stage_record(info: ModelInfo) -> dict[str, JSONValue]:
    return {
        "id": info.id,
        "kind": info.kind,
        "source": info.source,
        "revision": info.revision,
        "weights_sha256": info.weights_sha256,
        "parameters": info.parameters,
    }


class PipelineRetriever:
    """``pipe:A>B@K``: retriever A's top K per query, re-scored by encoder B; a ``Retriever``."""

    def __init__(self, first: Retriever, second: Encoder, depth: int = DEFAULT_DEPTH) -> None:
        self.first = first
        self.second = second
        self.depth = depth
        self._docs: dict[str, Document] = {}
        self._order: dict[str, int] = {}
        self._timer: Timer | None = None
        self.encoded_docs = 0
        """Distinct documents the last search handed to B (the union of the queries' top K)."""
        self.info = ModelInfo(
            id=f"pipe:{first.info.id}>{second.info.id}@{depth}",
            kind="hybrid",
            source="builtin",
            parameters={
                "pipeline": "re-score the first stage's top depth hits with the second stage",
                "depth": depth,
                "rerank_score": "inner product of the second stage's vectors, as DenseRetriever",
                "hits": "the depth re-scored hits only (BEIR Rerank)",
                "stages": [_stage_record(first.info), _stage_record(second.info)],
            },
        )

    def time_stages(self, timer: Timer) -> None:
        """The timer of the task about to run (``StageTimed``); stages are timed as its sub-phases."""
        self._timer = timer

    def _stage(self, name: str) -> AbstractContextManager[None]:
        return self._timer(f"search/{name}") if self._timer is not None else _untimed()

    def index(self, docs: Sequence[Document]) -> None:
        self.first.index(docs)
        self._docs = {doc.id: doc for doc in docs}
        self._order = {doc.id: position for position, doc in enumerate(docs)}

    def index_bytes(self) -> int:
        """The first stage's index; the second stage keeps no index (its vectors are per search)."""
        return self.first.index_bytes() if isinstance(self.first, IndexSize) else 0

    def reused_items(self) -> int:
        """Both stages' cache reuse; a stage without a cache counts as zero."""
        return sum(part.reused_items() for part in (self.first, self.second) if isinstance(part, CacheAware))

    def search(self, queries: Mapping[str, str], k: int) -> Run:
        qids = list(queries)
        with self._stage("first_stage"):
            first = self.first.search(queries, self.depth)
        candidates = {qid: ranked(first.get(qid, {}))[: self.depth] for qid in qids}
        pool = sorted({doc for hits in candidates.values() for doc in hits}, key=self._order.__getitem__)
        self.encoded_docs = len(pool)
        with self._stage("rerank_encode_docs"):
            doc_vectors = self.second.encode_corpus([self._docs[doc] for doc in pool])
        with self._stage("rerank_encode_queries"):
            query_vectors = self.second.encode_queries([queries[q] for q in qids])
        with self._stage("rerank_score"):
            row_of = {doc: row for row, doc in enumerate(pool)}
            run: Run = {}
            for position, qid in enumerate(qids):
                hits = candidates[qid]
                rows = np.asarray([row_of[doc] for doc in hits], dtype=np.int64)
                scores = doc_vectors[rows] @ query_vectors[position] if hits else np.zeros(0)
                rescored = {doc: float(s) for doc, s in zip(hits, scores.tolist(), strict=True)}
                run[qid] = {doc: rescored[doc] for doc in ranked(rescored)[:k]}
        return run


@contextmanager
def _untimed() -> Iterator[None]:
    yield
