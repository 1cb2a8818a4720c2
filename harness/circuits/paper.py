"""The paper track: GPT-2 small and attn-only-4l as ``Subject``s, and the paper's three prompt sets.

O'Neill & Bui 2024 (arXiv:2405.12522; code ``charlieoneill11/sae-circuits`` @ 10fd2e7) score heads
of GPT-2 small on IOI and greater-than and of TransformerLens's ``attn-only-4l`` on docstring. The
weights cannot be had on this project's machines, so this module only *reads* a user's local
folder (``--lm-path``); ``shared/research/CIRCUITS.md`` §2 and §5.3 are its spec.

Subjects:

- ``GPT2Subject``: a ``transformers`` ``GPT2LMHeadModel``, each head's result taken by a forward
  hook on its block's attention output projection (``attn.c_proj``, a ``Conv1D`` whose weight rows
  are the heads' ``d_head`` slices in order), read, replaced and summed back there. By default the
  results are those TransformerLens computes for the paper's ``from_pretrained("gpt2-small")``
  (value biases folded into the output bias, writes centred over ``d_model``), so the sparse
  autoencoder sees the paper's vectors; ``convention="raw"`` gives ``z_h @ W_O[h]`` as GPT-2 has it.
  Both leave the logits unchanged (every read of GPT-2's residual stream is a LayerNorm).
- ``TransformerLensSubject``: a ``HookedTransformer`` through ``blocks.L.attn.hook_result``; it
  loads the TransformerLens-native attn-only-4l checkpoint and needs the optional extra
  ``circuit-tl`` (``transformer-lens>=3.9,<4``), imported only when such a folder is loaded.

Prompts (``IoiPrompts``, ``GreaterThanPrompts``, ``DocstringPrompts``) are reimplemented from the
paper's and ACDC's descriptions, not copied. Each prompt is a list of text *pieces* that must each
encode to exactly one token of the subject's tokenizer, so a prompt's token length is fixed by its
template: positives and negatives line up position by position, and a per-position mean (the
paper's ``position="mean"``) averages like with like. Every prompt starts with the tokenizer's BOS
token, as TransformerLens's ``to_tokens`` (``prepend_bos=True``) gives the paper's and ACDC's runs.
"""

from __future__ import annotations

import importlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import torch
from torch import Tensor, nn

from harness.circuits import PAPER_SUBJECTS
from harness.circuits.model import Intervention
from harness.circuits.problems import PromptSet
from harness.circuits.subject import Subject

if TYPE_CHECKING:
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerBase

T = TypeVar("T")

TL_EXTRA = "pip install -e '.[circuit-tl]'"
"""How to get TransformerLens (``transformer-lens>=3.9,<4``: 4.x removed ``HookedTransformer``)."""


class LmFolderError(ValueError):
    """A ``--lm-path`` folder that cannot serve as a paper subject; the message is one line."""


# --- prompts -----------------------------------------------------------------------------------


class PaperProblem(Protocol):
    """One of the paper's tasks: paired prompts of a subject's tokenizer and a per-prompt metric."""

    @property
    def name(self) -> str: ...

    def sample(self, n: int, generator: torch.Generator) -> PromptSet: ...

    def metric(self, logits: Tensor, prompts: PromptSet) -> Tensor:
        """Per-prompt score ``[n]`` of the last position's ``logits`` ``[n, vocab]`` (higher: solved)."""
        ...


@dataclass(frozen=True)
class TokenTable:
    """The one token id of every piece a generator may emit, and the BOS id every prompt starts with."""

    ids: Mapping[str, int]
    bos: int

    def encode(self, pieces: Iterable[str]) -> list[int]:
        return [self.bos, *(self.ids[piece] for piece in pieces)]


def token_table(tokenizer: PreTrainedTokenizerBase, pieces: Iterable[str]) -> TokenTable:
    """Each piece's single token under ``tokenizer``.

    Raises:
        ValueError: a piece is not exactly one known token (its name and its tokens are given), or
            the tokenizer has no BOS token.
    """
    unknown = tokenizer.unk_token_id
    ids: dict[str, int] = {}
    for piece in pieces:
        if piece in ids:
            continue
        encoded = tokenizer.encode(piece, add_special_tokens=False)
        if len(encoded) != 1 or (unknown is not None and encoded[0] == unknown):
            raise ValueError(
                f"prompt piece {piece!r} is {len(encoded)} token(s) {encoded} under this tokenizer, not one "
                "known token; the paper's prompts are built from single-token pieces"
            )
        ids[piece] = int(encoded[0])
    bos = tokenizer.bos_token_id
    if bos is None:
        raise ValueError("the tokenizer has no BOS token; the paper's prompts start with one (prepend_bos)")
    return TokenTable(ids, int(bos))


def _pick(options: Sequence[T], generator: torch.Generator) -> T:
    return options[int(torch.randint(len(options), (1,), generator=generator))]


def _distinct(options: Sequence[T], k: int, generator: torch.Generator) -> list[T]:
    return [options[i] for i in torch.randperm(len(options), generator=generator)[:k].tolist()]


def _log_prob(logits: Tensor, answer: Tensor) -> Tensor:
    return torch.log_softmax(logits, dim=-1).gather(1, answer[:, None])[:, 0]


def _spaced(words: Iterable[str]) -> list[str]:
    return [" " + word for word in words]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Word lists: ours, each word checked to be one GPT-2 BPE token with its leading space (and, for
# DESCRIPTIONS, without it too), as the paper's and ACDC's lists were chosen.
NAMES = _words(
    "Mary John James Michael David Robert William Richard Thomas Daniel Paul Mark George Kevin Brian "
    "Edward Jason Ryan Jacob Eric Stephen Andrew Scott Frank Peter Henry Adam Charles Joseph Matthew "
    "Patrick Simon Victor Oliver Harry Nathan Justin Sarah Lisa Laura Emily Emma Anna Amy Kate Jane "
    "Rachel Linda Susan Karen Helen Alice Julia Maria Rose Grace Lucy Claire Diana Martha Nancy Ruth "
    "Kelly Jessica Jennifer Amanda Michelle Heather Megan Hannah Victoria"
)
PLACES = _words(
    "store garden restaurant school hospital office house station park library market beach museum"
)
OBJECTS = _words("ring kiss bone ball computer drink snack book letter gift key phone flower coin bag hat")
EVENT_NOUNS = _words(
    "war campaign project reign conflict era strike trial tour deal program season festival siege crisis "
    "expedition journey investigation occupation dynasty marriage partnership rebellion revolution drought "
    "famine plague empire regime contract treaty alliance friendship study survey experiment mission "
    "voyage struggle battle dispute"
)
VARIABLES = _words(
    "data name file value path key size text line index count result user model config node item url "
    "query table source target label title state mode date start end length width height color format "
    "output input message error token port host root base field group order parent content version "
    "number action event request response session filter limit offset prefix buffer timeout callback "
    "options context client server handler image shape scale weight layer module task job params args"
)
DESCRIPTIONS = _words(
    "price control action cost issue process position course type research subject age force order "
    "matter health class mind paper bank section building sense team student language town plan product "
    "practice letter game food role land art support range stage trade history account material care "
    "record example training window light quality rule story tax method unit detail wall amount "
    "president property director leader board king picture test security future site loss shop page "
    "standard doctor factor design piece tree performance pressure fire analysis success region list "
    "set space step player station film feature energy function risk sound answer"
)


_PIECE = re.compile(r" ?\[[A-Z]+\]| ?[A-Za-z]+|[^\sA-Za-z]")

IOI_TEMPLATES = (
    "Then, [S] and [IO] went to the [PLACE]. [S] gave a [OBJECT] to",
    "Earlier, [S] and [IO] went to the [PLACE]. [S] gave a [OBJECT] to",
    "While [S] and [IO] were working at the [PLACE], [S] gave a [OBJECT] to",
    "Friends [S] and [IO] found a [OBJECT] at the [PLACE]. [S] gave it to",
    "When [S] and [IO] had arrived at the [PLACE], [S] gave a [OBJECT] to",
    "Then, [S] and [IO] were at the [PLACE]. [S] handed a [OBJECT] to",
    "Later, [S] and [IO] walked to the [PLACE]. [S] gave a [OBJECT] to",
    "Yesterday, [S] and [IO] met at the [PLACE]. [S] gave a [OBJECT] to",
    "Once [S] and [IO] had gone to the [PLACE], [S] gave a [OBJECT] to",
    "Today, [S] and [IO] went to the [PLACE]. [S] passed a [OBJECT] to",
)
"""BABA forms (Wang et al. 2022): the first clause names S then IO, S acts, and the answer is IO.

Written here in the style of the paper's ``data/ioi.py`` templates; the final IO is left out (the
paper drops that token). Each ABBA form swaps the first clause's two names."""


def _pieces(template: str) -> tuple[str, ...]:
    return tuple(_PIECE.findall(template))


def _abba(pieces: tuple[str, ...]) -> tuple[str, ...]:
    """The ABBA form of a BABA template: the first ``[S]`` and the first ``[IO]`` trade places."""
    first_s, first_io = pieces.index(" [S]"), pieces.index(" [IO]")
    swapped = list(pieces)
    swapped[first_s], swapped[first_io] = pieces[first_io], pieces[first_s]
    return tuple(swapped)


def equal_length(templates: Iterable[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """The templates of the most common piece count (ties: the shorter), in their order.

    Every piece is one token, so a template fixes its prompts' token length. The paper runs prompts
    one at a time (lengths may differ); a batch here needs one length, so prompts are drawn only from
    the templates of the most common length, and positions line up across all pairs.
    """
    listed = list(templates)
    counts = Counter(len(template) for template in listed)
    length = min(counts, key=lambda n: (-counts[n], n))
    return tuple(template for template in listed if len(template) == length)


IOI_FORMS = equal_length(
    form for template in IOI_TEMPLATES for form in (_pieces(template), _abba(_pieces(template)))
)


@dataclass(frozen=True)
class IoiPrompts:
    """Indirect object identification (Wang et al. 2022), as the paper's ``data/ioi.py`` builds it.

    Positive: an ABBA or BABA template with three distinct names (S, IO and a third, C), a place and
    an object, the final IO left out; the answer is IO. Negative, as the paper's
    ``gen_prompt_counterfact``: the first clause's IO slot takes C and its S slot takes IO (``S and
    IO ... S gave`` becomes ``IO and C ... S gave``), so no name repeats and the IO can no longer be
    read off as the name that does not (CIRCUITS.md §2 summarises this as "replaces the IO in the
    first clause by a third name"). Metric: log-probability of IO at the last position (the toy
    track's IOI metric; Wang et al. report the IO - S logit difference).
    """

    table: TokenTable
    name: str = "ioi"

    @staticmethod
    def pieces() -> tuple[str, ...]:
        fixed = {piece for form in IOI_FORMS for piece in form if "[" not in piece}
        return (*sorted(fixed), *_spaced(NAMES), *_spaced(PLACES), *_spaced(OBJECTS))

    @classmethod
    def from_tokenizer(cls, tokenizer: PreTrainedTokenizerBase) -> IoiPrompts:
        return cls(token_table(tokenizer, cls.pieces()))

    def sample(self, n: int, generator: torch.Generator) -> PromptSet:
        positive, negative, answers = [], [], []
        for _ in range(n):
            form = _pick(IOI_FORMS, generator)
            s, io, c = _distinct(NAMES, 3, generator)
            slots = {" [PLACE]": " " + _pick(PLACES, generator), " [OBJECT]": " " + _pick(OBJECTS, generator)}
            clean = [slots.get(piece, piece) for piece in form]
            corrupt = list(clean)
            seen: set[str] = set()
            for index, piece in enumerate(form):
                if piece in (" [S]", " [IO]"):
                    first = piece not in seen
                    seen.add(piece)
                    clean[index] = " " + (s if piece == " [S]" else io)
                    corrupt[index] = " " + (c if piece == " [IO]" else io if first else s)
            positive.append(self.table.encode(clean))
            negative.append(self.table.encode(corrupt))
            answers.append(self.table.ids[" " + io])
        return PromptSet(torch.tensor(positive), torch.tensor(negative), torch.tensor(answers))

    def metric(self, logits: Tensor, prompts: PromptSet) -> Tensor:
        return _log_prob(logits, prompts.answer)


CENTURIES = tuple(range(12, 20))
"""Years 1200-1999, the paper's ``years_to_sample_from``."""


@dataclass(frozen=True)
class GreaterThanPrompts:
    """Greater-than (Hanna et al. 2023), as the paper's ``data/gt.py`` ``YearDataset`` builds it.

    Positive: "The {noun} lasted from the year {XX}{YY} to the year {XX}", the year as the two tokens
    " XX" and "YY" (the split Hanna et al. keep; GPT-2's BPE splits 145 of the 800 years 1200-1999,
    and 1901 of the negatives' years, otherwise, where the paper's text-built prompts differ), the
    century uniform over 12-19, YY balanced: prompt i has YY = 2 + i mod 97 (02-98, as the paper's
    balanced sampling).
    Negative: YY = 01. ``answer``: YY. Metric: p(next two digits > YY) - p(<= YY) over the hundred
    tokens "00"-"99" (Hanna et al.'s probability difference).
    """

    table: TokenTable
    name: str = "greater-than"

    @staticmethod
    def pieces() -> tuple[str, ...]:
        fixed = ("The", " lasted", " from", " the", " year", " to")
        return (
            *fixed,
            *_spaced(EVENT_NOUNS),
            *(f" {c}" for c in CENTURIES),
            *(f"{y:02d}" for y in range(100)),
        )

    @classmethod
    def from_tokenizer(cls, tokenizer: PreTrainedTokenizerBase) -> GreaterThanPrompts:
        return cls(token_table(tokenizer, cls.pieces()))

    @property
    def year_tokens(self) -> Tensor:
        return torch.tensor([self.table.ids[f"{y:02d}"] for y in range(100)])

    def sample(self, n: int, generator: torch.Generator) -> PromptSet:
        positive, negative, thresholds = [], [], []
        for index in range(n):
            noun = _pick(EVENT_NOUNS, generator)
            century = f" {_pick(CENTURIES, generator)}"
            yy = 2 + index % 97
            head = ["The", " " + noun, " lasted", " from", " the", " year", century]
            tail = [" to", " the", " year", century]
            positive.append(self.table.encode([*head, f"{yy:02d}", *tail]))
            negative.append(self.table.encode([*head, "01", *tail]))
            thresholds.append(yy)
        return PromptSet(torch.tensor(positive), torch.tensor(negative), torch.tensor(thresholds))

    def metric(self, logits: Tensor, prompts: PromptSet) -> Tensor:
        probabilities = torch.softmax(logits, dim=-1)[:, self.year_tokens.to(logits.device)]
        above = torch.arange(100, device=logits.device)[None, :] > prompts.answer[:, None]
        return (probabilities * above).sum(1) - (probabilities * ~above).sum(1)


INDENT = (" ", " ", " ")
"""Four spaces of indentation before the next piece's own space (GPT-2's BPE: three " " tokens)."""


def _docstring(
    method: str,
    definition: Sequence[str],
    documented: Sequence[str],
    summary: Sequence[str],
    descriptions: Sequence[Sequence[str]],
) -> list[str]:
    """A reST-style method and docstring that stops at the next ``:param`` (ACDC's "rest" style)."""
    pieces = ["\n", "def", " " + method, "(", "self", ","]
    for index, argument in enumerate(definition):
        pieces += [" " + argument, "," if index < len(definition) - 1 else "):"]
    pieces += ["\n", *INDENT, ' """', summary[0], *_spaced(summary[1:]), "\n\n"]
    for argument, words in zip(documented, descriptions, strict=True):
        pieces += [*INDENT, " :", "param", " " + argument, ":", *_spaced(words), "\n"]
    return [*pieces, *INDENT, " :", "param"]


@dataclass(frozen=True)
class DocstringPrompts:
    """Docstring (Heimersheim & Janiak 2023): a simplified ACDC ``docstring_induction_prompt_generator``.

    ACDC's settings as the paper's ``data/ds.py`` passes them: style "rest", 3 matching arguments,
    2 definition-prefix arguments, 1 suffix argument, no docstring-prefix argument, a 3-word method
    description and 2-word argument descriptions. Positive: ``def m(self, p1, p2, a1, a2, a3, s1):``
    whose docstring documents ``a1`` and ``a2`` and stops at the next ``:param``; the answer is
    ``a3``. Negative, ACDC's ``random_random``: the three matching arguments of the definition and
    the two documented ones replaced by five other names, so the next parameter cannot be read off.
    Simplified: names and words come from this module's lists (one token each, as ACDC's), and the
    whitespace is fixed pieces (GPT-2's BPE of the same text). Metric: log-probability of ``a3``.
    """

    table: TokenTable
    name: str = "docstring"

    @staticmethod
    def pieces() -> tuple[str, ...]:
        fixed = ("\n", "def", "(", "self", ",", "):", " ", ' """', "\n\n", " :", "param", ":")
        return (*fixed, *_spaced(VARIABLES), *DESCRIPTIONS, *_spaced(DESCRIPTIONS))

    @classmethod
    def from_tokenizer(cls, tokenizer: PreTrainedTokenizerBase) -> DocstringPrompts:
        return cls(token_table(tokenizer, cls.pieces()))

    def sample(self, n: int, generator: torch.Generator) -> PromptSet:
        positive, negative, answers = [], [], []
        for _ in range(n):
            method, p1, p2, a1, a2, a3, s1, r1, r2, r3, d1, d2 = _distinct(VARIABLES, 12, generator)
            summary = _distinct(DESCRIPTIONS, 3, generator)
            descriptions = [_distinct(DESCRIPTIONS, 2, generator) for _ in range(2)]
            clean = _docstring(method, [p1, p2, a1, a2, a3, s1], [a1, a2], summary, descriptions)
            corrupt = _docstring(method, [p1, p2, r1, r2, r3, s1], [d1, d2], summary, descriptions)
            positive.append(self.table.encode(clean))
            negative.append(self.table.encode(corrupt))
            answers.append(self.table.ids[" " + a3])
        return PromptSet(torch.tensor(positive), torch.tensor(negative), torch.tensor(answers))

    def metric(self, logits: Tensor, prompts: PromptSet) -> Tensor:
        return _log_prob(logits, prompts.answer)


PROBLEMS: dict[str, Callable[[PreTrainedTokenizerBase], PaperProblem]] = {
    "ioi": IoiPrompts.from_tokenizer,
    "greater-than": GreaterThanPrompts.from_tokenizer,
    "docstring": DocstringPrompts.from_tokenizer,
}

PIECES: dict[str, Callable[[], tuple[str, ...]]] = {
    "ioi": IoiPrompts.pieces,
    "greater-than": GreaterThanPrompts.pieces,
    "docstring": DocstringPrompts.pieces,
}
"""Every piece each generator may emit (a tokenizer must encode each to one token)."""


# --- subjects ----------------------------------------------------------------------------------


def _intervene(results: Tensor, layer: int, intervention: Intervention | None) -> Tensor:
    """The toy model's rule (``model.py``): ``keep * results + (1 - keep) * replacement``."""
    if intervention is None:
        return results
    keep = intervention.keep[:, layer, :][:, None, :, None]
    return keep * results + (1.0 - keep) * intervention.replacement[layer]


def _captured(results: Tensor, capture: list[Tensor] | None) -> None:
    """Append ``results``, in the autograd graph when grad is on (weights are frozen: make it a leaf)."""
    if capture is None:
        return
    if torch.is_grad_enabled() and not results.requires_grad:
        results.requires_grad_(True)
    capture.append(results)


Convention = Literal["transformer-lens", "raw"]


@dataclass(frozen=True)
class GPT2Subject:
    """``Subject`` over a ``transformers`` GPT-2 (``GPT2LMHeadModel``), read at ``attn.c_proj``.

    The hook splits the projection's input ``z`` ``[batch, positions, n_embd]`` into heads, takes
    ``z_h @ W[h * d_head:(h + 1) * d_head, :]`` per head, applies the ``Intervention`` exactly as
    the toy model does, appends the results to ``capture`` and returns their sum plus the bias as
    the projection's output.

    ``convention="transformer-lens"`` (default) gives the results TransformerLens's
    ``HookedTransformer.from_pretrained("gpt2-small")`` gives the paper (``fold_ln``,
    ``center_writing_weights``, ``fold_value_biases``): each head's result minus its constant value
    bias term ``(b_V + ln_1.b @ W_V)_h @ W_O[h]``, centred over ``d_model``, with those constants
    moved into the output bias. The block output then differs from GPT-2's by a multiple of the
    all-ones vector per position, which every reader of the residual stream (a LayerNorm) removes:
    the logits are GPT-2's. ``"raw"``: GPT-2's own ``z_h @ W_O[h]`` (the heads sum to the
    projection's output exactly).
    """

    model: GPT2LMHeadModel
    convention: Convention = "transformer-lens"

    @property
    def n_layers(self) -> int:
        return int(self.model.config.n_layer)

    @property
    def n_heads(self) -> int:
        return int(self.model.config.n_head)

    def last_logits(
        self, tokens: Tensor, intervention: Intervention | None = None, capture: list[Tensor] | None = None
    ) -> Tensor:
        blocks: list[nn.Module] = list(self.model.transformer.h)
        handles = [
            _module(block, "attn", "c_proj").register_forward_hook(
                self._hook(layer, block, intervention, capture)
            )
            for layer, block in enumerate(blocks)
        ]
        try:
            hidden: Tensor = self.model.transformer(input_ids=tokens, use_cache=False).last_hidden_state
        finally:
            for handle in handles:
                handle.remove()
        logits: Tensor = self.model.lm_head(hidden[:, -1, :])
        return logits

    def _hook(
        self, layer: int, block: nn.Module, intervention: Intervention | None, capture: list[Tensor] | None
    ) -> Callable[[nn.Module, tuple[Tensor, ...], Tensor], Tensor]:
        heads = self.n_heads

        def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
            z = inputs[0]
            batch, positions, width = z.shape
            weight, bias = _parameter(module, "weight"), _parameter(module, "bias")
            w_o = weight.reshape(heads, width // heads, weight.shape[1])  # [heads, d_head, d_model]
            offsets = None
            if self.convention == "transformer-lens":  # centring the small W_O, not the large results
                offsets = _value_offsets(block, w_o)
                bias = bias + offsets.sum(dim=0)
                w_o = w_o - w_o.mean(dim=-1, keepdim=True)
                offsets = offsets - offsets.mean(dim=-1, keepdim=True)
            results = torch.einsum("bthe,hed->bthd", z.reshape(batch, positions, heads, -1), w_o)
            if offsets is not None:
                results = results - offsets
            results = _intervene(results, layer, intervention)
            _captured(results, capture)
            return results.sum(dim=2) + bias

        return hook


def _module(root: nn.Module, *names: str) -> nn.Module:
    found = root
    for name in names:
        child = getattr(found, name)
        assert isinstance(child, nn.Module), name
        found = child
    return found


def _parameter(module: nn.Module, name: str) -> Tensor:
    value = getattr(module, name)
    assert isinstance(value, Tensor), name
    return value


def _value_offsets(block: nn.Module, w_o: Tensor) -> Tensor:
    """``[heads, d_model]``: each head's value bias, with ``ln_1``'s bias folded in, through ``W_O``.

    Attention weights sum to one, so this is the part of a head's result that does not depend on
    the input; TransformerLens's ``fold_value_biases`` (after ``fold_ln``) moves it into ``b_O``.
    """
    c_attn = _module(block, "attn", "c_attn")
    d_model = w_o.shape[2]
    w_v = _parameter(c_attn, "weight")[:, 2 * d_model :]
    b_v = _parameter(c_attn, "bias")[2 * d_model :] + _parameter(_module(block, "ln_1"), "bias") @ w_v
    return torch.einsum("he,hed->hd", b_v.reshape(w_o.shape[0], -1), w_o)


@dataclass(frozen=True)
class TransformerLensSubject:
    """``Subject`` over a TransformerLens ``HookedTransformer`` (``cfg.use_attn_result`` on).

    Head results are ``blocks.L.attn.hook_result`` (the paper's ``stack_head_results``); the last
    block's ``hook_resid_post`` at the last position goes through ``ln_final`` and the unembedding
    as ``HookedTransformer.forward`` does, so the full ``[batch, positions, vocab]`` logits are never
    made.
    """

    model: Any

    @property
    def n_layers(self) -> int:
        return int(self.model.cfg.n_layers)

    @property
    def n_heads(self) -> int:
        return int(self.model.cfg.n_heads)

    def last_logits(
        self, tokens: Tensor, intervention: Intervention | None = None, capture: list[Tensor] | None = None
    ) -> Tensor:
        final: list[Tensor] = []

        def result_hook(layer: int) -> Callable[[Tensor, object], Tensor]:
            def hook(results: Tensor, hook: object) -> Tensor:
                results = _intervene(results, layer, intervention)
                _captured(results, capture)
                return results

            return hook

        def grab(residual: Tensor, hook: object) -> None:
            final.append(residual[:, -1:, :])

        hooks: list[tuple[str, Callable[[Tensor, object], Tensor | None]]] = [
            (f"blocks.{layer}.attn.hook_result", result_hook(layer)) for layer in range(self.n_layers)
        ]
        hooks.append((f"blocks.{self.n_layers - 1}.hook_resid_post", grab))
        self.model.run_with_hooks(tokens, return_type=None, fwd_hooks=hooks)
        residual = final[0]
        if self.model.cfg.normalization_type is not None:
            residual = self.model.ln_final(residual)
        last: Tensor = self.model.unembed(residual)
        return last[:, 0, :]


# --- local folders -----------------------------------------------------------------------------

Format = Literal["huggingface", "transformer-lens"]


@dataclass(frozen=True)
class LmFolder:
    """What a ``--lm-path`` folder holds, from its ``config.json`` alone (no weights read)."""

    path: Path
    subject: str
    n_layers: int
    n_heads: int
    format: Format


def inspect_lm(path: Path) -> LmFolder:
    """Which paper subject the folder holds: GPT-2 small (HF) or attn-only-4l (TransformerLens-native).

    Raises:
        LmFolderError: no readable ``config.json``, or a model that is neither.
    """
    config = path / "config.json"
    try:
        raw = json.loads(config.read_text())
    except (OSError, ValueError) as error:
        raise LmFolderError(f"{config}: not a readable JSON config ({error})") from None
    if not isinstance(raw, dict):
        raise LmFolderError(f"{config}: not a JSON object")
    if raw.get("model_type") == "gpt2":
        shape = (raw.get("n_layer"), raw.get("n_head"))
        if shape != PAPER_SUBJECTS["gpt2-small"]:
            raise LmFolderError(
                f"{path} is a GPT-2 of {shape[0]} layers x {shape[1]} heads; the paper's circuits are "
                "GPT-2 small's (12 x 12)"
            )
        return LmFolder(path, "gpt2-small", 12, 12, "huggingface")
    if "model_type" not in raw and {"n_layers", "n_heads", "d_model"} <= raw.keys():
        shape = (raw["n_layers"], raw["n_heads"])
        if raw.get("attn_only") is True and shape == PAPER_SUBJECTS["attn-only-4l"]:
            return LmFolder(path, "attn-only-4l", 4, 8, "transformer-lens")
        raise LmFolderError(
            f"{path} is a TransformerLens checkpoint of {shape[0]} layers x {shape[1]} heads "
            f"(attn_only {raw.get('attn_only')}); the paper's is attn-only-4l (4 x 8, attention only)"
        )
    raise LmFolderError(
        f"{path}: model_type {raw.get('model_type')!r} is neither GPT-2 small (a Hugging Face gpt2 "
        "folder) nor attn-only-4l (a TransformerLens-native checkpoint)"
    )


def weight_files(path: Path) -> list[Path]:
    """The folder's weight files (``*.safetensors``, ``*.bin``, ``*.pth``): the subject's identity."""
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".safetensors", ".bin", ".pth"))


def load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    try:
        tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise LmFolderError(f"{path}: no tokenizer loads from this folder ({first})") from None
    return tokenizer


def load_subject(folder: LmFolder) -> tuple[Subject, PreTrainedTokenizerBase]:
    """The folder's model as a ``Subject`` (eval mode, float32, weights frozen) and its tokenizer.

    Raises:
        LmFolderError: the weights or tokenizer do not load, or attn-only-4l without TransformerLens.
    """
    if folder.format == "transformer-lens":
        return load_transformer_lens(folder.path)
    from transformers import GPT2LMHeadModel

    try:
        model = GPT2LMHeadModel.from_pretrained(str(folder.path), local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise LmFolderError(f"{folder.path}: the GPT-2 weights do not load ({first})") from None
    module: nn.Module = model  # eval mode, frozen: no dropout, no parameter gradients
    module.eval()
    module.requires_grad_(False)
    return GPT2Subject(model), load_tokenizer(folder.path)


def load_transformer_lens(path: Path) -> tuple[Subject, PreTrainedTokenizerBase]:
    """A TransformerLens-native checkpoint (``config.json``, ``*final.pth``) as ``from_pretrained`` makes it.

    The config keys are TransformerLens's for Neel Nanda's models (``convert_neel_model_config``);
    the state dict is loaded with ``weights_only=True`` and processed with ``from_pretrained``'s
    defaults as TransformerLens 3.9 applies them: ``fold_ln``, ``center_writing_weights``,
    ``center_unembed`` and ``fold_value_biases``, less the first three for shortformer positions
    (attn-only-4l's; they would not preserve its function), so the head results are what
    ``from_pretrained("attn-only-4l")`` gives.

    Raises:
        LmFolderError: TransformerLens is not installed, or no single ``*final.pth`` is in the folder.
    """
    try:
        lens = importlib.import_module("transformer_lens")
    except ImportError:
        raise LmFolderError(
            f"{path} is a TransformerLens-native checkpoint and transformer-lens is not installed: {TL_EXTRA}"
        ) from None
    raw = json.loads((path / "config.json").read_text())
    finals = sorted(path.glob("*final.pth"))
    if len(finals) != 1:
        raise LmFolderError(f"{path}: expected one *final.pth weights file, found {len(finals)}")
    normalization = raw.get("normalization_type", raw.get("normalization"))
    shortformer = bool(raw.get("shortformer_pos", raw.get("positional_embedding_type") == "shortformer"))
    centre = normalization in ("LN", "LNPre") and not shortformer
    fold_ln = centre
    config = lens.HookedTransformerConfig(
        d_model=raw["d_model"],
        n_layers=raw["n_layers"],
        n_heads=raw["n_heads"],
        d_head=raw["d_head"],
        d_mlp=raw.get("d_mlp"),
        n_ctx=raw["n_ctx"],
        d_vocab=raw["d_vocab"],
        act_fn=raw.get("act_fn"),
        attn_only=bool(raw.get("attn_only", False)),
        normalization_type="LNPre" if fold_ln else normalization,
        positional_embedding_type="shortformer" if shortformer else "standard",
        final_rms=bool(raw.get("final_rms", False)),
        original_architecture=raw.get("architecture", "neel"),
        model_name=path.name,
        use_attn_result=True,
        init_weights=False,
        device="cpu",
        dtype=torch.float32,
        default_prepend_bos=True,
    )
    try:
        tokenizer = load_tokenizer(path)
    except LmFolderError as error:  # attn-only-4l's tokenizer is its own repository's
        name = raw.get("tokenizer_name") or "its tokenizer"
        raise LmFolderError(f"{error}; copy the tokenizer files of {name} into the folder") from None
    model = lens.HookedTransformer(config, tokenizer=tokenizer)
    state = torch.load(finals[0], map_location="cpu", weights_only=True)
    model.load_and_process_state_dict(
        {key: value.float() for key, value in state.items()},
        fold_ln=fold_ln,
        center_writing_weights=centre,
        center_unembed=not shortformer,
        fold_value_biases=True,
    )
    model.eval()
    model.requires_grad_(False)
    return TransformerLensSubject(model), tokenizer
