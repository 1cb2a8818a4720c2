"""What the leaderboard shows, computed from the store: tables, speeds, fronts and significance.

``leaderboard/app.py`` renders; everything it shows is computed here (or in ``harness.store``), so
the logic is typed, tested without a browser, and holds no Streamlit. Invariants:

- Read only: nothing here writes to the database.
- A cell is the newest run of its (model, revision, task, task version, split), never the best
  (``store.leaderboard``); a missing cell stays NaN and is never averaged as 0.
- ``shared_mean`` averages only the columns every *shown* row has, so it is recomputed whenever a
  filter hides rows.
- Speeds are derived from the stored timings (``counts / timings_s``), as DESIGN §4 says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from harness import store
from harness.errors import InputError
from harness.metrics import metric_info
from harness.metrics.significance import paired_randomization
from harness.results import model_slug

SUITES = ("beir", "sts", "glue", "circuit", "kernels")
"""The suites the board always offers, results or not; suites found in the database are added."""

KINDS = ("dense", "sparse", "hybrid", "other")
SIGNIFICANCE_LEVEL = 0.05
TRIALS = 10_000
BETTER = "▲"
WORSE = "▼"


def kind_group(kind: str) -> str:
    """The board's kind filter: ``dense``, ``sparse``, ``hybrid``; anything else is ``other``."""
    return kind if kind in KINDS[:3] else "other"


def display_name(model_id: str, revision: str | None) -> str:
    """``id@revision`` with the revision cut to 12 characters, as the table shows a row."""
    return f"{model_id}@{revision[:12]}" if revision else model_id


@dataclass(frozen=True)
class Board:
    """One suite's table: a row per model@revision, a column per task (label), plus facts.

    ``table`` holds ``store.leaderboard``'s columns plus ``kind_group``, ``n_parameters``,
    ``dimensions``, ``docs_per_s``, ``index_mib`` and ``hardware``. ``columns`` maps each task label
    to its task, task version, split and main metric. ``higher_is_better`` is per task label.
    """

    suite: str
    metric: str | None
    table: pd.DataFrame
    tasks: list[str]
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    higher_is_better: dict[str, bool] = field(default_factory=dict)


# --- what exists --------------------------------------------------------------------------------


def suite_counts(engine: Engine) -> dict[str, int]:
    """Number of stored runs per suite."""
    query = select(store.RunRow.suite, func.count()).group_by(store.RunRow.suite)
    with Session(engine) as session:
        return {str(suite): int(count) for suite, count in session.execute(query)}


def suites(engine: Engine) -> list[str]:
    """``SUITES`` followed by any other suite the database holds."""
    stored = suite_counts(engine)
    return [*SUITES, *sorted(set(stored) - set(SUITES))]


def metric_names(engine: Engine, suite: str) -> list[str]:
    """The metric names stored for a suite, main metrics first, then alphabetically."""
    with Session(engine) as session:
        names = set(
            session.scalars(
                select(store.MetricRow.name)
                .distinct()
                .join(store.TaskRow, store.TaskRow.id == store.MetricRow.task_result_id)
                .join(store.RunRow, store.RunRow.digest == store.TaskRow.run_digest)
                .where(store.RunRow.suite == suite)
            )
        )
        mains = set(
            session.scalars(
                select(store.TaskRow.main_metric)
                .distinct()
                .join(store.RunRow, store.RunRow.digest == store.TaskRow.run_digest)
                .where(store.RunRow.suite == suite)
            )
        )
    return sorted(names, key=lambda name: (name not in mains, name))


def _higher_is_better(name: str) -> bool:
    try:
        return metric_info(name).higher_is_better
    except ValueError:
        return True


# --- the table ----------------------------------------------------------------------------------


def _row_facts(
    row: pd.Series, documents: Mapping[str, Mapping[str, Any]], columns: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Parameters, dimensions and hardware of the newest run; docs/s and index size over the cells."""
    model = documents[row["digest"]]["model"]
    parameters = model.get("parameters") or {}
    dimension = parameters.get("dimension")
    documents_done = 0
    index_seconds = 0.0
    index_bytes = 0
    index_known = True
    for label, digest in row["digests"].items():
        key = columns[label]
        result = store.find_result(documents[digest], key["task"], key["split"], key["task_version"])
        if result is None:
            continue
        count = result["dataset"]["counts"].get("corpus")
        seconds = result["timings_s"].get("index")
        if count is not None and seconds:
            documents_done += count
            index_seconds += seconds
        size = result.get("index_bytes")
        if isinstance(size, int | float) and not isinstance(size, bool):
            index_bytes += int(size)
        else:
            index_known = False
    return {
        "kind_group": kind_group(str(row["kind"])),
        "n_parameters": float(model["n_parameters"]) if model.get("n_parameters") is not None else math.nan,
        "dimensions": float(dimension) if isinstance(dimension, int | float) else math.nan,
        "docs_per_s": documents_done / index_seconds if index_seconds > 0 else math.nan,
        "index_mib": index_bytes / 2**20 if index_known and row["digests"] else math.nan,
        "hardware": documents[row["digest"]]["environment"]["hardware"],
    }


FACT_COLUMNS = ("kind_group", "n_parameters", "dimensions", "docs_per_s", "index_mib", "hardware")


def board(engine: Engine, suite: str, metric: str | None = None, verified_only: bool = False) -> Board:
    """``store.leaderboard`` of a suite plus the facts the board filters and plots on.

    ``docs_per_s`` is ``counts.corpus / timings_s.index`` summed over the row's cells (for a dense
    model that is encoding speed; an index or embedding cache hit makes it look fast).
    ``index_mib`` is known only when every cell records ``index_bytes``.
    """
    frame, documents = store.leaderboard_with_documents(engine, suite, metric, verified_only)
    columns: dict[str, dict[str, Any]] = dict(frame.attrs.get("columns", {}))
    tasks = list(frame.attrs.get("tasks", []))
    facts = pd.DataFrame(
        [_row_facts(row, documents, columns) for _, row in frame.iterrows()],
        columns=list(FACT_COLUMNS),
        index=frame.index,
    )
    table = pd.concat([frame, facts], axis=1)
    for name in ("n_parameters", "dimensions", "docs_per_s", "index_mib"):
        table[name] = table[name].astype(float)
    better = {label: _higher_is_better(metric or str(columns[label]["main_metric"])) for label in tasks}
    return Board(
        suite=suite, metric=metric, table=table, tasks=tasks, columns=columns, higher_is_better=better
    )


def shared_mean(table: pd.DataFrame, tasks: Sequence[str]) -> tuple[pd.Series, list[str]]:
    """The mean over the task columns that have a value in every row of ``table``, and those columns.

    With no such column the mean is NaN for every row: a missing cell is never averaged as 0.
    """
    shared = [task for task in tasks if len(table) and table[task].notna().all()]
    if not shared:
        return pd.Series(math.nan, index=table.index, dtype=float), []
    return table[shared].mean(axis=1).astype(float), shared


def filter_rows(
    table: pd.DataFrame,
    kinds: Iterable[str] = KINDS,
    origins: Iterable[str] = store.ORIGINS,
    reproduced_only: bool = False,
    size_range: tuple[float, float] | None = None,
    keep_unknown_size: bool = True,
) -> pd.DataFrame:
    """The rows passing the board's filters; ``size_range`` bounds ``n_parameters`` (inclusive)."""
    keep = table["kind_group"].isin(list(kinds)) & table["origin"].isin(list(origins))
    if reproduced_only:
        keep &= table["reproduced"].astype(bool)
    if size_range is not None:
        low, high = size_range
        sizes = table["n_parameters"]
        in_range = sizes.between(low, high)
        keep &= in_range | (sizes.isna() & keep_unknown_size)
    return table[keep]


def best_values(table: pd.DataFrame, higher_is_better: Mapping[str, bool]) -> dict[str, float]:
    """The best value of each named column (max or min by direction); columns with no value are left out."""
    best: dict[str, float] = {}
    for column, higher in higher_is_better.items():
        values = table[column].dropna() if column in table else pd.Series(dtype=float)
        if len(values):
            best[column] = float(values.max() if higher else values.min())
    return best


def pareto_front(quality: pd.Series, speed: pd.Series) -> pd.Series:
    """True for the rows no other row beats on both quality and speed (both higher is better).

    A row is dominated when another has quality >= and speed >= with at least one strictly greater.
    Rows missing either value are never on the front.
    """
    q = quality.to_numpy(dtype=float)
    s = speed.to_numpy(dtype=float)
    known = ~(np.isnan(q) | np.isnan(s))
    front = np.zeros(len(q), dtype=bool)
    for i in np.flatnonzero(known):
        others = known.copy()
        others[i] = False
        dominated = others & (q >= q[i]) & (s >= s[i]) & ((q > q[i]) | (s > s[i]))
        front[i] = not dominated.any()
    return pd.Series(front, index=quality.index)


def significance(
    engine: Engine,
    result: Board,
    baseline: str,
    rows: Sequence[str],
    trials: int = TRIALS,
    seed: int = 0,
) -> pd.DataFrame:
    """p-values of the paired randomization test of each row's cells against the baseline row's.

    Rows x task labels; NaN for the baseline itself, a missing cell on either side, or a run that
    stored no per-item values of the metric. The metric is the board's, else each task's main metric.
    """
    table = result.table
    p_values = pd.DataFrame(math.nan, index=list(rows), columns=result.tasks, dtype=float)
    cache: dict[tuple[str, str], dict[str, float] | None] = {}

    def items(row: str, label: str) -> dict[str, float] | None:
        digest = table.at[row, "digests"].get(label)
        if digest is None or pd.isna(table.at[row, label]):
            return None
        key = result.columns[label]
        metric = result.metric or str(key["main_metric"])
        if (digest, label) not in cache:
            try:
                cache[digest, label] = store.per_item(engine, digest, key["task"], metric, key["split"])
            except InputError:
                cache[digest, label] = None
        return cache[digest, label]

    for label in result.tasks:
        reference = items(baseline, label)
        if reference is None:
            continue
        for row in rows:
            if row == baseline:
                continue
            values = items(row, label)
            if values is None or not (values.keys() & reference.keys()):
                continue
            p_values.at[row, label] = paired_randomization(values, reference, trials=trials, seed=seed)
    return p_values


def significance_marks(
    table: pd.DataFrame,
    p_values: pd.DataFrame,
    baseline: str,
    higher_is_better: Mapping[str, bool],
    level: float = SIGNIFICANCE_LEVEL,
) -> pd.DataFrame:
    """``BETTER`` / ``WORSE`` where a cell differs from the baseline's with p < ``level``, else "".

    The direction comes from the metric (``higher_is_better``), not from the sign of the difference.
    """
    marks = pd.DataFrame("", index=p_values.index, columns=p_values.columns, dtype=object)
    for label in p_values.columns:
        reference = table.at[baseline, label]
        for row in p_values.index:
            p = p_values.at[row, label]
            if row == baseline or pd.isna(p) or p >= level:
                continue
            value = table.at[row, label]
            if value == reference:
                continue
            better = (value > reference) == higher_is_better[label]
            marks.at[row, label] = BETTER if better else WORSE
    return marks


# --- the model page -----------------------------------------------------------------------------


def breakdown(document: Mapping[str, Any]) -> pd.DataFrame:
    """One row per task result of a run: every metric, the speeds and the data identity."""
    records = []
    for result in document["results"]:
        counts = result["dataset"]["counts"]
        timings = result["timings_s"]
        search = timings.get("search")
        index = timings.get("index")
        records.append(
            {
                "task": result["task"],
                "split": result["split"],
                "version": result["task_version"],
                **result["metrics"],
                "queries_per_s": counts["queries"] / search if search and "queries" in counts else math.nan,
                "docs_per_s": counts["corpus"] / index if index and "corpus" in counts else math.nan,
                "seconds": timings.get("total", math.fsum(timings.values())),
                "verified": bool(result["dataset"]["verified"]),
                "fingerprint": result["dataset"]["fingerprint"],
            }
        )
    return pd.DataFrame(records)


def results_path(model_id: str, suite: str, digest: str, origin: str) -> str:
    """The run's file in the repository: ``results/<slug>/<suite>-<digest12>.json`` (reference runs)."""
    if origin == "submission":  # submitted files are filed as submissions/<digest>.json
        return f"submissions/{digest}.json"
    return f"results/{model_slug(model_id)}/{suite.replace('/', '_')}-{digest[:12]}.json"


def model_runs(engine: Engine, model_id: str, revision: str | None) -> pd.DataFrame:
    """Every stored run of one model@revision, newest first (the board shows only the newest)."""
    runs = store.list_runs(engine)
    same = runs["model_id"] == model_id
    same &= runs["revision"].isna() if not revision else runs["revision"] == revision
    return runs[same].reset_index(drop=True)
