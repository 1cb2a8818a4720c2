"""The ``mteb`` suite: MTEB tasks run through the mteb package, recorded as our results (``mteb/<name>``).

``harness run --suite mteb --tasks SciFact,STS12 --model all-MiniLM-L6-v2`` runs MTEB's own task
classes (their data from the local Hugging Face cache, or the hub when reachable: mteb loads it);
``--tasks module:Class`` runs any importable mteb task class instead, such as the local ones in
``local.py`` (real SciFact and STS-B files under the data root, offline). Only Retrieval and STS
tasks are mapped (``task.MEASURES``). Like the kernels and circuit suites, tasks are listed by name:
there is no default set (MTEB has hundreds of tasks, most needing the hub), so ``--tasks`` is
required. Nothing here imports mteb until a task is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import SettingError
from harness.models.protocols import Encoder
from harness.suites.base import AnyTask, BoardSpec, TaskSelection
from harness.suites.mteb.task import MEASURES, MtebTask, describe, task_slug

LOCAL_TASKS = ("harness.suites.mteb.local:LocalSTSBenchmark", "harness.suites.mteb.local:LocalSciFactSubset")
"""The local task classes shipped with the harness (``harness list suites`` names them)."""


@dataclass(frozen=True)
class MtebSuite:
    """A ``Suite`` of MTEB tasks named on the command line (``--tasks``)."""

    name: str = "mteb"
    description: str = (
        "MTEB Retrieval and STS tasks through the mteb package (--tasks NAME,... or module:Class), "
        "scores mapped to ours"
    )
    model_types: tuple[type, ...] = (Encoder,)
    board: BoardSpec = BoardSpec(plots=("per_task",))

    def datasets(self) -> tuple[str, ...]:
        return LOCAL_TASKS

    def task(self, dataset: str, split: str) -> AnyTask:
        """``SciFact``, ``harness.suites.mteb.local:LocalSTSBenchmark``, or a stored name (``scifact``).

        Raises:
            SettingError: ``datasets``: unknown or unmapped task; ``split``: not one of its eval splits.
        """
        target = _target(dataset)
        described = describe(target)
        if described.type not in MEASURES:
            raise SettingError(
                "datasets",
                f"{described.name} is an mteb {described.type} task; mapped: {', '.join(MEASURES)}",
            )
        if split not in described.eval_splits:
            raise SettingError("split", f"mteb/{task_slug(described.name)} has no eval split {split!r}")
        return MtebTask(target, split)

    def select(self, data_root: Path, datasets: Sequence[str] | None, split: str | None) -> TaskSelection:
        if not datasets:
            raise SettingError(
                "datasets", "name the MTEB tasks: --tasks SciFact,STS12 or --tasks module:Class"
            )
        return TaskSelection(tuple(self.task(name, split or "test") for name in datasets))

    def runs(self, task: AnyTask, model: object) -> bool:
        return isinstance(model, Encoder)


def _target(dataset: str) -> str:
    """A stored task name (``localstsbenchmark``, from ``mteb/<slug>``) back to what runs it."""
    for local in LOCAL_TASKS:
        if dataset == task_slug(local.rpartition(":")[2]):
            return local
    return dataset


SUITE = MtebSuite()
