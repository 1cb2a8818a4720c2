"""Folders the circuit paper-track tests build: a test tokenizer and a TransformerLens-native checkpoint.

Randomly initialised models and a test-built tokenizer, never a reproduction (see the test modules).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.circuits import paper


def build_tokenizer(folder: Path, leave_out: tuple[str, ...] = ()) -> int:
    """A word-level tokenizer over every generator piece (each one token), saved into ``folder``."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    pieces = sorted({p for make in paper.PIECES.values() for p in make()} - set(leave_out))
    vocab = {"<unk>": 0, "<|endoftext|>": 1, **{piece: i + 2 for i, piece in enumerate(pieces)}}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="<unk>")),
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<unk>",
    )
    fast.save_pretrained(str(folder))
    return len(vocab)


def attn_only_folder(folder: Path) -> Path:
    """A TransformerLens-native attn-only 4 x 8 checkpoint, randomly initialised (never a reproduction)."""
    vocab = build_tokenizer(folder)
    config = {
        "d_model": 64, "n_layers": 4, "n_heads": 8, "d_head": 8, "d_mlp": 256, "n_ctx": 128, "d_vocab": vocab,
        "act_fn": "solu_ln", "attn_only": True, "normalization": "LN", "shortformer_pos": True,
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    return folder
