"""Open the members of a dataset whether it sits in a zip or in a folder, and hash their bytes.

A dataset is located under a data root by its card (``beir/scifact.zip``, ``sts/stsbenchmark/`` ...).
Names shown to users and written to results files are relative to the data root, never absolute.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from harness.data.cards import DatasetCard
from harness.errors import DataNotFound, InputError, SettingError


def default_data_root() -> Path:
    """The user cache folder used when neither ``--data-dir`` nor ``HARNESS_DATA`` is given."""
    return Path(platformdirs.user_cache_dir("repbench")) / "data"


def default_cache_root() -> Path:
    """Where indexes and embeddings are cached when ``--cache-dir`` / ``HARNESS_CACHE`` are unset."""
    return Path(platformdirs.user_cache_dir("repbench"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class DatasetSource:
    """A located dataset: a folder, or a zip whose members sit under ``prefix``."""

    path: Path
    display: str
    prefix: str = ""

    @property
    def is_zip(self) -> bool:
        return self.path.suffix == ".zip"

    def name_of(self, member: str) -> str:
        """How a member is named in messages: relative to the data root."""
        return f"{self.display}:{self.prefix}{member}" if self.is_zip else f"{self.display}/{member}"

    def read(self, member: str) -> bytes:
        if self.is_zip:
            try:
                with zipfile.ZipFile(self.path) as archive:
                    return archive.read(self.prefix + member)
            except KeyError:
                raise InputError(self.name_of(member), "(file)", "missing from the archive") from None
            except zipfile.BadZipFile as error:
                raise InputError(self.display, "(file)", f"not a valid zip: {error}") from None
        try:
            return (self.path / member).read_bytes()
        except FileNotFoundError:
            raise InputError(self.name_of(member), "(file)", "no such file") from None
        except OSError as error:
            raise InputError(self.name_of(member), "(file)", error.strerror or str(error)) from None


def _zip_prefix(path: Path, display: str, marker: str) -> str:
    """The folder inside the zip that holds ``marker`` (BEIR zips hold ``scifact/corpus.jsonl``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as error:
        raise InputError(display, "(file)", f"not a valid zip: {error}") from None
    for name in sorted(names, key=len):
        if name == marker or name.endswith("/" + marker):
            return name[: -len(marker)]
    raise InputError(display, marker, "not found in the archive")


def check_data_root(data_root: Path) -> None:
    if not data_root.is_dir():
        raise SettingError("data_root", f"{data_root} is not a folder (set --data-dir or HARNESS_DATA)")


def given_source(card: DatasetCard, given: str) -> DatasetSource:
    """A dataset at a path given on the command line (``--datasets name=PATH``): a zip or a folder.

    Messages name its members from the path as the user wrote it (``mine/corpus.jsonl: line 3``);
    results files name them relative to the dataset (``corpus.jsonl``), as for a dataset under the
    data root, so a zip and its unzipped folder give one fingerprint wherever they lie.

    Raises:
        DataNotFound: ``given`` is neither a folder nor a ``.zip`` file.
        InputError: the zip is not valid, or holds no ``card.marker``.
    """
    path = Path(given).expanduser()
    display = given.rstrip("/") or given
    if path.is_file() and path.suffix == ".zip":
        return DatasetSource(path, display, _zip_prefix(path, display, card.marker))
    if path.is_dir():
        return DatasetSource(path, display)
    raise DataNotFound(card.id, f"{given} is neither a folder nor a .zip file")


def locate(card: DatasetCard, data_root: Path) -> DatasetSource:
    """Find the dataset under ``data_root``.

    Raises:
        SettingError: ``data_root`` is not a folder.
        DataNotFound: the dataset is not there; the message says where to put it.
    """
    if card.bundled:
        raise DataNotFound(card.id, "ships inside the harness package; its task reads it from there")
    if card.path is not None:
        return given_source(card, card.path)
    if card.user_data:
        raise DataNotFound(card.id, "is user data and no copy was named: give it as --datasets NAME=PATH")
    check_data_root(data_root)
    for relative in card.locations:
        candidate = data_root / relative
        if candidate.is_file() and candidate.suffix == ".zip":
            return DatasetSource(candidate, relative, _zip_prefix(candidate, relative, card.marker))
        if candidate.is_dir() and (candidate / card.marker).is_file():
            return DatasetSource(candidate, relative)
    fetch = f", or run `harness fetch {card.id}` where the internet is reachable" if card.archive_md5 else ""
    raise DataNotFound(
        card.id, f"not found under {data_root}: put it at {card.locations[0]} there (from {card.url}){fetch}"
    )


def is_present(card: DatasetCard, data_root: Path) -> bool:
    """Whether the dataset is here: bundled with the package, or a folder or zip under ``data_root``."""
    if card.bundled:
        return True
    try:
        locate(card, data_root)
    except DataNotFound:
        return False
    return True
