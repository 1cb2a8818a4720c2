"""Low-rank product quantisation after LR²VQ (Zhu et al., arXiv:2211.11397).

LR²VQ quantises a low-rank representation of the vectors rather than the vectors themselves: here the
top ``d̃`` principal directions of the training data (the ``basis``, from an eigendecomposition of
its scatter matrix), then a product quantiser (``harness.kernels.pq``) on the ``d̃``-dimensional
projections, so ``x̂ = mean + P(z) basisᵀ`` with ``z = (x - mean) basis``. The paper's point is that
the clustering dimensionality ``d̃`` trades the low-rank error (directions dropped) against the
clustering error (``m`` codebooks of 256 centroids cover ``d̃ / m`` dimensions each, worse as ``d̃``
grows) and that the trade-off is estimable before any fine-tuning. As the basis is orthonormal the
two errors add up (Pythagoras): ``||x - x̂||² = ||x - x̄ - z basisᵀ||² + ||z - P(z)||²``.

With ``rank=None`` the trainer estimates it: a grid of multiples of ``m`` (``RANK_FACTORS``, and
``dim`` itself: a PCA rotation with no truncation), each fitted on four fifths of the training vectors
and scored on the remaining fifth. The score is the error search sees, not the plain reconstruction
error: search ranks by ``q · x̂``, so what matters is ``E[(q · (x - x̂))²] = eᵀ C e`` for queries ``q``
drawn like the data (``C``: the training vectors' second-moment matrix, a stand-in for the queries',
as one encoder makes both; the anisotropic-loss argument of ScaNN, Guo et al. 2020). Measured on
synthetic 384-d data at 16 bytes, plain MSE chose rank 64 (R@10 .449, below PQ's .468) while this
error ranks the candidates as recall does (rank 32: R@10 .618); ``criterion="mse"`` keeps the plain
choice. Held out, because k-means with 256
centroids on a few thousand points fits its own training points better the more dimensions each
sub-space has, which would bias a training-set estimate towards large ranks. The chosen rank is
then refitted on all training vectors.

Search is ADC in the low space: ``q · x̂ = q · mean + (basisᵀ q) · P(z)``, so the product quantiser
scores the projected queries against its own codes and the per-query constant ``q · mean`` is added,
which leaves the ranking and its ties unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from harness.kernels.pq import (
    KSUB,
    NBITS,
    Codes,
    FloatArray,
    IdArray,
    ProductQuantizer,
    as_vectors,
    reconstruction_mse,
    train_pq,
)

RANK_FACTORS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
"""Candidate ranks are these multiples of ``m`` (at most ``dim``), so each sub-vector has a whole size."""

HOLDOUT = 5
"""One training vector in ``HOLDOUT`` is held out to score the candidate ranks."""


def rank_grid(dim: int, m: int) -> tuple[int, ...]:
    """The candidate ranks for ``m`` sub-vectors in ``dim`` dimensions, smallest first."""
    ranks = {factor * m for factor in RANK_FACTORS if factor * m <= dim}
    if dim % m == 0:
        ranks.add(dim)
    return tuple(sorted(ranks))


@dataclass(frozen=True, eq=False)
class LowRankPQ:
    """Fitted low-rank PQ; ``rank_errors`` holds the held-out error per candidate rank when it was chosen."""

    mean: FloatArray  # [dim]
    basis: FloatArray  # [dim, rank], orthonormal columns
    pq: ProductQuantizer  # on the [n, rank] projections
    rank_errors: tuple[tuple[int, float], ...] = ()

    @property
    def rank(self) -> int:
        return int(self.basis.shape[1])

    @property
    def dim(self) -> int:
        return int(self.basis.shape[0])

    @property
    def code_bytes(self) -> int:
        return self.pq.code_bytes

    def encode(self, x: FloatArray) -> Codes:
        return self.pq.encode(_project(as_vectors(x, "x", self.dim), self.mean, self.basis))

    def decode(self, codes: Codes) -> FloatArray:
        reconstruction: FloatArray = self.mean + self.pq.decode(codes) @ self.basis.T
        return reconstruction

    def search(self, queries: FloatArray, codes: Codes, k: int) -> tuple[FloatArray, IdArray]:
        queries = as_vectors(queries, "queries", self.dim)
        scores, ids = self.pq.search(queries @ self.basis, codes, k)
        offsets = queries @ self.mean
        return scores + offsets[:, None], ids

    def parameters(self) -> dict[str, int | float | str]:
        """The fitted rank, how it was set, and the held-out error of every candidate when chosen."""
        report: dict[str, int | float | str] = {
            "rank": self.rank,
            "rank_chosen_by": f"held-out error (1/{HOLDOUT} of training)" if self.rank_errors else "given",
        }
        report.update({f"heldout_error_rank_{rank}": error for rank, error in self.rank_errors})
        return report


def _project(x: FloatArray, mean: FloatArray, basis: FloatArray) -> FloatArray:
    """Coordinates ``z = (x - mean) basis`` of ``x`` in the low-rank space."""
    return ((x - mean) @ basis).astype(np.float32, copy=False)


def _principal_axes(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and all principal directions (columns, by decreasing variance) of ``x``, in float64 inside."""
    mean = x.mean(axis=0, dtype=np.float64)
    centred = x - mean
    _, vectors = np.linalg.eigh(centred.T @ centred)
    return mean.astype(np.float32), np.ascontiguousarray(vectors[:, ::-1], dtype=np.float32)


def _search_error(model: LowRankPQ, held: FloatArray, moment: npt.NDArray[np.float64]) -> float:
    """Mean of ``eᵀ C e`` over ``held``: the squared inner-product error for queries with moment ``C``."""
    error = (held - model.decode(model.encode(held))).astype(np.float64)
    return float(np.mean(np.einsum("ij,jk,ik->i", error, moment, error)))


def _fit(
    x: FloatArray, axes: tuple[FloatArray, FloatArray], m: int, rank: int, iterations: int, seed: int
) -> LowRankPQ:
    mean, vectors = axes
    basis = np.ascontiguousarray(vectors[:, :rank])
    return LowRankPQ(mean, basis, train_pq(_project(x, mean, basis), m, NBITS, iterations, seed))


@dataclass(frozen=True)
class LowRankPQTrainer:
    """Trains ``LowRankPQ`` with ``code_bytes`` one-byte sub-vectors; ``rank=None`` chooses it (held out)."""

    nbits: int = NBITS
    iterations: int = 25
    rank: int | None = None
    criterion: str = "inner-product"
    """How a chosen rank is scored on the held-out fifth: ``inner-product`` (eᵀ C e) or ``mse``."""

    def train(self, x: FloatArray, code_bytes: int, seed: int) -> LowRankPQ:
        if self.nbits != NBITS:
            raise ValueError(f"nbits must be {NBITS} (one byte per sub-vector code), got {self.nbits}")
        x = as_vectors(x, "training vectors")
        n, dim = x.shape
        m = code_bytes
        if self.rank is not None:
            if not (1 <= m <= self.rank <= dim and self.rank % m == 0):
                raise ValueError(
                    f"rank={self.rank} must be a multiple of m={m} sub-vectors (code bytes) "
                    f"and at most dim={dim}"
                )
            return _fit(x, _principal_axes(x), m, self.rank, self.iterations, seed)
        grid = rank_grid(dim, m) if m >= 1 else ()
        if not grid:
            raise ValueError(f"no rank fits m={m} sub-vectors (code bytes) in dim={dim}")
        held_count = n // HOLDOUT
        if n - held_count < KSUB or held_count < 1:
            raise ValueError(
                f"choosing the rank needs {KSUB} training vectors left after holding out 1/{HOLDOUT} "
                f"of them, got {n} in all; give a rank instead"
            )
        order = np.random.default_rng(seed).permutation(n)
        held, kept = x[np.sort(order[:held_count])], x[np.sort(order[held_count:])]
        if self.criterion not in ("inner-product", "mse"):
            raise ValueError(f"criterion must be 'inner-product' or 'mse', got {self.criterion!r}")
        axes = _principal_axes(kept)
        moment = (kept.T.astype(np.float64) @ kept) / len(kept)

        def score(model: LowRankPQ) -> float:
            if self.criterion == "mse":
                return reconstruction_mse(model, held)
            return _search_error(model, held, moment)

        errors = tuple((rank, score(_fit(kept, axes, m, rank, self.iterations, seed))) for rank in grid)
        best = min(errors, key=lambda pair: (pair[1], pair[0]))[0]
        return replace(_fit(x, _principal_axes(x), m, best, self.iterations, seed), rank_errors=errors)

    def parameters(self) -> dict[str, int | float | str]:
        return {
            "nbits": self.nbits,
            "iterations": self.iterations,
            "rank": "auto" if self.rank is None else self.rank,
            "rank_selection": (
                f"held-out {self.criterion} error (1/{HOLDOUT}); ranks m x {RANK_FACTORS} and dim"
            ),
        }
