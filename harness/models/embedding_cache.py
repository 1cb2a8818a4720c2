"""Corpus embeddings on disk, so a rerun does not re-encode (MTEB's CachedEmbeddingWrapper, mteb#946).

The key covers everything that changes the vectors: the weights (sha256, or id@revision), the exact
texts and their ids after text preparation, the prompt, max sequence length, pooling, normalisation
and dtype. Hashing the prepared texts rather than only the dataset fingerprint also covers subsets
and a changed title/text join.

Rows are written in chunks, each atomically (temporary file + ``os.replace``) and followed by a
sidecar holding the sha256 of the chunk's bytes. An interrupted run keeps its finished chunks and
resumes; a chunk whose bytes, shape or sidecar disagree (torn, truncated, edited) is recomputed,
never trusted. The folder may also hold Parquet shards of whole chunks (``embedding_shards``,
written by the Ray engine); a chunk with no valid ``.npy`` file is read from a valid shard.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.atomic import atomic_write_bytes
from harness.models import embedding_shards
from harness.types import FloatArray, JSONValue

EncodeChunk = Callable[[Sequence[str]], FloatArray]
EncodeChunks = Callable[[Sequence[str]], Mapping[int, FloatArray]]
Progress = Callable[[int], None]


def cache_key(components: dict[str, JSONValue], ids: Sequence[str], texts: Sequence[str]) -> str:
    """sha256 over the settings (canonical JSON) and every (id, text) pair in order.

    Each id and text enters with its byte length in front, so no two different lists give the same
    bytes (plain separators would let a text that contains them shift a record boundary).
    """
    digest = hashlib.sha256(json.dumps(components, sort_keys=True).encode())
    for doc_id, text in zip(ids, texts, strict=True):
        for part in (doc_id.encode(), text.encode()):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
    return digest.hexdigest()


def chunk_order(texts: Sequence[str]) -> np.ndarray:
    """Longest text first (stable), as sentence-transformers sorts them: the order chunks are cut in."""
    return np.argsort([-len(text) for text in texts], kind="stable")


def _positive_int(value: object) -> int | None:
    return value if type(value) is int and value > 0 else None


def _read_manifest(path: Path) -> dict[str, JSONValue] | None:
    try:
        body = json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _manifest_bytes(body: dict[str, JSONValue]) -> bytes:
    return json.dumps(body, indent=1, sort_keys=True).encode()


def _fits(own: FloatArray | None, shard: FloatArray | None, dim: int | None) -> FloatArray | None:
    """The chunk's own ``.npy`` when valid, else its rows from a shard if of the folder's dimension."""
    if own is not None:
        return own
    return shard if shard is not None and (dim is None or shard.shape[1] == dim) else None


@dataclass(frozen=True)
class ChunkStats:
    reused: int
    computed: int


class EmbeddingCache:
    """A folder of cached embedding matrices, one subfolder per key."""

    def __init__(self, root: Path, chunk_rows: int = 256) -> None:
        self.root = root
        self.chunk_rows = chunk_rows

    def _chunk_paths(self, folder: Path, index: int) -> tuple[Path, Path]:
        return folder / f"chunk-{index:06d}.npy", folder / f"chunk-{index:06d}.sha256"

    def _load_chunk(self, folder: Path, index: int, rows: int, dim: int | None) -> FloatArray | None:
        data_path, sum_path = self._chunk_paths(folder, index)
        try:
            data = data_path.read_bytes()
            expected = sum_path.read_text().strip()
        except FileNotFoundError:
            return None
        if hashlib.sha256(data).hexdigest() != expected:
            return None
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError:
            return None
        if array.dtype != np.float32 or array.ndim != 2 or array.shape[0] != rows:
            return None
        if dim is not None and array.shape[1] != dim:
            return None
        return np.asarray(array, dtype=np.float32)

    def _store_chunk(self, folder: Path, index: int, array: FloatArray) -> None:
        data_path, sum_path = self._chunk_paths(folder, index)
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
        data = buffer.getvalue()
        sum_path.unlink(missing_ok=True)  # a chunk is trusted only once its sidecar is written after it
        atomic_write_bytes(data_path, data)
        atomic_write_bytes(sum_path, (hashlib.sha256(data).hexdigest() + "\n").encode())

    def layout(self, key: str, rows: int, manifest: dict[str, JSONValue]) -> tuple[Path, int]:
        """The folder of ``key`` and the size its chunks are cut at, fixed as ``embeddings`` fixes them.

        A writer outside the cache (the Ray engine's shards) places its chunks by this; a new
        folder's manifest is written here, as ``embeddings_many`` would write it.
        """
        folder = self.root / key
        folder.mkdir(parents=True, exist_ok=True)
        recorded = _read_manifest(folder / "manifest.json")
        if recorded is None or recorded.get("rows") != rows:
            recorded = {**manifest, "rows": rows, "chunk_rows": self.chunk_rows}
            atomic_write_bytes(folder / "manifest.json", _manifest_bytes(recorded))
        return folder, _positive_int(recorded.get("chunk_rows")) or self.chunk_rows

    def embeddings(
        self,
        key: str,
        texts: Sequence[str],
        encode: EncodeChunk,
        manifest: dict[str, JSONValue],
        progress: Progress | None = None,
    ) -> tuple[FloatArray, ChunkStats]:
        """The embeddings of ``texts`` (in order), reusing every valid cached chunk (one key)."""
        vectors, stats = self.embeddings_many(
            {0: key}, texts, lambda chunk: {0: encode(chunk)}, {0: manifest}, progress
        )
        return vectors[0], stats

    def embeddings_many(
        self,
        keys: Mapping[int, str],
        texts: Sequence[str],
        encode: EncodeChunks,
        manifests: Mapping[int, dict[str, JSONValue]],
        progress: Progress | None = None,
    ) -> tuple[dict[int, FloatArray], ChunkStats]:
        """Several embeddings of the same ``texts`` (one per layer of a model), from one encode per chunk.

        ``keys`` names each output (a layer) and its cache folder. A chunk found valid in every
        folder is reused; otherwise ``encode`` computes all outputs of the chunk at once (one
        forward pass) and the missing ones are stored, so a layer sweep costs one pass per text and
        a later single-layer run reuses what the sweep wrote.

        Texts are encoded longest first, as sentence-transformers sorts them, so that batches are
        padded little; chunks follow that order and rows are put back in input order at the end.

        Each folder's manifest fixes its layout: its ``chunk_rows`` (a cache written with another
        chunk size is read with its own) and, once the first chunk exists, the embedding ``dim``,
        so that every chunk, the first included, is checked against it. Folders that disagree on
        ``chunk_rows`` are each re-chunked to the first one's size (their chunks then recompute).
        """
        layouts: dict[int, tuple[Path, dict[str, JSONValue], int | None]] = {}
        for name, key in keys.items():
            folder = self.root / key
            folder.mkdir(parents=True, exist_ok=True)
            manifest_path = folder / "manifest.json"
            recorded = _read_manifest(manifest_path)
            if recorded is None or recorded.get("rows") != len(texts):
                recorded = {**manifests[name], "rows": len(texts), "chunk_rows": self.chunk_rows}
                atomic_write_bytes(manifest_path, _manifest_bytes(recorded))
            layouts[name] = (folder, recorded, _positive_int(recorded.get("dim")))
        first = next(iter(layouts.values()), None)
        chunk_rows = (_positive_int(first[1].get("chunk_rows")) if first else None) or self.chunk_rows
        for name, (folder, recorded, _dim) in list(layouts.items()):
            if _positive_int(recorded.get("chunk_rows")) != chunk_rows:
                recorded = {**manifests[name], "rows": len(texts), "chunk_rows": chunk_rows}
                atomic_write_bytes(folder / "manifest.json", _manifest_bytes(recorded))
                layouts[name] = (folder, recorded, None)
                for stale in folder.glob("chunk-*"):
                    stale.unlink()
        order = chunk_order(texts)
        starts = range(0, len(texts), chunk_rows)
        counts = {index: min(chunk_rows, len(texts) - start) for index, start in enumerate(starts)}
        sharded = {
            name: embedding_shards.read_chunks(folder, counts, dim) if any(folder.glob("shard-*")) else {}
            for name, (folder, _, dim) in layouts.items()
        }
        parts: dict[int, list[FloatArray]] = {name: [] for name in keys}
        reused = computed = 0
        for index, start in enumerate(range(0, len(texts), chunk_rows)):
            rows = order[start : start + chunk_rows]
            found = {
                name: _fits(self._load_chunk(folder, index, len(rows), dim), sharded[name].get(index), dim)
                for name, (folder, _, dim) in layouts.items()
            }
            if all(chunk is not None for chunk in found.values()):
                reused += 1
            else:
                fresh = encode([texts[i] for i in rows])
                computed += 1
                for name, chunk in found.items():
                    if chunk is None:
                        array = np.asarray(fresh[name], dtype=np.float32)
                        self._store_chunk(layouts[name][0], index, array)
                        found[name] = array
            for name, chunk in found.items():
                assert chunk is not None
                folder, recorded, dim = layouts[name]
                if dim is None:
                    dim = int(chunk.shape[1])
                    recorded = {**recorded, "dim": dim}
                    atomic_write_bytes(folder / "manifest.json", _manifest_bytes(recorded))
                    layouts[name] = (folder, recorded, dim)
                parts[name].append(chunk)
            if progress:
                progress(len(rows))
        if not len(texts):
            return {name: np.zeros((0, 0), dtype=np.float32) for name in keys}, ChunkStats(reused, computed)
        out: dict[int, FloatArray] = {}
        for name, chunks in parts.items():
            stacked = np.concatenate(chunks)
            result = np.empty_like(stacked)
            result[order] = stacked
            out[name] = result
        return out, ChunkStats(reused, computed)
