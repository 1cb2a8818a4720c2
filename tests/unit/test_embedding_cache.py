"""The on-disk corpus embedding cache: reuse, resume after an interruption, torn chunks, keys.

The encoder here is a plain deterministic function of each text (sha256 bytes scaled to floats): the
cache is the thing under test, and with a pure encoder every right answer is known exactly.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from harness.models.embedding_cache import ChunkStats, EmbeddingCache, cache_key
from harness.types import FloatArray

DIM = 8
CHUNK_ROWS = 3
SETTINGS = {"model": "fake", "pooling": "mean", "normalize": True, "max_seq_length": 256}
# 10 texts of different lengths, so the longest-first encode order differs from the input order.
TEXTS = [
    "short",
    "a considerably longer text than the first",
    "mid-sized text",
    "x",
    "another fairly long sentence about caching",
    "tiny",
    "the quick brown fox jumps over the lazy dog",
    "medium length words",
    "ab",
    "an entry of moderate size",
]
IDS = [f"doc{i}" for i in range(len(TEXTS))]
N_CHUNKS = 4  # ceil(10 / 3)


def fake_vector(text: str, dim: int = DIM) -> FloatArray:
    digest = hashlib.sha256(text.encode()).digest()
    return np.frombuffer(digest[:dim], dtype=np.uint8).astype(np.float32) / 255.0


class CountingEncoder:
    """Encodes a chunk with ``fake_vector``; records every chunk it was asked for."""

    def __init__(self, fail_after: int | None = None, dim: int = DIM) -> None:
        self.calls: list[list[str]] = []
        self.fail_after = fail_after
        self.dim = dim

    def __call__(self, texts: Sequence[str]) -> FloatArray:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt("interrupted")
        self.calls.append(list(texts))
        return np.stack([fake_vector(text, self.dim) for text in texts])


def expected(texts: Sequence[str] = TEXTS) -> FloatArray:
    return np.stack([fake_vector(text) for text in texts])


def run(
    root: Path, encoder: Callable[[Sequence[str]], FloatArray], texts: Sequence[str] = TEXTS
) -> tuple[FloatArray, ChunkStats]:
    key = cache_key(SETTINGS, IDS[: len(texts)], texts)
    return EmbeddingCache(root, chunk_rows=CHUNK_ROWS).embeddings(key, texts, encoder, dict(SETTINGS))


def chunk_files(root: Path, index: int) -> tuple[Path, Path]:
    (folder,) = [path for path in root.iterdir() if path.is_dir()]
    return folder / f"chunk-{index:06d}.npy", folder / f"chunk-{index:06d}.sha256"


def write_with_sidecar(root: Path, index: int, array: np.ndarray) -> None:
    """Replace a chunk by ``array`` with a sidecar that matches its bytes (so only the shape is wrong)."""
    data_path, sum_path = chunk_files(root, index)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data_path.write_bytes(buffer.getvalue())
    sum_path.write_text(hashlib.sha256(buffer.getvalue()).hexdigest() + "\n")


def test_first_call_computes_every_chunk_in_input_order(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    vectors, stats = run(tmp_path, encoder)
    assert stats == ChunkStats(reused=0, computed=N_CHUNKS)
    assert vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors, expected())
    # longest first, as sentence-transformers sorts: the first chunk holds the three longest texts
    assert encoder.calls[0] == sorted(TEXTS, key=len, reverse=True)[:CHUNK_ROWS]
    assert sorted(text for call in encoder.calls for text in call) == sorted(TEXTS)


def test_second_call_computes_nothing_and_returns_identical_arrays(tmp_path: Path) -> None:
    first, _ = run(tmp_path, CountingEncoder())
    encoder = CountingEncoder()
    second, stats = run(tmp_path, encoder)
    assert stats == ChunkStats(reused=N_CHUNKS, computed=0)
    assert encoder.calls == []
    np.testing.assert_array_equal(second, first)
    np.testing.assert_array_equal(second, expected())


def test_interrupted_run_resumes_with_only_the_missing_chunks(tmp_path: Path) -> None:
    interrupted = CountingEncoder(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, interrupted)
    assert len(interrupted.calls) == 2
    resumed = CountingEncoder()
    vectors, stats = run(tmp_path, resumed)
    assert stats == ChunkStats(reused=2, computed=N_CHUNKS - 2)
    done_before = {text for call in interrupted.calls for text in call}
    done_now = {text for call in resumed.calls for text in call}
    assert done_before.isdisjoint(done_now)
    assert done_before | done_now == set(TEXTS)
    np.testing.assert_array_equal(vectors, expected())


def _truncate(root: Path, index: int) -> None:
    data_path, _ = chunk_files(root, index)
    data_path.write_bytes(data_path.read_bytes()[:-7])


def _flip_byte(root: Path, index: int) -> None:
    data_path, _ = chunk_files(root, index)
    data = bytearray(data_path.read_bytes())
    data[-1] ^= 0xFF  # the last float of the chunk: the array still loads, with a wrong value
    data_path.write_bytes(bytes(data))


def _delete_sidecar(root: Path, index: int) -> None:
    chunk_files(root, index)[1].unlink()


def _wrong_rows(root: Path, index: int) -> None:
    write_with_sidecar(root, index, np.zeros((CHUNK_ROWS - 1, DIM), dtype=np.float32))


def _wrong_dim(root: Path, index: int) -> None:
    write_with_sidecar(root, index, np.zeros((CHUNK_ROWS, DIM - 1), dtype=np.float32))


def _wrong_dtype(root: Path, index: int) -> None:
    write_with_sidecar(root, index, np.zeros((CHUNK_ROWS, DIM), dtype=np.float64))


def _not_npy(root: Path, index: int) -> None:
    data_path, sum_path = chunk_files(root, index)
    data_path.write_bytes(b"not an npy file")
    sum_path.write_text(hashlib.sha256(b"not an npy file").hexdigest())


@pytest.mark.parametrize(
    "damage",
    [_truncate, _flip_byte, _delete_sidecar, _wrong_rows, _wrong_dim, _wrong_dtype, _not_npy],
    ids=lambda f: f.__name__.strip("_"),
)
@pytest.mark.parametrize("index", [0, 1])
def test_damaged_chunk_is_recomputed_never_trusted(
    tmp_path: Path, damage: Callable[[Path, int], None], index: int
) -> None:
    run(tmp_path, CountingEncoder())
    damage(tmp_path, index)
    encoder = CountingEncoder()
    vectors, stats = run(tmp_path, encoder)
    assert stats == ChunkStats(reused=N_CHUNKS - 1, computed=1)
    assert len(encoder.calls) == 1
    np.testing.assert_array_equal(vectors, expected())
    # the repaired chunk is now trusted again
    _, stats = run(tmp_path, CountingEncoder())
    assert stats == ChunkStats(reused=N_CHUNKS, computed=0)


def test_a_changed_text_id_or_setting_misses(tmp_path: Path) -> None:
    base = cache_key(SETTINGS, IDS, TEXTS)
    cache = EmbeddingCache(tmp_path, chunk_rows=CHUNK_ROWS)
    cache.embeddings(base, TEXTS, CountingEncoder(), dict(SETTINGS))
    texts = [*TEXTS[:-1], TEXTS[-1] + "!"]
    for key, these in [
        (cache_key(SETTINGS, IDS, texts), texts),
        (cache_key(SETTINGS, [*IDS[:-1], "other"], TEXTS), TEXTS),
        (cache_key({**SETTINGS, "max_seq_length": 128}, IDS, TEXTS), TEXTS),
    ]:
        assert key != base
        vectors, stats = cache.embeddings(key, these, CountingEncoder(), dict(SETTINGS))
        assert stats == ChunkStats(reused=0, computed=N_CHUNKS)
        np.testing.assert_array_equal(vectors, expected(these))


def test_cache_key_is_sensitive_to_ids_texts_and_settings() -> None:
    base = cache_key(SETTINGS, ["a", "b"], ["x", "y"])
    assert base == cache_key(dict(reversed(SETTINGS.items())), ["a", "b"], ["x", "y"])  # canonical JSON
    variants = {
        cache_key(SETTINGS, ["a", "c"], ["x", "y"]),
        cache_key(SETTINGS, ["b", "a"], ["x", "y"]),
        cache_key(SETTINGS, ["a", "b"], ["x", "z"]),
        cache_key(SETTINGS, ["a", "b"], ["y", "x"]),
        cache_key(SETTINGS, ["a"], ["x"]),
        cache_key({**SETTINGS, "normalize": False}, ["a", "b"], ["x", "y"]),
        cache_key({**SETTINGS, "prompt": "query: "}, ["a", "b"], ["x", "y"]),
    }
    assert len(variants | {base}) == 8
    # record boundaries cannot shift: not between an id and its text, nor between records, even
    # when a text holds the bytes a separator would use
    assert cache_key({}, ["ab"], ["c"]) != cache_key({}, ["a"], ["bc"])
    assert cache_key({}, ["a", "b"], ["", "c"]) != cache_key({}, ["a"], ["\x01b\x00c"])
    assert cache_key({}, ["a", "b"], ["x", ""]) != cache_key({}, ["a"], ["x\x01b\x00"])
    with pytest.raises(ValueError):
        cache_key(SETTINGS, ["a", "b"], ["x"])


def test_manifest_records_settings_and_size(tmp_path: Path) -> None:
    run(tmp_path, CountingEncoder())
    (folder,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    manifest = (folder / "manifest.json").read_text()
    assert '"rows": 10' in manifest
    assert '"chunk_rows": 3' in manifest
    assert '"pooling": "mean"' in manifest
    assert f'"dim": {DIM}' in manifest
    assert not [path.name for path in folder.iterdir() if path.suffix == ".tmp"]


def test_empty_input_gives_an_empty_matrix(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    vectors, stats = EmbeddingCache(tmp_path).embeddings(cache_key({}, [], []), [], encoder, {})
    assert vectors.shape == (0, 0)
    assert stats == ChunkStats(reused=0, computed=0)
    assert encoder.calls == []


def test_a_cache_written_with_another_chunk_size_is_read_with_its_own_layout(tmp_path: Path) -> None:
    # chunk 3 holds 1 row both with 3 rows per chunk (the 10th text) and with 1 (the 4th text):
    # reading it under the wrong layout would put one text's vector on another
    key = cache_key(SETTINGS, IDS, TEXTS)
    EmbeddingCache(tmp_path, chunk_rows=3).embeddings(key, TEXTS, CountingEncoder(), dict(SETTINGS))
    encoder = CountingEncoder()
    vectors, stats = EmbeddingCache(tmp_path, chunk_rows=1).embeddings(key, TEXTS, encoder, dict(SETTINGS))
    np.testing.assert_array_equal(vectors, expected())
    assert stats == ChunkStats(reused=N_CHUNKS, computed=0)


def test_cache_files_are_private_to_the_user(tmp_path: Path) -> None:
    """Caches are written atomically with mkstemp's 0600 (unlike results files, which are 0644)."""
    old_umask = os.umask(0o022)
    try:
        run(tmp_path, CountingEncoder())
    finally:
        os.umask(old_umask)
    (folder,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    files = sorted(folder.iterdir())
    assert len(files) == 2 * N_CHUNKS + 1  # chunks, their sidecars and the manifest
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o600}
