"""A tiny attention-only transformer whose every head can be read and replaced: the toy circuits' subject.

The architecture is the one of Elhage et al. 2021 ("A Mathematical Framework for Transformer
Circuits") and of TransformerLens's ``attn_only`` models: token and learned positional embeddings,
pre-LayerNorm attention layers with no MLPs, a final LayerNorm and an unembedding. Each head's
*result* is ``z_h @ W_O[h]``, its write into the residual stream (TransformerLens's ``hook_result``);
the residual after a layer is the residual before it plus the sum of its heads' results, so
replacing one head's result is exactly patching that head.

``forward`` takes an optional ``Intervention``: per example, which heads keep their own result and
what the others are replaced by (a mean, or the head's result on a paired negative prompt). One
batched call can thus evaluate many candidate circuits at once (ground-truth search) or many single
heads (activation patching).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class ToyConfig:
    """Shape of a toy model; saved beside its weights."""

    n_layers: int
    n_heads: int
    d_model: int
    d_head: int
    vocab: int
    context: int

    @property
    def n_total_heads(self) -> int:
        return self.n_layers * self.n_heads


@dataclass(frozen=True)
class Intervention:
    """Which head results to replace, per example, and with what.

    ``keep``: ``[batch, layers, heads]``, 1.0 where a head keeps its own result, 0.0 where it is
    replaced. ``replacement``: one tensor per layer, broadcastable to ``[batch, positions, heads,
    d_model]`` (a ``[positions, heads, d_model]`` mean, or per-example results of negative prompts).
    """

    keep: Tensor
    replacement: tuple[Tensor, ...]


def _uniform(shape: tuple[int, ...], fan_in: int) -> Tensor:
    bound = 1.0 / fan_in**0.5
    return torch.empty(shape).uniform_(-bound, bound)


class AttentionOnlyTransformer(nn.Module):
    """Attention-only, pre-LN, learned positions, no biases in attention (as the prototypes measured)."""

    def __init__(self, config: ToyConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        heads = (c.n_layers, c.n_heads)
        # as nn.Embedding (N(0, 1)) and nn.Linear (U(-1/sqrt(fan_in), 1/sqrt(fan_in))) start: see training.py
        self.embed = nn.Parameter(torch.randn(c.vocab, c.d_model))
        self.pos = nn.Parameter(torch.randn(c.context, c.d_model))
        self.w_q = nn.Parameter(_uniform((*heads, c.d_model, c.d_head), c.d_model))
        self.w_k = nn.Parameter(_uniform((*heads, c.d_model, c.d_head), c.d_model))
        self.w_v = nn.Parameter(_uniform((*heads, c.d_model, c.d_head), c.d_model))
        self.w_o = nn.Parameter(_uniform((*heads, c.d_head, c.d_model), c.n_heads * c.d_head))
        self.norms = nn.ModuleList([nn.LayerNorm(c.d_model) for _ in range(c.n_layers)])
        self.final_norm = nn.LayerNorm(c.d_model)
        self.unembed = nn.Parameter(_uniform((c.d_model, c.vocab), c.d_model))

    def attention_pattern(self, layer: int, normed: Tensor) -> Tensor:
        """``[batch, heads, query, key]`` causal attention weights of ``layer`` on its normed input."""
        q = torch.einsum("btd,hde->bhte", normed, self.w_q[layer])
        k = torch.einsum("btd,hde->bhte", normed, self.w_k[layer])
        scores = q @ k.transpose(-1, -2) / self.config.d_head**0.5
        positions = normed.shape[1]
        causal = torch.ones(positions, positions, dtype=torch.bool, device=normed.device).tril()
        return torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)

    def forward(
        self,
        tokens: Tensor,
        intervention: Intervention | None = None,
        capture: list[Tensor] | None = None,
        patterns: list[Tensor] | None = None,
        last_only: bool = False,
    ) -> Tensor:
        """Logits ``[batch, positions, vocab]``.

        Args:
            tokens: ``[batch, positions]`` token ids, positions at most ``context``.
            intervention: heads to replace (see ``Intervention``); None runs the model as it is.
            capture: when given, receives each layer's head results ``[batch, positions, heads,
                d_model]`` as the model used them (after any replacement), in layer order.
            patterns: when given, receives each layer's attention weights.
            last_only: unembed only the last position (``[batch, 1, vocab]``): what the methods read.
        """
        positions = tokens.shape[1]
        residual = self.embed[tokens] + self.pos[:positions]
        for layer in range(self.config.n_layers):
            normed = self.norms[layer](residual)
            pattern = self.attention_pattern(layer, normed)
            v = torch.einsum("btd,hde->bhte", normed, self.w_v[layer])
            z = pattern @ v  # [batch, heads, positions, d_head]
            results = torch.einsum("bhte,hed->bthd", z, self.w_o[layer])
            if intervention is not None:
                keep = intervention.keep[:, layer, :][:, None, :, None]
                results = keep * results + (1.0 - keep) * intervention.replacement[layer]
            if capture is not None:
                capture.append(results)
            if patterns is not None:
                patterns.append(pattern)
            residual = residual + results.sum(dim=2)
        if last_only:
            residual = residual[:, -1:, :]
        out: Tensor = self.final_norm(residual) @ self.unembed
        return out


def save(model: AttentionOnlyTransformer, folder: Path, name: str) -> tuple[Path, Path]:
    """Write ``<name>.safetensors`` (float32 weights) and ``<name>.config.json``; returns both paths."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"{name}.safetensors"
    config = folder / f"{name}.config.json"
    state = {key: value.detach().contiguous().float() for key, value in model.state_dict().items()}
    save_file(state, str(weights))
    config.write_text(json.dumps(asdict(model.config), indent=2, sort_keys=True) + "\n")
    return weights, config


def load(weights: Path, config: Path) -> AttentionOnlyTransformer:
    """The model saved by ``save``, in eval mode (no pickle: safetensors and JSON only)."""
    from safetensors.torch import load_file

    raw = json.loads(config.read_text())
    model = AttentionOnlyTransformer(ToyConfig(**{k: int(raw[k]) for k in ToyConfig.__dataclass_fields__}))
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    return model
