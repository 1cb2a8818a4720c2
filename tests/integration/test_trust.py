"""The trust model as an outside submitter meets it: one hostile file per class, through the real CLI.

Each file is either refused (exit 2, one line naming the file and field, nothing stored) or accepted
with the label it deserves. The classes are those of the trust issue: impersonation, look-alike
ids, a far-future ``created_at``, made-up query ids, Rich markup, special files (FIFO, device),
20,000 tasks, a 49 MB file, SIGTERM during ingest and submit, a read-only database, and ``ingest``
running the same checks as ``submit``. Markdown and shell injection into the rendered board are
checked in the real browser (tests/web/test_browser.py).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import HARNESS
from cli_helpers import run_harness as harness
from factories import make_submission

from harness.results import ItemValues, ResultsFile, canonical_bytes, digest, read_results

REFERENCES = Path(__file__).resolve().parents[2] / "results"
BM25_FLAT = next((REFERENCES / "bm25-flat").glob("beir-*.json"))


def one_line_refusal(done: subprocess.CompletedProcess[str], field: str) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f": {field}" in lines[0], lines[0]
    return lines[0]


def leaderboard(db: str, site: Path, *extra: str) -> list[dict[str, str]]:
    done = harness("leaderboard", "--suite", "beir", "--format", "csv", "--db", db, *extra, cwd=site)
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def row_count(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as connection:
        runs = connection.execute("select count(*) from runs").fetchone()[0]
        tasks = connection.execute("select count(*) from task_results").fetchone()[0]
    return int(runs), int(tasks)


@pytest.fixture
def site(tmp_path: Path, data_root: Path) -> Path:
    """A project folder: the reference runs under results/, their database ingested from there."""
    (tmp_path / "results" / "bm25-flat").mkdir(parents=True)
    (tmp_path / "results" / "bm25-flat" / BM25_FLAT.name).write_bytes(BM25_FLAT.read_bytes())
    done = harness("ingest", "results", "--db", "sqlite:///db.sqlite", "--data-dir", data_root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


def forged(created_at: str = "9999-12-31T00:00:00Z", score: float = 1.0) -> dict[str, Any]:
    """The reference bm25-flat file with every per-query score set to ``score``, aggregates recomputed."""
    document: dict[str, Any] = json.loads(BM25_FLAT.read_text())
    for result in document["results"]:
        for metric, values in result["per_item"]["values"].items():
            result["per_item"]["values"][metric] = dict.fromkeys(values, score)
            result["metrics"][metric] = score
    document["created_at"] = created_at
    return document


def write(document: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(document))
    return path


# --- impersonation and ordering -----------------------------------------------------------------


def test_a_forged_reference_model_file_is_a_submitted_row_never_the_reference(site: Path) -> None:
    done = harness("submit", write(forged(), site / "forged.json"), "--db", "sqlite:///db.sqlite", cwd=site)
    assert done.returncode == 0, done.stderr  # self-consistent: accepted, as what it is
    rows = leaderboard("sqlite:///db.sqlite", site)
    flat = {row["origin"]: float(row["scifact"]) for row in rows if row["model"] == "bm25-flat"}
    assert flat == {"reference": pytest.approx(0.6789, abs=1e-4), "submitted": 1.0}


def test_newest_is_the_ingest_order_not_the_files_claim(site: Path) -> None:
    db = "sqlite:///db.sqlite"
    first = write(forged("9999-12-31T00:00:00Z", 1.0), site / "first.json")
    later = write(forged("2000-01-01T00:00:00Z", 0.5), site / "later.json")
    assert harness("submit", first, "--db", db, cwd=site).returncode == 0
    assert harness("submit", later, "--db", db, cwd=site).returncode == 0
    rows = leaderboard(db, site)
    (submitted,) = [row for row in rows if row["model"] == "bm25-flat" and row["origin"] == "submitted"]
    assert float(submitted["scifact"]) == 0.5  # submitted last, though it claims the year 2000


def test_resubmitting_a_reference_file_files_no_copy(site: Path) -> None:
    done = harness("submit", BM25_FLAT, "--db", "sqlite:///db.sqlite", cwd=site)
    assert done.returncode == 0, done.stderr
    assert "as a reference run: nothing filed" in done.stdout
    assert not (site / "submissions").exists()
    assert [row["origin"] for row in leaderboard("sqlite:///db.sqlite", site)] == ["reference"]


@pytest.mark.parametrize(
    "model_id",
    [
        "bm25-flаt",  # Cyrillic a
        "ｂｍ２５-flat",  # fullwidth
        "bm25-fla\u0301t",  # combining accent
        "BM25-Flat",  # case
        "bm25_flat",  # separator
        "bm25-fiat",  # l read as i
    ],
)
def test_look_alike_ids_are_refused(site: Path, model_id: str) -> None:
    document = forged()
    document["model"]["id"] = model_id
    before = row_count(site / "db.sqlite")
    done = harness("submit", write(document, site / "alike.json"), "--db", "sqlite:///db.sqlite", cwd=site)
    line = one_line_refusal(done, "model.id")
    assert "ASCII" in line or "looks like the reference model 'bm25-flat'" in line or "NFC" in line, line
    assert row_count(site / "db.sqlite") == before and not (site / "submissions").exists()


def test_made_up_query_ids_are_refused_where_the_data_is_here(site: Path, data_root: Path) -> None:
    made_up = make_submission("acme/made-up", query_ids=[f"x{i}" for i in range(300)])
    path = site / "made-up.json"
    path.write_bytes(canonical_bytes(made_up))
    done = harness("submit", path, "--db", "sqlite:///db.sqlite", "--data-dir", data_root, cwd=site)
    line = one_line_refusal(done, "results[0].per_item.values")
    assert "query id the qrels lack" in line


# --- what a file may hold -----------------------------------------------------------------------


def test_a_split_of_rich_markup_is_one_line_and_no_traceback(site: Path) -> None:
    document = forged()
    document["results"][0]["split"] = "[/x]"
    done = harness("submit", write(document, site / "markup.json"), "--db", "sqlite:///db.sqlite", cwd=site)
    assert "[/x]" in one_line_refusal(done, "results[0].split")


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        (("environment", "hardware", "cpu"), "Xeon\x1b[31m", "U+001B"),
        (("environment", "packages"), {"torch\u202e": "1"}, "U+202E"),
        (("model", "revision"), "main\nrm -rf", "U+000A"),
        (("environment", "platform"), "x" * 100_000, "characters long"),
    ],
)
def test_every_string_follows_the_text_policy(
    site: Path, field: tuple[str, ...], value: Any, shown: str
) -> None:
    document = forged()
    holder = document
    for key in field[:-1]:
        holder = holder[key]
    holder[field[-1]] = value
    done = harness("submit", write(document, site / "text.json"), "--db", "sqlite:///db.sqlite", cwd=site)
    assert shown in one_line_refusal(done, ".".join(field))


def test_timings_beyond_the_hardware_are_refused(site: Path) -> None:
    document = forged()
    document["results"][0]["timings_s"]["search"] = 1e-300
    done = harness("submit", write(document, site / "fast.json"), "--db", "sqlite:///db.sqlite", cwd=site)
    assert "no hardware" in one_line_refusal(done, "results[0].timings_s.search")


def test_a_fifo_and_a_device_are_refused_without_reading(site: Path) -> None:
    os.mkfifo(site / "fifo.json")
    (site / "zero.json").symlink_to("/dev/zero")
    for name, kind in (("fifo.json", "FIFO"), ("zero.json", "character device")):
        start = time.monotonic()
        done = harness("submit", name, "--db", "sqlite:///db.sqlite", cwd=site)
        assert kind in one_line_refusal(done, "(file)")
        assert time.monotonic() - start < 30
    ingest = harness("ingest", site, "--db", "sqlite:///db.sqlite", cwd=site)  # a folder holding both
    assert ingest.returncode == 2 and "Traceback" not in ingest.stderr
    assert "FIFO" in ingest.stdout and "character device" in ingest.stdout


def test_twenty_thousand_tasks_are_refused_at_once(site: Path) -> None:
    """Refused from a count of the bytes, before parsing: 20,000 results hold about 200,000 objects."""
    document = forged()
    base = {**document["results"][0], "per_item": None}
    document["results"] = [{**base, "split": f"s{i}"} for i in range(20_000)]
    start = time.monotonic()
    done = harness("submit", write(document, site / "many.json"), "--db", "sqlite:///db.sqlite", cwd=site)
    assert "objects and arrays (at most 200,000)" in one_line_refusal(done, "(file)")
    assert time.monotonic() - start < 60
    fewer = {**document, "results": document["results"][:5_001]}  # parsed, then held to the task limit
    done = harness("submit", write(fewer, site / "fewer.json"), "--db", "sqlite:///db.sqlite", cwd=site)
    assert "5,001 task results (at most 5,000)" in one_line_refusal(done, "results")


def big_submission(path: Path, queries: int = 880_000) -> int:
    """A valid ~49 MB file: two per-query measures over ``queries`` made-up queries, full precision."""
    base = make_submission("acme/big", queries=10, verified=False)
    (result,) = base.results
    rng = random.Random(0)
    ids = [f"q{i}" for i in range(queries)]
    values = {metric: {qid: rng.random() for qid in ids} for metric in ("ndcg@10", "recall@100")}
    metrics = {metric: math.fsum(v.values()) / queries for metric, v in values.items()}
    inputs = result.inputs.model_copy(update={"counts": {**result.inputs.counts, "queries": queries}})
    big = result.model_copy(
        update={"per_item": ItemValues(kind="query", values=values), "metrics": metrics, "inputs": inputs}
    )
    data = canonical_bytes(base.model_copy(update={"results": [big]}))
    path.write_bytes(data)
    return len(data)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.json"
    size = big_submission(path)
    assert 45 * 2**20 < size < 50 * 2**20
    return path


def test_a_49_mb_file_is_submitted_and_read_back_whole(site: Path, big_file: Path) -> None:
    done = harness("submit", big_file, "--db", "sqlite:///db.sqlite", cwd=site)
    assert done.returncode == 0, done.stderr
    (filed,) = (site / "submissions").glob("*.json")
    assert digest(read_results(filed)) == digest(read_results(big_file))
    rows = leaderboard("sqlite:///db.sqlite", site, "--unverified")
    assert {row["model"] for row in rows} == {"bm25-flat", "acme/big"}


# --- interruptions and the database -------------------------------------------------------------


def test_sigterm_during_submit_leaves_the_file_and_row_together_or_neither(
    site: Path, big_file: Path
) -> None:
    """Killed at several points of a 49 MB submit: a filed copy exists exactly when its row does."""
    for delay in (2.0, 5.0, 8.0, 11.0):
        subprocess.run(["rm", "-rf", str(site / "submissions")], check=True)
        db = site / f"term-{delay}.sqlite"
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        process = subprocess.Popen(
            [*HARNESS, "submit", str(big_file), "--db", f"sqlite:///{db}"],
            cwd=site,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        assert "Traceback" not in stderr, stderr
        # -SIGTERM: killed while Python was still starting, before the handler was installed
        assert process.returncode in (0, 143, -signal.SIGTERM), (process.returncode, stderr)
        filed = list((site / "submissions").glob("*.json")) if (site / "submissions").exists() else []
        runs = row_count(db)[0] if db.exists() else 0
        assert len(filed) == runs, (delay, filed, runs, stderr)
        if process.returncode == 143:
            assert stderr.strip() == "harness: terminated (SIGTERM); nothing was half-stored"


def test_sigterm_during_ingest_keeps_every_stored_run_whole(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    for number in range(60):
        results = make_submission(f"acme/m{number}", queries=2000, verified=False)
        (folder / f"{number:03}.json").write_bytes(canonical_bytes(results))
    db = tmp_path / "db.sqlite"
    process = subprocess.Popen(
        [*HARNESS, "ingest", str(folder), "--db", f"sqlite:///{db}"],
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4.0)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr
    runs, tasks = row_count(db)
    assert tasks == runs  # one task per file: no run without its task rows
    if process.returncode == 143:
        assert runs < 60


def test_a_read_only_database_is_one_line(site: Path) -> None:
    """SQLite opened read-only (``mode=ro``: file permissions do not stop root, this does)."""
    db = site / "db.sqlite"
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    document = forged()
    document["model"]["id"] = "acme/other"
    done = harness("submit", write(document, site / "ro.json"), "--db", url, cwd=site)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("harness: --db: ") and "readonly" in line, line
    assert "INSERT" not in line and "SELECT" not in line
    assert not list((site / "submissions").glob("*.json"))  # the filed copy went with the row
    ingest = harness("ingest", site / "ro.json", "--db", url, cwd=site)
    assert ingest.returncode == 2 and "Traceback" not in ingest.stderr, ingest.stderr
    assert row_count(db) == (1, 1)


# --- one ingest path ----------------------------------------------------------------------------


def test_ingest_runs_the_submit_checks_and_keeps_the_good_files(site: Path, data_root: Path) -> None:
    incoming = site / "incoming"
    incoming.mkdir()
    good = make_submission("acme/good", verified=False)  # other data: its ids are not SciFact's
    (incoming / "good.json").write_bytes(canonical_bytes(good))
    tampered = json.loads(canonical_bytes(make_submission("acme/tampered", verified=False)))
    tampered["results"][0]["metrics"]["ndcg@10"] += 0.01
    write(tampered, incoming / "tampered.json")
    done = harness("ingest", incoming, "--db", "sqlite:///db.sqlite", "--data-dir", data_root, cwd=site)
    assert done.returncode == 2
    refused = [line for line in done.stdout.splitlines() if line.startswith("refused: ")]
    assert len(refused) == 1 and "tampered.json: results[0].metrics.ndcg@10" in refused[0]
    rows = {row["model"]: row["origin"] for row in leaderboard("sqlite:///db.sqlite", site, "--unverified")}
    assert rows == {"bm25-flat": "reference", "acme/good": "submitted"}  # outside results/: not a reference


def test_a_local_origin_outside_the_reference_folder_is_a_submission(site: Path) -> None:
    elsewhere = site / "elsewhere"
    elsewhere.mkdir()
    copy = json.loads(BM25_FLAT.read_text())
    copy["seed"] = 1  # another run of the reference model, claiming "local"
    write(copy, elsewhere / "run.json")
    assert harness("ingest", elsewhere, "--db", "sqlite:///db.sqlite", cwd=site).returncode == 0
    flat = [row["origin"] for row in leaderboard("sqlite:///db.sqlite", site) if row["model"] == "bm25-flat"]
    assert sorted(flat) == ["reference", "submitted"]


def test_the_leaderboard_command_prints_table_csv_and_json(site: Path) -> None:
    table = harness("leaderboard", "--db", "sqlite:///db.sqlite", cwd=site)
    assert table.returncode == 0 and "bm25-flat" in table.stdout and "reference" in table.stdout
    done = harness(
        "leaderboard", "--suite", "beir", "--format", "json", "--db", "sqlite:///db.sqlite", cwd=site
    )
    document = json.loads(done.stdout)
    assert document["columns"][:2] == ["model", "origin"] and document["columns"][-3:] == [
        "queries/s",
        "docs/s",
        "index MiB",
    ]
    (row,) = document["rows"]
    assert row["cells"] == {"scifact": "reference"} and row["origin"] == "reference"
    missing = harness("leaderboard", "--db", "sqlite:///nowhere.sqlite", cwd=site)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_a_stored_run_keeps_its_per_item_values_out_of_the_board_document(site: Path) -> None:
    from harness import store

    engine = store.connect("sqlite:///" + str(site / "db.sqlite"), readonly=True)
    try:
        key = digest(ResultsFile.model_validate_json(BM25_FLAT.read_bytes()))
        (slim,) = store.load_documents(engine, [key]).values()
        whole = store.run_detail(engine, key)
    finally:
        engine.dispose()
    assert "per_item" not in slim["results"][0]
    assert whole["results"][0]["per_item"] == json.loads(BM25_FLAT.read_text())["results"][0]["per_item"]
