"""Our retrieval metrics against three other implementations on real runs (ir_measures cross-provider style).

The runs are BM25 (bm25s, Lucene variant, k1=0.9, b=0.4, English stopwords and Snowball stemmer,
top 1000) over Cranfield and CISI, every query. The peers are pytrec_eval (trec_eval in C),
ir_measures, and the ``beir`` package's ``EvaluateRetrieval`` (what BEIR's own numbers come from).
A second run rounds every score to one decimal, so that many hits tie and only the
tie order (score descending, doc id descending) decides the ranking.

ir_measures computes ``RR@k`` with its MS MARCO provider, which breaks ties by doc id *ascending*,
so ``mrr@10`` is compared with ir_measures only on the unrounded run; on every run it is compared
with trec_eval's ``recip_rank`` cut at rank 10 (``recip_rank`` if it is >= 1/10, else 0), and
``mrr@1000`` with ir_measures ``RR`` (no cut-off, served by pytrec_eval).
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bm25s
import ir_measures
import pytest
import pytrec_eval
import Stemmer
from ir_measures import AP, RR, P, R, nDCG

from harness.data.classic import ClassicCollection, read_cisi, read_cranfield
from harness.errors import InputError
from harness.metrics.retrieval import drop_self_hits, ranked, retrieval_scores
from harness.types import Qrels, Run

TOLERANCE = 1e-9
BEIR_ROUNDING = 5e-6 + 1e-12
"""beir's ``EvaluateRetrieval`` rounds every mean to 5 decimals (beir/retrieval/evaluation.py, 2.2.0)."""

# ours -> (trec_eval measure, pytrec_eval result key, ir_measures measure)
TREC_MEASURES: dict[str, tuple[str, str, Any]] = {
    "ndcg@10": ("ndcg_cut.10", "ndcg_cut_10", nDCG @ 10),
    "recall@100": ("recall.100", "recall_100", R @ 100),
    "recall@1000": ("recall.1000", "recall_1000", R @ 1000),
    "map@100": ("map_cut.100", "map_cut_100", AP @ 100),
    "precision@10": ("P.10", "P_10", P @ 10),
}
OURS = [*TREC_MEASURES, "mrr@10", "mrr@1000"]

READERS: dict[str, Callable[[Path], ClassicCollection]] = {"cranfield": read_cranfield, "cisi": read_cisi}


def bm25_run(collection: ClassicCollection, k: int = 1000) -> Run:
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    corpus = [f"{doc.title} {doc.text}" for doc in collection.docs]
    retriever.index(
        bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False
    )
    query_ids = list(collection.queries)
    query_tokens = bm25s.tokenize(
        [collection.queries[q] for q in query_ids], stopwords="en", stemmer=stemmer, show_progress=False
    )
    indices, scores = retriever.retrieve(query_tokens, k=k, show_progress=False)
    return {
        qid: {collection.docs[int(i)].id: float(s) for i, s in zip(indices[row], scores[row], strict=True)}
        for row, qid in enumerate(query_ids)
    }


def rounded(run: Run) -> Run:
    return {qid: {doc: round(score, 1) for doc, score in hits.items()} for qid, hits in run.items()}


@pytest.fixture(scope="module", params=["cranfield", "cisi"])
def collection(request: pytest.FixtureRequest, data_root: Path) -> ClassicCollection:
    name: str = request.param
    return READERS[name](data_root / "ir" / name)


@pytest.fixture(scope="module")
def runs(collection: ClassicCollection) -> dict[str, Run]:
    run = bm25_run(collection)
    return {"bm25": run, "bm25-rounded": rounded(run)}


def pytrec_scores(qrels: Qrels, run: Run) -> dict[str, dict[str, float]]:
    measures = {trec for trec, _, _ in TREC_MEASURES.values()} | {"recip_rank"}
    result: dict[str, dict[str, float]] = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    return result


def ir_measures_scores(qrels: Qrels, run: Run, measures: list[Any]) -> dict[tuple[str, str], float]:
    return {(str(m.measure), m.query_id): m.value for m in ir_measures.iter_calc(measures, qrels, run)}


def max_difference(ours: dict[str, float], theirs: dict[str, float]) -> float:
    assert ours.keys() == theirs.keys()
    return max(abs(ours[q] - theirs[q]) for q in ours)


def rr_cut(recip_rank: float, k: int) -> float:
    """trec_eval ``recip_rank`` (no cut-off) turned into RR@k: the first relevant must be within k."""
    return recip_rank if recip_rank >= 1 / k else 0.0


# ---- agreement ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["bm25", "bm25-rounded"])
def test_per_query_and_mean_agree_with_pytrec_eval(
    collection: ClassicCollection, runs: dict[str, Run], variant: str
) -> None:
    run = runs[variant]
    assert collection.qrels.keys() <= run.keys()  # so pytrec_eval scores every qrels query too
    aggregate, per_item = retrieval_scores(collection.qrels, run, OURS)
    theirs = pytrec_scores(collection.qrels, run)
    assert theirs.keys() == collection.qrels.keys()
    for ours_name, (_, key, _) in TREC_MEASURES.items():
        expected = {q: theirs[q][key] for q in theirs}
        assert max_difference(per_item[ours_name], expected) <= TOLERANCE, ours_name
        assert aggregate[ours_name] == pytest.approx(sum(expected.values()) / len(expected), abs=TOLERANCE)
    rr10 = {q: rr_cut(theirs[q]["recip_rank"], 10) for q in theirs}
    assert max_difference(per_item["mrr@10"], rr10) <= TOLERANCE
    rr_full = {q: theirs[q]["recip_rank"] for q in theirs}
    assert max_difference(per_item["mrr@1000"], rr_full) <= TOLERANCE


@pytest.mark.parametrize("variant", ["bm25", "bm25-rounded"])
def test_per_query_and_mean_agree_with_ir_measures(
    collection: ClassicCollection, runs: dict[str, Run], variant: str
) -> None:
    run = runs[variant]
    measures = {name: measure for name, (_, _, measure) in TREC_MEASURES.items()} | {"mrr@1000": RR}
    if variant == "bm25":  # ir_measures' RR@10 breaks ties by doc id ascending (MS MARCO provider)
        measures["mrr@10"] = RR @ 10
    aggregate, per_item = retrieval_scores(collection.qrels, run, list(measures))
    theirs = ir_measures_scores(collection.qrels, run, list(measures.values()))
    theirs_mean = ir_measures.calc_aggregate(list(measures.values()), collection.qrels, run)
    for name, measure in measures.items():
        expected = {q: theirs[(str(measure), q)] for q in collection.qrels}
        assert max_difference(per_item[name], expected) <= TOLERANCE, name
        assert aggregate[name] == pytest.approx(theirs_mean[measure], abs=TOLERANCE), name


def beir_means(qrels: Qrels, run: Run, ignore_identical_ids: bool) -> dict[str, float]:
    """BEIR's evaluator (beir 2.2.0) on a copy of ``run``: it pops self-hits from the dict it is given."""
    from beir.retrieval.evaluation import EvaluateRetrieval

    copy = {qid: dict(hits) for qid, hits in run.items()}
    ndcg, map_, recall, precision = EvaluateRetrieval.evaluate(
        qrels, copy, [10, 100, 1000], ignore_identical_ids=ignore_identical_ids
    )
    mrr = EvaluateRetrieval.evaluate_custom(qrels, copy, [10], metric="mrr")
    return {
        "ndcg@10": ndcg["NDCG@10"],
        "recall@100": recall["Recall@100"],
        "recall@1000": recall["Recall@1000"],
        "map@100": map_["MAP@100"],
        "precision@10": precision["P@10"],
        "mrr@10": mrr["MRR@10"],
    }


@pytest.mark.parametrize("variant", ["bm25", "bm25-rounded"])
@pytest.mark.parametrize("ignore_identical_ids", [False, True])
def test_means_agree_with_beir_evaluator(
    collection: ClassicCollection, runs: dict[str, Run], variant: str, ignore_identical_ids: bool
) -> None:
    # beir divides by the queries of the run (trec_eval without -c), so the run holds exactly the
    # judged queries. Cranfield's query ids and doc ids are both 1, 2, ...: with
    # ignore_identical_ids beir drops those hits, as our drop_self_hits (Pyserini --remove-query) does.
    run = {qid: runs[variant][qid] for qid in collection.qrels}
    ours_run = drop_self_hits(run) if ignore_identical_ids else run
    names = ["ndcg@10", "recall@100", "recall@1000", "map@100", "precision@10"]
    # beir's MRR sorts by score alone (ties keep insertion order, not trec_eval's doc id descending)
    names += ["mrr@10"] if variant == "bm25" else []
    aggregate, _ = retrieval_scores(collection.qrels, ours_run, names)
    theirs = beir_means(collection.qrels, run, ignore_identical_ids)
    for name in names:
        assert abs(aggregate[name] - theirs[name]) <= BEIR_ROUNDING, (name, aggregate[name], theirs[name])
    if ignore_identical_ids:  # guard: the self-hits are there, and dropping them changes something
        assert any(qid in hits for qid, hits in run.items())


def test_rounded_run_has_ties_that_change_the_ranking(runs: dict[str, Run]) -> None:
    # Guard for the tie test above: with doc ids ascending instead, some top-10 lists would differ.
    run = runs["bm25-rounded"]
    ascending = {
        q: [d for d, _ in sorted(hits.items(), key=lambda item: (-item[1], item[0]))]
        for q, hits in run.items()
    }
    changed = sum(1 for q, hits in run.items() if ranked(hits)[:10] != ascending[q][:10])
    assert changed >= len(run) // 2


def test_missing_queries_score_zero_like_trec_eval_c(
    collection: ClassicCollection, runs: dict[str, Run]
) -> None:
    qids = sorted(collection.qrels)
    dropped = set(qids[::3])
    run = {q: hits for q, hits in runs["bm25"].items() if q not in dropped}
    aggregate, per_item = retrieval_scores(collection.qrels, run, list(TREC_MEASURES))
    theirs = pytrec_scores(collection.qrels, run)
    assert theirs.keys() == set(qids) - dropped  # pytrec_eval leaves the missing queries out
    theirs_mean = ir_measures.calc_aggregate(
        [measure for _, _, measure in TREC_MEASURES.values()], collection.qrels, run
    )
    for name, (_, key, measure) in TREC_MEASURES.items():
        assert all(per_item[name][q] == 0.0 for q in dropped)
        assert all(abs(per_item[name][q] - theirs[q][key]) <= TOLERANCE for q in theirs)
        trec_eval_c_mean = sum(theirs[q][key] for q in theirs) / len(qids)
        assert aggregate[name] == pytest.approx(trec_eval_c_mean, abs=TOLERANCE)
        assert aggregate[name] == pytest.approx(theirs_mean[measure], abs=TOLERANCE)


def test_negative_and_zero_grades_agree_with_pytrec_eval(
    collection: ClassicCollection, runs: dict[str, Run]
) -> None:
    # Turn every third judgement into -1 and every fifth into 0: judged, but not relevant.
    qrels: Qrels = {}
    for n, (qid, doc) in enumerate((q, d) for q, judged in sorted(collection.qrels.items()) for d in judged):
        grade = collection.qrels[qid][doc]
        qrels.setdefault(qid, {})[doc] = -1 if n % 3 == 0 else 0 if n % 5 == 0 else grade
    run = runs["bm25"]
    _, per_item = retrieval_scores(qrels, run, list(TREC_MEASURES))
    theirs = pytrec_scores(qrels, run)
    for name, (_, key, _) in TREC_MEASURES.items():
        assert max_difference(per_item[name], {q: theirs[q][key] for q in theirs}) <= TOLERANCE, name


def test_bm25_scores_are_in_the_expected_range(collection: ClassicCollection, runs: dict[str, Run]) -> None:
    # A sanity check on the runs themselves, so the agreement above is not over degenerate runs.
    aggregate, _ = retrieval_scores(collection.qrels, runs["bm25"], ["ndcg@10", "recall@1000"])
    assert 0.3 < aggregate["ndcg@10"] < 0.5
    assert aggregate["recall@1000"] > 0.9


# ---- readers against MANIFEST.md section 4 --------------------------------------------------------


def test_cranfield_counts(data_root: Path) -> None:
    cranfield = read_cranfield(data_root / "ir" / "cranfield")
    assert cranfield.name == "cranfield"
    assert len(cranfield.docs) == 1400
    assert [doc.id for doc in cranfield.docs] == [str(n) for n in range(1, 1401)]  # no ".I 1401"
    assert list(cranfield.queries) == [str(n) for n in range(1, 226)]  # positions, not .I 001-365
    assert len(cranfield.qrels) == 225
    grades = Counter(grade for judged in cranfield.qrels.values() for grade in judged.values())
    # MANIFEST codes 1 -> 128, 2 -> 387, 3 -> 734, 4 -> 363; grade = 5 - code; the 225 -1 lines dropped.
    assert grades == {4: 128, 3: 387, 2: 734, 1: 363}
    assert sum(grades.values()) == 1612
    assert cranfield.qrels["1"]["184"] == 3  # "1 184 2" is the first line of cranqrel
    assert cranfield.queries["225"].startswith("what design factors can be used to control lift-drag")
    doc1 = cranfield.docs[0]
    assert doc1.title == "experimental investigation of the aerodynamics of a wing in a slipstream ."
    assert doc1.text.startswith("experimental investigation of the aerodynamics of a wing in a slipstream")


def test_cisi_counts(data_root: Path) -> None:
    cisi = read_cisi(data_root / "ir" / "cisi")
    assert cisi.name == "cisi"
    assert len(cisi.docs) == 1460
    assert len(cisi.queries) == 112
    assert len(cisi.qrels) == 76
    assert sum(len(judged) for judged in cisi.qrels.values()) == 3114
    assert {grade for judged in cisi.qrels.values() for grade in judged.values()} == {1}
    assert cisi.docs[0].title == "18 Editions of the Dewey Decimal Classifications"
    assert cisi.docs[0].text.startswith("The present study is a history of the DEWEY Decimal Classification.")


def copy_collection(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


def test_cranfield_bad_code_names_file_and_field(data_root: Path, tmp_path: Path) -> None:
    directory = copy_collection(data_root / "ir" / "cranfield", tmp_path / "cranfield")
    qrels = directory / "cranqrel"
    lines = qrels.read_text().splitlines()
    lines[1] = "1 29 7"
    qrels.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as error:
        read_cranfield(directory)
    assert (error.value.where, error.value.field) == (str(qrels), "code")
    assert "line 2" in error.value.message


def test_cisi_unknown_doc_names_file_and_field(data_root: Path, tmp_path: Path) -> None:
    directory = copy_collection(data_root / "ir" / "cisi", tmp_path / "cisi")
    qrels = directory / "CISI.REL"
    qrels.write_text(qrels.read_text() + "     1   9999\t0\t0.000000\n")
    with pytest.raises(InputError) as error:
        read_cisi(directory)
    assert (error.value.where, error.value.field) == (str(qrels), "doc")


def test_cisi_bad_record_id_names_file_and_field(data_root: Path, tmp_path: Path) -> None:
    directory = copy_collection(data_root / "ir" / "cisi", tmp_path / "cisi")
    docs = directory / "CISI.ALL"
    docs.write_text(docs.read_text().replace(".I 2\n", ".I two\n", 1))
    with pytest.raises(InputError) as error:
        read_cisi(directory)
    assert (error.value.where, error.value.field) == (str(docs), ".I")


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        read_cranfield(tmp_path)
    assert error.value.where == str(tmp_path / "cran.all.1400")
