"""Ground-truth circuits as data: one small JSON file per subject model, with the source of every list.

A file names its subject (``mix4-3l8h`` seed 0, or ``gpt2-small``) and, per task and variant, the
heads of the circuit (``layer.head``) and where the list comes from: a paper, a repository and
commit, or "derived here by ablation" with the command that derives it and the rule it used
(replacement, threshold, held-out prompts, faithfulness). The suite's cards (``cards.py``) pin each
file's sha256, as data cards pin dataset members, so a submission is rescored against exactly
these lists.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from harness.errors import InputError
from harness.results.records import Record
from harness.types import JSONValue

HEAD = re.compile(r"^(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)$")


class CircuitList(Record):
    """One ground-truth circuit: its heads and its source."""

    heads: list[str] = Field(min_length=1)
    source: str = Field(min_length=1, max_length=1000)
    rule: dict[str, JSONValue] = Field(default_factory=dict)

    @field_validator("heads")
    @classmethod
    def _heads(cls, heads: list[str]) -> list[str]:
        for head in heads:
            if not HEAD.match(head):
                raise ValueError(f"{head!r} is not a head written layer.head")
        if len(set(heads)) != len(heads):
            raise ValueError("a head is listed twice")
        return heads


class GroundTruthFile(Record):
    """Every ground-truth circuit known for one subject model: task -> variant -> list."""

    subject: str = Field(min_length=1, max_length=100)
    n_layers: int = Field(ge=1, le=100)
    n_heads: int = Field(ge=1, le=100)
    subject_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    circuits: dict[str, dict[str, CircuitList]]

    def members(self, task: str, variant: str) -> list[bool]:
        """0/1 per head, layer-major, for one circuit."""
        heads = set(self.circuits[task][variant].heads)
        return [f"{layer}.{head}" in heads for layer in range(self.n_layers) for head in range(self.n_heads)]

    def check_heads(self) -> None:
        for task, variants in self.circuits.items():
            for variant, circuit in variants.items():
                for head in circuit.heads:
                    layer, index = (int(part) for part in head.split("."))
                    if layer >= self.n_layers or index >= self.n_heads:
                        raise ValueError(
                            f"{task}/{variant}: head {head} is outside {self.n_layers}x{self.n_heads}"
                        )


def read_ground_truth(path: Path) -> GroundTruthFile:
    """Parse and check a ground-truth file.

    Raises:
        InputError: the file is not a valid ground-truth file (the field is named).
    """
    from pydantic import ValidationError

    try:
        parsed = GroundTruthFile.model_validate_json(path.read_bytes())
        parsed.check_heads()
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise InputError(str(path), field, first["msg"]) from None
    except ValueError as error:
        raise InputError(str(path), "circuits", str(error)) from None
    return parsed


def write_ground_truth(path: Path, ground_truth: GroundTruthFile) -> None:
    path.write_text(ground_truth.model_dump_json(indent=2, exclude_none=True) + "\n")
