"""The board on PostgreSQL through a role that may only read, made as README's team section says.

The two SQL blocks of README's "One PostgreSQL for a team" run here as written (passwords replaced),
on the session's throw-away cluster (``tests/pg_cluster.py``): the writer's role makes the tables
and ingests, the board's role reads everything (store queries, ``harness leaderboard``, the page,
``harness board``) and every write through it is refused by the server, whatever the client does.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import run_harness as harness
from factories import make_results, make_submission, make_verification
from pg_cluster import PostgresServer, admin_execute, free_port
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from streamlit.testing.v1 import AppTest

from harness import store
from harness.board import PAGE
from harness.board import queries as bq
from harness.registry import SUITES
from harness.results import digest, write_results

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## One PostgreSQL for a team"
PASSWORDS = ("writer-secret", "board-secret")


def readme_sql() -> tuple[list[str], list[str]]:
    """README's two ``sql`` blocks as statements: the first for the server, the second in the database."""
    section = README.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2, "README's team section must hold two sql blocks"
    server, database = ([part.strip() for part in block.split(";") if part.strip()] for block in blocks)
    return server, database


@dataclass(frozen=True)
class Team:
    """The database ``harness`` of README's recipe: URLs of its writer and of the board's role."""

    server: PostgresServer
    writer: str
    board: str
    board_password: str


@pytest.fixture
def team(postgres_cluster: PostgresServer) -> Iterator[Team]:
    secret = {name: secrets.token_hex(12) for name in PASSWORDS}

    def filled(statement: str) -> str:
        for name, value in secret.items():
            statement = statement.replace(f"'{name}'", f"'{value}'")
        return statement

    server_sql, database_sql = readme_sql()
    assert all(any(f"'{name}'" in s for s in server_sql) for name in PASSWORDS)
    admin = postgres_cluster.admin_url
    try:
        admin_execute(admin, *map(filled, server_sql))  # one statement at a time: CREATE DATABASE
        admin_execute(postgres_cluster.url("harness"), *map(filled, database_sql))
        yield Team(
            server=postgres_cluster,
            writer=postgres_cluster.url("harness", "harness_writer", secret["writer-secret"]),
            board=postgres_cluster.url("harness", "harness_board", secret["board-secret"]),
            board_password=secret["board-secret"],
        )
    finally:
        admin_execute(
            admin,
            'DROP DATABASE IF EXISTS "harness" WITH (FORCE)',
            "DROP ROLE IF EXISTS harness_board",
            "DROP ROLE IF EXISTS harness_writer",
        )


def fill(team: Team) -> list[str]:
    """The writer's role makes the tables (its first connect) and stores two runs, one verified."""
    engine = store.connect(team.writer)
    try:
        runs = [make_results("org/a", ndcg=0.7), make_results("org/b", ndcg=0.5)]
        for results in runs:
            assert store.ingest(engine, results) == "stored"
        assert store.record_verification(engine, digest(runs[0]), make_verification())
    finally:
        engine.dispose()
    return [digest(results) for results in runs]


def rows(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("runs", "task_results", "metrics", "store_meta")
            }
    finally:
        engine.dispose()


def test_the_board_role_reads_everything(team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(team)
    reader = store.connect(team.board, readonly=True)
    try:
        assert {cell.model_id for cell in store.cells(reader, "beir")} == {"org/a", "org/b"}
        table = bq.board(reader, "beir", SUITES["beir"].board).table
        assert list(table.index) == ["org/a", "org/b"]  # best mean first
        assert bool(table.loc["org/a", "reproduced"]) is True
    finally:
        reader.dispose()

    # `harness leaderboard` with the password in a pgpass file, not in the URL (README's advice)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{team.server.port}:harness:harness_board:{team.board_password}\n")
    pgpass.chmod(0o600)
    bare = f"postgresql://harness_board@127.0.0.1:{team.server.port}/harness"  # as README writes it
    done = subprocess.run(
        [sys.executable, "-m", "harness", "leaderboard", "--suite", "beir", "--format", "csv", "--db", bare],
        capture_output=True,
        text=True,
        env={**os.environ, "PGPASSFILE": str(pgpass)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "org/a" in done.stdout and "org/b" in done.stdout

    # the page itself, as `harness board --db URL` runs it
    monkeypatch.setattr(sys, "argv", [str(PAGE), "--db", team.board])
    page = AppTest.from_file(str(PAGE), default_timeout=60)
    page.run()
    assert not page.exception, [error.value for error in page.exception]
    assert len(page.dataframe) >= 1


def test_harness_board_serves_through_the_board_role(team: Team, tmp_path: Path) -> None:
    fill(team)
    port = free_port()
    board = subprocess.Popen(
        [sys.executable, "-m", "harness", "board", "--db", team.board, "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert board.poll() is None, board.stdout.read().decode() if board.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    assert answer.read() == b"ok"
                    break
            except OSError:
                assert time.monotonic() < deadline, "the board never answered"
                time.sleep(0.5)
    finally:
        board.terminate()
        board.wait(timeout=30)


def test_writes_through_the_board_role_are_refused(team: Team, tmp_path: Path) -> None:
    (first, _) = fill(team)
    before = rows(team.writer)

    plain = create_engine(team.board)  # no harness code, no read-only transactions: only the role
    try:
        for statement in (
            "INSERT INTO store_meta (key, value) VALUES ('x', 'y')",
            f"UPDATE runs SET origin = 'reference' WHERE digest = '{first}'",
            "DELETE FROM metrics",
            "DROP TABLE metrics",
            "CREATE TABLE intruder (id integer)",
        ):
            with pytest.raises(ProgrammingError, match="permission denied|must be owner"), plain.begin() as c:
                c.execute(text(statement))
    finally:
        plain.dispose()

    engine = store.connect(team.board)  # opened for writing: the tables exist, so nothing is created
    try:
        with pytest.raises(DBAPIError, match="permission denied"):
            store.ingest(engine, make_results("org/c"))
        with pytest.raises(DBAPIError, match="permission denied"):
            store.record_verification(engine, first, make_verification(False))
    finally:
        engine.dispose()

    path = write_results(make_submission("org/d"), tmp_path / "results")
    done = harness("ingest", path, "--db", team.board, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == "harness: --db: database error: permission denied for table runs\n"
    assert team.board_password not in done.stdout
    assert rows(team.writer) == before
