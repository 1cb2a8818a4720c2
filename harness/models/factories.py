"""Constructors for the builtin models, imported lazily by the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.errors import SettingError
from harness.models.dense import SentenceTransformerEncoder, resolve
from harness.models.embedding_cache import EmbeddingCache
from harness.models.options import ModelOptions
from harness.models.sparse import Bm25s

if TYPE_CHECKING:
    from harness.models.lucene import LuceneBm25
    from harness.models.static import StaticEncoder


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


def mpnet(options: ModelOptions) -> SentenceTransformerEncoder:
    """all-mpnet-base-v2 at its own max_seq_length (384), as MTEB evaluated it."""
    return SentenceTransformerEncoder(
        resolve("all-mpnet-base-v2", cache_root=options.cache_dir),
        device=options.device,
        batch_size=options.batch_size,
        cache=EmbeddingCache(options.cache_dir / "embeddings"),
        show_progress=options.show_progress,
    )


def m2v_minilm(options: ModelOptions) -> StaticEncoder:
    """model2vec distilled from all-MiniLM-L6-v2 by ``harness distill m2v-minilm``; never built here.

    Raises:
        HarnessError: model2vec (the [distill] extra) is not installed.
        SettingError: ``model``: not built under the cache folder yet.
    """
    from harness.models import distill
    from harness.models.static import StaticEncoder

    folder = distill.find(options.cache_dir)  # the [distill] extra is checked first, in one line
    if folder is None:
        raise SettingError(
            "model", "m2v-minilm is not built here: run `harness distill m2v-minilm` (about 2 minutes)"
        )
    return StaticEncoder(
        folder, distill.M2V_MINILM, distill.read_manifest(folder), show_progress=options.show_progress
    )
