"""Generated results files for the board at scale: models x revisions x tasks, valid and seeded.

Each file is one run of one model revision on one task of a registered suite, as ``harness run``
would write it: schema-valid, written by ``write_results`` (so its name carries its digest), its
settings the task's own, its aggregates the exact means of its per-item values (retrieval) or its
per-pair predictions present (STS), so ``submit.check`` accepts it without local data. SciFact and
the STS tasks carry their data card's member hashes and counts (verified); the other BEIR tasks have
no pinned checksums here, so their files say ``verified: false`` (accepted, shown as unverified).

The set is a pure function of its size and seed: the same call writes the same bytes, and the file
modification times are set in generation order, so ``harness ingest`` stores them in that order.
Run as a script (``python tests/scale.py FOLDER [N_RUNS]``) to write a set by hand.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import registry
from harness.data.cards import fingerprint
from harness.results import (
    Environment,
    Hardware,
    HarnessRecord,
    Inputs,
    ItemValues,
    ModelRecord,
    Predictions,
    ResultsFile,
    TaskResult,
    write_results,
)

BEIR_TASKS = (
    "scifact", "trec-covid", "nfcorpus", "nq", "hotpotqa", "fiqa",
    "arguana", "webis-touche2020", "quora", "dbpedia-entity", "scidocs", "climate-fever",
)  # fmt: skip
"""12 BEIR datasets: SciFact verified against its card, the others unverified (no pinned checksums)."""
STS_TASKS = ("stsb", "sts12", "sts13", "sts14", "sts15", "sts16", "sickr", "sickr-test")
"""Every STS dataset, each verified against its card."""
N_MODELS = 50
N_REVISIONS = 10
N_TASKS = len(BEIR_TASKS) + len(STS_TASKS)
FULL = N_MODELS * N_REVISIONS * N_TASKS
"""10,000 runs: 50 models x 10 revisions x 20 tasks, one file each."""
UNVERIFIED_QUERIES = 50
"""Queries of an unverified BEIR result (its counts are its own: no card to hold them to)."""
START = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = ("dense", "sparse", "hybrid")


@dataclass(frozen=True)
class Run:
    """One generated file: which model, revision and task, in generation (and ingest) order."""

    number: int
    model: int
    revision: int
    suite: str
    dataset: str


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def model_id(model: int) -> str:
    return f"scale/model-{model:02d}"


def revision_of(model: int, revision: int) -> str:
    """A 40-hex revision, as a hub commit reads."""
    return _sha(f"{model}/{revision}")[:40]


def plan(n_runs: int = FULL) -> list[Run]:
    """The first ``n_runs`` runs, revision-major: every model and task of revision 0, then revision 1..."""
    runs: list[Run] = []
    tasks = [("beir", name) for name in BEIR_TASKS] + [("sts", name) for name in STS_TASKS]
    for revision in range(N_REVISIONS):
        for model in range(N_MODELS):
            for suite, dataset in tasks:
                if len(runs) == n_runs:
                    return runs
                runs.append(Run(len(runs), model, revision, suite, dataset))
    return runs


def _retrieval(dataset: str, rng: random.Random, skill: float) -> TaskResult:
    task = registry.SUITES["beir"].task(dataset, "test")
    card = task.card
    assert card is not None
    members = dict(card.splits["test"].members)
    if members:
        files, counts, verified = members, dict(card.splits["test"].counts), True
    else:
        files = {
            name: _sha(f"beir/{dataset}/{name}")
            for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")
        }
        counts = {"corpus": 10_000, "queries": UNVERIFIED_QUERIES, "qrels": UNVERIFIED_QUERIES}
        verified = False
    ids = [str(number) for number in range(1, counts["queries"] + 1)]
    ndcg = {qid: min(1.0, max(0.0, rng.gauss(skill, 0.2))) for qid in ids}
    recall = {qid: min(1.0, value + 0.25 * rng.random()) for qid, value in ndcg.items()}
    index_s, search_s = 5.0 + 20 * rng.random(), 0.5 + 5 * rng.random()
    return TaskResult(
        task=task.name,
        task_version=task.version,
        split="test",
        inputs=Inputs(
            id=card.id, files=files, fingerprint=fingerprint(files), counts=counts, verified=verified
        ),
        settings=task.settings(),
        main_metric=task.main_metric,
        metrics={
            name: math.fsum(values.values()) / len(values)
            for name, values in (("ndcg@10", ndcg), ("recall@100", recall))
        },
        per_item=ItemValues(kind="query", values={"ndcg@10": ndcg, "recall@100": recall}),
        timings_s={
            "load": 0.5,
            "index": index_s,
            "search": search_s,
            "evaluate": 0.1,
            "total": 0.6 + index_s + search_s,
        },
        peak_rss_mib=512.0,
        sizes_bytes={"index": rng.randrange(1 << 20, 1 << 30)},
    )


def _sts(dataset: str, rng: random.Random, skill: float) -> TaskResult:
    task = registry.SUITES["sts"].task(dataset, "test")
    card = task.card
    assert card is not None
    files = dict(card.splits["test"].members)
    counts = dict(card.splits["test"].counts)
    similarities = [round(rng.uniform(-1.0, 1.0), 6) for _ in range(counts["pairs"])]
    encode_s = 1.0 + 10 * rng.random()
    spearman = min(1.0, max(-1.0, rng.gauss(skill, 0.05)))
    return TaskResult(
        task=task.name,
        task_version=task.version,
        split="test",
        inputs=Inputs(id=card.id, files=files, fingerprint=fingerprint(files), counts=counts, verified=True),
        settings=task.settings(),
        main_metric=task.main_metric,
        metrics={"spearman": spearman, "pearson": spearman - 0.02},
        predictions=Predictions(kind="similarity", item_kind="pair", values=similarities),
        timings_s={"load": 0.1, "encode": encode_s, "evaluate": 0.01, "total": 0.11 + encode_s},
        peak_rss_mib=256.0,
    )


def results_of(run: Run, seed: int = 0) -> ResultsFile:
    """The results file of one planned run (a pure function of the run and the seed)."""
    rng = random.Random(f"{seed}/{run.model}/{run.revision}/{run.dataset}")
    skill = 0.3 + 0.4 * ((run.model * 7 + run.revision) % 50) / 50
    result = (_retrieval if run.suite == "beir" else _sts)(run.dataset, rng, skill)
    dimension = 128 * (1 + run.model % 6)
    return ResultsFile(
        created_at=START + timedelta(minutes=run.number),
        harness=HarnessRecord(version="0.1.0", git_commit="0" * 40, git_dirty=False),
        model=ModelRecord(
            id=model_id(run.model),
            kind=KINDS[run.model % len(KINDS)],
            source="hub",
            revision=revision_of(run.model, run.revision),
            weights_sha256=_sha(f"weights/{run.model}/{run.revision}"),
            n_parameters=1_000_000 * (1 + run.model),
            parameters={"pooling": "mean", "normalize": True, "dimension": dimension},
        ),
        environment=Environment(
            python="3.11.9",
            platform="Linux-6.8-x86_64",
            packages={"torch": "2.13.0"},
            hardware=Hardware(cpu="AMD EPYC 7B13", logical_cpus=2, memory_gib=24, torch_threads=2),
        ),
        seed=seed,
        suite=run.suite,
        results=[result],
    )


def generate(folder: Path, n_runs: int = FULL, seed: int = 0) -> list[Path]:
    """Write the first ``n_runs`` planned runs under ``folder`` (``write_results`` layout), in order.

    Modification times are one second apart in plan order, so ingest (oldest first) follows the plan.
    """
    paths = []
    base = 1_767_225_600  # 2026-01-01 UTC, as a file time
    for run in plan(n_runs):
        path = write_results(results_of(run, seed), folder)
        os.utime(path, (base + run.number, base + run.number))
        paths.append(path)
    return paths


def blocks(paths: list[Path], size: int) -> Iterator[list[Path]]:
    """``paths`` in consecutive blocks of ``size`` (the last may be shorter)."""
    for start in range(0, len(paths), size):
        yield paths[start : start + size]


if __name__ == "__main__":
    target = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else FULL
    written = generate(target, count)
    sys.stdout.write(f"{len(written)} results files under {target}\n")
