"""Synthetic embedding-like vectors for the quantiser tests and benchmarks (no model needed)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DIM = 384


def structured_vectors(n: int, dim: int = DIM, clusters: int = 50, seed: int = 0) -> npt.NDArray[np.float32]:
    """Unit vectors around ``clusters`` centres, with variance decaying as ``1/i`` over a random basis."""
    rng = np.random.default_rng(seed)
    scale = 1 / np.sqrt(np.arange(1, dim + 1))
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    centres = rng.standard_normal((clusters, dim)) * scale
    labels = rng.integers(clusters, size=n)
    x: npt.NDArray[np.float64] = (centres[labels] + 0.7 * rng.standard_normal((n, dim)) * scale) @ rotation.T
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)
