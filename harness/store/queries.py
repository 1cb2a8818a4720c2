"""Reading the store: typed query functions, the only way the board and the CLI read the database.

They return plain frozen records (no pandas: ``harness run`` never imports it) and write nothing.
The leaderboard's cells are the **newest** run of each (model, revision, variant, task, task
version, split) by ``created_at`` (ties by digest), never the best one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from harness.errors import InputError, SettingError
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
    model_id: str
    revision: str | None
    kind: str
    origin: str
    reproduced: bool
    value: float | None


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
    """The newest run of each (model, revision, variant, task, task version, split) in ``suite``.

    Each cell holds its value of ``metric`` (default: each task's main metric; None where the run
    lacks it).
    """
    rank = (
        func.row_number()
        .over(
            partition_by=(
                RunRow.model_id,
                RunRow.model_revision,
                TaskRow.variant_key,
                TaskRow.task,
                TaskRow.task_version,
                TaskRow.split,
            ),
            order_by=(RunRow.created_at.desc(), RunRow.digest.desc()),
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
        RunRow.model_id,
        RunRow.model_revision.label("revision"),
        RunRow.model_kind.label("kind"),
        RunRow.origin,
        RunRow.reproduced,
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
        .order_by(newest.c.model_id, newest.c.task, newest.c.digest)
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
            model_id=str(row.model_id),
            revision=row.revision,
            kind=str(row.kind),
            origin=str(row.origin),
            reproduced=bool(row.reproduced),
            value=None if row.value is None else float(row.value),
        )
        for row in rows
    ]


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
    """The stored results document of a run (the whole file, as JSON values)."""
    key = resolve_digest(engine, digest)
    with Session(engine) as session:
        document: dict[str, Any] = session.execute(
            select(RunRow.document).where(RunRow.digest == key)
        ).scalar_one()
    return document


def load_documents(engine: Engine, digests: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored results files of ``digests`` (deferred column: loaded only when asked for)."""
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
        shown = ",".join(f"{k}={v}" for k, v in sorted((result.get("variant") or {}).items()))
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
    stored = rows[0].per_item or {}
    values = (stored.get("values") or {}).get(metric)
    if values is None:
        raise InputError(digest, f"{task}.per_item", f"no per-item values stored for {metric}")
    return {str(item): float(value) for item, value in values.items()}


def list_runs(engine: Engine) -> list[RunSummary]:
    """Every stored run, newest first, with its number of task results."""
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
            RunRow.hardware,
            RunRow.harness_version,
            func.count(TaskRow.id).label("n_tasks"),
        )
        .outerjoin(TaskRow, TaskRow.run_digest == RunRow.digest)
        .group_by(RunRow.digest)
        .order_by(RunRow.created_at.desc(), RunRow.digest)
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
            hardware=str(row.hardware),
            harness_version=str(row.harness_version),
            n_tasks=int(row.n_tasks),
        )
        for row in rows
    ]
