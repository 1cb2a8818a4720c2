"""Matryoshka and 2D (layer x dimension) sweeps: one model, many variants, one forward pass per text.

A sweep evaluates one encoder at truncated, L2-renormalised dimensions (Matryoshka, Kusupati et al.
2022; sentence-transformers' ``truncate_dim``) and at intermediate layers, each layer's token
states pooled as the last layer's are (2DMSE, Li et al. 2024; Starbucks, Zhuang et al. 2024:
``shared/research/REFERENCES.md`` §6). Each (layer, dimension) pair is a ``Point``, recorded on
its task results as the model variant ``{"layer": 4, "dim": 128}``; the results file keeps the
base model's provenance once.

The cost is one forward pass per text, whatever the number of points: the first point of a task
to ask for a text list makes the encoder return every swept layer at once
(``SentenceTransformerEncoder.encode_layers``, through the embedding cache, keyed per layer so that
a later single-point run reuses them), the vectors are kept for that list, and every other point
truncates them. Points served from those kept vectors report them as reused, so their encode
phase is recorded as cached and the board derives no speed from it.

A point at the model's own layer and dimension returns the plain run's vectors untouched (no
renormalisation), so its metrics equal a plain run's to the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import SettingError
from harness.models.dense import SentenceTransformerEncoder
from harness.models.embedding_cache import cache_key
from harness.models.protocols import CacheAware, Encoder, ModelInfo, Retriever
from harness.models.sparse import document_text
from harness.results import Variant
from harness.types import Document, FloatArray

STARBUCKS_PAIRS = ((2, 32), (4, 64), (6, 128), (8, 256), (10, 512), (12, 768))
"""Starbucks' fixed diagonal for BERT-base (12 layers, 768 dimensions): ``ielab/Starbucks``
``sts/inference_2d_sts.py``, and ``--layer_list 2,4,6,8,10,12 --embedding_dim_list
32,64,128,256,512,768`` of its retrieval scripts (REFERENCES.md §6)."""
STARBUCKS_LAYERS = 12
STARBUCKS_DIMENSION = 768

GRIDS = ("full", "starbucks")


@dataclass(frozen=True, order=True)
class Point:
    """One variant of a sweep: a layer (None: the model has no layers to choose) and a dimension."""

    layer: int | None
    dim: int

    @property
    def variant(self) -> Variant:
        return {"dim": self.dim} if self.layer is None else {"layer": self.layer, "dim": self.dim}


def starbucks_points(n_layers: int, dimension: int) -> tuple[Point, ...]:
    """Starbucks' six diagonal pairs, scaled to the model's depth and width.

    For a 12-layer, 768-dimensional model they are the paper's pairs exactly; otherwise pair i is
    layer ``round(l_i * n_layers / 12)`` (at least 1) and dimension ``d_i * dimension // 768``
    (at least 1): all-MiniLM-L6-v2 (6 layers, 384) gets (1,16) (2,32) (3,64) (4,128) (5,256) (6,384).
    """
    points = {
        Point(
            max(1, round(layer * n_layers / STARBUCKS_LAYERS)),
            max(1, dim * dimension // STARBUCKS_DIMENSION),
        )
        for layer, dim in STARBUCKS_PAIRS
    }
    return tuple(sorted(points, key=lambda p: (p.layer or 0, p.dim)))


def plan(
    model: Encoder | Retriever, layers: Sequence[int], dims: Sequence[int], grid: str | None
) -> tuple[Point, ...]:
    """The points of a sweep asked for by ``--layers``, ``--dims`` and ``--grid`` (empty: no sweep).

    ``full`` (the default) is every (layer, dim) pair; ``starbucks`` is the scaled diagonal and
    takes neither list. A missing list means the model's own layer or dimension.

    Raises:
        SettingError: ``layers``, ``dims`` or ``grid``: a value the model cannot give.
    """
    if grid is not None and grid not in GRIDS:
        raise SettingError("grid", f"{grid!r}: use {' or '.join(GRIDS)}")
    if not layers and not dims and grid is None:
        return ()
    if not isinstance(model, Encoder):
        raise SettingError("model", f"{model.info.id} is not an encoder: it has no layers or dimensions")
    layered = model if isinstance(model, SentenceTransformerEncoder) and model.n_layers else None
    dimension = _dimension(model)
    if grid == "starbucks":
        if layers or dims:
            raise SettingError("grid", "the starbucks grid fixes its own pairs; drop --layers and --dims")
        if layered is None or layered.n_layers is None:
            raise SettingError("grid", f"{model.info.id} has no transformer layers to sweep")
        return starbucks_points(layered.n_layers, dimension)
    if layers and layered is None:
        raise SettingError("layers", f"{model.info.id} has no transformer layers to choose from")
    depth = layered.n_layers if layered is not None else None
    for layer in layers:
        if depth is None or not 1 <= layer <= depth:
            raise SettingError("layers", f"layer {layer} is outside 1..{depth} for {model.info.id}")
    for dim in dims:
        if not 1 <= dim <= dimension:
            raise SettingError("dims", f"dimension {dim} is outside 1..{dimension} for {model.info.id}")
    chosen_layers: Sequence[int | None] = sorted(set(layers)) or [depth]
    chosen_dims = sorted(set(dims)) or [dimension]
    return tuple(Point(layer, dim) for layer in chosen_layers for dim in chosen_dims)


def _dimension(model: Encoder) -> int:
    dimension = model.info.parameters.get("dimension")
    if not isinstance(dimension, int) or dimension < 1:
        raise SettingError("dims", f"{model.info.id} does not say its embedding dimension")
    return dimension


def truncate(vectors: FloatArray, dim: int) -> FloatArray:
    """The first ``dim`` coordinates, L2-renormalised; the vectors untouched at their full width."""
    if dim >= vectors.shape[1]:
        return vectors
    head = np.array(vectors[:, :dim], dtype=np.float32)
    norms = np.linalg.norm(head, axis=1, keepdims=True)
    return np.asarray(head / np.where(norms == 0.0, 1.0, norms), dtype=np.float32)


class Sweep:
    """The points of one sweep over one encoder, sharing one encoding of each text list."""

    def __init__(self, base: Encoder, points: Sequence[Point]) -> None:
        self.base = base
        self.points = tuple(points)
        self.layers = tuple(sorted({p.layer for p in self.points if p.layer is not None}))
        self._kept: dict[str, tuple[str, dict[int | None, FloatArray]]] = {}
        self._served = 0

    def vectors(self, role: str, items: Sequence[str] | Sequence[Document]) -> dict[int | None, FloatArray]:
        """Every swept layer's vectors of ``items`` (computed once per role and list, then kept)."""
        docs = [item for item in items if isinstance(item, Document)]
        texts = [document_text(d) for d in docs] if docs else [str(item) for item in items]
        ids = [d.id for d in docs] if docs else [str(i) for i in range(len(texts))]
        identity = cache_key({"role": role}, ids, texts)
        kept = self._kept.get(role)
        if kept is not None and kept[0] == identity:
            self._served += len(texts)
            return kept[1]
        vectors: dict[int | None, FloatArray]
        if self.layers and isinstance(self.base, SentenceTransformerEncoder):
            vectors = {layer: v for layer, v in self.base.encode_layers(role, items, self.layers).items()}
        elif role == "document":
            vectors = {None: self.base.encode_corpus(docs)}
        elif role == "query":
            vectors = {None: self.base.encode_queries([str(item) for item in items])}
        else:
            vectors = {None: self.base.encode([str(item) for item in items])}
        self._kept[role] = (identity, vectors)  # one list per role: a task's texts, then the next task's
        return vectors

    def point(self, point: Point) -> SweepPoint:
        return SweepPoint(self, point)

    def served(self) -> int:
        base = self.base.reused_items() if isinstance(self.base, CacheAware) else 0
        return self._served + base


class SweepPoint:
    """One point of a sweep as an ``Encoder``: the kept vectors at its layer, truncated to its dim."""

    def __init__(self, sweep: Sweep, point: Point) -> None:
        self.sweep = sweep
        self.point = point
        self.info: ModelInfo = sweep.base.info

    def _at(self, role: str, items: Sequence[str] | Sequence[Document]) -> FloatArray:
        return truncate(self.sweep.vectors(role, items)[self.point.layer], self.point.dim)

    def encode(self, texts: Sequence[str]) -> FloatArray:
        return self._at("sentence", texts)

    def encode_queries(self, queries: Sequence[str]) -> FloatArray:
        return self._at("query", queries)

    def encode_corpus(self, docs: Sequence[Document]) -> FloatArray:
        return self._at("document", docs)

    def reused_items(self) -> int:
        """Texts served without running the model: kept by the sweep or read from the cache."""
        return self.sweep.served()
