"""Inputs of the attention tasks: seeded random tensors, and real Q/K/V from SciFact through all-MiniLM-L6-v2.

Real sequences follow the kernels issue: SciFact documents, in corpus order, are each run through
all-MiniLM-L6-v2 on their own (at most 256 tokens, the model's ``max_seq_length``, so positions
restart per document as they do in use), the hidden states entering one layer are concatenated to
the wanted length, and that layer's own query, key and value projections make Q/K/V of shape
[1, 12, n, 32]. Attention over them is a real head's attention over a long context of real text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.models.protocols import Encoder
from harness.models.sparse import document_text
from harness.types import Document

if TYPE_CHECKING:
    import torch

REAL_LAYER = 3
"""The MiniLM layer (0-based, of 6) whose input states and projections make the real Q/K/V: a middle
layer, past the embedding-dominated first ones."""

DOCUMENT_TOKENS = 256
"""all-MiniLM-L6-v2's ``max_seq_length``: each document is truncated to what the model reads."""


@dataclass(frozen=True)
class Qkv:
    """Queries, keys and values of shape [batch, heads, n, head_dim]."""

    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor


def random_qkv(heads: int, n: int, head_dim: int, dtype: torch.dtype, device: str, seed: int) -> Qkv:
    """Standard normal Q, K and V, drawn in float32 from a seeded generator on the CPU, then cast and moved.

    Drawing on the CPU keeps the inputs identical on every device.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(1, heads, n, head_dim, generator=generator) for _ in range(3))
    return Qkv(*(tensor.to(device=device, dtype=dtype) for tensor in (q, k, v)))


def minilm_qkv(encoder: Encoder, corpus: Sequence[Document], n: int, dtype: torch.dtype, device: str) -> Qkv:
    """Real Q/K/V of length ``n`` from ``corpus`` through a sentence-transformers MiniLM (see the module).

    Raises:
        ValueError: the encoder is not a sentence-transformers BERT, or the corpus is too short.
    """
    import torch

    model: Any = getattr(encoder, "model", None)
    if model is None:
        raise ValueError(f"{encoder.info.id} is not a sentence-transformers model")
    transformer: Any = model[0].auto_model
    tokenizer: Any = model.tokenizer
    layer: Any = transformer.encoder.layer[REAL_LAYER].attention.self
    states: list[torch.Tensor] = []
    total = 0
    with torch.inference_mode():
        for doc in corpus:
            tokens = tokenizer(
                document_text(doc), truncation=True, max_length=DOCUMENT_TOKENS, return_tensors="pt"
            ).to(transformer.device)
            hidden = transformer(**tokens, output_hidden_states=True).hidden_states[REAL_LAYER][0]
            states.append(hidden)
            total += hidden.shape[0]
            if total >= n:
                break
        if total < n:
            raise ValueError(f"the corpus holds {total} tokens, fewer than {n}")
        sequence = torch.cat(states)[:n]
        heads = int(layer.num_attention_heads)
        head_dim = int(layer.attention_head_size)

        def project(linear: Any) -> torch.Tensor:
            out: torch.Tensor = linear(sequence).view(n, heads, head_dim).transpose(0, 1).unsqueeze(0)
            return out.to(device=device, dtype=dtype).contiguous()

        return Qkv(project(layer.query), project(layer.key), project(layer.value))
