"""The paper track end to end: a method on a local GPT-2 folder, through the runner and the command line.

GPT-2 small's weights cannot be had here, so the subjects are **randomly initialised GPT-2-shaped
models and a test-built tokenizer, never a reproduction** (their AUCs mean nothing): one with GPT-2
small's exact shape (12 layers x 12 heads, 768 wide, 50,257 tokens) run through ``runner.run``
with 4 prompt pairs per replicate, and a narrow one (12 x 12 heads, 48 wide, the tokenizer's 561
tokens) run by ``harness run`` with the task's default 250 pairs, which the full width would take
minutes to do on 2 CPUs. The tokenizer is word-level (the ``tokenizers`` library) over every piece
the paper's prompt generators use. The rest is real: ``transformers`` loading, the hooks, the
method, the runner, the results file, the database and the CLI.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from harness import registry, runner
from harness.cli import main
from harness.models.options import ModelOptions
from harness.results import read_results, write_results
from harness.suites.circuit import SUITE
from harness.suites.circuit.paper_cards import PAPER_CHECKSUMS, PAPER_TASKS
from harness.suites.circuit.paper_task import PaperCircuitTask


def gpt2_folder(folder: Path, width: int, vocab_size: int | None) -> Path:
    """A randomly initialised GPT-2-shaped model and a test-built tokenizer, never a reproduction."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from harness.circuits.paper import PIECES

    pieces = sorted({p for make in PIECES.values() for p in make()})
    vocab = {"<unk>": 0, "<|endoftext|>": 1, **{piece: i + 2 for i, piece in enumerate(pieces)}}
    PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="<unk>")),
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<unk>",
    ).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = GPT2Config(n_layer=12, n_head=12, n_embd=width, vocab_size=vocab_size or len(vocab))
    GPT2LMHeadModel(config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def full_width(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gpt2_folder(tmp_path_factory.mktemp("gpt2-shaped"), 768, 50257)


@pytest.fixture(scope="module")
def narrow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gpt2_folder(tmp_path_factory.mktemp("gpt2-narrow"), 48, None)


def test_runner_scores_a_gpt2_folder_against_the_published_circuits(full_width: Path, tmp_path: Path) -> None:
    model = registry.load_model("attribution-patching", ModelOptions(cache_dir=tmp_path, lm_path=full_width))
    tasks = [PaperCircuitTask(spec, pairs=4) for spec in PAPER_TASKS if spec.dataset.startswith("paper-ioi")]
    record = runner.run(model, SUITE, tasks, tmp_path)
    weights = hashlib.sha256((full_width / "model.safetensors").read_bytes()).hexdigest()
    assert [r.task for r in record.results] == ["circuit/paper-ioi", "circuit/paper-ioi-acdc"]
    for result, task in zip(record.results, tasks, strict=True):
        assert 0.0 <= result.metrics["auc"] <= 1.0
        assert [r.seed for r in result.replicates] == [0, 1, 2]
        assert result.inputs.verified is False
        assert result.inputs.files == {
            "gpt2-small.ground-truth.json": PAPER_CHECKSUMS["gpt2-small.ground-truth.json"],
            "lm/model.safetensors": weights,
        }
        assert result.settings["pairs"] == 4 and result.settings["ground_truth"] == task.spec.variant
        assert result.predictions is not None and len(result.predictions.values) == 3 * 144
        assert task.check(result, task.load(tmp_path)) is False  # consistent, but the weights are the user's
    path = write_results(record, tmp_path / "results")
    assert read_results(path).results[0].metrics == record.results[0].metrics


def run_flags(tmp_path: Path) -> list[str]:
    """``harness run`` of attribution patching on ``paper-ioi``, writing only under ``tmp_path``."""
    return [
        "run", "--suite", "circuit", "--model", "attribution-patching", "--datasets", "paper-ioi",
        "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--data-dir", str(tmp_path),
        "--results-dir", str(tmp_path / "results"),
    ]  # fmt: skip


def test_harness_run_with_lm_path_runs_the_default_pairs(
    narrow: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "r.json"
    code = main(
        [
            *run_flags(tmp_path), "--lm-path", str(narrow), "--cache-dir", str(tmp_path / "cache"),
            "--output", str(output), "--quiet",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    (result,) = read_results(output).results
    assert result.task == "circuit/paper-ioi" and result.settings["pairs"] == 250
    assert 0.0 <= result.metrics["auc"] <= 1.0 and len(result.replicates) == 3
    assert result.inputs.verified is False and "lm/model.safetensors" in result.inputs.files


def test_a_missing_lm_path_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*run_flags(tmp_path), "--lm-path", str(tmp_path / "nowhere")])
    assert code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("harness: --lm-path: ") and "nowhere" in line
    assert not (tmp_path / "results").exists()
