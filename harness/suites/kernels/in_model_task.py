"""``kernels/minilm-stsb`` and ``kernels/minilm-scifact``: what an attention kernel costs inside a real model.

The kernel (its in-model setting: minimum lengths lowered so that it engages on sentences and
abstracts) replaces attention in every layer of all-MiniLM-L6-v2 (``models/attention_swap.py``), and
the model is scored as ``sts/stsb`` or ``beir/scifact`` score it; the plain model is scored the same
way in the same run (its vectors come from the embedding cache when present). ``cost`` is the plain
model's main score minus the swapped one's (lower is better; 0: no loss).

The swapped model's own scores are checked as the wrapped task checks them (STS-B's Spearman is
recomputed from the file's similarities); ``cost`` needs the plain model's run, so a file's cost is
taken as measured, and only ``harness verify`` re-derives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.data.cards import DatasetCard
from harness.errors import FieldError
from harness.metrics.measures import Measure, measure
from harness.models.kernel_models import AttentionModel
from harness.results import TaskResult
from harness.suites.base import AnyTask, Scores, TaskData
from harness.timing import Timer
from harness.types import JSONValue


@dataclass(frozen=True)
class InModelTask:
    """A wrapped sts/beir task run with the kernel swapped into all-MiniLM-L6-v2, plus its ``cost``."""

    dataset: str
    inner: AnyTask
    version: int = 1

    @property
    def name(self) -> str:
        return f"kernels/{self.dataset}"

    @property
    def split(self) -> str:
        return self.inner.split

    @property
    def main_metric(self) -> str:
        return self.inner.main_metric

    @property
    def card(self) -> DatasetCard | None:
        return self.inner.card

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (*self.inner.measures, measure("cost"))

    def settings(self) -> dict[str, JSONValue]:
        return {
            **self.inner.settings(),
            "host": "sentence-transformers/all-MiniLM-L6-v2, the kernel in every layer",
            "scored_as": self.inner.name,
            "cost": f"plain model's {self.inner.main_metric} minus the swapped model's",
        }

    def load(self, data_root: Path) -> TaskData:
        data: TaskData = self.inner.load(data_root)
        return data

    def evaluate(self, model: AttentionModel, data: Any, timer: Timer) -> Scores:
        swapped = self.inner.evaluate(model.host(model.in_model_kernel), data, timer)
        plain = self.inner.evaluate(model.host(None), data, Timer())
        main = self.inner.main_metric
        cost = plain.metrics[main] - swapped.metrics[main]
        return Scores(
            metrics={**swapped.metrics, "cost": cost},
            per_item=swapped.per_item,
            predictions=swapped.predictions,
        )

    def check(self, result: TaskResult, data: Any) -> bool:
        """The wrapped task's check on the swapped model's scores; ``cost`` is not recomputable."""
        if "cost" not in result.metrics:
            raise FieldError("metrics.cost", "missing")
        own = {name: value for name, value in result.metrics.items() if name != "cost"}
        self.inner.check(result.model_copy(update={"metrics": own}), data)
        return False
