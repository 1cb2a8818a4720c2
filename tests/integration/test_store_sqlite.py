"""The store on real SQLite files in tmp_path: atomic, idempotent ingest, cascades, reads for the board."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import make_results, make_task_result
from pydantic import ValidationError
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from harness import store
from harness.errors import InputError
from harness.results import digest, parse_results, write_results

TABLES = ("runs", "task_results", "metrics")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "harness.sqlite"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = store.connect(f"sqlite:///{db_path}")
    yield engine
    engine.dispose()


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in TABLES
        }


def file_state(engine: Engine, db_path: Path) -> tuple[str, bool]:
    """sha256 of the database file with every connection closed (WAL folded in), and whether a WAL is left."""
    engine.dispose()
    wal = db_path.with_name(db_path.name + "-wal")
    return hashlib.sha256(db_path.read_bytes()).hexdigest(), wal.exists() and wal.stat().st_size > 0


def at(month: int) -> datetime:
    return datetime(2026, month, 1, tzinfo=UTC)


# --- connect --------------------------------------------------------------------------------------


def test_connect_creates_folder_tables_and_pragmas(engine: Engine, db_path: Path) -> None:
    assert db_path.is_file()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
    assert counts(engine) == {"runs": 0, "task_results": 0, "metrics": 0}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "is not a database URL"),
        ("nosuchdialect://host/db", "unknown database dialect"),
        ("postgresql+psycopg2://user:secret@localhost/db", "database driver not installed"),
        ("sqlite://user@host/x.sqlite", "Invalid SQLite URL"),
    ],
)
def test_bad_url_is_one_line_input_error(url: str, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        store.connect(url)
    message = str(caught.value)
    assert message.startswith("--db: url: ")
    assert expected in message
    assert "\n" not in message
    assert "secret" not in message


def test_unopenable_path_is_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match="cannot create the folder"):
        store.connect(f"sqlite:///{blocker}/sub/db.sqlite")
    folder = tmp_path / "folder.sqlite"
    folder.mkdir()
    with pytest.raises(InputError, match="cannot open") as caught:
        store.connect(f"sqlite:///{folder}")
    assert "\n" not in str(caught.value)
    not_sqlite = tmp_path / "text.sqlite"
    not_sqlite.write_text("hello, this is not a database file at all" * 10)
    with pytest.raises(InputError, match="cannot open"):
        store.connect(f"sqlite:///{not_sqlite}")


def test_readonly_missing_or_empty_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such database file"):
        store.connect(f"sqlite:///{tmp_path}/missing.sqlite", readonly=True)
    assert not (tmp_path / "missing.sqlite").exists()
    sqlite3.connect(tmp_path / "empty.sqlite").close()
    with pytest.raises(InputError, match="holds no harness tables"):
        store.connect(f"sqlite:///{tmp_path}/empty.sqlite", readonly=True)


# --- ingest -------------------------------------------------------------------------------------


def test_ingest_round_trip(engine: Engine) -> None:
    results = make_results(scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3})
    assert store.ingest(engine, results) is True
    assert counts(engine) == {"runs": 1, "task_results": 2, "metrics": 4}

    key = digest(results)
    document = store.run_detail(engine, key)
    assert document == results.model_dump(mode="json")
    assert digest(parse_results(json.dumps(document).encode(), "db")) == key  # the file can be rebuilt
    assert store.run_detail(engine, key[:12]) == document  # file names carry 12 digits

    assert store.per_item(engine, key, "beir/scifact", "ndcg@10") == results.results[0].per_item["ndcg@10"]

    runs = store.list_runs(engine)
    assert len(runs) == 1
    row = runs.iloc[0]
    assert row["digest"] == key
    assert row["created_at"] == results.created_at
    assert row["hardware"] == "2 CPU (AMD EPYC 7B13), no GPU"
    assert row["origin"] == "local"
    assert not row["reproduced"]
    assert row["n_tasks"] == 2

    with engine.connect() as connection:
        task = connection.execute(
            text("SELECT n_items, settings, seconds_total FROM task_results WHERE task = 'beir/scifact'")
        ).one()
    assert task.n_items == 2
    assert json.loads(task.settings) == {
        "k": 1000,
        "remove_self_hits": True,
        "trec_eval": "-c",
        "ties": "doc id desc",
    }
    assert task.seconds_total == pytest.approx(5.6)


def test_floats_keep_full_precision(engine: Engine) -> None:
    value = 0.1234567890123456789
    results = make_results(per_item={"a": value, "b": value / 3, "c": 1 / 7})
    store.ingest(engine, results)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT value FROM metrics WHERE name = 'ndcg@10'")).scalar_one()
    assert stored == results.results[0].metrics["ndcg@10"]  # bit for bit


def test_reingest_is_a_noop(engine: Engine, db_path: Path) -> None:
    results = make_results()
    assert store.ingest(engine, results) is True
    before_counts = counts(engine)
    before_file = file_state(engine, db_path)

    assert store.ingest(engine, results) is False
    assert store.ingest(engine, make_results()) is False  # an equal file built again: same digest
    again = store.connect(f"sqlite:///{db_path}")  # a later process
    assert store.ingest(again, results, origin="submission") is False
    again.dispose()

    assert counts(engine) == before_counts
    assert file_state(engine, db_path) == before_file


def test_concurrent_ingest_of_the_same_file_returns_false(
    engine: Engine, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = make_results()
    other = store.connect(f"sqlite:///{db_path}")
    original = store._run_row
    raced: list[bool] = []

    def other_process_wins(*args: Any) -> store.RunRow:
        if not raced:  # between our existence check and our insert, another process stores the file
            raced.append(True)
            assert store.ingest(other, results) is True
        return original(*args)

    monkeypatch.setattr(store, "_run_row", other_process_wins)
    assert store.ingest(engine, results) is False
    other.dispose()
    assert raced
    assert counts(engine) == {"runs": 1, "task_results": 1, "metrics": 2}


def test_failure_mid_ingest_rolls_back_everything(
    engine: Engine, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.ingest(engine, make_results(model_id="first"))
    before_counts = counts(engine)
    before_file = file_state(engine, db_path)
    assert before_file[1] is False

    inserts: list[str] = []

    def count_inserts(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT"):
            inserts.append(statement.split()[2])

    event.listen(engine, "before_cursor_execute", count_inserts)
    original = store._task_row
    built: list[str] = []

    def fail_on_second_task(result: Any) -> store.TaskRow:
        built.append(result.task)
        if len(built) == 2:
            raise RuntimeError("disk on fire")
        return original(result)

    monkeypatch.setattr(store, "_task_row", fail_on_second_task)
    broken = make_results(model_id="second", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3})
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.ingest(engine, broken)
    event.remove(engine, "before_cursor_execute", count_inserts)

    assert {"runs", "task_results", "metrics"} <= set(inserts)  # rows were written, then rolled back
    assert counts(engine) == before_counts
    assert file_state(engine, db_path) == before_file

    monkeypatch.setattr(store, "_task_row", original)
    assert store.ingest(engine, broken) is True  # nothing half-stored blocks the retry
    assert counts(engine) == {"runs": 2, "task_results": 3, "metrics": 6}


def test_duplicate_task_and_split_is_refused_and_stores_nothing(engine: Engine, db_path: Path) -> None:
    store.ingest(engine, make_results(model_id="first"))
    before = counts(engine), file_state(engine, db_path)
    duplicated = [make_task_result(), make_task_result(ndcg=0.7)]
    with pytest.raises(ValidationError, match="appears twice"):
        make_results(model_id="second", results=duplicated)  # the results model refuses it first
    # the store guards on its own too, for a record built without validation
    twice = make_results(model_id="second").model_copy(update={"results": duplicated})
    with pytest.raises(InputError, match=r"results\[1\]: beir/scifact test appears twice"):
        store.ingest(engine, twice)
    assert (counts(engine), file_state(engine, db_path)) == before


def test_unknown_origin_is_a_bug(engine: Engine) -> None:
    with pytest.raises(ValueError, match="origin"):
        store.ingest(engine, make_results(), origin="elsewhere")


def test_deleting_a_run_cascades_in_the_database(engine: Engine, db_path: Path) -> None:
    store.ingest(engine, make_results(model_id="a", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3}))
    store.ingest(engine, make_results(model_id="b"))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM runs WHERE model_id = 'a'"))
    assert counts(engine) == {"runs": 1, "task_results": 1, "metrics": 2}

    # Without the pragma SQLite ignores the foreign keys: the same delete leaves orphans behind.
    engine.dispose()
    raw = sqlite3.connect(db_path)
    raw.execute("DELETE FROM runs")
    raw.commit()
    orphans = raw.execute("SELECT count(*) FROM task_results").fetchone()[0]
    raw.close()
    assert orphans == 1


def test_readonly_engine_reads_and_refuses_writes(engine: Engine, db_path: Path) -> None:
    results = make_results()
    store.ingest(engine, results)
    before = file_state(engine, db_path)

    readonly = store.connect(f"sqlite:///{db_path}", readonly=True)
    try:
        assert list(store.leaderboard(readonly, "beir").index) == ["m"]
        with pytest.raises(OperationalError, match="readonly"):
            store.ingest(readonly, make_results(model_id="other"))
        with pytest.raises(OperationalError, match="readonly"), readonly.begin() as connection:
            connection.execute(text("DELETE FROM runs"))
        with pytest.raises(OperationalError, match="readonly"):
            store.mark_reproduced(readonly, digest(results))
    finally:
        readonly.dispose()
    assert file_state(engine, db_path) == before


def test_readonly_path_with_uri_characters(tmp_path: Path) -> None:
    path = tmp_path / "odd name?#%" / "h.sqlite"
    writer = store.connect(f"sqlite:///{path}")
    store.ingest(writer, make_results())
    writer.dispose()
    reader = store.connect(f"sqlite:///{path}", readonly=True)
    assert len(store.list_runs(reader)) == 1
    reader.dispose()


def test_ingest_paths_reports_bad_files_and_ingests_the_rest(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    good = [write_results(make_results(model_id=name), folder) for name in ("org/a", "org/b")]
    (folder / "broken.json").write_text("{not json")
    tampered = json.loads(good[0].read_text())
    tampered["results"][0]["metrics"]["ndcg@10"] = "NaN"
    (folder / "nested").mkdir()
    (folder / "nested" / "tampered.json").write_text(json.dumps(tampered))
    (folder / "notes.txt").write_text("ignored")

    report = store.ingest_paths(engine, [folder])
    assert sorted(report.ingested) == sorted(good)
    assert report.already == []
    refused = dict(report.refused)
    assert set(refused) == {folder / "broken.json", folder / "nested" / "tampered.json"}
    assert refused[folder / "broken.json"].startswith(f"{folder / 'broken.json'}: (file): not valid JSON")
    assert refused[folder / "nested" / "tampered.json"].startswith(
        f"{folder / 'nested' / 'tampered.json'}: results[0].metrics.ndcg@10:"
    )
    assert counts(engine)["runs"] == 2

    again = store.ingest_paths(engine, [folder, tmp_path / "missing.json"], origin="submission")
    assert again.ingested == []
    assert sorted(again.already) == sorted(good)
    assert (tmp_path / "missing.json", f"{tmp_path / 'missing.json'}: (file): no such file") in again.refused


def test_duplicate_in_a_file_is_refused_by_ingest_paths_with_its_path(engine: Engine, tmp_path: Path) -> None:
    duplicated = [make_task_result(), make_task_result(ndcg=0.7)]
    path = write_results(make_results().model_copy(update={"results": duplicated}), tmp_path)
    report = store.ingest_paths(engine, [path])
    assert report.refused == [(path, f"{path}: results: beir/scifact (test) appears twice")]


def test_mark_reproduced_and_digest_lookup(engine: Engine) -> None:
    results = make_results()
    key = digest(results)
    store.ingest(engine, results)
    store.mark_reproduced(engine, key[:12])
    assert bool(store.list_runs(engine).iloc[0]["reproduced"]) is True
    assert bool(store.leaderboard(engine, "beir").iloc[0]["reproduced"]) is True
    with pytest.raises(InputError, match="no run with this digest"):
        store.run_detail(engine, "abcdef")
    with pytest.raises(InputError, match="hex digits"):
        store.run_detail(engine, "ab")
    with pytest.raises(InputError, match="no result for beir/other"):
        store.per_item(engine, key, "beir/other", "ndcg@10")
    with pytest.raises(InputError, match="no per-item values stored for mrr@10"):
        store.per_item(engine, key, "beir/scifact", "mrr@10")


# --- leaderboard -------------------------------------------------------------------------------


def test_leaderboard_keeps_the_newest_run_not_the_best(engine: Engine) -> None:
    best = make_results(ndcg=0.9, created_at=at(1))
    newest = make_results(ndcg=0.4, created_at=at(2))
    store.ingest(engine, newest)
    store.ingest(engine, best)  # ingest order does not matter, created_at does
    board = store.leaderboard(engine, "beir")
    assert list(board.index) == ["m"]
    assert board.loc["m", "beir/scifact"] == pytest.approx(0.4)
    assert board.loc["m", "digest"] == digest(newest)
    assert board.loc["m", "created_at"] == at(2)


def test_leaderboard_mean_only_over_tasks_every_row_has(engine: Engine) -> None:
    store.ingest(engine, make_results("a", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.2}, revision="r1"))
    store.ingest(engine, make_results("b", scores={"beir/scifact": 0.5}))
    store.ingest(engine, make_results("c", scores={"beir/scifact": 0.1}, suite="sts"))  # another suite
    board = store.leaderboard(engine, "beir")

    assert list(board.index) == ["a@r1", "b"]  # best mean first
    assert board.attrs["tasks"] == ["beir/nfcorpus", "beir/scifact"]
    assert board.attrs["mean_over"] == ["beir/scifact"]
    assert math.isnan(board.loc["b", "beir/nfcorpus"])
    assert board.loc["a@r1", "mean"] == pytest.approx(0.6)  # not (0.6 + 0.2) / 2
    assert board.loc["b", "mean"] == pytest.approx(0.5)
    assert board.loc["a@r1", "revision"] == "r1"
    assert board["revision"].isna().tolist() == [False, True]
    assert list(board.columns[:7]) == [
        "model_id",
        "revision",
        "kind",
        "origin",
        "reproduced",
        "digest",
        "created_at",
    ]
    assert list(board.columns[7:]) == ["beir/nfcorpus", "beir/scifact", "mean", "queries_per_s", "digests"]


def test_leaderboard_mean_is_nan_without_a_shared_task(engine: Engine) -> None:
    store.ingest(engine, make_results("a", scores={"beir/scifact": 0.6}))
    store.ingest(engine, make_results("b", scores={"beir/nfcorpus": 0.5}))
    board = store.leaderboard(engine, "beir")
    assert board.attrs["mean_over"] == []
    assert board["mean"].isna().all()
    assert board.loc["a", "beir/scifact"] == pytest.approx(0.6)
    assert math.isnan(board.loc["a", "beir/nfcorpus"])


def test_leaderboard_combines_the_newest_run_of_each_task(engine: Engine) -> None:
    old = make_results(scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3}, created_at=at(1))
    new = make_results(scores={"beir/scifact": 0.5}, created_at=at(3), seed=1)
    store.ingest(engine, old)
    store.ingest(engine, new)
    row = store.leaderboard(engine, "beir").loc["m"]
    assert row["beir/scifact"] == pytest.approx(0.5)
    assert row["beir/nfcorpus"] == pytest.approx(0.3)
    assert row["digests"] == {"beir/scifact": digest(new), "beir/nfcorpus": digest(old)}
    assert row["digest"] == digest(new)


def test_leaderboard_queries_per_second_is_derived(engine: Engine) -> None:
    store.ingest(engine, make_results("a", scores={"beir/scifact": 0.6}, queries=300, search_s=2.0))
    store.ingest(
        engine,
        make_results("b", scores={"beir/scifact": 0.5, "beir/nfcorpus": 0.4}, queries=100, search_s=4.0),
    )
    board = store.leaderboard(engine, "beir")
    assert board.loc["a", "queries_per_s"] == pytest.approx(150.0)
    assert board.loc["b", "queries_per_s"] == pytest.approx(200 / 8.0)


def test_leaderboard_other_metric_verified_only_and_versions(engine: Engine) -> None:
    first = make_results("a", ndcg=0.6)
    store.ingest(engine, first)
    store.ingest(engine, make_results("b", ndcg=0.7, verified=False))
    store.ingest(engine, make_results("c", ndcg=0.8, task_version=2))

    board = store.leaderboard(engine, "beir")
    assert board.attrs["tasks"] == ["beir/scifact v1", "beir/scifact v2"]  # versions never share a column
    assert board.attrs["mean_over"] == []

    verified = store.leaderboard(engine, "beir", verified_only=True)
    assert set(verified.index) == {"a", "c"}

    recall = store.leaderboard(engine, "beir", metric="recall@100")
    assert recall.loc["a", "beir/scifact v1"] == first.results[0].metrics["recall@100"]
    missing = store.leaderboard(engine, "beir", metric="mrr@10")
    assert missing[missing.attrs["tasks"]].isna().all().all()
    assert list(missing.index) == ["a", "b", "c"]


def test_leaderboard_of_an_empty_suite(engine: Engine) -> None:
    board = store.leaderboard(engine, "beir")
    assert board.empty
    assert list(board.columns) == [
        "model_id",
        "revision",
        "kind",
        "origin",
        "reproduced",
        "digest",
        "created_at",
        "mean",
        "queries_per_s",
        "digests",
    ]
