"""The board's main table for the terminal and for scripts (``harness leaderboard``).

The same rows, labels and origins as the web board's main table, because both come from one
``queries.board``: the web board filters and styles it, this module lays it out as records. Columns,
in order: ``model`` (as the web board shows it: ``id@revision`` [variant]), ``origin`` (the row's
trust label: ``reference``, ``submitted``, ``submitted, rescored``, ``submitted, reproduced``), one
per dataset (the suite's prefix dropped: ``scifact`` in ``beir``), ``mean``, then the suite's speed
and size columns. Values keep full precision; a missing value is None (empty in CSV, null in JSON).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from harness.board import queries as bq


@dataclass(frozen=True)
class LeaderboardTable:
    """One suite's main table as plain records; ``cells`` holds each row's per-dataset trust labels."""

    suite: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, str | float | None], ...]
    cells: tuple[dict[str, str], ...]
    datasets: tuple[str, ...]
    mean_over: tuple[str, ...]


def short(label: str, suite: str) -> str:
    """``beir/scifact`` -> ``scifact`` inside the beir suite (labels stay unique)."""
    return label.removeprefix(f"{suite}/")


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def leaderboard_table(result: bq.Board) -> LeaderboardTable:
    """The rows of ``result`` in the board's order (best mean first), as the terminal shows them."""
    table = result.table
    datasets = tuple(short(task, result.suite) for task in result.tasks)
    speeds = tuple(result.speed_columns)
    columns = ("model", "origin", *datasets, "mean", *speeds)
    rows = []
    cells = []
    for row in table.to_dict("records"):  # plain values, without a Series per row (``iterrows``)
        revision = row["revision"] if isinstance(row["revision"], str) else None  # NaN when there is none
        record: dict[str, str | float | None] = {
            "model": bq.display_name(str(row["model_id"]), revision, str(row["variant"] or "")),
            "origin": str(row["trust"]),
        }
        for task, dataset in zip(result.tasks, datasets, strict=True):
            record[dataset] = _number(row[task])
        record["mean"] = _number(row["mean"])
        for speed in speeds:
            record[speed] = _number(row[speed])
        rows.append(record)
        labels = row["labels"]
        cells.append({short(task, result.suite): str(label) for task, label in labels.items()})
    return LeaderboardTable(
        suite=result.suite,
        columns=columns,
        rows=tuple(rows),
        cells=tuple(cells),
        datasets=datasets,
        mean_over=tuple(short(task, result.suite) for task in result.mean_over),
    )
