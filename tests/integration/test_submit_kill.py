"""``kill -9`` during an ingest: the database holds all of a file or none of it, and stays intact.

Each test runs on a SQLite file and on a fresh PostgreSQL database (``store_url``). The submitter
is a real child process. In the first test a SQLAlchemy event hook (in the child's
script, not in harness) stops it inside the transaction, after the run and task rows and a large
``per_item`` are written but before commit, so the kill lands mid-transaction for certain. In the
second, a child works through a queue of large files and is killed at a random moment within twice
the time from an ingest's first INSERT to its commit on that backend, measured first (so some kills
land inside the transaction and some after its commit), restarted on what is left,
and killed again; after each kill every file is stored whole or not at all, and at the end once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from factories import make_submission
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from harness import store, submit
from harness.results import canonical_bytes, digest

KILLS = 6
QUERIES = 150_000

CHILD = """
import sys, time
from pathlib import Path
from sqlalchemy import event
from harness import store, submit

url, submissions, marker, mode, *files = sys.argv[1:]
engine = store.connect(url)
if mode == "hang":
    @event.listens_for(engine, "after_cursor_execute")
    def hang(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO metrics"):
            Path(marker).write_text("inside the transaction")
            time.sleep(300)
else:
    @event.listens_for(engine, "before_cursor_execute")
    def announce(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO runs") and not Path(marker).exists():
            Path(marker).write_text("ingest begins")
for name in files:
    submit.submit(engine, submit.accept(Path(name)), Path(submissions))
Path(marker + ".done").write_text("done")
"""


def start_child(
    tmp_path: Path, url: str, mode: str, files: list[Path]
) -> tuple[subprocess.Popen[bytes], Path]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    marker = tmp_path / f"marker-{time.monotonic_ns()}"
    command = [
        sys.executable,
        str(script),
        url,
        str(tmp_path / "submissions"),
        str(marker),
        mode,
    ]
    child = subprocess.Popen(
        [*command, *map(str, files)], cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    return child, marker


def wait_for(path: Path, child: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert child.poll() is None, f"the child exited early with {child.returncode}"
        assert time.monotonic() < deadline, f"the child never wrote {path.name}"
        time.sleep(0.01)


def kill_9(child: subprocess.Popen[bytes]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL


def query(url: str, sql: str, **params: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` read by a fresh connection of plain SQLAlchemy: what another process sees."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def rows_of(url: str, key: str) -> tuple[int, int, int]:
    ((runs, tasks, metrics),) = query(
        url,
        "SELECT (SELECT count(*) FROM runs WHERE digest = :key),"
        " (SELECT count(*) FROM task_results WHERE run_digest = :key),"
        " (SELECT count(*) FROM metrics JOIN task_results ON task_results.id = metrics.task_result_id"
        " WHERE task_results.run_digest = :key)",
        key=key,
    )
    return int(str(runs)), int(str(tasks)), int(str(metrics))


def intact(url: str) -> str:
    """SQLite's ``integrity_check`` of the file (PostgreSQL's pages no client can damage: "ok"), and
    no row without its parent on either backend."""
    ((orphans,),) = query(
        url,
        "SELECT (SELECT count(*) FROM task_results t LEFT JOIN runs r ON r.digest = t.run_digest"
        " WHERE r.digest IS NULL) + (SELECT count(*) FROM metrics m LEFT JOIN task_results t"
        " ON t.id = m.task_result_id WHERE t.id IS NULL)",
    )
    if orphans != 0:
        return f"{orphans} orphaned rows"
    if make_url(url).get_backend_name() != "sqlite":
        return "ok"
    ((result,),) = query(url, "PRAGMA integrity_check")
    return str(result)


def test_kill_inside_the_transaction_leaves_nothing_of_the_file(store_url: str, tmp_path: Path) -> None:
    engine = store.connect(store_url)
    earlier = make_submission(model_id="earlier", queries=50, verified=False)
    assert store.ingest(engine, earlier.model_copy(update={"origin": "submission"})) == "stored"
    engine.dispose()
    # 150,000 queries: a per_item (stored once, in its task row) larger than SQLite's 2 MB page cache,
    # so uncommitted pages reach the WAL
    big = make_submission(model_id="big", queries=QUERIES, verified=False)
    source = tmp_path / "big.json"
    source.write_bytes(canonical_bytes(big))

    child, marker = start_child(tmp_path, store_url, "hang", [source])
    wait_for(marker, child)
    if make_url(store_url).get_backend_name() == "sqlite":
        db = Path(make_url(store_url).database or "")
        wal = db.with_name(db.name + "-wal")
        assert wal.exists() and wal.stat().st_size > 0  # the uncommitted rows are written, in the WAL
    assert rows_of(store_url, digest(big)) == (0, 0, 0)  # and no other process sees them
    kill_9(child)

    assert intact(store_url) == "ok"
    assert rows_of(store_url, digest(big)) == (0, 0, 0)  # none of it
    assert rows_of(store_url, digest(earlier)) == (1, 1, 2)  # and what was there before is untouched
    # the file was filed before the ingest began, whole (created by link, never partly written)
    filed = tmp_path / "submissions" / f"{digest(big)}.json"
    assert filed.read_bytes() == canonical_bytes(big.model_copy(update={"origin": "submission"}))
    assert [p.name for p in (tmp_path / "submissions").iterdir()] == [filed.name]

    engine = store.connect(store_url)  # submitting again completes it
    try:
        done = submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    finally:
        engine.dispose()
    assert (done.written, done.ingested) == (False, True)
    assert rows_of(store_url, digest(big)) == (1, 1, 2)
    ((per_item,),) = query(
        store_url, "SELECT per_item FROM task_results WHERE run_digest = :key", key=digest(big)
    )
    stored = json.loads(str(per_item))
    assert stored["kind"] == "query"
    assert {name: len(values) for name, values in stored["values"].items()} == {
        "ndcg@10": QUERIES,
        "recall@100": QUERIES,
    }
    origins = dict(query(store_url, "SELECT digest, origin FROM runs"))
    assert origins == {digest(big): "submission", digest(earlier): "submission"}
    assert sorted(seq for (seq,) in query(store_url, "SELECT seq FROM runs")) == [
        1,
        2,
    ]  # the killed one left no gap


def test_repeated_kills_at_random_moments_store_each_file_once_or_not_at_all(
    store_url: str, tmp_path: Path
) -> None:
    engine = store.connect(store_url)
    moments: dict[str, float] = {}

    def insert_begins(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("INSERT INTO runs"):
            moments["insert"] = time.monotonic()

    def committed(conn: object) -> None:
        moments["commit"] = time.monotonic()

    event.listen(engine, "before_cursor_execute", insert_begins)
    event.listen(engine, "commit", committed)
    try:  # how long, here and now, an ingest of such a file takes from its first INSERT to its commit
        measured = make_submission(model_id="measured", queries=20_000, verified=False)
        assert store.ingest(engine, measured.model_copy(update={"origin": "submission"})) == "stored"
        window = 2 * (moments["commit"] - moments["insert"])
    finally:
        engine.dispose()
    files, keys = [], []
    for index in range(6):
        results = make_submission(model_id=f"model-{index}", queries=20_000, verified=False)
        path = tmp_path / f"in-{index}.json"
        path.write_bytes(canonical_bytes(results))
        files.append(path)
        keys.append(digest(results))

    chance = random.Random(0)
    stored_after_each_kill = []
    pending = files
    for _ in range(KILLS):
        if not pending:
            break
        child, marker = start_child(tmp_path, store_url, "run", pending)
        wait_for(marker, child)
        time.sleep(chance.uniform(0.0, window))
        assert child.poll() is None, "the child finished before the kill; lengthen the queue"
        kill_9(child)
        assert intact(store_url) == "ok"
        states = [rows_of(store_url, key) for key in keys]
        assert set(states) <= {(0, 0, 0), (1, 1, 2)}, states  # each file: all of it or none
        stored_after_each_kill.append(states.count((1, 1, 2)))
        pending = [path for path, state in zip(files, states, strict=True) if state == (0, 0, 0)]

    child, marker = start_child(tmp_path, store_url, "run", files)  # a last run over all, left to finish
    assert child.wait(timeout=120) == 0 and Path(f"{marker}.done").exists()
    assert intact(store_url) == "ok"
    assert [rows_of(store_url, key) for key in keys] == [(1, 1, 2)] * len(keys)  # each exactly once
    assert query(store_url, "SELECT count(*) FROM runs") == [(len(keys) + 1,)]  # and the measured one
    # filed copies are whole (a kill can leave only a hidden temporary file, never a partial one)
    for path in (tmp_path / "submissions").iterdir():
        if not path.name.startswith("."):
            accepted = submit.accept(path).results
            assert canonical_bytes(accepted) == path.read_bytes()
            assert f"{digest(accepted)}.json" == path.name
    backend = make_url(store_url).get_backend_name()
    print(
        f"{backend}: kills within {window * 1000:.0f} ms; files stored after each: {stored_after_each_kill}"
    )
