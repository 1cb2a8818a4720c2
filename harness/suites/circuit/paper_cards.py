"""The paper track's committed inputs: the published circuits, pinned by sha256 like data cards.

One ground-truth file per subject of O'Neill & Bui 2024 (arXiv:2405.12522) sits under
``harness/suites/circuit/ground_truth/``: ``gpt2-small.ground-truth.json`` (IOI and greater-than)
and ``attn-only-4l.ground-truth.json`` (docstring). Each task carries two head lists, with the
repository, commit, file and variable they come from (``shared/research/CIRCUITS.md`` §2):
``acdc`` (ACDC's, Conmy et al. 2023) and ``oneill2024`` (the lists the paper's code scores
against, which differ from ACDC's in one head each for IOI and docstring); the ``oneill2024`` lists
also record the paper's reported AUCs in their ``rule``. The sha256s below are those of the
committed files, so a load reports them as the card's only on exactly these bytes. The subjects'
weights are the user's (``--lm-path``); no card lists them, so a paper run is never ``verified``.
"""

from __future__ import annotations

from pathlib import Path

from harness.circuits import PAPER_SUBJECTS
from harness.data.cards import DatasetCard, SplitCard
from harness.suites.circuit.spec import PAIRS, SEEDS, TaskSpec, both

PAPER_FOLDER = Path(__file__).parent / "ground_truth"


def ground_truth_name(subject: str) -> str:
    return f"{subject}.ground-truth.json"


PAPER_CHECKSUMS: dict[str, str] = {
    "gpt2-small.ground-truth.json": "f40085a1006941c7e08fb97f0dae4ea11cd2d4e6acb4414d32a5849a5b900f00",
    "attn-only-4l.ground-truth.json": "e7f6a153e09c9611a90e5922233ad367a0ba317d5a5eadf48971bb047dd36df3",
}
"""sha256 of each committed ground-truth file."""


def paper_card(subject: str) -> DatasetCard:
    layers, heads = PAPER_SUBJECTS[subject]
    name = ground_truth_name(subject)
    return DatasetCard(
        id=f"circuit/{subject}",
        name=subject,
        locations=(),
        marker="",
        bundled=True,
        licence="MIT (head lists from ACDC and charlieoneill11/sae-circuits); weights: the user's",
        url="committed: harness/suites/circuit/ground_truth/" + name,
        splits={
            "test": SplitCard(
                members={name: PAPER_CHECKSUMS[name]},
                counts={"seeds": len(SEEDS), "heads": layers * heads, "pairs": PAIRS},
            )
        },
    )


PAPER_CARDS = {subject: paper_card(subject) for subject in PAPER_SUBJECTS}


PAPER_TASKS: tuple[TaskSpec, ...] = (
    *both("paper-ioi", "gpt2-small", "ioi", "oneill2024", "acdc"),
    *both("paper-greater-than", "gpt2-small", "greater-than", "oneill2024", "acdc"),
    *both("paper-docstring", "attn-only-4l", "docstring", "oneill2024", "acdc"),
)
"""``circuit/paper-<problem>`` is scored against the list the paper uses (``oneill2024``),
``...-acdc`` against ACDC's."""
