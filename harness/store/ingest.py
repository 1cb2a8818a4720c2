"""Writing the store: one results file in one transaction, idempotent by digest, annotations merged.

Invariants:
- ``ingest`` is atomic: either every row of a file lands or none does.
- A run is keyed by its content digest. Ingesting a stored digest again adds nothing; only its
  standing and annotations can change: ``reference`` outranks ``submission`` (the reference folder
  holds the run: the operator's files outrank a copy that came in as a submission; a submission
  never demotes a reference run), verification records and rescored tasks are unions.
- The standing (``origin``: reference or submission) is the caller's decision, made from where the
  file was read (``submit.intake``); a file's own ``origin`` is only a claim.
- ``seq`` is the ingest order, so "newest" is what this database stored last, never a file's
  ``created_at`` (a file can claim 9999-12-31). The insert computes it (``NEXT_SEQ``) under the
  write lock (SQLite) or the ingest lock (``engine.serialize_ingest``, PostgreSQL): unique, and in
  commit order, with any number of processes ingesting at once.
- ``runs.document`` holds the file without its per-item values and predictions, which live in their
  task rows: the board reads documents for every cell and must not pay for millions of items;
  ``queries.run_detail`` puts them back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import ScalarSelect, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from harness.errors import InputError
from harness.results import Hardware, ResultsFile, TaskResult, Verification, digest, variant_key
from harness.store.engine import serialize_ingest
from harness.store.tables import MetricRow, RunRow, TaskRow

Outcome = Literal["stored", "updated", "unchanged"]
"""``stored``: a new run; ``updated``: a stored run gained annotations; ``unchanged``: nothing new."""

Standing = Literal["reference", "submission"]
"""How the board may show a run: ``reference`` (made by ``harness run`` here, read from the reference
folder) or ``submission`` (anything else); see CONTRIBUTING.md, "Trust"."""
STANDINGS: tuple[Standing, ...] = ("reference", "submission")

TaskKey = tuple[str, str, str]
"""(task, split, variant key) of a task result, as ``TaskResult.key``."""


@dataclass
class IngestReport:
    """What an ingest of many files did with each: stored, updated, already stored, or refused (why)."""

    ingested: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    already: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)


def hardware_summary(hardware: Hardware) -> str:
    """One line for the board, e.g. ``2 CPU (AMD EPYC 7B13), no GPU``."""
    gpu = f"GPU {hardware.gpu}" if hardware.gpu else "no GPU"
    return f"{hardware.logical_cpus} CPU ({hardware.cpu}), {gpu}"


def _n_items(result: TaskResult) -> int:
    """Items behind the main metric: its per-item values, else its predictions, else its replicates."""
    if result.per_item is not None and result.main_metric in result.per_item.values:
        return len(result.per_item.values[result.main_metric])
    if result.predictions is not None:
        return len(result.predictions.values)
    return len(result.replicates)


def _task_row(result: TaskResult, rescored: bool) -> TaskRow:
    timings = result.timings_s
    return TaskRow(
        task=result.task,
        task_version=result.task_version,
        split=result.split,
        variant_key=variant_key(result.variant),
        dataset_fingerprint=result.inputs.fingerprint,
        user_data=result.inputs.source == "user",
        verified=result.inputs.verified,
        rescored=rescored,
        main_metric=result.main_metric,
        settings=result.model_dump(mode="json", include={"settings"})["settings"],
        n_items=_n_items(result),
        seconds_total=timings["total"] if "total" in timings else math.fsum(timings.values()),
        per_item=result.per_item.model_dump_json() if result.per_item is not None else None,
        predictions=result.predictions.model_dump_json() if result.predictions is not None else None,
        metrics=[MetricRow(name=name, value=value) for name, value in sorted(result.metrics.items())],
        summary=board_summary(result),
    )


def board_summary(result: TaskResult) -> dict[str, Any]:
    """What the board's main table reads of a task result besides its metrics (``TaskRow.summary``).

    The same values as the stored document's result, so the table is what reading the document gave.
    """
    return {
        "counts": dict(result.inputs.counts),
        "timings_s": dict(result.timings_s),
        "sizes_bytes": dict(result.sizes_bytes),
        "train_cap": result.settings.get("train_cap"),
        "replicates": [dict(replicate.metrics) for replicate in result.replicates],
    }


def _dimension(results: ResultsFile) -> float | None:
    """``model.parameters.dimension`` as the board reads it: a number (a bool counts, as in JSON), or None."""
    value = results.model.parameters.get("dimension")
    return float(value) if isinstance(value, int | float) else None


BULKY = ("per_item", "predictions")
"""Task result fields kept in ``task_results`` rather than in ``runs.document``."""


def slim_document(results: ResultsFile, origin: Standing) -> dict[str, Any]:
    """The file as JSON values without its bulky per-item fields, ``origin`` as the file spells it."""
    document = results.model_dump(mode="json", exclude={"results": {"__all__": set(BULKY)}})
    document["origin"] = file_origin(origin)
    return document


def file_origin(origin: str) -> str:
    """The standing as a results file spells its origin: ``local`` (made here) or ``submission``."""
    return "local" if origin == "reference" else "submission"


NEXT_SEQ: ScalarSelect[int] = select(func.coalesce(func.max(RunRow.seq), 0) + 1).scalar_subquery()
"""``runs.seq`` of the run being inserted, evaluated by the INSERT itself (never read, then written)."""


def _run_row(results: ResultsFile, key: str, origin: Standing, seq: int | ScalarSelect[int]) -> RunRow:
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
        seq=seq,
        reproduced=results.reproduced,
        verifications=[v.model_dump(mode="json") for v in results.verifications],
        document=slim_document(results, origin),
        n_parameters=results.model.n_parameters,
        dimension=_dimension(results),
        hardware_record=results.environment.hardware.model_dump(mode="json"),
    )


def _merged_annotations(
    origin: str, verifications: list[dict[str, Any]], new_origin: str, new_verifications: list[dict[str, Any]]
) -> tuple[str, list[dict[str, Any]]]:
    """Standing "reference" wins; verification records are a union, in the order first seen."""
    merged_origin = "reference" if "reference" in (origin, new_origin) else origin
    known = [json.dumps(v, sort_keys=True) for v in verifications]
    extra = [v for v in new_verifications if json.dumps(v, sort_keys=True) not in known]
    return merged_origin, [*verifications, *extra]


def _merge_into(
    session: Session, key: str, new_origin: str, new: list[dict[str, Any]], rescored: frozenset[TaskKey]
) -> Outcome:
    """Merge standing, verifications and rescored tasks into the stored run; only changes are written."""
    serialize_ingest(session)  # two merges must not both read the old verifications
    row = session.execute(select(RunRow.origin, RunRow.verifications).where(RunRow.digest == key)).one()
    stored_verifications = list(row.verifications or [])
    origin, verifications = _merged_annotations(row.origin, stored_verifications, new_origin, new)
    changed = False
    if rescored:
        tasks = session.execute(
            select(TaskRow.id, TaskRow.task, TaskRow.split, TaskRow.variant_key).where(
                TaskRow.run_digest == key, TaskRow.rescored.is_(False)
            )
        ).all()
        newly = [task.id for task in tasks if (task.task, task.split, task.variant_key) in rescored]
        if newly:
            session.execute(update(TaskRow).where(TaskRow.id.in_(newly)).values(rescored=True))
            changed = True
    if origin == row.origin and len(verifications) == len(stored_verifications):
        return "updated" if changed else "unchanged"
    document = dict(session.scalar(select(RunRow.document).where(RunRow.digest == key)) or {})
    document["origin"] = file_origin(origin)
    document["verifications"] = verifications
    session.execute(
        update(RunRow)
        .where(RunRow.digest == key)
        .values(
            origin=origin,
            reproduced=any(v.get("reproduced") is True for v in verifications),
            verifications=verifications,
            document=document,
        )
    )
    return "updated"


def ingest(
    engine: Engine,
    results: ResultsFile,
    origin: Standing | None = None,
    rescored: Iterable[TaskKey] = (),
    key: str | None = None,
) -> Outcome:
    """Store one results file in one transaction, or merge its standing and annotations into the stored run.

    Args:
        engine: the database.
        results: the run, checked by the caller (``submit.check``) where it came from outside.
        origin: the run's standing; None takes the file's own claim (``local`` -> reference), which
            only callers that made the file themselves may do (``harness run``, tests).
        rescored: the task results whose every metric was recomputed at the gate (``submit.check``).
        key: the run's digest when the caller has it (a 50 MB file takes seconds to digest).

    Raises:
        InputError: two results of the file share a (task, split, variant); nothing is stored.
    """
    seen: set[tuple[str, str, str]] = set()
    for index, result in enumerate(results.results):
        if result.key in seen:
            raise InputError("results", f"results[{index}]", f"{result.task} {result.split} appears twice")
        seen.add(result.key)
    standing: Standing = origin or ("reference" if results.origin == "local" else "submission")
    done = frozenset(rescored)
    verifications = [v.model_dump(mode="json") for v in results.verifications]
    key = key or digest(results)
    try:
        with Session(engine) as session, session.begin():
            if session.scalar(select(RunRow.digest).where(RunRow.digest == key)) is not None:
                return _merge_into(session, key, standing, verifications, done)
            run = _run_row(results, key, standing, NEXT_SEQ)
            run.tasks = [_task_row(result, result.key in done) for result in results.results]
            serialize_ingest(session)
            session.add(run)
            session.flush()
    except IntegrityError:
        with Session(engine) as session, session.begin():  # a concurrent ingest of the same run won the race
            if session.scalar(select(RunRow.digest).where(RunRow.digest == key)) is None:
                raise
            return _merge_into(session, key, standing, verifications, done)
    return "stored"


def record_verification(engine: Engine, key: str, verification: Verification) -> bool:
    """Add a ``harness verify`` record to a stored run; False when the run is not stored.

    Only annotations change: a verified file that is not in the database is not ingested by this
    (its standing would be the file's own claim).
    """
    with Session(engine) as session, session.begin():
        origin = session.scalar(select(RunRow.origin).where(RunRow.digest == key))
        if origin is None:
            return False
        _merge_into(session, key, origin, [verification.model_dump(mode="json")], frozenset())
    return True
