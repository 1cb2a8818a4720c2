"""Product quantisation (Jégou, Douze and Schmid 2011, "Product quantization for nearest neighbor search").

A vector of ``dim`` dimensions is cut into ``m`` sub-vectors of ``dim / m`` dimensions; each sub-vector
is replaced by the index of its nearest centroid in a codebook of ``2**nbits`` centroids learnt by
k-means on that sub-space (§II.B of the paper). With ``nbits = 8`` a code is ``m`` bytes.

Search is the paper's asymmetric distance computation (ADC, §III.A, eq. 13): the query stays exact and
only the database side is quantised, so the score of a stored vector is ``q · decode(code)``. The paper
evaluates that sum through per-query lookup tables (``m x 2**nbits``) and ``m`` table reads per code;
here the codes are decoded block by block and scored with one matrix product per block, which is the
same quantity summed in another order. Measured on the 2-core CI machine kind (5,183 codes of 384
dimensions, 300 queries): decode + product take 7 ms on 2 threads (13 ms on one, at any code size),
against 8 ms (16 bytes) to 22-45 ms (48 bytes) for lookup tables gathered through a one-hot sparse
product on one thread, the fastest table gather found in numpy and scipy (per-sub-space ``np.take``
gathers: 15-26 ms at 16 bytes).

The k-means follows faiss's ``Clustering`` (faiss/Clustering.cpp), so that our quantiser and the faiss
peer differ only by the random draws: the same initialisation (``k`` distinct training points drawn at
random), the same number of Lloyd iterations (25, ``ClusteringParameters.niter``), the same training
subsample (at most ``256 k`` points, ``max_points_per_centroid``), and the same size of perturbation when
an empty cluster is re-seeded by splitting another. Like ``ProductQuantizer::train``
(faiss/impl/ProductQuantizer.cpp), every sub-space uses the same seed, so the same training points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Codes = npt.NDArray[np.uint8]
IdArray = npt.NDArray[np.int64]

NBITS = 8
"""Bits per sub-vector code: one byte, so ``code_bytes == m`` (the only width these kernels store)."""
KSUB = 1 << NBITS

MAX_POINTS_PER_CENTROID = 256
"""faiss ``ClusteringParameters.max_points_per_centroid``: k-means trains on at most ``256 k`` points."""

SPLIT_EPS = 1 / 1024
"""Relative perturbation of a split centroid, faiss's ``EPS`` in ``split_clusters`` (Clustering.cpp)."""

_SINGLE_THREAD_MNK = 1 << 18
"""Largest ``rows x width x k`` of one nearest-centroid product (``_nearest``): OpenBLAS runs a product
below ``SMP_THRESHOLD_MIN x GEMM_MULTITHREAD_THRESHOLD`` (65536 x 4, interface/gemm.c) on one thread.
k-means and encode are thousands of such small products, and on two threads each waits for the
second thread; on the CI machine kind with another process busy, a product of 0.3 ms took 125 ms in
some processes (m=8: 4.8 s per assignment pass over 5,000 points, against 14 ms in blocks under the
threshold, which are as fast as larger blocks on an idle machine). Search's one large product per
block keeps both threads, where they halve its time."""

_ROWS = 1 << 14
"""Rows per block where a whole batch would be copied (encode's sub-vectors, search's decoded codes):
16,384 rows of 384 dimensions are 25 MiB, so memory stays bounded by the block, not the batch."""


class Quantizer(Protocol):
    """A fitted vector quantiser: fixed-size byte codes, their reconstruction, and ADC search."""

    @property
    def code_bytes(self) -> int:
        """Bytes stored per vector."""
        ...

    def encode(self, x: FloatArray) -> Codes:
        """``[n, code_bytes]`` uint8 codes of ``[n, dim]`` vectors."""
        ...

    def decode(self, codes: Codes) -> FloatArray:
        """``[n, dim]`` float32 reconstructions of codes."""
        ...

    def search(self, queries: FloatArray, codes: Codes, k: int) -> tuple[FloatArray, IdArray]:
        """Asymmetric distance computation (ADC) by INNER PRODUCT: score(q, x) = q · decode(x).

        Exact over all codes; top-k per query, best first; ties broken by lower id.
        """
        ...


class Trainer(Protocol):
    """Fits a ``Quantizer`` of a given code size on training vectors."""

    def train(self, x: FloatArray, code_bytes: int, seed: int) -> Quantizer: ...

    def parameters(self) -> dict[str, int | float | str]: ...


def as_vectors(x: npt.ArrayLike, name: str, dim: int | None = None) -> FloatArray:
    """``x`` as a C-contiguous ``[n, dim]`` float32 matrix of finite values, or a ValueError naming it."""
    array = np.ascontiguousarray(x, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [n, dim] array, got shape {array.shape}")
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f"{name} has {array.shape[1]} dimensions, the quantiser was trained on {dim}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_nbits(nbits: int) -> None:
    if nbits != NBITS:
        raise ValueError(f"nbits must be {NBITS} (one byte per sub-vector code), got {nbits}")


def _check_split(dim: int, m: int) -> int:
    """The sub-vector size ``dim / m``; faiss raises the same error (``set_derived_values``)."""
    if m < 1:
        raise ValueError(f"the number of sub-vectors (code bytes) must be at least 1, got {m}")
    if dim % m:
        raise ValueError(
            f"dim={dim} is not divisible by m={m} sub-vectors (code bytes): choose m dividing dim"
        )
    return dim // m


def _augmented(x: FloatArray, s: int) -> FloatArray:
    """``[n, s * d]`` rows as ``s`` sub-spaces ``[s, n, d + 1]`` with a last coordinate of 1.

    The extra coordinate carries each centroid's ``-||c||²/2`` (``_scoring_table``), so one matrix
    product yields the nearest-centroid scores with no separate pass to subtract the norms.
    """
    n, dim = x.shape
    d = dim // s
    out = np.empty((s, n, d + 1), dtype=np.float32)
    out[:, :, :d] = x.reshape(n, s, d).transpose(1, 0, 2)
    out[:, :, d] = 1.0
    return out


def _scoring_table(centroids: FloatArray) -> FloatArray:
    """``[s, d + 1, k]``: centroids as columns over ``-||c||²/2``, to multiply ``_augmented`` points with."""
    half_norms = -0.5 * np.einsum("skd,skd->sk", centroids, centroids)
    return np.ascontiguousarray(
        np.concatenate([centroids.transpose(0, 2, 1), half_norms[:, None, :]], axis=1)
    )


def _nearest(points: FloatArray, table: FloatArray) -> npt.NDArray[np.intp]:
    """Index of the nearest centroid (L2) per point, for ``s`` independent problems at once.

    ``points`` is ``_augmented`` ``[s, n, d + 1]``, ``table`` a ``_scoring_table`` ``[s, d + 1, k]``;
    returns ``[s, n]``. ``argmin ||x - c||²`` is ``argmax x·c - ||c||²/2``; ties go to the lower
    centroid index (numpy's argmax keeps the first). The points go in blocks whose products stay under
    ``_SINGLE_THREAD_MNK`` (see there).
    """
    s, n, width = points.shape
    k = table.shape[2]
    out = np.empty((s, n), dtype=np.intp)
    block = max(1, _SINGLE_THREAD_MNK // (width * k))
    for start in range(0, n, block):
        out[:, start : start + block] = np.matmul(points[:, start : start + block], table).argmax(axis=2)
    return out


def _split_empty(centroids: FloatArray, counts: npt.NDArray[np.float64]) -> None:
    """Re-seed each empty cluster by splitting the largest one, in place (one sub-space).

    faiss (``split_clusters``, Clustering.cpp) picks the cluster to split at random with probability
    proportional to its size (less one); here the largest is split, the likeliest pick there, which
    keeps the step free of randomness. As in faiss the two halves are the centroid scaled by ``1 ± 1/1024``
    with alternating signs across dimensions, and each keeps half the count for the following splits.
    """
    signs = np.where(np.arange(centroids.shape[1]) % 2 == 0, SPLIT_EPS, -SPLIT_EPS).astype(np.float32)
    for empty in np.flatnonzero(counts == 0):
        largest = int(np.argmax(counts))
        centroids[empty] = centroids[largest] * (1 + signs)
        centroids[largest] *= 1 - signs
        counts[empty] = counts[largest] / 2
        counts[largest] -= counts[empty]


def _lloyd(points: FloatArray, init: npt.NDArray[np.intp], iterations: int) -> FloatArray:
    """Lloyd's k-means on ``s`` independent sub-spaces (``_augmented`` ``points``) from the points ``init``.

    Each iteration assigns every point to its nearest centroid and moves each centroid to the mean of
    its points (sums in float64); empty clusters are then re-seeded (``_split_empty``). The order is
    faiss's ``Clustering::train_encoded``: ``iterations`` assignments and updates, no final assignment.
    faiss stops early once the objective no longer changes (``early_stop_threshold`` 0); here the loop
    stops once no assignment changes, a fixed point (the update is a function of the assignments), so
    stopping changes nothing but the time. Returns ``[s, k, d]``.
    """
    s, n, d = points.shape[0], points.shape[1], points.shape[2] - 1
    k = len(init)
    centroids = np.ascontiguousarray(points[:, init, :d])
    columns = np.ascontiguousarray(points[:, :, :d].transpose(2, 0, 1).reshape(d, s * n))  # a row per dim
    offsets = (np.arange(s, dtype=np.intp) * k)[:, None]
    previous = None
    for _ in range(iterations):
        labels = (_nearest(points, _scoring_table(centroids)) + offsets).ravel()
        if previous is not None and np.array_equal(labels, previous):
            break
        previous = labels
        counts = np.bincount(labels, minlength=s * k).astype(np.float64)
        sums = np.stack([np.bincount(labels, weights=column, minlength=s * k) for column in columns], axis=1)
        filled = counts > 0
        flat = centroids.reshape(s * k, d)
        flat[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
        for sub, sub_counts in enumerate(counts.reshape(s, k)):
            if not sub_counts.all():
                _split_empty(centroids[sub], sub_counts)
    return centroids


def _training_sample(
    n: int, k: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The training points (all, or a random ``256 k`` of them) and the ``k`` of them that start k-means.

    As faiss's ``Clustering::train_encoded``: a random subsample when ``n > 256 k``, then the first ``k``
    of a random permutation of the sample as initial centroids (k distinct points).
    """
    if n < k:
        raise ValueError(f"k-means needs at least as many training points as clusters: {n} points, k={k}")
    cap = k * MAX_POINTS_PER_CENTROID
    sample = np.sort(rng.permutation(n)[:cap]) if n > cap else np.arange(n, dtype=np.intp)
    init = rng.permutation(len(sample))[:k].astype(np.intp)
    return sample, init


def kmeans(x: FloatArray, k: int, iterations: int, rng: np.random.Generator) -> FloatArray:
    """``[k, dim]`` centroids of ``x`` by Lloyd's algorithm, initialised on k distinct random points.

    ``k > n`` is a ValueError, as in faiss. Duplicate points may leave fewer distinct points than
    ``k``: the duplicated centroids then start empty and are re-seeded by splits each iteration, so the
    result still has ``k`` finite centroids, some within a relative ``1/1024`` of each other.
    """
    x = as_vectors(x, "x")
    if k < 1 or iterations < 1:
        raise ValueError(f"k-means needs k >= 1 and iterations >= 1, got k={k}, iterations={iterations}")
    sample, init = _training_sample(len(x), k, rng)
    centroids: FloatArray = _lloyd(_augmented(x[sample], 1), init, iterations)[0]
    return centroids


@dataclass(frozen=True, eq=False)
class ProductQuantizer:
    """Fitted product quantiser: ``codebooks[j]`` holds the ``2**nbits`` centroids of sub-space ``j``."""

    codebooks: FloatArray  # [m, 2**nbits, dsub]

    def __post_init__(self) -> None:
        shape = self.codebooks.shape
        if self.codebooks.dtype != np.float32 or len(shape) != 3 or shape[1] != KSUB or 0 in shape:
            raise ValueError(
                f"codebooks must be float32 [m, {KSUB}, dsub], got {self.codebooks.dtype} {shape}"
            )

    @property
    def m(self) -> int:
        return int(self.codebooks.shape[0])

    @property
    def dim(self) -> int:
        return int(self.codebooks.shape[0] * self.codebooks.shape[2])

    @property
    def code_bytes(self) -> int:
        return self.m

    def encode(self, x: FloatArray) -> Codes:
        """Nearest centroid per sub-vector (eq. 8 of the paper), by matrix products per block of rows."""
        x = as_vectors(x, "x", self.dim)
        codes = np.empty((len(x), self.m), dtype=np.uint8)
        table = _scoring_table(self.codebooks)
        for start in range(0, len(x), _ROWS):
            codes[start : start + _ROWS] = _nearest(_augmented(x[start : start + _ROWS], self.m), table).T
        return codes

    def decode(self, codes: Codes) -> FloatArray:
        """Concatenated centroids of each code (eq. 9 of the paper)."""
        codes = self._check_codes(codes)
        flat = self.codebooks.reshape(self.m * KSUB, -1)
        rows = codes.astype(np.intp) + np.arange(self.m, dtype=np.intp) * KSUB
        return np.take(flat, rows, axis=0).reshape(len(codes), self.dim)

    def search(self, queries: FloatArray, codes: Codes, k: int) -> tuple[FloatArray, IdArray]:
        """ADC by inner product: the top ``k`` of ``q · decode(code)`` per query, ties to the lower id.

        Codes are decoded and scored a block at a time, and each block's best ``k`` merged into the
        running best, so memory stays bounded by the block, not by the number of codes.
        """
        queries = as_vectors(queries, "queries", self.dim)
        codes = self._check_codes(codes)
        n = len(codes)
        if not 1 <= k <= n:
            raise ValueError(f"k={k} must be between 1 and the number of codes searched ({n})")
        block = max(k, _ROWS)
        best: tuple[FloatArray, IdArray] | None = None
        for start in range(0, n, block):
            part = codes[start : start + block]
            scores = queries @ self.decode(part).T
            ids = np.broadcast_to(np.arange(start, start + len(part), dtype=np.int64), scores.shape)
            if best is not None:
                scores = np.concatenate([best[0], scores], axis=1)
                ids = np.concatenate([best[1], ids], axis=1)
            best = top_k(scores, ids, k)
        assert best is not None  # n >= k >= 1: at least one block
        return best

    def _check_codes(self, codes: Codes) -> Codes:
        if not isinstance(codes, np.ndarray) or codes.dtype != np.uint8 or codes.ndim != 2:
            raise ValueError("codes must be a 2-D uint8 array [n, code_bytes]")
        if codes.shape[1] != self.m:
            raise ValueError(f"codes have {codes.shape[1]} bytes per vector, the quantiser writes {self.m}")
        return codes


def top_k(scores: FloatArray, ids: npt.NDArray[np.int64], k: int) -> tuple[FloatArray, IdArray]:
    """The ``k`` best ``scores`` per row (``[nq, c]``, with their ``ids``), best first, ties to lower id.

    ``np.partition`` finds each row's k-th best value; every candidate at or above it (``k`` of them,
    more on ties) is ordered by (score descending, id ascending) and the first ``k`` kept, so a tie at
    the boundary keeps the lower ids, which ``argpartition`` alone does not promise. Rows with extra
    tied candidates are padded with ``-inf`` to the longest row, so one rectangular sort serves all.
    Measured at 300 x 5,183 scores, k=100: 4.5 ms against 7 ms for ``argpartition`` and a sort of its
    ``k``, and 10 ms for one flat three-key sort of the candidates.
    """
    nq, c = scores.shape
    if k < c:
        kth = np.partition(scores, c - k, axis=1)[:, c - k, None]
        flat = np.flatnonzero(scores >= kth)  # row-major, so grouped by row
    else:
        flat = np.arange(nq * c)
    rows, cols = np.divmod(flat, c)
    counts = np.bincount(rows, minlength=nq)
    width = int(counts.max())
    slots = np.arange(len(flat)) - np.repeat(np.cumsum(counts) - counts, counts)
    values = np.full((nq, width), -np.inf, dtype=np.float32)
    candidates = np.full((nq, width), np.iinfo(np.int64).max, dtype=np.int64)
    values[rows, slots] = scores[rows, cols]
    candidates[rows, slots] = ids[rows, cols]
    order = np.lexsort((candidates, -values), axis=1)[:, :k]
    return np.take_along_axis(values, order, axis=1), np.take_along_axis(candidates, order, axis=1)


def reconstruction_mse(quantizer: Quantizer, x: FloatArray) -> float:
    """Mean over vectors of the squared L2 error ``||x - decode(encode(x))||²`` (summed over dimensions)."""
    x = as_vectors(x, "x")
    error = x - quantizer.decode(quantizer.encode(x))
    return float(np.einsum("nd,nd->n", error, error, dtype=np.float64).mean())


def train_pq(x: FloatArray, m: int, nbits: int, iterations: int, seed: int) -> ProductQuantizer:
    """A product quantiser with ``m`` sub-vectors of ``nbits`` bits, trained by k-means per sub-space.

    One draw of training sample and initial points serves every sub-space, as faiss's
    ``ProductQuantizer::train`` passes the same ``ClusteringParameters.seed`` to each sub-space.
    """
    _check_nbits(nbits)
    x = as_vectors(x, "training vectors")
    n, dim = x.shape
    _check_split(dim, m)
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    sample, init = _training_sample(n, KSUB, np.random.default_rng(seed))
    return ProductQuantizer(_lloyd(_augmented(x[sample], m), init, iterations))


@dataclass(frozen=True)
class PQTrainer:
    """Trains a ``ProductQuantizer`` of ``code_bytes`` one-byte sub-vectors (``m = code_bytes``)."""

    nbits: int = NBITS
    iterations: int = 25  # faiss ClusteringParameters.niter

    def train(self, x: FloatArray, code_bytes: int, seed: int) -> ProductQuantizer:
        return train_pq(x, code_bytes, self.nbits, self.iterations, seed)

    def parameters(self) -> dict[str, int | float | str]:
        return {
            "nbits": self.nbits,
            "iterations": self.iterations,
            "init": "random distinct training points",
            "max_points_per_centroid": MAX_POINTS_PER_CENTROID,
            "empty_clusters": "split the largest",
            "stop": "iterations, or once no assignment changes",
        }
