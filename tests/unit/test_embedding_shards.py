"""Parquet shards in an embedding cache folder (the Ray engine's output) are read as cache chunks.

No Ray here: shards are written with ``embedding_shards`` as an actor writes them, from a
deterministic encode, and the cache must serve every chunk from them, recompute a torn one, and
ignore a stale shard that overlaps another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.models import embedding_shards
from harness.models.embedding_cache import EmbeddingCache, cache_key, chunk_order
from harness.types import FloatArray

SETTINGS = {"model": "test", "role": "document"}


def _encode(texts: Sequence[str]) -> FloatArray:
    """A stated rule, not a model: a text's sha256 bytes as 8 float32 values."""
    rows = [np.frombuffer(hashlib.sha256(text.encode()).digest(), dtype=np.uint8)[:8] for text in texts]
    return np.asarray(rows, dtype=np.float32) / 255.0


def _refuse(texts: Sequence[str]) -> FloatArray:
    raise AssertionError(f"the cache encoded {len(texts)} texts it should have read from the shards")


def _write_shards(
    cache: EmbeddingCache, ids: list[str], texts: list[str], groups: list[tuple[int, int]]
) -> Path:
    key = cache_key(SETTINGS, ids, texts)
    folder, chunk_rows = cache.layout(key, len(texts), dict(SETTINGS))
    order = chunk_order(texts)
    chunks = [order[start : start + chunk_rows] for start in range(0, len(texts), chunk_rows)]
    for first, last in groups:
        numbers = range(first, last + 1)
        data = embedding_shards.encode_shard(
            numbers,
            [[ids[i] for i in chunks[c]] for c in numbers],
            [_encode([texts[i] for i in chunks[c]]) for c in numbers],
        )
        embedding_shards.write_shard(folder, first, last, data)
    return folder


def _corpus() -> tuple[list[str], list[str]]:
    texts = [f"document {i} " + "word " * (i % 13) for i in range(50)]
    return [f"doc-{i}" for i in range(50)], texts


def test_a_folder_of_shards_only_is_a_cache_hit_in_input_order(tmp_path: Path) -> None:
    ids, texts = _corpus()
    cache = EmbeddingCache(tmp_path, chunk_rows=8)  # 7 chunks, the last of 2 rows
    _write_shards(cache, ids, texts, [(0, 2), (3, 5), (6, 6)])

    vectors, stats = cache.embeddings(cache_key(SETTINGS, ids, texts), texts, _refuse, dict(SETTINGS))
    assert np.array_equal(vectors, _encode(texts))
    assert (stats.reused, stats.computed) == (7, 0)


def test_a_torn_shard_is_recomputed_and_a_stale_overlapping_one_ignored(tmp_path: Path) -> None:
    ids, texts = _corpus()
    cache = EmbeddingCache(tmp_path, chunk_rows=8)
    folder = _write_shards(cache, ids, texts, [(0, 2), (3, 6)])
    torn = folder / embedding_shards.shard_name(3, 6)
    torn.write_bytes(torn.read_bytes()[:-10])  # truncated after its sidecar was written
    stale = folder / embedding_shards.shard_name(2, 3)  # overlaps (0, 2): read after it, left out
    stale.write_bytes(b"not parquet")
    stale.with_suffix(".sha256").write_text(hashlib.sha256(b"not parquet").hexdigest() + "\n")
    assert [(s.first, s.last) for s in embedding_shards.scan(folder)] == [(0, 2)]

    calls: list[int] = []

    def encode(chunk: Sequence[str]) -> FloatArray:
        calls.append(len(chunk))
        return _encode(chunk)

    vectors, stats = cache.embeddings(cache_key(SETTINGS, ids, texts), texts, encode, dict(SETTINGS))
    assert np.array_equal(vectors, _encode(texts))
    assert (stats.reused, stats.computed) == (3, 4)
    assert calls == [8, 8, 8, 2]


def test_shard_rows_keep_their_ids_and_exact_float32_bits(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).standard_normal((5, 384)).astype(np.float32)
    data = embedding_shards.encode_shard([4, 5], [["a", "b", "c"], ["d", "é"]], [vectors[:3], vectors[3:]])
    shard = embedding_shards.write_shard(tmp_path, 4, 5, data)
    read = embedding_shards.read_shard(shard.path, shard.sha256)
    assert read is not None
    assert read.ids == ["a", "b", "c", "d", "é"]
    assert read.chunks.tolist() == [4, 4, 4, 5, 5]
    assert read.vectors.dtype == np.float32 and np.array_equal(read.vectors, vectors)
