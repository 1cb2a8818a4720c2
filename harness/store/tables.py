"""The tables of the store: SQLAlchemy ORM rows that index results files.

Three tables carry the results (runs, task results, metrics in long format: a new metric needs no
migration) and one carries the store's own layout version, so a database made by an older harness
is recognised and rebuilt from the files rather than misread. Everything here is derived from a
results file (``ingest``); nothing is the only copy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

STORE_VERSION = 6
"""Layout of these tables; bump it whenever a column changes meaning (the files stay the record).
4: the published tables (``published_sources``, ``published_scores``: scores imported from outside).
5: ``task_results.user_data`` (a user's own dataset: cells keyed on task and fingerprint).
6: the board's summary columns (``runs.n_parameters``, ``runs.dimension``, ``runs.hardware_record``,
``task_results.summary``): the board's main table reads no document."""


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, float: Double}


class MetaRow(Base):
    """Facts about the database itself: ``store_version``."""

    __tablename__ = "store_meta"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str]


class RunRow(Base):
    """One results file; ``digest`` is its content address (annotations left out)."""

    __tablename__ = "runs"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    schema_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    suite: Mapped[str] = mapped_column(index=True)
    harness_version: Mapped[str]
    harness_commit: Mapped[str | None]
    model_id: Mapped[str] = mapped_column(index=True)
    model_revision: Mapped[str | None]
    model_weights_sha256: Mapped[str | None]
    model_kind: Mapped[str]
    hardware: Mapped[str]
    origin: Mapped[str] = mapped_column(index=True)
    """``reference`` (a ``harness run`` file from the reference folder) or ``submission``: the
    store's standing of the run, decided at ingest from the file's claim *and* where it was read."""
    seq: Mapped[int] = mapped_column(index=True, default=0)
    """Ingest order: the newest run of a cell is the one stored last, never the file's ``created_at``."""
    reproduced: Mapped[bool] = mapped_column(default=False, server_default=false())
    verifications: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """The file's ``verifications`` (also inside ``document``), so merging annotations reads no document."""
    n_parameters: Mapped[int | None] = mapped_column(BigInteger)
    """``model.n_parameters``: with ``dimension`` and ``hardware_record``, the board's model facts
    (declared before ``document``: SQLite reads a row's columns in order, and a document is long)."""
    dimension: Mapped[float | None]
    """``model.parameters.dimension`` where it is a number, else None."""
    hardware_record: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """``environment.hardware`` as the file records it (``hardware`` is its one-line summary)."""
    document: Mapped[dict[str, Any]] = mapped_column(deferred=True)
    tasks: Mapped[list[TaskRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )


class TaskRow(Base):
    """One task result inside a run.

    ``per_item`` (kind and metric -> item id -> value) and ``predictions`` load on demand: the run's
    ``document`` leaves them out.
    """

    __tablename__ = "task_results"
    __table_args__ = (UniqueConstraint("run_digest", "task", "split", "variant_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_digest: Mapped[str] = mapped_column(ForeignKey("runs.digest", ondelete="CASCADE"), index=True)
    task: Mapped[str] = mapped_column(index=True)
    task_version: Mapped[int]
    split: Mapped[str]
    variant_key: Mapped[str] = mapped_column(default="", server_default="")
    dataset_fingerprint: Mapped[str] = mapped_column(String(64))
    user_data: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The inputs are a user's own dataset (``inputs.source == "user"``): a board cell of it is keyed on
    the task *and* ``dataset_fingerprint``, so two datasets that share a name never share a column."""
    verified: Mapped[bool]
    rescored: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Every metric was recomputed at ingest from the file and the local data (``Task.check``)."""
    main_metric: Mapped[str]
    settings: Mapped[dict[str, Any]]
    n_items: Mapped[int]
    seconds_total: Mapped[float]
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the board's main table reads of the result besides its metrics, written at ingest
    (``ingest.board_summary``): ``counts``, ``timings_s``, ``sizes_bytes``, ``train_cap`` (the
    setting as stored) and ``replicates`` (each replicate's metrics), so no document is parsed.
    Declared before ``per_item``: SQLite reads a row's columns in order, and skipping megabytes of
    per-item values to reach it made the board's query 0.2 s slower at 4,000 cells."""
    per_item: Mapped[str | None] = mapped_column(Text, deferred=True)
    """JSON text written by pydantic's serializer: millions of items never become Python objects twice."""
    predictions: Mapped[str | None] = mapped_column(Text, deferred=True)
    run: Mapped[RunRow] = relationship(back_populates="tasks")
    metrics: Mapped[list[MetricRow]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class MetricRow(Base):
    """One aggregate metric of a task result (long format)."""

    __tablename__ = "metrics"

    task_result_id: Mapped[int] = mapped_column(
        ForeignKey("task_results.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[float]


class PublishedSourceRow(Base):
    """One imported source file of published scores (an MTEB result file, Pyserini's 2CR yaml).

    ``path`` is where its byte-identical copy lies under the project's ``published/`` folder (unique),
    so a rebuild (``harness import all``) re-imports it; ``sha256`` is over those bytes. A new file at
    the same path replaces the old one's scores.
    """

    __tablename__ = "published_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    scores: Mapped[list[PublishedScoreRow]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class PublishedScoreRow(Base):
    """One published score, keyed on what it was measured on, never on the task name alone.

    (source kind, model, model revision, source task, dataset revision, split, subset, metric) is
    unique per source file; ``task`` is our task the source task maps to (None: none here) and
    ``same_data`` says the dataset revision is one known to equal our card's data
    (``harness.published.tasks``).
    """

    __tablename__ = "published_scores"
    __table_args__ = (
        UniqueConstraint(
            "source_id",
            "model_id",
            "model_revision",
            "source_task",
            "dataset_revision",
            "split",
            "subset",
            "metric",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("published_sources.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[str] = mapped_column(index=True)
    model_revision: Mapped[str] = mapped_column(String(100))
    measured_as: Mapped[str | None]
    """The model id our runs carry for this model (``bm25-flat`` for ``pyserini/bm25-flat``), or None."""
    source_task: Mapped[str]
    task: Mapped[str | None] = mapped_column(index=True)
    dataset_revision: Mapped[str] = mapped_column(String(100))
    split: Mapped[str] = mapped_column(String(50))
    subset: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str]
    source_metric: Mapped[str]
    value: Mapped[float]
    main: Mapped[bool]
    same_data: Mapped[bool]
    tool: Mapped[str]
    """What produced the score, as the source says (``mteb 1.12.75``, ``pyserini 2cr``)."""
