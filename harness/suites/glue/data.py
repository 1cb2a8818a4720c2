r"""Glue datasets: labelled texts and text pairs, read strictly, verified, and shaped for a probe.

Formats (``shared/data/MANIFEST.md`` §3; the dataset's ``Layout`` in ``cards`` picks one):

- ``sst2`` (SST/binary): ``sentence\tlabel``, label ``0`` or ``1``.
- ``sst5`` (SST/fine): ``label sentence``, label ``0`` .. ``4``, split at the first space.
- ``mrpc``: ``label, id1, id2, s1, s2`` tab-separated, no header; label ``0``/``1``, ids decimal.
  The byte-order mark that starts each file is not part of its first line.
- ``cola``: ``source, label, original_mark, sentence`` tab-separated, no header; label ``0``/``1``.
- ``rte``: one JSON object per line with exactly ``premise``, ``hypothesis`` (non-empty strings),
  ``label`` (``entailment``/``not_entailment``) and ``idx`` (an integer); duplicate keys are refused.
- ``trec``: ``COARSE:fine question``: the coarse class (six), a colon, the fine class, one space,
  the question (SentEval's ``trec.py`` split, which keeps only the coarse class).
- ``lines`` (MR, CR, SUBJ, MPQA): one text per line, the class given by the file. A line holding a
  tab is refused (a label column would mean another format). An empty line is an example with the
  empty text, as SentEval keeps it (its batcher encodes ``'.'`` for it; here the encoder gets the
  line as it is): CR holds 4 and MPQA 3, and the published counts (3,775; 10,606) include them.

Common rules: the codec of the layout (strict; ``cards`` says which and why); lines end at ``\n``
only, a trailing ``\r`` is dropped, a final empty line is ignored. A text is kept exactly as in the
file: SentEval tokenises on whitespace and joins the tokens again, which drops the trailing space of
every SST and MR line; here the encoder sees the line itself. Any malformed row raises
``InputError`` naming the file (relative to the data root), the line and the field.

**Example order is a contract.** Training and evaluation examples come in reading order: the
layout's members in order (CoLA ``in_domain_dev`` then ``out_of_domain_dev``; the ``lines`` sets
their class-1 file then their class-0 file, as SentEval's ``pos + neg``), lines in file order. A
cap or a holdout split keeps that order. Results files store one prediction per evaluation example
in exactly this order (per seed), and ``Task.check`` relies on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.cards import inputs_record
from harness.data.files import DatasetSource, locate, sha256_bytes
from harness.errors import InputError
from harness.results import Inputs
from harness.suites.glue.cards import Layout
from harness.suites.glue.folds import stratified_folds, stratified_subsample
from harness.suites.glue.variants import CAP_SEED, HOLDOUT_FOLDS, HOLDOUT_SEED, MTEB_SEED, Variant

UNENCODED = -1
"""The text index of a training example whose text is not encoded (mteb's protocol never reads it)."""

_TREC = re.compile(r"(?P<coarse>[^:\s]+):(?P<fine>\S+) (?P<question>.*)")
_DECIMAL = re.compile(r"[0-9]+")
RTE_FIELDS = frozenset({"premise", "hypothesis", "label", "idx"})


@dataclass(frozen=True)
class Example:
    """One labelled example as read: its text (and second text for pairs) and class index."""

    text: str
    label: int
    second: str | None = None


@dataclass(frozen=True)
class Examples:
    """The examples of one part, in reading order: texts as indices into ``GlueDataset.texts``.

    ``second`` is empty for single-text datasets. An index is ``UNENCODED`` for a training text the
    task's protocol never reads (mteb's undersampling), which is then not encoded at all.
    """

    first: tuple[int, ...]
    second: tuple[int, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class GlueDataset:
    """One glue task's data: distinct texts (each encoded once), training and evaluation examples.

    For a cross-validated task ``evaluation`` is ``train`` (every example is predicted once per
    seed). Class ``i`` is ``classes[i]``.
    """

    texts: tuple[str, ...]
    train: Examples
    evaluation: Examples
    classes: tuple[str, ...]
    pair: bool
    cross_validated: bool
    inputs: Inputs


def _lines(data: bytes, where: str, encoding: str) -> list[str]:
    r"""Lines of a text: split at ``\n`` only, a trailing ``\r`` dropped, a final empty line ignored."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise InputError(where, f"byte {error.start}", f"not {encoding}") from None
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _class(value: str, classes: tuple[str, ...], where: str, field: str) -> int:
    if value not in classes:
        raise InputError(where, field, f"{value!r} is not one of {', '.join(classes)}")
    return classes.index(value)


def _text(value: str, where: str, field: str) -> str:
    if not value.strip():
        raise InputError(where, field, "empty")
    return value


def _fields(line: str, count: int, names: str, where: str, number: int) -> list[str]:
    fields = line.split("\t")
    if len(fields) != count:
        raise InputError(where, f"line {number}", f"{len(fields)} tab-separated fields; expected {names}")
    return fields


def read_sst2(lines: Sequence[str], classes: tuple[str, ...], where: str) -> list[Example]:
    r"""SST/binary: ``sentence\tlabel``."""
    examples = []
    for number, line in enumerate(lines, start=1):
        sentence, label = _fields(line, 2, "sentence, label", where, number)
        examples.append(
            Example(
                _text(sentence, where, f"line {number}: sentence"),
                _class(label, classes, where, f"line {number}: label"),
            )
        )
    return examples


def read_sst5(lines: Sequence[str], classes: tuple[str, ...], where: str) -> list[Example]:
    """SST/fine: ``label sentence``, split at the first space."""
    examples = []
    for number, line in enumerate(lines, start=1):
        label, space, sentence = line.partition(" ")
        if not space:
            raise InputError(where, f"line {number}", "expected 'label sentence' (no space found)")
        examples.append(
            Example(
                _text(sentence, where, f"line {number}: sentence"),
                _class(label, classes, where, f"line {number}: label"),
            )
        )
    return examples


def read_mrpc(lines: Sequence[str], classes: tuple[str, ...], where: str) -> list[Example]:
    """MSR Paraphrase: ``label, id1, id2, s1, s2``."""
    examples = []
    for number, line in enumerate(lines, start=1):
        label, first_id, second_id, first, second = _fields(line, 5, "label, id1, id2, s1, s2", where, number)
        for name, value in (("id1", first_id), ("id2", second_id)):
            if not _DECIMAL.fullmatch(value):
                raise InputError(where, f"line {number}: {name}", f"{value!r} is not a decimal id")
        examples.append(
            Example(
                _text(first, where, f"line {number}: s1"),
                _class(label, classes, where, f"line {number}: label"),
                _text(second, where, f"line {number}: s2"),
            )
        )
    return examples


def read_cola(lines: Sequence[str], classes: tuple[str, ...], where: str) -> list[Example]:
    """CoLA raw: ``source, label, original_mark, sentence``."""
    examples = []
    for number, line in enumerate(lines, start=1):
        source, label, _mark, sentence = _fields(
            line, 4, "source, label, original_mark, sentence", where, number
        )
        _text(source, where, f"line {number}: source")
        examples.append(
            Example(
                _text(sentence, where, f"line {number}: sentence"),
                _class(label, classes, where, f"line {number}: label"),
            )
        )
    return examples


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise ValueError(f"duplicate key {duplicated[0]!r}")
    return dict(pairs)


def read_rte(lines: Sequence[str], classes: tuple[str, ...], where: str) -> list[Example]:
    """SuperGLUE RTE: one object per line with ``premise, hypothesis, label, idx``."""
    examples = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line, object_pairs_hook=_unique_keys)
        except ValueError as error:
            raise InputError(where, f"line {number}", f"not a JSON object: {error}") from None
        if not isinstance(record, dict) or set(record) != RTE_FIELDS:
            found = sorted(record) if isinstance(record, dict) else type(record).__name__
            raise InputError(
                where, f"line {number}", f"expected the fields {', '.join(sorted(RTE_FIELDS))}; found {found}"
            )
        texts = []
        for name in ("premise", "hypothesis"):
            value = record[name]
            if not isinstance(value, str):
                raise InputError(where, f"line {number}: {name}", f"{type(value).__name__}, not a string")
            texts.append(_text(value, where, f"line {number}: {name}"))
        label, idx = record["label"], record["idx"]
        if not isinstance(label, str):
            raise InputError(where, f"line {number}: label", f"{label!r} is not one of {', '.join(classes)}")
        if type(idx) is not int:
            raise InputError(where, f"line {number}: idx", f"{idx!r} is not an integer")
        examples.append(Example(texts[0], _class(label, classes, where, f"line {number}: label"), texts[1]))
    return examples


def read_trec(lines: Sequence[str], classes: tuple[str, ...], where: str) -> list[Example]:
    """TREC: ``COARSE:fine question``; the coarse class is the label."""
    examples = []
    for number, line in enumerate(lines, start=1):
        match = _TREC.fullmatch(line)
        if match is None:
            raise InputError(where, f"line {number}", "expected 'COARSE:fine question'")
        examples.append(
            Example(
                _text(match["question"], where, f"line {number}: question"),
                _class(match["coarse"], classes, where, f"line {number}: label"),
            )
        )
    return examples


def read_lines(lines: Sequence[str], label: int, where: str) -> list[Example]:
    """One text per line, all of class ``label``; empty lines are examples too (module docstring)."""
    examples = []
    for number, line in enumerate(lines, start=1):
        if "\t" in line:
            raise InputError(where, f"line {number}", "holds a tab; expected one sentence per line")
        examples.append(Example(line, label))
    return examples


_READERS = {
    "sst2": read_sst2,
    "sst5": read_sst5,
    "mrpc": read_mrpc,
    "cola": read_cola,
    "rte": read_rte,
    "trec": read_trec,
}


def read_member(layout: Layout, member: str, data: bytes, where: str) -> list[Example]:
    """The examples of one member file of ``layout``."""
    lines = _lines(data, where, layout.encoding)
    if layout.format == "lines":
        label = layout.classes.index(layout.file_classes[layout.train.index(member)])
        return read_lines(lines, label, where)
    return _READERS[layout.format](lines, layout.classes, where)


class _Texts:
    """Gives each distinct text one index, in first-seen order; -1 to a text left unencoded."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def _id(self, text: str, row: int, used: frozenset[int] | None) -> int:
        if used is not None and row not in used:
            return UNENCODED
        return self.index.setdefault(text, len(self.index))

    def examples(self, examples: Sequence[Example], used: frozenset[int] | None = None) -> Examples:
        """The examples with their texts indexed; only the rows of ``used`` (None: all) are encoded."""
        first = tuple(self._id(e.text, row, used) for row, e in enumerate(examples))
        second = tuple(
            self._id(e.second, row, used) for row, e in enumerate(examples) if e.second is not None
        )
        return Examples(first, second, tuple(e.label for e in examples))


def mteb_rows(labels: Sequence[int]) -> frozenset[int]:
    """The training rows mteb's undersampling reads in any of its experiments (``mteb_protocol``).

    mteb encodes only these (``abstasks/classification.py``, the union of the experiments' indices),
    so a ``-mteb`` task encodes only these training texts: 160 of SST-2's 67,349 for two classes.
    """
    from harness.suites.glue.mteb_protocol import N_EXPERIMENTS, SAMPLES_PER_LABEL, mteb_undersample

    drawn = mteb_undersample(labels, MTEB_SEED, N_EXPERIMENTS, SAMPLES_PER_LABEL)
    return frozenset(row for experiment in drawn for row in experiment)


def _labels(examples: Sequence[Example]) -> list[int]:
    return [example.label for example in examples]


def _pick(examples: Sequence[Example], indices: np.ndarray) -> list[Example]:
    return [examples[int(i)] for i in indices]


def load_glue(variant: Variant, data_root: Path) -> GlueDataset:
    """Read a variant's data and record what was read: member sha256s, fingerprint, counts, verified.

    The whole of every member is read and parsed (a cap keeps a subsample of valid files only);
    then the cap and the holdout split of the variant are applied (``variants``). Counts are
    ``train``, ``eval`` (examples), ``sentences`` (distinct texts over the kept examples, both sides
    of pairs) and ``classes``; ``verified`` says files and counts are the variant's card's.

    Raises:
        SettingError: the data root is not a folder.
        DataNotFound: the dataset is not under the data root.
        InputError: a member file is malformed, naming the file (relative to the data root) and line.
    """
    layout = variant.layout
    card = variant.card()
    source: DatasetSource = locate(card, data_root)
    files: dict[str, str] = {}
    parts: list[list[Example]] = [[], []]
    for member in layout.members:
        data = source.read(member)
        files[member] = sha256_bytes(data)
        part = parts[0] if member in layout.train else parts[1]
        part.extend(read_member(layout, member, data, source.name_of(member)))
    train, evaluation = parts
    if variant.cap is not None:
        train = _pick(train, stratified_subsample(_labels(train), variant.cap, CAP_SEED))
    if variant.holdout:
        held = stratified_folds(_labels(train), HOLDOUT_FOLDS, HOLDOUT_SEED) == 0
        train, evaluation = _pick(train, np.flatnonzero(~held)), _pick(train, np.flatnonzero(held))
    texts = _Texts()
    train_examples = texts.examples(train, mteb_rows(_labels(train)) if variant.mteb else None)
    eval_examples = train_examples if variant.cross_validated else texts.examples(evaluation)
    counts = {
        "train": len(train_examples),
        "eval": len(eval_examples),
        "sentences": len(texts.index),
        "classes": len(layout.classes),
    }
    return GlueDataset(
        texts=tuple(texts.index),
        train=train_examples,
        evaluation=eval_examples,
        classes=layout.classes,
        pair=layout.pair,
        cross_validated=variant.cross_validated,
        inputs=inputs_record(card, variant.split, files, counts),
    )
