"""Hand-computed cases for harness.metrics.retrieval (ranx style): every expected number is worked out
in a comment next to it, so a failure can be checked with pencil and paper.

Discounts used below: 1/log2(2) = 1, 1/log2(3) = 0.6309297535714575, 1/log2(4) = 0.5,
1/log2(5) = 0.43067655807339306.
"""

from __future__ import annotations

import math

import pytest

from harness.metrics.measures import (
    DENSE_TOLERANCE,
    MEASURES,
    RANKING_LABELS,
    SCORE_TOLERANCES,
    SPARSE_TOLERANCE,
    Measure,
    known_measure,
    measure,
    parse_metric_name,
)
from harness.metrics.retrieval import (
    average_precision,
    drop_self_hits,
    ndcg,
    precision,
    ranked,
    recall,
    reciprocal_rank,
    retrieval_scores,
    truncate,
)
from harness.types import Qrels, Run

# One query with graded judgements: a=3, b=2, c=1 are relevant (3 relevant docs), e=0 is judged
# non-relevant. The run ranks c, b, x, a (x is unjudged); e is not retrieved.
GRADED_QRELS: Qrels = {"q": {"a": 3, "b": 2, "c": 1, "e": 0}}
GRADED_RUN: Run = {"q": {"a": 1.0, "x": 2.0, "b": 3.0, "c": 4.0}}


# ---- order -------------------------------------------------------------------------------------


def test_ranked_orders_by_score_descending_whatever_the_dict_order() -> None:
    assert ranked({"a": 0.1, "b": 0.9, "c": 0.5}) == ["b", "c", "a"]


def test_ranked_breaks_ties_by_doc_id_descending() -> None:
    # All tied at 1.0: doc id descending -> d3, d2, d1; d0 has the higher score and comes first.
    assert ranked({"d1": 1.0, "d2": 1.0, "d0": 2.0, "d3": 1.0}) == ["d0", "d3", "d2", "d1"]


def test_ranked_compares_doc_ids_as_strings_not_numbers() -> None:
    # trec_eval uses strcmp: "9" > "100" > "10" as strings (numerically it would be 100, 10, 9).
    assert ranked({"10": 1.0, "9": 1.0, "100": 1.0}) == ["9", "100", "10"]


def test_ranked_of_nothing_is_empty() -> None:
    assert ranked({}) == []


def test_ranked_rejects_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        ranked({"a": math.nan, "b": 1.0})


def test_ties_decide_the_metric() -> None:
    # Only d2 is relevant. Ranking: d0 (2.0), then the tie at 1.0 as d3, d2, d1 -> d2 at rank 3.
    qrels: Qrels = {"q": {"d2": 1}}
    run: Run = {"q": {"d1": 1.0, "d2": 1.0, "d3": 1.0, "d0": 2.0}}
    assert reciprocal_rank(qrels, run, 10) == {"q": pytest.approx(1 / 3)}  # 1 / rank 3
    assert reciprocal_rank(qrels, run, 2) == {"q": 0.0}  # rank 3 is below the cut
    assert recall(qrels, run, 2) == {"q": 0.0}
    assert recall(qrels, run, 3) == {"q": 1.0}
    assert ndcg(qrels, run, 10) == {"q": pytest.approx(0.5)}  # (1/log2(4)) / (1/log2(2))
    assert average_precision(qrels, run, 10) == {"q": pytest.approx(1 / 3)}  # P@3 = 1/3, one relevant


# ---- graded nDCG and the cut-off ------------------------------------------------------------------


def test_graded_ndcg_at_3() -> None:
    # DCG@3  = 1/log2(2) [c, grade 1] + 2/log2(3) [b] + 0 [x] = 1 + 1.261859507142915 = 2.261859507142915
    # IDCG@3 = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.261859507142915 + 0.5 = 4.7618595071429155
    # nDCG@3 = 2.261859507142915 / 4.7618595071429155
    assert ndcg(GRADED_QRELS, GRADED_RUN, 3)["q"] == pytest.approx(0.4749950106150897, abs=1e-12)


def test_graded_ndcg_cut_off_changes_the_ideal_too() -> None:
    # k=1: DCG = 1 [c]; IDCG = 3 [a] -> 1/3.
    assert ndcg(GRADED_QRELS, GRADED_RUN, 1)["q"] == pytest.approx(1 / 3, abs=1e-12)
    # k=10: DCG = 1 + 2/log2(3) + 0 + 3/log2(5) [a at rank 4] = 3.553889181363094; IDCG as at k=3.
    assert ndcg(GRADED_QRELS, GRADED_RUN, 10)["q"] == pytest.approx(0.7463238207746714, abs=1e-12)


def test_average_precision_divides_by_all_relevant() -> None:
    # Relevant at ranks 1 (c), 2 (b), 4 (a): P@1 = 1, P@2 = 1, P@4 = 3/4; 3 relevant in the qrels.
    assert average_precision(GRADED_QRELS, GRADED_RUN, 10)["q"] == pytest.approx(2.75 / 3, abs=1e-12)
    # Cut at 2: only ranks 1 and 2 count, still divided by 3 -> 2/3.
    assert average_precision(GRADED_QRELS, GRADED_RUN, 2)["q"] == pytest.approx(2 / 3, abs=1e-12)


def test_recall_and_precision_at_k() -> None:
    assert recall(GRADED_QRELS, GRADED_RUN, 2) == {"q": pytest.approx(2 / 3)}  # c, b of a, b, c
    assert recall(GRADED_QRELS, GRADED_RUN, 100) == {"q": 1.0}
    assert precision(GRADED_QRELS, GRADED_RUN, 2) == {"q": 1.0}  # c, b
    assert precision(GRADED_QRELS, GRADED_RUN, 10) == {"q": pytest.approx(0.3)}  # 3 / 10, not 3 / 4


def test_reciprocal_rank_first_relevant() -> None:
    assert reciprocal_rank(GRADED_QRELS, GRADED_RUN, 10) == {"q": 1.0}  # c at rank 1


def test_negative_grades_are_non_relevant_with_no_gain() -> None:
    # a (grade -1) is ranked first and counts as nothing; b (grade 1) is at rank 2.
    qrels: Qrels = {"q": {"a": -1, "b": 1}}
    run: Run = {"q": {"a": 2.0, "b": 1.0}}
    assert ndcg(qrels, run, 10)["q"] == pytest.approx(0.6309297535714575)  # (1/log2(3)) / 1
    assert reciprocal_rank(qrels, run, 10)["q"] == 0.5
    assert recall(qrels, run, 1)["q"] == 0.0
    assert precision(qrels, run, 2)["q"] == 0.5
    assert average_precision(qrels, run, 10)["q"] == 0.5  # P@2 = 1/2, one relevant


def test_query_without_relevant_docs_scores_zero_and_counts() -> None:
    qrels: Qrels = {"q1": {"a": 1}, "q2": {"b": 0}}
    run: Run = {"q1": {"a": 1.0}, "q2": {"b": 1.0}}
    aggregate, per_item = retrieval_scores(qrels, run, ["ndcg@10", "recall@10", "map@10", "mrr@10"])
    for metric in aggregate:
        assert per_item[metric] == {"q1": 1.0, "q2": 0.0}
        assert aggregate[metric] == 0.5  # (1 + 0) / 2: q2 is in the qrels, so it is averaged over


# ---- which queries count (trec_eval -c) -----------------------------------------------------------


def test_missing_query_scores_zero_and_is_averaged_over() -> None:
    # q2 is judged but absent from the run: 0, and the mean is over both queries -> (1 + 0) / 2.
    qrels: Qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    run: Run = {"q1": {"a": 1.0}}
    aggregate, per_item = retrieval_scores(qrels, run, ["ndcg@10", "precision@1"])
    assert per_item == {"ndcg@10": {"q1": 1.0, "q2": 0.0}, "precision@1": {"q1": 1.0, "q2": 0.0}}
    assert aggregate == {"ndcg@10": 0.5, "precision@1": 0.5}


def test_query_with_empty_hits_scores_zero() -> None:
    qrels: Qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    run: Run = {"q1": {"a": 1.0}, "q2": {}}
    assert recall(qrels, run, 10) == {"q1": 1.0, "q2": 0.0}


def test_query_not_in_qrels_is_ignored() -> None:
    qrels: Qrels = {"q1": {"a": 1}}
    run: Run = {"q1": {"a": 1.0}, "zz": {"a": 5.0, "b": 1.0}}
    aggregate, per_item = retrieval_scores(qrels, run, ["mrr@10"])
    assert per_item == {"mrr@10": {"q1": 1.0}}
    assert aggregate == {"mrr@10": 1.0}


def test_empty_run_scores_zero_everywhere() -> None:
    qrels: Qrels = {"q1": {"a": 1}, "q2": {"b": 2}}
    metrics = ["ndcg@10", "recall@100", "map@100", "mrr@10", "precision@10"]
    aggregate, per_item = retrieval_scores(qrels, {}, metrics)
    assert aggregate == dict.fromkeys(metrics, 0.0)
    assert per_item == {m: {"q1": 0.0, "q2": 0.0} for m in metrics}


def test_per_query_functions_agree_with_retrieval_scores() -> None:
    aggregate, per_item = retrieval_scores(
        GRADED_QRELS, GRADED_RUN, ["ndcg@3", "recall@2", "map@10", "mrr@10", "precision@10"]
    )
    assert per_item["ndcg@3"] == ndcg(GRADED_QRELS, GRADED_RUN, 3)
    assert per_item["recall@2"] == recall(GRADED_QRELS, GRADED_RUN, 2)
    assert per_item["map@10"] == average_precision(GRADED_QRELS, GRADED_RUN, 10)
    assert per_item["mrr@10"] == reciprocal_rank(GRADED_QRELS, GRADED_RUN, 10)
    assert per_item["precision@10"] == precision(GRADED_QRELS, GRADED_RUN, 10)
    assert aggregate["ndcg@3"] == per_item["ndcg@3"]["q"]


# ---- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bleu@10", "ndcg", "NDCG@10", "ndcg@0", "ndcg@ten", "spearman"])
def test_unknown_metric_is_named(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        retrieval_scores(GRADED_QRELS, GRADED_RUN, ["ndcg@10", name])


def test_empty_qrels_have_no_mean() -> None:
    with pytest.raises(ValueError, match="qrels"):
        retrieval_scores({}, GRADED_RUN, ["ndcg@10"])


def test_cut_off_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be >= 1"):
        ndcg(GRADED_QRELS, GRADED_RUN, 0)
    with pytest.raises(ValueError, match="k must be >= 1"):
        truncate(GRADED_RUN, 0)


# ---- run transformations --------------------------------------------------------------------------


def test_drop_self_hits_removes_only_the_query_itself() -> None:
    run: Run = {"q1": {"q1": 9.0, "d": 1.0}, "q2": {"d": 1.0, "q1": 0.5}}
    assert drop_self_hits(run) == {"q1": {"d": 1.0}, "q2": {"d": 1.0, "q1": 0.5}}
    assert run["q1"] == {"q1": 9.0, "d": 1.0}  # the input is left alone


def test_drop_self_hits_changes_the_score() -> None:
    # The self-hit at rank 1 pushes the relevant doc to rank 2: RR 1/2 before, 1 after.
    qrels: Qrels = {"q1": {"d": 1}}
    run: Run = {"q1": {"q1": 9.0, "d": 1.0}}
    assert reciprocal_rank(qrels, run, 10) == {"q1": 0.5}
    assert reciprocal_rank(qrels, drop_self_hits(run), 10) == {"q1": 1.0}


def test_truncate_keeps_top_k_in_trec_order() -> None:
    # a, b, c tie at 1.0 -> order c, b, a; z (2.0) first. Top 3 = z, c, b.
    run: Run = {"q": {"a": 1.0, "b": 1.0, "c": 1.0, "z": 2.0}, "r": {"a": 1.0}}
    assert truncate(run, 3) == {"q": {"z": 2.0, "c": 1.0, "b": 1.0}, "r": {"a": 1.0}}


# ---- the measures table (harness.metrics.measures) -------------------------------------------------

WHOLE = {"spearman", "pearson", "accuracy", "f1", "f1_macro", "mcc", "auc", "precision", "recall", "auc_edge"}
"""Whole-set measures; precision, recall and auc_edge are the circuit suite's (at |ground truth|)."""
SIGNED = {"spearman", "pearson", "mcc"}
BEIR_METRICS = ("ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10")


KERNELS = {
    "speedup": ("speed-up", True, False),
    "seconds": ("s", False, False),
    "seconds_exact": ("s (peer)", False, False),
    "peak_mib": ("peak MiB", False, False),
    "peak_mib_exact": ("peak MiB (peer)", False, False),
    "rel_error": ("rel. error", False, True),
    "rel_error_random": ("rel. error (random)", False, True),
    "mse": ("MSE", False, True),
    "cost": ("quality cost", False, True),
}
"""The kernels suite's measures: label, higher is better, deterministic (timings are not)."""


def test_measures_table_holds_the_whole_set_measures() -> None:
    assert set(MEASURES) == WHOLE | set(KERNELS)
    for name, found in MEASURES.items():
        assert found.name == name
        assert found.aggregate == "whole"  # not a mean of anything per item
        if name in KERNELS:
            assert (found.label, found.higher_is_better, found.deterministic) == KERNELS[name]
            assert found.bounds is not None and found.bounds[0] == (-1.0 if name == "cost" else 0.0)
            continue
        assert found.higher_is_better
        assert found.deterministic
        assert found.bounds == ((-1.0, 1.0) if name in SIGNED else (0.0, 1.0))
    assert {name: found.label for name, found in MEASURES.items() if name in WHOLE} == {
        "spearman": "Spearman",
        "pearson": "Pearson",
        "accuracy": "Accuracy",
        "f1": "F1",
        "f1_macro": "F1 (macro)",
        "mcc": "MCC",
        "auc": "AUC",
        "precision": "P@|GT|",
        "recall": "R@|GT|",
        "auc_edge": "AUC (edge variant)",
    }


@pytest.mark.parametrize("name", BEIR_METRICS)
def test_the_suite_ranking_metrics_are_unit_bounded_means(name: str) -> None:
    found = measure(name)
    assert found.name == name
    assert found.higher_is_better
    assert found.bounds == (0.0, 1.0)
    assert found.aggregate == "mean"  # a file's aggregate must be the mean of its per-query values
    assert found.deterministic


def test_measure_knows_any_cut_off_of_a_ranking_measure() -> None:
    assert measure("ndcg@10") == Measure("ndcg@10", "nDCG@10")
    assert measure("ndcg@20") == Measure("ndcg@20", "nDCG@20", True, (0.0, 1.0), "mean")
    assert measure("precision@5").label == "P@5"
    assert measure("map@1000").label == "MAP@1000"
    assert measure("recall@3").label == "R@3"
    assert measure("mrr@100").label == "MRR@100"
    assert measure("spearman") is MEASURES["spearman"]
    assert set(RANKING_LABELS) == {"ndcg", "recall", "map", "mrr", "precision"}


@pytest.mark.parametrize(
    "name", ["ndcg", "bleu@4", "Spearman", "mrr@", "ndcg@0", "NDCG@10", "spearman@10", "f1@5", ""]
)
def test_measure_rejects_unknown_names(name: str) -> None:
    with pytest.raises(ValueError, match="metric"):
        measure(name)
    assert known_measure(name) is None


def test_known_measure_is_measure_or_none() -> None:
    assert known_measure("ndcg@7") == measure("ndcg@7")
    assert known_measure("auc") is MEASURES["auc"]
    assert known_measure("queries_per_s") is None


def test_direction_decides_better() -> None:
    higher = measure("ndcg@10")
    assert higher.better(0.6, 0.5) and not higher.better(0.5, 0.6) and not higher.better(0.5, 0.5)
    lower = Measure("latency", "Latency", higher_is_better=False, bounds=None)
    assert lower.better(0.5, 0.6) and not lower.better(0.6, 0.5) and not lower.better(0.5, 0.5)


def test_bounds_are_closed_and_optional() -> None:
    unit, signed = measure("recall@100"), MEASURES["mcc"]
    assert unit.in_bounds(0.0) and unit.in_bounds(1.0) and unit.in_bounds(0.5)
    assert not unit.in_bounds(-1e-12) and not unit.in_bounds(1.0 + 1e-12)
    assert signed.in_bounds(-1.0) and signed.in_bounds(1.0) and not signed.in_bounds(-1.5)
    assert Measure("size", "Size", bounds=None).in_bounds(1e300)


def test_tolerance_by_model_kind() -> None:
    assert SCORE_TOLERANCES == {"sparse": SPARSE_TOLERANCE, "*": DENSE_TOLERANCE}
    assert (SPARSE_TOLERANCE, DENSE_TOLERANCE) == (0.0005, 0.005)
    for found in (measure("ndcg@10"), MEASURES["spearman"]):
        assert found.tolerance("sparse") == SPARSE_TOLERANCE
        for kind in ("dense", "hybrid", "kernel", "circuit"):
            assert found.tolerance(kind) == DENSE_TOLERANCE  # "*": every other kind


def test_format_shows_the_display_digits() -> None:
    assert measure("ndcg@10").format(0.678912) == "0.6789"
    assert MEASURES["spearman"].format(-0.12345) == "-0.1235"
    assert Measure("rate", "Rate", bounds=None, digits=1).format(12345.67) == "12,345.7"


def test_every_ranking_measure_of_the_table_is_computable() -> None:
    for name in RANKING_LABELS:
        assert parse_metric_name(f"{name}@7") == (name, 7)
        assert measure(f"{name}@7").aggregate == "mean"
        aggregate, per_item = retrieval_scores(GRADED_QRELS, GRADED_RUN, [f"{name}@7"])
        assert aggregate[f"{name}@7"] == per_item[f"{name}@7"]["q"]
    assert parse_metric_name("spearman") == ("spearman", None)
