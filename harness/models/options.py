"""Run-time settings a model factory may use; they arrive from the CLI (or a results file), never globals.

``from_record`` rebuilds them from a results file's model record, so ``harness verify`` re-runs a
model as the file says it ran (batch size and device change padding and kernels, hence the last
bits of float32 scores). What a file may not decide is kept from the caller: a file cannot turn on
``trust_remote_code`` (running a hub model's own code is the user's call, never a file's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from harness.results import ModelRecord


@dataclass(frozen=True)
class ModelOptions:
    """How to build a model: where to cache, on which device, in which batches, at which revision."""

    cache_dir: Path
    device: str = "cpu"
    batch_size: int = 64
    threads: int = 2
    trust_remote_code: bool = False
    revision: str | None = None
    show_progress: bool = False
    lm_path: Path | None = None
    """The circuit suite's paper track: a local language model folder (GPT-2 small, attn-only-4l)."""


def from_record(
    model: ModelRecord, base: ModelOptions, device_available: bool
) -> tuple[ModelOptions, list[str]]:
    """``base`` with the revision, batch size and device the file's model ran with, plus notes.

    The notes say what could not be taken over: a CUDA device where none is here, remote code.
    """
    notes: list[str] = []
    parameters = model.parameters
    batch_size = parameters.get("batch_size")
    device = parameters.get("device")
    options = replace(base, revision=model.revision)
    if type(batch_size) is int and batch_size >= 1:
        options = replace(options, batch_size=batch_size)
    if isinstance(device, str) and device:
        if device.startswith("cuda") and not device_available:
            notes.append(f"the file ran on {device}; no GPU here, so this re-run is on the CPU")
        elif device == "cpu" or device.startswith("cuda"):
            options = replace(options, device=device)
    if parameters.get("trust_remote_code") is True and not base.trust_remote_code:
        notes.append(
            "the file's model ran its own code (trust_remote_code); pass --trust-remote-code to allow it"
        )
    return options, notes
