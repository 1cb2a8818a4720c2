"""The Ray engine's exact search: per-shard top-k lists merged into the whole corpus's top-k.

Scores are integer-valued float32 dot products (exact whatever the summation order), so ties are
many and certain; the brute force is one score matrix ranked in trec_eval order with Python's own
sort (``metrics.retrieval.ranked``: score descending, then doc id descending).
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.engines.ray_data import _groups
from harness.engines.topk import QUERY_BLOCK, id_ranks, merge_top_k, scores, shard_top_k
from harness.metrics.retrieval import ranked


def _corpus(seed: int, docs: int, queries: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    vectors = rng.integers(-2, 3, size=(docs, 8)).astype(np.float32)  # few distinct scores: ties
    query_vectors = rng.integers(-2, 3, size=(queries, 8)).astype(np.float32)
    ids = [f"d{rng.integers(0, 10**6)}-{i}" for i in range(docs)]  # unique, in no sorted order
    return query_vectors, vectors, ids


def _brute_force(queries: np.ndarray, vectors: np.ndarray, ids: list[str], depth: int) -> list[list[str]]:
    full = queries @ vectors.T
    return [ranked({ids[i]: float(full[q, i]) for i in range(len(ids))})[:depth] for q in range(len(queries))]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("depth", [1, 7, 40, 500])
def test_merged_top_k_equals_the_brute_force_ranking_with_ties_across_shards(seed: int, depth: int) -> None:
    queries, vectors, ids = _corpus(seed, docs=300, queries=9)
    ranks = id_ranks(ids)
    cuts = sorted(np.random.default_rng(seed).choice(np.arange(1, 300), size=4, replace=False))
    shards = np.split(np.random.default_rng(seed + 100).permutation(300), cuts)  # uneven, shuffled rows
    parts = [shard_top_k(queries, vectors[rows], rows, ranks[rows], depth) for rows in shards]
    merged = merge_top_k(parts, ranks, depth)

    expected = _brute_force(queries, vectors, ids, depth)
    full = queries @ vectors.T
    assert merged.positions.shape == (9, min(depth, 300))
    for q in range(9):
        assert [ids[i] for i in merged.positions[q]] == expected[q]
        assert merged.scores[q].tolist() == [float(full[q, i]) for i in merged.positions[q]]
    tie_at_cut = any(
        depth < 300
        and np.sum(full[q] == merged.scores[q, -1]) > np.sum(merged.scores[q] == merged.scores[q, -1])
        for q in range(9)
    )
    if depth in (1, 7):  # these cuts go through a tie for some query: the id order decides it
        assert tie_at_cut


def test_queries_beyond_one_block_rank_as_in_one() -> None:
    """1,100 queries go through a shard in two blocks of 550 (``QUERY_BLOCK``): the same rankings."""
    queries, vectors, ids = _corpus(11, docs=200, queries=1100)
    assert len(queries) > QUERY_BLOCK
    ranks = id_ranks(ids)
    rows = np.arange(200)
    part = shard_top_k(queries, vectors, rows, ranks, 5)
    assert [[ids[i] for i in row] for row in part.positions] == _brute_force(queries, vectors, ids, 5)


def test_a_shard_smaller_than_its_depth_gives_all_its_rows_and_an_empty_shard_nothing() -> None:
    queries, vectors, ids = _corpus(7, docs=12, queries=3)
    ranks = id_ranks(ids)
    rows = np.arange(5)
    part = shard_top_k(queries, vectors[rows], rows, ranks[rows], 100)
    assert part.positions.shape == (3, 5)
    empty = shard_top_k(queries, vectors[:0], rows[:0], ranks[:0], 100)
    merged = merge_top_k([empty, part], ranks, 100)
    assert [[ids[i] for i in row] for row in merged.positions] == _brute_force(
        queries, vectors[:5], ids[:5], 100
    )


def test_id_ranks_follow_code_point_order() -> None:
    ids = ["b", "a", "ä", "B", "a1", "€"]
    ranks = id_ranks(ids)
    assert [ids[i] for i in np.argsort(ranks)] == sorted(ids)


def _unit_rows(rng: np.random.Generator, rows: int) -> np.ndarray:
    """SciFact's shape: float32 rows of 384 dimensions, L2-normalised as MiniLM's embeddings are."""
    vectors = rng.standard_normal((rows, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("queries", [1, 2, 3, 30, 300])
@pytest.mark.parametrize("rows", [1, 4, 7, 64, 256])
def test_shard_scores_are_the_bits_of_the_whole_matrix_product(queries: int, rows: int) -> None:
    """What ``models.dense.top_k`` computes over the whole corpus, whatever slice a shard holds.

    Unpadded, OpenBLAS's small-matrix kernel gives other last bits for some of these shapes
    (measured: 2 queries x 256 rows); ``topk.scores`` pads the product into the blocked kernel.
    """
    rng = np.random.default_rng(queries * 1000 + rows)
    corpus = _unit_rows(np.random.default_rng(0), 5183)
    query_vectors = _unit_rows(rng, queries)
    picked = rng.permutation(5183)[:rows]
    assert np.array_equal(scores(query_vectors, corpus[picked]), (query_vectors @ corpus.T)[:, picked])


def test_missing_chunks_group_into_consecutive_shards_of_bounded_size() -> None:
    assert _groups([0, 1, 2, 3, 4], 2) == [(0, 1), (2, 3), (4, 4)]
    assert _groups([1, 2, 5, 6, 7, 9], 64) == [(1, 2), (5, 7), (9, 9)]
    assert _groups([], 3) == []
