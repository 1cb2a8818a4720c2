"""Retraining the induction toy from scratch: the mechanism forms, and its ground truth holds.

``slow``: 3,000 steps of the 2-layer model (45-75 s on one busy CPU thread) plus an exhaustive
ground-truth search. The committed checkpoints are not compared bit for bit (another torch build or
CPU may move the last bits); what must hold is the mechanism (Olsson et al. 2022): one layer-0 head
attends to the previous token, and mean-ablating it alone costs more than 1 nat of the answer's
log-probability on held-out positive prompts.
"""

from __future__ import annotations

import pytest
import torch

from harness.circuits.ablation import keep_metric, replacement_of
from harness.circuits.subject import ToySubject
from harness.circuits.training import INDUCTION_2L4H, train
from harness.suites.circuit.build import HELD_OUT, derive_ground_truth
from harness.suites.circuit.spec import held_out_seed


@pytest.mark.slow
def test_retrained_induction_model_forms_its_mechanism(one_torch_thread: None) -> None:
    model = train(INDUCTION_2L4H, seed=0).model
    subject = ToySubject(model)
    (problem,) = INDUCTION_2L4H.problems
    prompts = problem.sample(HELD_OUT, torch.Generator().manual_seed(held_out_seed(0)))
    patterns: list[torch.Tensor] = []
    with torch.no_grad():
        logits = model(prompts.positive, patterns=patterns)[:, -1]
    accuracy = float((logits.argmax(dim=1) == prompts.answer).float().mean())
    assert accuracy > 0.8
    positions = torch.arange(1, prompts.positive.shape[1])
    previous = patterns[0][:, :, positions, positions - 1].mean(dim=(0, 2))  # per layer-0 head
    head = int(previous.argmax())
    assert float(previous[head]) > 0.3, previous  # uniform attention would give 0.12 on average here
    replacement = replacement_of("mean", subject, prompts)
    keep = torch.ones(2, 4)
    full = keep_metric(subject, problem.metric, prompts, keep, replacement)
    keep[0, head] = 0.0
    ablated = keep_metric(subject, problem.metric, prompts, keep, replacement)
    assert full - ablated > 1.0, (full, ablated)
    truth, circuits = derive_ground_truth(INDUCTION_2L4H, 0, model, "0" * 64)
    circuit = circuits["induction"]["mean"]
    assert circuit.faithfulness >= 0.9 and head in circuit.heads
    assert f"0.{head}" in truth.circuits["induction"]["mean"].heads
