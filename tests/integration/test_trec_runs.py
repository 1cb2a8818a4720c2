"""TREC run files end to end: ``run --save-run`` -> ``score`` -> ``submit`` rescoring, on real SciFact.

Every command is the real CLI in a subprocess (bm25s, the fast model), reading ../shared/data.
"""

from __future__ import annotations

import gzip
import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_harness as harness

from harness import store
from harness.metrics.retrieval import ranked
from harness.results import read_results
from harness.results.runs import parse_run, run_file_name, text_sha256
from harness.suites.beir.cards import CARDS
from harness.suites.beir.data import load_beir

METRICS = ("ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10")


@dataclass(frozen=True)
class Saved:
    results: Path
    run: Path
    work: Path


@pytest.fixture(scope="module")
def saved(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Saved:
    work = tmp_path_factory.mktemp("saved")
    done = harness(
        "run", "--model", "bm25s", "--suite", "beir", "--datasets", "scifact", "--save-run",
        "--data-dir", data_root, "--db", f"sqlite:///{work / 'run.sqlite'}",
        "--results-dir", work / "results", "--quiet", cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (results,) = (work / "results").rglob("*.json")
    (run,) = (work / "results").rglob("*.run.trec.gz")
    assert run.parent == results.parent and f"run file: {run}" in done.stdout
    return Saved(results, run, work)


@pytest.fixture(scope="module")
def qrels(data_root: Path) -> dict[str, dict[str, int]]:
    return load_beir(CARDS["scifact"], data_root, "test").qrels


def one_line_refusal(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def labels(db: Path) -> list[str]:
    engine = store.connect(f"sqlite:///{db}", readonly=True)
    try:
        return [cell.label for cell in store.cells(engine, "beir")]
    finally:
        engine.dispose()


def test_the_saved_run_is_the_scored_run(saved: Saved) -> None:
    record = read_results(saved.results)
    (result,) = record.results
    assert result.predictions is not None and result.predictions.kind == "run"
    ref = result.predictions.run
    assert ref is not None
    text = gzip.decompress(saved.run.read_bytes())
    assert saved.run.name == run_file_name("beir/scifact", ref.sha256) and text_sha256(text) == ref.sha256
    parsed = parse_run(text, str(saved.run))
    assert (
        (ref.k, ref.queries, ref.hits) == (1000, len(parsed.hits), parsed.lines) == (1000, 300, parsed.lines)
    )
    assert max(len(hits) for hits in parsed.hits.values()) == 1000
    assert saved.run.stat().st_mode & 0o777 == 0o644


def test_score_of_the_saved_run_gives_identical_metrics(
    saved: Saved, data_root: Path, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite"
    done = harness(
        "score", saved.run, "--dataset", "beir/scifact", "--model-id", "acme/bm25s-rescored",
        "--data-dir", data_root, "--db", f"sqlite:///{db}", "--results-dir", tmp_path / "res",
        "--output", tmp_path / "out" / "s.json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    original = read_results(saved.results).results[0]
    scored = read_results(tmp_path / "out" / "s.json")
    (result,) = scored.results
    assert {m: result.metrics[m] for m in METRICS} == {m: original.metrics[m] for m in METRICS}
    assert result.per_item == original.per_item  # every per-query value, bit for bit
    assert scored.origin == "external" and scored.model.source == "external" and scored.model.kind == "dense"
    assert scored.model.parameters["run_sha256"] == original.predictions.run.sha256  # type: ignore[union-attr]
    assert scored.model.parameters["run_name"] == saved.run.name
    assert result.inputs == original.inputs and result.inputs.verified
    ref = result.predictions.run  # type: ignore[union-attr]
    assert ref is not None
    for folder in (tmp_path / "res" / "acme__bm25s-rescored", tmp_path / "out"):
        copy = folder / run_file_name("beir/scifact", ref.sha256)
        assert (
            parse_run(gzip.decompress(copy.read_bytes()), "copy").hits
            == parse_run(gzip.decompress(saved.run.read_bytes()), "saved").hits
        )
    assert labels(db) == ["submitted, rescored"]  # an external run is never a reference row
    again = harness("verify", tmp_path / "out" / "s.json", "--data-dir", data_root, cwd=tmp_path)
    assert "model.source: external" in one_line_refusal(again)


def test_submit_with_its_run_is_rescored_and_a_rebuild_rescores_again(
    saved: Saved, data_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    results = Path(shutil.copy(saved.results, outside / "mine.json"))
    elsewhere = tmp_path / "runs"
    elsewhere.mkdir()
    run = Path(shutil.copy(saved.run, elsewhere / "my-run.trec.gz"))
    db = tmp_path / "db.sqlite"
    plain = harness(
        "submit",
        results,
        "--db",
        f"sqlite:///{tmp_path / 'plain.sqlite'}",
        "--data-dir",
        data_root,
        cwd=outside,
    )
    assert plain.returncode == 0 and plain.stdout.splitlines()[0] == "beir/scifact (test): verified"
    done = harness(
        "submit", results, "--run", run, "--db", f"sqlite:///{db}", "--data-dir", data_root,
        "--submissions-dir", tmp_path / "submissions", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "beir/scifact (test): verified, rescored"
    assert labels(db) == ["submitted, rescored"]
    filed = sorted(p.name for p in (tmp_path / "submissions").iterdir())
    assert filed == sorted([saved.run.name, next(n for n in filed if n.endswith(".json"))])
    assert (tmp_path / "submissions" / saved.run.name).read_bytes() == saved.run.read_bytes()
    rebuilt = tmp_path / "rebuilt.sqlite"
    ingest = harness(
        "ingest", tmp_path / "submissions", "--db", f"sqlite:///{rebuilt}", "--data-dir", data_root,
        "--submissions-dir", tmp_path / "submissions", "--results-dir", tmp_path / "none", cwd=tmp_path,
    )  # fmt: skip
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    assert labels(rebuilt) == ["submitted, rescored"]
    beside = tmp_path / "beside"
    beside.mkdir()
    shutil.copy(saved.results, beside / "mine.json")
    shutil.copy(saved.run, beside / saved.run.name)  # found beside the file by its name
    found = harness(
        "submit",
        beside / "mine.json",
        "--db",
        f"sqlite:///{tmp_path / 'b.sqlite'}",
        "--data-dir",
        data_root,
        cwd=beside,
    )
    assert found.returncode == 0 and found.stdout.splitlines()[0].endswith("verified, rescored"), found.stderr


def swapped(text: bytes, qrels: dict[str, dict[str, int]]) -> bytes:
    """The run with the doc ids of one query's first relevant hit and its 500th hit swapped."""
    lines = text.decode().splitlines(keepends=True)
    rows = [line.split() for line in lines]
    first = next(i for i, r in enumerate(rows) if r[3] == "1" and qrels.get(r[0], {}).get(r[2], 0) > 0)
    other = next(i for i, r in enumerate(rows) if r[0] == rows[first][0] and r[3] == "500")
    for index, doc in ((first, rows[other][2]), (other, rows[first][2])):
        rows[index][2] = doc
        lines[index] = " ".join(rows[index]) + "\n"
    return "".join(lines).encode()


def nothing_stored(tmp_path: Path) -> None:
    assert not (tmp_path / "db.sqlite").exists() and not (tmp_path / "submissions").exists()


def test_a_tampered_run_is_refused_and_nothing_is_stored(
    saved: Saved, data_root: Path, tmp_path: Path, qrels: dict[str, dict[str, int]]
) -> None:
    tampered = swapped(gzip.decompress(saved.run.read_bytes()), qrels)
    outside = tmp_path / "outside"
    outside.mkdir()
    results = Path(shutil.copy(saved.results, outside / "mine.json"))
    (outside / saved.run.name).write_bytes(gzip.compress(tampered))  # under the name of the real run
    args = (
        "--db",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        "--data-dir",
        data_root,
        "--submissions-dir",
        tmp_path / "submissions",
    )
    line = one_line_refusal(harness("submit", results, *args, cwd=tmp_path))
    assert line.startswith(f"harness: {outside / saved.run.name}: (file): ") and "an altered run" in line
    nothing_stored(tmp_path)
    (outside / saved.run.name).unlink()
    given = tmp_path / "given.trec"
    given.write_bytes(tampered)
    line = one_line_refusal(harness("submit", results, "--run", given, *args, cwd=tmp_path))
    assert line.startswith(f"harness: {given}: (file): ") and "a different or altered run" in line
    nothing_stored(tmp_path)
    # the file made to name the tampered run: rescoring catches the metrics the run does not give
    document: dict[str, Any] = json.loads(results.read_text())
    document["results"][0]["predictions"]["run"]["sha256"] = text_sha256(tampered)
    forged = outside / "forged.json"
    forged.write_text(json.dumps(document))
    line = one_line_refusal(harness("submit", forged, "--run", given, *args, cwd=tmp_path))
    assert (
        line.startswith(f"harness: {forged}: results[0].metrics.ndcg@10: ") and "what the run scores" in line
    )
    nothing_stored(tmp_path)


def test_a_run_missing_judged_queries_and_holding_stray_ones_is_scored_as_trec_eval_c(
    saved: Saved, data_root: Path, tmp_path: Path, qrels: dict[str, dict[str, int]]
) -> None:
    """Judged queries the run lacks score 0; run queries the qrels lack are ignored (``trec_eval -c``)."""
    hits = parse_run(gzip.decompress(saved.run.read_bytes()), "saved").hits
    dropped = sorted(hits)[:10]
    external = {qid: docs for qid, docs in hits.items() if qid not in dropped}
    for n in range(5):
        external[f"stray-{n}"] = {"4983": 1.0, "5836": 0.5}
    lines = [
        f"{qid}\tQ0\t{doc}\t{rank}\t{docs[doc]:.17g}\tfaiss"  # tabs, 0-based ranks, another tag: all fine
        for qid, docs in external.items()
        for rank, doc in enumerate(ranked(docs))
    ]
    run = tmp_path / "external.trec"
    run.write_text("\n".join(lines) + "\n")
    done = harness(
        "score", run, "--dataset", "beir/scifact", "--model-id", "acme/faiss-flat", "--kind", "dense",
        "--data-dir", data_root, "--db", f"sqlite:///{tmp_path / 'db.sqlite'}",
        "--results-dir", tmp_path / "res", "--output", tmp_path / "s.json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "10 judged queries have no hit in the run: they score 0" in done.stdout
    assert "5 run queries are not judged in this split: ignored" in done.stdout
    original = read_results(saved.results).results[0]
    (result,) = read_results(tmp_path / "s.json").results
    assert result.per_item is not None and original.per_item is not None
    for metric in METRICS:
        values = result.per_item.values[metric]
        assert set(values) == set(qrels)
        assert all(values[qid] == 0.0 for qid in dropped)
        assert all(
            values[qid] == original.per_item.values[metric][qid] for qid in qrels if qid not in dropped
        )
        assert result.metrics[metric] == math.fsum(values.values()) / len(qrels)
    ref = result.predictions.run  # type: ignore[union-attr]
    assert ref is not None and ref.queries == 290  # the run as scored: judged queries only


def test_score_refuses_a_look_alike_of_a_reference_id_and_a_bad_run(
    saved: Saved, data_root: Path, tmp_path: Path
) -> None:
    args = (
        "--dataset",
        "beir/scifact",
        "--data-dir",
        data_root,
        "--db",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    line = one_line_refusal(harness("score", saved.run, "--model-id", "BM25s", *args, cwd=tmp_path))
    assert line == "harness: --model-id: 'BM25s' looks like the reference model 'bm25s'"
    bad = tmp_path / "bad.trec"
    bad.write_text("1 Q0 4983 1 2.0 t\n1 Q0 4983 2 1.0 t\n")
    line = one_line_refusal(harness("score", bad, "--model-id", "acme/x", *args, cwd=tmp_path))
    assert line == f"harness: {bad}: line 2: docid: '4983' appears twice for query '1'"
    assert not (tmp_path / "results").exists()
