"""A throw-away PostgreSQL cluster for the store's tests: Debian's ``postgresql``, real, on loopback.

``initdb`` makes a cluster in a fresh temporary folder, ``pg_ctl`` starts it on a free port of
127.0.0.1 (its Unix socket in the same folder, so it never meets a system cluster) and stops it with
``-m immediate`` at the end of the session, even when tests fail. ``initdb`` and ``postgres`` refuse
to run as root (PostgreSQL's documentation, "Creating a Database Cluster"), so under root the server
runs as the ``postgres`` user that Debian's package creates, through ``runuser``.

The admin role authenticates with a password over TCP (``scram-sha-256``), as a team's shared server
would, so a URL here is one an operator writes. ``fsync=off`` only drops durability against a crash
of the machine, which no test makes; a killed *client* still tests PostgreSQL's transactions. Text
sorts by ICU's ``en-US`` (``_collation``), not by bytes as in SQLite.

If PostgreSQL is missing or cannot start, the fixture raises: a test asking for the ``postgresql``
backend errors instead of being skipped (``.ci/run`` installs the package where it is missing).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ADMIN = "postgres"
DEBIAN_BIN = Path("/usr/lib/postgresql")
START_ATTEMPTS = 3
"""Tries with a new free port each: another process can take the port between probe and bind."""
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


@dataclass(frozen=True)
class PostgresServer:
    """A running throw-away cluster: where it lives and how to reach it as its superuser."""

    folder: Path
    bin_dir: Path
    port: int
    password: str

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres", user: str = ADMIN, password: str | None = None) -> str:
        """A SQLAlchemy URL (psycopg 3) of ``database`` on this server as ``user``."""
        secret = self.password if password is None else password
        return f"postgresql+psycopg://{user}:{secret}@127.0.0.1:{self.port}/{database}"

    @property
    def admin_url(self) -> str:
        return self.url()


def find_bin_dir() -> Path:
    """The newest Debian PostgreSQL's ``bin`` folder, else wherever ``initdb`` is on PATH."""
    debian = sorted(
        (path.parent for path in DEBIAN_BIN.glob("*/bin/initdb")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1]
    found = shutil.which("initdb")
    if found is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb): apt-get install postgresql")
    return Path(found).resolve().parent


def _as_server_user() -> list[str]:
    """The command prefix that runs PostgreSQL's programs as a user they accept (never root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise RuntimeError("running as root without runuser: PostgreSQL cannot run as root")
    return ["runuser", "-u", ADMIN, "--"]


def _collation(bin_dir: Path) -> list[str]:
    """ICU's ``en-US`` order where ``initdb`` offers ICU (PostgreSQL 15+), as a team's server would sort.

    SQLite compares bytes (``BINARY``); a test that passes only under byte order would hide a
    difference users of a shared server see, so the cluster sorts as most servers do ("a" < "B").
    """
    help_text = subprocess.run(
        [str(bin_dir / "initdb"), "--help"], capture_output=True, text=True, check=False
    )
    return ["--locale-provider=icu", "--icu-locale=en-US"] if "--locale-provider" in help_text.stdout else []


def _run(command: list[str]) -> None:
    done = subprocess.run(_as_server_user() + command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _make_folder() -> Path:
    """A private temporary folder that the server's user owns (under /tmp when root: postgres reaches it)."""
    root = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="harness-pg-", dir="/tmp" if root else None))
    if root:
        shutil.chown(folder, user=ADMIN, group=None)
    return folder


def start() -> PostgresServer:
    """``initdb`` a new cluster in a temporary folder and start it; stop it with ``stop``."""
    bin_dir = find_bin_dir()
    folder = _make_folder()
    password = secrets.token_hex(16)
    try:
        pwfile = folder / "pwfile"
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, user=ADMIN, group=None)
        _run(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(folder / "data"),
                "--username",
                ADMIN,
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                *_collation(bin_dir),
                "--no-sync",
            ]
        )
        pwfile.unlink()
        error: RuntimeError | None = None
        for _ in range(START_ATTEMPTS):
            server = PostgresServer(folder, bin_dir, free_port(), password)
            options = " ".join(f"-c {key}={value}" for key, value in SETTINGS.items())
            options += f" -p {server.port} -k {folder}"
            try:
                _run(
                    [
                        str(bin_dir / "pg_ctl"),
                        "--pgdata",
                        str(server.data_dir),
                        "--log",
                        str(folder / "server.log"),
                        "--wait",
                        "--timeout=60",
                        "-o",
                        options,
                        "start",
                    ]
                )
                return server
            except RuntimeError as failed:
                error = failed
        log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {error}\n{log[-2000:]}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def stop(server: PostgresServer) -> None:
    """Stop the server at once (nothing in it is kept) and remove its folder."""
    try:
        _run([str(server.bin_dir / "pg_ctl"), "--pgdata", str(server.data_dir), "-m", "immediate", "stop"])
    finally:
        shutil.rmtree(server.folder, ignore_errors=True)


def _conninfo(url: str) -> str:
    """A libpq connection string for psycopg itself, from a SQLAlchemy URL of the cluster."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return (
        f"host={parsed.host} port={parsed.port} dbname={parsed.database} "
        f"user={parsed.username} password={parsed.password}"
    )


def admin_execute(admin_url: str, *statements: str) -> None:
    """Run statements on ``admin_url``'s database outside a transaction (CREATE/DROP DATABASE need that)."""
    import psycopg

    with psycopg.connect(_conninfo(admin_url), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.encode())


def fresh_database_url(server: str) -> str:
    """Create a new, empty database on the cluster of ``server`` (its admin URL); return the database's URL.

    The URL names the cluster's superuser, who owns the new database.
    """
    from sqlalchemy.engine import make_url

    name = f"harness_{secrets.token_hex(6)}"
    admin_execute(server, f'CREATE DATABASE "{name}"')
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by ``fresh_database_url``, closing whatever a test left connected."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin_execute(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)',
    )


def recreate_database(url: str) -> None:
    """Drop the database of ``url`` and create an empty one of the same name (a deleted store)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    drop_database(url)
    admin_execute(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        f'CREATE DATABASE "{parsed.database}"',
    )


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresServer]:
    """One throw-away cluster for the whole session, started on first use, stopped at its end."""
    server = start()
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="session")
def postgres_server(postgres_cluster: PostgresServer) -> str:
    """The session cluster's admin URL (superuser ``postgres``, database ``postgres``)."""
    return postgres_cluster.admin_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store's SQLAlchemy URL on each backend: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'harness.sqlite'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    url = fresh_database_url(server)
    yield url
    drop_database(url)
