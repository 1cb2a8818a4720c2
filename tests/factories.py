"""Valid test records: a ``ResultsFile`` whose aggregates are the means of its per-item values."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from harness.data.cards import fingerprint
from harness.results import (
    Environment,
    Hardware,
    HarnessRecord,
    Inputs,
    ItemValues,
    MetricCheck,
    ModelRecord,
    Predictions,
    ResultsFile,
    TaskResult,
    Verification,
)
from harness.suites.beir.cards import SCIFACT

CREATED_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _spread(mean: float) -> dict[str, float]:
    """Two per-query values whose mean is ``mean`` (and which stay inside [0, 1])."""
    delta = min(mean, 1.0 - mean) / 2
    return {"1": mean - delta, "2": mean + delta}


def make_task_result(
    task: str = "beir/scifact",
    ndcg: float = 0.5,
    per_item: Mapping[str, float] | None = None,
    *,
    task_version: int = 1,
    split: str = "test",
    verified: bool = True,
    queries: int = 300,
    search_s: float = 2.0,
) -> TaskResult:
    """One retrieval result; nDCG@10 is the mean of ``per_item`` when given (``ndcg`` is then unused)."""
    items = dict(per_item) if per_item is not None else _spread(ndcg)
    mean = math.fsum(items.values()) / len(items)
    recall = {key: min(1.0, value + 0.25) for key, value in items.items()}
    qrels = f"qrels/{split}.tsv"
    files = {name: _sha(f"{task}/{name}") for name in ("corpus.jsonl", "queries.jsonl", qrels)}
    return TaskResult(
        task=task,
        task_version=task_version,
        split=split,
        inputs=Inputs(
            id=task,
            files=files,
            fingerprint=fingerprint(files),
            counts={"corpus": 5183, "queries": queries, "qrels": 339},
            verified=verified,
        ),
        settings={"k": 1000, "remove_self_hits": True, "trec_eval": "-c", "ties": "doc id desc"},
        main_metric="ndcg@10",
        metrics={"ndcg@10": mean, "recall@100": math.fsum(recall.values()) / len(recall)},
        per_item=ItemValues(kind="query", values={"ndcg@10": items, "recall@100": recall}),
        timings_s={"load": 0.5, "index": 1.0, "search": search_s, "evaluate": 0.1, "total": 3.6 + search_s},
        peak_rss_mib=512.0,
    )


def make_results(
    model_id: str = "m",
    task: str = "beir/scifact",
    ndcg: float = 0.5,
    created_at: datetime = CREATED_AT,
    per_item: Mapping[str, float] | None = None,
    *,
    scores: Mapping[str, float] | None = None,
    revision: str | None = None,
    suite: str = "beir",
    seed: int = 0,
    task_version: int = 1,
    verified: bool = True,
    queries: int = 300,
    search_s: float = 2.0,
    results: list[TaskResult] | None = None,
) -> ResultsFile:
    """A fully valid results file for one task (``task``/``ndcg``) or several (``scores``: task -> nDCG@10).

    ``results`` replaces the task results outright (to build files the store must refuse).
    """
    if results is None:
        pairs = dict(scores) if scores is not None else {task: ndcg}
        results = [
            make_task_result(
                name,
                value,
                per_item if scores is None else None,
                task_version=task_version,
                verified=verified,
                queries=queries,
                search_s=search_s,
            )
            for name, value in pairs.items()
        ]
    return ResultsFile(
        created_at=created_at,
        harness=HarnessRecord(version="0.1.0", git_commit="0" * 40, git_dirty=False),
        model=ModelRecord(
            id=model_id,
            kind="dense",
            source="hub" if revision else "builtin",
            revision=revision,
            weights_sha256=_sha(model_id) if revision else None,
            n_parameters=1000,
            parameters={"pooling": "mean", "normalize": True},
        ),
        environment=Environment(
            python="3.11.9",
            platform="Linux-6.8-x86_64",
            packages={"torch": "2.13.0", "pyserini": None},
            hardware=Hardware(cpu="AMD EPYC 7B13", logical_cpus=2, memory_gib=24, torch_threads=2),
        ),
        seed=seed,
        suite=suite,
        results=results,
    )


def make_submission(
    model_id: str = "m",
    seed: int = 0,
    *,
    queries: int = 300,
    verified: bool = True,
    created_at: datetime = CREATED_AT,
    query_ids: Sequence[str] | None = None,
) -> ResultsFile:
    """A results file ``harness submit`` accepts: one value per query for each metric, means exact.

    ``verified`` files carry the SciFact card's member hashes (so they are verified); the others carry
    hashes of other bytes and say ``verified: false`` (accepted, shown as unverified). Query ids are
    "1" .. ``queries`` unless ``query_ids`` names them (then ``queries`` is their number): a check
    against the local SciFact qrels needs its real test query ids.
    """
    ids = list(query_ids) if query_ids is not None else [str(query) for query in range(1, queries + 1)]
    queries = len(ids)
    items = {qid: ((number * 37 + seed) % 101) / 100 for number, qid in enumerate(ids, start=1)}
    results = make_results(
        model_id, per_item=items, queries=queries, verified=verified, seed=seed, created_at=created_at
    )
    if not verified:
        return results
    files = dict(SCIFACT.splits["test"].members)
    (result,) = results.results
    inputs = result.inputs.model_copy(update={"files": files, "fingerprint": fingerprint(files)})
    return results.model_copy(update={"results": [result.model_copy(update={"inputs": inputs})]})


def make_verification(
    reproduced: bool = True,
    *,
    task: str = "beir/scifact",
    metric: str = "ndcg@10",
    claimed: float = 0.5,
    now: float | None = None,
    at: datetime = CREATED_AT,
) -> Verification:
    """One ``harness verify`` record: ``reproduced`` grades the one check OK, otherwise FAIL (off by 0.1)."""
    value = now if now is not None else (claimed if reproduced else claimed - 0.1)
    check = MetricCheck(
        task=task,
        split="test",
        metric=metric,
        claimed=claimed,
        now=value,
        grade="OK" if reproduced else "FAIL",
    )
    return Verification(
        at=at,
        harness=HarnessRecord(version="0.1.0", git_commit="1" * 40, git_dirty=False),
        hardware=Hardware(cpu="Intel Xeon", logical_cpus=4, memory_gib=16),
        reproduced=reproduced,
        checks=[check],
    )


def make_sts_results(
    model_id: str = "m",
    similarities: Sequence[float] = (0.9, 0.1, 0.5, 0.7, 0.3),
    *,
    task: str = "sts/stsb",
    spearman: float = 0.8,
    pearson: float = 0.75,
    sentences: int = 10,
    encode_s: float = 0.5,
    revision: str | None = None,
    created_at: datetime = CREATED_AT,
) -> ResultsFile:
    """A results file of the ``sts`` suite with one task: per-pair similarities, no per-item values.

    The correlations are given, not recomputed (the store and the board do not recompute them; only
    ``submit`` does, against the local gold scores).
    """
    values = list(similarities)
    files = {"sts-test.csv": _sha(f"{task}/sts-test.csv")}
    result = TaskResult(
        task=task,
        task_version=1,
        split="test",
        inputs=Inputs(
            id=task,
            files=files,
            fingerprint=fingerprint(files),
            counts={"pairs": len(values), "sentences": sentences},
            verified=True,
        ),
        settings={"similarity": "cosine", "unscored_pairs": "skipped"},
        main_metric="spearman",
        metrics={"spearman": spearman, "pearson": pearson},
        predictions=Predictions(kind="similarity", item_kind="pair", values=values),
        timings_s={"load": 0.1, "encode": encode_s, "evaluate": 0.01, "total": 0.11 + encode_s},
        peak_rss_mib=256.0,
    )
    return make_results(model_id, suite="sts", revision=revision, created_at=created_at, results=[result])


def as_schema_v1(results: ResultsFile) -> dict[str, Any]:
    """The document as a schema-1 harness wrote it: ``dataset``, bare ``per_item``, ``index_bytes``.

    No ``origin`` and no ``verifications`` (v1 files carried neither); retrieval results only (v1 had
    no predictions, replicates or variants).
    """
    document: dict[str, Any] = results.model_dump(mode="json", exclude={"origin", "verifications"})
    document["schema_version"] = 1
    upgraded = []
    for result in document["results"]:
        inputs = {k: v for k, v in result.pop("inputs").items() if k not in ("generator", "seed")}
        per_item = result.pop("per_item")
        sizes = result.pop("sizes_bytes")
        for name in ("variant", "predictions", "replicates"):
            result.pop(name)
        result["dataset"] = inputs
        if per_item is not None:
            result["per_item"] = per_item["values"]
        if "index" in sizes:
            result["index_bytes"] = sizes["index"]
        upgraded.append(result)
    document["results"] = upgraded
    return document
