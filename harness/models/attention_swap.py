"""An attention kernel swapped into every self-attention layer of a sentence-transformers BERT model.

The kernels suite asks what a kernel costs inside a real model (all-MiniLM-L6-v2 on STS-B and
SciFact). Each ``BertSelfAttention`` module of *this* model instance is replaced by
``SwappedSelfAttention``, which keeps the module's own query/key/value projections and calls the
kernel instead of transformers' attention function. Nothing global changes (transformers'
``AttentionInterface`` registry is process-wide, so it is not used).

Padding: the kernels take no mask, so each sequence of a padded batch is attended over its own
tokens only (BERT pads on the right; the mask's first query row gives the length), and padded query
rows are left zero, which mean pooling ignores.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from harness.kernels.attention import AttentionKernel
from harness.models.dense import SentenceTransformerEncoder


class SwappedSelfAttention(torch.nn.Module):
    """``BertSelfAttention``'s projections followed by ``kernel`` (returns no attention weights)."""

    def __init__(self, original: Any, kernel: AttentionKernel) -> None:
        super().__init__()
        self.query = original.query
        self.key = original.key
        self.value = original.value
        self.heads = int(original.num_attention_heads)
        self.head_dim = int(original.attention_head_size)
        self.kernel = kernel

    def forward(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any
    ) -> tuple[torch.Tensor, None]:
        batch, n, _width = hidden_states.shape
        shape = (batch, n, self.heads, self.head_dim)
        q, k, v = (
            projection(hidden_states).view(shape).transpose(1, 2)
            for projection in (self.query, self.key, self.value)
        )
        lengths = sequence_lengths(attention_mask, batch, n)
        out = torch.zeros_like(q)
        for row, length in enumerate(lengths):
            out[row, :, :length] = self.kernel(
                q[row : row + 1, :, :length],
                k[row : row + 1, :, :length],
                v[row : row + 1, :, :length],
                False,
            )[0]
        return out.transpose(1, 2).reshape(batch, n, self.heads * self.head_dim), None


def sequence_lengths(mask: torch.Tensor | None, batch: int, n: int) -> list[int]:
    """Tokens of each sequence from a boolean [b, 1, q, k] mask (True: attend) or an additive one."""
    if mask is None:
        return [n] * batch
    keys = mask[:, 0, 0, :]
    valid = keys if keys.dtype == torch.bool else keys == 0
    return [int(count) for count in valid.sum(dim=-1).tolist()]


def swap_attention(encoder: SentenceTransformerEncoder, kernel: AttentionKernel, label: str) -> None:
    """Put ``kernel`` into every layer of ``encoder``'s model and say so in its ``info``.

    The encoder must be a fresh one with no embedding cache: cached vectors of the plain model would
    otherwise be served as this model's.
    """
    if encoder.cache is not None:
        raise ValueError("an encoder with swapped attention must not read the plain model's cache")
    transformer: Any = encoder.model[0].auto_model
    for layer in transformer.encoder.layer:
        layer.attention.self = SwappedSelfAttention(layer.attention.self, kernel)
    parameters = {**encoder.info.parameters, "attention": label, "attention_parameters": kernel.parameters()}
    encoder.info = replace(encoder.info, parameters=parameters)
