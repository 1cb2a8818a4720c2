"""What every circuit task shares: its spec (subject, problem, ground truth), seeds, pairs, measures."""

from __future__ import annotations

from dataclasses import dataclass

from harness.metrics.measures import Measure, measure

SEEDS = (0, 1, 2)
"""Replicates. Toy track: seed s is the toy trained from seed s and the method prompts drawn from
``spec.method_seed(s)``; paper track: the prompts and the method's own seed."""
PAIRS = 250
"""Prompt pairs a method sees per replicate: the paper's 250 positive and 250 negative prompts."""
MEASURE_NAMES = ("auc", "auc_edge", "precision", "recall", "f1", "seconds")


def held_out_seed(model_seed: int) -> int:
    """The seed of the prompts that define a toy's ground truth (never shown to a method)."""
    return 1_000_000 + model_seed


def method_seed(replicate_seed: int) -> int:
    """The seed of the prompts a method sees in replicate ``replicate_seed``."""
    return 2_000_000 + replicate_seed


def circuit_measures() -> tuple[Measure, ...]:
    return tuple(measure(name) for name in MEASURE_NAMES)


@dataclass(frozen=True)
class TaskSpec:
    """One circuit task: a subject model, one of its problems, and the ground-truth variant scoring it."""

    dataset: str
    subject: str
    problem: str
    variant: str


@dataclass(frozen=True)
class CircuitTask:
    """What the toy and paper tasks share: the spec, the split, the main metric and the measures."""

    spec: TaskSpec
    split: str = "test"
    main_metric: str = "auc"
    version: int = 1

    @property
    def name(self) -> str:
        return f"circuit/{self.spec.dataset}"

    @property
    def measures(self) -> tuple[Measure, ...]:
        return circuit_measures()


def both(dataset: str, subject: str, problem: str, first: str, second: str) -> tuple[TaskSpec, TaskSpec]:
    """``dataset`` scored against the ``first`` ground truth, ``<dataset>-<second>`` against the other."""
    return TaskSpec(dataset, subject, problem, first), TaskSpec(
        f"{dataset}-{second}", subject, problem, second
    )
