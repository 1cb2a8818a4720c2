"""The "models" of the circuit suite: circuit identification methods, with their provenance.

A method (``harness/circuits/methods.py``) is what the circuit suite ranks; the network it inspects
is the task's subject (a committed toy model) or, on the paper track, a local language model folder
(``--lm-path``). The model record names the method and every setting that changes its scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from harness.models.protocols import ModelInfo

if TYPE_CHECKING:
    from harness.circuits.methods import Method


@runtime_checkable
class CircuitMethodModel(Protocol):
    """A circuit method as a model of the circuit suite."""

    info: ModelInfo

    @property
    def method(self) -> Method: ...

    @property
    def lm_path(self) -> Path | None:
        """A local language model folder for the paper track (None: the toy track)."""
        ...


@dataclass(frozen=True)
class CircuitMethod:
    """``CircuitMethodModel`` over a method."""

    info: ModelInfo
    method: Method
    lm_path: Path | None = None
