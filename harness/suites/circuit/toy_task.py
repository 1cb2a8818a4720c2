"""``circuit/toy-<problem>[-contrast]``: a method's head scores on a committed toy model, against its circuit.

For each seed s of ``SEEDS`` (a replicate): the toy model trained from seed s, 250 prompt pairs of
the problem drawn from ``spec.method_seed(s)`` (never the held-out prompts that defined the ground
truth), the method run with seed s, and its head scores scored against the circuit of that model
(``mean``: mean-ablation; ``contrast``: patching from the negatives). Activation patching uses the
contrast ground truth's own intervention, so on the ``-contrast`` tasks it is close to an oracle:
an upper bound, not a competitor (CIRCUITS.md §3b).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.data.cards import DatasetCard, inputs_record
from harness.errors import DataNotFound, FieldError
from harness.models.circuit_methods import CircuitMethodModel
from harness.models.dense import file_sha256
from harness.results import Inputs, TaskResult
from harness.suites.base import Scores
from harness.suites.circuit.cards import TOY_CARDS, TOY_FOLDER, toy_files
from harness.suites.circuit.ground_truth import GroundTruthFile, read_ground_truth
from harness.suites.circuit.scoring import Replication, check_scores, score_replicates
from harness.suites.circuit.spec import PAIRS, SEEDS, CircuitTask, method_seed
from harness.timing import Timer
from harness.types import JSONValue

if TYPE_CHECKING:
    from harness.circuits.model import AttentionOnlyTransformer


@dataclass(frozen=True)
class ToyData:
    inputs: Inputs
    models: tuple[AttentionOnlyTransformer, ...]
    ground_truth: tuple[GroundTruthFile, ...]


def load_toys(toy: str, folder: Path = TOY_FOLDER) -> ToyData:
    """Every seed's checkpoint and ground truth of ``toy``, hashed against its card.

    Raises:
        DataNotFound: a committed file is missing (a broken install).
    """
    from harness.circuits.model import load  # torch: only when a toy task runs

    files: dict[str, str] = {}
    models, truths = [], []
    for seed in SEEDS:
        weights, config, truth = (folder / name for name in toy_files(toy, seed))
        for path in (weights, config, truth):
            if not path.is_file():
                raise DataNotFound(
                    f"circuit/{toy}",
                    f"{path} is missing: reinstall, or rebuild it with harness circuit train-toy {toy}",
                )
            files[path.name] = file_sha256(path)
        models.append(load(weights, config))
        truths.append(read_ground_truth(truth))
    card = TOY_CARDS[toy]
    inputs = inputs_record(
        card, "test", files, {"seeds": len(SEEDS), "heads": models[0].config.n_total_heads}
    )
    return ToyData(inputs, tuple(models), tuple(truths))


@dataclass(frozen=True)
class ToyCircuitTask(CircuitTask):
    """One problem of a toy model scored against one of its ground truths; model: a ``CircuitMethodModel``."""

    @property
    def card(self) -> DatasetCard:
        return TOY_CARDS[self.spec.subject]

    def settings(self) -> dict[str, JSONValue]:
        return {
            "toy": self.spec.subject,
            "problem": self.spec.problem,
            "ground_truth": self.spec.variant,
            "pairs": PAIRS,
            "prompt_seed": "2000000 + seed",
            "seeds": list(SEEDS),
            "k": "|ground truth|",
        }

    def load(self, data_root: Path) -> ToyData:
        return load_toys(self.spec.subject)

    def members(self, data: ToyData) -> list[list[bool]]:
        return [truth.members(self.spec.problem, self.spec.variant) for truth in data.ground_truth]

    def evaluate(self, model: CircuitMethodModel, data: ToyData, timer: Timer) -> Scores:
        import torch

        from harness.circuits.subject import ToySubject
        from harness.circuits.training import TOYS

        problem = TOYS[self.spec.subject].problem(self.spec.problem)
        replications = (
            Replication(
                seed,
                ToySubject(toy),
                problem.metric,
                problem.sample(PAIRS, torch.Generator().manual_seed(method_seed(seed))),
                members,
            )
            for seed, toy, members in zip(SEEDS, data.models, self.members(data), strict=True)
        )
        return score_replicates(model.method, replications, timer)

    def check(self, result: TaskResult, data: ToyData | None) -> bool:
        """Every quality metric recomputed from the head scores and the committed ground truth."""
        if data is None:
            raise FieldError(
                "inputs", f"{self.name} needs its committed toy files, and this install lacks them"
            )
        check_scores(result, SEEDS, self.members(data), self.name)
        return data.inputs.verified and result.inputs.files == data.inputs.files
