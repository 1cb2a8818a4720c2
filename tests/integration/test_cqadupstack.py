"""``beir/cqadupstack``: 12 forums scored apart (a fresh index each) and averaged, as BEIR and Pyserini do.

BEIR's ``cqadupstack.zip`` (457K documents) is not in ``../shared/data``, so the test builds a zip of
the same layout (``cqadupstack/<forum>/{corpus.jsonl,queries.jsonl,qrels/test.tsv}``, the 12 real forum
names) from real data: SciFact's test queries dealt to the 12 forums unevenly (forum j gets a share
proportional to j + 1, so the forum mean is not the pooled mean), each forum's corpus holding its
queries' cited abstracts plus an equal share of the others. The real card and the real
task read it; bm25s scores it; the plain ``RetrievalTask`` scores each forum folder alone.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import zipfile
from pathlib import Path

import pytest

from harness.data.cards import DatasetCard, SplitCard
from harness.errors import FieldError, InputError
from harness.models.sparse import Bm25s
from harness.results import Predictions, RunRef, TaskResult
from harness.runner import run_task
from harness.suites.beir import SUITE
from harness.suites.beir.cards import CQADUPSTACK, CQADUPSTACK_FORUMS
from harness.suites.beir.cqadupstack import CqaDupStackTask
from harness.suites.beir.task import RetrievalTask
from harness.suites.checks import check_declared, check_inputs
from harness.timing import Timer


def _forums(scifact_zip: Path) -> dict[str, dict[str, bytes]]:
    """Forum -> member -> bytes: SciFact's test split dealt into 12 BEIR datasets."""
    with zipfile.ZipFile(scifact_zip) as archive:
        corpus = [json.loads(line) for line in archive.read("scifact/corpus.jsonl").decode().splitlines()]
        queries = {
            row["_id"]: row
            for row in map(json.loads, archive.read("scifact/queries.jsonl").decode().splitlines())
        }
        qrel_lines = archive.read("scifact/qrels/test.tsv").decode().splitlines()[1:]
    qrels: dict[str, list[tuple[str, str]]] = {}
    for line in qrel_lines:
        qid, doc, score = line.split("\t")
        qrels.setdefault(qid, []).append((doc, score))
    ordered = sorted(qrels, key=int)
    bounds = [len(ordered) * sum(range(1, j + 2)) / 78 for j in range(12)]  # shares 1/78 ... 12/78
    forum_of_query = {
        qid: CQADUPSTACK_FORUMS[next(j for j, bound in enumerate(bounds) if i < bound)]
        for i, qid in enumerate(ordered)
    }
    owner = {doc: forum_of_query[qid] for qid, pairs in qrels.items() for doc, _ in pairs}
    docs: dict[str, list[dict[str, str]]] = {forum: [] for forum in CQADUPSTACK_FORUMS}
    for i, doc in enumerate(corpus):  # a cited doc goes with its query's forum, the rest round-robin
        docs[owner.get(doc["_id"], CQADUPSTACK_FORUMS[i % 12])].append(doc)
    forums = {}
    for forum in CQADUPSTACK_FORUMS:
        mine = sorted((q for q, f in forum_of_query.items() if f == forum), key=int)
        qrels_tsv = "query-id\tcorpus-id\tscore\n" + "".join(
            f"{q}\t{doc}\t{score}\n" for q in mine for doc, score in qrels[q]
        )
        forums[forum] = {
            "corpus.jsonl": "".join(json.dumps(d) + "\n" for d in docs[forum]).encode(),
            "queries.jsonl": "".join(json.dumps(queries[q]) + "\n" for q in mine).encode(),
            "qrels/test.tsv": qrels_tsv.encode(),
        }
    return forums


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """A data root holding ``beir/cqadupstack.zip`` and the same forums unzipped under ``forums/``."""
    root = tmp_path_factory.mktemp("cqa")
    forums = _forums(data_root / "beir" / "scifact.zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for forum, members in forums.items():
            for member, data in members.items():
                archive.writestr(f"cqadupstack/{forum}/{member}", data)
                (root / "forums" / forum / member).parent.mkdir(parents=True, exist_ok=True)
                (root / "forums" / forum / member).write_bytes(data)
    (root / "beir").mkdir()
    (root / "beir" / "cqadupstack.zip").write_bytes(buffer.getvalue())
    return root


def _forum_card(forum: str) -> DatasetCard:
    return DatasetCard(
        id=f"beir/cqadupstack-{forum}",
        name=f"cqadupstack-{forum}",
        locations=(f"forums/{forum}",),
        marker="corpus.jsonl",
        licence="test",
        url="",
    )


@pytest.fixture(scope="module")
def result(layout: Path) -> TaskResult:
    task = SUITE.task("cqadupstack", "test")
    assert isinstance(task, CqaDupStackTask)
    return run_task(task, Bm25s(), layout, Timer())


def test_the_suite_makes_the_forum_task_with_the_test_split(layout: Path) -> None:
    selection = SUITE.select(layout, ["cqadupstack"], None)
    assert selection.tasks == (CqaDupStackTask(CQADUPSTACK, "test"),)


def test_metrics_are_the_mean_of_the_forums_scored_alone(layout: Path, result: TaskResult) -> None:
    per_forum = [
        run_task(RetrievalTask(_forum_card(forum), "test"), Bm25s(), layout, Timer())
        for forum in CQADUPSTACK_FORUMS
    ]
    for name, value in result.metrics.items():
        assert value == math.fsum(r.metrics[name] for r in per_forum) / 12, name
    assert result.inputs.counts == {"corpus": 5183, "queries": 300, "qrels": 339, "forums": 12}
    assert result.per_item is not None
    for forum, alone in zip(CQADUPSTACK_FORUMS, per_forum, strict=True):
        assert alone.per_item is not None
        mine = {
            key.split("/", 1)[1]: value
            for key, value in result.per_item.values["ndcg@10"].items()
            if key.startswith(forum + "/")
        }
        assert mine == alone.per_item.values["ndcg@10"]
    assert result.sizes_bytes["index"] > 0
    assert 0.3 < result.metrics["ndcg@10"] < 1.0  # BM25 on SciFact is 0.67; smaller corpora score higher


def test_the_weighting_matters_on_uneven_forums() -> None:
    """Forum means, not the pooled mean: a forum of 1 query weighs as much as a forum of 3."""
    from harness.suites.beir.cqadupstack import forum_means

    values = {"a/1": 1.0, "b/1": 0.0, "b/2": 0.0, "b/3": 0.0}
    means = forum_means(values, ("a", "b"), "per_item.values.ndcg@10")
    assert math.fsum(means.values()) / 2 == 0.5
    assert math.fsum(values.values()) / 4 == 0.25


def test_check_accepts_the_run_and_refuses_a_changed_value(layout: Path, result: TaskResult) -> None:
    task = CqaDupStackTask(CQADUPSTACK, "test")
    data = task.load(layout)
    check_declared(result, task)
    check_inputs(result, task)
    assert task.check(result, data) is False  # consistent, never "rescored" (as RetrievalTask)
    assert task.check(result, None) is False

    assert result.per_item is not None
    values = {name: dict(v) for name, v in result.per_item.values.items()}
    key = next(iter(values["ndcg@10"]))
    values["ndcg@10"][key] = 1.0 - values["ndcg@10"][key] / 2 if values["ndcg@10"][key] < 1 else 0.0
    changed = result.model_copy(update={"per_item": result.per_item.model_copy(update={"values": values})})
    with pytest.raises(FieldError, match=r"metrics\.ndcg@10: .* is not the mean over forums"):
        task.check(changed, data)

    # the plain mean of the same per-query values is not the forum mean: a file claiming it is refused
    plain = math.fsum(result.per_item.values["ndcg@10"].values()) / 300
    assert plain != result.metrics["ndcg@10"]
    claimed = result.model_copy(update={"metrics": {**result.metrics, "ndcg@10": plain}})
    with pytest.raises(FieldError, match="mean over forums"):
        task.check(claimed, data)


def test_check_refuses_keys_without_a_forum(result: TaskResult) -> None:
    task = CqaDupStackTask(CQADUPSTACK, "test")
    assert result.per_item is not None
    values = {
        name: {key.replace("android/", "androids/"): v for key, v in per.items()}
        for name, per in result.per_item.values.items()
    }
    changed = result.model_copy(update={"per_item": result.per_item.model_copy(update={"values": values})})
    with pytest.raises(FieldError, match="with a forum of android"):
        task.check(changed, None)


def test_a_missing_forum_is_named(layout: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(layout / "beir" / "cqadupstack.zip") as archive:
        kept = [n for n in archive.namelist() if "/wordpress/" not in n]
        (tmp_path / "beir").mkdir()
        with zipfile.ZipFile(tmp_path / "beir" / "cqadupstack.zip", "w") as out:
            for name in kept:
                out.writestr(name, archive.read(name))
    with pytest.raises(InputError, match=r"beir/cqadupstack\.zip:cqadupstack/wordpress/corpus\.jsonl"):
        CqaDupStackTask(CQADUPSTACK, "test").load(tmp_path)


def test_the_published_query_count_is_compared(layout: Path) -> None:
    """Our 300-query stand-in is not BEIR's 13,145-query CQADupStack: the card says so."""
    data = CqaDupStackTask(CQADUPSTACK, "test").load(layout)
    assert data.inputs.verified is False
    note = CQADUPSTACK.published_note("test", data.inputs.counts)
    assert "300 judged queries" in note and "13,145" in note
    trimmed = dataclasses.replace(CQADUPSTACK.published, eval_queries=300) if CQADUPSTACK.published else None
    assert trimmed is not None and trimmed.query_count_note("test", 300) == ""


def test_a_saved_run_rescores_to_the_same_values_and_a_tampered_one_is_caught(layout: Path) -> None:
    """``score_run`` on the run ``evaluate`` kept gives the very same values; ``check_run`` recomputes them.

    ``check_run`` rescores only data that is the card's; BEIR's CQADupStack card lists no member hashes,
    so the test checks against a card of the stand-in's own hashes (read here, not typed in).
    """
    task = CqaDupStackTask(CQADUPSTACK, "test")
    data = task.load(layout)
    scores = task.evaluate(Bm25s(), data, Timer())
    assert scores.run is not None and scores.per_item is not None
    assert len(scores.run.hits) == 300 and next(iter(scores.run.hits)).startswith("android/")
    again = task.score_run(data, scores.run.hits)
    assert again.metrics == scores.metrics and again.per_item == scores.per_item

    checked = dataclasses.replace(
        CQADUPSTACK,
        splits={"test": SplitCard(members=data.inputs.files, counts=data.inputs.counts)},
    )
    local = CqaDupStackTask(checked, "test")
    verified = local.load(layout)
    assert verified.inputs.verified
    result = run_task(local, Bm25s(), layout, Timer())
    ref = RunRef(sha256="0" * 64, k=1000, queries=len(scores.run.hits), hits=scores.run.lines)
    with_run = result.model_copy(
        update={"predictions": Predictions(kind="run", item_kind="query", values=[], run=ref)}
    )
    assert local.check_run(with_run, verified, scores.run.hits) is True
    assert local.check_run(with_run, data, scores.run.hits) is False  # the card's bytes: only then rescored

    qid, relevant = next(
        (q, doc) for q, docs in scores.run.hits.items() for doc in docs if verified.qrels[q].get(doc, 0) > 0
    )
    assert qid.split("/")[0] in CQADUPSTACK_FORUMS and relevant.split("/")[0] == qid.split("/")[0]
    docs = scores.run.hits[qid]
    tampered = {**scores.run.hits, qid: {doc: s for doc, s in docs.items() if doc != relevant}}
    with pytest.raises(FieldError, match="is not what the run scores"):
        local.check_run(with_run, verified, tampered)


def test_the_cli_runs_it_and_warns_that_the_copy_is_not_beirs(layout: Path, tmp_path: Path) -> None:
    """``harness run`` without --split: the card's split; the 300-query stand-in is named, not hidden."""
    from cli_helpers import run_harness

    done = run_harness(
        "run", "--model", "bm25s", "--suite", "beir", "--datasets", "cqadupstack", "--data-dir", layout,
        "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--results-dir", tmp_path / "results", "--quiet",
        "--save-run", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warning = next(line for line in done.stdout.splitlines() if line.startswith("warning:"))
    assert warning.startswith("warning: beir/cqadupstack: 300 judged queries in split 'test', but 13,145")
    (filed,) = (tmp_path / "results" / "bm25s").glob("beir-*.json")
    (result,) = json.loads(filed.read_text())["results"]
    assert (result["task"], result["split"], result["inputs"]["verified"]) == (
        "beir/cqadupstack",
        "test",
        False,
    )
    assert result["settings"]["forums"] == list(CQADUPSTACK_FORUMS)
    assert (result["predictions"]["kind"], result["predictions"]["run"]["queries"]) == ("run", 300)
    assert list((tmp_path / "results").rglob("*.run.trec.gz"))  # the forums' runs as one, kept
