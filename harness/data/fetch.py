"""Download a dataset archive for users with internet, verified against the published checksum.

Never imported by the run path: the harness works from local files, and a missing dataset is one
line saying where to put it. BEIR publishes an MD5 per archive (beir-cellar/beir README dataset
table), so that is what a download is checked against: the bytes go to a hidden ``.part`` file
beside the target, are hashed while they arrive, and only a file whose MD5 is the published one is
moved into place (``Path.replace``, atomic on one file system). A mismatch or a broken download
leaves the data root as it was: the part file is removed, and so are the folders this call made.

``mirror`` replaces the publisher's host with another base URL (an institutional mirror, or a
``file://`` folder for offline tests): the archive's file name is appended to it, and the published
MD5 still decides.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.data.cards import DatasetCard
from harness.errors import HarnessError

Progress = Callable[[int, int | None], None]
"""Told ``(bytes so far, total bytes or None)`` after each chunk; the CLI draws a bar from it."""

CHUNK = 1 << 20
TIMEOUT_S = 60


class ChecksumMismatch(HarnessError):
    """The downloaded bytes are not the published archive; nothing was saved."""

    def __init__(self, url: str, got: str, published: str) -> None:
        self.url, self.got, self.published = url, got, published
        super().__init__(f"{url}: md5 {got} differs from the published {published}; nothing was saved")


@dataclass(frozen=True)
class Fetched:
    """Where a dataset's archive now is, and whether this call downloaded it or found it verified."""

    card_id: str
    path: Path
    outcome: Literal["downloaded", "present"]


def archive_url(card: DatasetCard, mirror: str | None = None) -> str:
    """The URL to download ``card``'s archive from: the card's own, or the same file name under ``mirror``."""
    if not mirror:
        return card.url
    name = urllib.parse.urlsplit(card.url).path.rsplit("/", 1)[-1]
    return (mirror if mirror.endswith("/") else mirror + "/") + urllib.parse.quote(name)


def file_md5(path: Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            md5.update(chunk)
    return md5.hexdigest()


def _made_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, deepest first."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def fetch(
    card: DatasetCard, data_root: Path, progress: Progress | None = None, mirror: str | None = None
) -> Fetched:
    """Download ``card``'s archive to its first location under ``data_root``, verified by MD5.

    An archive already there whose MD5 is the published one is kept (``outcome == "present"``).
    Folders missing on the way (the data root included) are made, and removed again if nothing is saved.

    Raises:
        HarnessError: the card names no published checksum, an archive with another MD5 is already
            at the target (it is never overwritten), or the download failed.
        ChecksumMismatch: the downloaded bytes are not the published archive.
    """
    published = card.archive_md5
    if not published:
        raise HarnessError(f"{card.id}: its publisher gives no archive checksum, so it is not fetched")
    target = data_root / card.locations[0]
    if target.is_file():
        found = file_md5(target)
        if found == published:
            return Fetched(card.id, target, "present")
        raise HarnessError(
            f"{target}: already there with md5 {found}, not the published {published}; "
            "move it away to fetch the published archive"
        )
    url = archive_url(card, mirror)
    made = _made_folders(target.parent)
    md5 = hashlib.md5(usedforsecurity=False)
    fd, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    saved = False
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress:
                progress(done, total)
            while chunk := response.read(CHUNK):
                out.write(chunk)
                md5.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        got = md5.hexdigest()
        if got != published:
            raise ChecksumMismatch(url, got, published)
        Path(part).replace(target)  # atomic: the target appears whole or not at all
        saved = True
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise HarnessError(f"{url}: download failed ({reason}); nothing was saved") from None
    finally:
        if not saved:
            Path(part).unlink(missing_ok=True)
            for folder in made:  # deepest first; only folders this call created, and only if empty
                try:
                    folder.rmdir()
                except OSError:
                    break
    return Fetched(card.id, target, "downloaded")
