"""Published scores: numbers from outside (MTEB's result files, Pyserini's 2CR), imported and kept.

``harness import mteb DIR`` / ``harness import pyserini-2cr FILE`` read the files (``sources``: hostile
until checked), copy them byte for byte under the project's ``published/`` folder (``mteb/<model>/
<revision>/<Task>.json``, ``pyserini-2cr/<sha12>-<name>``) and store their scores
(``harness.store.published``), all files read before anything is written. ``harness import all``
rebuilds the tables from that folder. ``tasks`` says which published task is which of ours, and which
dataset builds are known to be our cards' data; ``export`` writes our runs in MTEB's format.
"""

from __future__ import annotations

from pathlib import Path

from harness.atomic import PUBLIC, atomic_write_bytes
from harness.errors import InputError
from harness.published.sources import MTEB, PYSERINI, SourceFile, read_mteb_dir, read_pyserini_2cr

DEFAULT_DIR = Path("published")
"""The project's folder of imported source files (committed, like ``results/``)."""


def keep(sources: list[SourceFile], published_dir: Path) -> None:
    """Copy each source byte for byte to its place under ``published_dir`` (atomic, readable by others)."""
    for source in sources:
        target = published_dir / source.relative
        if target.is_file() and target.read_bytes() == source.data:
            continue
        atomic_write_bytes(target, source.data, mode=PUBLIC)


def read_kept(published_dir: Path) -> list[SourceFile]:
    """Every source kept under ``published_dir``, read and checked again (the rebuild's input).

    Raises:
        InputError: the folder holds no published file, or one no longer passes the checks.
    """
    sources: list[SourceFile] = []
    mteb_dir = published_dir / MTEB
    if mteb_dir.is_dir():
        sources.extend(read_mteb_dir(mteb_dir))
    two_cr = published_dir / PYSERINI
    if two_cr.is_dir():
        for path in sorted(two_cr.glob("*.yaml")):
            read = read_pyserini_2cr(path)
            sources.append(SourceFile(read.kind, f"{PYSERINI}/{path.name}", read.data, read.scores))
    if not sources:
        raise InputError(str(published_dir), "(folder)", "holds no published file (mteb/ or pyserini-2cr/)")
    return sources
