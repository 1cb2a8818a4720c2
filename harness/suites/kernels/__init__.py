"""The ``kernels`` suite: attention kernels and vector quantisers, accuracy and speed against their peers.

Two families of tasks, each run by its own kind of model (``models/kernel_models.py``):

- attention (``hyper``, ``lowrank``): ``attention-[causal-]n<N>`` for N = 1k..16k on the CPU (8 heads,
  head dim 64, float32) and ``attention-gpu-[causal-]n<N>`` to 131k on a GPU (32 heads, bfloat16),
  plus ``minilm-stsb`` and ``minilm-scifact``, the kernel inside all-MiniLM-L6-v2;
- quantisation (``pq``, ``lowrank-pq``, ``faiss-pq``): ``pq-scifact-<B>b`` for B = 8, 16, 32, 48.

A run without ``--datasets`` does every task of its model's family on its device, except
``minilm-scifact`` (two full SciFact encodes, minutes on a CPU), which runs when named.
Background and anchors: ``shared/research/REFERENCES.md`` §4.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.data.files import locate
from harness.models.kernel_models import AttentionModel, QuantizerModel
from harness.suites.base import AnyTask, BoardSpec, TaskSelection, task_by_name
from harness.suites.beir.cards import SCIFACT
from harness.suites.beir.task import RetrievalTask
from harness.suites.kernels.attention_task import CPU_SHAPES, GPU_SHAPES, AttentionTask
from harness.suites.kernels.in_model_task import InModelTask
from harness.suites.kernels.vq_task import CODE_BYTES, QuantizationTask
from harness.suites.sts.cards import CARDS as STS_CARDS
from harness.suites.sts.task import StsTask

ON_REQUEST = frozenset({"minilm-scifact"})
"""Tasks a run does only when named (minutes of encoding on a CPU)."""


def _tasks() -> dict[str, AnyTask]:
    tasks: dict[str, AnyTask] = {}
    for shape in (*CPU_SHAPES, *GPU_SHAPES):
        tasks[shape.dataset] = AttentionTask(shape)
    tasks["minilm-stsb"] = InModelTask("minilm-stsb", StsTask(STS_CARDS["stsb"]))
    tasks["minilm-scifact"] = InModelTask("minilm-scifact", RetrievalTask(SCIFACT, k=100))
    for size in CODE_BYTES:
        tasks[f"pq-scifact-{size}b"] = QuantizationTask(size)
    return tasks


@dataclass(frozen=True)
class KernelsSuite:
    """A ``Suite`` of generated and real-data kernel tasks (every task reads SciFact or STS-B)."""

    name: str = "kernels"
    description: str = (
        "attention kernels (HyperAttention, low-rank) against exact attention, and product quantisers "
        "against faiss IndexPQ: speed-up, error, recall, bytes per vector"
    )
    model_types: tuple[type, ...] = (AttentionModel, QuantizerModel)
    board: BoardSpec = BoardSpec(plots=("per_task", "kernels"))
    tasks: Mapping[str, AnyTask] = field(default_factory=_tasks)

    def datasets(self) -> tuple[str, ...]:
        return tuple(self.tasks)

    def task(self, dataset: str, split: str) -> AnyTask:
        return task_by_name(self.tasks, self.name, dataset, split)

    def select(self, data_root: Path, datasets: Sequence[str] | None, split: str | None) -> TaskSelection:
        names = list(datasets) if datasets else [name for name in self.tasks if name not in ON_REQUEST]
        tasks = tuple(self.task(name, split or "test") for name in names)
        needed = {task.card.id: task.card for task in tasks if task.card is not None}
        if any(isinstance(task, AttentionTask) for task in tasks):
            needed.setdefault(SCIFACT.id, SCIFACT)  # the attention tasks' real sequences
        for card in needed.values():
            locate(card, data_root)  # a missing dataset is named before the model loads
        return TaskSelection(tasks)

    def runs(self, task: AnyTask, model: object) -> bool:
        """Whether ``model`` runs ``task``: its family, and the shapes of its device."""
        if isinstance(task, AttentionTask):
            device = getattr(model, "device", "cpu")
            return isinstance(model, AttentionModel) and task.shape.gpu == str(device).startswith("cuda")
        if isinstance(task, InModelTask):
            return isinstance(model, AttentionModel)
        return isinstance(model, QuantizerModel)


SUITE = KernelsSuite()
