"""What a circuit method needs of the model it inspects: per-head results, read and replaced.

A ``Subject`` is the model under study (a toy attention-only transformer, or GPT-2 through hooks
on its attention output projection). Methods and ground-truth search see only this protocol, so
the same code scores heads of any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from harness.circuits.model import AttentionOnlyTransformer, Intervention
from harness.circuits.problems import PromptSet

Metric = Callable[[Tensor, PromptSet], Tensor]
"""Per-prompt score ``[n]`` of the last position's logits ``[n, vocab]`` (higher: the task is solved)."""


class Subject(Protocol):
    """A model whose attention heads' results can be captured and replaced."""

    @property
    def n_layers(self) -> int: ...

    @property
    def n_heads(self) -> int: ...

    def last_logits(
        self, tokens: Tensor, intervention: Intervention | None = None, capture: list[Tensor] | None = None
    ) -> Tensor:
        """Logits ``[n, vocab]`` at the last position.

        ``capture`` receives each layer's head results ``[n, positions, heads, d_model]`` as used
        (kept in the autograd graph when grad is enabled).
        """
        ...


@dataclass(frozen=True)
class ToySubject:
    """``Subject`` over a toy ``AttentionOnlyTransformer``."""

    model: AttentionOnlyTransformer

    @property
    def n_layers(self) -> int:
        return self.model.config.n_layers

    @property
    def n_heads(self) -> int:
        return self.model.config.n_heads

    def last_logits(
        self, tokens: Tensor, intervention: Intervention | None = None, capture: list[Tensor] | None = None
    ) -> Tensor:
        logits: Tensor = self.model(tokens, intervention, capture, last_only=True)
        return logits[:, -1, :]


def head_results(subject: Subject, tokens: Tensor, batch_size: int = 256) -> Tensor:
    """``[n, layers, positions, heads, d_model]`` head results of ``tokens``, without gradients."""
    chunks = []
    with torch.no_grad():
        for start in range(0, len(tokens), batch_size):
            captured: list[Tensor] = []
            subject.last_logits(tokens[start : start + batch_size], capture=captured)
            chunks.append(torch.stack(captured, dim=1))
    return torch.cat(chunks)


def metric_of(
    subject: Subject,
    metric: Metric,
    prompts: PromptSet,
    tokens: Tensor,
    intervention: Intervention | None = None,
) -> Tensor:
    """Per-prompt metric of ``tokens`` (the positive prompts, or their negatives), no gradients."""
    with torch.no_grad():
        return metric(subject.last_logits(tokens, intervention), prompts)
