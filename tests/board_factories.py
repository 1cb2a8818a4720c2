"""Generated results files for the board's replicate and sweep tests (unit and AppTest).

Glue-like task results with replicates (one per seed, or per seed and fold) whose aggregate is their
exact mean, and beir runs of one model with layer x dimension variants, as ``harness run --layers
--dims`` writes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from factories import make_results, make_task_result

from harness.data.cards import fingerprint
from harness.results import Inputs, Replicate, ResultsFile, TaskResult

SEEDS = (1111, 2222, 3333, 4444, 5555)


def glue_result(
    task: str,
    values: Sequence[float],
    *,
    folds: int = 0,
    cap: int | None = None,
    variant: dict[str, int] | None = None,
) -> TaskResult:
    """A glue-like task result: one replicate per seed (or per seed and fold), accuracy their mean.

    With ``folds``, ``values`` are seed-major (seed 0's folds first), as the glue task writes them.
    """
    ids = [(seed, fold) for seed in SEEDS for fold in range(folds)] if folds else [(s, None) for s in SEEDS]
    assert len(ids) == len(values)
    replicates = [
        Replicate(seed=seed, fold=fold, metrics={"accuracy": value, "f1": 1 - value})
        for (seed, fold), value in zip(ids, values, strict=True)
    ]
    files = {"train.tsv": "a" * 64, "dev.tsv": "b" * 64}
    return TaskResult(
        task=task,
        task_version=1,
        split="cv" if folds else "dev",
        variant=dict(variant or {}),
        inputs=Inputs(
            id=task,
            files=files,
            fingerprint=fingerprint(files),
            counts={"train": 100, "eval": 50, "sentences": 150},
            verified=True,
        ),
        settings={"classifier": "logistic regression", "train_cap": cap, "cap_seed": 0 if cap else None},
        main_metric="accuracy",
        metrics={
            "accuracy": math.fsum(values) / len(values),
            "f1": math.fsum(1 - v for v in values) / len(values),
        },
        replicates=replicates,
        timings_s={"encode": 1.5, "probe": 3.0, "total": 4.5},
        peak_rss_mib=100.0,
    )


def glue_file(model_id: str, results: list[TaskResult]) -> ResultsFile:
    return make_results(model_id, suite="glue", results=results)


SST2_A = (0.80, 0.81, 0.82, 0.815, 0.805)
SST2_B = (0.70, 0.74, 0.72, 0.71, 0.73)
MR_A = tuple(0.75 + 0.01 * ((i * 7) % 5) for i in range(10))  # 5 seeds x 2 folds


LAYERS = (2, 4, 6)
DIMS = (32, 64, 128)


def score_of(layer: int | None, dim: int, task: str) -> float:
    """A made-up quality that grows with layer and dimension (nfcorpus lower than scifact)."""
    base = 0.3 if task == "beir/nfcorpus" else 0.5
    return round(base + 0.02 * (layer or 7) + 0.01 * math.log2(dim), 6)


def sweep_file(
    model_id: str,
    points: Sequence[tuple[int | None, int]],
    *,
    plain: bool = True,
    skip: Sequence[tuple[tuple[int | None, int], str]] = (),
    extra: Sequence[dict[str, int | str]] = (),
) -> ResultsFile:
    """One run of a model and its sweep points on two beir tasks, as ``harness run --layers --dims`` does."""
    results = []
    for task in ("beir/scifact", "beir/nfcorpus"):
        if plain:
            results.append(make_task_result(task, score_of(None, 384, task) + 0.05))
        for layer, dim in points:
            if ((layer, dim), task) in skip:
                continue
            variant: dict[str, int | str] = {"dim": dim} if layer is None else {"layer": layer, "dim": dim}
            found = make_task_result(task, score_of(layer, dim, task))
            results.append(found.model_copy(update={"variant": variant}))
        for variant in extra:
            results.append(make_task_result(task, 0.1).model_copy(update={"variant": dict(variant)}))
    file = make_results(model_id, revision="c" * 40, results=results)
    model = file.model.model_copy(update={"parameters": {"pooling": "mean", "dimension": 384}})
    return file.model_copy(update={"model": model})
