"""Task variants of a glue dataset: mteb's protocol (``-mteb``) and a training cap (``-cap<N>``).

A glue task name is ``glue/<dataset>[-mteb][-cap<N>]``, the suffixes in that order
(``glue/sst2-mteb-cap2000``); each variant is its own task, compared only with itself:

- ``-cap<N>`` caps the training examples at ``N`` (for cross-validated datasets the whole pool, before
  folds are drawn) by a stratified subsample drawn with the fixed seed ``CAP_SEED``
  (``folds.stratified_subsample``: each class keeps its share, by largest remainder, the kept
  examples stay in file order). ``N`` is at least ``MIN_CAP``; a cap at or above the size keeps
  every example (and is still its own task name). The evaluation split is never capped.
- ``-mteb`` runs mteb's classification protocol (``mteb_protocol``) instead of SentEval's. mteb
  classifies single texts, so pair datasets (MRPC, RTE) refuse it. Datasets without a split (MR,
  CR, SUBJ, MPQA) get one: fold 0 of ``folds.stratified_folds(labels, HOLDOUT_FOLDS, HOLDOUT_SEED)``
  (a stratified tenth, ``ceil(n / 10)`` examples) is the evaluation split ``holdout``, the rest the
  training data, both in file order. (mteb itself scores such sets by 5-fold cross-validation,
  ``is_cross_validation``; a fixed split keeps one predicted label per example and experiment.)

A ``-mteb`` variant encodes only the training texts mteb's undersampling reads (``data.mteb_rows``),
as mteb does, and every evaluation text; its ``train`` count is still every training example (the
pool the undersampling draws from).

A variant's data card is the dataset's with the variant's counts. A capped variant's count of
distinct texts depends on which examples the subsample keeps, so its card (``CappedCard``) holds
the counts the cap fixes (``train``, ``eval``, ``classes``) and bounds ``sentences`` by the texts
of the kept examples; ``Task.check`` with local data then holds the file's counts to the local ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields

from harness.data.cards import DatasetCard, SplitCard
from harness.errors import SettingError
from harness.suites.glue.cards import CARDS, LAYOUTS, Layout

MTEB_SUFFIX = "-mteb"
CAP_SUFFIX = "-cap"
MIN_CAP = 100
"""The smallest training cap: at 100 every class of every dataset here keeps two examples or more
(TREC's rarest, ``ABBR``, 86 of 5,452, keeps 2), so every training part of the folds holds two
classes at least."""
MAX_CAP_DIGITS = 9
CAP_SEED = 0
"""The seed of every capped subsample (not a run's seed: a capped task is one fixed set of examples)."""
MTEB_SEED = 42
"""mteb's default task seed (``AbsTask``): with it, mteb's undersampling draws what MTEB's runs drew."""
HOLDOUT_SPLIT = "holdout"
HOLDOUT_FOLDS = 10
HOLDOUT_SEED = 0

MTEB_SENTENCES: dict[str, int] = {
    "sst2": 1032,
    "sst5": 2597,
    "cola": 1199,
    "trec": 923,
    "mr": 1223,
    "cr": 533,
    "subj": 1160,
    "mpqa": 1124,
}
"""Distinct texts a ``-mteb`` variant encodes: the training texts mteb's undersampling reads in any of
its experiments (``mteb_protocol.mteb_undersample`` with ``MTEB_SEED``), and every evaluation text;
counted from the files."""

_CAP = rf"{CAP_SUFFIX}(?P<cap>[1-9][0-9]{{0,{MAX_CAP_DIGITS - 1}}})"
_NAME = re.compile(rf"(?P<dataset>[a-z0-9]+)(?P<mteb>{MTEB_SUFFIX})?(?:{_CAP})?")


@dataclass(frozen=True)
class CappedCard(DatasetCard):
    """The card of a capped variant: exact files and fixed counts, ``sentences`` within a bound.

    ``mismatch`` holds ``train``, ``eval`` and ``classes`` to the card and ``sentences`` to
    ``1 .. max_sentences`` (the texts of the kept examples), since which texts repeat depends on
    which examples the subsample keeps.
    """

    max_sentences: int = 0

    def mismatch(self, split: str, files: Mapping[str, str], counts: Mapping[str, int]) -> str:
        fixed = {name: value for name, value in counts.items() if name != "sentences"}
        problem = super().mismatch(split, files, fixed)
        sentences = counts.get("sentences")
        if not problem and (sentences is None or not 1 <= sentences <= self.max_sentences):
            return "the dataset counts differ from the data card's"
        return problem


@dataclass(frozen=True)
class Variant:
    """One glue task's dataset and protocol: the dataset, whether mteb's protocol, the training cap."""

    dataset: str
    mteb: bool = False
    cap: int | None = None

    @property
    def name(self) -> str:
        """``sst2``, ``sst2-mteb``, ``sst2-cap2000``, ``sst2-mteb-cap2000``."""
        mteb = MTEB_SUFFIX if self.mteb else ""
        cap = f"{CAP_SUFFIX}{self.cap}" if self.cap is not None else ""
        return f"{self.dataset}{mteb}{cap}"

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.dataset]

    @property
    def holdout(self) -> bool:
        """Whether a split is drawn from the pool (mteb's protocol on a dataset without a split)."""
        return self.mteb and self.layout.cross_validated

    @property
    def cross_validated(self) -> bool:
        """Whether the task is scored by cross-validation (SentEval's protocol without a split)."""
        return self.layout.cross_validated and not self.mteb

    @property
    def split(self) -> str:
        """The evaluation split: the dataset's, or ``holdout``."""
        return HOLDOUT_SPLIT if self.holdout else self.layout.split

    def card(self) -> DatasetCard:
        """The data card a load of this variant is verified against (the dataset's, with its counts)."""
        base = CARDS[self.dataset]
        if self.cap is None and not self.mteb:
            return base
        full = base.splits[self.layout.split]
        counts = dict(full.counts)
        if self.layout.cross_validated:
            pool = counts["train"] if self.cap is None else min(self.cap, counts["train"])
            held = (pool + HOLDOUT_FOLDS - 1) // HOLDOUT_FOLDS if self.holdout else pool
            counts.update(train=pool - held if self.holdout else pool, eval=held)
            examples = pool
        else:
            if self.cap is not None:
                counts["train"] = min(self.cap, counts["train"])
            examples = counts["train"] + counts["eval"]
        if self.cap is None:  # mteb's protocol on the whole dataset: the texts it encodes are known
            counts["sentences"] = MTEB_SENTENCES[self.dataset]
            return replace(base, splits={self.split: SplitCard(members=full.members, counts=counts)})
        del counts["sentences"]
        fields = {field.name: getattr(base, field.name) for field in dataclass_fields(base)}
        fields["splits"] = {self.split: SplitCard(members=full.members, counts=counts)}
        return CappedCard(**fields, max_sentences=examples * (2 if self.layout.pair else 1))


def parse(dataset: str) -> Variant:
    """The variant a dataset name asks for.

    Raises:
        SettingError: ``datasets``: an unknown dataset, a malformed suffix, a cap below ``MIN_CAP``,
            or ``-mteb`` on a pair dataset.
    """
    match = _NAME.fullmatch(dataset)
    if match is None or match["dataset"] not in LAYOUTS:
        raise SettingError(
            "datasets",
            f"unknown glue dataset {dataset!r}; known: {', '.join(LAYOUTS)}, each optionally with "
            f"{MTEB_SUFFIX} and then {CAP_SUFFIX}<N> (e.g. sst2{MTEB_SUFFIX}{CAP_SUFFIX}2000)",
        )
    cap = int(match["cap"]) if match["cap"] else None
    if cap is not None and cap < MIN_CAP:
        raise SettingError("datasets", f"{dataset!r}: a training cap is at least {MIN_CAP} examples")
    variant = Variant(match["dataset"], mteb=match["mteb"] is not None, cap=cap)
    if variant.mteb and variant.layout.pair:
        raise SettingError(
            "datasets",
            f"{dataset!r}: mteb's classification protocol classifies single texts; "
            f"{variant.dataset} is a pair task (use {variant.dataset} for SentEval's protocol)",
        )
    return variant
