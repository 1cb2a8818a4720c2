"""The ``circuit`` suite: circuit identification methods scored against known circuits.

Based on O'Neill & Bui 2024, *Sparse Autoencoders Enable Scalable and Reliable Circuit
Identification in Language Models* (arXiv:2405.12522), and its baselines. The "models" are methods
(``sae-codes``, ``activation-patching``, ``attribution-patching``, ``mean-diff``); each scores every
attention head of a subject network, and a task scores those scores against a ground-truth circuit:
ROC AUC, and precision, recall and F1 at k = |ground truth|, with the method's seconds, over three
seeds (``shared/research/CIRCUITS.md``).

Tracks:

- **toy** (default, offline, CI): attention-only models trained by the harness with known
  mechanisms, committed with their ground truths (``cards.py``, ``toys/``): ``toy-induction`` (2
  layers x 4 heads), and ``toy-ioi``, ``toy-greater-than``, ``toy-docstring`` (one 3 x 8 model), these
  three also ``-contrast`` (scored against the other ground truth);
- **paper** (``--lm-path DIR``): GPT-2 small or attn-only-4l from a local folder, the paper's tasks
  and the published head lists (``paper.py``). A method without ``--lm-path`` runs the toy track, one
  with it the paper track.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.models.circuit_methods import CircuitMethodModel
from harness.suites.base import AnyTask, BoardSpec, TaskSelection, task_by_name
from harness.suites.circuit.cards import TOY_TASKS
from harness.suites.circuit.paper_cards import PAPER_TASKS
from harness.suites.circuit.paper_task import PaperCircuitTask, fits
from harness.suites.circuit.toy_task import ToyCircuitTask


def _tasks() -> dict[str, AnyTask]:
    toys: dict[str, AnyTask] = {spec.dataset: ToyCircuitTask(spec) for spec in TOY_TASKS}
    return toys | {spec.dataset: PaperCircuitTask(spec) for spec in PAPER_TASKS}


@dataclass(frozen=True)
class CircuitSuite:
    """A ``Suite`` of toy tasks (committed subjects) and paper tasks (a user's local language model)."""

    name: str = "circuit"
    description: str = (
        "circuit identification (SAE codes, activation and attribution patching, a mean-difference control) "
        "scored against known circuits: ROC AUC, precision/recall/F1 at |ground truth|, seconds"
    )
    model_types: tuple[type, ...] = (CircuitMethodModel,)
    board: BoardSpec = BoardSpec(plots=("per_task",))
    tasks: Mapping[str, AnyTask] = field(default_factory=_tasks)

    def datasets(self) -> tuple[str, ...]:
        return tuple(self.tasks)

    def task(self, dataset: str, split: str) -> AnyTask:
        return task_by_name(self.tasks, self.name, dataset, split)

    def select(self, data_root: Path, datasets: Sequence[str] | None, split: str | None) -> TaskSelection:
        names = list(datasets) if datasets else list(self.tasks)
        return TaskSelection(tuple(self.task(name, split or "test") for name in names))

    def runs(self, task: AnyTask, model: object) -> bool:
        """Toy tasks for a method without ``--lm-path``; with it, the paper tasks of the model it holds.

        Raises:
            SettingError: ``lm_path`` holds neither GPT-2 small nor attn-only-4l (``paper_task.fits``).
        """
        if not isinstance(model, CircuitMethodModel):
            return False
        if isinstance(task, PaperCircuitTask):
            return model.lm_path is not None and fits(task, model.lm_path)
        return isinstance(task, ToyCircuitTask) == (model.lm_path is None)


SUITE = CircuitSuite()
