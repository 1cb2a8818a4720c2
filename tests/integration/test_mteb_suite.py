"""The ``mteb`` suite: mteb's evaluation of local task classes (real STS-B and SciFact files, no hub).

The agreement test runs our ``sts/stsb`` task and mteb's evaluation of the same 1,379 pairs
(``LocalSTSBenchmark``) with the same all-MiniLM-L6-v2 encoder (one embedding cache, so both score
the same vectors): Spearman and Pearson agree to 1e-6, and so does each pair's cosine.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from cli_helpers import run_harness as harness

from harness import registry, runner, store
from harness.errors import FieldError
from harness.models.options import ModelOptions
from harness.suites.mteb.task import MtebTask
from harness.suites.sts.cards import CARDS
from harness.suites.sts.task import StsTask
from harness.timing import Timer

LOCAL_STS = "harness.suites.mteb.local:LocalSTSBenchmark"
LOCAL_SCIFACT = "harness.suites.mteb.local:LocalSciFactSubset"
MTEB_PUBLISHED_STSB = 0.8203247283076371
"""MTEB's own file for all-MiniLM-L6-v2 on STSBenchmark (shared/data/published, mteb 1.12.75)."""


@pytest.mark.slow
def test_mteb_and_ours_agree_on_the_same_sts_pairs(data_root: Path, tmp_path: Path) -> None:
    encoder = registry.load_model("all-MiniLM-L6-v2", ModelOptions(cache_dir=tmp_path, show_progress=False))
    ours = runner.run_task(StsTask(CARDS["stsb"]), encoder, data_root, Timer())
    task = MtebTask(LOCAL_STS)
    theirs = runner.run_task(task, encoder, data_root, Timer())
    assert theirs.task == "mteb/localstsbenchmark" and theirs.main_metric == "spearman"
    for metric in ("spearman", "pearson"):
        assert abs(ours.metrics[metric] - theirs.metrics[metric]) <= 1e-6, metric
    assert ours.predictions is not None and theirs.predictions is not None
    assert len(theirs.predictions.values) == 1379 == theirs.inputs.counts["pairs"]
    gap = max(abs(a - b) for a, b in zip(ours.predictions.values, theirs.predictions.values, strict=True))
    assert gap <= 1e-6
    assert abs(theirs.metrics["spearman"] - MTEB_PUBLISHED_STSB) <= 1e-5  # and MTEB's published number
    # what mteb ran is recorded: the task, its dataset marker, and the sha256 of the files it read
    generator = theirs.inputs.generator or {}
    assert generator["mteb_task"] == "LocalSTSBenchmark" and generator["class"] == LOCAL_STS
    assert generator["files"] == {f"sts/stsbenchmark/{k}": v for k, v in ours.inputs.files.items()}
    assert not theirs.inputs.verified
    # check() recomputes both correlations from mteb's cosines and the local gold; a changed value fails
    data = task.load(data_root)
    assert task.check(theirs, data) is False  # consistent, never "rescored": no card of ours
    values = list(theirs.predictions.values)
    values[0] = -values[0]
    tampered = theirs.model_copy(
        update={"predictions": theirs.predictions.model_copy(update={"values": values})}
    )
    with pytest.raises(FieldError, match="spearman|pearson"):
        task.check(tampered, data)


@pytest.mark.slow
def test_a_local_retrieval_task_runs_through_the_cli(data_root: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    done = harness(
        "run", "--model", "all-MiniLM-L6-v2", "--suite", "mteb", "--tasks", LOCAL_SCIFACT,
        "--data-dir", data_root, "--db", db, "--results-dir", tmp_path / "results", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = (tmp_path / "results").rglob("mteb-*.json")
    (result,) = json.loads(path.read_text())["results"]
    assert result["task"] == "mteb/localscifactsubset" and result["main_metric"] == "ndcg@10"
    assert set(result["metrics"]) == {
        "ndcg@10",
        "ndcg@100",
        "recall@10",
        "recall@100",
        "recall@1000",
        "map@100",
        "mrr@10",
    }
    assert all(0.0 <= v <= 1.0 and math.isfinite(v) for v in result["metrics"].values())
    assert result["metrics"]["ndcg@10"] > 0.5  # 20 SciFact queries among ~220 documents: an easy set
    assert result["inputs"]["counts"]["queries"] == 20
    assert result["inputs"]["generator"]["spec"] == {"documents": 200, "queries": 20}
    files = result["inputs"]["generator"]["files"]
    assert set(files) == {
        "beir/scifact/corpus.jsonl",
        "beir/scifact/queries.jsonl",
        "beir/scifact/qrels/test.tsv",
    }
    engine = store.connect(db, readonly=True)
    try:
        (cell,) = store.cells(engine, "mteb")
    finally:
        engine.dispose()
    assert cell.task == "mteb/localscifactsubset" and cell.value == result["metrics"]["ndcg@10"]
    # the stored file passes the submission gate too (ingest re-reads and re-checks it)
    again = harness(
        "ingest",
        tmp_path / "results",
        "--db",
        f"sqlite:///{tmp_path / 'again.sqlite'}",
        "--data-dir",
        data_root,
        cwd=tmp_path,
    )
    assert again.returncode == 0 and "1 ingested" in again.stdout, again.stdout + again.stderr


def test_the_mteb_suite_needs_named_tasks(tmp_path: Path) -> None:
    done = harness(
        "run",
        "--model",
        "all-MiniLM-L6-v2",
        "--suite",
        "mteb",
        "--db",
        f"sqlite:///{tmp_path / 'h.sqlite'}",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and done.stderr.strip().startswith("harness: --datasets: name the MTEB tasks")
    done = harness(
        "run",
        "--model",
        "all-MiniLM-L6-v2",
        "--suite",
        "mteb",
        "--tasks",
        "no.such.module:Task",
        cwd=tmp_path,
    )
    assert (
        done.returncode == 2
        and "cannot import it" in done.stderr
        and len(done.stderr.strip().splitlines()) == 1
    )
