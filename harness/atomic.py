"""Files that appear whole or not at all: atomic replacement and exclusive creation.

A reader sees the old file or the whole new one, never a part: bytes go to a temporary file in
the same folder, are flushed and synced, then renamed (or hard-linked, for exclusive creation)
into place, and the folder entry is synced too (POSIX needs both for durability). Used by results
files, submissions, caches and index builds; it knows nothing of what the bytes mean.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PUBLIC = 0o644
"""Mode of files written for others to read (results files, filed submissions): mkstemp makes 0600."""


def synced_temp_file(path: Path, data: bytes, mode: int | None = None) -> Path:
    """``data`` in a new temporary file beside ``path``, flushed to disk; the caller renames or links it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def fsync_dir(path: Path) -> None:
    """Make a rename or link inside ``path`` durable (POSIX: the directory entry needs its own fsync)."""
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never a part.

    ``mode`` None keeps mkstemp's 0600 (caches, private to the user); ``PUBLIC`` for shared records.
    """
    tmp = synced_temp_file(path, data, mode)
    try:
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes, mode: int = PUBLIC) -> bool:
    """Create ``path`` holding ``data``, whole or not at all; False if it already exists.

    The bytes go to a synced temporary file in the same folder that is then hard-linked to
    ``path``; the link fails when ``path`` exists, so of several concurrent writers exactly one
    creates the file, and only that one may remove it again.
    """
    if path.exists():
        return False
    tmp = synced_temp_file(path, data, mode)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True
