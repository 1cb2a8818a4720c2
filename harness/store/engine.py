"""Opening the database: any SQLAlchemy URL, SQLite or PostgreSQL made safe for several processes.

On SQLite every connection enforces foreign keys (without the pragma cascades are ignored), uses
WAL and waits up to 30 s for a lock; a read-only engine opens the file with ``mode=ro``. On
PostgreSQL (psycopg 3; ``postgresql://`` means ``postgresql+psycopg://``) writers that must not
interleave take transaction-scoped advisory locks (``serialize_ingest``, the creation of the
tables), and a read-only engine's sessions start read-only. A database whose ``store_version`` is
not this harness's is refused with the command that rebuilds it. Both backends run the same tests
(``tests/integration/test_store.py``).
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, create_engine, event, func, inspect, select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from harness.errors import SettingError
from harness.store.tables import STORE_VERSION, Base, MetaRow, RunRow

DEFAULT_URL = "sqlite:///results/harness.sqlite"
BUSY_TIMEOUT_MS = 30_000
LOCKED_RETRIES = 100
"""Bounded retries (about 10 s) of a step that SQLite refuses with "database is locked" at once."""

SCHEMA_LOCK = 0x6861726E657373_01
"""PostgreSQL advisory lock key held while the tables are created (any 64-bit number, ours alone)."""
INGEST_LOCK = 0x6861726E657373_02
"""PostgreSQL advisory lock key that orders ingests: ``runs.seq`` follows commit order."""

REBUILD = (
    "remove it and run `harness ingest results submissions` to rebuild it from the files "
    "(and `harness import all` for the published scores kept under published/)"
)


def one_line(error: BaseException) -> str:
    """The driver's message without SQLAlchemy's SQL echo and help links."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def _sqlite_url(url: URL, readonly: bool) -> URL:
    """Create the folder of a SQLite file (read-write) or turn the URL into ``file:...?mode=ro``."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or "uri" in url.query:
        return url
    path = Path(database).expanduser()
    if not readonly:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SettingError("db", f"cannot create the folder {path.parent}: {error.strerror}") from None
        return url.set(database=str(path))
    if not path.is_file():
        raise SettingError("db", f"{path}: no such database file (run `harness ingest` first)")
    uri_path = quote(str(path.resolve()), safe="/")
    return url.set(database=f"file:{uri_path}", query={**url.query, "mode": "ro", "uri": "true"})


def _postgres_url(url: URL) -> URL:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy's default for it is psycopg2, not installed)."""
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def _postgres_readonly(url: URL) -> dict[str, str]:
    """The libpq options that start every transaction read-only: a guard against a mistaken write.

    The server refuses writes in such a transaction ("cannot execute INSERT in a read-only
    transaction"; PostgreSQL, ``default_transaction_read_only``). It is not a permission: a role
    with only CONNECT and SELECT (README, "One PostgreSQL for a team") is what keeps the board's account
    from writing.
    """
    given = url.query.get("options", "")
    extra = given if isinstance(given, str) else " ".join(given)
    return {"options": f"{extra} -c default_transaction_read_only=on".strip()}


def serialize_ingest(session: Session) -> None:
    """Make this transaction the only ingest between here and its commit (PostgreSQL only).

    Read Committed lets two PostgreSQL transactions read the same ``max(seq)``; an advisory lock
    held to the commit makes ingests (and merges of annotations) take turns, so ``seq`` is unique
    and in commit order. SQLite needs nothing: a write takes the database's single write lock,
    and the insert computes ``seq`` under it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(INGEST_LOCK)))


def retry_locked(step: Callable[[], object]) -> None:
    """Run ``step``, retrying while SQLite says "database is locked".

    SQLite skips the busy handler where waiting could deadlock: switching a new file to WAL, or a
    reader upgrading to a writer while another writer waits. Those fail at once whatever the busy
    timeout, so several processes opening one new database need a short, bounded retry.
    """
    for attempt in range(LOCKED_RETRIES + 1):
        try:
            step()
            return
        except (sqlite3.OperationalError, OperationalError) as error:
            if "locked" not in str(error) or attempt == LOCKED_RETRIES:
                raise
            time.sleep(0.05 + random.random() * 0.1)


def _sqlite_pragmas(readonly: bool) -> Any:
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            if not readonly:
                retry_locked(lambda: cursor.execute("PRAGMA journal_mode=WAL"))
        finally:
            cursor.close()

    return on_connect


def _create_tables(engine: Engine) -> None:
    """``create_all``, safe when several processes open a new database at once.

    ``create_all`` checks for each table and then creates it; a process that loses the race between
    the two sees "table ... already exists" (on PostgreSQL also a unique violation on the catalog
    ``pg_type``). On PostgreSQL, where DDL is transactional, the creators take turns under an
    advisory lock and each checks inside its own transaction; on SQLite, where tables are only ever
    added, checking again settles it.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            _create_tables_locked(connection)
        return
    meta = [Base.metadata.tables[MetaRow.__tablename__]]  # first: no process sees data tables without it
    for attempt in range(len(Base.metadata.tables) + 1):
        try:
            retry_locked(lambda: Base.metadata.create_all(engine, tables=meta))
            retry_locked(lambda: Base.metadata.create_all(engine))
            return
        except OperationalError as error:
            if "already exists" not in str(error.orig) or attempt == len(Base.metadata.tables):
                raise


def _create_tables_locked(connection: Connection) -> None:
    """Create what is missing, alone: the lock is held until the transaction (all the DDL) commits."""
    connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
    Base.metadata.create_all(connection)


def _check_version(engine: Engine, shown: str, readonly: bool) -> None:
    """Stamp a new database with ``STORE_VERSION``; refuse one made by another harness.

    A database with the harness tables but no ``store_meta`` table was made before the store had a
    version; one whose stamp differs was made by another version. A ``store_meta`` table without
    its row is a new database another process is creating: stamping it again is harmless.
    """
    inspector = inspect(engine)
    if not inspector.has_table(MetaRow.__tablename__):
        if inspector.has_table(RunRow.__tablename__):
            raise SettingError("db", f"{shown} was made by an older harness (no store version); {REBUILD}")
        return  # read-only and empty: nothing to check
    with Session(engine) as session:
        value = session.scalar(select(MetaRow.value).where(MetaRow.key == "store_version"))
    if value is not None:
        if value != str(STORE_VERSION):
            raise SettingError(
                "db",
                f"{shown} was made with store version {value} (this harness: {STORE_VERSION}); {REBUILD}",
            )
        return
    if readonly:
        return

    def stamp() -> None:
        with Session(engine) as session, session.begin():
            session.merge(MetaRow(key="store_version", value=str(STORE_VERSION)))

    with contextlib.suppress(IntegrityError):  # a concurrent opener stamped it first
        retry_locked(stamp)


def connect(url: str = DEFAULT_URL, readonly: bool = False) -> Engine:
    """Open the database at ``url`` (any SQLAlchemy URL) and make sure the tables exist.

    A read-only engine creates no table or row; for SQLite it opens the file with ``mode=ro`` so that
    every write fails (SQLite still keeps its ``-wal``/``-shm`` files beside a WAL database), and it
    refuses a file without the harness tables. On PostgreSQL every transaction of a read-only
    engine starts read-only; the account's privileges are what make it safe (README: the board's
    role has only CONNECT and SELECT). Call ``engine.dispose()`` when done so SQLite folds its WAL
    into the file.

    Raises:
        SettingError: ``db``: the URL cannot be parsed, its driver is not installed, the database
            cannot be opened, or it was made by another harness version.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SettingError("db", f"{url!r} is not a database URL (e.g. {DEFAULT_URL})") from None
    shown = parsed.render_as_string(hide_password=True)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    connect_args: dict[str, str] = {}
    if is_sqlite:
        parsed = _sqlite_url(parsed, readonly)
    elif parsed.get_backend_name() == "postgresql":
        parsed = _postgres_url(parsed)
        if readonly:
            connect_args = _postgres_readonly(parsed)
    try:
        # a server may restart or drop idle connections under a long-lived board: test each on checkout
        engine = create_engine(parsed, connect_args=connect_args, pool_pre_ping=not is_sqlite)
    except NoSuchModuleError:
        raise SettingError("db", f"{shown}: unknown database dialect {parsed.drivername!r}") from None
    except ImportError as error:
        extra = "; pip install 'repbench-harness[postgres]'" if error.name == "psycopg" else ""
        raise SettingError("db", f"{shown}: database driver not installed ({error.name}){extra}") from None
    except ArgumentError as error:
        raise SettingError("db", f"{shown}: {one_line(error)}") from None
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas(readonly))
    try:
        if readonly:
            if not inspect(engine).has_table(RunRow.__tablename__):
                engine.dispose()
                raise SettingError("db", f"{shown}: holds no harness tables (run `harness ingest` first)")
        elif inspect(engine).has_table(RunRow.__tablename__):
            _check_version(engine, shown, readonly)  # before create_all adds a meta table to an old file
            _create_tables(engine)
        else:
            _create_tables(engine)
        _check_version(engine, shown, readonly)
    except DBAPIError as error:
        engine.dispose()
        raise SettingError("db", f"{shown}: cannot open: {one_line(error)}") from None
    except SettingError:
        engine.dispose()
        raise
    return engine
