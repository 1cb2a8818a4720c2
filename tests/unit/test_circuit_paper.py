"""The paper track's parts (``harness/circuits/paper.py``, ``paper_cards.py``) on a GPT-2-shaped model.

GPT-2 small's weights cannot be had here, so the subject is a **randomly initialised GPT-2-shaped
model and a test-built tokenizer, never a reproduction**: ``GPT2LMHeadModel(GPT2Config())`` (GPT-2
small's shape: 12 layers x 12 heads, 768 wide, 50,257 tokens; biases and LayerNorm parameters drawn
at random too, so folding the value biases is exercised), saved as a Hugging Face folder, with a
word-level tokenizer (the ``tokenizers`` library, no pre-tokenizer) whose vocabulary is every piece
the generators use. Everything else is the real code: ``transformers`` loading, the hooks, the
generators, the methods and the committed ground-truth files. The TransformerLens path has its own
module (``test_circuit_transformer_lens.py``), run by CI in an environment of its own.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from circuit_folders import attn_only_folder, build_tokenizer
from torch import Tensor

from harness.circuits import paper
from harness.circuits.methods import AttributionPatching
from harness.circuits.model import Intervention
from harness.circuits.problems import PromptSet
from harness.errors import SettingError
from harness.models.circuit_methods import CircuitMethod
from harness.models.protocols import ModelInfo
from harness.suites.circuit import SUITE
from harness.suites.circuit.ground_truth import read_ground_truth
from harness.suites.circuit.paper_cards import PAPER_CARDS, PAPER_CHECKSUMS, PAPER_FOLDER, PAPER_TASKS
from harness.suites.circuit.paper_task import PaperCircuitTask, fits


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Randomly initialised GPT-2-shaped model and a test-built tokenizer, never a reproduction."""
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path_factory.mktemp("gpt2-shaped")
    build_tokenizer(folder)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config())
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                parameter.add_(torch.randn_like(parameter) * 0.1)
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def loaded(gpt2_folder: Path) -> tuple[paper.GPT2Subject, Any]:
    subject, tokenizer = paper.load_subject(paper.inspect_lm(gpt2_folder))
    assert isinstance(subject, paper.GPT2Subject)
    return subject, tokenizer


@pytest.fixture(scope="module")
def ioi(loaded: tuple[paper.GPT2Subject, Any]) -> tuple[paper.PaperProblem, PromptSet]:
    problem = paper.PROBLEMS["ioi"](loaded[1])
    return problem, problem.sample(6, torch.Generator().manual_seed(0))


def test_the_folder_is_gpt2_small_shaped_and_loads_frozen_in_float32(
    gpt2_folder: Path, loaded: tuple[paper.GPT2Subject, Any]
) -> None:
    folder = paper.inspect_lm(gpt2_folder)
    assert (folder.subject, folder.n_layers, folder.n_heads, folder.format) == (
        "gpt2-small",
        12,
        12,
        "huggingface",
    )
    subject, _ = loaded
    assert (subject.n_layers, subject.n_heads) == (12, 12)
    parameters = list(subject.model.parameters())
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in parameters)
    assert not subject.model.training
    assert [p.name for p in paper.weight_files(gpt2_folder)] == ["model.safetensors"]


def _observed_outputs(
    subject: paper.GPT2Subject, tokens: Tensor
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """Each layer's unhooked ``c_proj`` output (an observer registered before the subject's hook)."""
    outputs: list[Tensor] = []
    handles = [
        block.attn.c_proj.register_forward_hook(lambda module, args, output: outputs.append(output.detach()))
        for block in subject.model.transformer.h
    ]
    captured: list[Tensor] = []
    try:
        with torch.no_grad():
            logits = subject.last_logits(tokens, capture=captured)
    finally:
        for handle in handles:
            handle.remove()
    return outputs, captured, logits


def test_raw_head_results_sum_to_the_attention_output(
    loaded: tuple[paper.GPT2Subject, Any], ioi: tuple[paper.PaperProblem, PromptSet]
) -> None:
    raw = paper.GPT2Subject(loaded[0].model, convention="raw")
    outputs, captured, _ = _observed_outputs(raw, ioi[1].positive)
    assert len(captured) == 12
    for layer, (output, results) in enumerate(zip(outputs, captured, strict=True)):
        assert results.shape == (6, ioi[1].positive.shape[1], 12, 768)
        bias = raw.model.transformer.h[layer].attn.c_proj.bias
        torch.testing.assert_close(results.sum(dim=2) + bias, output, atol=1e-5, rtol=0)


def test_transformer_lens_results_are_centred_and_keep_the_logits(
    loaded: tuple[paper.GPT2Subject, Any], ioi: tuple[paper.PaperProblem, PromptSet]
) -> None:
    subject, tokens = loaded[0], ioi[1].positive
    assert subject.convention == "transformer-lens"
    outputs, captured, logits = _observed_outputs(subject, tokens)
    for results in captured:
        assert results.mean(dim=-1).abs().max() < 1e-5  # written centred over d_model
    _, raw_captured, _ = _observed_outputs(paper.GPT2Subject(subject.model, convention="raw"), tokens)
    assert (captured[0] - raw_captured[0]).abs().max() > 1e-3  # the value biases were folded out
    with torch.no_grad():
        unhooked = subject.model(tokens).logits[:, -1, :]
    torch.testing.assert_close(logits, unhooked, atol=1e-4, rtol=1e-4)


def test_keeping_every_head_gives_identical_logits_and_patching_one_changes_them(
    loaded: tuple[paper.GPT2Subject, Any], ioi: tuple[paper.PaperProblem, PromptSet]
) -> None:
    subject, prompts = loaded[0], ioi[1]
    negatives: list[Tensor] = []
    with torch.no_grad():
        plain = subject.last_logits(prompts.positive)
        subject.last_logits(prompts.negative, capture=negatives)
        keep = torch.ones(len(prompts), 12, 12)
        kept = subject.last_logits(prompts.positive, Intervention(keep, tuple(negatives)))
        keep[:, 9, 9] = 0.0
        captured: list[Tensor] = []
        patched = subject.last_logits(prompts.positive, Intervention(keep, tuple(negatives)), captured)
    assert torch.equal(kept, plain)
    assert (patched - plain).abs().max() > 1e-4
    torch.testing.assert_close(captured[9][:, :, 9], negatives[9][:, :, 9])  # capture holds what was used


def test_attribution_patching_gets_gradients_through_the_hooks(
    loaded: tuple[paper.GPT2Subject, Any], ioi: tuple[paper.PaperProblem, PromptSet]
) -> None:
    subject, (problem, prompts) = loaded[0], ioi
    captured: list[Tensor] = []
    with torch.enable_grad():
        logits = subject.last_logits(prompts.positive, capture=captured)
        for results in captured:
            results.retain_grad()
        problem.metric(logits, prompts).mean().backward()  # type: ignore[no-untyped-call]
    grads = [results.grad for results in captured]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    scores = AttributionPatching().score(subject, problem.metric, prompts, 0)
    assert scores.node.shape == (144,) and torch.isfinite(scores.node).all() and scores.node.sum() > 0


@pytest.mark.parametrize("name", sorted(paper.PROBLEMS))
def test_generators_give_equal_length_pairs_of_single_token_pieces(
    loaded: tuple[paper.GPT2Subject, Any], name: str
) -> None:
    tokenizer = loaded[1]
    problem = paper.PROBLEMS[name](tokenizer)
    prompts = problem.sample(40, torch.Generator().manual_seed(1))
    again = problem.sample(40, torch.Generator().manual_seed(1))
    assert torch.equal(prompts.positive, again.positive) and torch.equal(prompts.negative, again.negative)
    assert prompts.positive.shape == prompts.negative.shape and prompts.positive.shape[0] == 40
    assert (prompts.positive[:, 0] == tokenizer.bos_token_id).all()
    assert (prompts.positive != prompts.negative).any(dim=1).all()  # every negative is corrupted
    pieces = set(paper.PIECES[name]())
    for row in torch.cat([prompts.positive, prompts.negative])[:, 1:].tolist():
        assert all(token in pieces for token in tokenizer.convert_ids_to_tokens(row))
    for piece in pieces:  # each piece is one token (as token_table requires)
        assert len(tokenizer.encode(piece, add_special_tokens=False)) == 1


def test_every_ioi_template_has_one_length_and_the_negative_repeats_no_name(
    loaded: tuple[paper.GPT2Subject, Any], ioi: tuple[paper.PaperProblem, PromptSet]
) -> None:
    assert len(paper.IOI_FORMS) == 2 * len(paper.IOI_TEMPLATES)  # no template left out by equal_length
    tokenizer, prompts = loaded[1], ioi[1]
    names = {" " + name for name in paper.NAMES}
    for positive, negative, answer in zip(prompts.positive, prompts.negative, prompts.answer, strict=True):
        clean = [t for t in tokenizer.convert_ids_to_tokens(positive.tolist()) if t in names]
        corrupt = [t for t in tokenizer.convert_ids_to_tokens(negative.tolist()) if t in names]
        io = tokenizer.convert_ids_to_tokens([int(answer)])[0]
        assert len(clean) == 3 and clean.count(io) == 1 and len(set(clean)) == 2  # S twice, IO once
        assert len(corrupt) == 3 and len(set(corrupt)) == 3 and io in corrupt[:2]  # IO kept, no repeat
        assert corrupt[2] == clean[2]  # the second clause's subject is unchanged


def test_equal_length_keeps_the_most_common_length() -> None:
    forms = [("a", "b"), ("a", "b", "c"), ("d", "e"), ("f",)]
    assert paper.equal_length(forms) == (("a", "b"), ("d", "e"))


def test_greater_than_metric_is_the_probability_difference(loaded: tuple[paper.GPT2Subject, Any]) -> None:
    problem = paper.GreaterThanPrompts.from_tokenizer(loaded[1])
    prompts = problem.sample(3, torch.Generator().manual_seed(0))
    assert prompts.answer.tolist() == [2, 3, 4]
    logits = torch.full((3, len(loaded[1])), -1e4)
    logits[0, loaded[1].convert_tokens_to_ids("99")] = 10.0  # all mass above YY = 02
    logits[1, loaded[1].convert_tokens_to_ids("01")] = 10.0  # all mass below YY = 03
    logits[2, loaded[1].convert_tokens_to_ids("04")] = 10.0  # YY itself counts as not above
    metric = problem.metric(logits, prompts)
    assert (
        metric[0] == pytest.approx(1.0)
        and metric[1] == pytest.approx(-1.0)
        and metric[2] == pytest.approx(-1.0)
    )


def test_a_piece_that_is_not_one_token_is_named(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    build_tokenizer(tmp_path, leave_out=(" Mary",))
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path), local_files_only=True)
    with pytest.raises(ValueError, match="' Mary'"):
        paper.IoiPrompts.from_tokenizer(tokenizer)
    paper.GreaterThanPrompts.from_tokenizer(tokenizer)  # the other generators do not use it


def test_ground_truth_files_validate_and_match_their_checksums() -> None:
    files = sorted(path.name for path in PAPER_FOLDER.glob("*.json"))
    assert files == sorted(PAPER_CHECKSUMS)
    for name, sha in PAPER_CHECKSUMS.items():
        assert hashlib.sha256((PAPER_FOLDER / name).read_bytes()).hexdigest() == sha
    for subject, card in PAPER_CARDS.items():
        assert card.splits["test"].members == {
            f"{subject}.ground-truth.json": PAPER_CHECKSUMS[card.name + ".ground-truth.json"]
        }
    gpt2 = read_ground_truth(PAPER_FOLDER / "gpt2-small.ground-truth.json")
    attn = read_ground_truth(PAPER_FOLDER / "attn-only-4l.ground-truth.json")
    assert (gpt2.n_layers, gpt2.n_heads, attn.n_layers, attn.n_heads) == (12, 12, 4, 8)
    acdc, oneill = (set(gpt2.circuits["ioi"][v].heads) for v in ("acdc", "oneill2024"))
    assert len(acdc) == len(oneill) == 26 and acdc - oneill == {"9.0"} and oneill - acdc == {"11.3"}
    greater = gpt2.circuits["greater-than"]
    assert set(greater["acdc"].heads) == set(greater["oneill2024"].heads) == {
        "0.1", "0.3", "0.5", "5.5", "6.1", "6.9", "7.10", "8.11", "9.1"
    }  # fmt: skip
    docstring = attn.circuits["docstring"]
    assert set(docstring["acdc"].heads) - set(docstring["oneill2024"].heads) == {"1.2"}
    assert set(docstring["oneill2024"].heads) - set(docstring["acdc"].heads) == {"1.0"}
    references = [(gpt2, "ioi", 0.868), (gpt2, "greater-than", 0.855), (attn, "docstring", 0.869)]
    for truth, task, auc in references:
        assert truth.circuits[task]["oneill2024"].rule["paper_node_auc"] == auc
        assert "10fd2e7826df9399b6189e5695a631898f4fe116" in truth.circuits[task]["oneill2024"].source
        assert "bc99ace817974b5584b7ee203d596a8e2bbcd399" in truth.circuits[task]["acdc"].source


def _method(lm_path: Path | None) -> CircuitMethod:
    return CircuitMethod(
        ModelInfo(id="attribution-patching", kind="circuit", source="builtin"), AttributionPatching(), lm_path
    )


def test_the_suite_runs_each_paper_task_on_its_own_subject(gpt2_folder: Path, tmp_path: Path) -> None:
    attn = tmp_path / "attn-only-4l"
    attn.mkdir()
    config = {"n_layers": 4, "n_heads": 8, "d_model": 512, "d_head": 64, "attn_only": True, "n_ctx": 2048}
    (attn / "config.json").write_text(json.dumps(config))
    for lm, expected in ((gpt2_folder, "gpt2-small"), (attn, "attn-only-4l")):
        ran = {name for name, task in SUITE.tasks.items() if SUITE.runs(task, _method(lm))}
        assert ran == {spec.dataset for spec in PAPER_TASKS if spec.subject == expected}
    toys = {name for name, task in SUITE.tasks.items() if SUITE.runs(task, _method(None))}
    assert toys and not toys & {spec.dataset for spec in PAPER_TASKS}
    small = tmp_path / "gpt2-medium"
    small.mkdir()
    (small / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 24, "n_head": 16}))
    with pytest.raises(SettingError, match="GPT-2 small's"):
        fits(PaperCircuitTask(PAPER_TASKS[0]), small)
    (small / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(SettingError) as raised:
        SUITE.runs(SUITE.tasks["paper-ioi"], _method(small))
    assert raised.value.setting == "lm_path" and "\n" not in str(raised.value)


def test_attn_only_4l_without_transformer_lens_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "transformer_lens", None)  # as where the extra is not installed
    (tmp_path / "model_final.pth").write_bytes(b"")  # never read: the import fails first
    folder = paper.inspect_lm(attn_only_folder(tmp_path))
    assert (folder.subject, folder.format) == ("attn-only-4l", "transformer-lens")
    with pytest.raises(paper.LmFolderError) as raised:
        paper.load_subject(folder)
    message = str(raised.value)
    assert "\n" not in message and paper.TL_EXTRA in message
