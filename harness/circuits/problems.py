"""The toy circuits' tasks: seeded prompt generators with a known mechanism, a contrast, and a metric.

Each problem makes training sequences (``training``) and evaluation prompt pairs (``sample``): a
*positive* prompt, which the mechanism solves, and its *negative*, the same prompt with the one
piece of information the mechanism reads destroyed (the paper's negative prompts, O'Neill & Bui
2024, §3; ACDC's corrupted distributions). ``metric`` scores the last position's logits per prompt.

Vocabularies and formats follow ``shared/research/CIRCUITS.md`` §3: an induction-only alphabet for
the 2-layer model, and for the four-task model 40 fillers, 20 names, 50 numbers, 20 argument tokens
and 10 markers. Every prompt is ``context - 1`` tokens (left-filled with fillers) and its answer is
the next one, so positions line up across prompts and a per-position mean is well defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor


@dataclass(frozen=True)
class PromptSet:
    """Paired prompts ``[n, length]``; ``answer``: the token (or, for greater-than, the threshold)."""

    positive: Tensor
    negative: Tensor
    answer: Tensor

    def __len__(self) -> int:
        return int(self.positive.shape[0])

    def take(self, index: Tensor) -> PromptSet:
        return PromptSet(self.positive[index], self.negative[index], self.answer[index])


class Problem(Protocol):
    """A task of the toy track."""

    @property
    def name(self) -> str: ...

    def training(self, n: int, generator: torch.Generator) -> Tensor:
        """``[n, context]`` training sequences (next-token loss on every position)."""
        ...

    def sample(self, n: int, generator: torch.Generator) -> PromptSet: ...

    def metric(self, logits: Tensor, prompts: PromptSet) -> Tensor:
        """Per-prompt score ``[n]`` of the last position's ``logits`` ``[n, vocab]`` (higher: solved)."""
        ...


def _choice(pool: Tensor, n: int, generator: torch.Generator) -> Tensor:
    return pool[torch.randint(len(pool), (n,), generator=generator)]


def _distinct(pool: Tensor, k: int, generator: torch.Generator) -> Tensor:
    return pool[torch.randperm(len(pool), generator=generator)[:k]]


def _log_prob(logits: Tensor, answer: Tensor) -> Tensor:
    return torch.log_softmax(logits, dim=-1).gather(1, answer[:, None])[:, 0]


@dataclass(frozen=True)
class Vocabulary:
    """Token id ranges of the four-task model (``MIX4``) or the induction model (fillers only)."""

    fillers: range
    names: range = range(0)
    numbers: range = range(0)
    arguments: range = range(0)
    first_marker: int = 0

    @property
    def size(self) -> int:
        return max(
            self.fillers.stop, self.names.stop, self.numbers.stop, self.arguments.stop, self.markers_end
        )

    @property
    def markers_end(self) -> int:
        return self.first_marker + len(MARKERS) if self.first_marker else 0

    def marker(self, name: str) -> int:
        return self.first_marker + MARKERS.index(name)

    def pool(self, ids: range) -> Tensor:
        return torch.arange(ids.start, ids.stop)


MARKERS = ("AND", "GIVE", "FROM", "TO", "DEF", "(", ")", ",", "DOC", "PARAM")

MIX4_VOCABULARY = Vocabulary(
    fillers=range(0, 40),
    names=range(40, 60),
    numbers=range(60, 110),
    arguments=range(110, 130),
    first_marker=130,
)
INDUCTION_VOCABULARY = Vocabulary(fillers=range(0, 64))


@dataclass(frozen=True)
class Induction:
    """Repeated random segments: ``A B C ... A B`` -> ``C`` (Olsson et al. 2022).

    Training: random tokens with one segment of 4-8 tokens repeated at a random offset, so no
    positional shortcut exists. Positive: the prompt ends inside the second copy, its last token
    occurs once before and the answer is the token that followed it there. Negative: the first copy
    replaced by fresh tokens (the answer cannot be recovered).
    """

    vocabulary: Vocabulary
    context: int
    name: str = "induction"

    def _segment_sequences(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        alphabet = self.vocabulary.pool(self.vocabulary.fillers)
        sequences = _choice(alphabet, n * self.context, generator).reshape(n, self.context)
        lengths = torch.randint(4, 9, (n,), generator=generator)
        return sequences, lengths, alphabet

    def training(self, n: int, generator: torch.Generator) -> Tensor:
        sequences, lengths, alphabet = self._segment_sequences(n, generator)
        for row in range(n):
            length = int(lengths[row])
            first = int(torch.randint(0, self.context - 2 * length + 1, (1,), generator=generator))
            second = int(torch.randint(first + length, self.context - length + 1, (1,), generator=generator))
            segment = _choice(alphabet, length, generator)
            sequences[row, first : first + length] = segment
            sequences[row, second : second + length] = segment
        return sequences

    def sample(self, n: int, generator: torch.Generator) -> PromptSet:
        length_p = self.context - 1
        positive = torch.empty(n, length_p, dtype=torch.long)
        negative = torch.empty(n, length_p, dtype=torch.long)
        answer = torch.empty(n, dtype=torch.long)
        alphabet = self.vocabulary.pool(self.vocabulary.fillers)
        for row in range(n):
            length = int(torch.randint(4, 9, (1,), generator=generator))
            inside = int(
                torch.randint(0, length - 1, (1,), generator=generator)
            )  # last token: segment[inside]
            second = length_p - 1 - inside
            first = int(torch.randint(0, second - length + 1, (1,), generator=generator))
            segment = _distinct(alphabet, length, generator)
            others = alphabet[~torch.isin(alphabet, segment)]
            sequence = _choice(others, length_p, generator)
            fresh = _choice(others, length, generator)
            sequence[second:] = segment[: inside + 1]
            corrupted = sequence.clone()
            sequence[first : first + length] = segment
            corrupted[first : first + length] = fresh
            positive[row], negative[row], answer[row] = sequence, corrupted, segment[inside + 1]
        return PromptSet(positive, negative, answer)

    def metric(self, logits: Tensor, prompts: PromptSet) -> Tensor:
        return _log_prob(logits, prompts.answer)


def _left_filled(
    parts: list[Tensor], length: int, vocabulary: Vocabulary, generator: torch.Generator
) -> Tensor:
    body = torch.cat(parts)
    fill = _choice(vocabulary.pool(vocabulary.fillers), length - len(body), generator)
    return torch.cat([fill, body])


class _Paired:
    """A problem whose training sequences are its positive prompts with the answer appended.

    Subclasses write ``_pairs`` once; the metric is the answer's log-probability unless overridden.
    """

    def _pairs(self, n: int, generator: torch.Generator, with_answer: bool) -> PromptSet:
        raise NotImplementedError

    def training(self, n: int, generator: torch.Generator) -> Tensor:
        return self._pairs(n, generator, with_answer=True).positive

    def sample(self, n: int, generator: torch.Generator) -> PromptSet:
        return self._pairs(n, generator, with_answer=False)

    def metric(self, logits: Tensor, prompts: PromptSet) -> Tensor:
        return _log_prob(logits, prompts.answer)


@dataclass(frozen=True)
class IndirectObject(_Paired):
    """IOI-like: ``X AND Y ... S GIVE`` -> the name that is not S (Wang et al. 2022, ABBA and BABA).

    Negative: S replaced by a third name (the paper's IOI negative: the IO is no longer the one name
    not repeated).
    """

    vocabulary: Vocabulary
    context: int
    name: str = "ioi"

    def _pairs(self, n: int, generator: torch.Generator, with_answer: bool) -> PromptSet:
        v = self.vocabulary
        length = self.context if with_answer else self.context - 1
        positive, negative, answers = [], [], []
        for _ in range(n):
            x, y, c = _distinct(v.pool(v.names), 3, generator)
            s, io = (x, y) if bool(torch.randint(0, 2, (1,), generator=generator)) else (y, x)
            gap = _choice(v.pool(v.fillers), int(torch.randint(1, 7, (1,), generator=generator)), generator)
            head = [x[None], torch.tensor([v.marker("AND")]), y[None], gap]
            tail = [torch.tensor([v.marker("GIVE")])] + ([io[None]] if with_answer else [])
            sequence = _left_filled([*head, s[None], *tail], length, v, generator)
            corrupted = sequence.clone()
            corrupted[length - (3 if with_answer else 2)] = c
            positive.append(sequence)
            negative.append(corrupted)
            answers.append(io)
        return PromptSet(torch.stack(positive), torch.stack(negative), torch.stack(answers))


@dataclass(frozen=True)
class GreaterThan(_Paired):
    """Greater-than-like: ``FROM x ... TO`` -> a number above x (Hanna et al. 2023).

    Metric: p(answer > x) - p(answer <= x) over the number tokens (the paper's probability
    difference). Negative: x replaced by 0, as the paper's "01" start year.
    """

    vocabulary: Vocabulary
    context: int
    name: str = "greater-than"

    def _pairs(self, n: int, generator: torch.Generator, with_answer: bool) -> PromptSet:
        v = self.vocabulary
        numbers = v.pool(v.numbers)
        length = self.context if with_answer else self.context - 1
        positive, negative, thresholds = [], [], []
        for _ in range(n):
            x = int(torch.randint(1, len(numbers) - 1, (1,), generator=generator))
            gap = _choice(v.pool(v.fillers), int(torch.randint(1, 7, (1,), generator=generator)), generator)
            parts = [torch.tensor([v.marker("FROM"), int(numbers[x])]), gap, torch.tensor([v.marker("TO")])]
            if with_answer:
                parts.append(
                    numbers[int(torch.randint(x + 1, len(numbers), (1,), generator=generator))][None]
                )
            sequence = _left_filled(parts, length, v, generator)
            corrupted = sequence.clone()
            position = int((sequence == v.marker("FROM")).nonzero()[0, 0]) + 1
            corrupted[position] = numbers[0]
            positive.append(sequence)
            negative.append(corrupted)
            thresholds.append(x)
        return PromptSet(torch.stack(positive), torch.stack(negative), torch.tensor(thresholds))

    def metric(self, logits: Tensor, prompts: PromptSet) -> Tensor:
        numbers = self.vocabulary.pool(self.vocabulary.numbers)
        probabilities = torch.softmax(logits, dim=-1)[:, numbers]
        above = torch.arange(len(numbers))[None, :] > prompts.answer[:, None]
        return (probabilities * above).sum(1) - (probabilities * ~above).sum(1)


@dataclass(frozen=True)
class Docstring(_Paired):
    """Docstring-like: ``DEF ( a , b , c ) ... DOC PARAM a PARAM b PARAM`` -> ``c``.

    After Heimersheim & Janiak 2023.

    Negative: the definition's arguments replaced by three other argument tokens (ACDC's
    ``random_random`` corruption: the next parameter cannot be read off the definition).
    """

    vocabulary: Vocabulary
    context: int
    name: str = "docstring"

    def _pairs(self, n: int, generator: torch.Generator, with_answer: bool) -> PromptSet:
        v = self.vocabulary
        m = v.marker
        length = self.context if with_answer else self.context - 1
        positive, negative, answers = [], [], []
        for _ in range(n):
            arguments = _distinct(v.pool(v.arguments), 6, generator)
            a, b, c = arguments[:3]
            gap = _choice(v.pool(v.fillers), int(torch.randint(1, 6, (1,), generator=generator)), generator)
            definition = torch.tensor([m("DEF"), m("("), int(a), m(","), int(b), m(","), int(c), m(")")])
            doc = [m("DOC"), m("PARAM"), int(a), m("PARAM"), int(b), m("PARAM")] + (
                [int(c)] if with_answer else []
            )
            sequence = _left_filled([definition, gap, torch.tensor(doc)], length, v, generator)
            corrupted = sequence.clone()
            start = int((sequence == m("DEF")).nonzero()[0, 0])
            corrupted[start + 2], corrupted[start + 4], corrupted[start + 6] = arguments[3:]
            positive.append(sequence)
            negative.append(corrupted)
            answers.append(c)
        return PromptSet(torch.stack(positive), torch.stack(negative), torch.stack(answers))
