"""Data cards: what the bytes and counts of each dataset split must be, so a load can say ``verified``.

Checksums are over member files, not archives: BEIR's ``scifact.zip`` and its unzipped folder give
the same fingerprint (as Hugging Face ``datasets`` verifies both checksums and split sizes). A card
lists member hashes only where the bytes were checked end to end; a split without them loads as
unverified. Each suite keeps its cards beside its readers (``harness/suites/<suite>/cards.py``);
this module is what every card shares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.results import Inputs


@dataclass(frozen=True)
class SplitCard:
    """One split as it must be: the files it is read from (relative path -> sha256) and its counts."""

    members: Mapping[str, str] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedFacts:
    """What a dataset's publisher states about it, kept apart from what was checked here.

    These facts do not verify a load (only member sha256s do); they say what a full copy should look
    like, so a copy that differs can be named. BEIR publishes, per dataset, its splits, the number of
    evaluation queries of the default split and the corpus size rounded ("5K", "8.84M"), in the
    beir-cellar/beir README dataset table.
    """

    source: str
    """Where the facts come from (repository, file, commit)."""
    splits: tuple[str, ...]
    eval_split: str
    """The split a run uses when none is named (BEIR's evaluation split: ``dev`` for MS MARCO)."""
    eval_queries: int
    """Judged queries of ``eval_split`` as published."""
    corpus: str
    """Corpus size as published, rounded as the publisher wrote it (e.g. ``"8.84M"``)."""

    def query_count_note(self, split: str, queries: int) -> str:
        """Why ``queries`` judged queries read for ``split`` differ from the published count ("" if not)."""
        if split != self.eval_split or queries == self.eval_queries:
            return ""
        return (
            f"{queries:,} judged queries in split {split!r}, but {self.eval_queries:,} are published "
            f"({self.source}): this copy is not the published one"
        )


@dataclass(frozen=True)
class DatasetCard:
    """Identity of one dataset: where it lives under the data root and what its splits hash to.

    ``locations`` are tried in order, relative to the data root: a ``.zip`` whose members sit under
    one folder (found by ``marker``), or a folder holding ``marker``. ``url`` is where a user gets
    it; ``archive_md5`` is the checksum its publisher gives for the archive ``harness fetch``
    downloads (None: not fetchable).
    """

    id: str
    name: str
    locations: tuple[str, ...]
    marker: str
    licence: str
    url: str
    splits: Mapping[str, SplitCard] = field(default_factory=dict)
    archive_md5: str | None = None
    bundled: bool = False
    """Shipped inside the harness package (the circuit suite's toy models and ground truths): present on
    every install and read from there, never from the data root (``locations`` is empty)."""
    path: str | None = None
    """Read from this folder, zip or file, as given on the command line (``--datasets name=PATH``),
    instead of under the data root (``harness.data.user``)."""
    user_data: bool = False
    """The user's own data: a card computed on the spot (``harness.data.user``), with no published
    checksums, so its loads are never ``verified`` and its inputs say ``source: user``."""
    published: PublishedFacts | None = None
    """The publisher's own facts (splits, evaluation queries, corpus size); None where none are kept."""

    @property
    def eval_split(self) -> str | None:
        """The split a run uses when none is named: the published evaluation split, if known."""
        return self.published.eval_split if self.published else None

    def published_note(self, split: str, counts: Mapping[str, int]) -> str:
        """Why ``counts`` read for ``split`` differ from the published facts ("" when they agree or none).

        Not a refusal: the load stays unverified (no member checksums) and the run goes on, but the
        CLI prints this as a warning, so a copy that is not the published one is never silently used.
        """
        queries = counts.get("queries")
        if self.published is None or queries is None:
            return ""
        return self.published.query_count_note(split, queries)

    @property
    def has_checksums(self) -> bool:
        return any(split.members for split in self.splits.values())

    def mismatch(self, split: str, files: Mapping[str, str], counts: Mapping[str, int]) -> str:
        """Why files and counts read for ``split`` differ from this card ("" when they equal it)."""
        if self.user_data:
            return f"{self.id} is user data: there is no published card to verify it against"
        card = self.splits.get(split)
        if card is None or not card.members:
            return f"the data card of {self.id} lists no checksums for split {split!r}"
        if dict(files) != dict(card.members):
            return "the dataset fingerprint differs from the data card's"
        if dict(counts) != dict(card.counts):
            return "the dataset counts differ from the data card's"
        return ""


def inputs_record(
    card: DatasetCard, split: str, files: Mapping[str, str], counts: Mapping[str, int]
) -> Inputs:
    """The ``Inputs`` record of what a reader read: files, fingerprint, counts, and ``verified``.

    ``verified`` holds when the files and counts are the card's for ``split``; never for user data.
    """
    return Inputs(
        id=card.id,
        files=dict(files),
        fingerprint=fingerprint(files),
        counts=dict(counts),
        verified=not card.user_data and not card.mismatch(split, files, counts),
        source="user" if card.user_data else "card",
    )


def fingerprint(files: Mapping[str, str]) -> str:
    """sha256 of the sorted ``"path sha256"`` lines: one value for a set of member files."""
    lines = "".join(f"{path} {files[path]}\n" for path in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def generated_fingerprint(generator: Mapping[str, object], seed: int | None) -> str:
    """sha256 of the canonical JSON of a generator spec and its seed: the identity of synthetic inputs."""
    canonical = json.dumps({"generator": generator, "seed": seed}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
