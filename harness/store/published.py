"""The published tables: storing imported scores (one transaction per import) and reading them back.

The imported source files are the record (copied byte for byte under the project's ``published/``
folder by ``harness import``); these rows are their index and are rebuilt by ``harness import all``.
A source is identified by its path under that folder: the same bytes again change nothing, new
bytes at the same path replace its scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from harness.published.sources import PublishedScore, SourceFile
from harness.store.tables import PublishedScoreRow, PublishedSourceRow


@dataclass
class ImportReport:
    """Source paths (under ``published/``) stored new, replaced (new bytes) or already stored."""

    stored: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    scores: int = 0


@dataclass(frozen=True)
class StoredScore:
    """A published score as stored, with the source file it came from."""

    score: PublishedScore
    kind: str
    path: str
    sha256: str


def _row(score: PublishedScore, source_id: int) -> PublishedScoreRow:
    return PublishedScoreRow(
        source_id=source_id,
        model_id=score.model_id,
        model_revision=score.model_revision,
        measured_as=score.measured_as,
        source_task=score.source_task,
        task=score.task,
        dataset_revision=score.dataset_revision,
        split=score.split,
        subset=score.subset,
        metric=score.metric,
        source_metric=score.source_metric,
        value=score.value,
        main=score.main,
        same_data=score.same_data,
        tool=score.tool,
    )


def store_sources(engine: Engine, sources: Sequence[SourceFile]) -> ImportReport:
    """Store every source's scores in one transaction: all of them land, or none does."""
    report = ImportReport()
    with Session(engine) as session, session.begin():
        for source in sources:
            sha = source.sha256
            row = session.scalar(select(PublishedSourceRow).where(PublishedSourceRow.path == source.relative))
            if row is not None and row.sha256 == sha:
                report.unchanged.append(source.relative)
                continue
            if row is not None:
                session.execute(delete(PublishedScoreRow).where(PublishedScoreRow.source_id == row.id))
                row.sha256, row.kind = sha, source.kind
                report.replaced.append(source.relative)
            else:
                row = PublishedSourceRow(path=source.relative, sha256=sha, kind=source.kind)
                session.add(row)
                report.stored.append(source.relative)
            session.flush()
            session.add_all([_row(score, row.id) for score in source.scores])
            report.scores += len(source.scores)
    return report


def published_scores(engine: Engine) -> list[StoredScore]:
    """Every stored published score, by model, task and metric."""
    query = (
        select(PublishedScoreRow, PublishedSourceRow.kind, PublishedSourceRow.path, PublishedSourceRow.sha256)
        .join(PublishedSourceRow, PublishedSourceRow.id == PublishedScoreRow.source_id)
        .order_by(
            PublishedScoreRow.model_id,
            PublishedScoreRow.source_task,
            PublishedScoreRow.split,
            PublishedScoreRow.subset,
            PublishedScoreRow.metric,
            PublishedSourceRow.path,
        )
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [
        StoredScore(
            PublishedScore(
                model_id=row[0].model_id,
                model_revision=row[0].model_revision,
                measured_as=row[0].measured_as,
                source_task=row[0].source_task,
                task=row[0].task,
                dataset_revision=row[0].dataset_revision,
                split=row[0].split,
                subset=row[0].subset,
                metric=row[0].metric,
                source_metric=row[0].source_metric,
                value=float(row[0].value),
                main=bool(row[0].main),
                same_data=bool(row[0].same_data),
                tool=row[0].tool,
            ),
            str(row.kind),
            str(row.path),
            str(row.sha256),
        )
        for row in rows
    ]
