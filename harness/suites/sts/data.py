r"""STS datasets: sentence pairs with a human similarity score (0-5), read and verified.

Three formats (MANIFEST.md §2 of ``shared/data``), chosen by the dataset's ``Layout`` in ``cards``:

- STS Benchmark (``sts-test.csv``): tab-separated ``genre, file, year, id, score, sentence1,
  sentence2[, source1, source2]`` (7 or 9 fields). Lines are split on tabs by hand: no CSV quoting,
  since sentences hold unbalanced ``"`` (a CSV reader would join lines until the next quote).
- SemEval STS 2012-2016: per subset an input file, ``s1\ts2`` per line (STS 2016:
  ``s1\ts2\tsource1\tsource2``), and a gold file with one score per line, line n scoring input
  line n. An empty gold line (STS15, STS16) is a pair the organisers did not score: it is skipped,
  as SentEval and MTEB's ``mteb/sts1{5,6}-sts`` skip it. Input and gold line counts must agree.
- SICK: ``pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment``, no header
  line (this copy dropped it; the release's exact header line, if present, is skipped).

Common rules: UTF-8; lines end at ``\n`` only (not ``str.splitlines``, which also splits at U+2028,
U+0085 and form feeds), a trailing ``\r`` is dropped, a final empty line is ignored; every score is
a finite decimal number within [0, 5]. Sentence text is kept exactly as in the file (no stripping or
other normalisation). Any malformed row raises ``InputError`` naming the file (relative to the
data root), the line and the field.

**Pair order is a contract.** Pairs come in reading order: the members of the dataset's layout in
order (SemEval subsets in ``SEMEVAL_SUBSETS`` order, SICK train, trial, test), lines in file order.
Results files store per-pair predictions as a list in exactly this order, and ``pair_ids`` name
them: ``<subset>:<line>`` (``MSRpar:17``, 1-based line of the input file), ``sts-test:<line>``,
``<file stem>:<pair_ID>`` for SICK (``SICK_train:1``).

**Pooling.** MTEB's ``STS12``-``STS16`` tasks (``embeddings-benchmark/mteb``, datasets
``mteb/sts1{2..6}-sts``) pool every scored pair of every subset into one test set and report one
Spearman correlation over it (``STSEvaluator``), not a mean of per-subset correlations (SentEval's
"all" mean); a pooled dataset here is that one set, and a per-subset score can be had from
``pair_ids``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from harness.data.cards import DatasetCard, inputs_record
from harness.data.files import DatasetSource, locate, sha256_bytes
from harness.data.user import STS_MEMBER, read_given_file
from harness.errors import InputError, SettingError
from harness.results import Inputs
from harness.suites.sts.cards import LAYOUTS, SPLIT, Part

MIN_SCORE = 0.0
MAX_SCORE = 5.0

SICK_HEADER = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"
SICK_JUDGMENTS = frozenset({"NEUTRAL", "ENTAILMENT", "CONTRADICTION"})

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A plain decimal number: what ``float`` reads minus ``nan``, ``inf`` and digit underscores."""


@dataclass(frozen=True)
class StsDataset:
    """One split of an STS dataset: distinct sentences, and per pair its two sides and gold score.

    ``left[i]`` and ``right[i]`` index ``sentences`` (distinct strings, in first-seen order), so
    each sentence is encoded once; ``gold[i]`` is the human score and ``pair_ids[i]`` the name of
    pair ``i``. Pairs are in reading order (the module's pair order contract).
    """

    sentences: tuple[str, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    gold: tuple[float, ...]
    pair_ids: tuple[str, ...]
    inputs: Inputs

    def __len__(self) -> int:
        return len(self.gold)


class _Pairs:
    """Collects pairs in reading order, giving each distinct sentence one index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.left: list[int] = []
        self.right: list[int] = []
        self.gold: list[float] = []
        self.ids: list[str] = []

    def _id(self, sentence: str) -> int:
        return self.index.setdefault(sentence, len(self.index))

    def add(self, pair_id: str, first: str, second: str, score: float) -> None:
        self.left.append(self._id(first))
        self.right.append(self._id(second))
        self.gold.append(score)
        self.ids.append(pair_id)


def _lines(data: bytes, where: str) -> list[str]:
    r"""Lines of a UTF-8 text: split at ``\n`` only, a trailing ``\r`` dropped, a final empty line ignored."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(where, f"byte {error.start}", "not UTF-8") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_score(text: str, where: str, field: str) -> float:
    """A gold score: a finite decimal number within [0, 5] (surrounding whitespace allowed).

    Raises:
        InputError: naming ``where`` and ``field`` (``line 12: score``).
    """
    value = text.strip()
    if not _NUMBER.fullmatch(value):
        raise InputError(where, field, f"not a number: {text!r}")
    score = float(value)
    if not math.isfinite(score) or not MIN_SCORE <= score <= MAX_SCORE:
        raise InputError(where, field, f"{text!r} is outside [{MIN_SCORE:g}, {MAX_SCORE:g}]")
    return score


def read_stsb(pairs: _Pairs, part: Part, data: bytes, where: str) -> None:
    """Read an STS Benchmark file: at least 7 tab-separated fields, score in field 5, sentences 6 and 7."""
    for number, line in enumerate(_lines(data, where), start=1):
        fields = line.split("\t")
        if len(fields) < 7:
            raise InputError(
                where,
                f"line {number}",
                f"{len(fields)} tab-separated fields; expected genre, file, year, id, score, sentence1, "
                "sentence2[, source1, source2]",
            )
        score = parse_score(fields[4], where, f"line {number}: score")
        pairs.add(f"{part.name}:{number}", fields[5], fields[6], score)


def read_semeval(pairs: _Pairs, part: Part, inputs: bytes, gold: bytes, names: tuple[str, str]) -> None:
    r"""Read one SemEval subset: input line n (``s1\ts2[\tsource1\tsource2]``) scored by gold line n.

    An empty gold line marks an unscored pair, which is skipped.
    """
    input_name, gold_name = names
    input_lines, gold_lines = _lines(inputs, input_name), _lines(gold, gold_name)
    if len(input_lines) != len(gold_lines):
        raise InputError(
            gold_name,
            f"line {min(len(input_lines), len(gold_lines)) + 1}",
            f"{len(gold_lines)} lines, but {input_name} has {len(input_lines)}: "
            "each input line needs a gold line (empty when the pair is unscored)",
        )
    for number, (line, score_text) in enumerate(zip(input_lines, gold_lines, strict=True), start=1):
        fields = line.split("\t")
        if len(fields) not in (2, 4):
            raise InputError(
                input_name,
                f"line {number}",
                f"{len(fields)} tab-separated fields; expected sentence1, sentence2[, source1, source2]",
            )
        if not score_text.strip():
            continue  # not scored by the organisers
        score = parse_score(score_text, gold_name, f"line {number}: score")
        pairs.add(f"{part.name}:{number}", fields[0], fields[1], score)


def read_sick(pairs: _Pairs, part: Part, data: bytes, where: str) -> None:
    """Read a SICK file: ``pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment``."""
    seen: dict[str, int] = {}
    for number, line in enumerate(_lines(data, where), start=1):
        if number == 1 and line == SICK_HEADER:
            continue
        fields = line.split("\t")
        if len(fields) != 5:
            raise InputError(
                where,
                f"line {number}",
                f"{len(fields)} tab-separated fields; expected pair_ID, sentence_A, sentence_B, "
                "relatedness_score, entailment_judgment",
            )
        pair_id, first, second, score_text, judgment = fields
        if not pair_id:
            raise InputError(where, f"line {number}: pair_ID", "empty")
        if pair_id in seen:
            raise InputError(where, f"line {number}: pair_ID", f"{pair_id} also on line {seen[pair_id]}")
        seen[pair_id] = number
        score = parse_score(score_text, where, f"line {number}: relatedness_score")
        if judgment not in SICK_JUDGMENTS:
            raise InputError(
                where,
                f"line {number}: entailment_judgment",
                f"{judgment!r} is not one of {', '.join(sorted(SICK_JUDGMENTS))}",
            )
        pairs.add(f"{part.name}:{pair_id}", first, second, score)


USER_HEADER = ("sentence1", "sentence2", "score")
"""The optional first line of a user TSV (the column names of MTEB's ``mteb/stsbenchmark-sts``)."""


def read_pairs_tsv(pairs: _Pairs, data: bytes, where: str) -> None:
    r"""Read a user's STS file: ``sentence1\tsentence2\tscore`` per line, tabs only, no quoting.

    The common rules of this module hold (UTF-8, lines end at ``\n``, a final empty line ignored).
    A first line that is exactly ``sentence1, sentence2, score`` (tab-separated) is a header and is
    skipped; any other line is a pair. Each line has exactly three fields; both sentences are
    non-blank and kept as written; the score is a finite decimal number on any scale (Spearman and
    Pearson do not depend on it), so ``parse_score``'s [0, 5] does not apply. Pairs are named
    ``pairs:<line>``. At least two pairs, and not all of one score, or no correlation is defined.

    Raises:
        InputError: naming ``where``, the line and the field.
    """
    lines = _lines(data, where)
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if number == 1 and tuple(fields) == USER_HEADER:
            continue
        if len(fields) != 3:
            raise InputError(
                where,
                f"line {number}",
                f"{len(fields)} tab-separated fields; expected sentence1, sentence2, score",
            )
        for index, name in enumerate(("sentence1", "sentence2")):
            if not fields[index].strip():
                raise InputError(where, f"line {number}: {name}", "empty")
        text = fields[2].strip()
        if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
            raise InputError(where, f"line {number}: score", f"not a finite number: {fields[2]!r}")
        pairs.add(f"pairs:{number}", fields[0], fields[1], float(text))
    if len(pairs.gold) < 2:
        raise InputError(where, "(file)", f"{len(pairs.gold)} pairs: a correlation needs at least two")
    if len(set(pairs.gold)) == 1:
        raise InputError(where, "score", f"every score is {pairs.gold[0]:g}: a correlation is undefined")


def load_user_pairs(card: DatasetCard) -> StsDataset:
    """A user's STS file (``harness.data.user``): read as ``read_pairs_tsv``, recorded as ``pairs.tsv``.

    Raises:
        InputError: the file is unreadable or malformed, named as the user wrote its path.
    """
    data = read_given_file(card)
    pairs = _Pairs()
    read_pairs_tsv(pairs, data, card.path or card.id)
    counts = {"pairs": len(pairs.gold), "sentences": len(pairs.index)}
    inputs = inputs_record(card, SPLIT, {STS_MEMBER: sha256_bytes(data)}, counts)
    return StsDataset(
        sentences=tuple(pairs.index),
        left=tuple(pairs.left),
        right=tuple(pairs.right),
        gold=tuple(pairs.gold),
        pair_ids=tuple(pairs.ids),
        inputs=inputs,
    )


def load_sts(card: DatasetCard, data_root: Path, split: str) -> StsDataset:
    """Read one split and record what was read: member sha256s, fingerprint, counts, verified.

    Counts are ``pairs`` (scored pairs read) and ``sentences`` (distinct sentence strings over both
    sides); ``verified`` says the member sha256s and counts equal the card's.

    Raises:
        SettingError: the card is not an STS dataset, it has no such split, or the data root is
            not a folder.
        DataNotFound: the dataset is not under the data root.
        InputError: a member file is malformed, naming the file (relative to the data root) and line.
    """
    if card.user_data:
        return load_user_pairs(card)
    layout = LAYOUTS.get(card.name)
    if layout is None:
        raise SettingError("datasets", f"{card.id} is not an STS dataset (known: {', '.join(LAYOUTS)})")
    if split not in card.splits:
        raise SettingError("split", f"{card.id} has no split {split!r} (it has: {', '.join(card.splits)})")
    source: DatasetSource = locate(card, data_root)
    files: dict[str, str] = {}
    pairs = _Pairs()
    for part in layout.parts:
        data = tuple(source.read(member) for member in part.files)
        files.update((member, sha256_bytes(blob)) for member, blob in zip(part.files, data, strict=True))
        names = tuple(source.name_of(member) for member in part.files)
        if layout.format == "stsb":
            read_stsb(pairs, part, data[0], names[0])
        elif layout.format == "sick":
            read_sick(pairs, part, data[0], names[0])
        else:
            read_semeval(pairs, part, data[0], data[1], (names[0], names[1]))
    counts = {"pairs": len(pairs.gold), "sentences": len(pairs.index)}
    inputs = inputs_record(card, split, files, counts)
    return StsDataset(
        sentences=tuple(pairs.index),
        left=tuple(pairs.left),
        right=tuple(pairs.right),
        gold=tuple(pairs.gold),
        pair_ids=tuple(pairs.ids),
        inputs=inputs,
    )
