"""Run one model over a suite's tasks and assemble the ``ResultsFile``; the data flow of DESIGN §1.

The runner checks that the model is of a type the suite accepts before any data is read, seeds
every generator, times each phase, and reports progress through callbacks so that only the CLI
prints. It knows no suite: each task loads its own inputs and fills the slots of ``Scores``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from harness.errors import SettingError
from harness.models.protocols import CacheAware, Encoder, Retriever, StageTimed
from harness.models.sweep import Point, Sweep
from harness.provenance import environment, harness_record
from harness.results import ModelRecord, Predictions, ResultsFile, RunRef, TaskResult, Variant, variant_key
from harness.results.runs import RankedRun
from harness.suites.base import AnyTask, Suite, Task, TaskData
from harness.timing import Timer, peak_rss_mib

OnTask = Callable[[str, int, int], None]
OnPhase = Callable[[str, str], None]
RunSink = Callable[[str, RankedRun], RunRef]
"""``--save-run``: given a task's name and its scored run, keep the run (a TREC file) and say where."""
Model = Encoder | Retriever

DataT = TypeVar("DataT", bound=TaskData)
ModelT = TypeVar("ModelT")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def check_compatible(model: Model, suite: Suite) -> None:
    """The model is one of the types the suite runs (a sparse retriever cannot run STS)."""
    if not isinstance(model, suite.model_types):
        wanted = " or ".join(t.__name__ for t in suite.model_types)
        raise SettingError(
            "model",
            f"{model.info.id} ({model.info.kind}) cannot run the {suite.name} suite: it needs {wanted}",
        )


def run_task(
    task: Task[DataT, ModelT], model: ModelT, data_root: Path, timer: Timer, save_run: RunSink | None = None
) -> TaskResult:
    """Load the task's inputs, evaluate the model on them, and record everything in a ``TaskResult``."""
    with timer("load"):
        data = task.load(data_root)
    return score_task(task, model, data, timer, save_run=save_run)


def score_task(
    task: Task[DataT, ModelT],
    model: ModelT,
    data: DataT,
    timer: Timer,
    variant: Variant | None = None,
    save_run: RunSink | None = None,
) -> TaskResult:
    """Evaluate the model (or one variant of it) on loaded inputs and record it in a ``TaskResult``.

    With ``save_run``, a task that hands out its scored run (retrieval) has it kept and referenced
    from ``predictions`` (kind "run"); without it the file is what it always was.
    """
    if isinstance(model, StageTimed):
        model.time_stages(timer)  # a pipeline times its stages as sub-phases of this task's phases
    scores = task.evaluate(model, data, timer)
    predictions = scores.predictions
    if save_run is not None and scores.run is not None and predictions is None:
        ref = save_run(task.name, scores.run)
        predictions = Predictions(kind="run", item_kind="query", values=[], run=ref)
    return TaskResult(
        task=task.name,
        task_version=task.version,
        split=task.split,
        variant=dict(variant or {}),
        inputs=data.inputs,
        settings=task.settings(),
        main_metric=task.main_metric,
        metrics=scores.metrics,
        per_item=scores.per_item,
        predictions=predictions,
        replicates=list(scores.replicates),
        timings_s={**timer.phases, "total": timer.total()},
        peak_rss_mib=peak_rss_mib(),
        sizes_bytes=scores.sizes_bytes,
    )


def sweep_task(
    task: Task[DataT, ModelT],
    sweep: Sweep,
    data_root: Path,
    on_phase: OnPhase | None = None,
    save_run: RunSink | None = None,
) -> list[TaskResult]:
    """Every point of a sweep on one task: inputs loaded once, each point its own ``TaskResult``.

    The first point's timings hold the load and the one forward pass; the others reuse the kept
    vectors, so their encode phases are recorded as cached.
    """
    results = []
    data: DataT | None = None
    for point in sweep.points:
        label = f"{task.name} [{variant_key(point.variant)}]"
        timer = Timer(on_phase=partial(on_phase, label) if on_phase else None, reused_items=sweep.served)
        if data is None:
            with timer("load"):
                data = task.load(data_root)
        encoder: Any = sweep.point(point)  # an Encoder; a suite taking Encoders types ModelT as one
        results.append(score_task(task, encoder, data, timer, point.variant, save_run))
    return results


def run(
    model: Model,
    suite: Suite,
    tasks: Sequence[AnyTask],
    data_root: Path,
    seed: int = 0,
    device: str = "cpu",
    on_task: OnTask | None = None,
    on_phase: OnPhase | None = None,
    points: Sequence[Point] = (),
    save_run: RunSink | None = None,
) -> ResultsFile:
    """Run ``model`` (or each of its sweep ``points``) over ``tasks`` and assemble the results file.

    ``save_run`` (``--save-run``) keeps each retrieval task's scored run (``score_task``).
    """
    check_compatible(model, suite)
    if points and not isinstance(model, Encoder):
        raise SettingError("model", f"{model.info.id} is not an encoder: it has no layers or dimensions")
    sweep = Sweep(model, points) if points and isinstance(model, Encoder) else None
    tasks = [task for task in tasks if suite.runs(task, model)]
    if not tasks:
        raise SettingError("datasets", f"none of the selected {suite.name} tasks is run by {model.info.id}")
    seed_everything(seed)
    results = []
    for number, task in enumerate(tasks, start=1):
        if on_task:
            on_task(task.name, number, len(tasks))
        if sweep is not None:
            results.extend(sweep_task(task, sweep, data_root, on_phase, save_run))
            continue
        timer = Timer(
            on_phase=partial(on_phase, task.name) if on_phase else None,
            reused_items=model.reused_items if isinstance(model, CacheAware) else None,
        )
        results.append(run_task(task, model, data_root, timer, save_run))
    info = model.info
    return ResultsFile(
        created_at=datetime.now(UTC),
        harness=harness_record(),
        model=ModelRecord(**asdict(info)),
        environment=environment(device),
        seed=seed,
        suite=suite.name,
        origin="local",
        results=results,
    )
