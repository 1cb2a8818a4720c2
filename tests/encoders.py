"""Tiny real encoders for fast tests: deterministic, no weights to load, the ``Encoder`` protocol in full.

They are models, not mocks: they turn text into vectors by a stated rule, so a task's whole path
(load, encode, score, check) runs in a second. all-MiniLM-L6-v2 runs the same paths in the
reference and CLI tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from harness.models.protocols import ModelInfo
from harness.types import Document, FloatArray

DIMENSION = 256


class TrigramEncoder:
    """Bag of hashed character trigrams: a deterministic Encoder with no weights to load."""

    def __init__(self) -> None:
        self.info = ModelInfo(
            id="trigrams", kind="dense", source="builtin", parameters={"dimension": DIMENSION}
        )
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """One row per text; ``calls`` records how many texts each call encoded."""
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.lower()} "
            for start in range(len(padded) - 2):
                bucket = int.from_bytes(
                    hashlib.blake2b(padded[start : start + 3].encode(), digest_size=4).digest()
                )
                vectors[row, bucket % DIMENSION] += 1.0
        return vectors

    def encode_queries(self, queries: Sequence[str]) -> FloatArray:
        return self.encode(queries)

    def encode_corpus(self, docs: Sequence[Document]) -> FloatArray:
        return self.encode([doc.text for doc in docs])
