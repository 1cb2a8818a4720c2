"""Training the toy models, seeded and deterministic on a CPU: the two models of the toy track.

``induction-2l4h`` (2 layers x 4 heads, induction only) and ``mix4-3l8h`` (3 layers x 8 heads:
induction, IOI-like, greater-than-like and docstring-like), with the settings measured in
``shared/research/CIRCUITS.md`` §3: AdamW, lr 1e-3, weight decay 0.01, batch 64, next-token loss on
every position, 3,000 and 5,000 steps. Weights start as torch's ``nn.Embedding`` (N(0, 1)) and
``nn.Linear`` (uniform, 1/sqrt(fan-in)) start theirs. The start matters, measured
on the induction model (seed 0, 3,000 steps): with every matrix at 1/sqrt(fan-in) and small
embeddings it had no induction heads yet (top-1 accuracy 0.28 on positive prompts); with
TransformerLens's start (all N(0, 0.8/sqrt(d_model))) it solved the task (0.94) with the
previous-token work spread over all four layer-0 heads (attention to t-1 at most 0.38), so every
head joined the ground truth on some seed; with torch's start (the committed seeds 0-2) it solved it
(top-1 0.93-0.97 on held-out positive prompts) with a clear previous-token head (0.2, weight 0.70-0.71
on t-1) and a 6- or 7-head circuit.

Batches are drawn from one ``torch.Generator`` seeded with the model seed, and every problem has an
equal share of each batch.

Determinism: the same seed and torch build give the same weights bit for bit on one CPU thread,
which is how the CLI trains (``harness circuit train-toy``); with more threads the embedding
gradient's sums are threaded and the last bits move.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional

from harness.circuits.model import AttentionOnlyTransformer, ToyConfig
from harness.circuits.problems import (
    INDUCTION_VOCABULARY,
    MIX4_VOCABULARY,
    Docstring,
    GreaterThan,
    IndirectObject,
    Induction,
    Problem,
)

CONTEXT = 24


@dataclass(frozen=True)
class ToySpec:
    """A toy model: its shape, its problems and how it is trained."""

    name: str
    config: ToyConfig
    problems: tuple[Problem, ...]
    steps: int
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.01

    def problem(self, name: str) -> Problem:
        for problem in self.problems:
            if problem.name == name:
                return problem
        raise KeyError(name)

    def settings(self) -> dict[str, int | float | str]:
        return {
            "steps": self.steps,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "optimizer": "AdamW",
            "loss": "next-token cross-entropy on every position",
        }


INDUCTION_2L4H = ToySpec(
    "induction-2l4h",
    ToyConfig(n_layers=2, n_heads=4, d_model=64, d_head=16, vocab=INDUCTION_VOCABULARY.size, context=CONTEXT),
    (Induction(INDUCTION_VOCABULARY, CONTEXT),),
    steps=3000,
)
MIX4_3L8H = ToySpec(
    "mix4-3l8h",
    ToyConfig(n_layers=3, n_heads=8, d_model=128, d_head=16, vocab=MIX4_VOCABULARY.size, context=CONTEXT),
    (
        Induction(MIX4_VOCABULARY, CONTEXT),
        IndirectObject(MIX4_VOCABULARY, CONTEXT),
        GreaterThan(MIX4_VOCABULARY, CONTEXT),
        Docstring(MIX4_VOCABULARY, CONTEXT),
    ),
    steps=5000,
)
TOYS = {spec.name: spec for spec in (INDUCTION_2L4H, MIX4_3L8H)}

Progress = Callable[[int, float], None]
"""Called every 100 steps with the step and the mean loss since the last call."""


@dataclass(frozen=True)
class Trained:
    model: AttentionOnlyTransformer
    seconds: float
    final_loss: float


def train(spec: ToySpec, seed: int, progress: Progress | None = None, steps: int | None = None) -> Trained:
    """Train ``spec`` from ``seed`` (weights and data); ``steps`` overrides the spec's (tests)."""
    torch.manual_seed(seed)
    model = AttentionOnlyTransformer(spec.config)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, weight_decay=spec.weight_decay)
    share = spec.batch_size // len(spec.problems)
    total_steps = spec.steps if steps is None else steps
    start = time.perf_counter()
    running, count, last = 0.0, 0, float("nan")
    model.train()
    for step in range(1, total_steps + 1):
        batch = torch.cat([problem.training(share, generator) for problem in spec.problems])
        logits = model(batch[:, :-1])
        loss = functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        running += float(loss.detach())
        count += 1
        if step % 100 == 0 or step == total_steps:
            last = running / count
            if progress is not None:
                progress(step, last)
            running, count = 0.0, 0
    model.eval()
    return Trained(model, time.perf_counter() - start, last)
