"""Terminal output: the results table at the end of a run, and listings. Only this and cli.py print.

Text that may come from a file (model ids, splits) is added to tables as plain ``Text``, never
parsed as Rich markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.metrics.measures import known_measure
from harness.results import ResultsFile, variant_key
from harness.suites.base import BoardSpec

if TYPE_CHECKING:  # the board's modules import pandas, which `harness run` never loads
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
    """The board's main table: scores to 4 decimals, speeds whole, every text cell as plain ``Text``."""
    over = ", ".join(table.mean_over) or "none (no dataset is shared)"
    shown = Table(title=Text(f"{table.suite} · mean over: {over}"), title_justify="left")
    numeric = set(table.columns[2:])
    for column in table.columns:
        shown.add_column(column, justify="right" if column in numeric else "left")
    scores = {*table.datasets, "mean"}
    for row in table.rows:
        cells = []
        for column in table.columns:
            value = row[column]
            if value is None:
                cells.append(Text("–"))
            elif isinstance(value, float):
                cells.append(Text(f"{value:.4f}" if column in scores else f"{value:,.1f}"))
            else:
                cells.append(Text(str(value)))
        shown.add_row(*cells)
    console.print(shown)
