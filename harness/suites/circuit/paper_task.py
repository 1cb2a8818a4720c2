"""``circuit/paper-<problem>[-acdc]``: a method's head scores on a user's GPT-2 small or attn-only-4l.

The paper track of O'Neill & Bui 2024 (arXiv:2405.12522): IOI and greater-than on GPT-2 small,
docstring on attn-only-4l, scored against the published circuits (``paper_cards.py``). The weights
are the user's, read from the method model's ``lm_path`` (``harness run --lm-path DIR``); this
machine has none, so the tests run it on a randomly initialised GPT-2-shaped model.

For each seed s of ``SEEDS`` (a replicate): ``pairs`` prompt pairs (the paper's 250) drawn
from ``spec.method_seed(s)``, the method run with seed s, its head scores scored against the
circuit (ROC AUC, precision, recall and F1 at k = |circuit|, seconds), as the toy track does. The
results record the sha256 of every weight file beside the ground truth's; no card lists official
weight hashes, so a paper run is never ``verified``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from harness.data.cards import DatasetCard, inputs_record
from harness.errors import DataNotFound, SettingError
from harness.models.circuit_methods import CircuitMethodModel
from harness.models.dense import file_sha256
from harness.results import Inputs, TaskResult
from harness.suites.base import Scores
from harness.suites.circuit.ground_truth import GroundTruthFile, read_ground_truth
from harness.suites.circuit.paper_cards import PAPER_CARDS, PAPER_FOLDER, ground_truth_name
from harness.suites.circuit.scoring import Replication, check_scores, score_replicates
from harness.suites.circuit.spec import PAIRS, SEEDS, CircuitTask, method_seed
from harness.timing import Timer
from harness.types import JSONValue

if TYPE_CHECKING:
    from harness.circuits.paper import LmFolder, PaperProblem
    from harness.circuits.subject import Subject

PROMPTS: dict[str, str] = {
    "ioi": "ABBA and BABA templates (20 forms of 15 one-token pieces after BOS), three distinct names, a "
    "place and an object, final IO dropped; negative as sae-circuits data/ioi.py: the first clause's S "
    "slot takes IO and its IO slot a third name; metric: log p(IO)",
    "greater-than": "'The {noun} lasted from the year {XX}{YY} to the year {XX}', XX 12-19, YY balanced "
    "02-98; negative YY = 01; metric: p(YY' > YY) - p(YY' <= YY) over the tokens 00-99",
    "docstring": "ACDC docstring_induction_prompt_generator('rest', n_matching_args=3, n_def_prefix_args=2, "
    "n_def_suffix_args=1, n_doc_prefix_args=0, met_desc_len=3, arg_desc_len=2), simplified; negative: "
    "random_random; metric: log p(next argument)",
}
HEAD_RESULTS: dict[str, str] = {
    "gpt2-small": "attn.c_proj hooks, TransformerLens convention (value biases folded, writes centred), "
    "as HookedTransformer.from_pretrained('gpt2-small')",
    "attn-only-4l": "TransformerLens blocks.L.attn.hook_result, processed as from_pretrained('attn-only-4l')",
}


def lm_folder(path: Path) -> LmFolder:
    """The paper subject in ``path``, from its ``config.json``.

    Raises:
        SettingError: ``lm_path``: the folder holds neither GPT-2 small nor attn-only-4l.
    """
    from harness.circuits.paper import LmFolderError, inspect_lm  # torch: only on the paper track

    try:
        return inspect_lm(path)
    except LmFolderError as error:
        raise SettingError("lm_path", str(error)) from None


def fits(task: PaperCircuitTask, lm_path: Path) -> bool:
    """Whether the language model at ``lm_path`` is the subject of ``task`` (reads ``config.json`` only).

    ``CircuitSuite.runs`` asks this of each selected paper task, so a GPT-2 folder runs the IOI and
    greater-than tasks and an attn-only-4l folder the docstring ones.

    Raises:
        SettingError: ``lm_path``: the folder holds neither subject (said once, before any work).
    """
    return lm_folder(lm_path).subject == task.spec.subject


@cache
def committed_ground_truth(subject: str) -> tuple[GroundTruthFile, str]:
    """The committed ground-truth file of ``subject`` and its sha256.

    Raises:
        DataNotFound: the file is missing (a broken install).
    """
    path = PAPER_FOLDER / ground_truth_name(subject)
    if not path.is_file():
        raise DataNotFound(f"circuit/{subject}", f"{path} is missing: reinstall the harness")
    return read_ground_truth(path), file_sha256(path)


@dataclass(frozen=True)
class PaperData:
    """The published circuits of one subject; ``subject_files``: the weight hashes ``evaluate`` read.

    The subject is known only when ``evaluate`` loads it from the model's ``lm_path``, so it records
    the weight files' sha256 here; the runner reads ``inputs`` after ``evaluate``.
    """

    subject: str
    ground_truth: GroundTruthFile
    ground_truth_sha256: str
    pairs: int
    subject_files: dict[str, str] = field(default_factory=dict)

    @property
    def card(self) -> DatasetCard:
        return PAPER_CARDS[self.subject]

    @property
    def inputs(self) -> Inputs:
        """The ground truth's sha256 and each weight file's (``lm/<name>``); verified only on a card's."""
        files = {ground_truth_name(self.subject): self.ground_truth_sha256}
        files |= {f"lm/{name}": sha for name, sha in self.subject_files.items()}
        counts = {
            "seeds": len(SEEDS),
            "heads": self.ground_truth.n_layers * self.ground_truth.n_heads,
            "pairs": self.pairs,
        }
        record = inputs_record(self.card, "test", files, counts)
        return record.model_copy(update={"verified": record.verified and bool(self.subject_files)})


@dataclass(frozen=True)
class PaperCircuitTask(CircuitTask):
    """One paper task on a user's subject against one published list; model: a ``CircuitMethodModel``.

    ``pairs``: prompt pairs per replicate (the paper's 250; tests use fewer).
    """

    pairs: int = PAIRS

    @property
    def card(self) -> DatasetCard:
        return PAPER_CARDS[self.spec.subject]

    def settings(self) -> dict[str, JSONValue]:
        truth, _ = committed_ground_truth(self.spec.subject)
        reference = truth.circuits[self.spec.problem]["oneill2024"].rule
        return {
            "subject": f"{self.spec.subject}: user weights (--lm-path), unverified",
            "problem": self.spec.problem,
            "prompts": PROMPTS[self.spec.problem],
            "head_results": HEAD_RESULTS[self.spec.subject],
            "ground_truth": self.spec.variant,
            "pairs": self.pairs,
            "prompt_seed": "2000000 + seed",
            "seeds": list(SEEDS),
            "k": "|ground truth|",
            "paper_reference": {key: reference[key] for key in sorted(reference)},
        }

    def load(self, data_root: Path) -> PaperData:
        """The committed ground truth (never the language model: ``evaluate`` loads that)."""
        truth, sha = committed_ground_truth(self.spec.subject)
        return PaperData(self.spec.subject, truth, sha, self.pairs)

    def members(self, data: PaperData) -> list[bool]:
        return data.ground_truth.members(self.spec.problem, self.spec.variant)

    def subject(self, lm_path: Path | None, data: PaperData) -> tuple[Subject, PaperProblem, dict[str, str]]:
        """The subject at ``lm_path``, the problem on its tokenizer, and its weight files' sha256.

        Raises:
            SettingError: ``lm_path``: missing, not this task's subject, or not loadable.
        """
        from harness.circuits.paper import PROBLEMS, load_subject, weight_files

        if lm_path is None:
            raise SettingError("lm_path", f"{self.name} runs on a local language model folder: give it")
        folder = lm_folder(lm_path)
        if folder.subject != self.spec.subject:
            raise SettingError(
                "lm_path", f"{lm_path} holds {folder.subject}; {self.name} needs {self.spec.subject}"
            )
        try:
            subject, tokenizer = load_subject(folder)
            problem = PROBLEMS[self.spec.problem](tokenizer)
        except ValueError as error:  # LmFolderError, or a prompt piece the tokenizer splits
            raise SettingError("lm_path", f"{lm_path}: {error}") from None
        truth = data.ground_truth
        if (subject.n_layers, subject.n_heads) != (truth.n_layers, truth.n_heads):
            raise SettingError(
                "lm_path",
                f"{lm_path} loads {subject.n_layers} x {subject.n_heads} heads; "
                f"the circuits are for {truth.n_layers} x {truth.n_heads}",
            )
        files = {path.name: file_sha256(path) for path in weight_files(lm_path)}
        return subject, problem, files

    def evaluate(self, model: CircuitMethodModel, data: PaperData, timer: Timer) -> Scores:
        import torch

        with timer("subject"):
            subject, problem, files = self.subject(model.lm_path, data)
        data.subject_files.clear()
        data.subject_files.update(files)
        members = self.members(data)
        replications = (
            Replication(
                seed,
                subject,
                problem.metric,
                problem.sample(self.pairs, torch.Generator().manual_seed(method_seed(seed))),
                members,
            )
            for seed in SEEDS
        )
        return score_replicates(model.method, replications, timer)

    def check(self, result: TaskResult, data: PaperData | None) -> bool:
        """Every quality metric recomputed from the head scores and the committed published circuit.

        Returns:
            False always: the circuit is committed, so the metrics are re-derived from the file's
            head scores, but those scores come from the submitter's weights, which no card pins and
            this install does not have, so they themselves cannot be re-derived.
        """
        local = data if data is not None else self.load(Path())
        check_scores(result, SEEDS, [self.members(local)] * len(SEEDS), self.name)
        return False
