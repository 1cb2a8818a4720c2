"""Learned sparse retrieval: SPLADE and any sentence-transformers ``SparseEncoder``, searched exactly.

Queries and documents become weights over the model's vocabulary (SPLADE: ``log(1 + relu(MLM
logits))`` max-pooled over tokens; Formal et al., SIGIR 2021 and 2022). The corpus is held as an
inverted index in impact form: a scipy CSR matrix, one row per document, one column per vocabulary
term, so ``queries @ docs.T`` touches only the postings of each query's terms. Scores are the exact
dot products, accumulated in float64, as sentence-transformers' ``SparseEncoder.similarity`` defines
them ("dot"); Pyserini's SPLADE indexes quantise the weights to integers (x100) first, so its
scores differ in the last digits. A document that shares no term with a query is no hit (an inverted
index never reaches it). Top-k is exact and ties at the cut are broken by doc id descending, the
order trec_eval sorts in (``harness.metrics.retrieval.ranked``), so the run does not depend on the
order of the corpus.

Text preparation is the dense models' (``title + " " + text``, stripped; queries as given), through
the model's own ``encode_query`` / ``encode_document`` (its query and document prompts, if any).
The corpus matrix is not cached on disk: it is rebuilt by each run (SciFact: 5,183 documents).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import SettingError
from harness.models.dense import ResolvedModel, resolve, weights_sha256
from harness.models.protocols import ModelInfo
from harness.models.sparse import document_text
from harness.types import Document, JSONValue, Run

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

SPLADE_PP_ED_ID = "naver/splade-cocondenser-ensembledistil"
"""SPLADE++ ED (Formal et al., SIGIR 2022), one of the reference models of "Resources for Brewing BEIR"."""

SPLADE_PP_ED_HINT = (
    f"splade-pp-ed needs the weights of {SPLADE_PP_ED_ID} in the Hugging Face cache, and they are not "
    f"here: with internet, run `hf download {SPLADE_PP_ED_ID}` (or unset HF_HUB_OFFLINE once), then rerun"
)

MAX_BATCH = 32
"""SPLADE pools MLM logits: a batch holds batch x tokens x 30,522 floats (64 x 512 would be 4 GB)."""

QUERY_CHUNK = 256
"""Queries scored at a time: the product's rows stay bounded by ``QUERY_CHUNK x corpus`` postings."""


def sparse_batch_size(requested: int) -> int:
    """The batch size a learned sparse model encodes with: the requested one, at most ``MAX_BATCH``."""
    return max(1, min(requested, MAX_BATCH))


def vocabulary_size(model: Any) -> int:
    """Columns of the model's sparse vectors: the MLM head's vocabulary where there is one.

    ``get_embedding_dimension`` reads SpladePooling's ``embedding_dimension``, which a freshly loaded
    folder leaves unset until the first encode (it then falls back to the hidden size).
    """
    config = getattr(getattr(model, "transformers_model", None), "config", None)
    size = getattr(config, "vocab_size", None)
    return size if isinstance(size, int) and size > 0 else int(model.get_embedding_dimension() or 0)


def is_sparse_encoder(folder: Path) -> bool:
    """Whether ``folder`` holds a sentence-transformers ``SparseEncoder`` (its own config says so)."""
    try:
        config = json.loads((folder / "config_sentence_transformers.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "SparseEncoder"


def to_csr(embeddings: Any, vocabulary: int) -> csr_matrix:
    """A torch sparse (COO) batch of embeddings -> a float32 CSR matrix with the same rows."""
    from scipy.sparse import csr_matrix

    coo = embeddings.coalesce().cpu()
    rows, cols = coo.indices().numpy()
    values = coo.values().float().numpy()
    matrix = csr_matrix((values, (rows, cols)), shape=(coo.shape[0], vocabulary), dtype=np.float32)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def top_k_row(ids: Sequence[str], columns: Any, scores: Any, k: int) -> dict[str, float]:
    """The ``k`` best (column, score) pairs of one query: score descending, then doc id descending.

    Only hits with a positive score are kept. Among equal scores at the cut, the documents that
    trec_eval ranks first (larger doc id) are the ones kept, so the run is the trec_eval-ordered
    prefix of the full ranking, whatever order the corpus came in.
    """
    keep = scores > 0
    columns, scores = columns[keep], scores[keep]
    if len(scores) > k:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        above = scores > threshold
        tied = np.flatnonzero(scores == threshold)
        room = k - int(above.sum())
        kept = sorted(tied.tolist(), key=lambda i: ids[columns[i]], reverse=True)[:room]
        chosen = np.concatenate([np.flatnonzero(above), np.asarray(kept, dtype=np.int64)])
        columns, scores = columns[chosen], scores[chosen]
    return {ids[c]: float(s) for c, s in zip(columns.tolist(), scores.tolist(), strict=True)}


class SparseEncoderRetriever:
    """A ``Retriever`` over a ``SparseEncoder``: exact search of an inverted (CSR impact) index."""

    def __init__(
        self,
        resolved: ResolvedModel,
        device: str = "cpu",
        batch_size: int = 32,
        max_seq_length: int | None = None,
        show_progress: bool = False,
    ) -> None:
        from sentence_transformers import SparseEncoder

        self.model = SparseEncoder(str(resolved.path), device=device, local_files_only=True)
        if max_seq_length is not None:
            self.model.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.vocabulary = vocabulary_size(self.model)
        self._ids: list[str] = []
        self._docs: csr_matrix | None = None
        pooling = [m for m in self.model if type(m).__name__ == "SpladePooling"]
        pooling_config: dict[str, JSONValue] = (
            {
                "pooling_strategy": str(pooling[0].pooling_strategy),
                "activation_function": str(pooling[0].activation_function),
            }
            if pooling
            else {}
        )
        prompts = getattr(self.model, "prompts", {}) or {}
        combined, _ = weights_sha256(resolved.path)
        parameters: dict[str, JSONValue] = {
            "modules": [type(module).__name__ for module in self.model],
            **pooling_config,
            "similarity": str(self.model.similarity_fn_name),
            "max_seq_length": self.model.max_seq_length,
            "dimension": self.vocabulary,
            "query_prompt": str(prompts.get("query", "")),
            "document_prompt": str(prompts.get("document", "")),
            "max_active_dims": None,
            "text_preparation": "title + ' ' + text, stripped",
            "search": "exact: CSR impact index, queries x docs^T, float64 sums, positive scores only",
            "ties": "doc id desc",
            "batch_size": batch_size,
            "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
            "device": device,
            "sentence_transformers": version("sentence-transformers"),
        }
        self.info = ModelInfo(
            id=resolved.id,
            kind="sparse",
            source=resolved.source,
            revision=resolved.revision,
            weights_sha256=combined,
            n_parameters=sum(p.numel() for p in self.model.parameters()),
            parameters=parameters,
        )

    def _encode(self, texts: Sequence[str], role: str) -> csr_matrix:
        encode = self.model.encode_query if role == "query" else self.model.encode_document
        embeddings = encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_sparse_tensor=True,
            show_progress_bar=self.show_progress,
        )
        return to_csr(embeddings, self.vocabulary)

    def encode_queries(self, queries: Sequence[str]) -> csr_matrix:
        """Query impacts, one CSR row per query (the model's query prompt, if any)."""
        return self._encode(queries, "query")

    def encode_corpus(self, docs: Sequence[Document]) -> csr_matrix:
        """Document impacts, one CSR row per document (title + text, the document prompt)."""
        return self._encode([document_text(doc) for doc in docs], "document")

    def index(self, docs: Sequence[Document]) -> None:
        self._ids = [doc.id for doc in docs]
        self._docs = self.encode_corpus(docs)

    def index_bytes(self) -> int:
        """Bytes of the CSR arrays (impacts, term ids, row pointers): the inverted index as held."""
        if self._docs is None:
            return 0
        return int(self._docs.data.nbytes + self._docs.indices.nbytes + self._docs.indptr.nbytes)

    def search(self, queries: Mapping[str, str], k: int) -> Run:
        if self._docs is None:
            raise SettingError("model", f"{self.info.id}: search before index")
        qids = list(queries)
        vectors = self.encode_queries([queries[q] for q in qids])
        return search_csr(qids, vectors, self._ids, self._docs, k)


def search_csr(qids: Sequence[str], vectors: csr_matrix, ids: Sequence[str], docs: csr_matrix, k: int) -> Run:
    """Exact top-k of ``vectors @ docs.T`` per query, in chunks of ``QUERY_CHUNK`` queries."""
    postings = docs.T.tocsr().astype(np.float64)  # term -> (doc, impact): the inverted index
    run: Run = {}
    for start in range(0, len(qids), QUERY_CHUNK):
        chunk = vectors[start : start + QUERY_CHUNK].astype(np.float64)
        scores = (chunk @ postings).tocsr()
        for row in range(scores.shape[0]):
            begin, end = scores.indptr[row], scores.indptr[row + 1]
            run[qids[start + row]] = top_k_row(ids, scores.indices[begin:end], scores.data[begin:end], k)
    return run


def splade_pp_ed(
    device: str = "cpu", batch_size: int = MAX_BATCH, show_progress: bool = False
) -> SparseEncoderRetriever:
    """SPLADE++ ED from the local hub cache; never downloaded by a run.

    Raises:
        SettingError: ``model``: the weights are not in the cache (one line saying how to get them).
    """
    try:
        resolved = resolve(SPLADE_PP_ED_ID)
    except SettingError:
        raise SettingError("model", SPLADE_PP_ED_HINT) from None
    return SparseEncoderRetriever(
        resolved, device=device, batch_size=sparse_batch_size(batch_size), show_progress=show_progress
    )
