"""Writing the store: one results file in one transaction, idempotent by digest, annotations merged.

Invariants:
- ``ingest`` is atomic: either every row of a file lands or none does.
- A run is keyed by its content digest. Ingesting a stored digest again adds nothing; only its
  annotations can change: verification records are merged (a rebuild from files keeps every
  re-run), and ``origin`` becomes "local" when the project's own files hold the run (the operator's
  folders outrank a copy that came in as a submission; a submission never demotes a reference run).
- ``runs.reproduced`` and ``runs.origin`` are read from the file's annotations, never set apart
  from it, so deleting the database and ingesting the files again loses nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from harness.errors import InputError
from harness.results import Hardware, ResultsFile, TaskResult, Verification, digest, variant_key
from harness.results.files import read_versioned
from harness.store.tables import MetricRow, RunRow, TaskRow

Outcome = Literal["stored", "updated", "unchanged"]
"""``stored``: a new run; ``updated``: a stored run gained annotations; ``unchanged``: nothing new."""


@dataclass
class IngestReport:
    """What ``ingest_paths`` did with each file: stored, updated, already stored, or refused (why)."""

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


def _task_row(result: TaskResult) -> TaskRow:
    timings = result.timings_s
    return TaskRow(
        task=result.task,
        task_version=result.task_version,
        split=result.split,
        variant_key=variant_key(result.variant),
        dataset_fingerprint=result.inputs.fingerprint,
        verified=result.inputs.verified,
        main_metric=result.main_metric,
        settings=result.model_dump(mode="json", include={"settings"})["settings"],
        n_items=_n_items(result),
        seconds_total=timings["total"] if "total" in timings else math.fsum(timings.values()),
        per_item=result.per_item.model_dump(mode="json") if result.per_item is not None else None,
        metrics=[MetricRow(name=name, value=value) for name, value in sorted(result.metrics.items())],
    )


def _run_row(results: ResultsFile, key: str) -> RunRow:
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
        origin=results.origin,
        reproduced=results.reproduced,
        verifications=[v.model_dump(mode="json") for v in results.verifications],
        document=results.model_dump(mode="json"),
    )


def _merged_annotations(
    origin: str, verifications: list[dict[str, Any]], new_origin: str, new_verifications: list[dict[str, Any]]
) -> tuple[str, list[dict[str, Any]]]:
    """Origin "local" wins; verification records are a union, in the order first seen."""
    merged_origin = "local" if "local" in (origin, new_origin) else origin
    known = [json.dumps(v, sort_keys=True) for v in verifications]
    extra = [v for v in new_verifications if json.dumps(v, sort_keys=True) not in known]
    return merged_origin, [*verifications, *extra]


def _annotations(results: ResultsFile) -> tuple[str, list[dict[str, Any]]]:
    return results.origin, [v.model_dump(mode="json") for v in results.verifications]


def _merge_into(session: Session, key: str, new_origin: str, new: list[dict[str, Any]]) -> Outcome:
    """Merge annotations into the stored run; its document is read and rewritten only on a change."""
    row = session.execute(select(RunRow.origin, RunRow.verifications).where(RunRow.digest == key)).one()
    stored_verifications = list(row.verifications or [])
    origin, verifications = _merged_annotations(row.origin, stored_verifications, new_origin, new)
    if origin == row.origin and len(verifications) == len(stored_verifications):
        return "unchanged"
    document = dict(session.scalar(select(RunRow.document).where(RunRow.digest == key)) or {})
    document["origin"] = origin
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


def ingest(engine: Engine, results: ResultsFile) -> Outcome:
    """Store one results file in one transaction, or merge its annotations into the stored run.

    Raises:
        InputError: two results of the file share a (task, split, variant); nothing is stored.
    """
    seen: set[tuple[str, str, str]] = set()
    for index, result in enumerate(results.results):
        if result.key in seen:
            raise InputError("results", f"results[{index}]", f"{result.task} {result.split} appears twice")
        seen.add(result.key)
    key = digest(results)
    try:
        with Session(engine) as session, session.begin():
            if session.scalar(select(RunRow.digest).where(RunRow.digest == key)) is not None:
                return _merge_into(session, key, *_annotations(results))
            run = _run_row(results, key)
            session.add(run)
            for result in results.results:
                run.tasks.append(_task_row(result))
            session.flush()
    except IntegrityError:
        with Session(engine) as session, session.begin():  # a concurrent ingest of the same run won the race
            if session.scalar(select(RunRow.digest).where(RunRow.digest == key)) is None:
                raise
            return _merge_into(session, key, *_annotations(results))
    return "stored"


def record_verification(engine: Engine, key: str, verification: Verification) -> bool:
    """Add a ``harness verify`` record to a stored run; False when the run is not stored.

    Only annotations change: a verified file that is not in the database is not ingested by this
    (its origin would be the file's own claim).
    """
    with Session(engine) as session, session.begin():
        origin = session.scalar(select(RunRow.origin).where(RunRow.digest == key))
        if origin is None:
            return False
        _merge_into(session, key, origin, [verification.model_dump(mode="json")])
    return True


def _json_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if p.is_file())
    return [path]


def read_for_ingest(path: Path) -> ResultsFile:
    """Read a results file as ``ingest_paths`` does.

    A schema-1 file carries no origin (its migration says "local"); one filed under a
    ``submissions`` folder came from outside, and a rebuild must keep saying so. Schema-2 files say
    their origin themselves.

    Raises:
        InputError: the file cannot be read or validated.
    """
    results, version = read_versioned(path)
    if version == 1 and "submissions" in path.resolve().parent.parts[-2:]:
        return results.model_copy(update={"origin": "submission"})
    return results


def ingest_paths(engine: Engine, paths: Iterable[Path]) -> IngestReport:
    """Ingest every ``*.json`` under the given folders (and the given files), each on its own.

    A file that cannot be read or validated is listed in ``refused`` with its one-line error and
    does not stop the others.
    """
    report = IngestReport()
    lists = {"stored": report.ingested, "updated": report.updated, "unchanged": report.already}
    for root in paths:
        for path in _json_files(root):
            try:
                outcome = ingest(engine, read_for_ingest(path))
            except InputError as error:
                where = str(path)
                message = (
                    str(error) if error.where == where else str(InputError(where, error.field, error.message))
                )
                report.refused.append((path, message))
                continue
            lists[outcome].append(path)
    return report
