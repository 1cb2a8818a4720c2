"""Terminal output: the results table at the end of a run, and listings. Only this and cli.py print."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

from harness.results import ResultsFile


def results_table(results: ResultsFile) -> Table:
    metrics: list[str] = []
    for result in results.results:
        metrics.extend(m for m in result.metrics if m not in metrics)
    revision = f"@{results.model.revision[:8]}" if results.model.revision else ""
    table = Table(title=f"{results.model.id}{revision} on {results.suite}", title_justify="left")
    table.add_column("task")
    table.add_column("split")
    table.add_column("data")
    for name in metrics:
        table.add_column(name, justify="right")
    table.add_column("queries/s", justify="right")
    table.add_column("seconds", justify="right")
    for result in results.results:
        search = result.timings_s.get("search")
        queries = result.dataset.counts.get("queries")
        rate = f"{queries / search:,.0f}" if search and queries else "–"
        table.add_row(
            result.task,
            result.split,
            "verified" if result.dataset.verified else "[yellow]unverified[/]",
            *(f"{result.metrics[m]:.4f}" if m in result.metrics else "–" for m in metrics),
            rate,
            f"{result.timings_s.get('total', 0.0):.1f}",
        )
    return table


def print_results(console: Console, results: ResultsFile) -> None:
    console.print(results_table(results))


def print_rows(console: Console, title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
