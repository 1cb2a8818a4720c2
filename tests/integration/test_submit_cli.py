"""``harness submit`` and ``harness verify`` as a user meets them: subprocesses, exit codes, files."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import file_sha256 as sha256
from cli_helpers import run_harness as harness

from harness import store
from harness.results import digest, read_results


def tree(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (relative path -> sha256), the database included."""
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line_refusal(done: subprocess.CompletedProcess[str], where: str, field: str) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"harness: {where}: {field}: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def reference(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bm25s run on SciFact: the kind of file the project commits under results/."""
    work = tmp_path_factory.mktemp("reference")
    done = harness(
        "run", "--model", "bm25s", "--suite", "beir", "--datasets", "scifact", "--data-dir", data_root,
        "--db", f"sqlite:///{work / 'run.sqlite'}", "--results-dir", work / "results", "--quiet", cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (path,) = (work / "results").rglob("*.json")
    return path


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The folder a user runs harness in: the default submissions/ lands here."""
    return tmp_path


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def save(document: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(document))
    return path


def submitted(reference: Path, site: Path) -> Path:
    db = site / "db.sqlite"
    done = harness("submit", reference, "--db", f"sqlite:///{db}", cwd=site)
    assert done.returncode == 0, done.stderr
    return db


def test_submit_files_ingests_and_a_second_time_changes_nothing(reference: Path, site: Path) -> None:
    db = site / "db.sqlite"
    first = harness("submit", reference, "--db", f"sqlite:///{db}", cwd=site)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert lines[0] == "beir/scifact (test): verified"
    assert lines[1].startswith("stored as submissions/") and lines[-1] == "database: ingested"
    (filed,) = (site / "submissions").iterdir()
    copy = read_results(filed)
    assert filed.name == f"{digest(copy)}.json" == f"{digest(read_results(reference))}.json"
    assert copy.origin == "submission" and copy.verifications == []  # whatever the file said
    assert read_results(reference).origin == "local"
    before = tree(site)

    again = harness("submit", reference, "--db", f"sqlite:///{db}", cwd=site)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-2:] == [f"already filed as submissions/{filed.name}",
                                                       "database: already ingested"]  # fmt: skip
    assert tree(site) == before
    engine = store.connect(f"sqlite:///{db}", readonly=True)
    try:
        runs = store.list_runs(engine)
    finally:
        engine.dispose()
    assert [(run.origin, run.digest) for run in runs] == [("submission", filed.stem)]


def test_verification_records_in_a_submission_are_dropped(reference: Path, site: Path) -> None:
    """Only `harness verify` here adds re-runs: a submitted file cannot claim it was reproduced."""
    document = load(reference)
    document["verifications"] = [
        {
            "at": "2026-01-01T00:00:00Z",
            "harness": {"version": "0.1.0"},
            "hardware": {"cpu": "x", "logical_cpus": 1, "memory_gib": 1.0},
            "reproduced": True,
            "checks": [
                {
                    "task": "beir/scifact",
                    "split": "test",
                    "metric": "ndcg@10",
                    "claimed": 0.5,
                    "now": 0.5,
                    "grade": "OK",
                }
            ],
        }
    ]
    claims = save(document, site.parent / "claims-reproduced.json")
    db = site / "db.sqlite"
    done = harness("submit", claims, "--db", f"sqlite:///{db}", cwd=site)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dropped 1 verification record(s)" in done.stdout
    (filed,) = (site / "submissions").iterdir()
    assert read_results(filed).verifications == []
    engine = store.connect(f"sqlite:///{db}", readonly=True)
    try:
        assert [(run.origin, run.reproduced) for run in store.list_runs(engine)] == [("submission", False)]
    finally:
        engine.dispose()


def test_tampered_aggregate_is_refused_and_nothing_changes(reference: Path, site: Path) -> None:
    """The acceptance check B1: one aggregate + 0.01, exit 2, one line, database bytes identical."""
    submitted(reference, site)
    before = tree(site)
    document = load(reference)
    result = document["results"][0]
    name = next(iter(result["metrics"]))
    result["metrics"][name] += 0.01
    tampered = save(document, site.parent / "t.json")
    done = harness("submit", tampered, "--db", f"sqlite:///{site / 'db.sqlite'}", cwd=site)
    line = one_line_refusal(done, str(tampered), f"results[0].metrics.{name}")
    values = result["per_item"]["values"][name]
    mean = math.fsum(values.values()) / len(values)
    assert line.endswith(f"{result['metrics'][name]:.4f} is not the mean of per_item ({mean:.4f})")
    assert tree(site) == before


def test_a_refused_file_creates_no_database_and_no_folder(reference: Path, tmp_path: Path) -> None:
    document = load(reference)
    document["results"][0]["task_version"] = 2
    bad = save(document, tmp_path / "old.json")
    site = tmp_path / "site"
    site.mkdir()
    done = harness("submit", bad, "--db", f"sqlite:///{site / 'db.sqlite'}", cwd=site)
    one_line_refusal(done, str(bad), "results[0].task_version")
    assert list(site.iterdir()) == []


def _edit(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        document = document[part]
    document[path[-1]] = value


@pytest.mark.parametrize(
    ("edit", "raw", "field"),
    [
        (("model", "id"), "../../x", "model.id"),
        (("model", "id"), "evil\nharness: all good", "model.id"),
        (("results", 0, "task"), "beir/nope", "results[0].task"),
        (("results", 0, "metrics", "ndcg@10"), float("nan"), "results[0].metrics.ndcg@10"),
        (("results", 0, "per_item", "values", "ndcg@10", "1"), 1e400, "results[0].per_item.values.ndcg@10.1"),
        (("results", 0, "inputs", "extra"), 1, "results[0].inputs.extra"),
        (("origin",), "elsewhere", "origin"),
        (None, b"\xff\xfe{}", "(file)"),
    ],
    ids=[
        "path-like-id",
        "newline-in-id",
        "unknown-task",
        "nan",
        "1e400",
        "extra-field",
        "origin",
        "not-utf8",
    ],
)
def test_bad_files_are_one_line_exit_2(
    reference: Path, tmp_path: Path, edit: tuple[str | int, ...] | None, raw: Any, field: str
) -> None:
    bad = tmp_path / "bad.json"
    if edit is None:
        bad.write_bytes(raw)
    else:
        document = load(reference)
        _edit(document, edit, raw)
        text = json.dumps(document).replace("Infinity", "1e400")
        bad.write_text(text)
    done = harness("submit", bad, "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", cwd=tmp_path)
    one_line_refusal(done, str(bad), field)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_unverified_data_is_accepted_and_shown(reference: Path, tmp_path: Path) -> None:
    from harness.data.cards import fingerprint

    document = load(reference)
    dataset = document["results"][0]["inputs"]
    dataset["files"]["corpus.jsonl"] = "0" * 64  # e.g. a corpus with other bytes
    dataset["fingerprint"] = fingerprint(dataset["files"])
    dataset["verified"] = False
    done = harness(
        "submit", save(document, tmp_path / "other.json"), "--db", "sqlite:///db.sqlite", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert (
        "beir/scifact (test): unverified: the dataset fingerprint differs from the data card's" in done.stdout
    )
    dataset["verified"] = True
    claims = harness(
        "submit", save(document, tmp_path / "claims.json"), "--db", "sqlite:///db.sqlite", cwd=tmp_path
    )
    one_line_refusal(claims, str(tmp_path / "claims.json"), "results[0].inputs.verified")


# --- verify -------------------------------------------------------------------------------------------


def test_verify_reproduces_the_reference_and_records_it(reference: Path, site: Path, data_root: Path) -> None:
    db = submitted(reference, site)
    copy = shutil.copy(reference, site / "reference.json")  # verify writes its record into the file
    done = harness("verify", copy, "--db", f"sqlite:///{db}", "--data-dir", data_root, cwd=site)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 OK, 0 OKish, 0 FAIL" in done.stdout
    assert "reproduced: recorded in the file and the database" in done.stdout
    for metric in ("ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10"):
        assert metric in done.stdout
    engine = store.connect(f"sqlite:///{db}", readonly=True)
    try:
        assert [run.reproduced for run in store.list_runs(engine)] == [True]
        (stored,) = store.load_documents(engine, [digest(read_results(reference))]).values()
    finally:
        engine.dispose()
    verified = read_results(Path(copy))
    assert digest(verified) == digest(read_results(reference))  # the same run, annotated
    (record,) = verified.verifications
    assert record.reproduced and {check.grade for check in record.checks} == {"OK"}
    assert len(record.checks) == 5
    assert stored["verifications"] == [record.model_dump(mode="json")]
    assert stored["origin"] == "submission"  # re-running a submission does not make it a reference run


def test_verify_records_in_the_file_a_run_not_in_the_database(
    reference: Path, tmp_path: Path, data_root: Path
) -> None:
    (tmp_path / "results").mkdir()  # the reference folder (``--results-dir``, default results/)
    copy = Path(shutil.copy(reference, tmp_path / "results" / "reference.json"))
    db = tmp_path / "db.sqlite"
    done = harness("verify", copy, "--db", f"sqlite:///{db}", "--data-dir", data_root, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reproduced: recorded in the file (the run is not in the database)" in done.stdout
    assert [v.reproduced for v in read_results(copy).verifications] == [True]
    again = harness("verify", copy, "--db", f"sqlite:///{db}", "--data-dir", data_root, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [v.reproduced for v in read_results(copy).verifications] == [True, True]  # appended
    # a copy outside the reference folder is a submission, and its records are dropped
    outside = Path(shutil.copy(copy, tmp_path / "elsewhere.json"))
    ingest = harness("ingest", outside, "--db", f"sqlite:///{db}", cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    engine = store.connect(f"sqlite:///{db}", readonly=True)
    try:
        assert [(run.origin, run.reproduced) for run in store.list_runs(engine)] == [("submission", False)]
    finally:
        engine.dispose()
    ingest = harness("ingest", copy, "--db", f"sqlite:///{db}", cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    assert "0 ingested, 1 updated" in ingest.stdout
    engine = store.connect(f"sqlite:///{db}", readonly=True)
    try:
        assert [(run.origin, run.reproduced) for run in store.list_runs(engine)] == [("reference", True)]
    finally:
        engine.dispose()


def test_verify_fails_a_consistent_forgery(reference: Path, site: Path, data_root: Path) -> None:
    """Per-query values raised and the mean recomputed pass `submit`; only re-running catches them."""
    document = load(reference)
    result = document["results"][0]
    values = result["per_item"]["values"]["ndcg@10"]
    for query in list(values)[:30]:
        values[query] = 1.0
    result["metrics"]["ndcg@10"] = math.fsum(values.values()) / len(values)
    forged = save(document, site / "forged.json")
    db = submitted(forged, site)
    done = harness("verify", forged, "--db", f"sqlite:///{db}", "--data-dir", data_root, cwd=site)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "4 OK, 0 OKish, 1 FAIL" in done.stdout
    assert "not reproduced: recorded in the file and the database" in done.stdout
    assert "\nreproduced" not in done.stdout
    engine = store.connect(f"sqlite:///{db}", readonly=True)
    try:
        assert [run.reproduced for run in store.list_runs(engine)] == [False]
    finally:
        engine.dispose()
    (record,) = read_results(forged).verifications
    assert record.reproduced is False
    assert [check.metric for check in record.checks if check.grade == "FAIL"] == ["ndcg@10"]


def test_verify_refuses_a_model_that_is_not_here(reference: Path, tmp_path: Path, data_root: Path) -> None:
    document = load(reference)
    document["model"]["id"] = "nobody/no-such-model"
    missing = save(document, tmp_path / "missing.json")
    before = sha256(missing)
    done = harness("verify", missing, "--data-dir", data_root, "--db", "sqlite:///db.sqlite", cwd=tmp_path)
    line = one_line_refusal(done, str(missing), "model.id")
    assert "not available here" in line
    assert sha256(missing) == before  # nothing was re-run, so nothing is recorded
