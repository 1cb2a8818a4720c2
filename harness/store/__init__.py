"""The store: a SQL database (any SQLAlchemy URL; SQLite by default) that indexes results files.

The results files are the record; the database is an index of them and can be rebuilt from the
files at any time (``harness ingest results/ submissions/``). ``tables`` holds the rows, ``engine``
opens the database, ``ingest`` writes it and ``queries`` reads it: the board and the CLI use only
the functions exported here.
"""

from typing import get_args

from harness.results import Origin
from harness.store.engine import DEFAULT_URL, connect
from harness.store.ingest import (
    IngestReport,
    Outcome,
    hardware_summary,
    ingest,
    ingest_paths,
    read_for_ingest,
    record_verification,
)
from harness.store.queries import (
    Cell,
    RunSummary,
    cells,
    find_result,
    list_runs,
    load_documents,
    metric_names,
    per_item,
    resolve_digest,
    run_detail,
    suite_counts,
)

ORIGINS: tuple[str, ...] = get_args(Origin)
"""Where a run came from (``results.Origin``): made here by ``harness run``, or filed by ``submit``."""

__all__ = [
    "DEFAULT_URL",
    "ORIGINS",
    "Cell",
    "IngestReport",
    "Outcome",
    "RunSummary",
    "cells",
    "connect",
    "find_result",
    "hardware_summary",
    "ingest",
    "ingest_paths",
    "list_runs",
    "load_documents",
    "metric_names",
    "per_item",
    "read_for_ingest",
    "record_verification",
    "resolve_digest",
    "run_detail",
    "suite_counts",
]
