"""What a task is: ``load() -> data`` and ``evaluate(model, data, timer) -> Scores``.

A task owns its metrics and how they are computed; the runner only checks that the model is of the
task's ``model_type`` and collects the scores with the data's ``DatasetRecord`` and the timings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.results import DatasetRecord
from harness.timing import Timer
from harness.types import JSONValue


@dataclass(frozen=True)
class Scores:
    """Aggregate metrics at full precision plus per-item values (metric -> item id -> value)."""

    metrics: dict[str, float]
    per_item: dict[str, dict[str, float]] = field(default_factory=dict)
    index_bytes: int | None = None


class TaskData(Protocol):
    """Whatever ``Task.load`` returns carries the record of the files it was read from."""

    @property
    def record(self) -> DatasetRecord: ...


class Task(Protocol):
    """A named, versioned evaluation; ``name`` is ``suite/dataset`` in lower-kebab case.

    ``version`` changes whenever data handling or scoring changes; only equal versions compare.
    The runner checks ``isinstance(model, model_type)`` before any data is read.
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def split(self) -> str: ...

    @property
    def main_metric(self) -> str: ...

    @property
    def model_type(self) -> tuple[type, ...]: ...

    def settings(self) -> dict[str, JSONValue]:
        """Settings that change the scores (k, self-hit removal); recorded in the results file."""
        ...

    def load(self) -> TaskData: ...

    def evaluate(self, model: Any, data: Any, timer: Timer) -> Scores: ...
