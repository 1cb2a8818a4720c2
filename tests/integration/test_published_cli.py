"""Published scores as a user meets them: import, the table beside our reference runs, rebuild, export.

Real inputs only: MTEB's own result files and Pyserini's 2CR yaml (``shared/data/published``), our
committed reference runs (``results/``: all-MiniLM-L6-v2 on SciFact and STS, bm25-flat on SciFact),
real SQLite, the real ``harness`` command in a subprocess.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import run_harness as harness

from harness import store
from harness.board import queries as bq
from harness.published.sources import read_mteb_dir
from harness.store.published import published_scores

PROJECT = Path(__file__).resolve().parents[2]
MINILM = PROJECT / "results" / "sentence-transformers__all-MiniLM-L6-v2"
REFERENCE_RUNS = [
    *sorted(MINILM.glob("beir-*.json")),
    *sorted(MINILM.glob("sts-*.json")),
    *sorted((PROJECT / "results" / "bm25-flat").glob("beir-*.json")),
]


def ok(done) -> str:  # type: ignore[no-untyped-def]
    assert done.returncode == 0, done.stdout + done.stderr
    return str(done.stdout)


@pytest.fixture(scope="module")
def project(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder: our reference runs under results/, then both published sources imported."""
    work = tmp_path_factory.mktemp("published")
    for run in REFERENCE_RUNS:
        target = work / "results" / run.parent.name / run.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(run, target)
    db = f"sqlite:///{work / 'h.sqlite'}"
    ok(harness("ingest", "results", "--db", db, "--data-dir", data_root, cwd=work))
    out = ok(harness("import", "mteb", data_root / "published" / "mteb-results", "--db", db, cwd=work))
    assert "18 stored" in out and "471 scores" in out
    out = ok(
        harness(
            "import",
            "pyserini-2cr",
            data_root / "published" / "pyserini-2cr" / "beir.yaml",
            "--db",
            db,
            cwd=work,
        )
    )
    assert "1 stored" in out
    return work


def db_of(project: Path) -> str:
    return f"sqlite:///{project / 'h.sqlite'}"


def test_minilm_scifact_published_beside_measured(project: Path) -> None:
    """The issue's check: MTEB's SciFact 0.6451 for all-MiniLM-L6-v2 beside our reference run, and the gap."""
    engine = store.connect(db_of(project), readonly=True)
    try:
        comparison = bq.published_comparison(engine)
    finally:
        engine.dispose()
    table = comparison.compared
    row = table[
        (table["model"] == "sentence-transformers/all-MiniLM-L6-v2")
        & (table["task"] == "beir/scifact")
        & (table["metric"] == "ndcg@10")
    ]
    assert len(row) == 1
    (record,) = row.to_dict("records")
    assert record["published"] == 0.64508 and round(record["published"], 4) == 0.6451
    ours = json.loads(next(MINILM.glob("beir-*.json")).read_text())["results"][0]["metrics"]["ndcg@10"]
    assert record["measured here"] == ours
    assert record["difference"] == pytest.approx(ours - 0.64508) and abs(record["difference"]) < 1e-5
    assert record["standing"] == "reference" and record["source"] == "mteb 1.12.75"
    bm25 = table[(table["model"] == "pyserini/bm25-flat") & (table["metric"] == "ndcg@10")].to_dict("records")
    assert [(r["task"], r["published"]) for r in bm25] == [("beir/scifact", 0.6789)]
    # never compared: the train split, other builds (NFCorpus: revision not checked), unmeasured models
    others = comparison.others
    assert "train" not in set(table["split"])
    nf = others[(others["source task"] == "NFCorpus") & (others["metric"] == "ndcg@10")]
    assert list(nf["status"]) == ["other dataset build"]
    mpnet = others[
        (others["model"] == "sentence-transformers/all-mpnet-base-v2") & (others["source task"] == "SciFact")
    ]
    assert set(mpnet["status"]) == {"not measured here"}
    assert not (table["model"] == "sentence-transformers/all-mpnet-base-v2").any()


def test_published_command_prints_the_table(project: Path) -> None:
    out = ok(harness("published", "--db", db_of(project), cwd=project))
    lines = out.splitlines()
    line = next(x for x in lines if "all-MiniLM-L6-v2" in x and "beir/scifact" in x and "ndcg@10" in x)
    assert "0.64508" in line and "+0.00000" in line and "reference" in line
    assert any("pyserini/bm25-flat" in x and "0.67890" in x and "0.67891" in x for x in lines)
    assert "--all lists them" in out


def test_bad_file_changes_nothing(project: Path, data_root: Path, tmp_path: Path) -> None:
    """One hostile file among good ones: one line, exit 2, no row and no kept copy changes."""
    source = tmp_path / "results"
    shutil.copytree(data_root / "published" / "mteb-results", source)
    shutil.rmtree(project / "scratch", ignore_errors=True)
    bad = (
        source
        / "sentence-transformers__all-MiniLM-L6-v2"
        / "8b3219a92973c328a8e22fadcfa821b5dc75636a"
        / "STS16.json"
    )
    bad.write_text(bad.read_text().replace('"main_score": 0.7898945343973262', '"main_score": 1e999'))
    before = sorted(p.relative_to(project) for p in (project / "published").rglob("*"))
    engine = store.connect(db_of(project), readonly=True)
    rows_before = len(published_scores(engine))
    engine.dispose()
    done = harness(
        "import", "mteb", source, "--db", db_of(project), "--published-dir", "scratch", cwd=project
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"harness: {bad}: scores.test[0].main_score: Input should be a finite number, not 1e999"
    ]
    assert not (project / "scratch").exists()
    assert sorted(p.relative_to(project) for p in (project / "published").rglob("*")) == before
    engine = store.connect(db_of(project), readonly=True)
    assert len(published_scores(engine)) == rows_before
    engine.dispose()


def test_rebuild_from_the_kept_files(project: Path) -> None:
    """The kept copies are byte-identical, and ``import all`` rebuilds the same rows into a new database."""
    kept = project / "published" / "mteb" / "sentence-transformers__all-MiniLM-L6-v2"
    original = Path(__file__).resolve().parents[3] / "shared" / "data" / "published" / "mteb-results"
    for path in kept.rglob("*.json"):
        assert path.read_bytes() == (original / path.relative_to(kept.parent)).read_bytes()
    fresh = f"sqlite:///{project / 'rebuilt.sqlite'}"
    out = ok(harness("import", "all", "--db", fresh, cwd=project))
    assert "19 stored" in out and "1101 scores" in out
    one, two = store.connect(db_of(project), readonly=True), store.connect(fresh, readonly=True)
    try:
        assert [s.score for s in published_scores(one)] == [s.score for s in published_scores(two)]
        assert {(s.path, s.sha256) for s in published_scores(one)} == {
            (s.path, s.sha256) for s in published_scores(two)
        }
    finally:
        one.dispose()
        two.dispose()
    assert "0 stored" in ok(harness("import", "all", "--db", fresh, cwd=project))  # idempotent


def test_export_mteb_reads_back_the_same_numbers(project: Path, tmp_path: Path) -> None:
    """``harness export mteb``, then ``harness import mteb`` of it: every exported number equals ours."""
    out = tmp_path / "export"
    ok(harness("export", "mteb", "--db", db_of(project), "--out", out, cwd=project))
    scifact = json.loads(next(out.rglob("SciFact.json")).read_text())
    assert scifact["mteb_version"].startswith("harness ")
    assert scifact["scores"]["test"][0]["hf_subset"] == "default"
    read = [s for source in read_mteb_dir(out) for s in source.scores]
    ours: dict[tuple[str, str, str], float] = {}
    for path in REFERENCE_RUNS:
        run = json.loads(path.read_text())
        for result in run["results"]:
            for metric, value in result["metrics"].items():
                ours[(run["model"]["id"], result["task"], metric)] = value
    assert len(read) >= 20
    for score in read:
        assert score.value == ours[(score.model_id, score.task, score.metric)], score
    assert {s.task for s in read} >= {"beir/scifact", "sts/stsb", "sts/sickr", "sts/sts12"}
    assert all(s.same_data for s in read)  # verified card data -> MTEB's revision of the same data
    # imported as published, the export stands beside the run it came from with a difference of 0
    db = f"sqlite:///{tmp_path / 'round.sqlite'}"
    ok(
        harness(
            "ingest", "results", "--db", db, "--data-dir", PROJECT.parent / "shared" / "data", cwd=project
        )
    )
    ok(harness("import", "mteb", out, "--db", db, "--published-dir", tmp_path / "kept", cwd=project))
    engine = store.connect(db, readonly=True)
    try:
        compared = bq.published_comparison(engine).compared
    finally:
        engine.dispose()
    ours_rows = compared[compared["model"] == "sentence-transformers/all-MiniLM-L6-v2"]
    assert len(ours_rows) == 19 and (ours_rows["difference"] == 0.0).all()  # SciFact 5 metrics, 7 STS x 2
