"""Rank-based retrieval metrics with trec_eval semantics, as pure functions over ``Qrels`` and ``Run``.

The conventions are the ones ``trec_eval -c`` (and so pytrec_eval and ir_measures) apply:

* **Order.** A query's hits are ranked by score, highest first; equal scores are ordered by doc id
  *descending* under byte-wise comparison (trec_eval ``form_res_rels.c``, ``comp_sim_docno``; the
  order BEIR/MTEB numbers depend on, see embeddings-benchmark/mteb#5092). The order a run dict
  happens to list its hits in never matters.
* **Which queries count.** Every query id in the qrels is scored and averaged over. A qrels query
  that is absent from the run, or has no hits, scores 0 (``trec_eval -c``; ir_measures does the
  same). Run queries that are not in the qrels are ignored.
* **Relevance.** A judgement of grade >= 1 is relevant (trec_eval's default ``-l 1``); grade 0 and
  negative grades are non-relevant and give no gain. nDCG uses the grade itself as the gain.

Every function returns per-query values keyed by every qrels query id, so paired significance tests
stay possible (ranx ``compare``). ``retrieval_scores`` ranks each query once and computes all the
requested metrics from that one ranking.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter

from harness.metrics.measures import parse_metric_name
from harness.types import Qrels, Run

_Judgements = Mapping[str, int]
_Measure = Callable[[Sequence[str], _Judgements, int], float]
_BY_SCORE_THEN_ID = itemgetter(1, 0)


def ranked(doc_scores: Mapping[str, float]) -> list[str]:
    """Doc ids in trec_eval order: score descending, ties broken by doc id descending.

    trec_eval sorts with ``comp_sim_docno``: ``sim`` descending, then ``strcmp(docno2, docno1)``.
    Python compares ``str`` by code point, which is the byte order of their UTF-8 encoding, so this
    is the same order (embeddings-benchmark/mteb#5092 is what a different tie order costs).

    Raises:
        ValueError: a score is NaN, which has no place in an order.
    """
    if any(math.isnan(score) for score in doc_scores.values()):
        raise ValueError("a run score is NaN; trec_eval order is undefined for it")
    return [doc for doc, _ in sorted(doc_scores.items(), key=_BY_SCORE_THEN_ID, reverse=True)]


def _dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain, ``sum_i gain_i / log2(i + 1)`` over ranks i = 1, 2, ... (trec_eval)."""
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains) if gain > 0)


def _ndcg_at(ranking: Sequence[str], judgements: _Judgements, k: int) -> float:
    """trec_eval ``ndcg_cut.k`` (Järvelin & Kekäläinen 2002, with trec_eval's log2(rank + 1) discount).

    ``DCG@k = sum_{i <= k} g_i / log2(i + 1)`` with ``g_i`` the grade of the doc at rank ``i``
    (0 when unjudged or not positive). The ideal DCG ranks all judged docs of positive grade by
    grade and cuts at ``k``. No relevant doc: 0.
    """
    ideal = _dcg(sorted((grade for grade in judgements.values() if grade > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return _dcg([max(judgements.get(doc, 0), 0) for doc in ranking[:k]]) / ideal


def _num_relevant(judgements: _Judgements) -> int:
    return sum(1 for grade in judgements.values() if grade >= 1)


def _recall_at(ranking: Sequence[str], judgements: _Judgements, k: int) -> float:
    """trec_eval ``recall.k``: relevant docs in the top ``k`` / all relevant docs (0 when none)."""
    num_relevant = _num_relevant(judgements)
    if num_relevant == 0:
        return 0.0
    return sum(1 for doc in ranking[:k] if judgements.get(doc, 0) >= 1) / num_relevant


def _average_precision_at(ranking: Sequence[str], judgements: _Judgements, k: int) -> float:
    """trec_eval ``map_cut.k``: ``sum_{relevant doc at rank i <= k} P@i`` / all relevant docs.

    The denominator is the number of relevant docs in the qrels, not the number retrieved, so
    relevant docs below rank ``k`` count as precision 0.
    """
    num_relevant = _num_relevant(judgements)
    if num_relevant == 0:
        return 0.0
    hits = 0
    total = 0.0
    for rank, doc in enumerate(ranking[:k], start=1):
        if judgements.get(doc, 0) >= 1:
            hits += 1
            total += hits / rank
    return total / num_relevant


def _reciprocal_rank_at(ranking: Sequence[str], judgements: _Judgements, k: int) -> float:
    """``1 / rank`` of the first relevant doc in the top ``k``, else 0.

    The measure BEIR reports as ``MRR@k`` and ir_measures as ``RR@k``; trec_eval's ``recip_rank`` is
    the same without a cut. Ranked in trec_eval order like every measure here: ir_measures computes
    ``RR@k`` with its MS MARCO provider, which breaks ties by doc id *ascending*, so on runs with
    tied scores it can differ from this (and from trec_eval ``recip_rank``).
    """
    for rank, doc in enumerate(ranking[:k], start=1):
        if judgements.get(doc, 0) >= 1:
            return 1.0 / rank
    return 0.0


def _precision_at(ranking: Sequence[str], judgements: _Judgements, k: int) -> float:
    """trec_eval ``P.k``: relevant docs in the top ``k`` / ``k`` (``k``, even when fewer were retrieved)."""
    return sum(1 for doc in ranking[:k] if judgements.get(doc, 0) >= 1) / k


_MEASURES: dict[str, _Measure] = {  # the keys of harness.metrics.measures.RANKING_LABELS
    "ndcg": _ndcg_at,
    "recall": _recall_at,
    "map": _average_precision_at,
    "mrr": _reciprocal_rank_at,
    "precision": _precision_at,
}


def _check_cutoff(k: int) -> None:
    if k < 1:
        raise ValueError(f"cut-off k must be >= 1, got {k}")


def _per_query(qrels: Qrels, run: Run, k: int, measure: _Measure) -> dict[str, float]:
    _check_cutoff(k)
    return {qid: measure(ranked(run.get(qid, {})), judged, k) for qid, judged in qrels.items()}


def ndcg(qrels: Qrels, run: Run, k: int) -> dict[str, float]:
    """nDCG@k of every qrels query, as trec_eval ``ndcg_cut.k`` (graded gain, log2 discount)."""
    return _per_query(qrels, run, k, _ndcg_at)


def recall(qrels: Qrels, run: Run, k: int) -> dict[str, float]:
    """Recall@k of every qrels query, as trec_eval ``recall.k`` (relevant = grade >= 1)."""
    return _per_query(qrels, run, k, _recall_at)


def average_precision(qrels: Qrels, run: Run, k: int) -> dict[str, float]:
    """AP@k of every qrels query, as trec_eval ``map_cut.k`` (divided by all relevant docs)."""
    return _per_query(qrels, run, k, _average_precision_at)


def reciprocal_rank(qrels: Qrels, run: Run, k: int) -> dict[str, float]:
    """Reciprocal rank of the first relevant doc within the top k (BEIR ``MRR@k``), in trec_eval order."""
    return _per_query(qrels, run, k, _reciprocal_rank_at)


def precision(qrels: Qrels, run: Run, k: int) -> dict[str, float]:
    """Precision@k of every qrels query, as trec_eval ``P.k``."""
    return _per_query(qrels, run, k, _precision_at)


def _parse_retrieval_metric(name: str) -> tuple[_Measure, int]:
    try:
        measure, k = parse_metric_name(name)
    except ValueError as error:
        raise ValueError(f"unknown retrieval metric {name!r}: {error}") from None
    if measure not in _MEASURES or k is None:
        known = ", ".join(f"{m}@<k>" for m in _MEASURES)
        raise ValueError(f"unknown retrieval metric {name!r}; known: {known}")
    return _MEASURES[measure], k


def retrieval_scores(
    qrels: Qrels, run: Run, metrics: Sequence[str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query values of ``metrics`` (``ndcg@10``, ``recall@100`` ...) under ``trec_eval -c``.

    Returns:
        ``(aggregate, per_item)``: metric -> arithmetic mean over all qrels queries, and
        metric -> query id -> value.

    Raises:
        ValueError: a metric name is not ``ndcg|recall|map|mrr|precision@<k>``, or the qrels are
            empty (there is nothing to average).
    """
    parsed = {name: _parse_retrieval_metric(name) for name in metrics}
    if not qrels:
        raise ValueError("the qrels hold no query; a mean over no queries is undefined")
    depth = max((k for _, k in parsed.values()), default=0)
    per_item: dict[str, dict[str, float]] = {name: {} for name in parsed}
    for qid, judged in qrels.items():
        ranking = ranked(run.get(qid, {}))[:depth]
        for name, (measure, k) in parsed.items():
            per_item[name][qid] = measure(ranking, judged, k)
    aggregate = {name: math.fsum(values.values()) / len(values) for name, values in per_item.items()}
    return aggregate, per_item


def drop_self_hits(run: Run) -> Run:
    """The run without hits whose doc id equals the query id.

    For corpora whose queries are also documents (ArguAna, Quora): Pyserini ``--remove-query``,
    BEIR ``EvaluateRetrieval.evaluate(..., ignore_identical_ids=True)``.
    """
    return {qid: {doc: score for doc, score in hits.items() if doc != qid} for qid, hits in run.items()}


def truncate(run: Run, k: int) -> Run:
    """The top ``k`` hits of each query, chosen in trec_eval order (so ties at the cut are stable)."""
    _check_cutoff(k)
    return {qid: {doc: hits[doc] for doc in ranked(hits)[:k]} for qid, hits in run.items()}
