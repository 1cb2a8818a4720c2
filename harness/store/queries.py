"""Reading the store: typed query functions, the only way the board and the CLI read the database.

They return plain frozen records (no pandas: ``harness run`` never imports it) and write nothing.
The leaderboard's cells are the **newest** run of each (standing, model, revision, variant, task,
task version, split) in ingest order (``runs.seq``), never the best one and never by the file's own
``created_at``. Reference runs and submissions are separate namespaces: a submitted run of a
reference model is a cell of its own row, beside the reference row and never in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from harness.errors import InputError, SettingError
from harness.results import variant_key
from harness.store.tables import MetricRow, RunRow, TaskRow

_DIGEST = re.compile(r"[0-9a-f]{6,64}")


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class RunSummary:
    """One stored run, as listed on the model page."""

    digest: str
    created_at: datetime
    suite: str
    model_id: str
    revision: str | None
    kind: str
    origin: str
    reproduced: bool
    seq: int
    hardware: str
    harness_version: str
    n_tasks: int


@dataclass(frozen=True)
class Cell:
    """One leaderboard cell: the newest run's value of a metric for one model and task."""

    task_result_id: int
    task: str
    task_version: int
    split: str
    variant: str
    main_metric: str
    digest: str
    created_at: datetime
    seq: int
    model_id: str
    revision: str | None
    kind: str
    origin: str
    reproduced: bool
    verified: bool
    rescored: bool
    value: float | None
    user_fingerprint: str | None = None
    """The dataset fingerprint of a cell of user data (``inputs.source == "user"``), else None: user
    data is keyed on its task and fingerprint, so two datasets named ``beir/mine`` are two columns."""
    summary: Mapping[str, Any] = field(default_factory=dict)
    """The task result's ``counts``, ``timings_s``, ``sizes_bytes``, ``train_cap`` and ``replicates``
    (each replicate's metrics), as stored at ingest (``TaskRow.summary``): what the board's speed,
    size and spread columns need, without the run's document."""

    @property
    def label(self) -> str:
        """Where the cell came from, as the board says it (``trust_label``)."""
        return trust_label(self.origin, self.reproduced, self.rescored)


TRUST_LABELS = ("reference", "submitted, reproduced", "submitted, rescored", "submitted")
"""Strongest first: made here; re-run here by ``harness verify`` and matched; every metric
recomputed here from the file and the local data; only checked for consistency."""


def trust_label(origin: str, reproduced: bool, rescored: bool) -> str:
    """``reference``, ``submitted, reproduced``, ``submitted, rescored`` or ``submitted``.

    A run ranked elsewhere and scored here (``harness score``, ``model.source`` "external") is never
    reference: its standing is "submission", and "rescored" says its metrics were computed here from
    its run file and the card's data, not that its ranking was made here.
    """
    if origin == "reference":
        return "reference"
    if reproduced:
        return "submitted, reproduced"
    return "submitted, rescored" if rescored else "submitted"


def suite_counts(engine: Engine) -> dict[str, int]:
    """Number of stored runs per suite."""
    query = select(RunRow.suite, func.count()).group_by(RunRow.suite)
    with Session(engine) as session:
        return {str(suite): int(count) for suite, count in session.execute(query)}


def metric_names(engine: Engine, suite: str) -> list[str]:
    """The metric names stored for a suite, main metrics first, then alphabetically."""
    with Session(engine) as session:
        names = set(
            session.scalars(
                select(MetricRow.name)
                .distinct()
                .join(TaskRow, TaskRow.id == MetricRow.task_result_id)
                .join(RunRow, RunRow.digest == TaskRow.run_digest)
                .where(RunRow.suite == suite)
            )
        )
        mains = set(
            session.scalars(
                select(TaskRow.main_metric)
                .distinct()
                .join(RunRow, RunRow.digest == TaskRow.run_digest)
                .where(RunRow.suite == suite)
            )
        )
    return sorted(names, key=lambda name: (name not in mains, name))


def cells(engine: Engine, suite: str, metric: str | None = None, verified_only: bool = False) -> list[Cell]:
    """The newest run of each (standing, model, revision, variant, task, task version, split) in ``suite``.

    For user data the dataset fingerprint is part of that key (``Cell.user_fingerprint``). Each cell
    holds its value of ``metric`` (default: each task's main metric; None where the run lacks it).
    """
    dataset = case((TaskRow.user_data.is_(True), TaskRow.dataset_fingerprint), else_="")
    rank = (
        func.row_number()
        .over(
            partition_by=(
                RunRow.origin,
                RunRow.model_id,
                RunRow.model_revision,
                TaskRow.variant_key,
                TaskRow.task,
                TaskRow.task_version,
                TaskRow.split,
                dataset,
            ),
            order_by=(RunRow.seq.desc(), RunRow.digest.desc()),
        )
        .label("rank")
    )
    ranked = select(
        TaskRow.id.label("task_result_id"),
        TaskRow.task,
        TaskRow.task_version,
        TaskRow.split,
        TaskRow.variant_key.label("variant"),
        TaskRow.main_metric,
        RunRow.digest,
        RunRow.created_at,
        RunRow.seq,
        RunRow.model_id,
        RunRow.model_revision.label("revision"),
        RunRow.model_kind.label("kind"),
        RunRow.origin,
        RunRow.reproduced,
        TaskRow.verified,
        TaskRow.rescored,
        TaskRow.summary,
        dataset.label("dataset"),
        rank,
    ).join(RunRow, TaskRow.run_digest == RunRow.digest)
    ranked = ranked.where(RunRow.suite == suite)
    if verified_only:
        ranked = ranked.where(TaskRow.verified.is_(True))
    newest = ranked.subquery()
    wanted = newest.c.main_metric if metric is None else metric
    query = (
        select(newest, MetricRow.value)
        .outerjoin(
            MetricRow, and_(MetricRow.task_result_id == newest.c.task_result_id, MetricRow.name == wanted)
        )
        .where(newest.c.rank == 1)
        .order_by(newest.c.origin, newest.c.model_id, newest.c.task, newest.c.digest)
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [
        Cell(
            task_result_id=int(row.task_result_id),
            task=str(row.task),
            task_version=int(row.task_version),
            split=str(row.split),
            variant=str(row.variant or ""),
            main_metric=str(row.main_metric),
            digest=str(row.digest),
            created_at=utc(row.created_at),
            seq=int(row.seq),
            model_id=str(row.model_id),
            revision=row.revision,
            kind=str(row.kind),
            origin=str(row.origin),
            reproduced=bool(row.reproduced),
            verified=bool(row.verified),
            rescored=bool(row.rescored),
            value=None if row.value is None else float(row.value),
            user_fingerprint=str(row.dataset) or None,
            summary=row.summary or {},
        )
        for row in rows
    ]


@dataclass(frozen=True)
class RunFacts:
    """What the board's main table shows of a run's model and machine (``RunRow`` summary columns)."""

    n_parameters: int | None
    dimension: float | None
    hardware: Mapping[str, Any]
    """``environment.hardware`` as the file records it."""


def run_facts(engine: Engine, digests: Iterable[str]) -> dict[str, RunFacts]:
    """The model and machine facts of the runs ``digests``, from indexed columns (no document is read)."""
    keys = sorted(set(digests))
    if not keys:
        return {}
    query = select(RunRow.digest, RunRow.n_parameters, RunRow.dimension, RunRow.hardware_record).where(
        RunRow.digest.in_(keys)
    )
    with Session(engine) as session:
        return {
            str(row.digest): RunFacts(
                n_parameters=None if row.n_parameters is None else int(row.n_parameters),
                dimension=None if row.dimension is None else float(row.dimension),
                hardware=row.hardware_record or {},
            )
            for row in session.execute(query)
        }


def resolve_digest(engine: Engine, text: str) -> str:
    """A full digest, or a unique prefix of at least 6 hex digits (file names carry 12).

    Raises:
        SettingError: ``digest``: malformed, unknown or ambiguous.
    """
    if _DIGEST.fullmatch(text) is None:
        raise SettingError("digest", f"{text!r} must be 6 to 64 lower-case hex digits")
    with Session(engine) as session:
        if len(text) == 64:
            found = list(session.scalars(select(RunRow.digest).where(RunRow.digest == text)))
        else:
            query = select(RunRow.digest).where(RunRow.digest.startswith(text)).limit(2)
            found = list(session.scalars(query))
    if not found:
        raise SettingError("digest", f"{text}: no run with this digest in the database")
    if len(found) > 1:
        raise SettingError("digest", f"{text} matches more than one run; give more digits")
    return found[0]


def run_detail(engine: Engine, digest: str) -> dict[str, Any]:
    """The stored results file of a run, whole: the document with its per-item values put back."""
    key = resolve_digest(engine, digest)
    with Session(engine) as session:
        document: dict[str, Any] = dict(
            session.execute(select(RunRow.document).where(RunRow.digest == key)).scalar_one()
        )
        bulky = {
            (row.task, row.split, row.variant_key): row
            for row in session.execute(
                select(
                    TaskRow.task, TaskRow.split, TaskRow.variant_key, TaskRow.per_item, TaskRow.predictions
                ).where(TaskRow.run_digest == key)
            )
        }
    results = []
    for result in document["results"]:
        variant = variant_key(result.get("variant") or {})
        row = bulky.get((result["task"], result["split"], variant))
        whole = dict(result)
        if row is not None:
            whole["per_item"] = None if row.per_item is None else json.loads(row.per_item)
            whole["predictions"] = None if row.predictions is None else json.loads(row.predictions)
        results.append(whole)
    document["results"] = results
    return document


def load_documents(engine: Engine, digests: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored documents of ``digests``, without per-item values and predictions.

    What the board reads for every cell (counts, timings, sizes, model facts); ``run_detail`` has
    the whole file.
    """
    keys = sorted(set(digests))
    if not keys:
        return {}
    query = select(RunRow.digest, RunRow.document).where(RunRow.digest.in_(keys))
    with Session(engine) as session:
        return {str(key): document for key, document in session.execute(query)}


def find_result(
    document: Mapping[str, Any], task: str, split: str, task_version: int, variant: str = ""
) -> Mapping[str, Any] | None:
    """The task result of a stored document for one (task, split, task version, variant), if any."""
    for result in document["results"]:
        shown = variant_key(result.get("variant") or {})
        if (result["task"], result["split"], result["task_version"], shown) == (
            task,
            split,
            task_version,
            variant,
        ):
            found: Mapping[str, Any] = result
            return found
    return None


def per_item(
    engine: Engine, digest: str, task: str, metric: str, split: str | None = None, variant: str = ""
) -> dict[str, float]:
    """Per-item values (item id -> value) of one metric of one task in one run, for significance tests.

    Raises:
        InputError: the run has no such task, several splits of it and none named, or no per-item
            values of ``metric`` (whole-set measures such as Spearman have none).
    """
    key = resolve_digest(engine, digest)
    with Session(engine) as session:
        query = select(TaskRow.split, TaskRow.per_item).where(
            TaskRow.run_digest == key, TaskRow.task == task, TaskRow.variant_key == variant
        )
        if split is not None:
            query = query.where(TaskRow.split == split)
        rows = session.execute(query).all()
    if not rows:
        raise InputError(digest, "task", f"the run has no result for {task}" + (f" {split}" if split else ""))
    if len(rows) > 1:
        raise InputError(
            digest, "split", f"{task} has several splits ({', '.join(r.split for r in rows)}); name one"
        )
    stored = json.loads(rows[0].per_item) if rows[0].per_item else {}
    values = (stored.get("values") or {}).get(metric)
    if values is None:
        raise InputError(digest, f"{task}.per_item", f"no per-item values stored for {metric}")
    return {str(item): float(value) for item, value in values.items()}


def list_runs(engine: Engine) -> list[RunSummary]:
    """Every stored run, newest (last ingested) first, with its number of task results."""
    query = (
        select(
            RunRow.digest,
            RunRow.created_at,
            RunRow.suite,
            RunRow.model_id,
            RunRow.model_revision,
            RunRow.model_kind,
            RunRow.origin,
            RunRow.reproduced,
            RunRow.seq,
            RunRow.hardware,
            RunRow.harness_version,
            func.count(TaskRow.id).label("n_tasks"),
        )
        .outerjoin(TaskRow, TaskRow.run_digest == RunRow.digest)
        .group_by(RunRow.digest)
        .order_by(RunRow.seq.desc(), RunRow.digest)
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [
        RunSummary(
            digest=str(row.digest),
            created_at=utc(row.created_at),
            suite=str(row.suite),
            model_id=str(row.model_id),
            revision=row.model_revision,
            kind=str(row.model_kind),
            origin=str(row.origin),
            reproduced=bool(row.reproduced),
            seq=int(row.seq),
            hardware=str(row.hardware),
            harness_version=str(row.harness_version),
            n_tasks=int(row.n_tasks),
        )
        for row in rows
    ]


def reference_model_ids(engine: Engine) -> set[str]:
    """The model ids of every reference run: ids a submission may use exactly, never imitate."""
    query = select(RunRow.model_id).distinct().where(RunRow.origin == "reference")
    with Session(engine) as session:
        return {str(model_id) for model_id in session.scalars(query)}


def standing_of(engine: Engine, digest: str) -> str | None:
    """The stored standing (reference or submission) of the run with this full digest, if stored."""
    with Session(engine) as session:
        origin = session.scalar(select(RunRow.origin).where(RunRow.digest == digest))
    return None if origin is None else str(origin)
