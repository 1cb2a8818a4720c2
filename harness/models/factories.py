"""Constructors for the builtin models, imported lazily by the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.models.dense import SentenceTransformerEncoder, resolve
from harness.models.embedding_cache import EmbeddingCache
from harness.models.options import ModelOptions
from harness.models.sparse import Bm25s

if TYPE_CHECKING:
    from harness.models.lucene import LuceneBm25


def bm25_flat(options: ModelOptions) -> LuceneBm25:
    from harness.models.lucene import LuceneBm25

    return LuceneBm25("flat", options.cache_dir, threads=options.threads)


def bm25_multifield(options: ModelOptions) -> LuceneBm25:
    from harness.models.lucene import LuceneBm25

    return LuceneBm25("multifield", options.cache_dir, threads=options.threads)


def bm25s(options: ModelOptions) -> Bm25s:
    return Bm25s()  # about a second on SciFact: its many progress bars would be noise


def minilm(options: ModelOptions) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(
        resolve("all-MiniLM-L6-v2"),
        device=options.device,
        batch_size=options.batch_size,
        max_seq_length=256,
        cache=EmbeddingCache(options.cache_dir / "embeddings"),
        show_progress=options.show_progress,
    )
