"""The store: SQLAlchemy tables that index results files, and the reads the leaderboard makes.

Invariants:
- The results files are the record; the database is an index of them and can be rebuilt from the
  files at any time (``harness ingest results/ submissions/``). Nothing here is the only copy.
- ``ingest`` is atomic: one transaction per file, so either every row of a file lands or none does.
- ``ingest`` is idempotent: a run is keyed by the content digest of its file, and a digest that is
  already stored is a no-op (also when a concurrent process stored it first).
- Rows are only added, never rewritten, except ``runs.reproduced``, which ``harness verify`` sets.
- The leaderboard shows, for each (model, revision, task, task version, split), the newest run by
  ``created_at``, never the best one. Throughput is derived from the stored document, not stored.
- On SQLite every connection enforces foreign keys (without the pragma cascades are ignored),
  uses WAL and waits up to 30 s for a lock. A read-only engine opens the file with ``mode=ro``.
"""

from __future__ import annotations

import math
import random
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd  # type: ignore[import-untyped]
from sqlalchemy import (
    JSON,
    DateTime,
    Double,
    ForeignKey,
    String,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    false,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from harness.errors import InputError
from harness.metrics import metric_info
from harness.results import Hardware, ResultsFile, TaskResult, digest, read_results

DEFAULT_URL = "sqlite:///results/harness.sqlite"
ORIGINS = ("local", "submission")
BUSY_TIMEOUT_MS = 30_000

_DIGEST = re.compile(r"[0-9a-f]{6,64}")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, float: Double}


class RunRow(Base):
    """One results file; ``digest`` is its content address."""

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
    origin: Mapped[str]
    reproduced: Mapped[bool] = mapped_column(default=False, server_default=false())
    document: Mapped[dict[str, Any]] = mapped_column(deferred=True)
    tasks: Mapped[list[TaskRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )


class TaskRow(Base):
    """One task result inside a run; ``per_item`` (metric -> item id -> value) is loaded on demand."""

    __tablename__ = "task_results"
    __table_args__ = (UniqueConstraint("run_digest", "task", "split"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_digest: Mapped[str] = mapped_column(ForeignKey("runs.digest", ondelete="CASCADE"), index=True)
    task: Mapped[str] = mapped_column(index=True)
    task_version: Mapped[int]
    split: Mapped[str]
    dataset_fingerprint: Mapped[str] = mapped_column(String(64))
    verified: Mapped[bool]
    main_metric: Mapped[str]
    settings: Mapped[dict[str, Any]]
    n_items: Mapped[int]
    seconds_total: Mapped[float]
    per_item: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    run: Mapped[RunRow] = relationship(back_populates="tasks")
    metrics: Mapped[list[MetricRow]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class MetricRow(Base):
    """One aggregate metric of a task result (long format: a new metric needs no migration)."""

    __tablename__ = "metrics"

    task_result_id: Mapped[int] = mapped_column(
        ForeignKey("task_results.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[float]


@dataclass
class IngestReport:
    """What ``ingest_paths`` did with each file: stored, already stored, or refused (with the reason)."""

    ingested: list[Path] = field(default_factory=list)
    already: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)


# --- connecting ---------------------------------------------------------------------------------


def _one_line(error: BaseException) -> str:
    """The driver's message without SQLAlchemy's SQL echo and help links."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def _sqlite_url(url: URL, readonly: bool) -> URL:
    """Create the folder of a SQLite file (read-write) or turn the URL into ``file:...?mode=ro``."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or "uri" in url.query:
        return url
    path = Path(database).expanduser()
    if not readonly:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(
                "--db", "url", f"cannot create the folder {path.parent}: {error.strerror}"
            ) from None
        return url.set(database=str(path))
    if not path.is_file():
        raise InputError("--db", "url", f"{path}: no such database file (run `harness ingest` first)")
    uri_path = quote(str(path.resolve()), safe="/")
    return url.set(database=f"file:{uri_path}", query={**url.query, "mode": "ro", "uri": "true"})


def _sqlite_pragmas(readonly: bool) -> Any:
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            if not readonly:
                _retry_locked(lambda: cursor.execute("PRAGMA journal_mode=WAL"))
        finally:
            cursor.close()

    return on_connect


LOCKED_RETRIES = 100
"""Bounded retries (about 10 s) of a step that SQLite refuses with "database is locked" at once."""


def _retry_locked(step: Callable[[], object]) -> None:
    """Run ``step``, retrying while SQLite says "database is locked".

    SQLite skips the busy handler where waiting could deadlock: switching a new file to WAL, or a
    reader upgrading to a writer while another writer waits. Those fail at once whatever the busy
    timeout, so several processes opening one new database need a short, bounded retry.
    """
    for attempt in range(LOCKED_RETRIES + 1):
        try:
            step()
            return
        except (sqlite3.OperationalError, OperationalError) as error:
            if "locked" not in str(error) or attempt == LOCKED_RETRIES:
                raise
            time.sleep(0.05 + random.random() * 0.1)


def _create_tables(engine: Engine) -> None:
    """``create_all``, safe when several processes open a new database at once.

    ``create_all`` checks for each table and then creates it; a process that loses the race between
    the two sees "table ... already exists". Tables are only ever added, so checking again settles it.
    """
    for attempt in range(len(Base.metadata.tables) + 1):
        try:
            _retry_locked(lambda: Base.metadata.create_all(engine))
            return
        except OperationalError as error:
            if "already exists" not in str(error.orig) or attempt == len(Base.metadata.tables):
                raise


def connect(url: str = DEFAULT_URL, readonly: bool = False) -> Engine:
    """Open the database at ``url`` (any SQLAlchemy URL) and make sure the tables exist.

    A read-only engine creates nothing; for SQLite it opens the file with ``mode=ro`` so that every
    write fails, and it refuses a file without the harness tables. Other servers are read-only only
    if the account is. Call ``engine.dispose()`` when done so SQLite folds its WAL into the file.

    Raises:
        InputError: the URL cannot be parsed, its driver is not installed, or the database cannot be
            opened (``--db: url: ...``).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError("--db", "url", f"{url!r} is not a database URL (e.g. {DEFAULT_URL})") from None
    shown = parsed.render_as_string(hide_password=True)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        parsed = _sqlite_url(parsed, readonly)
    try:
        engine = create_engine(parsed)
    except NoSuchModuleError:
        raise InputError("--db", "url", f"{shown}: unknown database dialect {parsed.drivername!r}") from None
    except ImportError as error:
        raise InputError("--db", "url", f"{shown}: database driver not installed ({error.name})") from None
    except ArgumentError as error:
        raise InputError("--db", "url", f"{shown}: {_one_line(error)}") from None
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas(readonly))
    try:
        if readonly:
            if not inspect(engine).has_table(RunRow.__tablename__):
                engine.dispose()
                raise InputError(
                    "--db", "url", f"{shown}: holds no harness tables (run `harness ingest` first)"
                )
        else:
            _create_tables(engine)
    except DBAPIError as error:
        engine.dispose()
        raise InputError("--db", "url", f"{shown}: cannot open: {_one_line(error)}") from None
    return engine


# --- writing ------------------------------------------------------------------------------------


def hardware_summary(hardware: Hardware) -> str:
    """One line for the board, e.g. ``2 CPU (AMD EPYC 7B13), no GPU``."""
    gpu = f"GPU {hardware.gpu}" if hardware.gpu else "no GPU"
    return f"{hardware.logical_cpus} CPU ({hardware.cpu}), {gpu}"


def _n_items(result: TaskResult) -> int:
    """Items behind the main metric: its per-item values, else the dataset's query count (or 0)."""
    if result.main_metric in result.per_item:
        return len(result.per_item[result.main_metric])
    return result.dataset.counts.get("queries", 0)


def _task_row(result: TaskResult) -> TaskRow:
    dumped = result.model_dump(mode="json")
    timings = result.timings_s
    return TaskRow(
        task=result.task,
        task_version=result.task_version,
        split=result.split,
        dataset_fingerprint=result.dataset.fingerprint,
        verified=result.dataset.verified,
        main_metric=result.main_metric,
        settings=dumped["settings"],
        n_items=_n_items(result),
        seconds_total=timings["total"] if "total" in timings else math.fsum(timings.values()),
        per_item=dumped["per_item"] or None,
        metrics=[MetricRow(name=name, value=value) for name, value in sorted(result.metrics.items())],
    )


def _run_row(results: ResultsFile, key: str, origin: str) -> RunRow:
    return RunRow(
        digest=key,
        schema_version=results.schema_version,
        created_at=results.created_at.astimezone(UTC),
        suite=results.suite,
        harness_version=results.harness.version,
        harness_commit=results.harness.git_commit,
        model_id=results.model.id,
        model_revision=results.model.revision,
        model_weights_sha256=results.model.weights_sha256,
        model_kind=results.model.kind,
        hardware=hardware_summary(results.environment.hardware),
        origin=origin,
        reproduced=False,
        document=results.model_dump(mode="json"),
    )


def _is_stored(engine: Engine, key: str) -> bool:
    with Session(engine) as session:
        return session.scalar(select(RunRow.digest).where(RunRow.digest == key)) is not None


def ingest(engine: Engine, results: ResultsFile, origin: str = "local") -> bool:
    """Store one results file in one transaction; True if stored now, False if it already was.

    Raises:
        InputError: two results of the file share a (task, split); nothing is stored.
        ValueError: ``origin`` is not one of ``ORIGINS``.
    """
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}, not {origin!r}")
    seen: set[tuple[str, str]] = set()
    for index, result in enumerate(results.results):
        if (result.task, result.split) in seen:
            raise InputError("results", f"results[{index}]", f"{result.task} {result.split} appears twice")
        seen.add((result.task, result.split))
    key = digest(results)
    try:
        with Session(engine) as session, session.begin():
            if session.scalar(select(RunRow.digest).where(RunRow.digest == key)) is not None:
                return False
            run = _run_row(results, key, origin)
            session.add(run)
            for result in results.results:
                run.tasks.append(_task_row(result))
                session.flush()
    except IntegrityError:
        if _is_stored(engine, key):  # a concurrent ingest of the same file won the race
            return False
        raise
    return True


def _json_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if p.is_file())
    return [path]


def ingest_paths(engine: Engine, paths: Iterable[Path], origin: str = "local") -> IngestReport:
    """Ingest every ``*.json`` under the given folders (and the given files), each on its own.

    A file that cannot be read or validated is listed in ``refused`` with its one-line error and
    does not stop the others.
    """
    report = IngestReport()
    for root in paths:
        for path in _json_files(root):
            try:
                stored = ingest(engine, read_results(path), origin)
            except InputError as error:
                where = str(path)
                message = (
                    str(error) if error.where == where else str(InputError(where, error.field, error.message))
                )
                report.refused.append((path, message))
                continue
            (report.ingested if stored else report.already).append(path)
    return report


def _resolve_digest(session: Session, text: str) -> str:
    """A full digest, or a unique prefix of at least 6 hex digits (file names carry 12)."""
    if _DIGEST.fullmatch(text) is None:
        raise InputError(text, "digest", "must be 6 to 64 lower-case hex digits")
    if len(text) == 64:
        found = list(session.scalars(select(RunRow.digest).where(RunRow.digest == text)))
    else:
        found = list(session.scalars(select(RunRow.digest).where(RunRow.digest.startswith(text)).limit(2)))
    if not found:
        raise InputError(text, "digest", "no run with this digest in the database")
    if len(found) > 1:
        raise InputError(text, "digest", "matches more than one run; give more digits")
    return found[0]


def mark_reproduced(engine: Engine, digest: str) -> None:
    """Record that ``harness verify`` reproduced this run's scores."""
    with Session(engine) as session, session.begin():
        key = _resolve_digest(session, digest)
        session.execute(update(RunRow).where(RunRow.digest == key).values(reproduced=True))


# --- reading ------------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run_detail(engine: Engine, digest: str) -> dict[str, Any]:
    """The stored results document of a run (the whole file, as JSON values)."""
    with Session(engine) as session:
        key = _resolve_digest(session, digest)
        document: dict[str, Any] = session.execute(
            select(RunRow.document).where(RunRow.digest == key)
        ).scalar_one()
    return document


def per_item(
    engine: Engine, digest: str, task: str, metric: str, split: str | None = None
) -> dict[str, float]:
    """Per-item values (item id -> value) of one metric of one task in one run, for significance tests."""
    with Session(engine) as session:
        key = _resolve_digest(session, digest)
        query = select(TaskRow.split, TaskRow.per_item).where(TaskRow.run_digest == key, TaskRow.task == task)
        if split is not None:
            query = query.where(TaskRow.split == split)
        rows = session.execute(query).all()
    if not rows:
        raise InputError(digest, "task", f"the run has no result for {task}" + (f" {split}" if split else ""))
    if len(rows) > 1:
        raise InputError(
            digest, "split", f"{task} has several splits ({', '.join(r.split for r in rows)}); name one"
        )
    values = (rows[0].per_item or {}).get(metric)
    if values is None:
        raise InputError(digest, f"{task}.per_item", f"no per-item values stored for {metric}")
    return {str(item): float(value) for item, value in values.items()}


def list_runs(engine: Engine) -> pd.DataFrame:
    """Every stored run, newest first, with its number of task results."""
    query = (
        select(
            RunRow.digest,
            RunRow.created_at,
            RunRow.suite,
            RunRow.model_id,
            RunRow.model_revision.label("revision"),
            RunRow.model_kind.label("kind"),
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
        rows = [row._asdict() for row in session.execute(query)]
    columns = [c.name for c in query.selected_columns]
    frame = pd.DataFrame(rows, columns=columns)
    frame["created_at"] = [_utc(value) for value in frame["created_at"]]
    frame["reproduced"] = frame["reproduced"].astype(bool)
    return frame


def _column_labels(cells: pd.DataFrame) -> list[str]:
    """``task``, plus `` vN`` / `` (split)`` only where the board holds several versions / splits of it."""
    versions = cells.groupby("task")["task_version"].nunique()
    splits = cells.groupby("task")["split"].nunique()
    labels = []
    for task, version, split in zip(cells["task"], cells["task_version"], cells["split"], strict=True):
        label = str(task)
        if versions[task] > 1:
            label += f" v{version}"
        if splits[task] > 1:
            label += f" ({split})"
        labels.append(label)
    return labels


def load_documents(engine: Engine, digests: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored results files of ``digests`` (deferred column: loaded only when asked for)."""
    keys = sorted(set(digests))
    if not keys:
        return {}
    query = select(RunRow.digest, RunRow.document).where(RunRow.digest.in_(keys))
    with Session(engine) as session:
        return {str(key): document for key, document in session.execute(query)}


def find_result(
    document: Mapping[str, Any], task: str, split: str, task_version: int
) -> Mapping[str, Any] | None:
    """The task result of a stored document for one (task, split, task_version), if it has one."""
    for result in document["results"]:
        if (result["task"], result["split"], result["task_version"]) == (task, split, task_version):
            found: Mapping[str, Any] = result
            return found
    return None


def _queries_per_s(documents: dict[str, dict[str, Any]], cells: pd.DataFrame) -> float:
    """Total queries over total search seconds of a row's cells (``counts.queries / timings_s.search``)."""
    queries = 0
    seconds = 0.0
    for cell in cells.itertuples():
        result = find_result(documents[cell.digest], str(cell.task), str(cell.split), int(cell.task_version))
        if result is None:
            continue
        count = result["dataset"]["counts"].get("queries")
        search = result["timings_s"].get("search")
        if count is not None and search:
            queries += count
            seconds += search
    return queries / seconds if seconds > 0 else math.nan


_ROW_COLUMNS = ["model_id", "revision", "kind", "origin", "reproduced", "digest", "created_at"]


def leaderboard(
    engine: Engine, suite: str, metric: str | None = None, verified_only: bool = False
) -> pd.DataFrame:
    """``leaderboard_with_documents`` without the documents; see there."""
    return leaderboard_with_documents(engine, suite, metric, verified_only)[0]


def leaderboard_with_documents(
    engine: Engine, suite: str, metric: str | None = None, verified_only: bool = False
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """One row per model@revision, one column per task, plus ``mean`` and ``queries_per_s``.

    For each (model, revision, task, task version, split) only the newest run counts (by
    ``created_at``, ties by digest), never the best; a cell is NaN when that run lacks the metric.
    ``metric`` defaults to each task's main metric. ``mean`` is taken over the task columns that
    have a value in every row (``attrs["mean_over"]``) and is NaN when there are none. The row's
    kind, origin, digest and created_at are those of its newest run; ``reproduced`` holds when all
    its runs were reproduced; ``digests`` maps each task column to the run it came from.
    ``attrs["tasks"]`` lists the task columns and ``attrs["columns"]`` names the task, task version,
    split and main metric behind each. Rows are sorted by ``mean``, best first. The stored
    documents of every run in the table come along, so a caller needing more facts reads them once.
    """
    rank = (
        func.row_number()
        .over(
            partition_by=(
                RunRow.model_id,
                RunRow.model_revision,
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
    )
    with Session(engine) as session:
        rows = [row._asdict() for row in session.execute(query)]
    documents = load_documents(engine, (row["digest"] for row in rows))

    cells = pd.DataFrame(rows, columns=[c.name for c in query.selected_columns])
    cells["value"] = cells["value"].astype(float)
    cells["created_at"] = [_utc(value) for value in cells["created_at"]]
    cells["revision_key"] = cells["revision"].fillna("")
    cells["column"] = _column_labels(cells) if len(cells) else []
    tasks = sorted(set(cells["column"]))

    records = []
    for (model_id, revision_key), group in cells.groupby(["model_id", "revision_key"], sort=True):
        group = group.sort_values(["created_at", "digest"])
        latest = group.iloc[-1]
        record: dict[str, Any] = {
            "model": f"{model_id}@{revision_key}" if revision_key else str(model_id),
            "model_id": model_id,
            "revision": revision_key or None,
            "kind": latest["kind"],
            "origin": latest["origin"],
            "reproduced": bool(group["reproduced"].astype(bool).all()),
            "digest": latest["digest"],
            "created_at": latest["created_at"],
        }
        record.update(dict(zip(group["column"], group["value"], strict=True)))
        record["queries_per_s"] = _queries_per_s(documents, group)
        record["digests"] = dict(zip(group["column"], group["digest"], strict=True))
        records.append(record)

    board = pd.DataFrame(records, columns=["model", *_ROW_COLUMNS, *tasks, "queries_per_s", "digests"])
    board = board.set_index("model")
    board[tasks] = board[tasks].astype(float)
    complete = [task for task in tasks if board[task].notna().all()]
    board["mean"] = board[complete].mean(axis=1) if complete else math.nan
    board["mean"] = board["mean"].astype(float)
    board["queries_per_s"] = board["queries_per_s"].astype(float)
    board["reproduced"] = board["reproduced"].astype(bool)
    board = board[[*_ROW_COLUMNS, *tasks, "mean", "queries_per_s", "digests"]]
    board = board.sort_values(
        ["mean"], ascending=not _higher_is_better(metric), na_position="last", kind="stable"
    )
    keys = cells.drop_duplicates("column").set_index("column")
    columns = {
        label: {
            "task": str(keys.at[label, "task"]),
            "task_version": int(keys.at[label, "task_version"]),
            "split": str(keys.at[label, "split"]),
            "main_metric": str(keys.at[label, "main_metric"]),
        }
        for label in tasks
    }
    board.attrs = {
        "suite": suite,
        "metric": metric,
        "tasks": tasks,
        "mean_over": complete,
        "columns": columns,
    }
    return board, documents


def _higher_is_better(metric: str | None) -> bool:
    if metric is None:
        return True
    try:
        return metric_info(metric).higher_is_better
    except ValueError:
        return True
