"""Vector-quantisation kernels: k-means, product quantisation, low-rank PQ, and the faiss IndexPQ peer.

Synthetic data with the structure of sentence embeddings (unit norm, 384 dimensions, a decaying
spectrum, clusters), so the whole file runs in seconds; the peer comparisons hold ours to faiss's
quality at equal bytes, not to absolute numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from vectors import structured_vectors

from harness.kernels.faiss_pq import FaissPQ, FaissPQTrainer
from harness.kernels.lowrank_pq import LowRankPQ, LowRankPQTrainer, rank_grid
from harness.kernels.pq import (
    KSUB,
    PQTrainer,
    ProductQuantizer,
    Quantizer,
    Trainer,
    kmeans,
    reconstruction_mse,
    top_k,
    train_pq,
)

DIM = 384
BASE = 5_000
QUERIES = 500
SEED = 1234  # faiss's default ClusteringParameters.seed
RecordProperty = Callable[[str, object], None]


@pytest.fixture(scope="module")
def data() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    vectors = structured_vectors(BASE + QUERIES)
    return vectors[:BASE], vectors[BASE:]


@pytest.fixture(scope="module")
def true_top(data: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]) -> npt.NDArray[np.int64]:
    base, queries = data
    return np.argsort(-(queries @ base.T), axis=1, kind="stable")[:, :100]


_TRAINED: dict[tuple[str, int], Quantizer] = {}


def trained(kind: str, code_bytes: int, base: npt.NDArray[np.float32]) -> Quantizer:
    """One quantiser per (kind, bytes) for the whole module: training is most of the file's time."""
    key = (kind, code_bytes)
    if key not in _TRAINED:
        trainers: dict[str, Trainer] = {
            "ours": PQTrainer(),
            "faiss": FaissPQTrainer(),
            "lowrank": LowRankPQTrainer(),
        }
        trainer = trainers[kind]
        _TRAINED[key] = trainer.train(base, code_bytes, SEED)
    return _TRAINED[key]


def recall(ids: npt.NDArray[np.int64], truth: npt.NDArray[np.int64], k: int) -> float:
    """Mean over queries of |returned top-k ∩ true top-k| / k."""
    return float(
        np.mean([len(set(got[:k]) & set(want[:k])) / k for got, want in zip(ids, truth, strict=True)])
    )


def brute_force(
    scores: npt.NDArray[np.float32], k: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Top-k by full stable sort: best first, ties to the lower id."""
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, ids, axis=1), ids


def assert_same_top_k(
    got: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]], scores: npt.NDArray[np.float32], k: int
) -> None:
    """``got`` is the top-k of ``scores`` up to float rounding: same values, and ids that carry them."""
    want_scores, want_ids = brute_force(scores, k)
    np.testing.assert_allclose(got[0], want_scores, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(scores, got[1], axis=1), got[0], rtol=0, atol=1e-5)
    assert np.mean(got[1] == want_ids) > 0.99  # only near-ties may swap


# k-means


def inertia(x: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> float:
    distances = ((x[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    return float(distances.min(axis=1).sum())


def test_kmeans_lowers_inertia_with_iterations() -> None:
    x = structured_vectors(2_000, dim=16, clusters=10, seed=3)
    values = [inertia(x, kmeans(x, 32, iterations, np.random.default_rng(0))) for iterations in (1, 2, 5, 25)]
    assert values == sorted(values, reverse=True)
    assert values[-1] < values[0]


def test_kmeans_is_deterministic_per_seed() -> None:
    x = structured_vectors(1_000, dim=8, seed=4)
    first = kmeans(x, 16, 10, np.random.default_rng(7))
    assert np.array_equal(first, kmeans(x, 16, 10, np.random.default_rng(7)))
    assert not np.array_equal(first, kmeans(x, 16, 10, np.random.default_rng(8)))


def test_kmeans_with_fewer_distinct_points_than_clusters_splits_into_duplicates() -> None:
    distinct = structured_vectors(10, dim=8, seed=5)
    x = np.repeat(distinct, 50, axis=0)
    centroids = kmeans(x, 16, 25, np.random.default_rng(0))
    assert centroids.shape == (16, 8) and np.isfinite(centroids).all()
    nearest = ((distinct[:, None, :] - centroids[None]) ** 2).sum(axis=2).min(axis=1)
    assert nearest.max() < 1e-5  # every distinct point has its centroid; the rest are near-copies


def test_kmeans_rejects_more_clusters_than_points() -> None:
    with pytest.raises(ValueError, match="at least as many training points as clusters"):
        kmeans(structured_vectors(10, dim=8), 16, 5, np.random.default_rng(0))


# product quantisation


def test_pq_codes_and_reconstructions_have_the_promised_shapes(
    data: tuple[npt.NDArray[np.float32], ...],
) -> None:
    base = data[0]
    pq = trained("ours", 16, base)
    codes = pq.encode(base[:100])
    assert pq.code_bytes == 16
    assert codes.shape == (100, 16) and codes.dtype == np.uint8
    decoded = pq.decode(codes)
    assert decoded.shape == (100, DIM) and decoded.dtype == np.float32


def test_decoding_codebook_centroids_is_exact(data: tuple[npt.NDArray[np.float32], ...]) -> None:
    pq = trained("ours", 16, data[0])
    assert isinstance(pq, ProductQuantizer)
    codes = np.random.default_rng(0).integers(0, KSUB, size=(200, 16), dtype=np.uint8)
    centroids = pq.decode(codes)
    assert np.array_equal(pq.decode(pq.encode(centroids)), centroids)


def test_pq_search_equals_brute_force_over_its_own_decode(data: tuple[npt.NDArray[np.float32], ...]) -> None:
    base, queries = data
    pq = trained("ours", 16, base)
    codes = pq.encode(base)
    scores = queries @ pq.decode(codes).T
    for k in (1, 10, 100):
        got = pq.search(queries, codes, k)
        assert got[0].dtype == np.float32 and got[1].dtype == np.int64
        assert_same_top_k(got, scores, k)


def test_pq_search_merges_blocks_exactly() -> None:
    """More codes than one search block: the running top-k across blocks is the global one."""
    x = structured_vectors(20_000, dim=16, seed=6)
    pq = train_pq(x[:2_000], 4, 8, 5, 0)
    codes = pq.encode(x)
    queries = x[:20]
    assert_same_top_k(pq.search(queries, codes, 50), queries @ pq.decode(codes).T, 50)


def test_top_k_breaks_ties_by_lower_id() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(30, 200)).astype(np.float32)  # ties everywhere, at every boundary
    ids = np.broadcast_to(np.arange(200, dtype=np.int64), scores.shape)
    for k in (1, 7, 64, 200):
        got_scores, got_ids = top_k(scores, ids, k)
        want_scores, want_ids = brute_force(scores, k)
        assert np.array_equal(got_ids, want_ids) and np.array_equal(got_scores, want_scores)
    shuffled = np.stack([rng.permutation(200) for _ in range(30)]).astype(np.int64)  # ids not in column order
    got_scores, got_ids = top_k(scores, shuffled, 10)
    order = np.lexsort((shuffled, -scores), axis=1)[:, :10]
    assert np.array_equal(got_ids, np.take_along_axis(shuffled, order, axis=1))


def test_pq_recall_matches_faiss_at_16_bytes(
    data: tuple[npt.NDArray[np.float32], ...],
    true_top: npt.NDArray[np.int64],
    record_property: RecordProperty,
) -> None:
    base, queries = data
    report = {}
    for kind in ("ours", "faiss"):
        quantizer = trained(kind, 16, base)
        _, ids = quantizer.search(queries, quantizer.encode(base), 100)
        report[kind] = {k: recall(ids, true_top, k) for k in (1, 10, 100)}
    record_property("recall_at_16_bytes", report)
    assert abs(report["ours"][10] - report["faiss"][10]) <= 0.01
    assert abs(report["ours"][100] - report["faiss"][100]) <= 0.01


@pytest.mark.parametrize("code_bytes", [8, 16, 32, 48])
def test_pq_mse_matches_faiss(
    code_bytes: int, data: tuple[npt.NDArray[np.float32], ...], record_property: RecordProperty
) -> None:
    base = data[0]
    ours = reconstruction_mse(trained("ours", code_bytes, base), base)
    theirs = reconstruction_mse(trained("faiss", code_bytes, base), base)
    record_property("mse", {"ours": ours, "faiss": theirs})
    assert abs(ours - theirs) <= 0.03 * theirs


def test_faiss_trainer_sets_our_kmeans_settings(data: tuple[npt.NDArray[np.float32], ...]) -> None:
    peer = trained("faiss", 16, data[0])
    assert isinstance(peer, FaissPQ)
    cp = peer.index.pq.cp
    assert (cp.niter, cp.seed, cp.max_points_per_centroid, cp.spherical) == (25, SEED, 256, False)
    assert peer.code_bytes == 16 and peer.index.ntotal == 0  # search adds the codes it is given to a copy


def test_faiss_search_scores_its_own_decode(data: tuple[npt.NDArray[np.float32], ...]) -> None:
    base, queries = data
    peer = trained("faiss", 16, base)
    codes = peer.encode(base)
    assert codes.shape == (BASE, 16) and codes.dtype == np.uint8
    assert_same_top_k(peer.search(queries, codes, 10), queries @ peer.decode(codes).T, 10)


# low-rank PQ


def test_lowrank_search_equals_brute_force_over_its_own_decode(
    data: tuple[npt.NDArray[np.float32], ...],
) -> None:
    base, queries = data
    model = trained("lowrank", 16, base)
    codes = model.encode(base)
    assert codes.shape == (BASE, 16) and codes.dtype == np.uint8
    decoded = model.decode(codes)
    assert decoded.shape == (BASE, DIM) and decoded.dtype == np.float32
    assert_same_top_k(model.search(queries, codes, 10), queries @ decoded.T, 10)


def test_lowrank_chooses_a_rank_from_the_grid_and_reports_it(
    data: tuple[npt.NDArray[np.float32], ...],
    true_top: npt.NDArray[np.int64],
    record_property: RecordProperty,
) -> None:
    base, queries = data
    model = trained("lowrank", 16, base)
    assert isinstance(model, LowRankPQ)
    assert model.rank in rank_grid(DIM, 16) and model.rank % 16 == 0
    assert [rank for rank, _ in model.rank_errors] == list(rank_grid(DIM, 16))
    assert min(model.rank_errors, key=lambda pair: pair[1])[0] == model.rank
    report = model.parameters()
    assert report["rank"] == model.rank and str(report["rank_chosen_by"]).startswith("held-out")
    basis = model.basis
    np.testing.assert_allclose(basis.T @ basis, np.eye(model.rank), atol=1e-5)
    pq = trained("ours", 16, base)
    comparison = {}
    for name, quantizer in (("lowrank", model), ("pq", pq)):
        _, ids = quantizer.search(queries, quantizer.encode(base), 10)
        comparison[name] = {
            "mse": reconstruction_mse(quantizer, base),
            "recall@10": recall(ids, true_top, 10),
        }
    record_property(
        "lowrank_vs_pq_16_bytes", comparison
    )  # reported, not ranked: which wins is data-dependent


def test_lowrank_with_a_given_rank() -> None:
    x = structured_vectors(1_000, dim=64, seed=7)
    model = LowRankPQTrainer(iterations=5, rank=32).train(x, 8, 0)
    assert model.rank == 32 and model.rank_errors == () and model.parameters()["rank_chosen_by"] == "given"
    assert model.decode(model.encode(x)).shape == (1_000, 64)


def test_rank_grid_holds_multiples_of_m_up_to_dim() -> None:
    assert rank_grid(384, 16) == (16, 32, 48, 64, 96, 128, 192, 256, 384)
    assert rank_grid(384, 48) == (48, 96, 144, 192, 288, 384)


# bad inputs


@pytest.mark.parametrize(
    "trainer", [PQTrainer(), FaissPQTrainer(), LowRankPQTrainer(rank=100)], ids=["ours", "faiss", "lowrank"]
)
def test_dim_not_divisible_by_m_is_a_clear_error(trainer: Trainer) -> None:
    x = structured_vectors(300, dim=100, seed=8)
    with pytest.raises(ValueError, match="not divisible by m=16|multiple of m=16"):
        trainer.train(x, 16, 0)


@pytest.mark.parametrize("trainer", [PQTrainer(nbits=4), FaissPQTrainer(nbits=4), LowRankPQTrainer(nbits=4)])
def test_nbits_other_than_8_is_a_clear_error(trainer: Trainer) -> None:
    with pytest.raises(ValueError, match="nbits must be 8"):
        trainer.train(structured_vectors(300, dim=16), 4, 0)


@pytest.mark.parametrize("kind", ["ours", "faiss", "lowrank"])
def test_k_beyond_the_codes_is_a_clear_error(kind: str, data: tuple[npt.NDArray[np.float32], ...]) -> None:
    base, queries = data
    quantizer = trained(kind, 16, base)
    codes = quantizer.encode(base[:50])
    with pytest.raises(ValueError, match="k=51 must be between 1 and the number of codes searched"):
        quantizer.search(queries, codes, 51)
    with pytest.raises(ValueError, match="bytes per vector"):
        quantizer.search(queries, codes[:, :8], 5)
    with pytest.raises(ValueError, match="dimensions"):
        quantizer.encode(base[:, :100])
