"""Vector-quantisation speed: our product quantiser against faiss ``IndexPQ`` on the same data.

SciFact's shape (5,183 vectors of 384 dimensions, 300 queries, k=100) with synthetic unit vectors of
an embedding-like structure, 16-byte codes. Both sides run on the session's 2 threads (faiss's OpenMP
pool, numpy's OpenBLAS). Quantisers are trained outside the timed code, except in the training group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from ratios import median, record_ratio
from vectors import structured_vectors

from harness.kernels.faiss_pq import FaissPQ, FaissPQTrainer
from harness.kernels.pq import PQTrainer, ProductQuantizer

BASE, QUERIES, DIM, CODE_BYTES, K, SEED = 5_183, 300, 384, 16, 100, 1234
MEDIANS: dict[str, float | None] = {}


@pytest.fixture(scope="module")
def data() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    vectors = structured_vectors(BASE + QUERIES)
    return vectors[:BASE], vectors[BASE:]


@pytest.fixture(scope="module")
def quantizers(data: tuple[npt.NDArray[np.float32], ...]) -> tuple[FaissPQ, ProductQuantizer]:
    return FaissPQTrainer().train(data[0], CODE_BYTES, SEED), PQTrainer().train(data[0], CODE_BYTES, SEED)


@pytest.mark.benchmark(group="pq-encode+search-16b-384d")
def test_faiss_pq_encode_and_search(
    benchmark: Any, data: tuple[npt.NDArray[np.float32], ...], quantizers: tuple[FaissPQ, ProductQuantizer]
) -> None:
    base, queries = data
    peer = quantizers[0]
    _, ids = benchmark.pedantic(lambda: peer.search(queries, peer.encode(base), K), rounds=7, warmup_rounds=1)
    assert ids.shape == (QUERIES, K)
    MEDIANS["encode+search"] = median(benchmark)


@pytest.mark.benchmark(group="pq-encode+search-16b-384d")
def test_our_pq_encode_and_search(
    benchmark: Any, data: tuple[npt.NDArray[np.float32], ...], quantizers: tuple[FaissPQ, ProductQuantizer]
) -> None:
    base, queries = data
    ours = quantizers[1]
    _, ids = benchmark.pedantic(lambda: ours.search(queries, ours.encode(base), K), rounds=7, warmup_rounds=1)
    assert ids.shape == (QUERIES, K)
    name = "PQ encode+search vs faiss IndexPQ, 16 B x 384 d (throughput)"
    record_ratio(benchmark, name, MEDIANS.get("encode+search"), median(benchmark), "≥ 0.8x", higher=True)


@pytest.mark.benchmark(group="pq-search-16b-384d")
def test_faiss_pq_search(
    benchmark: Any, data: tuple[npt.NDArray[np.float32], ...], quantizers: tuple[FaissPQ, ProductQuantizer]
) -> None:
    base, queries = data
    peer = quantizers[0]
    codes = peer.encode(base)
    _, ids = benchmark.pedantic(lambda: peer.search(queries, codes, K), rounds=9, warmup_rounds=1)
    assert ids.shape == (QUERIES, K)
    MEDIANS["search"] = median(benchmark)


@pytest.mark.benchmark(group="pq-search-16b-384d")
def test_our_pq_search(
    benchmark: Any, data: tuple[npt.NDArray[np.float32], ...], quantizers: tuple[FaissPQ, ProductQuantizer]
) -> None:
    base, queries = data
    ours = quantizers[1]
    codes = ours.encode(base)
    _, ids = benchmark.pedantic(lambda: ours.search(queries, codes, K), rounds=9, warmup_rounds=1)
    assert ids.shape == (QUERIES, K)
    name = "PQ search (ADC, k=100) vs faiss IndexPQ, 16 B x 384 d (throughput)"
    record_ratio(benchmark, name, MEDIANS.get("search"), median(benchmark), "reported", higher=True)


@pytest.mark.benchmark(group="pq-train-16b-384d")
def test_faiss_pq_train(benchmark: Any, data: tuple[npt.NDArray[np.float32], ...]) -> None:
    peer = benchmark.pedantic(lambda: FaissPQTrainer().train(data[0], CODE_BYTES, SEED), rounds=3)
    assert peer.code_bytes == CODE_BYTES
    MEDIANS["train"] = median(benchmark)


@pytest.mark.benchmark(group="pq-train-16b-384d")
def test_our_pq_train(benchmark: Any, data: tuple[npt.NDArray[np.float32], ...]) -> None:
    ours = benchmark.pedantic(lambda: PQTrainer().train(data[0], CODE_BYTES, SEED), rounds=3)
    assert ours.code_bytes == CODE_BYTES
    name = "PQ training (25 k-means iterations) vs faiss IndexPQ, 16 B x 384 d (throughput)"
    record_ratio(benchmark, name, MEDIANS.get("train"), median(benchmark), "reported", higher=True)
