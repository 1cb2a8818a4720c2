"""Many submitters at once into one store: nothing lost, nothing stored twice, the database intact.

Each test runs on a SQLite file and on a fresh PostgreSQL database (``store_url``,
``tests/pg_cluster.py``). The workers are real processes (forked), each with its own engine, as
separate ``harness submit`` processes would be; they start together at a barrier on a database
none of them has created yet, so they also race to create its tables.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from factories import make_submission
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from harness import store, submit
from harness.results import ResultsFile, canonical_bytes, digest

WORKERS = 8
FILES_EACH = 50
CONTEXT = multiprocessing.get_context("fork")


def _worker(url: str, files: list[str], submissions: str, barrier: Any, queue: Any) -> None:
    """Submit ``files`` one by one; report (ingested, already, errors) to the parent."""
    ingested = already = 0
    errors: list[str] = []
    barrier.wait(timeout=60)
    try:
        engine = store.connect(url)
        try:
            for name in files:
                done = submit.submit(engine, submit.accept(Path(name)), Path(submissions))
                ingested += done.ingested
                already += not done.ingested
        finally:
            engine.dispose()
    except Exception as error:  # reported to the parent, which fails the test with it
        errors.append(f"{type(error).__name__}: {error}")
    queue.put((ingested, already, errors))


def run_workers(url: str, batches: list[list[Path]], submissions: Path) -> list[tuple[int, int, list[str]]]:
    barrier = CONTEXT.Barrier(len(batches))
    queue = CONTEXT.Queue()
    processes = [
        CONTEXT.Process(target=_worker, args=(url, [str(p) for p in batch], str(submissions), barrier, queue))
        for batch in batches
    ]
    for process in processes:
        process.start()
    reports = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return reports


def write_files(folder: Path, model_ids: list[str]) -> tuple[list[Path], set[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    paths, digests = [], set()
    for model_id in model_ids:
        results = make_submission(model_id=model_id, queries=20, verified=False)
        path = folder / f"{model_id.replace('/', '_')}.json"
        path.write_bytes(canonical_bytes(results))
        paths.append(path)
        digests.add(digest(results))
    return paths, digests


ORPHANS = (
    "SELECT (SELECT count(*) FROM task_results t LEFT JOIN runs r ON r.digest = t.run_digest"
    " WHERE r.digest IS NULL) + (SELECT count(*) FROM metrics m LEFT JOIN task_results t"
    " ON t.id = m.task_result_id WHERE t.id IS NULL)"
)


def stored(url: str) -> dict[str, Any]:
    """Row counts, digests, ``seq`` values and origins, read with plain SQLAlchemy; the database's health.

    ``integrity`` is SQLite's ``integrity_check`` of the file, and "ok" on PostgreSQL, whose pages no
    client process can damage; both backends are checked for rows that lost their parent.
    """
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            count = {
                table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("runs", "task_results", "metrics")
            }
            digests = list(connection.execute(text("SELECT digest FROM runs")).scalars())
            seqs = sorted(connection.execute(text("SELECT seq FROM runs")).scalars())
            origins = set(connection.execute(text("SELECT DISTINCT origin FROM runs")).scalars())
            orphans = connection.execute(text(ORPHANS)).scalar_one()
            integrity = "ok"
            if make_url(url).get_backend_name() == "sqlite":
                integrity = connection.exec_driver_sql("PRAGMA integrity_check").scalar_one()
    finally:
        engine.dispose()
    return {
        "count": count,
        "digests": digests,
        "seqs": seqs,
        "integrity": integrity,
        "orphans": orphans,
        "origins": origins,
    }


def test_eight_processes_fifty_files_each_nothing_lost_nothing_doubled(
    store_url: str, tmp_path: Path
) -> None:
    ids = [f"worker{w}/model-{i}" for w in range(WORKERS) for i in range(FILES_EACH)]
    paths, digests = write_files(tmp_path / "in", ids)
    batches = [paths[w * FILES_EACH : (w + 1) * FILES_EACH] for w in range(WORKERS)]
    started = time.monotonic()
    reports = run_workers(store_url, batches, tmp_path / "submissions")
    elapsed = time.monotonic() - started
    assert [errors for _, _, errors in reports] == [[]] * WORKERS
    assert sum(ingested for ingested, _, _ in reports) == WORKERS * FILES_EACH
    after = stored(store_url)
    assert after["count"] == {"runs": 400, "task_results": 400, "metrics": 800}
    assert len(after["digests"]) == len(set(after["digests"])) == 400
    assert set(after["digests"]) == digests  # 0 lost, 0 duplicated
    assert after["seqs"] == list(range(1, 401))  # ingest order: unique, no gaps
    assert after["integrity"] == "ok" and after["orphans"] == 0 and after["origins"] == {"submission"}
    assert {p.name for p in (tmp_path / "submissions").iterdir()} == {f"{d}.json" for d in digests}
    lost, doubled = len(digests - set(after["digests"])), len(after["digests"]) - len(set(after["digests"]))
    backend = make_url(store_url).get_backend_name()
    print(f"{backend}: 400 submissions from {WORKERS} processes in {elapsed:.1f} s")
    print(f"{backend}: {lost} lost, {doubled} duplicated")


def test_eight_processes_racing_on_the_same_files_store_each_once(store_url: str, tmp_path: Path) -> None:
    paths, digests = write_files(tmp_path / "in", [f"shared/model-{i}" for i in range(20)])
    reports = run_workers(store_url, [paths] * WORKERS, tmp_path / "submissions")
    assert [errors for _, _, errors in reports] == [[]] * WORKERS
    assert sum(ingested for ingested, _, _ in reports) == 20  # each file won by exactly one process
    assert sum(already for _, already, _ in reports) == 20 * (WORKERS - 1)
    after = stored(store_url)
    assert after["count"] == {"runs": 20, "task_results": 20, "metrics": 40}
    assert set(after["digests"]) == digests and after["integrity"] == "ok" and after["orphans"] == 0
    assert after["seqs"] == list(range(1, 21))
    assert {p.name for p in (tmp_path / "submissions").iterdir()} == {f"{d}.json" for d in digests}


@pytest.mark.parametrize("repeat", [2])
def test_concurrent_cli_submits(store_url: str, tmp_path: Path, repeat: int) -> None:
    """``harness submit`` processes at once: 6 distinct files, one of them submitted ``repeat`` times."""
    paths, digests = write_files(tmp_path / "in", [f"cli/model-{i}" for i in range(6)])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    commands = [[sys.executable, "-m", "harness", "submit", str(p), "--db", store_url] for p in paths]
    commands += [commands[0]] * (repeat - 1)
    processes = [
        subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * len(commands), outputs
    said = [out.strip().splitlines()[-1] for out, _ in outputs]
    assert said.count("database: ingested") == 6 and said.count("database: already ingested") == repeat - 1
    after = stored(store_url)
    assert after["count"]["runs"] == 6 and set(after["digests"]) == digests and after["integrity"] == "ok"
    assert {p.name for p in (tmp_path / "submissions").iterdir()} == {f"{d}.json" for d in digests}
    for key in digests:  # each filed copy is whole, says where it came from, and is named by its run
        filed = json.loads((tmp_path / "submissions" / f"{key}.json").read_bytes())
        assert filed["origin"] == "submission" and filed["verifications"] == []
        assert digest(ResultsFile.model_validate(filed)) == key
