"""The paper track through TransformerLens (the ``circuit-tl`` extra): attn-only-4l's checkpoint format.

``transformer-lens>=3.9,<4`` needs ``transformers>=5.9``, and the harness pins 5.3.0 (the version its
reproduced numbers were measured with), so the two cannot share an environment: this module is
deselected by default (marker ``transformer_lens``) and ``.ci/run`` runs it in a virtual environment
of its own (torch 2.13.0, transformer-lens 3.9). The model is a **randomly initialised attn-only 4 x 8
TransformerLens model and a test-built tokenizer, never a reproduction**.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from circuit_folders import attn_only_folder
from torch import Tensor

from harness.circuits import paper
from harness.circuits.methods import AttributionPatching
from harness.circuits.model import Intervention

pytestmark = pytest.mark.transformer_lens


def test_attn_only_4l_through_transformer_lens(tmp_path: Path) -> None:
    """Runs only with the ``circuit-tl`` extra (``transformer-lens>=3.9,<4``)."""
    import transformer_lens as lens

    folder = attn_only_folder(tmp_path)
    raw = json.loads((folder / "config.json").read_text())
    torch.manual_seed(0)
    original = lens.HookedTransformer(
        lens.HookedTransformerConfig(
            d_model=64, n_layers=4, n_heads=8, d_head=8, d_mlp=256, n_ctx=128, d_vocab=raw["d_vocab"],
            act_fn="solu_ln", attn_only=True, normalization_type="LN",
            positional_embedding_type="shortformer",
        )
    )  # fmt: skip
    with torch.no_grad():
        for name, parameter in original.named_parameters():
            if name.endswith(("b_Q", "b_K", "b_V", "b_O", ".b")):
                parameter.add_(torch.randn_like(parameter) * 0.1)
    torch.save(original.state_dict(), folder / "model_final.pth")
    subject, tokenizer = paper.load_subject(paper.inspect_lm(folder))
    assert isinstance(subject, paper.TransformerLensSubject) and (subject.n_layers, subject.n_heads) == (4, 8)
    problem = paper.PROBLEMS["docstring"](tokenizer)
    prompts = problem.sample(4, torch.Generator().manual_seed(0))
    negatives: list[Tensor] = []
    captured: list[Tensor] = []
    with torch.no_grad():
        reference = original(prompts.positive)[:, -1, :]
        plain = subject.last_logits(prompts.positive, capture=captured)
        _, cache = subject.model.run_with_cache(prompts.positive)
        subject.last_logits(prompts.negative, capture=negatives)
        keep = torch.ones(4, 4, 8)
        kept = subject.last_logits(prompts.positive, Intervention(keep, tuple(negatives)))
        keep[:, 3, 0] = 0.0
        patched = subject.last_logits(prompts.positive, Intervention(keep, tuple(negatives)))
    torch.testing.assert_close(
        plain - plain.mean(-1, keepdim=True), reference - reference.mean(-1, keepdim=True)
    )
    for layer, results in enumerate(captured):
        output = cache[f"blocks.{layer}.hook_attn_out"]
        torch.testing.assert_close(results.sum(dim=2) + subject.model.blocks[layer].attn.b_O, output)
    assert torch.equal(kept, plain) and (patched - plain).abs().max() > 1e-4
    scores = AttributionPatching().score(subject, problem.metric, prompts, 0)
    assert scores.node.shape == (32,) and torch.isfinite(scores.node).all()
