"""What only a SQLite file has: pragmas, WAL, ``mode=ro``, folders, and the file's own bytes.

Everything about the store's semantics (ingest, annotations, the board's reads, rebuilds) runs on
both backends in ``test_store.py``; here the SQLite file is checked byte for byte where a test there
compares table contents.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import make_results, make_verification
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from harness import store
from harness.errors import SettingError
from harness.results import digest
from harness.store.tables import STORE_VERSION


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "harness.sqlite"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = store.connect(f"sqlite:///{db_path}")
    yield engine
    engine.dispose()


def file_state(engine: Engine, db_path: Path) -> tuple[str, bool]:
    """sha256 of the database file with every connection closed (WAL folded in), and whether a WAL is left."""
    engine.dispose()
    wal = db_path.with_name(db_path.name + "-wal")
    return hashlib.sha256(db_path.read_bytes()).hexdigest(), wal.exists() and wal.stat().st_size > 0


def test_sqlite_connect_creates_folder_tables_and_pragmas(engine: Engine, db_path: Path) -> None:
    assert db_path.is_file()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
        stamp = connection.execute(text("SELECT key, value FROM store_meta")).all()
    assert [tuple(row) for row in stamp] == [("store_version", str(STORE_VERSION))]


def test_sqlite_unopenable_path_is_setting_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SettingError, match="cannot create the folder") as caught:
        store.connect(f"sqlite:///{blocker}/sub/db.sqlite")
    assert caught.value.setting == "db"
    folder = tmp_path / "folder.sqlite"
    folder.mkdir()
    with pytest.raises(SettingError, match="cannot open") as caught:
        store.connect(f"sqlite:///{folder}")
    assert caught.value.setting == "db"
    assert "\n" not in str(caught.value)
    not_sqlite = tmp_path / "text.sqlite"
    not_sqlite.write_text("hello, this is not a database file at all" * 10)
    with pytest.raises(SettingError, match="cannot open"):
        store.connect(f"sqlite:///{not_sqlite}")


def test_sqlite_readonly_missing_or_empty_file_is_setting_error(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="no such database file") as caught:
        store.connect(f"sqlite:///{tmp_path}/missing.sqlite", readonly=True)
    assert caught.value.setting == "db"
    assert not (tmp_path / "missing.sqlite").exists()  # mode=ro creates no file
    sqlite3.connect(tmp_path / "empty.sqlite").close()
    with pytest.raises(SettingError, match="holds no harness tables"):
        store.connect(f"sqlite:///{tmp_path}/empty.sqlite", readonly=True)


def test_sqlite_reingest_leaves_the_file_bytes_alone(engine: Engine, db_path: Path) -> None:
    results = make_results()
    assert store.ingest(engine, results) == "stored"
    before = file_state(engine, db_path)
    assert before[1] is False  # the WAL was folded in
    assert store.ingest(engine, results) == "unchanged"
    again = store.connect(f"sqlite:///{db_path}")  # a later process
    assert store.ingest(again, results.model_copy(update={"origin": "submission"})) == "unchanged"
    again.dispose()
    assert file_state(engine, db_path) == before


def test_sqlite_failed_ingest_leaves_the_file_bytes_alone(engine: Engine, db_path: Path) -> None:
    store.ingest(engine, make_results(model_id="first"))
    before = file_state(engine, db_path)

    def fail_on_metrics(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO metrics"):
            raise RuntimeError("disk on fire")

    event.listen(engine, "before_cursor_execute", fail_on_metrics)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.ingest(engine, make_results(model_id="second"))
    event.remove(engine, "before_cursor_execute", fail_on_metrics)
    assert file_state(engine, db_path) == before


def test_sqlite_without_the_pragma_foreign_keys_are_ignored(engine: Engine, db_path: Path) -> None:
    """Why every connection sets ``foreign_keys=ON``: a raw connection's delete leaves orphans."""
    store.ingest(engine, make_results(model_id="b"))
    engine.dispose()
    raw = sqlite3.connect(db_path)
    raw.execute("DELETE FROM runs")
    raw.commit()
    orphans = raw.execute("SELECT count(*) FROM task_results").fetchone()[0]
    raw.close()
    assert orphans == 1


def test_sqlite_readonly_engine_leaves_the_file_bytes_alone(engine: Engine, db_path: Path) -> None:
    results = make_results()
    store.ingest(engine, results)
    before = file_state(engine, db_path)
    readonly = store.connect(f"sqlite:///{db_path}", readonly=True)
    try:
        assert [cell.model_id for cell in store.cells(readonly, "beir")] == ["m"]
        with pytest.raises(OperationalError, match="readonly"):
            store.record_verification(readonly, digest(results), make_verification())
    finally:
        readonly.dispose()
    assert file_state(engine, db_path) == before


def test_sqlite_readonly_path_with_uri_characters(tmp_path: Path) -> None:
    path = tmp_path / "odd name?#%" / "h.sqlite"
    writer = store.connect(f"sqlite:///{path}")
    store.ingest(writer, make_results())
    writer.dispose()
    reader = store.connect(f"sqlite:///{path}", readonly=True)
    assert len(store.list_runs(reader)) == 1
    reader.dispose()
