"""Ground truth by ablation: the smallest head set that keeps the task solved when all others are replaced.

Two replacements, because the ground truth depends on the contrast (``shared/research/CIRCUITS.md``
§3b; the ACDC paper, Conmy et al. 2023, saw the same for its corrupted distributions):

- ``mean``: a head outside the circuit writes its mean result over the held-out prompts (positive
  and negative), per position;
- ``contrast``: it writes its result on the prompt's negative (activation patching from the
  negative prompts).

Faithfulness of a head set S is ``(m(S) - m(none)) / (m(all) - m(none))``, with ``m`` the mean
metric over the held-out positive prompts when only S keeps its own results. The circuit is the
smallest S with faithfulness >= ``threshold`` (0.9): exhaustive over all subsets up to
``EXHAUSTIVE_MAX_HEADS`` heads. Above that, backward elimination in a fixed order, as
CIRCUITS.md §7 advises beyond exhaustive sizes: heads are ordered by the faithfulness the full set
keeps without each one alone (least needed first; ties: lowest index), then each in turn is dropped
if the set without it still reaches the threshold (2n + 2 evaluations instead of the O(n²) of
re-ranking at every step, which took 1.6-2 s an evaluation and tens of minutes a circuit for the
3 x 8 model on these CPUs). The result is a minimal set in that order, not necessarily the smallest
of all; its faithfulness is recorded with it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from harness.circuits.model import Intervention
from harness.circuits.problems import PromptSet
from harness.circuits.subject import Metric, Subject, head_results, metric_of

Replacement = Literal["mean", "contrast"]
EXHAUSTIVE_MAX_HEADS = 12
THRESHOLD = 0.9


def head_name(index: int, n_heads: int) -> str:
    """``layer.head`` as the literature writes heads (``9.9`` is GPT-2's name mover)."""
    return f"{index // n_heads}.{index % n_heads}"


def replacement_of(kind: Replacement, subject: Subject, prompts: PromptSet) -> tuple[Tensor, ...]:
    """Per layer: ``[positions, heads, d_model]`` means, or ``[n, positions, heads, d_model]`` negatives."""
    if kind == "mean":
        both = head_results(subject, torch.cat([prompts.positive, prompts.negative]))
        return tuple(both.mean(dim=0).unbind(0))
    return tuple(head_results(subject, prompts.negative).unbind(1))


def keep_metric(
    subject: Subject,
    metric: Metric,
    prompts: PromptSet,
    keep: Tensor,
    replacement: tuple[Tensor, ...],
    batch_size: int = 500,
) -> float:
    """Mean metric over the positive prompts when only the heads in ``keep`` (``[layers, heads]``) act."""
    total = 0.0
    for start in range(0, len(prompts), batch_size):
        index = torch.arange(start, min(start + batch_size, len(prompts)))
        part = prompts.take(index)
        layers = tuple(r if r.dim() == 3 else r[index] for r in replacement)
        intervention = Intervention(keep.expand(len(index), -1, -1).float(), layers)
        total += float(metric_of(subject, metric, part, part.positive, intervention).sum())
    return total / len(prompts)


@dataclass(frozen=True)
class Circuit:
    """A ground-truth circuit: its heads (flat indices, layer-major), faithfulness and the metric's ends."""

    heads: tuple[int, ...]
    faithfulness: float
    metric_all: float
    metric_none: float
    replacement: Replacement
    search: Literal["exhaustive", "fixed-order"]


def find_circuit(
    subject: Subject,
    metric: Metric,
    prompts: PromptSet,
    kind: Replacement,
    threshold: float = THRESHOLD,
) -> Circuit:
    """The smallest head set with faithfulness >= ``threshold`` (see the module docstring)."""
    layers, heads = subject.n_layers, subject.n_heads
    total = layers * heads
    replacement = replacement_of(kind, subject, prompts)

    def score(members: tuple[int, ...]) -> float:
        keep = torch.zeros(total)
        keep[list(members)] = 1.0
        return keep_metric(subject, metric, prompts, keep.reshape(layers, heads), replacement)

    everything = tuple(range(total))
    full, none = score(everything), score(())
    span = full - none
    if span <= 0:
        raise ValueError(f"the task is not solved: metric {full:.4f} with every head, {none:.4f} with none")

    def faith(members: tuple[int, ...]) -> float:
        return (score(members) - none) / span

    if total <= EXHAUSTIVE_MAX_HEADS:
        for size in range(total + 1):
            scored = [(faith(members), members) for members in itertools.combinations(everything, size)]
            passing = [item for item in scored if item[0] >= threshold]
            if passing:
                best = max(passing, key=lambda item: (item[0], [-h for h in item[1]]))
                return Circuit(best[1], best[0], full, none, kind, "exhaustive")
    alone = {head: faith(tuple(h for h in everything if h != head)) for head in everything}
    order = sorted(everything, key=lambda head: (-alone[head], head))
    current, current_faith = everything, 1.0
    for drop in order:
        trial = tuple(h for h in current if h != drop)
        trial_faith = faith(trial)
        if trial_faith >= threshold:
            current, current_faith = trial, trial_faith
    return Circuit(current, current_faith, full, none, kind, "fixed-order")
