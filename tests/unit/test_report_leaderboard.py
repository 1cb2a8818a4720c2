"""``harness leaderboard``'s terminal table: drawn a column at a time, the same as a row at a time.

``report.print_leaderboard`` hands rich each column whole when the table fits unwrapped (a 500-row
board took a second cell by cell); this holds it to the cell-by-cell table it replaced, character
for character and style for style, on a plain file and on a terminal, wide and narrow (where it
falls back to the rows).
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.board.export import LeaderboardTable
from harness.report import print_leaderboard


def cell_by_cell(console: Console, table: LeaderboardTable) -> None:
    """The table as ``print_leaderboard`` drew it before: one rich cell per value."""
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


def board(n_rows: int) -> LeaderboardTable:
    datasets = ("scifact", "nfcorpus", "fiqa")
    columns = ("model", "origin", *datasets, "mean", "queries/s")
    rows = []
    for number in range(n_rows):
        rows.append(
            {
                "model": f"org/模型-{number}@{number:012x}" + (" [dim=128]" if number % 3 == 0 else ""),
                "origin": ("reference", "submitted, rescored")[number % 2],
                "scifact": number / (n_rows + 1),
                "nfcorpus": None if number % 4 == 1 else 1 - number / (n_rows + 1),
                "fiqa": 0.25,
                "mean": None,
                "queries/s": 1234.5 * (number + 1),
            }
        )
    return LeaderboardTable(
        suite="beir",
        columns=columns,
        rows=tuple(rows),
        cells=tuple({} for _ in rows),
        datasets=datasets,
        mean_over=("scifact", "fiqa"),
    )


def drawn(draw: object, table: LeaderboardTable, width: int, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=width, markup=False, emoji=False, highlight=False, force_terminal=terminal
    )
    draw(console, table)  # type: ignore[operator]
    return out.getvalue()


@pytest.mark.parametrize("terminal", [False, True], ids=["file", "terminal"])
@pytest.mark.parametrize("width", [200, 60], ids=["fits", "wraps"])
@pytest.mark.parametrize("n_rows", [0, 1, 37])
def test_the_table_is_the_one_drawn_cell_by_cell(n_rows: int, width: int, terminal: bool) -> None:
    table = board(n_rows)
    expected = drawn(cell_by_cell, table, width, terminal)
    assert drawn(print_leaderboard, table, width, terminal) == expected
    if n_rows and width == 200:  # the whole names, unwrapped: the column-at-a-time path was taken
        assert f"org/模型-{n_rows - 1}@" in expected and "–" in expected
