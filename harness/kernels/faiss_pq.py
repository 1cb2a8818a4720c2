"""The peer: faiss's ``IndexPQ`` behind the ``Quantizer`` protocol of ``harness.kernels.pq``.

faiss is imported inside the functions, so the harness imports without the ``[kernels]`` extra.

The index is trained once and never holds database codes: ``search`` copies the trained index,
adds the given codes to the copy (``add_sa_codes``) and searches it, so faiss scores exactly the codes
it is handed, as our ``ProductQuantizer.search`` does, and the fitted object stays immutable. With
``METRIC_INNER_PRODUCT`` faiss scores by lookup tables of ``q · centroid`` per sub-space (the paper's
ADC) with a heap per query; the copy and the adding of codes are counted in its time, a copy of the
codebooks (about 400 KB at 384 dimensions) and of the codes themselves.

faiss breaks ties among equal scores by its heap order, not by id: when the ``k`` it returns hold a tie
they are re-sorted by (score descending, id ascending), which orders ties within the list (a check
of 0.03 ms, and no sort, when there is none); which of several codes tied at the k-th score make the
list stays faiss's choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from harness.kernels.pq import NBITS, Codes, FloatArray, IdArray, as_vectors

if TYPE_CHECKING:
    import faiss


@dataclass(frozen=True, eq=False)
class FaissPQ:
    """A trained, empty ``faiss.IndexPQ`` (inner-product metric) used as a codec and searcher."""

    index: faiss.IndexPQ

    @property
    def code_bytes(self) -> int:
        return int(self.index.sa_code_size())

    def encode(self, x: FloatArray) -> Codes:
        return self.index.sa_encode(as_vectors(x, "x", self.index.d))

    def decode(self, codes: Codes) -> FloatArray:
        return self.index.sa_decode(self._check_codes(codes))

    def search(self, queries: FloatArray, codes: Codes, k: int) -> tuple[FloatArray, IdArray]:
        import faiss

        queries = as_vectors(queries, "queries", self.index.d)
        codes = self._check_codes(codes)
        if not 1 <= k <= len(codes):
            raise ValueError(f"k={k} must be between 1 and the number of codes searched ({len(codes)})")
        index = faiss.clone_index(self.index)
        index.add_sa_codes(codes)
        scores, ids = index.search(queries, k)
        if not (scores[:, 1:] == scores[:, :-1]).any():
            return scores, ids  # no ties: faiss's order is already (score descending)
        order = np.lexsort((ids, -scores), axis=1)
        return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)

    def _check_codes(self, codes: Codes) -> Codes:
        if not isinstance(codes, np.ndarray) or codes.dtype != np.uint8 or codes.ndim != 2:
            raise ValueError("codes must be a 2-D uint8 array [n, code_bytes]")
        if codes.shape[1] != self.code_bytes:
            raise ValueError(
                f"codes have {codes.shape[1]} bytes per vector, the index writes {self.code_bytes}"
            )
        return np.ascontiguousarray(codes)


@dataclass(frozen=True)
class FaissPQTrainer:
    """Trains ``faiss.IndexPQ(dim, code_bytes, 8, METRIC_INNER_PRODUCT)`` with our k-means settings.

    ``iterations`` and ``seed`` go to the product quantiser's ``ClusteringParameters`` (``pq.cp.niter``,
    ``pq.cp.seed``); the rest stays at faiss's defaults, which ``harness.kernels.pq`` mirrors: random
    initialisation on distinct training points (``init_method`` RANDOM), at most 256 training points
    per centroid, no early stop, one run (``nredo`` 1), not spherical.
    """

    nbits: int = NBITS
    iterations: int = 25

    def train(self, x: FloatArray, code_bytes: int, seed: int) -> FaissPQ:
        import faiss

        if self.nbits != NBITS:
            raise ValueError(
                f"nbits must be {NBITS} for the faiss peer (one byte a sub-vector), got {self.nbits}"
            )
        x = as_vectors(x, "training vectors")
        dim = x.shape[1]
        if code_bytes < 1 or dim % code_bytes:
            raise ValueError(
                f"dim={dim} is not divisible by m={code_bytes} sub-vectors (code bytes): "
                "choose m dividing dim"
            )
        if len(x) < 1 << NBITS:
            raise ValueError(
                f"faiss needs at least {1 << NBITS} training points for 8-bit codes, got {len(x)}"
            )
        index = faiss.IndexPQ(dim, code_bytes, self.nbits, faiss.METRIC_INNER_PRODUCT)
        index.pq.cp.niter = self.iterations
        index.pq.cp.seed = seed
        # faiss only *warns* (on the C stderr, past Python) below 39 points per centroid; this
        # threshold is used for nothing else, so lowering it silences the warning, not the training
        index.pq.cp.min_points_per_centroid = 1
        index.train(x)
        return FaissPQ(index)

    def parameters(self) -> dict[str, int | float | str]:
        return {"nbits": self.nbits, "iterations": self.iterations, "peer": "faiss IndexPQ"}
