"""Parquet shards of corpus embeddings, in an embedding cache folder beside its ``.npy`` chunks.

The Ray engine (``harness.engines.ray_data``) writes them; ``EmbeddingCache`` reads them as it reads
its own chunks, so a local run after a Ray run is a cache hit. A shard holds whole cache chunks,
consecutive ones (``shard-<first>-<last>.parquet``, chunk numbers of the cache's longest-first
order, ``embedding_cache.chunk_order``), one row per text: ``chunk`` (int64), ``id`` (the doc id)
and ``vector`` (``fixed_size_list<float32>[dim]``, plain Parquet that any Arrow reader opens).

Integrity is the cache's: each shard is written atomically and followed by a ``.sha256`` sidecar
of its bytes; a shard whose sidecar is missing or disagrees is not trusted (it is recomputed), and
one whose chunks disagree with the cache's layout (row counts, dimension) is ignored. pyarrow is
imported lazily: without it (the ``[ray]`` extra brings it) shards are simply not read.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.atomic import atomic_write_bytes
from harness.types import FloatArray

SHARD_PATTERN = re.compile(r"shard-(\d{6})-(\d{6})\.parquet")


@dataclass(frozen=True)
class ShardFile:
    """A shard whose bytes hash to its sidecar: chunks ``first`` to ``last`` (inclusive)."""

    path: Path
    first: int
    last: int
    sha256: str

    @property
    def chunks(self) -> range:
        return range(self.first, self.last + 1)


@dataclass(frozen=True)
class ShardData:
    """A shard's contents: each row's chunk and doc id, and the float32 vectors (rows x dim)."""

    chunks: np.ndarray
    ids: list[str]
    vectors: FloatArray


def shard_name(first: int, last: int) -> str:
    return f"shard-{first:06d}-{last:06d}.parquet"


def readable() -> bool:
    """Whether shards can be read here (pyarrow is installed)."""
    return importlib.util.find_spec("pyarrow") is not None


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".sha256")


def encode_shard(chunks: Sequence[int], ids: Sequence[Sequence[str]], vectors: Sequence[FloatArray]) -> bytes:
    """The Parquet bytes of consecutive chunks (their doc ids and float32 vectors, rows in chunk order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    matrix = np.ascontiguousarray(np.concatenate(list(vectors)), dtype=np.float32)
    dim = int(matrix.shape[1])
    column = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1), type=pa.float32()), dim)
    sizes = [len(part) for part in ids]
    numbers = np.repeat(np.asarray(chunks, dtype=np.int64), sizes)
    table = pa.table(
        {
            "chunk": pa.array(numbers, type=pa.int64()),
            "id": pa.array([doc for part in ids for doc in part], type=pa.string()),
            "vector": column,
        }
    )
    sink = io.BytesIO()
    # floats: no dictionary (it made a shard 1.45x the raw float32), bytes split by position before
    # zstd (0.86x the raw float32 on MiniLM's SciFact vectors, measured here)
    pq.write_table(
        table,
        sink,
        compression="zstd",
        use_dictionary=["chunk"],
        use_byte_stream_split=["vector.list.element"],
    )
    return sink.getvalue()


def write_shard(folder: Path, first: int, last: int, data: bytes) -> ShardFile:
    """Write a shard atomically, then its sidecar: until the sidecar lands, the shard is not trusted."""
    path = folder / shard_name(first, last)
    sidecar = _sidecar(path)
    sidecar.unlink(missing_ok=True)
    atomic_write_bytes(path, data)
    digest = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(sidecar, (digest + "\n").encode())
    return ShardFile(path, first, last, digest)


def scan(folder: Path) -> list[ShardFile]:
    """The trusted shards of a folder (bytes equal to their sidecar), without overlaps.

    In name order, a shard reaching into chunks an earlier one holds is left out (a stale shard of
    an interrupted run): each chunk is read from one shard only.
    """
    shards: list[ShardFile] = []
    taken: set[int] = set()
    for path in sorted(folder.glob("shard-*.parquet")):
        match = SHARD_PATTERN.fullmatch(path.name)
        if match is None:
            continue
        first, last = int(match[1]), int(match[2])
        try:
            expected = _sidecar(path).read_text().strip()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except FileNotFoundError:
            continue
        if digest != expected or last < first or taken & set(range(first, last + 1)):
            continue
        taken.update(range(first, last + 1))
        shards.append(ShardFile(path, first, last, digest))
    return shards


def read_shard(path: Path, sha256: str) -> ShardData | None:
    """A shard's rows, or None when its bytes are no longer those ``sha256`` names, or it is malformed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        return None
    try:
        table = pq.read_table(io.BytesIO(data))
        vector = table.column("vector").combine_chunks()
        chunks = table.column("chunk").to_numpy()
        ids = [str(doc) for doc in table.column("id").to_pylist()]
    except (pa.ArrowException, KeyError, ValueError):
        return None
    if not pa.types.is_fixed_size_list(vector.type) or not pa.types.is_float32(vector.type.value_type):
        return None
    dim = vector.type.list_size
    values = vector.flatten().to_numpy(zero_copy_only=False)
    if values.size != len(table) * dim:
        return None
    return ShardData(
        np.asarray(chunks, dtype=np.int64), ids, values.reshape(len(table), dim).astype(np.float32)
    )


def read_chunks(folder: Path, rows_of: Mapping[int, int], dim: int | None) -> dict[int, FloatArray]:
    """Every chunk the folder's trusted shards hold whose row count (``rows_of``) and ``dim`` agree."""
    if not readable():
        return {}
    out: dict[int, FloatArray] = {}
    for shard in scan(folder):
        data = read_shard(shard.path, shard.sha256)
        if data is None or (dim is not None and data.vectors.shape[1] != dim):
            continue
        dim = int(data.vectors.shape[1])  # every shard of a folder has the first one's dimension
        for chunk in shard.chunks:
            rows = data.vectors[data.chunks == chunk]
            if chunk in rows_of and rows.shape[0] == rows_of[chunk]:
                out[chunk] = np.ascontiguousarray(rows)
    return out
