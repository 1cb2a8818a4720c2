"""Users' own datasets: ``--datasets PATH`` or ``--datasets name=PATH`` beside the carded ones.

A user dataset has no published data card, so its card is computed on the spot from what is given:
its id is ``<suite>/<name>``, it is read from the path as given (``DatasetCard.path``) rather than
under the data root, and its splits are the ones the files hold (BEIR: one per ``qrels/<split>.tsv``;
STS: the one TSV file is split ``test``). It lists no member checksums: what the files hash to is
recorded when they are read (``Inputs.files``, ``fingerprint``, ``counts``, as for carded data),
with ``source: "user"`` and ``verified`` false. The store and the board key a user dataset on its
task *and* fingerprint (``store.tables.TaskRow.user_data``), so two different datasets both named
``beir/mine`` never share a column.

Rules, and why:

- **Path or name.** An entry with ``=`` is ``name=PATH``; an entry holding a path separator, starting
  with ``.`` or ``~``, or ending in ``.zip`` or ``.tsv`` is a path (a carded dataset name never does:
  write ``./mine`` for a folder ``mine`` in the current directory); anything else is a dataset name.
- **Names.** The results file's name pattern, one segment: ``^[a-z0-9][a-z0-9._-]*$``. Without
  ``name=``, the name is the folder's name or the file's stem, lower-cased, with each run of other
  characters turned into ``-`` (``My Data.zip`` -> ``my-data``); an explicit name that does not fit
  is refused, never rewritten.
- **No impersonation.** A user dataset may take the name of one of the suite's carded datasets
  (``scifact=/elsewhere/scifact.zip``) only when its bytes are that card's for the split run: it is
  then that dataset, read from the given path and verified as usual. Other bytes are refused with a
  suggested name, so a ``beir/scifact`` cell always means the published SciFact.
- **Paths stay home.** Messages name files from the path as the user wrote it; results files name
  members relative to the dataset (``corpus.jsonl``; an STS file is recorded as ``pairs.tsv``,
  whatever it is called, so a renamed copy is the same dataset) and never the path itself.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from harness.data.cards import DatasetCard, SplitCard
from harness.data.files import given_source, sha256_bytes
from harness.errors import DataNotFound, HarnessError, InputError, SettingError

USER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
"""One segment of ``results.records.NAME``: a user dataset's name, the part after ``<suite>/``."""

USER_LICENCE = "user data: no published card"
STS_MEMBER = "pairs.tsv"
"""How a user STS file is named in ``Inputs.files``: by role, not by its name on the user's disk."""

_PATH_SUFFIXES = (".zip", ".tsv")


@dataclass(frozen=True)
class UserEntry:
    """A ``--datasets`` entry that names a path: the dataset's name and the path as the user wrote it."""

    name: str
    path: str


def is_path_entry(entry: str) -> bool:
    """Whether a ``--datasets`` entry names a path (``name=PATH``, ``./mine``, ``mine.zip``), not a name."""
    return (
        "=" in entry
        or "/" in entry
        or "\\" in entry
        or entry.startswith((".", "~"))
        or entry.lower().endswith(_PATH_SUFFIXES)
    )


def default_name(path: str) -> str:
    """The name a path gives when none is named: its folder name or file stem, normalised (module docstring).

    Raises:
        SettingError: nothing of the name is left that fits ``USER_NAME``.
    """
    given = Path(path.rstrip("/\\") or path).expanduser()
    stem = given.stem if given.suffix.lower() in _PATH_SUFFIXES else given.name
    name = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).lstrip("._-")
    if not USER_NAME.fullmatch(name):
        raise SettingError("datasets", f"{path}: no dataset name can be made of it; write NAME={path}")
    return name


def parse_entry(entry: str) -> UserEntry | None:
    """The user dataset an entry names, or None when the entry is a dataset name (``scifact``).

    Raises:
        SettingError: an explicit name that does not fit ``USER_NAME``, or an empty path.
    """
    if not is_path_entry(entry):
        return None
    name, equals, path = entry.partition("=")
    if not equals:
        return UserEntry(default_name(entry), entry)
    if not path:
        raise SettingError("datasets", f"{entry}: no path after '='")
    if not USER_NAME.fullmatch(name):
        raise SettingError(
            "datasets",
            f"{name!r} is not a dataset name: lower-case letters, digits, '.', '_' and '-', "
            "starting with a letter or digit",
        )
    return UserEntry(name, path)


def user_card(suite: str, name: str, path: str | None, splits: tuple[str, ...]) -> DatasetCard:
    """The card of a user dataset: no checksums, read from ``path`` (None: named in a results file only)."""
    return DatasetCard(
        id=f"{suite}/{name}",
        name=name,
        locations=(),
        marker="corpus.jsonl" if suite == "beir" else STS_MEMBER,
        licence=USER_LICENCE,
        url="",
        splits={split: SplitCard() for split in splits},
        path=path,
        user_data=True,
    )


def beir_card(entry: UserEntry) -> DatasetCard:
    """A BEIR-layout folder or zip (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``).

    Its splits are the ``qrels/*.tsv`` files it holds (BEIR's ``GenericDataLoader`` reads
    ``qrels/<split>.tsv``).

    Raises:
        DataNotFound: the path is neither a folder nor a zip.
        InputError: no ``corpus.jsonl`` in it, or no ``qrels/*.tsv``.
    """
    probe = user_card("beir", entry.name, entry.path, ())
    source = given_source(probe, entry.path)
    if source.is_zip:
        with zipfile.ZipFile(source.path) as archive:
            names = archive.namelist()
        qrels = source.prefix + "qrels/"
        found = [n[len(qrels) :] for n in names if n.startswith(qrels) and "/" not in n[len(qrels) :]]
    else:
        if not (source.path / "corpus.jsonl").is_file():
            raise InputError(
                source.name_of("corpus.jsonl"), "(file)", "no such file: not a BEIR-layout folder"
            )
        folder = source.path / "qrels"
        found = [p.name for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    splits = tuple(sorted(name.removesuffix(".tsv") for name in found if name.endswith(".tsv")))
    if not splits:
        raise InputError(
            source.name_of("qrels/"), "(file)", "no qrels/<split>.tsv: not a BEIR-layout dataset"
        )
    return user_card("beir", entry.name, entry.path, splits)


def sts_card(entry: UserEntry) -> DatasetCard:
    """A TSV file of ``sentence1, sentence2, score`` (``suites.sts.data.read_pairs_tsv``), split ``test``.

    Raises:
        DataNotFound: the path is not a file.
    """
    if not Path(entry.path).expanduser().is_file():
        raise DataNotFound(
            f"sts/{entry.name}", f"{entry.path} is not a file (a TSV of sentence1, sentence2, score)"
        )
    return user_card("sts", entry.name, entry.path, ("test",))


def read_given_file(card: DatasetCard) -> bytes:
    """The bytes of a user dataset that is one file (an STS TSV).

    Raises:
        InputError: the file cannot be read, named as the user wrote it.
    """
    if card.path is None:
        raise DataNotFound(card.id, "is user data and no copy was named: give it as --datasets NAME=PATH")
    try:
        return Path(card.path).expanduser().read_bytes()
    except OSError as error:
        raise InputError(card.path, "(file)", error.strerror or str(error)) from None


def as_carded(card: DatasetCard, entry: UserEntry, split: str) -> DatasetCard:
    """``card`` read from ``entry.path``, when the bytes there are the card's for ``split``.

    A user dataset may never carry a carded dataset's name with other bytes (module docstring).

    Raises:
        SettingError: the card lists no checksums for ``split``, or the bytes differ.
    """
    members: Mapping[str, str] = card.splits[split].members if split in card.splits else {}
    other = f"{card.name}-mine" if USER_NAME.fullmatch(f"{card.name}-mine") else "mine"
    refusal = (
        f"{entry.path} is not the data of {card.id} (split {split!r}){{why}}; a dataset of your own needs "
        f"a name of its own, e.g. --datasets {other}={entry.path}"
    )
    if not members:
        raise SettingError("datasets", refusal.format(why=": its card lists no checksums to compare with"))
    located = replace(card, path=entry.path)
    try:
        source = given_source(located, entry.path)
        found = {member: sha256_bytes(source.read(member)) for member in members}
    except HarnessError:
        found = {}
    if found != dict(members):
        raise SettingError("datasets", refusal.format(why=": its bytes differ from the data card's"))
    return located
