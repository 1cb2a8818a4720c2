"""What a model is to the harness: an ``Encoder`` (texts -> vectors) or a ``Retriever`` (corpus ranking).

Tasks only talk to these protocols; concrete adapters live beside this module. ``ModelInfo`` is the
provenance a model reports about itself and lands, unchanged, in the results file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from harness.types import Document, FloatArray, JSONValue, Run

if TYPE_CHECKING:
    from harness.timing import Timer

ModelKind = Literal["dense", "sparse", "hybrid", "kernel", "circuit"]
ModelSource = Literal["builtin", "package", "hub", "local"]


@dataclass(frozen=True)
class ModelInfo:
    """Identity and settings of a model, enough to reproduce a run.

    ``revision`` is the hub commit when known; ``weights_sha256`` is a hash over the weight files
    (sorted relative path and sha256 of each), ``None`` for builtin models defined by parameters.
    """

    id: str
    kind: ModelKind
    source: ModelSource
    revision: str | None = None
    weights_sha256: str | None = None
    n_parameters: int | None = None
    parameters: dict[str, JSONValue] = field(default_factory=dict)


@runtime_checkable
class Encoder(Protocol):
    """Dense text encoder. Rows of the returned arrays align with the inputs."""

    info: ModelInfo

    def encode(self, texts: Sequence[str]) -> FloatArray: ...

    def encode_queries(self, queries: Sequence[str]) -> FloatArray: ...

    def encode_corpus(self, docs: Sequence[Document]) -> FloatArray: ...


@runtime_checkable
class IndexSize(Protocol):
    """A retriever that can say how many bytes its index holds (for the board's index size column)."""

    def index_bytes(self) -> int: ...


@runtime_checkable
class Retriever(Protocol):
    """Anything that ranks a corpus: BM25 (bm25s, Lucene), a dense retriever, a fusion of two."""

    info: ModelInfo

    def index(self, docs: Sequence[Document]) -> None: ...

    def search(self, queries: Mapping[str, str], k: int) -> Run: ...


@runtime_checkable
class CacheAware(Protocol):
    """A model with a cache (embeddings, a Lucene index): how many items it has served from it so far.

    The runner asks before and after each timed phase; a phase that reused cached work is recorded
    as ``<phase>_cached``, so the board derives no speed from it (``timing.CACHED_SUFFIX``).
    """

    def reused_items(self) -> int: ...


@runtime_checkable
class StageTimed(Protocol):
    """A model whose work has stages worth timing apart (a pipeline: first-stage search, re-ranking).

    The runner hands it each task's timer before the task runs; the model times its stages as
    sub-phases of the task's own phases (``search/first_stage`` inside ``search``,
    ``timing.SUBPHASE_SEPARATOR``), which are recorded beside them and never counted twice.
    """

    def time_stages(self, timer: Timer) -> None: ...
