"""Generated results files for the board's replicate and sweep tests (unit and AppTest).

Glue-like task results with replicates (one per seed, or per seed and fold) whose aggregate is their
exact mean, beir runs of one model with layer x dimension variants, as ``harness run --layers
--dims`` writes them, and ``kernels`` results (attention shapes, quantisers per bytes, in-model cost).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

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


# --- kernels ------------------------------------------------------------------------------------

KERNEL_SEEDS = (0, 1, 2)


def kernel_attention_result(
    n: int,
    speedup: float,
    rel_error: float,
    *,
    causal: bool = False,
    gpu: bool = False,
    rel_error_random: float | None = None,
    seconds_exact: float = 1.0,
    peak: tuple[float, float] | None = None,
) -> TaskResult:
    """An attention task result as ``kernels/attention-[gpu-][causal-]n<N>`` writes it (generated inputs).

    ``seconds`` is ``seconds_exact / speedup``; ``peak`` (kernel, exact) adds the peak MiB pair.
    """
    name = f"kernels/attention-{'gpu-' if gpu else ''}{'causal-' if causal else ''}n{n}"
    heads, dtype = (32, "bfloat16") if gpu else (8, "float32")
    generator: dict[str, Any] = {"random": {"shape": [1, heads, n, 64]}, "real": {"corpus": "beir/scifact"}}
    metrics = {
        "speedup": speedup,
        "rel_error": rel_error,
        "rel_error_random": rel_error if rel_error_random is None else rel_error_random,
        "seconds": seconds_exact / speedup,
        "seconds_exact": seconds_exact,
    }
    if peak is not None:
        metrics |= {"peak_mib": peak[0], "peak_mib_exact": peak[1]}
    return TaskResult(
        task=name,
        task_version=1,
        split="test",
        inputs=Inputs(
            id=name,
            generator=generator,
            seed=0,
            fingerprint=fingerprint({"generator": "a" * 64}),
            counts={"tokens": n, "heads": heads},
            verified=False,
        ),
        settings={
            "batch": 1,
            "heads": heads,
            "head_dim": 64,
            "n": n,
            "causal": causal,
            "dtype": dtype,
            "device": "cuda" if gpu else "cpu",
        },
        main_metric="speedup",
        metrics=metrics,
        timings_s={"total": 3 * seconds_exact},
        peak_rss_mib=300.0,
    )


def kernel_pq_result(code_bytes: int, recalls: Sequence[float], *, mse: float = 0.01) -> TaskResult:
    """A quantisation task result (``kernels/pq-scifact-<B>b``): one replicate per seed, metrics their means.

    Per seed: recall@10 from ``recalls``, recall@1 = 0.6 x it, recall@100 = min(1, it + 0.1), nDCG@10
    = 0.5 x it, MSE ``mse`` x (1 + seed / 10), speed-up 1.5 + seed / 10 (the aggregate is the median).
    """
    name = f"kernels/pq-scifact-{code_bytes}b"
    assert len(recalls) == len(KERNEL_SEEDS)
    replicates = [
        Replicate(
            seed=seed,
            metrics={
                "recall@1": 0.6 * recall,
                "recall@10": recall,
                "recall@100": min(1.0, recall + 0.1),
                "mse": mse * (1 + seed / 10),
                "ndcg@10": 0.5 * recall,
                "speedup": 1.5 + seed / 10,
                "seconds": 2.0,
            },
        )
        for seed, recall in zip(KERNEL_SEEDS, recalls, strict=True)
    ]
    metrics = {
        name: math.fsum(r.metrics[name] for r in replicates) / len(replicates)
        for name in replicates[0].metrics
    }
    metrics["speedup"] = statistics.median(r.metrics["speedup"] for r in replicates)
    files = {"corpus.jsonl": "c" * 64, "queries.jsonl": "d" * 64}
    return TaskResult(
        task=name,
        task_version=1,
        split="test",
        inputs=Inputs(
            id=name,
            files=files,
            fingerprint=fingerprint(files),
            counts={"corpus": 5183, "queries": 1109},
            verified=True,
        ),
        settings={"code_bytes": code_bytes, "seeds": list(KERNEL_SEEDS)},
        main_metric="recall@10",
        metrics=metrics,
        replicates=replicates,
        sizes_bytes={"codes": code_bytes * 5183, "float": 5183 * 384 * 4},
        timings_s={"total": 6.0},
        peak_rss_mib=400.0,
    )


def kernel_in_model_result(value: float, cost: float) -> TaskResult:
    """``kernels/minilm-stsb``: the swapped model's Spearman and its cost (the plain model's minus it)."""
    files = {"sts-test.csv": "e" * 64}
    return TaskResult(
        task="kernels/minilm-stsb",
        task_version=1,
        split="test",
        inputs=Inputs(
            id="kernels/minilm-stsb",
            files=files,
            fingerprint=fingerprint(files),
            counts={"pairs": 1379, "sentences": 2758},
            verified=True,
        ),
        settings={"scored_as": "sts/stsb"},
        main_metric="spearman",
        metrics={"spearman": value, "pearson": value - 0.01, "cost": cost},
        timings_s={"total": 10.0},
        peak_rss_mib=800.0,
    )


def kernel_file(model_id: str, results: list[TaskResult], *, origin: str = "local") -> ResultsFile:
    """A ``kernels`` run of ``model_id`` (kind ``kernel``) holding ``results``."""
    file = make_results(model_id, suite="kernels", results=results)
    model = file.model.model_copy(update={"kind": "kernel", "n_parameters": None, "parameters": {}})
    return file.model_copy(update={"model": model, "origin": origin})
