"""Valid test records: a ``ResultsFile`` whose aggregates are the means of its per-item values."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import UTC, datetime

from harness.data.cards import CARDS, fingerprint
from harness.results import (
    DatasetRecord,
    Environment,
    Hardware,
    HarnessRecord,
    ModelRecord,
    ResultsFile,
    TaskResult,
)

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
        dataset=DatasetRecord(
            id=task,
            files=files,
            fingerprint=fingerprint(files),
            counts={"corpus": 5183, "queries": queries, "qrels": 339},
            verified=verified,
        ),
        settings={"k": 1000, "remove_self_hits": True, "trec_eval": "-c", "ties": "doc id desc"},
        main_metric="ndcg@10",
        metrics={"ndcg@10": mean, "recall@100": math.fsum(recall.values()) / len(recall)},
        per_item={"ndcg@10": items, "recall@100": recall},
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
) -> ResultsFile:
    """A results file ``harness submit`` accepts: one value per query for each metric, means exact.

    ``verified`` files carry the SciFact card's member hashes (so they are verified); the others carry
    hashes of other bytes and say ``verified: false`` (accepted, shown as unverified).
    """
    items = {str(query): ((query * 37 + seed) % 101) / 100 for query in range(1, queries + 1)}
    results = make_results(
        model_id, per_item=items, queries=queries, verified=verified, seed=seed, created_at=created_at
    )
    if not verified:
        return results
    card = CARDS["beir/scifact"]
    files = {name: sha for name, sha in card.members.items() if name != "qrels/train.tsv"}
    (result,) = results.results
    dataset = result.dataset.model_copy(update={"files": files, "fingerprint": fingerprint(files)})
    return results.model_copy(update={"results": [result.model_copy(update={"dataset": dataset})]})
