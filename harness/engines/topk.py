"""Exact top-k over shards of a corpus, merged into the ranking one matrix would give.

Order is trec_eval's (``metrics.retrieval.ranked``): score descending, equal scores by doc id
descending. Each shard keeps its top ``depth`` rows in that order, ties at its cut included by id,
so the union of the shards' lists holds the corpus's top ``depth`` (any doc of the global top is in
its own shard's top), and sorting the union in the same order and cutting it gives that top. Doc
ids enter as ranks: ``id_ranks`` gives each doc's place among all the corpus's ids sorted by code
point, which is UTF-8 byte order, trec_eval's ``strcmp`` (numpy's unicode sort is by code point).

Scores are float32 inner products, ``queries @ vectors.T``, as ``models.dense.top_k`` computes them.
OpenBLAS (numpy's) gives the same bits for a column whatever the matrix it sits in only while
it takes its blocked kernel; for a small product (about M x N x K below 10^6, measured here:
M = 2 queries x 256 docs x 384 dimensions differ in the last bit) it takes another kernel. A
shard with too few rows for its query count is therefore padded with zero rows up to
``MIN_PRODUCT`` multiply-adds, and the padding dropped from the scores. Queries go in balanced
blocks of at most ``QUERY_BLOCK`` (bounding a task's memory: 6,980 MS MARCO queries x 16,384 rows
would be 457 MB of scores at once); the blocked kernel's bits do not depend on the number of rows
of the left operand (measured: blocks of 2 to 1,024 queries equal the whole product; a block of
one query goes through gemv and does not, so no block is cut that small).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.types import FloatArray

MIN_PRODUCT = 4_000_000
"""Multiply-adds a shard's score product is padded up to, four times above the small-kernel bound."""
QUERY_BLOCK = 1024


@dataclass(frozen=True)
class TopK:
    """Per query, the ``depth`` best rows of a shard (or a merge): global doc positions and scores."""

    positions: np.ndarray
    """int64, (queries, depth): the docs' positions in the corpus."""
    scores: FloatArray
    """float32, (queries, depth), best first."""


def id_ranks(ids: Sequence[str]) -> np.ndarray:
    """Each doc's place among ``ids`` sorted by code point (int64): a tie in score goes to the higher."""
    order = np.argsort(np.asarray(ids, dtype=str), kind="stable")
    ranks = np.empty(len(ids), dtype=np.int64)
    ranks[order] = np.arange(len(ids), dtype=np.int64)
    return ranks


def scores(queries: FloatArray, vectors: FloatArray) -> FloatArray:
    """``queries @ vectors.T`` in float32, padded so that BLAS takes its blocked kernel (module doc)."""
    rows, dim = vectors.shape
    wanted = math.ceil(MIN_PRODUCT / max(1, queries.shape[0] * max(dim, 1)))
    if rows >= max(wanted, 2):
        return np.asarray(queries @ vectors.T, dtype=np.float32)
    padded = np.zeros((max(wanted, 2), dim), dtype=np.float32)
    padded[:rows] = vectors
    return np.asarray((queries @ padded.T)[:, :rows], dtype=np.float32)


def _best(values: FloatArray, ranks: np.ndarray, depth: int) -> np.ndarray:
    """Column indices of each row's ``depth`` best entries, in order (score desc, rank desc)."""
    take = np.argpartition(-values, depth - 1, axis=1)[:, :depth]
    threshold = np.take_along_axis(values, take, axis=1).min(axis=1, keepdims=True)
    tied = (values >= threshold).sum(axis=1) > depth  # a tie straddles the cut: settle it by id
    for row in np.flatnonzero(tied):
        candidates = np.flatnonzero(values[row] >= threshold[row, 0])
        keep = np.lexsort((-ranks[candidates], -values[row, candidates]))[:depth]
        take[row] = candidates[keep]
    chosen = np.take_along_axis(values, take, axis=1)
    order = np.lexsort((-ranks[take], -chosen), axis=-1)
    return np.take_along_axis(take, order, axis=1)


def shard_top_k(
    queries: FloatArray, vectors: FloatArray, positions: np.ndarray, ranks: np.ndarray, depth: int
) -> TopK:
    """The ``depth`` best docs of one shard per query; ``positions``/``ranks`` are its rows' (see module)."""
    depth = min(depth, vectors.shape[0])
    if depth == 0 or queries.shape[0] == 0:
        empty = np.zeros((queries.shape[0], depth))
        return TopK(empty.astype(np.int64), empty.astype(np.float32))
    found_positions, found_scores = [], []
    for block in np.array_split(np.arange(queries.shape[0]), math.ceil(queries.shape[0] / QUERY_BLOCK)):
        values = scores(queries[block], vectors)
        take = _best(values, ranks, depth)
        found_positions.append(positions[take])
        found_scores.append(np.take_along_axis(values, take, axis=1))
    return TopK(np.concatenate(found_positions), np.concatenate(found_scores))


def merge_top_k(parts: Sequence[TopK], ranks: np.ndarray, depth: int) -> TopK:
    """The ``depth`` best of the shards' lists per query: the top ``depth`` of the whole corpus.

    ``ranks`` is indexed by global position (``id_ranks`` of the corpus's ids).
    """
    positions = np.concatenate([part.positions for part in parts], axis=1)
    values = np.concatenate([part.scores for part in parts], axis=1)
    depth = min(depth, values.shape[1])
    if depth == 0:
        return TopK(positions[:, :0], values[:, :0])
    order = np.lexsort((-ranks[positions], -values), axis=-1)[:, :depth]
    return TopK(np.take_along_axis(positions, order, axis=1), np.take_along_axis(values, order, axis=1))
