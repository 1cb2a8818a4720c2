"""The toy transformer's head results: exact decomposition, interventions, determinism of training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.circuits.model import AttentionOnlyTransformer, Intervention, ToyConfig, load, save
from harness.circuits.problems import MIX4_VOCABULARY, Docstring, GreaterThan, IndirectObject, Induction
from harness.circuits.subject import ToySubject, head_results
from harness.circuits.training import INDUCTION_2L4H, train

CONFIG = ToyConfig(n_layers=2, n_heads=4, d_model=32, d_head=8, vocab=50, context=12)


def model() -> AttentionOnlyTransformer:
    torch.manual_seed(0)
    return AttentionOnlyTransformer(CONFIG).eval()


def tokens() -> torch.Tensor:
    return torch.randint(0, 50, (6, 11), generator=torch.Generator().manual_seed(1))


def test_keeping_every_head_changes_nothing() -> None:
    toy = model()
    replacement = tuple(torch.randn(11, 4, 32) for _ in range(2))
    keep = Intervention(torch.ones(6, 2, 4), replacement)
    with torch.no_grad():
        assert torch.equal(toy(tokens()), toy(tokens(), keep))


def test_replacing_a_head_by_its_own_result_changes_nothing() -> None:
    toy = model()
    own = head_results(ToySubject(toy), tokens())  # [n, layers, positions, heads, d]
    keep = torch.ones(6, 2, 4)
    keep[:, 1, 2] = 0.0
    with torch.no_grad():
        patched = toy(tokens(), Intervention(keep, tuple(own[:, layer] for layer in range(2))))
        assert torch.allclose(patched, toy(tokens()), atol=1e-6)
        moved = toy(tokens(), Intervention(keep, tuple(torch.zeros(1) for _ in range(2))))
    assert not torch.allclose(moved, toy(tokens()), atol=1e-4)  # zero-ablating a head does change it


def test_head_results_are_causal() -> None:
    toy = model()
    changed = tokens().clone()
    changed[:, -1] = (changed[:, -1] + 1) % 50
    before, after = head_results(ToySubject(toy), tokens()), head_results(ToySubject(toy), changed)
    assert torch.equal(before[:, :, :-1], after[:, :, :-1])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    toy = model()
    weights, config = save(toy, tmp_path, "toy")
    again = load(weights, config)
    with torch.no_grad():
        assert torch.equal(toy(tokens()), again(tokens()))


def test_training_is_deterministic(one_torch_thread: None) -> None:
    first = train(INDUCTION_2L4H, seed=3, steps=5).model
    second = train(INDUCTION_2L4H, seed=3, steps=5).model
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("problem", [Induction, IndirectObject, GreaterThan, Docstring])
def test_prompts_pair_up(problem: type) -> None:
    task = problem(MIX4_VOCABULARY, 24)
    prompts = task.sample(50, torch.Generator().manual_seed(0))
    assert prompts.positive.shape == prompts.negative.shape == (50, 23)
    differs = (prompts.positive != prompts.negative).sum(dim=1)
    assert bool((differs >= 1).all())  # every negative destroys something
    assert int(prompts.positive.max()) < MIX4_VOCABULARY.size
    training = task.training(8, torch.Generator().manual_seed(0))
    assert training.shape == (8, 24)


def test_induction_positive_has_its_answer_once_before() -> None:
    prompts = Induction(MIX4_VOCABULARY, 24).sample(100, torch.Generator().manual_seed(0))
    for positive, negative, answer in zip(prompts.positive, prompts.negative, prompts.answer, strict=True):
        current = positive[-1]
        assert int((positive[:-1] == current).sum()) == 1
        where = int((positive[:-1] == current).nonzero()[0, 0])
        assert positive[where + 1] == answer
        assert int((negative[:-1] == current).sum()) == 0  # the first copy is gone
