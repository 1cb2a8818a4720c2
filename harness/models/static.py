"""Static embeddings (model2vec): a sentence is the normalised mean of its tokens' vectors; an ``Encoder``.

No transformer runs at encode time, so a corpus the size of SciFact encodes in well under a second on
one core; no embedding cache is kept (reading one would cost about as much as encoding).

Text preparation is the dense models' (``sparse.document_text``: ``title + " " + text``, stripped;
queries and sentences as given), so the only difference from all-MiniLM-L6-v2 on the board is the
model. Vectors are computed in float32 from the stored float16 table (``quantize_to="float32"`` at
load) and L2-normalised, so inner product is the cosine. model2vec's ``encode`` cuts a text to
``max_length x median token length`` characters before tokenising and then to ``max_length``
tokens (``model2vec.model.StaticModel._encode_dispatch``, 0.10.0); both are recorded. Its joblib
multiprocessing (inputs over 10,000 texts) is turned off: one process, the same on every input size.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import HarnessError, SettingError
from harness.models.dense import file_sha256, weights_sha256
from harness.models.protocols import ModelInfo
from harness.models.sparse import document_text
from harness.types import Document, FloatArray, JSONValue

if TYPE_CHECKING:
    from model2vec import StaticModel


class StaticEncoder:
    """An ``Encoder`` over a model2vec ``StaticModel`` folder.

    ``build`` is the folder's ``build.json`` (``harness.models.distill``); its inputs and distill
    settings become the model's parameters. A folder without one (a test's model) reports only what
    the folder itself holds.
    """

    def __init__(
        self,
        folder: Path,
        model_id: str,
        build: dict[str, JSONValue] | None = None,
        batch_size: int = 1024,
        show_progress: bool = False,
    ) -> None:
        try:
            from model2vec import StaticModel
        except ImportError:
            raise HarnessError(
                f"{model_id} needs model2vec, the [distill] extra: pip install -e '.[distill]'"
            ) from None
        if not (folder / "model.safetensors").is_file():  # a missing path would be tried on the hub
            raise SettingError("model", f"{model_id}: {folder} holds no model2vec model")
        self.model: StaticModel = StaticModel.from_pretrained(
            folder, normalize=True, quantize_to="float32", force_download=False
        )
        self.batch_size = batch_size
        self.show_progress = show_progress
        stored = self.model.config.get("embedding_dtype")
        parameters: dict[str, JSONValue] = {
            "dimension": self.model.dim,
            "normalize": True,
            "similarity": "cosine",
            "pooling": "mean of token vectors",
            "vocabulary_size": len(self.model.tokens),
            "max_length": self.model.max_length,
            "stored_dtype": str(stored) if stored is not None else None,
            "dtype": "float32",
            "text_preparation": "title + ' ' + text, stripped",
            "tokenizer_sha256": file_sha256(folder / "tokenizer.json"),
            "multiprocessing": False,
            "model2vec": version("model2vec"),
        }
        if build is not None:
            inputs = build.get("inputs")
            if isinstance(inputs, dict):
                base = inputs.get("base")
                if isinstance(base, dict):
                    parameters["base_model"] = {k: base.get(k) for k in ("id", "revision", "weights_sha256")}
                parameters["distill"] = inputs.get("distill")
                parameters["distilled_with"] = inputs.get("model2vec")
            parameters["build_key"] = build.get("key")
        self.info = ModelInfo(
            id=model_id,
            kind="dense",
            source="local",
            revision=None,
            weights_sha256=weights_sha256(folder)[0],
            n_parameters=int(self.model.embedding.size),
            parameters=parameters,
        )

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """One L2-normalised float32 row per text (an empty text is a zero row)."""
        if not texts:
            return np.zeros((0, self.model.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            show_progress_bar=self.show_progress,
            batch_size=self.batch_size,
            use_multiprocessing=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_queries(self, queries: Sequence[str]) -> FloatArray:
        return self.encode(queries)

    def encode_corpus(self, docs: Sequence[Document]) -> FloatArray:
        return self.encode([document_text(doc) for doc in docs])
