"""What the leaderboard shows, computed from the store: tables, speeds, fronts and significance.

``app.py`` renders; everything it shows is computed here from ``harness.store``'s typed query
functions and the suite's registration (``BoardSpec``: speed and size columns), so the logic is
typed, tested without a browser, and knows no suite by name. Invariants:

- Read only: nothing here writes to the database.
- A row is one (standing, model, revision, variant): reference runs and submissions never share a
  row, so a submitted run of ``bm25-flat`` is a row of its own beside the reference row.
- A cell is the newest run (in ingest order) of its row's task, task version and split, never the
  best (``store.cells``); a missing cell stays NaN and is never averaged as 0. Each cell carries
  its trust label (``store.trust_label``); a row's label is the weakest of its cells'.
- ``shared_mean`` averages only the columns every *shown* row has, so it is recomputed whenever a
  filter hides rows.
- Speeds are derived from the stored timings (``counts / timings_s``), sizes from ``sizes_bytes``;
  which ones a suite shows is its ``BoardSpec``'s choice.
- Every direction (sort, best value, ▲/▼) comes from the metric's ``Measure``.
- A cell with replicates (seeds, or seed x fold) is their mean (the results file checks it); its
  spread is the sample standard deviation of the same metric over those replicates, computed as
  ``TaskResult.spread`` computes it, and never stored. Replicates are in ``runs.document`` (only
  per-item values and predictions are left out of it), so no bulk read is needed.
- A sweep is the variant rows of one (standing, model, revision) whose variants are layer and
  dimension points (``{"layer": 4, "dim": 128}`` or ``{"dim": 128}``, as ``harness run --layers
  --dims`` writes them); its mean is over the tasks every point has, like ``shared_mean``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sqlalchemy.engine import Engine

from harness import store
from harness.errors import InputError
from harness.metrics.measures import known_measure
from harness.metrics.significance import paired_randomization
from harness.published.sources import PublishedScore
from harness.published.tasks import (
    MTEB_TASKS,
    NO_TASK,
    OTHER_BUILD,
    PYSERINI_TASKS,
    SAME_DATA,
    TaskMap,
    data_status,
)
from harness.results import model_slug, variant_key
from harness.store import published as store_published
from harness.suites.base import BoardSpec, Suite
from harness.suites.beir.cards import CQADUPSTACK
from harness.suites.beir.cqadupstack import forum_weights

KINDS = ("dense", "sparse", "hybrid", "other")
SIGNIFICANCE_LEVEL = 0.05
TRIALS = 10_000
BETTER = "▲"
WORSE = "▼"
ROW_COLUMNS = [
    "model_id", "revision", "variant", "kind", "origin", "trust", "reproduced", "digest", "created_at",
]  # fmt: skip
FACT_COLUMNS = ("kind_group", "n_parameters", "dimensions", "hardware")


def kind_group(kind: str) -> str:
    """The board's kind filter: ``dense``, ``sparse``, ``hybrid``; anything else is ``other``."""
    return kind if kind in KINDS[:3] else "other"


def display_name(model_id: str, revision: str | None, variant: str = "") -> str:
    """``id@revision`` with the revision cut to 12 characters (and `` [variant]``), as a row shows."""
    name = f"{model_id}@{revision[:12]}" if revision else model_id
    return f"{name} [{variant}]" if variant else name


SUBMITTED_SUFFIX = " · submitted"


def row_key(model_id: str, revision: str | None, variant: str = "", origin: str = "reference") -> str:
    """The unique label of a board row: ``id@revision`` in full, `` [variant]``, `` · submitted``.

    The revision is in full (two revisions may share 12 characters); the suffix marks the
    submissions' row of a model, beside its reference row.
    """
    name = f"{model_id}@{revision}" if revision else model_id
    name = f"{name} [{variant}]" if variant else name
    return name if origin == "reference" else name + SUBMITTED_SUFFIX


def row_trust(labels: Iterable[str]) -> str:
    """The weakest trust label among a row's cells (``store.TRUST_LABELS`` is strongest first)."""
    return max(labels, key=store.TRUST_LABELS.index, default="submitted")


def higher_is_better(metric: str) -> bool:
    found = known_measure(metric)
    return found.higher_is_better if found is not None else True


def metric_label(metric: str) -> str:
    found = known_measure(metric)
    return found.label if found is not None else metric


def format_score(metric: str, value: float) -> str:
    found = known_measure(metric)
    return found.format(value) if found is not None else f"{value:.4f}"


@dataclass(frozen=True)
class Board:
    """One suite's table: a row per model@revision [variant], a column per task (label), plus facts.

    Rows are indexed by ``row_key`` (the full revision); ``display_name`` is what a view shows.

    ``table`` holds the row identity (``ROW_COLUMNS``), one column per task label, ``mean``, one
    column per rate and size of ``spec`` (named by their labels), the ``FACT_COLUMNS``, ``digests``
    (task label -> the run it came from) and ``labels`` (task label -> the cell's trust label).
    ``columns`` maps each task label to its task, task version, split and main metric;
    ``higher_is_better`` is per task label.

    ``spread`` and ``replicates`` are indexed like ``table`` with one column per task label: the
    sample standard deviation of the cell's metric over its run's replicates (NaN with fewer than
    two) and their number (0: a run without replicates). They are frames of their own, not table
    columns, so the table, its export and its filters stay as they were. ``train_caps`` holds, per
    task label, the training caps its cells' runs recorded (``settings.train_cap``), so a capped
    task is never mistaken for the full one.
    """

    suite: str
    spec: BoardSpec
    metric: str | None
    table: pd.DataFrame
    tasks: list[str]
    mean_over: list[str] = field(default_factory=list)
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    higher_is_better: dict[str, bool] = field(default_factory=dict)
    spread: pd.DataFrame = field(default_factory=pd.DataFrame)
    replicates: pd.DataFrame = field(default_factory=pd.DataFrame)
    train_caps: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def speed_columns(self) -> list[str]:
        return [rate.label for rate in self.spec.rates] + [size.label for size in self.spec.sizes]


# --- what exists --------------------------------------------------------------------------------


def suite_names(engine: Engine, suites: Mapping[str, Suite]) -> list[str]:
    """The registered suites, results or not, followed by any other suite the database holds."""
    stored = store.suite_counts(engine)
    return [*suites, *sorted(set(stored) - set(suites))]


# --- the table ----------------------------------------------------------------------------------


USER_DATA_DIGITS = 8
"""Hex digits of the fingerprint a user-data column shows (``beir/mine [user data 1a2b3c4d]``)."""


def _column_labels(cells: Sequence[store.Cell]) -> list[str]:
    """``task``, plus `` vN`` / `` (split)`` only where the board holds several versions / splits of it.

    A user dataset's column also says ``[user data <fingerprint>]``: its cells are keyed on task and
    fingerprint (``store.cells``), so two datasets both named ``beir/mine`` stay two columns.
    """
    versions: dict[str, set[int]] = {}
    splits: dict[str, set[str]] = {}
    for cell in cells:
        versions.setdefault(cell.task, set()).add(cell.task_version)
        splits.setdefault(cell.task, set()).add(cell.split)
    labels = []
    for cell in cells:
        label = cell.task
        if cell.user_fingerprint:
            label += f" [user data {cell.user_fingerprint[:USER_DATA_DIGITS]}]"
        if len(versions[cell.task]) > 1:
            label += f" v{cell.task_version}"
        if len(splits[cell.task]) > 1:
            label += f" ({cell.split})"
        labels.append(label)
    return labels


ResultKey = tuple[str, str, str, int, str]
"""(digest, task, split, task version, variant key): one task result of a stored run."""


def _results_by_key(documents: Mapping[str, Mapping[str, Any]]) -> dict[ResultKey, Mapping[str, Any]]:
    """Every task result of the documents, indexed once (a 5,000-variant sweep is one document)."""
    found: dict[ResultKey, Mapping[str, Any]] = {}
    for digest, document in documents.items():
        for result in document["results"]:
            variant = variant_key(result.get("variant") or {})
            found[digest, result["task"], result["split"], result["task_version"], variant] = result
    return found


def _spec_columns(spec: BoardSpec, row_cells: Sequence[tuple[str, store.Cell]]) -> dict[str, float]:
    """Each rate (counts over seconds, summed over the row's cells) and size (MiB, all cells or none).

    Read from each cell's summary row (``store.Cell.summary``: the result's counts, timings and
    sizes as ingest stored them), not from the run's document.
    """
    found = [cell.summary for _, cell in row_cells]
    values: dict[str, float] = {}
    for rate in spec.rates:
        count, seconds = 0, 0.0
        for summary in found:
            n = (summary.get("counts") or {}).get(rate.count)
            spent = (summary.get("timings_s") or {}).get(rate.phase)
            if n is not None and spent:
                count += n
                seconds += spent
        values[rate.label] = count / seconds if seconds > 0 else math.nan
    for size in spec.sizes:
        sizes = [(summary.get("sizes_bytes") or {}).get(size.key) for summary in found]
        known = bool(sizes) and all(isinstance(s, int) for s in sizes)
        values[size.label] = sum(s for s in sizes if isinstance(s, int)) / 2**20 if known else math.nan
    return values


def sample_sd(values: Sequence[float]) -> float:
    """The sample standard deviation (n - 1), NaN with fewer than two values.

    The same sums as ``TaskResult.spread`` (``math.fsum``), so the board shows the number the
    results file's own record would give; NaN rather than None, so it sits in a float column.
    """
    if len(values) < 2:
        return math.nan
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def replicate_metric(result: Mapping[str, Any], metric: str) -> list[float]:
    """The value of ``metric`` in each replicate of a stored task result that has it (file order)."""
    replicates = result.get("replicates") or []
    return metric_values((replicate.get("metrics") or {} for replicate in replicates), metric)


def metric_values(replicates: Iterable[Mapping[str, Any]], metric: str) -> list[float]:
    """The value of ``metric`` in each of ``replicates`` (their metrics mappings) that has it, in order."""
    values = []
    for metrics in replicates:
        value = metrics.get(metric)
        if isinstance(value, int | float) and not isinstance(value, bool):
            values.append(float(value))
    return values


def whole_number(value: Any) -> int | None:
    """``value`` if it is an int (a bool is not), else None: how a stored ``train_cap`` is read."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def train_cap(result: Mapping[str, Any]) -> int | None:
    """The training cap a task result recorded (``settings.train_cap``), if it is a whole number."""
    return whole_number((result.get("settings") or {}).get("train_cap"))


def _facts(facts: store.RunFacts | None, kind: str) -> dict[str, Any]:
    """The row's model facts, from its newest run's summary columns (``store.run_facts``)."""
    n_parameters = facts.n_parameters if facts is not None else None
    dimension = facts.dimension if facts is not None else None
    return {
        "kind_group": kind_group(kind),
        "n_parameters": math.nan if n_parameters is None else float(n_parameters),
        "dimensions": math.nan if dimension is None else dimension,
        "hardware": dict(facts.hardware) if facts is not None else {},
    }


def board(
    engine: Engine,
    suite: str,
    spec: BoardSpec | None = None,
    metric: str | None = None,
    verified_only: bool = False,
) -> Board:
    """The leaderboard of ``suite``: one row per standing and model@revision [variant], one column per task.

    For each (standing, model, revision, variant, task, task version, split) only the newest run counts, never
    the best; a cell is NaN when that run lacks the metric. ``metric`` defaults to each task's main
    metric. ``mean`` is taken over the task columns that have a value in every row and is NaN when
    there are none. The row's kind, digest and created_at are those of its newest run (ingest
    order); ``origin`` is its standing, ``trust`` the weakest label of its cells, and ``reproduced``
    holds when all its runs were reproduced. Rows are sorted by ``mean``, best first.
    """
    spec = spec or BoardSpec()
    cells = store.cells(engine, suite, metric, verified_only)
    labels = _column_labels(cells)
    tasks = sorted(set(labels))
    rows: dict[tuple[str, str, str, str], list[tuple[str, store.Cell]]] = {}
    for label, cell in zip(labels, cells, strict=True):
        identity = (cell.origin, cell.model_id, cell.revision or "", cell.variant)
        rows.setdefault(identity, []).append((label, cell))
    records = []
    spreads: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    caps: dict[str, set[int]] = {}
    newest_of = {
        identity: max((cell for _, cell in row_cells), key=lambda c: (c.seq, c.digest))
        for identity, row_cells in rows.items()
    }
    facts = store.run_facts(engine, {cell.digest for cell in newest_of.values()})
    for (origin, model_id, revision, variant), row_cells in sorted(rows.items()):
        newest = newest_of[origin, model_id, revision, variant]
        record: dict[str, Any] = {
            "model": row_key(model_id, revision or None, variant, origin),
            "model_id": model_id,
            "revision": revision or None,
            "variant": variant,
            "kind": newest.kind,
            "origin": origin,
            "trust": row_trust(cell.label for _, cell in row_cells),
            "reproduced": all(cell.reproduced for _, cell in row_cells),
            "digest": newest.digest,
            "created_at": newest.created_at,
        }
        record.update({label: math.nan if cell.value is None else cell.value for label, cell in row_cells})
        record.update(_spec_columns(spec, row_cells))
        record.update(_facts(facts.get(newest.digest), newest.kind))
        record["digests"] = {label: cell.digest for label, cell in row_cells}
        record["labels"] = {label: cell.label for label, cell in row_cells}
        records.append(record)
        spreads[record["model"]], counts[record["model"]] = {}, {}
        for label, cell in row_cells:
            values = metric_values(cell.summary.get("replicates") or [], metric or cell.main_metric)
            spreads[record["model"]][label] = sample_sd(values)
            counts[record["model"]][label] = len(values)
            cap = whole_number(cell.summary.get("train_cap"))
            if cap is not None:
                caps.setdefault(label, set()).add(cap)
    speed = [rate.label for rate in spec.rates] + [size.label for size in spec.sizes]
    order = ["model", *ROW_COLUMNS, *tasks, *speed, *FACT_COLUMNS, "digests", "labels"]
    table = pd.DataFrame(records, columns=order).set_index("model")
    for column in [*tasks, *speed, "n_parameters", "dimensions"]:
        table[column] = table[column].astype(float)
    table["reproduced"] = table["reproduced"].astype(bool)
    columns: dict[str, dict[str, Any]] = {}
    for label, cell in zip(labels, cells, strict=True):
        columns.setdefault(
            label,
            {
                "task": cell.task,
                "task_version": cell.task_version,
                "split": cell.split,
                "main_metric": cell.main_metric,
            },
        )
    better = {label: higher_is_better(metric or str(columns[label]["main_metric"])) for label in tasks}
    mean, mean_over = shared_mean(table, tasks)
    table.insert(table.columns.get_loc(tasks[-1]) + 1 if tasks else len(ROW_COLUMNS), "mean", mean)
    ascending = not all(better.values()) if better else False
    table = table.sort_values("mean", ascending=ascending, na_position="last", kind="stable")
    spread = pd.DataFrame(list(spreads.values()), index=list(spreads), columns=tasks, dtype=float)
    replicates = pd.DataFrame(list(counts.values()), index=list(counts), columns=tasks)
    return Board(
        suite=suite,
        spec=spec,
        metric=metric,
        table=table,
        tasks=tasks,
        mean_over=mean_over,
        columns=columns,
        higher_is_better=better,
        spread=spread.reindex(index=table.index, columns=tasks),
        replicates=replicates.reindex(index=table.index, columns=tasks).fillna(0).astype(int),
        train_caps={label: tuple(sorted(found)) for label, found in sorted(caps.items())},
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
    stored no per-item values of the metric (whole-set measures such as Spearman have none). The
    metric is the board's, else each task's main metric.
    """
    table = result.table
    p_values = pd.DataFrame(math.nan, index=list(rows), columns=result.tasks, dtype=float)
    cache: dict[tuple[str, str, str], dict[str, float] | None] = {}

    def items(row: str, label: str) -> dict[str, float] | None:
        digest = table.at[row, "digests"].get(label)
        if digest is None or pd.isna(table.at[row, label]):
            return None
        key = result.columns[label]
        metric = result.metric or str(key["main_metric"])
        variant = str(table.at[row, "variant"])
        if (digest, label, variant) not in cache:
            try:
                values = store.per_item(engine, digest, key["task"], metric, key["split"], variant)
            except InputError:
                values = None
            cache[digest, label, variant] = values
        return cache[digest, label, variant]

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
            task = str(result.columns[label]["task"])
            weights = forum_weights(values.keys() & reference.keys()) if task == CQADUPSTACK.id else None
            p_values.at[row, label] = paired_randomization(
                values, reference, trials=trials, seed=seed, weights=weights
            )
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


MAIN_COLUMN = "main metric"
SD_COLUMN = "± sd"
REPLICATES_COLUMN = "replicates"
CAP_COLUMN = "train cap"


def breakdown(document: Mapping[str, Any], spec: BoardSpec) -> pd.DataFrame:
    """One row per task result of a run: every metric, the spread, the suite's rates, the data identity.

    ``main metric`` names the task's main metric and ``± sd`` is its sample standard deviation over
    the result's replicates (NaN with fewer than two), ``replicates`` their number, ``train cap``
    the training cap the task recorded (NaN: none), so a capped task reads as such beside its scores.
    """
    records = []
    for result in document["results"]:
        counts = result["inputs"]["counts"]
        timings = result["timings_s"]
        variant = variant_key(result.get("variant") or {})
        record: dict[str, Any] = {
            "task": result["task"] + (f" [{variant}]" if variant else ""),
            "split": result["split"],
            "version": result["task_version"],
            **result["metrics"],
        }
        replicates = replicate_metric(result, result["main_metric"])
        record[MAIN_COLUMN] = result["main_metric"]
        record[SD_COLUMN] = sample_sd(replicates)
        record[REPLICATES_COLUMN] = len(replicates)
        cap = train_cap(result)
        record[CAP_COLUMN] = math.nan if cap is None else float(cap)
        for rate in spec.rates:
            seconds = timings.get(rate.phase)
            count = counts.get(rate.count)
            record[rate.label] = count / seconds if seconds and count is not None else math.nan
        record["seconds"] = timings.get("total", math.fsum(timings.values()))
        record["verified"] = bool(result["inputs"]["verified"])
        record["fingerprint"] = result["inputs"]["fingerprint"]
        records.append(record)
    return pd.DataFrame(records)


def results_path(model_id: str, suite: str, digest: str, origin: str) -> str:
    """The run's file in the repository: ``results/<slug>/<suite>-<digest12>.json`` (reference runs)."""
    if origin == "submission":  # submitted files are filed as submissions/<digest>.json
        return f"submissions/{digest}.json"
    return f"results/{model_slug(model_id)}/{suite.replace('/', '_')}-{digest[:12]}.json"


def model_runs(engine: Engine, model_id: str, revision: str | None) -> pd.DataFrame:
    """Every stored run of one model@revision, newest first (the board shows only the newest)."""
    runs = [run for run in store.list_runs(engine) if run.model_id == model_id and run.revision == revision]
    columns = [
        "digest", "created_at", "suite", "model_id", "revision", "kind", "origin", "reproduced",
        "hardware", "harness_version", "n_tasks",
    ]  # fmt: skip
    return pd.DataFrame([[getattr(run, c) for c in columns] for run in runs], columns=columns)


# --- replicates ---------------------------------------------------------------------------------

REPLICATE_COLUMNS = ["row", "task", "seed", "fold", "value"]


def replicate_values(
    documents: Mapping[str, Mapping[str, Any]],
    result: Board,
    rows: Sequence[str],
    tasks: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every replicate value behind the cells of ``rows``: one line per (row, task label, replicate).

    ``documents`` are the lean stored documents (``store.load_documents``) of the rows' runs: they
    keep ``replicates``. The metric is the board's, else each task's main metric; a replicate
    without it is left out. ``seed`` and ``fold`` are nullable integers (a cross-validated task has
    one replicate per seed and fold). What the spread chart draws; its sample standard deviation
    per cell is ``Board.spread``.
    """
    found = _results_by_key(documents)
    records: list[dict[str, Any]] = []
    for row in rows:
        digests: Mapping[str, str] = result.table.at[row, "digests"]
        variant = str(result.table.at[row, "variant"])
        for label in tasks if tasks is not None else result.tasks:
            digest = digests.get(label)
            key = result.columns.get(label)
            if digest is None or key is None:
                continue
            stored = found.get((digest, key["task"], key["split"], key["task_version"], variant))
            if stored is None:
                continue
            metric = result.metric or str(key["main_metric"])
            for replicate in stored.get("replicates") or []:
                value = (replicate.get("metrics") or {}).get(metric)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    records.append(
                        {
                            "row": row,
                            "task": label,
                            "seed": replicate.get("seed"),
                            "fold": replicate.get("fold"),
                            "value": float(value),
                        }
                    )
    frame = pd.DataFrame(records, columns=REPLICATE_COLUMNS)
    for column in ("seed", "fold"):
        frame[column] = frame[column].astype("Int64")
    frame["value"] = frame["value"].astype(float)
    return frame


# --- sweeps -------------------------------------------------------------------------------------

_SWEEP_VARIANT = re.compile(r"dim=(?P<dim>[0-9]{1,9})(?:,layer=(?P<layer>[0-9]{1,9}))?")
OWN_LAYER = "own"
"""The layer label of a ``{"dim": D}`` point: the model has no layer to choose, its own is used."""
AS_IS = "as is"
"""The line label of the model without a variant in ``sweep_curves``."""


def sweep_point(variant: str) -> tuple[int | None, int] | None:
    """(layer, dim) of a variant key written by a layer/dimension sweep, else None.

    ``variant_key`` sorts names, so a sweep point is ``dim=128`` or ``dim=128,layer=4``; any other
    variant (another name, a text value) is not a point of the grid.
    """
    matched = _SWEEP_VARIANT.fullmatch(variant)
    if matched is None:
        return None
    layer = matched["layer"]
    return (int(layer) if layer is not None else None), int(matched["dim"])


@dataclass(frozen=True)
class SweepBase:
    """One (standing, model, revision) with sweep points: what the Sweeps view offers to pick."""

    key: str
    model_id: str
    revision: str | None
    origin: str
    points: int


def sweep_bases(table: pd.DataFrame) -> list[SweepBase]:
    """The models of a board table with at least one layer/dimension variant row.

    Reference models first (``reference`` sorts before ``submission``), then by name and revision;
    ``key`` is the base row's ``row_key`` (no variant), whether or not the model as it is was run.
    """
    found: dict[tuple[str, str, str], int] = {}
    for model_id, revision, variant, origin in zip(
        table["model_id"], table["revision"], table["variant"], table["origin"], strict=True
    ):
        if sweep_point(str(variant or "")) is not None:
            identity = (str(model_id), revision if isinstance(revision, str) else "", str(origin))
            found[identity] = found.get(identity, 0) + 1
    return [
        SweepBase(row_key(model_id, revision or None, "", origin), model_id, revision or None, origin, n)
        for (model_id, revision, origin), n in sorted(found.items(), key=lambda item: (item[0][2], item[0]))
    ]


@dataclass(frozen=True)
class SweepGrid:
    """The sweep points of one model: a row per point, a column per task label, and their mean.

    ``points`` is indexed by row key with ``layer`` (None for a ``{"dim": D}`` point), ``layer_label``
    (the layer as text, or ``OWN_LAYER``), ``dim``, one float column per task label in ``tasks``
    (the tasks any point has) and ``mean`` (over ``mean_over``, the tasks every point has; NaN
    when none is). ``as_is`` is the model's own row (no variant, row key ``base.key``) as
    floats: ``dim`` (its recorded dimension), the task labels and ``mean`` over ``mean_over``; None
    when the board has no such row or no dimension for it. It is what a sweep is read against.
    ``others`` counts the model's variant rows that are not layer/dimension points (left out).
    """

    base: SweepBase
    points: pd.DataFrame
    tasks: list[str]
    mean_over: list[str]
    higher_is_better: bool
    as_is: pd.Series | None
    others: int


def sweep_grid(result: Board, base: SweepBase) -> SweepGrid:
    """The layer x dimension points of ``base`` on ``result``'s board (its metric, its verified filter)."""
    table = result.table
    same_revision = table["revision"].map(lambda r: (r if isinstance(r, str) else None) == base.revision)
    mine = table[(table["model_id"] == base.model_id) & same_revision & (table["origin"] == base.origin)]
    located: dict[str, tuple[int | None, int]] = {}
    others = 0
    for row, variant in mine["variant"].items():
        point = sweep_point(str(variant or ""))
        if point is not None:
            located[str(row)] = point
        elif variant:
            others += 1
    rows = sorted(located, key=lambda row: (located[row][1], located[row][0] or 0))
    tasks = [task for task in result.tasks if rows and mine.loc[rows, task].notna().any()]
    points = pd.DataFrame(index=pd.Index(rows, name="row", dtype=object))
    points["layer"] = pd.Series([located[row][0] for row in rows], index=points.index, dtype=object)
    points["layer_label"] = [OWN_LAYER if layer is None else str(layer) for layer in points["layer"]]
    points["dim"] = pd.Series([located[row][1] for row in rows], index=points.index, dtype=int)
    for task in tasks:
        points[task] = mine.loc[rows, task].astype(float)
    mean, mean_over = shared_mean(points, tasks)
    points["mean"] = mean
    as_is = None
    if base.key in mine.index and not pd.isna(mine.at[base.key, "dimensions"]):
        plain = mine.loc[base.key]
        values = {task: float(plain[task]) for task in tasks}
        shared = [values[task] for task in mean_over]
        known = bool(shared) and not any(math.isnan(value) for value in shared)
        values["mean"] = math.fsum(shared) / len(shared) if known else math.nan
        as_is = pd.Series({"dim": float(plain["dimensions"]), **values}, dtype=float)
    higher = all(result.higher_is_better.get(task, True) for task in mean_over or tasks)
    return SweepGrid(base, points, tasks, mean_over, higher, as_is, others)


def layer_order(labels: Iterable[str]) -> list[str]:
    """Layer labels deepest first (as a heatmap's rows read top down), ``OWN_LAYER`` on top."""
    distinct = set(labels)
    numbers = sorted((int(label) for label in distinct if label != OWN_LAYER), reverse=True)
    return ([OWN_LAYER] if OWN_LAYER in distinct else []) + [str(number) for number in numbers]


def sweep_surface(grid: SweepGrid, quality: str) -> pd.DataFrame:
    """The heatmap's cells: every (layer, dim) of the grid's layers x dims, run or not.

    Columns ``layer_label``, ``dim``, ``value`` (NaN where the point was not run or lacks the
    quality), ``present`` (the point was run) and ``row`` (its row key, "" when not run). A partial
    grid (a starbucks diagonal, an interrupted sweep) thus shows its holes instead of hiding them.
    """
    points = grid.points
    run = {
        (label, dim): row
        for row, label, dim in zip(points.index, points["layer_label"], points["dim"], strict=True)
    }
    records = []
    for label in layer_order(points["layer_label"]):
        for dim in sorted(set(points["dim"])):
            row = run.get((label, dim))
            value = float(points.at[row, quality]) if row is not None and quality in points else math.nan
            records.append(
                {
                    "layer_label": label,
                    "dim": int(dim),
                    "value": value,
                    "present": row is not None,
                    "row": row or "",
                }
            )
    frame = pd.DataFrame(records, columns=["layer_label", "dim", "value", "present", "row"])
    frame["value"] = frame["value"].astype(float)
    return frame


def sweep_curves(grid: SweepGrid, quality: str) -> pd.DataFrame:
    """Quality against dimension: one line per layer label, the points run and with a value.

    The model as it is (``grid.as_is``) is a line of its own, ``as is``, of one point at its
    recorded dimension, so a sweep is read against the unswept model.
    """
    points = grid.points
    frame = pd.DataFrame(
        {
            "layer_label": points["layer_label"].to_numpy(),
            "dim": points["dim"].to_numpy(dtype=int),
            "value": points[quality].to_numpy(dtype=float) if quality in points else math.nan,
        }
    )
    if grid.as_is is not None and quality in grid.as_is:
        plain = pd.DataFrame(
            {"layer_label": [AS_IS], "dim": [int(grid.as_is["dim"])], "value": [float(grid.as_is[quality])]}
        )
        frame = pd.concat([frame, plain], ignore_index=True)
    return frame.dropna(subset=["value"]).reset_index(drop=True)


# --- kernels ------------------------------------------------------------------------------------

_ATTENTION_TASK = re.compile(r"attention-(?P<gpu>gpu-)?(?P<causal>causal-)?n(?P<n>[0-9]{1,9})")
_QUANTIZER_TASK = re.compile(r"pq-[a-z0-9]{1,40}-(?P<bytes>[0-9]{1,6})b")
ATTENTION_METRICS = (
    "speedup", "rel_error", "rel_error_random", "seconds", "seconds_exact", "peak_mib", "peak_mib_exact",
)  # fmt: skip
ATTENTION_SHAPE = ["n", "causal", "gpu", "device", "heads", "dtype"]
ATTENTION_COLUMNS = ["row", "model", "task", *ATTENTION_SHAPE, *ATTENTION_METRICS]
QUANTIZER_METRICS = ("recall@1", "recall@10", "recall@100", "mse", "ndcg@10", "speedup", "seconds")
QUANTIZER_COLUMNS = ["row", "model", "task", "code_bytes", *QUANTIZER_METRICS, "recall@10 sd", "replicates"]
IN_MODEL_COLUMNS = ["row", "model", "task", "metric", "value", "cost"]


def attention_shape(task: str) -> tuple[int, bool, bool] | None:
    """(n, causal, gpu) of an attention task (``<suite>/attention-[gpu-][causal-]n<N>``), else None.

    The task's name is its identity (a submitted file is checked against the task of that name), so
    the shape is read from it rather than from the file's ``settings``.
    """
    matched = _ATTENTION_TASK.fullmatch(task.rsplit("/", 1)[-1])
    if matched is None:
        return None
    return int(matched["n"]), matched["causal"] is not None, matched["gpu"] is not None


def quantizer_bytes(task: str) -> int | None:
    """Bytes per vector of a quantisation task (``<suite>/pq-<data>-<B>b``), else None."""
    matched = _QUANTIZER_TASK.fullmatch(task.rsplit("/", 1)[-1])
    return int(matched["bytes"]) if matched is not None else None


def shown_name(table: pd.DataFrame, row: str) -> str:
    """A board row as the views show it: model@revision (12 characters) [variant], `` (submitted)``."""
    revision = table.at[row, "revision"]
    name = display_name(
        str(table.at[row, "model_id"]),
        revision if isinstance(revision, str) else None,
        str(table.at[row, "variant"] or ""),
    )
    return name if table.at[row, "origin"] == "reference" else f"{name} (submitted)"


def _cell_results(
    documents: Mapping[str, Mapping[str, Any]], result: Board, rows: Sequence[str] | None
) -> Iterable[tuple[str, str, Mapping[str, Any]]]:
    """(row, task label, stored task result) of every cell of ``rows`` (default: all), board order."""
    found = _results_by_key(documents)
    for row in result.table.index if rows is None else rows:
        digests: Mapping[str, str] = result.table.at[row, "digests"]
        variant = str(result.table.at[row, "variant"])
        for label in result.tasks:
            digest = digests.get(label)
            key = result.columns.get(label)
            if digest is None or key is None:
                continue
            stored = found.get((digest, key["task"], key["split"], key["task_version"], variant))
            if stored is not None:
                yield str(row), label, stored


def _metric(stored: Mapping[str, Any], name: str) -> float:
    value = (stored.get("metrics") or {}).get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def _setting(stored: Mapping[str, Any], name: str, kind: type[int] | type[str]) -> Any:
    """A setting of a stored task result if it is a ``kind`` (a bool is no int here), else None."""
    value = (stored.get("settings") or {}).get(name)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def kernel_attention_points(
    documents: Mapping[str, Mapping[str, Any]], result: Board, rows: Sequence[str] | None = None
) -> pd.DataFrame:
    """One line per (board row, attention task): its shape, and the kernel's speed and error against exact.

    ``documents`` are the lean stored documents of the rows' runs (``store.load_documents``): the
    metrics and settings are there. ``n``, ``causal`` and ``gpu`` come from the task's name
    (``attention_shape``); ``device``, ``heads`` and ``dtype`` are the run's settings (None when
    absent). A metric the run lacks is NaN (``peak_mib`` is recorded only where it can be
    measured). Each cell is the board's, so its newest run and its verified-data filter hold.
    """
    records: list[dict[str, Any]] = []
    for row, label, stored in _cell_results(documents, result, rows):
        shape = attention_shape(stored["task"])
        if shape is None:
            continue
        n, causal, gpu = shape
        device = _setting(stored, "device", str)
        heads = _setting(stored, "heads", int)
        dtype = _setting(stored, "dtype", str)
        records.append(
            {
                "row": row,
                "model": shown_name(result.table, row),
                "task": label,
                "n": n,
                "causal": causal,
                "gpu": gpu,
                "device": device,
                "heads": heads,
                "dtype": dtype,
                **{name: _metric(stored, name) for name in ATTENTION_METRICS},
            }
        )
    frame = pd.DataFrame(records, columns=ATTENTION_COLUMNS)
    frame["n"] = frame["n"].astype(int)
    frame["heads"] = frame["heads"].astype("Int64")
    for column in ("causal", "gpu"):
        frame[column] = frame[column].astype(bool)
    for name in ATTENTION_METRICS:
        frame[name] = frame[name].astype(float)
    return frame.sort_values(["gpu", "causal", "model", "n"], kind="stable").reset_index(drop=True)


def kernel_quantizer_points(
    documents: Mapping[str, Mapping[str, Any]], result: Board, rows: Sequence[str] | None = None
) -> pd.DataFrame:
    """One line per (board row, quantisation task): bytes per vector, recall, error, speed-up.

    ``code_bytes`` comes from the task's name (``quantizer_bytes``). The metrics are the run's
    aggregates (the mean over its seeds; the speed-up their median); ``recall@10 sd`` is the sample
    standard deviation of recall@10 over the replicates (NaN with fewer than two) and
    ``replicates`` their number.
    """
    records: list[dict[str, Any]] = []
    for row, label, stored in _cell_results(documents, result, rows):
        code_bytes = quantizer_bytes(stored["task"])
        if code_bytes is None:
            continue
        recalls = replicate_metric(stored, "recall@10")
        records.append(
            {
                "row": row,
                "model": shown_name(result.table, row),
                "task": label,
                "code_bytes": code_bytes,
                **{name: _metric(stored, name) for name in QUANTIZER_METRICS},
                "recall@10 sd": sample_sd(recalls),
                "replicates": len(recalls),
            }
        )
    frame = pd.DataFrame(records, columns=QUANTIZER_COLUMNS)
    frame["code_bytes"] = frame["code_bytes"].astype(int)
    frame["replicates"] = frame["replicates"].astype(int)
    for name in (*QUANTIZER_METRICS, "recall@10 sd"):
        frame[name] = frame[name].astype(float)
    return frame.sort_values(["model", "code_bytes"], kind="stable").reset_index(drop=True)


def kernel_in_model_points(
    documents: Mapping[str, Mapping[str, Any]], result: Board, rows: Sequence[str] | None = None
) -> pd.DataFrame:
    """One line per (board row, task with a ``cost``): a kernel swapped into a model, and what it cost.

    ``metric`` is the task's main metric, ``value`` the swapped model's score, ``cost`` the plain
    model's score minus it (attention and quantisation tasks are left out).
    """
    records: list[dict[str, Any]] = []
    for row, label, stored in _cell_results(documents, result, rows):
        if attention_shape(stored["task"]) is not None or quantizer_bytes(stored["task"]) is not None:
            continue
        if math.isnan(cost := _metric(stored, "cost")):
            continue
        main = str(stored["main_metric"])
        records.append(
            {
                "row": row,
                "model": shown_name(result.table, row),
                "task": label,
                "metric": main,
                "value": _metric(stored, main),
                "cost": cost,
            }
        )
    frame = pd.DataFrame(records, columns=IN_MODEL_COLUMNS)
    for name in ("value", "cost"):
        frame[name] = frame[name].astype(float)
    return frame


# --- published beside measured ------------------------------------------------------------------

PUBLISHED_COLUMNS = [
    "model",
    "task",
    "split",
    "metric",
    "published",
    "source",
    "measured here",
    "difference",
    "standing",
    "published revision",
    "measured revision",
    "why comparable",
    "file",
]
"""One comparable pair per line: ``difference`` is measured here minus published."""
OTHER_COLUMNS = [
    "model", "source task", "dataset revision", "split", "subset",
    "metric", "published", "source", "status", "file",
]  # fmt: skip
"""Published scores shown but never compared, with why (other dataset build, no task here, not measured)."""
NOT_MEASURED = "not measured here"


@dataclass(frozen=True)
class Measured:
    """One metric of the newest run of (standing, model, revision, task, split) on the card's data."""

    model_id: str
    revision: str | None
    task: str
    split: str
    metric: str
    value: float
    standing: str


@dataclass(frozen=True)
class PublishedComparison:
    compared: pd.DataFrame
    others: pd.DataFrame


def published_vs_measured(
    published: Sequence[store_published.StoredScore], measured: Sequence[Measured]
) -> PublishedComparison:
    """Pair each published score with the scores measured here on the same task, split, metric and data.

    A pair needs: a task of ours (``harness.published.tasks``), a dataset revision known to be that
    task's card data (``same_data``), the subset the task scores (``default``), the model our runs
    carry for it (``measured_as``) and a run on verified (card) data. Everything else is listed in
    ``others`` with its status and never compared. Pure: no database, no Streamlit.
    """
    index: dict[tuple[str, str, str, str], list[Measured]] = {}
    for item in measured:
        index.setdefault((item.model_id, item.task, item.split, item.metric), []).append(item)
    compared: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for stored in published:
        score = stored.score
        status = _published_status(score)
        matches = (
            index.get((score.measured_as or "", score.task or "", score.split, score.metric), [])
            if status == SAME_DATA
            else []
        )
        if status == SAME_DATA and not matches:
            status = NOT_MEASURED
        if not matches:
            others.append(
                {
                    "model": score.model_id,
                    "source task": score.source_task,
                    "dataset revision": score.dataset_revision,
                    "split": score.split,
                    "subset": score.subset,
                    "metric": score.metric,
                    "published": score.value,
                    "source": score.tool,
                    "status": status,
                    "file": stored.path,
                }
            )
            continue
        reason = data_status(_task_map(stored), score.dataset_revision)[1]
        for item in sorted(matches, key=lambda m: (m.standing != "reference", m.revision or "")):
            compared.append(
                {
                    "model": score.model_id,
                    "task": score.task,
                    "split": score.split,
                    "metric": score.metric,
                    "published": score.value,
                    "source": score.tool,
                    "measured here": item.value,
                    "difference": item.value - score.value,
                    "standing": item.standing,
                    "published revision": score.model_revision or "–",
                    "measured revision": item.revision or "–",
                    "why comparable": reason,
                    "file": stored.path,
                }
            )
    return PublishedComparison(
        pd.DataFrame(compared, columns=PUBLISHED_COLUMNS), pd.DataFrame(others, columns=OTHER_COLUMNS)
    )


def _task_map(stored: store_published.StoredScore) -> TaskMap | None:
    tasks = MTEB_TASKS if stored.kind == "mteb" else PYSERINI_TASKS
    return tasks.get(stored.score.source_task)


def _published_status(score: PublishedScore) -> str:
    if score.task is None:
        return NO_TASK
    if not score.same_data:
        return OTHER_BUILD
    if score.subset != "default":
        return f"subset {score.subset} ({score.task} scores the mean of its subsets)"
    return SAME_DATA


def measured_for(engine: Engine, published: Sequence[store_published.StoredScore]) -> list[Measured]:
    """The measured side: newest runs of each published (task, metric) on verified data, variant as is."""
    wanted: dict[str, set[str]] = {}
    for stored in published:
        if stored.score.task is not None and stored.score.same_data:
            wanted.setdefault(stored.score.task.split("/", 1)[0], set()).add(stored.score.metric)
    suites = set(store.suite_counts(engine))
    measured: list[Measured] = []
    for suite in sorted(set(wanted) & suites):
        for metric in sorted(wanted[suite]):
            for cell in store.cells(engine, suite, metric, verified_only=True):
                if cell.value is None or cell.variant:
                    continue
                where = (cell.task, cell.split, metric)
                measured.append(Measured(cell.model_id, cell.revision, *where, cell.value, cell.label))
    return measured


def published_comparison(engine: Engine) -> PublishedComparison:
    """Every stored published score, paired with what was measured here where that is comparable."""
    published = store_published.published_scores(engine)
    return published_vs_measured(published, measured_for(engine, published))
