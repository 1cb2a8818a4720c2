"""The command line as a user meets it: real subprocesses, exit codes, one-line errors, files on disk."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
from cli_helpers import file_sha256 as sha256
from cli_helpers import run_harness as harness

from harness import store
from harness.results import digest, parse_results


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
    assert document["schema_version"] == 2
    assert (document["origin"], document["verifications"]) == ("local", [])  # a reference run
    (result,) = document["results"]
    assert result["task"] == "beir/scifact"
    assert result["split"] == "test"  # the suite's default split
    assert set(result["metrics"]) == {"ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10"}
    assert result["per_item"]["kind"] == "query"
    assert set(result["per_item"]["values"]) == set(result["metrics"])
    assert len(result["per_item"]["values"]["ndcg@10"]) == 300
    assert result["sizes_bytes"]["index"] > 0  # bm25s's score matrix, shown as the board's index size
    assert result["inputs"]["verified"] is True
    assert filed.name == f"beir-{digest(parse_results(filed.read_bytes(), str(filed)))[:12]}.json"
    assert "ndcg@10" in done.stdout and "beir/scifact" in done.stdout and "ingested" in done.stdout
    assert "queries/s" in done.stdout  # the suite's speed column in the results table


def test_results_files_are_readable_by_others(
    bm25s_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    work, done = bm25s_run
    assert done.returncode == 0, done.stderr
    (filed,) = (work / "results" / "bm25s").glob("beir-*.json")
    for path in (filed, work / "out.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


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
    assert "0 ingested, 0 updated, 1 already ingested, 0 refused" in again.stdout
    fresh = work / "rebuilt.sqlite"
    rebuilt = harness("ingest", work / "results", "--db", f"sqlite:///{fresh}", cwd=work)
    assert rebuilt.returncode == 0
    assert "1 ingested, 0 updated, 0 already ingested, 0 refused" in rebuilt.stdout


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
        (["--model", "all-MiniLM-L6-v2", "--suite", "sts", "--datasets", "scifact"], "--datasets"),
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
    db = [] if "--db" in args else ["--db", f"sqlite:///{tmp_path / 'db.sqlite'}"]  # the bad URL alone
    done = harness("run", *args, "--data-dir", data_root, *db, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"harness: {names}: "), done.stderr
    assert not (tmp_path / "results").exists()  # nothing was run, so nothing is filed


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
    assert line.startswith("harness: beir/scifact: ")
    assert "beir/scifact.zip" in line and "harness fetch beir/scifact" in line


@pytest.mark.parametrize("datasets", [[], ["--datasets", "scifact"]], ids=["every-dataset", "named"])
def test_missing_data_dir_is_refused(tmp_path: Path, datasets: list[str]) -> None:
    done = harness(
        "run", "--model", "bm25s", "--suite", "beir", *datasets, "--data-dir", tmp_path / "nowhere",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("harness: --data-dir: ") and "is not a folder" in line


def test_empty_data_dir_names_the_flag(tmp_path: Path) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    done = harness("run", "--model", "bm25s", "--suite", "sts", "--data-dir", empty, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line == f"harness: --data-dir: no sts dataset found under {empty}"


def test_a_sparse_model_cannot_run_sts(data_root: Path, tmp_path: Path) -> None:
    done = harness(
        "run", "--model", "bm25s", "--suite", "sts", "--datasets", "stsb", "--data-dir", data_root,
        "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--results-dir", tmp_path / "results", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("harness: --model: bm25s (sparse) cannot run the sts suite"), line
    assert "Encoder" in line  # what the suite needs
    assert not (tmp_path / "results").exists()


def test_list_and_schema(tmp_path: Path, data_root: Path) -> None:
    models = harness("list", "models", cwd=tmp_path)
    assert models.returncode == 0 and "bm25-flat" in models.stdout and "all-MiniLM-L6-v2" in models.stdout
    datasets = harness("list", "datasets", "--data-dir", data_root, cwd=tmp_path)
    assert datasets.returncode == 0
    assert "beir/scifact.zip" in datasets.stdout
    assert "sts/stsbenchmark" in datasets.stdout  # found at, for the sts suite's datasets too
    schema = harness("schema", cwd=tmp_path)
    assert schema.returncode == 0
    properties = json.loads(schema.stdout)["properties"]
    assert properties["schema_version"]["const"] == 2
    assert {"origin", "verifications"} <= set(properties)


def test_list_suites(tmp_path: Path) -> None:
    done = harness("list", "suites", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.startswith("│")}
    assert set(rows) - {""} == {"beir", "sts", "glue", "kernels", "circuit", "mteb"}
    header = next(line for line in done.stdout.splitlines() if line.startswith("┃"))
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == ["suite", "runs", "datasets", "what"]
    assert "scifact" in rows["beir"] and "Retriever" in rows["beir"]
    assert "stsb" in rows["sts"] and "sickr" in rows["sts"] and "Encoder" in rows["sts"]
    assert "Retriever" not in rows["sts"]  # a sparse retriever cannot run it


def test_rebuild_keeps_the_origin_of_submissions(
    bm25s_run: tuple[Path, subprocess.CompletedProcess[str]], data_root: Path
) -> None:
    work, _ = bm25s_run
    site = work / "site"
    site.mkdir()
    db = f"sqlite:///{site / 'submitted.sqlite'}"
    submitted = harness("submit", work / "out.json", "--db", db, "--data-dir", data_root, cwd=site)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    (filed,) = (site / "submissions").iterdir()
    assert json.loads(filed.read_text())["origin"] == "submission"  # the filed file says so itself
    rebuilt = f"sqlite:///{site / 'rebuilt.sqlite'}"
    done = harness("ingest", site / "submissions", "--db", rebuilt, cwd=site)
    assert done.returncode == 0, done.stderr
    engine = store.connect(rebuilt, readonly=True)
    try:
        assert [(run.digest, run.origin) for run in store.list_runs(engine)] == [(filed.stem, "submission")]
    finally:
        engine.dispose()
    # the reference files read from outside the reference folder (site/results here) are a claim only
    elsewhere = harness("ingest", work / "results", "--db", rebuilt, cwd=site)
    assert elsewhere.returncode == 0 and "0 updated, 1 already ingested" in elsewhere.stdout, elsewhere.stdout
    engine = store.connect(rebuilt, readonly=True)
    try:
        assert [run.origin for run in store.list_runs(engine)] == ["submission"]
    finally:
        engine.dispose()
    # the reference run itself, ingested from the reference folder, outranks its submitted copy
    both = harness("ingest", work / "results", "--db", rebuilt, "--results-dir", work / "results", cwd=site)
    assert both.returncode == 0 and "0 ingested, 1 updated" in both.stdout, both.stdout
    engine = store.connect(rebuilt, readonly=True)
    try:
        assert [run.origin for run in store.list_runs(engine)] == ["reference"]
    finally:
        engine.dispose()
