"""Terminal output: the results table at the end of a run, and listings. Only this and cli.py print.

Text that may come from a file (model ids, splits) is added to tables as plain ``Text``, never
parsed as Rich markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.metrics.measures import known_measure
from harness.results import ResultsFile, variant_key
from harness.suites.base import BoardSpec

if TYPE_CHECKING:  # the board's modules import pandas, which `harness run` never loads
    from harness.battery import Job, PassName, PassOutcome, Row
    from harness.board.export import LeaderboardTable


def _score(name: str, value: float) -> str:
    found = known_measure(name)
    return found.format(value) if found is not None else f"{value:.4f}"


def results_table(results: ResultsFile, board: BoardSpec) -> Table:
    """One row per task result: the data state, every metric (± sd over replicates), the suite's rates."""
    metrics: list[str] = []
    for result in results.results:
        metrics.extend(m for m in result.metrics if m not in metrics)
    revision = f"@{results.model.revision[:8]}" if results.model.revision else ""
    table = Table(title=Text(f"{results.model.id}{revision} on {results.suite}"), title_justify="left")
    for column in ("task", "split", "data"):
        table.add_column(column)
    for name in metrics:
        table.add_column(name, justify="right")
    for rate in board.rates:
        table.add_column(rate.label, justify="right")
    table.add_column("run s", justify="right")
    for result in results.results:
        variant = variant_key(result.variant)
        cells = []
        for name in metrics:
            if name not in result.metrics:
                cells.append("–")
                continue
            spread = result.spread(name)
            shown = _score(name, result.metrics[name])
            cells.append(shown if spread is None else f"{shown} ± {_score(name, spread)}")
        rates = []
        for rate in board.rates:
            seconds = result.timings_s.get(rate.phase)
            count = result.inputs.counts.get(rate.count)
            rates.append(f"{count / seconds:,.0f}" if seconds and count else "–")
        table.add_row(
            Text(result.task + (f" [{variant}]" if variant else "")),
            Text(result.split),
            "verified"
            if result.inputs.verified
            else Text("user data" if result.inputs.source == "user" else "unverified", style="yellow"),
            *cells,
            *rates,
            f"{result.timings_s.get('total', 0.0):.1f}",
        )
    return table


def print_results(console: Console, results: ResultsFile, board: BoardSpec) -> None:
    console.print(results_table(results, board))


def print_rows(console: Console, title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    table = Table(title=Text(title), title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)


def print_leaderboard(console: Console, table: LeaderboardTable) -> None:
    """The board's main table: scores to 4 decimals, speeds whole, every text cell as plain ``Text``.

    Rich lays out every cell on its own (about 0.1 ms each: a 500-row board took a second), so when
    the table fits the console unwrapped, each column goes in whole as one cell of one row, its
    values a line each: rows have no rules between them, so the output is the same, character for
    character and style for style (``tests/unit/test_report_leaderboard.py``).
    """
    over = ", ".join(table.mean_over) or "none (no dataset is shared)"
    shown = Table(title=Text(f"{table.suite} · mean over: {over}"), title_justify="left")
    numeric = set(table.columns[2:])
    for column in table.columns:
        shown.add_column(column, justify="right" if column in numeric else "left")
    scores = {*table.datasets, "mean"}
    rows = [[_leaderboard_cell(row[name], name in scores) for name in table.columns] for row in table.rows]
    columns = [[name, *(cells[index] for cells in rows)] for index, name in enumerate(table.columns)]
    if rows and _fits_unwrapped(columns, console.width):
        shown.add_row(*(Text("\n".join(values[1:]), no_wrap=True) for values in columns))
    else:
        for cells in rows:
            shown.add_row(*(Text(cell) for cell in cells))
    console.print(shown)


def _fits_unwrapped(columns: Sequence[Sequence[str]], width: int) -> bool:
    """Whether a rich table of these columns (header first), padding 1 and borders, fits ``width``."""
    if any("\n" in text for values in columns for text in values):
        return False
    return sum(max(map(cell_len, values)) + 2 for values in columns) + len(columns) + 1 <= width


def _leaderboard_cell(value: str | float | None, score: bool) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}" if score else f"{value:,.1f}"
    return str(value)


def battery_table(rows: Sequence[Row], passes: Sequence[PassName]) -> Table:
    """``harness battery``: per task its main metric, the reference (± tolerance) and seconds per pass.

    ``match`` is "yes" when every metric the reference file lists is within its tolerance and every
    pass scored the same; "–" where the file lists no number for the task.
    """
    table = Table(title=Text("reference battery"), title_justify="left")
    for column in ("model", "suite", "task", "metric"):
        table.add_column(column)
    for column in ("value", "reference", "match"):
        table.add_column(column, justify="right")
    for name in passes:
        table.add_column(f"{name} s", justify="right")
    table.add_column("cached (last pass)")
    for row in rows:
        reference = row.reference
        shown = "–"
        if reference is not None:
            shown = f"{_score(reference.metric, reference.expected)} ± {reference.tolerance:g}"
            shown = shown if reference.metric == row.metric else f"{reference.metric} {shown}"
        failed = [c.metric for c in row.checks if not c.ok]
        failed += [] if row.same_in_every_pass else ["passes differ"]
        match = "NO: " + ", ".join(failed) if failed else ("yes" if row.checks else "–")
        table.add_row(
            Text(row.model),
            Text(row.suite),
            Text(row.task),
            Text(row.metric),
            _score(row.metric, row.value),
            shown,
            Text(match, style="red" if failed else ""),
            *(f"{row.seconds[name]:.1f}" if name in row.seconds else "–" for name in passes),
            Text(", ".join(row.cached) or "–"),
        )
    return table


def print_battery(
    console: Console, rows: Sequence[Row], passes: Sequence[PassOutcome], skipped: Sequence[tuple[Job, str]]
) -> None:
    """The summary table, the pairs skipped and why, then each pass's wall time and where it went."""
    console.print(battery_table(rows, [outcome.name for outcome in passes]))
    for job, reason in skipped:
        console.print(f"skipped: {job.model} on {job.suite}: {reason}", markup=False, highlight=False)
    for outcome in passes:
        phases = ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in outcome.phase_seconds().items())
        console.print(
            f"{outcome.name} pass: {outcome.seconds:.1f} s wall ({phases})", markup=False, highlight=False
        )
    if len(passes) > 1:
        totals = ", ".join(f"{outcome.name} {outcome.seconds:.1f} s" for outcome in passes)
        console.print(f"battery wall time: {totals}", markup=False, highlight=False)
