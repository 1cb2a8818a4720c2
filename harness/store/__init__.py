"""The store: a SQL database (any SQLAlchemy URL; SQLite by default) that indexes results files.

The results files are the record; the database is an index of them and can be rebuilt from the
files at any time (``harness ingest results/ submissions/``). ``tables`` holds the rows, ``engine``
opens the database, ``ingest`` writes it and ``queries`` reads it: the board and the CLI use only
the functions exported here.
"""

from harness.store.engine import DEFAULT_URL, connect
from harness.store.ingest import (
    STANDINGS,
    IngestReport,
    Outcome,
    Standing,
    TaskKey,
    file_origin,
    hardware_summary,
    ingest,
    record_verification,
)
from harness.store.queries import (
    TRUST_LABELS,
    Cell,
    RunFacts,
    RunSummary,
    cells,
    find_result,
    list_runs,
    load_documents,
    metric_names,
    per_item,
    reference_model_ids,
    resolve_digest,
    run_detail,
    run_facts,
    standing_of,
    suite_counts,
    trust_label,
)

ORIGINS: tuple[str, ...] = STANDINGS
"""A run's standing in the store: ``reference`` (made here, from the reference folder) or ``submission``."""

__all__ = [
    "DEFAULT_URL",
    "ORIGINS",
    "STANDINGS",
    "TRUST_LABELS",
    "Cell",
    "IngestReport",
    "Outcome",
    "RunFacts",
    "RunSummary",
    "Standing",
    "TaskKey",
    "cells",
    "connect",
    "file_origin",
    "find_result",
    "hardware_summary",
    "ingest",
    "list_runs",
    "load_documents",
    "metric_names",
    "per_item",
    "reference_model_ids",
    "record_verification",
    "resolve_digest",
    "run_detail",
    "run_facts",
    "standing_of",
    "suite_counts",
    "trust_label",
]
