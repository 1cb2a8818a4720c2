"""Run one model over a suite's tasks and assemble the ``ResultsFile``; the data flow of DESIGN §1.

The runner checks that the model suits each task before any data is read, seeds every generator,
times each phase, and reports progress through a callback so that only the CLI prints.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from functools import partial

import numpy as np

from harness.errors import InputError
from harness.models.protocols import Encoder, Retriever
from harness.provenance import environment, harness_record
from harness.results import ModelRecord, ResultsFile, TaskResult
from harness.tasks.base import Task
from harness.timing import Timer, peak_rss_mib

OnTask = Callable[[str, int, int], None]
OnPhase = Callable[[str, str], None]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def check_compatible(model: Encoder | Retriever, tasks: Sequence[Task]) -> None:
    for task in tasks:
        if not isinstance(model, task.model_type):
            wanted = " or ".join(t.__name__ for t in task.model_type)
            raise InputError(
                "--model", "", f"{model.info.id} ({model.info.kind}) cannot run {task.name}: needs {wanted}"
            )


def run(
    model: Encoder | Retriever,
    tasks: Sequence[Task],
    suite: str,
    seed: int = 0,
    device: str = "cpu",
    on_task: OnTask | None = None,
    on_phase: OnPhase | None = None,
) -> ResultsFile:
    check_compatible(model, tasks)
    seed_everything(seed)
    results = []
    for number, task in enumerate(tasks, start=1):
        if on_task:
            on_task(task.name, number, len(tasks))
        timer = Timer(on_phase=partial(on_phase, task.name) if on_phase else None)
        with timer("load"):
            data = task.load()
        scores = task.evaluate(model, data, timer)
        results.append(
            TaskResult(
                task=task.name,
                task_version=task.version,
                split=task.split,
                dataset=data.record,
                settings=task.settings(),
                main_metric=task.main_metric,
                metrics=scores.metrics,
                per_item=scores.per_item,
                timings_s={**timer.phases, "total": timer.total()},
                peak_rss_mib=peak_rss_mib(),
                index_bytes=scores.index_bytes,
            )
        )
    info = model.info
    return ResultsFile(
        created_at=datetime.now(UTC),
        harness=harness_record(),
        model=ModelRecord(**asdict(info)),
        environment=environment(device),
        seed=seed,
        suite=suite,
        results=results,
    )
