"""The "models" of the kernels suite: an attention kernel or a vector quantiser, with its provenance.

A kernel is measured where it runs: an attention kernel on sequences built from real model states (and
inside all-MiniLM-L6-v2 itself), a quantiser on real all-MiniLM-L6-v2 SciFact embeddings. So each
model also knows how to build that host encoder with the run's options (device, cache), and reports a
``ModelInfo`` of kind ``kernel`` whose parameters are every setting that changes its outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from harness.models.protocols import Encoder, ModelInfo

if TYPE_CHECKING:
    from harness.kernels.attention import AttentionKernel
    from harness.kernels.pq import Trainer

HostFactory = Callable[["AttentionKernel | None"], Encoder]
"""Builds all-MiniLM-L6-v2 for the run's options: plain (None) or with a kernel in every layer."""


@runtime_checkable
class AttentionModel(Protocol):
    """An attention kernel as a model of the kernels suite."""

    info: ModelInfo

    @property
    def kernel(self) -> AttentionKernel:
        """The kernel at its benchmark settings (long sequences)."""
        ...

    @property
    def in_model_kernel(self) -> AttentionKernel:
        """The kernel with its minimum length lowered so that it engages on sentence-length inputs."""
        ...

    @property
    def device(self) -> str: ...

    def host(self, kernel: AttentionKernel | None) -> Encoder:
        """all-MiniLM-L6-v2 on this device: plain (``None``) or with ``kernel`` in every layer."""
        ...


@runtime_checkable
class QuantizerModel(Protocol):
    """A vector quantiser (its trainer) as a model of the kernels suite."""

    info: ModelInfo

    @property
    def trainer(self) -> Trainer: ...

    def host(self) -> Encoder:
        """all-MiniLM-L6-v2, whose SciFact embeddings are quantised (served from the embedding cache)."""
        ...


@dataclass(frozen=True)
class KernelAttention:
    """``AttentionModel`` over a kernel at benchmark settings and its in-model variant."""

    info: ModelInfo
    kernel: AttentionKernel
    in_model_kernel: AttentionKernel
    device: str
    build_host: HostFactory = field(repr=False)

    def host(self, kernel: AttentionKernel | None) -> Encoder:
        return self.build_host(kernel)


@dataclass(frozen=True)
class KernelQuantizer:
    """``QuantizerModel`` over a trainer."""

    info: ModelInfo
    trainer: Trainer
    build_host: Callable[[], Encoder] = field(repr=False)

    def host(self) -> Encoder:
        return self.build_host()
