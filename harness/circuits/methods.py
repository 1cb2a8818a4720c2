"""Circuit identification methods: each scores every attention head (and, where defined, head pairs).

All four see the same paired prompts (positive and negative, ``PromptSet``) and a ``Subject``:

- ``SaeCodes``: O'Neill & Bui 2024 (arXiv:2405.12522), as their code (``charlieoneill11/sae-circuits``
  @ 10fd2e7) runs it: each head's result averaged over positions, one sparse autoencoder shared by
  all heads trained on the vectors of a few prompts, every (prompt, head) discretised to its argmax
  feature ("code"); a head scores the number of codes it shows on positive prompts and never on
  negative ones (softmax over heads). The "edge" variant counts code *pairs* of two heads found
  only on positives, ranks head pairs by that count and scores each head by its mentions among the
  first ``n_heads**2 / 2`` (still a node score: the paper's edge AUCs are node AUCs).
- ``ActivationPatching``: each head alone takes its result on the negative prompt; its score is the
  absolute change of the mean metric (Vig et al. 2020; Meng et al. 2022; the ACDC paper's baseline).
- ``AttributionPatching``: the first-order estimate of the same change, one forward and one backward
  pass: ``|mean over prompts of sum(grad . (negative - positive))|`` (Nanda 2023; Syed et al. 2023).
- ``MeanDifference``: a control that looks at no metric: the norm of the difference between a
  head's mean last-position result on positives and on negatives (CIRCUITS.md §3b's control).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from harness.circuits.model import Intervention
from harness.circuits.problems import PromptSet
from harness.circuits.subject import Metric, Subject, head_results, metric_of


@dataclass(frozen=True)
class HeadScores:
    """A method's scores of every head.

    ``node``: one score per head, layer-major ``[layers * heads]``; ``edge``: the paper's edge-variant
    node scores where the method defines edges; ``pairs``: the head-pair scores behind them.
    """

    node: Tensor
    edge: Tensor | None = None
    pairs: Tensor | None = None


class Method(Protocol):
    """A circuit method: ``name``, its settings, and per-head scores from paired prompts."""

    @property
    def name(self) -> str: ...

    def parameters(self) -> dict[str, int | float | str]: ...

    def score(self, subject: Subject, metric: Metric, prompts: PromptSet, seed: int) -> HeadScores: ...


@dataclass(frozen=True)
class ActivationPatching:
    name: str = "activation-patching"
    batch_size: int = 250

    def parameters(self) -> dict[str, int | float | str]:
        return {
            "patch": "one head at a time from the negative prompt, all positions",
            "score": "|delta metric|",
        }

    def score(self, subject: Subject, metric: Metric, prompts: PromptSet, seed: int) -> HeadScores:
        layers, heads = subject.n_layers, subject.n_heads
        negatives = head_results(subject, prompts.negative)  # [n, layers, positions, heads, d]
        clean = float(metric_of(subject, metric, prompts, prompts.positive).mean())
        scores = torch.zeros(layers * heads)
        for flat in range(layers * heads):
            keep = torch.ones(layers * heads)
            keep[flat] = 0.0
            total = 0.0
            for start in range(0, len(prompts), self.batch_size):
                index = torch.arange(start, min(start + self.batch_size, len(prompts)))
                part = prompts.take(index)
                replacement = tuple(negatives[index, layer] for layer in range(layers))
                intervention = Intervention(
                    keep.reshape(1, layers, heads).expand(len(index), -1, -1), replacement
                )
                total += float(metric_of(subject, metric, part, part.positive, intervention).sum())
            scores[flat] = abs(clean - total / len(prompts))
        return HeadScores(scores)


@dataclass(frozen=True)
class AttributionPatching:
    name: str = "attribution-patching"

    def parameters(self) -> dict[str, int | float | str]:
        return {
            "estimate": "grad . (negative - positive) of each head's result, all positions",
            "score": "|mean|",
        }

    def score(self, subject: Subject, metric: Metric, prompts: PromptSet, seed: int) -> HeadScores:
        negatives = head_results(subject, prompts.negative)
        captured: list[Tensor] = []
        with torch.enable_grad():
            logits = subject.last_logits(prompts.positive, capture=captured)
            for result in captured:
                result.retain_grad()
            metric(logits, prompts).mean().backward()  # type: ignore[no-untyped-call]
        attribution = []
        for layer, result in enumerate(captured):
            assert result.grad is not None  # retained above
            delta = negatives[:, layer] - result.detach()
            attribution.append((result.grad * delta).sum(dim=(0, 1, 3)))  # mean over prompts: grad of a mean
        return HeadScores(torch.cat(attribution).abs())


@dataclass(frozen=True)
class MeanDifference:
    name: str = "mean-diff"

    def parameters(self) -> dict[str, int | float | str]:
        return {"score": "||mean positive - mean negative|| of each head's last-position result"}

    def score(self, subject: Subject, metric: Metric, prompts: PromptSet, seed: int) -> HeadScores:
        positive = head_results(subject, prompts.positive)[:, :, -1]  # [n, layers, heads, d]
        negative = head_results(subject, prompts.negative)[:, :, -1]
        difference = positive.mean(dim=0) - negative.mean(dim=0)
        return HeadScores(difference.norm(dim=-1).reshape(-1))


class SparseAutoencoder(torch.nn.Module):
    """ReLU SAE, tied pre-encoder/post-decoder bias, unit-norm dictionary rows (Bricken et al. 2023)."""

    def __init__(self, n_in: int, n_learned: int, generator: torch.Generator) -> None:
        super().__init__()
        decoder = torch.randn(n_learned, n_in, generator=generator)
        decoder = decoder / decoder.norm(dim=1, keepdim=True)
        self.bias = torch.nn.Parameter(torch.zeros(n_in))  # geometric_median_dataset=None: starts at 0
        self.encoder = torch.nn.Parameter(decoder.T.clone())
        self.encoder_bias = torch.nn.Parameter(torch.zeros(n_learned))
        self.decoder = torch.nn.Parameter(decoder)

    def codes(self, x: Tensor) -> Tensor:
        return torch.relu((x - self.bias) @ self.encoder + self.encoder_bias)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        activations = self.codes(x)
        return activations @ self.decoder + self.bias, activations

    def remove_parallel_gradients(self) -> None:
        """Keep the dictionary rows unit-norm: drop each row gradient's component along the row."""
        if self.decoder.grad is not None:
            parallel = (self.decoder.grad * self.decoder).sum(dim=1, keepdim=True)
            self.decoder.grad -= parallel * self.decoder

    def normalise(self) -> None:
        with torch.no_grad():
            self.decoder.copy_(self.decoder / self.decoder.norm(dim=1, keepdim=True))


def train_sae(
    vectors: Tensor, n_learned: int, l1: float, epochs: int, lr: float, seed: int
) -> SparseAutoencoder:
    """Full-batch Adam on ``vectors`` ``[m, d]``: loss = mean squared error + l1 * mean_i ||a_i||_1."""
    generator = torch.Generator().manual_seed(seed)
    sae = SparseAutoencoder(vectors.shape[1], n_learned, generator)
    optimizer = torch.optim.Adam(sae.parameters(), lr=lr)
    with torch.enable_grad():
        for _ in range(epochs):
            reconstruction, activations = sae(vectors)
            loss = (reconstruction - vectors).pow(2).mean() + l1 * activations.abs().sum(dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            sae.remove_parallel_gradients()
            optimizer.step()
            sae.normalise()
    return sae


def positive_only_codes(positive: Tensor, negative: Tensor, n_codes: int) -> Tensor:
    """Per column, how many code values occur in ``positive`` rows and in no ``negative`` row."""
    heads = positive.shape[1]
    seen_positive = torch.zeros(heads, n_codes, dtype=torch.bool)
    seen_negative = torch.zeros(heads, n_codes, dtype=torch.bool)
    columns = torch.arange(heads)[None, :]
    seen_positive[columns.expand_as(positive), positive] = True
    seen_negative[columns.expand_as(negative), negative] = True
    return (seen_positive & ~seen_negative).sum(dim=1)


@dataclass(frozen=True)
class SaeCodes:
    """The paper's settings (``experiments/main_results.py``): 200 codes, l1 0.02, 500 epochs, 10 examples."""

    name: str = "sae-codes"
    n_codes: int = 200
    l1: float = 0.02
    epochs: int = 500
    learning_rate: float = 1e-3
    n_examples: int = 10
    position: str = "mean"

    def parameters(self) -> dict[str, int | float | str]:
        return {
            "n_codes": self.n_codes,
            "l1": self.l1,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "n_examples": self.n_examples,
            "position": self.position,
            "node_score": "positive-only codes per head, softmax over heads",
            "edge_score": "head mentions among the first n_heads**2 / 2 of pairs ranked by positive-only "
            "code pairs",
        }

    def vectors(self, subject: Subject, tokens: Tensor) -> Tensor:
        """``[n, heads_total, d_model]``: each head's result averaged over positions (or the last one)."""
        results = head_results(subject, tokens)  # [n, layers, positions, heads, d]
        pooled = results.mean(dim=2) if self.position == "mean" else results[:, :, -1]
        return pooled.reshape(len(tokens), -1, pooled.shape[-1])

    def score(self, subject: Subject, metric: Metric, prompts: PromptSet, seed: int) -> HeadScores:
        positive = self.vectors(subject, prompts.positive)
        negative = self.vectors(subject, prompts.negative)
        everything = torch.cat([positive, negative])
        generator = torch.Generator().manual_seed(seed)
        examples = torch.randperm(len(everything), generator=generator)[: self.n_examples]
        sae = train_sae(
            everything[examples].reshape(-1, everything.shape[-1]),
            self.n_codes,
            self.l1,
            self.epochs,
            self.learning_rate,
            seed,
        )
        with torch.no_grad():
            codes = sae.codes(everything.reshape(-1, everything.shape[-1])).argmax(dim=1)
        codes = codes.reshape(len(everything), -1)
        positive_codes, negative_codes = codes[: len(positive)], codes[len(positive) :]
        node = torch.softmax(
            positive_only_codes(positive_codes, negative_codes, self.n_codes).double(), dim=0
        )
        pairs = self.pair_counts(positive_codes, negative_codes)
        return HeadScores(node.float(), self.edge_node_scores(pairs), pairs)

    def pair_counts(self, positive: Tensor, negative: Tensor) -> Tensor:
        """``[heads, heads]`` (upper triangle): code pairs of heads i < j seen only on positive prompts."""
        heads = positive.shape[1]
        counts = torch.zeros(heads, heads)
        for i in range(heads):
            for j in range(i + 1, heads):
                pos = set(zip(positive[:, i].tolist(), positive[:, j].tolist(), strict=True))
                neg = set(zip(negative[:, i].tolist(), negative[:, j].tolist(), strict=True))
                counts[i, j] = len(pos - neg)
        return counts

    def edge_node_scores(self, pairs: Tensor) -> Tensor:
        """Head mentions among the highest-ranked pairs, up to ``n_heads**2 / 2`` mentions (stable ties)."""
        heads = pairs.shape[0]
        rows, cols = torch.triu_indices(heads, heads, offset=1)
        order = torch.argsort(pairs[rows, cols], descending=True, stable=True)
        taken = order[: math.ceil(heads * heads / 2) // 2]
        mentions = torch.zeros(heads)
        mentions.index_add_(0, rows[taken], torch.ones(len(taken)))
        mentions.index_add_(0, cols[taken], torch.ones(len(taken)))
        return mentions


METHODS: dict[str, Method] = {
    method.name: method
    for method in (SaeCodes(), ActivationPatching(), AttributionPatching(), MeanDifference())
}
