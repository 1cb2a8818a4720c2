"""The store on both backends: atomic, idempotent ingest, cascades, reads for the board, rebuilds.

Every test here runs twice through the ``store_url`` fixture (``tests/pg_cluster.py``): on a SQLite
file in tmp_path and on a fresh database of a throw-away PostgreSQL cluster. What only a SQLite file
has (pragmas, WAL, ``mode=ro``, its bytes) is tested in ``test_store_sqlite.py``.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_helpers import run_harness as harness
from factories import (
    as_schema_v1,
    make_results,
    make_sts_results,
    make_submission,
    make_task_result,
    make_verification,
)
from pg_cluster import recreate_database
from pydantic import ValidationError
from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from harness import store, submit
from harness.board import queries as bq
from harness.errors import InputError, SettingError
from harness.published.sources import SourceFile, read_mteb_dir, read_pyserini_2cr
from harness.registry import SUITES
from harness.results import (
    ResultsFile,
    canonical_bytes,
    digest,
    parse_results,
    read_results,
    write_file,
    write_results,
)
from harness.store.published import StoredScore, published_scores, store_sources
from harness.store.tables import STORE_VERSION, Base, TaskRow

TABLES = ("runs", "task_results", "metrics")
BEIR = SUITES["beir"].board
SCHEMA_V1 = Path(__file__).resolve().parents[2] / "harness" / "schema" / "results-v1.json"
INGEST = importlib.import_module("harness.store.ingest")  # the module: ``store.ingest`` is the function


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = store.connect(store_url)
    yield engine
    engine.dispose()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in TABLES
        }


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every harness table, as text in a stable order: what "nothing changed" means."""
    with engine.connect() as connection:
        return {
            name: sorted(repr(tuple(row)) for row in connection.execute(table.select()))
            for name, table in Base.metadata.tables.items()
        }


def delete_store(url: str) -> None:
    """Delete the database: the SQLite file (and its WAL), or the PostgreSQL database, made again empty."""
    if is_sqlite(url):
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    else:
        recreate_database(url)


def at(month: int) -> datetime:
    return datetime(2026, month, 1, tzinfo=UTC)


def as_submission(results: ResultsFile) -> ResultsFile:
    return results.model_copy(update={"origin": "submission"})


def with_verifications(results: ResultsFile, *reproduced: bool) -> ResultsFile:
    records = [make_verification(done, at=at(3 + n)) for n, done in enumerate(reproduced)]
    return results.model_copy(update={"verifications": [*results.verifications, *records]})


def runs_by_digest(engine: Engine) -> dict[str, tuple[str, bool]]:
    return {run.digest: (run.origin, run.reproduced) for run in store.list_runs(engine)}


def board(engine: Engine, **kwargs: Any) -> bq.Board:
    return bq.board(engine, "beir", BEIR, **kwargs)


# --- connect --------------------------------------------------------------------------------------


def test_connect_creates_tables_and_stamps_the_version(engine: Engine) -> None:
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        stamp = connection.execute(text("SELECT key, value FROM store_meta")).all()
    assert counts(engine) == {"runs": 0, "task_results": 0, "metrics": 0}
    assert [tuple(row) for row in stamp] == [("store_version", str(STORE_VERSION))]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "is not a database URL"),
        ("nosuchdialect://host/db", "unknown database dialect"),
        ("postgresql+psycopg2://user:secret@localhost/db", "database driver not installed"),
        ("sqlite://user@host/x.sqlite", "Invalid SQLite URL"),
    ],
)
def test_bad_url_is_one_line_setting_error(url: str, expected: str) -> None:
    with pytest.raises(SettingError) as caught:
        store.connect(url)
    assert caught.value.setting == "db"  # the CLI reports it against --db
    message = str(caught.value)
    assert message.startswith("db: ")
    assert expected in caught.value.message
    assert "\n" not in message
    assert "secret" not in message


def test_postgresql_url_without_a_driver_means_psycopg(postgres_server: str) -> None:
    plain = make_url(postgres_server).set(drivername="postgresql").render_as_string(hide_password=False)
    engine = store.connect(plain, readonly=False)
    try:
        assert engine.dialect.driver == "psycopg"
        assert counts(engine)["runs"] == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"password": "wrong-secret"}, "password authentication failed"),
        ({"database": "no_such_database"}, 'database "no_such_database" does not exist'),
        ({"port": 1}, "Connection refused"),
    ],
)
def test_unreachable_postgresql_is_one_line_setting_error(
    postgres_server: str, change: dict[str, Any], expected: str
) -> None:
    url = make_url(postgres_server).set(**change).render_as_string(hide_password=False)
    for readonly in (False, True):
        with pytest.raises(SettingError, match="cannot open") as caught:
            store.connect(url, readonly=readonly)
        assert caught.value.setting == "db"
        assert expected in caught.value.message
        assert "\n" not in str(caught.value)
        assert "wrong-secret" not in str(caught.value) and make_url(postgres_server).password not in str(
            caught.value
        )


def test_readonly_empty_database_is_setting_error(store_url: str) -> None:
    if is_sqlite(store_url):
        create_engine(store_url).connect().close()  # an empty file: SQLite's way to be empty
    with pytest.raises(SettingError, match="holds no harness tables") as caught:
        store.connect(store_url, readonly=True)
    assert caught.value.setting == "db"
    engine = create_engine(store_url)
    try:
        assert inspect(engine).get_table_names() == []  # nothing was created
    finally:
        engine.dispose()


def older_database(url: str, stamp: str | None) -> dict[str, list[tuple[Any, ...]]]:
    """A database as an older harness left it: a ``runs`` table, and ``store_meta`` only if stamped."""
    raw = create_engine(url)  # plain SQLAlchemy, no harness code
    with raw.begin() as connection:
        connection.execute(
            text("CREATE TABLE runs (digest VARCHAR(64) PRIMARY KEY, origin VARCHAR NOT NULL)")
        )
        connection.execute(text("INSERT INTO runs VALUES ('ab', 'local')"))
        if stamp is not None:
            connection.execute(
                text("CREATE TABLE store_meta (key VARCHAR(50) PRIMARY KEY, value VARCHAR NOT NULL)")
            )
            connection.execute(
                text("INSERT INTO store_meta VALUES ('store_version', :stamp)"), {"stamp": stamp}
            )
    raw.dispose()
    return contents(url)


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the database and its rows."""
    raw = create_engine(url)
    try:
        with raw.connect() as connection:
            names = sorted(inspect(connection).get_table_names())
            return {
                name: sorted(tuple(row) for row in connection.execute(text(f"SELECT * FROM {name}")))
                for name in names
            }
    finally:
        raw.dispose()


@pytest.mark.parametrize("readonly", [False, True])
def test_a_database_of_an_older_harness_is_refused_and_left_alone(store_url: str, readonly: bool) -> None:
    before = older_database(store_url, stamp=None)
    with pytest.raises(SettingError) as caught:
        store.connect(store_url, readonly=readonly)
    error = caught.value
    assert error.setting == "db"
    assert "older harness" in error.message and "rebuild" in error.message
    assert "harness ingest results submissions" in error.message  # the command that rebuilds it
    assert "\n" not in str(error)
    assert contents(store_url) == before == {"runs": [("ab", "local")]}  # not stamped, no tables added


def test_a_database_of_another_store_version_is_refused(store_url: str) -> None:
    before = older_database(store_url, stamp=str(STORE_VERSION - 1))
    with pytest.raises(SettingError, match=f"store version {STORE_VERSION - 1}") as caught:
        store.connect(store_url)
    assert caught.value.setting == "db" and "rebuild" in caught.value.message
    assert contents(store_url) == before


def test_ingest_command_refuses_an_older_database_in_one_line(store_url: str, tmp_path: Path) -> None:
    before = older_database(store_url, stamp=None)
    path = write_results(make_results(), tmp_path / "results")
    done = harness("ingest", path, "--db", store_url, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("harness: --db: ") and "older harness" in line and "rebuild" in line
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert contents(store_url) == before


# --- ingest -------------------------------------------------------------------------------------


def test_ingest_round_trip(engine: Engine) -> None:
    results = make_results(scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3})
    assert store.ingest(engine, results) == "stored"
    assert counts(engine) == {"runs": 1, "task_results": 2, "metrics": 4}

    key = digest(results)
    document = store.run_detail(engine, key)
    assert document == results.model_dump(mode="json")  # the whole file, per-item values put back
    assert digest(parse_results(json.dumps(document).encode(), "db")) == key  # the file can be rebuilt
    assert store.run_detail(engine, key[:12]) == document  # file names carry 12 digits
    slim = store.load_documents(engine, [key])[key]  # what the board reads: no per-item values
    bulky = ("per_item", "predictions")
    assert slim == {
        **document,
        "results": [{k: v for k, v in r.items() if k not in bulky} for r in document["results"]],
    }

    per_item = results.results[0].per_item
    assert per_item is not None
    assert store.per_item(engine, key, "beir/scifact", "ndcg@10") == per_item.values["ndcg@10"]

    (run,) = store.list_runs(engine)
    assert run.digest == key
    assert run.created_at == results.created_at
    assert run.hardware == "2 CPU (AMD EPYC 7B13), no GPU"
    assert run.origin == "reference"  # the file's own claim "local", taken when no standing is given
    assert document["origin"] == "local"  # the stored file keeps the file's spelling
    assert run.reproduced is False
    assert run.seq == 1
    assert run.n_tasks == 2
    assert (run.suite, run.model_id, run.revision, run.kind) == ("beir", "m", None, "dense")

    with engine.connect() as connection:
        task = connection.execute(  # the columns' own types: JSON is text in SQLite, json in PostgreSQL
            select(
                TaskRow.n_items,
                TaskRow.settings,
                TaskRow.seconds_total,
                TaskRow.variant_key,
                TaskRow.per_item,
                TaskRow.predictions,
                TaskRow.rescored,
            ).where(TaskRow.task == "beir/scifact")
        ).one()
    assert task.n_items == 2
    assert task.settings == {
        "k": 1000,
        "remove_self_hits": True,
        "trec_eval": "-c",
        "ties": "doc id desc",
    }
    assert task.seconds_total == pytest.approx(5.6)
    assert task.variant_key == ""
    assert json.loads(task.per_item) == per_item.model_dump(mode="json")  # the item kind is kept
    assert task.predictions is None  # a retrieval result keeps none (SQL NULL)
    assert task.rescored is False  # nothing named it rescored

    sts = make_sts_results("org/sts")  # per-pair predictions, put back the same way
    assert store.ingest(engine, sts) == "stored"
    whole = store.run_detail(engine, digest(sts))
    assert whole == sts.model_dump(mode="json")
    assert "predictions" not in store.load_documents(engine, [digest(sts)])[digest(sts)]["results"][0]


def test_floats_keep_full_precision(engine: Engine) -> None:
    value = 0.1234567890123456789
    results = make_results(per_item={"a": value, "b": value / 3, "c": 1 / 7})
    store.ingest(engine, results)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT value FROM metrics WHERE name = 'ndcg@10'")).scalar_one()
    assert stored == results.results[0].metrics["ndcg@10"]  # bit for bit


def test_reingest_is_a_noop(engine: Engine, store_url: str) -> None:
    results = make_results()
    assert store.ingest(engine, results) == "stored"
    before_counts = counts(engine)
    before = snapshot(engine)

    assert store.ingest(engine, results) == "unchanged"
    assert store.ingest(engine, make_results()) == "unchanged"  # an equal file built again: same digest
    again = store.connect(store_url)  # a later process
    assert store.ingest(again, as_submission(results)) == "unchanged"  # a submission never demotes it
    again.dispose()

    assert counts(engine) == before_counts
    assert snapshot(engine) == before


def test_concurrent_ingest_of_the_same_file_is_unchanged(
    engine: Engine, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = make_results()
    other = store.connect(store_url)
    original = INGEST._run_row
    raced: list[bool] = []

    def other_process_wins(*args: Any) -> Any:
        if not raced:  # between our existence check and our insert, another process stores the file
            raced.append(True)
            assert store.ingest(other, results) == "stored"
        return original(*args)

    monkeypatch.setattr(INGEST, "_run_row", other_process_wins)
    assert store.ingest(engine, results) == "unchanged"
    other.dispose()
    assert raced
    assert counts(engine) == {"runs": 1, "task_results": 1, "metrics": 2}


def test_concurrent_ingest_with_new_annotations_merges_them(
    engine: Engine, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race lost to a plain copy of the run still records what this copy adds (a verification)."""
    results = make_results()
    other = store.connect(store_url)
    original = INGEST._run_row
    raced: list[bool] = []

    def other_process_wins(*args: Any) -> Any:
        if not raced:
            raced.append(True)
            assert store.ingest(other, as_submission(results)) == "stored"
        return original(*args)

    monkeypatch.setattr(INGEST, "_run_row", other_process_wins)
    assert store.ingest(engine, with_verifications(results, True)) == "updated"
    other.dispose()
    assert raced
    assert runs_by_digest(engine) == {digest(results): ("reference", True)}
    assert counts(engine) == {"runs": 1, "task_results": 1, "metrics": 2}


def test_failure_mid_ingest_rolls_back_everything(engine: Engine) -> None:
    store.ingest(engine, make_results(model_id="first"))
    before_counts = counts(engine)
    before = snapshot(engine)

    inserts: list[str] = []

    def fail_on_metrics(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """The disk fails on the last table of the file, after the run and task rows were written."""
        if statement.startswith("INSERT"):
            inserts.append(statement.split()[2])
            if inserts[-1] == "metrics":
                raise RuntimeError("disk on fire")

    event.listen(engine, "before_cursor_execute", fail_on_metrics)
    broken = make_results(model_id="second", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3})
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.ingest(engine, broken)
    event.remove(engine, "before_cursor_execute", fail_on_metrics)

    assert {"runs", "task_results", "metrics"} <= set(inserts)  # rows were written, then rolled back
    assert counts(engine) == before_counts
    assert snapshot(engine) == before

    assert store.ingest(engine, broken) == "stored"  # nothing half-stored blocks the retry
    assert counts(engine) == {"runs": 2, "task_results": 3, "metrics": 6}


def test_duplicate_task_and_split_is_refused_and_stores_nothing(engine: Engine) -> None:
    store.ingest(engine, make_results(model_id="first"))
    before = counts(engine), snapshot(engine)
    duplicated = [make_task_result(), make_task_result(ndcg=0.7)]
    with pytest.raises(ValidationError, match="appears twice"):
        make_results(model_id="second", results=duplicated)  # the results model refuses it first
    # the store guards on its own too, for a record built without validation
    twice = make_results(model_id="second").model_copy(update={"results": duplicated})
    with pytest.raises(InputError, match=r"results\[1\]: beir/scifact test appears twice"):
        store.ingest(engine, twice)
    assert (counts(engine), snapshot(engine)) == before


def test_unknown_origin_never_reaches_the_store(engine: Engine, tmp_path: Path) -> None:
    document = make_results().model_dump(mode="json")
    document["origin"] = "elsewhere"
    with pytest.raises(ValidationError, match="origin"):
        ResultsFile.model_validate(document)  # the record refuses it
    path = tmp_path / "elsewhere.json"
    path.write_text(json.dumps(document))
    report = submit.ingest_files(engine, [path], None, tmp_path, None)  # and so does a file that claims it
    assert [(p, message.split(": ")[1]) for p, message in report.refused] == [(path, "origin")]
    assert counts(engine)["runs"] == 0


def test_deleting_a_run_cascades_in_the_database(engine: Engine) -> None:
    store.ingest(engine, make_results(model_id="a", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3}))
    store.ingest(engine, make_results(model_id="b"))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM runs WHERE model_id = 'a'"))
    assert counts(engine) == {"runs": 1, "task_results": 1, "metrics": 2}


READONLY_REFUSAL = {"sqlite": "readonly", "postgresql": "read-only transaction"}
"""What each backend says to a write through a read-only engine (its own words)."""


def test_readonly_engine_reads_and_refuses_writes(engine: Engine, store_url: str) -> None:
    """Read-only by the engine alone (SQLite ``mode=ro``; PostgreSQL read-only transactions).

    The PostgreSQL account here is the cluster's superuser: the engine still refuses. A role that
    may only read is tested in ``test_store_readonly_role.py``.
    """
    results = make_results()
    store.ingest(engine, results)
    before = snapshot(engine)
    refusal = READONLY_REFUSAL[make_url(store_url).get_backend_name()]

    readonly = store.connect(store_url, readonly=True)
    try:
        assert [cell.model_id for cell in store.cells(readonly, "beir")] == ["m"]
        assert list(board(readonly).table.index) == ["m"]
        with pytest.raises(DBAPIError, match=refusal):
            store.ingest(readonly, make_results(model_id="other"))
        with pytest.raises(DBAPIError, match=refusal), readonly.begin() as connection:
            connection.execute(text("DELETE FROM runs"))
        with pytest.raises(DBAPIError, match=refusal):
            store.record_verification(readonly, digest(results), make_verification())
    finally:
        readonly.dispose()
    assert snapshot(engine) == before


def test_ingest_files_reports_bad_files_and_ingests_the_rest(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    good = [write_results(make_submission(model_id=name), folder) for name in ("org/a", "org/b")]
    (folder / "broken.json").write_text("{not json")
    tampered = json.loads(good[0].read_text())
    tampered["results"][0]["metrics"]["ndcg@10"] = "NaN"
    (folder / "nested").mkdir()
    (folder / "nested" / "tampered.json").write_text(json.dumps(tampered))
    (folder / "notes.txt").write_text("ignored")

    report = submit.ingest_files(engine, [folder], None, folder, tmp_path / "submissions")
    assert sorted(report.ingested) == sorted(good)
    assert report.already == [] and report.updated == []
    refused = dict(report.refused)
    assert set(refused) == {folder / "broken.json", folder / "nested" / "tampered.json"}
    assert refused[folder / "broken.json"].startswith(f"{folder / 'broken.json'}: (file): not valid JSON")
    assert refused[folder / "nested" / "tampered.json"].startswith(
        f"{folder / 'nested' / 'tampered.json'}: results[0].metrics.ndcg@10:"
    )
    assert counts(engine)["runs"] == 2

    assert {run.origin for run in store.list_runs(engine)} == {"reference"}  # harness run files in results/

    again = submit.ingest_files(engine, [folder, tmp_path / "missing.json"], None, folder, None)
    assert again.ingested == [] and again.updated == []
    assert sorted(again.already) == sorted(good)
    assert (tmp_path / "missing.json", f"{tmp_path / 'missing.json'}: (file): no such file") in again.refused


def test_duplicate_in_a_file_is_refused_by_ingest_files_with_its_path(engine: Engine, tmp_path: Path) -> None:
    duplicated = [make_task_result(), make_task_result(ndcg=0.7)]
    path = write_results(make_results().model_copy(update={"results": duplicated}), tmp_path)
    report = submit.ingest_files(engine, [path], None, tmp_path, None)
    assert report.refused == [(path, f"{path}: results: beir/scifact (test) appears twice")]


def test_record_verification_and_digest_lookup(engine: Engine) -> None:
    results = make_results()
    key = digest(results)
    store.ingest(engine, results)
    record = make_verification()
    assert store.record_verification(engine, store.resolve_digest(engine, key[:12]), record) is True
    (run,) = store.list_runs(engine)
    assert run.reproduced is True
    assert [cell.reproduced for cell in store.cells(engine, "beir")] == [True]
    assert bool(board(engine).table.iloc[0]["reproduced"]) is True
    assert store.run_detail(engine, key)["verifications"] == [record.model_dump(mode="json")]
    assert store.record_verification(engine, "f" * 64, record) is False  # not stored: nothing to add to
    assert counts(engine)["runs"] == 1

    with pytest.raises(SettingError, match="no run with this digest") as caught:
        store.run_detail(engine, "abcdef")
    assert caught.value.setting == "digest"
    with pytest.raises(SettingError, match="hex digits"):
        store.run_detail(engine, "ab")
    with pytest.raises(InputError, match="no result for beir/other"):
        store.per_item(engine, key, "beir/other", "ndcg@10")
    with pytest.raises(InputError, match="no per-item values stored for mrr@10"):
        store.per_item(engine, key, "beir/scifact", "mrr@10")


# --- annotations: origin and verifications -------------------------------------------------------


def test_an_extra_verification_record_updates_the_stored_run(engine: Engine) -> None:
    results = make_results()
    key = digest(results)
    assert store.ingest(engine, results) == "stored"
    failed = with_verifications(results, False)
    assert digest(failed) == key  # annotations are outside the digest: the same run
    assert store.ingest(engine, failed) == "updated"
    assert runs_by_digest(engine) == {key: ("reference", False)}  # a failed re-run reproduces nothing
    both = with_verifications(results, False, True)
    assert store.ingest(engine, both) == "updated"  # only the second record is new
    assert runs_by_digest(engine) == {key: ("reference", True)}
    assert store.ingest(engine, both) == "unchanged"
    assert store.ingest(engine, results) == "unchanged"  # a copy without them removes nothing
    stored = ResultsFile.model_validate(store.run_detail(engine, key))
    assert stored.verifications == both.verifications
    assert counts(engine) == {"runs": 1, "task_results": 1, "metrics": 2}  # the rows were not touched


def test_reference_outranks_submission_for_the_same_digest(engine: Engine) -> None:
    first = make_results(model_id="submitted-first")
    assert store.ingest(engine, as_submission(first)) == "stored"
    assert store.run_detail(engine, digest(first))["origin"] == "submission"
    assert store.ingest(engine, first) == "updated"  # the project's own file holds the run too

    second = make_results(model_id="local-first")
    assert store.ingest(engine, second) == "stored"
    assert store.ingest(engine, as_submission(second)) == "unchanged"  # never demoted
    assert store.ingest(engine, second, "submission") == "unchanged"  # not even when told so

    # the caller's standing decides, not the file's claim: a "local" file read from outside
    claimed = make_results(model_id="claims-local")
    assert claimed.origin == "local"
    assert store.ingest(engine, claimed, "submission") == "stored"
    assert store.run_detail(engine, digest(claimed))["origin"] == "submission"
    assert store.ingest(engine, claimed, "reference") == "updated"

    assert runs_by_digest(engine) == {
        digest(first): ("reference", False),
        digest(second): ("reference", False),
        digest(claimed): ("reference", False),
    }
    assert {cell.model_id: cell.origin for cell in store.cells(engine, "beir")} == {
        "submitted-first": "reference",
        "local-first": "reference",
        "claims-local": "reference",
    }
    assert store.run_detail(engine, digest(first))["origin"] == "local"  # the file's spelling
    assert store.file_origin("reference") == "local" and store.file_origin("submission") == "submission"


def test_ingest_after_deleting_the_database_keeps_origin_and_reproduced(
    store_url: str, tmp_path: Path
) -> None:
    """The database is only an index: ``harness ingest`` rebuilds every annotation from the files.

    ``results/`` (the reference folder) and ``submissions/`` are the defaults, relative to the cwd;
    both keep the verification records of their files.
    """
    results_dir, submissions = tmp_path / "results", tmp_path / "submissions"
    reproduced = with_verifications(make_submission("local/reproduced"), False, True)
    failed = with_verifications(make_submission("local/failed"), False)
    plain = make_submission("local/plain")
    for results in (reproduced, failed, plain):
        write_results(results, results_dir)
    submitted = with_verifications(as_submission(make_submission("team/sent-in")), True)
    submitted_plain = as_submission(make_submission("team/plain"))
    submissions.mkdir()
    for results in (submitted, submitted_plain):
        (submissions / f"{digest(results)}.json").write_bytes(canonical_bytes(results))
    expected = {
        digest(reproduced): ("reference", True),
        digest(failed): ("reference", False),
        digest(plain): ("reference", False),
        digest(submitted): ("submission", True),
        digest(submitted_plain): ("submission", False),
    }

    url = store_url
    for attempt in ("first", "rebuilt"):
        done = harness("ingest", results_dir, submissions, "--db", url, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "5 ingested, 0 updated, 0 already ingested, 0 refused" in done.stdout, attempt
        engine = store.connect(url, readonly=True)
        try:
            assert runs_by_digest(engine) == expected, attempt
            documents = store.load_documents(engine, expected)
        finally:
            engine.dispose()
        assert [len(documents[key]["verifications"]) for key in expected] == [2, 1, 0, 1, 0]
        delete_store(url)  # delete the database, then rebuild it from the files


def test_ingest_command_reports_updated_runs(store_url: str, tmp_path: Path) -> None:
    results = make_submission()
    path = write_results(results, tmp_path / "results")
    url = store_url
    first = harness("ingest", path, "--db", url, cwd=tmp_path)
    assert first.returncode == 0 and "1 ingested, 0 updated, 0 already ingested, 0 refused" in first.stdout
    write_file(with_verifications(results, True), path)  # as `harness verify` records a re-run in the file
    second = harness("ingest", path, "--db", url, cwd=tmp_path)
    assert second.returncode == 0 and "0 ingested, 1 updated, 0 already ingested, 0 refused" in second.stdout
    third = harness("ingest", path, "--db", url, cwd=tmp_path)
    assert third.returncode == 0 and "0 ingested, 0 updated, 1 already ingested, 0 refused" in third.stdout
    engine = store.connect(url, readonly=True)
    try:
        assert runs_by_digest(engine) == {digest(results): ("reference", True)}  # read from results/
    finally:
        engine.dispose()


def test_schema_1_file_under_submissions_is_ingested_as_a_submission(engine: Engine, tmp_path: Path) -> None:
    """v1 files carry no origin (migrated, they say "local"); where a file lies decides its standing."""
    old = make_submission("team/old")
    document = as_schema_v1(old)
    jsonschema.validate(document, json.loads(SCHEMA_V1.read_text()))  # really a schema-1 document
    body = json.dumps(document).encode()
    results_dir, submissions = tmp_path / "results", tmp_path / "submissions"
    filed = submissions / f"{digest(old)}.json"
    nested = submissions / "2025" / "nested.json"
    elsewhere = results_dir / "team__old" / "beir-old.json"
    for path in (filed, nested, elsewhere):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    migrated = read_results(filed)
    assert migrated.origin == "local"  # what the file alone says, as migrated
    assert submit.standing(filed, migrated, results_dir, submissions) == ("submission", True)
    assert submit.standing(nested, migrated, results_dir, submissions) == ("submission", True)
    # a v1 file of the project's own, in the reference folder
    assert submit.standing(elsewhere, migrated, results_dir, submissions) == ("reference", True)

    report = submit.ingest_files(engine, [submissions], None, results_dir, submissions)
    assert sorted(report.ingested + report.already) == sorted([filed, nested]) and not report.refused
    assert runs_by_digest(engine) == {digest(old): ("submission", False)}  # the migrated run's digest
    assert store.run_detail(engine, digest(old))["schema_version"] == 2

    # a schema-2 file that claims "local" is still a submission when it lies under submissions/
    local_v2 = make_submission("org/local-v2")
    assert local_v2.origin == "local"
    copied = submissions / "copied.json"
    copied.write_bytes(canonical_bytes(local_v2))
    assert submit.ingest_files(engine, [copied], None, results_dir, submissions).ingested == [copied]
    assert runs_by_digest(engine)[digest(local_v2)] == ("submission", False)

    # the same v1 run among the project's results makes it a reference run
    assert submit.ingest_files(engine, [elsewhere], None, results_dir, submissions).updated == [elsewhere]
    assert runs_by_digest(engine)[digest(old)] == ("reference", False)


# --- the board's cells ---------------------------------------------------------------------------


def test_board_keeps_the_newest_run_not_the_best(engine: Engine) -> None:
    best = make_results(ndcg=0.9, created_at=at(2))
    newest = make_results(ndcg=0.4, created_at=at(1))
    store.ingest(engine, best)
    store.ingest(engine, newest)  # ingest order decides, never the created_at a file claims
    (cell,) = store.cells(engine, "beir")
    assert cell.digest == digest(newest) and cell.value == pytest.approx(0.4)
    assert cell.seq == 2
    table = board(engine).table
    assert list(table.index) == ["m"]
    assert table.loc["m", "beir/scifact"] == pytest.approx(0.4)
    assert table.loc["m", "digest"] == digest(newest)
    assert table.loc["m", "created_at"] == at(1)


def test_board_mean_only_over_tasks_every_row_has(engine: Engine) -> None:
    store.ingest(engine, make_results("a", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.2}, revision="r1"))
    store.ingest(engine, make_results("b", scores={"beir/scifact": 0.5}))
    store.ingest(engine, make_results("c", scores={"beir/scifact": 0.1}, suite="sts"))  # another suite
    result = board(engine)
    table = result.table

    assert list(table.index) == ["a@r1", "b"]  # best mean first
    assert result.tasks == ["beir/nfcorpus", "beir/scifact"]
    assert result.mean_over == ["beir/scifact"]
    assert math.isnan(table.loc["b", "beir/nfcorpus"])
    assert table.loc["a@r1", "mean"] == pytest.approx(0.6)  # not (0.6 + 0.2) / 2
    assert table.loc["b", "mean"] == pytest.approx(0.5)
    assert table.loc["a@r1", "revision"] == "r1"
    assert table["revision"].isna().tolist() == [False, True]
    assert list(table.columns[:9]) == [
        "model_id",
        "revision",
        "variant",
        "kind",
        "origin",
        "trust",
        "reproduced",
        "digest",
        "created_at",
    ]
    assert list(table.columns[9:]) == [
        "beir/nfcorpus",
        "beir/scifact",
        "mean",
        "queries/s",
        "docs/s",
        "index MiB",
        "kind_group",
        "n_parameters",
        "dimensions",
        "hardware",
        "digests",
        "labels",
    ]
    assert result.speed_columns == ["queries/s", "docs/s", "index MiB"]


def test_board_mean_is_nan_without_a_shared_task(engine: Engine) -> None:
    store.ingest(engine, make_results("a", scores={"beir/scifact": 0.6}))
    store.ingest(engine, make_results("b", scores={"beir/nfcorpus": 0.5}))
    result = board(engine)
    assert result.mean_over == []
    assert result.table["mean"].isna().all()
    assert result.table.loc["a", "beir/scifact"] == pytest.approx(0.6)
    assert math.isnan(result.table.loc["a", "beir/nfcorpus"])


def test_board_combines_the_newest_run_of_each_task(engine: Engine) -> None:
    old = make_results(scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3}, created_at=at(1))
    new = make_results(scores={"beir/scifact": 0.5}, created_at=at(3), seed=1)
    store.ingest(engine, old)
    store.ingest(engine, new)
    row = board(engine).table.loc["m"]
    assert row["beir/scifact"] == pytest.approx(0.5)
    assert row["beir/nfcorpus"] == pytest.approx(0.3)
    assert row["digests"] == {"beir/scifact": digest(new), "beir/nfcorpus": digest(old)}
    assert row["digest"] == digest(new)


def with_index_bytes(results: ResultsFile, sizes: list[int | None]) -> ResultsFile:
    tasks = [
        task.model_copy(update={"sizes_bytes": {} if size is None else {"index": size}})
        for task, size in zip(results.results, sizes, strict=True)
    ]
    return results.model_copy(update={"results": tasks})


def test_board_speed_and_size_columns_are_derived(engine: Engine) -> None:
    one = make_results("a", scores={"beir/scifact": 0.6}, queries=300, search_s=2.0)
    two = make_results("b", scores={"beir/scifact": 0.5, "beir/nfcorpus": 0.4}, queries=100, search_s=4.0)
    partly = make_results("c", scores={"beir/scifact": 0.3, "beir/nfcorpus": 0.2})
    store.ingest(engine, with_index_bytes(one, [3 * 2**20]))
    store.ingest(engine, with_index_bytes(two, [2**20, 2**19]))
    store.ingest(engine, with_index_bytes(partly, [2**20, None]))
    table = board(engine).table
    assert table.loc["a", "queries/s"] == pytest.approx(150.0)
    assert table.loc["b", "queries/s"] == pytest.approx(200 / 8.0)
    assert table.loc["a", "docs/s"] == pytest.approx(5183.0)  # counts.corpus / timings_s.index (1 s)
    assert table.loc["b", "docs/s"] == pytest.approx(5183.0)
    assert table.loc["a", "index MiB"] == pytest.approx(3.0)
    assert table.loc["b", "index MiB"] == pytest.approx(1.5)  # summed over the row's cells
    assert math.isnan(table.loc["c", "index MiB"])  # known only when every cell has it


def test_board_other_metric_verified_only_and_versions(engine: Engine) -> None:
    first = make_results("a", ndcg=0.6)
    store.ingest(engine, first)
    store.ingest(engine, make_results("b", ndcg=0.7, verified=False))
    store.ingest(engine, make_results("c", ndcg=0.8, task_version=2))

    result = board(engine)
    assert result.tasks == ["beir/scifact v1", "beir/scifact v2"]  # versions never share a column
    assert result.mean_over == []

    verified = board(engine, verified_only=True)
    assert set(verified.table.index) == {"a", "c"}

    recall = board(engine, metric="recall@100")
    assert recall.table.loc["a", "beir/scifact v1"] == first.results[0].metrics["recall@100"]
    missing = board(engine, metric="mrr@10")
    assert missing.table[missing.tasks].isna().all().all()
    assert list(missing.table.index) == ["a", "b", "c"]


def test_board_of_an_empty_suite(engine: Engine) -> None:
    result = board(engine)
    assert result.table.empty and result.tasks == [] and result.mean_over == []
    assert list(result.table.columns) == [
        "model_id",
        "revision",
        "variant",
        "kind",
        "origin",
        "trust",
        "reproduced",
        "digest",
        "created_at",
        "mean",
        "queries/s",
        "docs/s",
        "index MiB",
        "kind_group",
        "n_parameters",
        "dimensions",
        "hardware",
        "digests",
        "labels",
    ]


# --- the published tables ------------------------------------------------------------------------


def test_published_scores_import_read_back_and_replace(engine: Engine, data_root: Path) -> None:
    """MTEB's files and Pyserini's 2CR yaml as ``harness import`` stores them: every score read back equal."""
    published = data_root / "published"
    sources = [
        *read_mteb_dir(published / "mteb-results"),
        read_pyserini_2cr(published / "pyserini-2cr" / "beir.yaml"),
    ]
    report = store_sources(engine, sources)
    assert len(report.stored) == len(sources) and report.replaced == report.unchanged == []
    expected = sorted(map(repr, _as_stored(sources)))
    assert sorted(map(repr, published_scores(engine))) == expected  # every field, floats bit for bit
    assert len(expected) == report.scores > 0

    again = store_sources(engine, sources)  # the same bytes: nothing changes
    assert again.unchanged == [source.relative for source in sources] and again.scores == 0
    scored = next(source for source in sources if len(source.scores) > 1)
    fewer = replace(scored, data=scored.data + b" ", scores=scored.scores[:1])
    third = store_sources(engine, [fewer])  # new bytes at the same path replace that file's scores
    assert third.replaced == [fewer.relative]
    assert sum(s.path == fewer.relative for s in published_scores(engine)) == 1


def _as_stored(sources: list[SourceFile]) -> list[StoredScore]:
    return [StoredScore(score, s.kind, s.relative, s.sha256) for s in sources for score in s.scores]
