"""Our ``Encoder`` as an mteb model (``mteb.models.models_protocols.EncoderProtocol``).

mteb hands a model batches of inputs (``DataLoader`` of dicts with a ``text`` column: a document is
``title + " " + text``, as ``mteb/_create_dataloaders.py`` joins them and as our BEIR task does) and asks
for an array per batch set, plus ``similarity`` / ``similarity_pairwise``. Passing our encoder rather
than a bare SentenceTransformer means mteb scores exactly the vectors our own tasks score (through the
same embedding cache), so an mteb task and our task on the same data differ only in their scoring.
Similarity is the cosine, as our tasks and mteb's default for sentence-transformers models.
Imports mteb and torch: load only inside the mteb suite's ``evaluate``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from harness.models.protocols import Encoder


def _unit(array: Any) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(array, dtype=np.float32))
    if tensor.ndim == 1:
        tensor = tensor.unsqueeze(0)
    return torch.nn.functional.normalize(tensor, p=2, dim=-1)


class MtebEncoder:
    """An mteb ``EncoderProtocol`` over one of our encoders; ``mteb_model_meta`` names it as our runs do."""

    def __init__(self, encoder: Encoder) -> None:
        from mteb.models.model_meta import ModelMeta

        self.encoder = encoder
        self.mteb_model_meta = ModelMeta.create_empty(
            {"name": encoder.info.id, "revision": encoder.info.revision or "no_revision_available"}
        )
        self.texts_encoded = 0

    def encode(
        self, inputs: Any, *, task_metadata: Any, hf_split: str, hf_subset: str, **kwargs: Any
    ) -> np.ndarray:
        texts = [str(text) for batch in inputs for text in batch["text"]]
        self.texts_encoded += len(texts)
        return np.asarray(self.encoder.encode(texts), dtype=np.float32)

    def similarity(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        return _unit(embeddings1) @ _unit(embeddings2).T

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        return (_unit(embeddings1) * _unit(embeddings2)).sum(dim=-1)
