"""BM25 without Java: the ``bm25s`` library (eager sparse scoring, Lu 2024).

Settings follow the Lucene reference as closely as bm25s allows: k1=0.9, b=0.4, the "lucene" BM25
variant (Kamphuis et al. 2020), English stopwords and the Snowball English stemmer. Documents are
``title + " " + text`` as in Anserini's "flat" BEIR condition. Tokenisation differs from Lucene's
analyzer, so scores differ slightly (SciFact nDCG@10 0.676 vs 0.679).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import version

import bm25s
import numpy as np
import Stemmer

from harness.models.protocols import ModelInfo
from harness.types import Document, Run


def document_text(doc: Document) -> str:
    """Title and text joined by one space, as Anserini's BeirFlatCollection and MTEB do."""
    return f"{doc.title} {doc.text}".strip() if doc.title else doc.text


class Bm25s:
    """BM25 over an in-memory sparse matrix with bm25s; a ``Retriever``."""

    def __init__(self, k1: float = 0.9, b: float = 0.4, method: str = "lucene", show_progress: bool = False):
        self.k1, self.b, self.method = k1, b, method
        self.show_progress = show_progress
        self._stemmer = Stemmer.Stemmer("english")
        self._retriever: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self.info = ModelInfo(
            id="bm25s",
            kind="sparse",
            source="builtin",
            parameters={
                "k1": k1,
                "b": b,
                "method": method,
                "fields": "title + ' ' + text",
                "stopwords": "en (bm25s)",
                "stemmer": "snowball english (PyStemmer)",
                "bm25s": version("bm25s"),
            },
        )

    def _tokens(self, texts: Sequence[str]) -> list[list[str]]:
        tokens = bm25s.tokenize(
            list(texts),
            stopwords="en",
            stemmer=self._stemmer,
            return_ids=False,
            show_progress=self.show_progress,
        )
        return [list(t) for t in tokens]

    def index(self, docs: Sequence[Document]) -> None:
        self._ids = [doc.id for doc in docs]
        retriever = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        retriever.index(self._tokens([document_text(doc) for doc in docs]), show_progress=self.show_progress)
        self._retriever = retriever

    def index_bytes(self) -> int:
        """Bytes of the eager score matrix (CSC data, indices, indptr) bm25s searches."""
        if self._retriever is None:
            return 0
        return sum(
            int(array.nbytes) for array in self._retriever.scores.values() if isinstance(array, np.ndarray)
        )

    def search(self, queries: Mapping[str, str], k: int) -> Run:
        if self._retriever is None:
            raise RuntimeError("index() must be called before search()")
        qids = list(queries)
        depth = min(k, len(self._ids))
        indices, scores = self._retriever.retrieve(
            self._tokens([queries[q] for q in qids]), k=depth, show_progress=self.show_progress
        )
        ids = np.asarray(self._ids, dtype=object)
        run: Run = {}
        for row, qid in enumerate(qids):
            hits = ids[indices[row]]
            run[qid] = {
                str(doc): float(score) for doc, score in zip(hits, scores[row], strict=True) if score > 0
            }
        return run
