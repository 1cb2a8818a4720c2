"""The command line as a user meets it: real subprocesses, exit codes, one-line errors, files on disk."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_helpers import file_sha256 as sha256
from cli_helpers import run_harness as harness


@pytest.fixture(scope="module")
def bm25s_run(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("cli")
    db = f"sqlite:///{work / 'db.sqlite'}"
    done = harness(
        "run", "--model", "bm25s", "--suite", "beir", "--datasets", "scifact", "--data-dir", data_root,
        "--db", db, "--results-dir", work / "results", "--output", work / "out.json", "--quiet", cwd=work,
    )  # fmt: skip
    return work, done


def test_run_writes_results_file_database_and_table(
    bm25s_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    work, done = bm25s_run
    assert done.returncode == 0, done.stderr
    (filed,) = (work / "results" / "bm25s").glob("beir-*.json")
    assert json.loads(filed.read_text()) == json.loads((work / "out.json").read_text())
    document = json.loads(filed.read_text())
    (result,) = document["results"]
    assert result["task"] == "beir/scifact"
    assert set(result["metrics"]) == {"ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10"}
    assert len(result["per_item"]["ndcg@10"]) == 300
    assert result["index_bytes"] > 0  # bm25s's score matrix, shown as the board's index size
    assert "ndcg@10" in done.stdout and "beir/scifact" in done.stdout and "ingested" in done.stdout


def test_results_file_holds_no_machine_paths(
    bm25s_run: tuple[Path, subprocess.CompletedProcess[str]], data_root: Path
) -> None:
    work, _ = bm25s_run
    text = (work / "out.json").read_text()
    for path in (str(work), str(data_root.resolve()), str(Path.home()), str(Path.cwd())):
        assert path not in text


def test_ingest_is_idempotent_and_rebuilds(bm25s_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    work, _ = bm25s_run
    db = work / "db.sqlite"
    again = harness("ingest", work / "results", "--db", f"sqlite:///{db}", cwd=work)
    assert again.returncode == 0, again.stderr
    assert "0 ingested, 1 already ingested" in again.stdout
    fresh = work / "rebuilt.sqlite"
    rebuilt = harness("ingest", work / "results", "--db", f"sqlite:///{fresh}", cwd=work)
    assert rebuilt.returncode == 0 and "1 ingested" in rebuilt.stdout


def test_malformed_file_is_refused_and_database_unchanged(
    bm25s_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    work, _ = bm25s_run
    db = work / "db.sqlite"
    bad = work / "bad" / "broken.json"
    bad.parent.mkdir()
    document = json.loads((work / "out.json").read_text())
    document["results"][0]["metrics"]["ndcg@10"] = "high"
    bad.write_text(json.dumps(document))
    before = sha256(db)
    done = harness("ingest", bad, "--db", f"sqlite:///{db}", cwd=work)
    assert done.returncode == 2
    assert "results[0].metrics.ndcg@10" in done.stdout and "Traceback" not in done.stdout + done.stderr
    assert sha256(db) == before


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--model", "no-such-model-xyz", "--suite", "beir", "--datasets", "scifact"], "--model"),
        (["--model", "bm25s", "--suite", "no-such-suite"], "--suite"),
        (["--model", "bm25s", "--suite", "beir", "--datasets", "no-such-set"], "--datasets"),
        (["--model", "bm25s", "--suite", "beir", "--datasets", "scifact", "--split", "dev"], "--split"),
        (["--model", "rrf:bm25s", "--suite", "beir", "--datasets", "scifact"], "--model"),
        (
            ["--model", "bm25s", "--suite", "beir", "--datasets", "scifact", "--db", "nosuchdialect://x"],
            "--db",
        ),
        (["--model", "bm25s", "--suite", "beir", "--datasets", "scifact", "--device", "tpu"], "--device"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    data_root: Path, tmp_path: Path, args: list[str], names: str
) -> None:
    done = harness(
        "run", *args, "--data-dir", data_root, "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", cwd=tmp_path
    )
    if "--db" in args:  # the explicit bad URL comes last on the command line and wins
        done = harness("run", *args, "--data-dir", data_root, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], done.stderr


def test_missing_data_says_where_to_put_it(tmp_path: Path) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    done = harness(
        "run",
        "--model",
        "bm25s",
        "--suite",
        "beir",
        "--datasets",
        "scifact",
        "--data-dir",
        empty,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "beir/scifact.zip" in line and "harness fetch beir/scifact" in line


def test_missing_data_dir_is_refused(tmp_path: Path) -> None:
    done = harness(
        "run", "--model", "bm25s", "--suite", "beir", "--data-dir", tmp_path / "nowhere", cwd=tmp_path
    )
    assert done.returncode == 2 and "--data-dir" in done.stderr and "Traceback" not in done.stderr


def test_list_and_schema(tmp_path: Path, data_root: Path) -> None:
    models = harness("list", "models", cwd=tmp_path)
    assert models.returncode == 0 and "bm25-flat" in models.stdout and "all-MiniLM-L6-v2" in models.stdout
    datasets = harness("list", "datasets", "--data-dir", data_root, cwd=tmp_path)
    assert "beir/scifact.zip" in datasets.stdout
    schema = harness("schema", cwd=tmp_path)
    assert json.loads(schema.stdout)["properties"]["schema_version"]["const"] == 1


def test_rebuild_keeps_the_origin_of_submissions(
    bm25s_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    from harness import store

    work, _ = bm25s_run
    (work / "submissions").mkdir()
    (work / "submissions" / "filed.json").write_bytes((work / "out.json").read_bytes())
    db = work / "origins.sqlite"
    done = harness("ingest", work / "submissions", "--db", f"sqlite:///{db}", cwd=work)
    assert done.returncode == 0, done.stderr
    assert list(store.list_runs(store.connect(f"sqlite:///{db}", readonly=True))["origin"]) == ["submission"]
