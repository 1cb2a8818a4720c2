"""Results files on disk: canonical bytes, the content digest, atomic writes, and the one parser.

The database is only an index of these files. A run's identity is the sha256 of the canonical
serialisation (sorted keys, no whitespace, UTF-8, finite floats only) of the document *without its
annotations* (``origin``, ``verifications``): re-filing a run as a submission or recording a
re-run changes neither its digest nor its name, and a file migrated from an older schema keeps the
digest of its upgraded content. Files are written atomically and readable by others, and hold no
absolute paths of the machine that made them.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.atomic import PUBLIC, atomic_write_bytes
from harness.errors import InputError
from harness.results.bounds import MAX_FILE_BYTES, location, parse_untrusted_json, read_bounded
from harness.results.migrations import migrate
from harness.results.records import SCHEMA_VERSION, ResultsFile, TaskResult

ANNOTATIONS = ("origin", "verifications")
"""Fields that say how a run reached us and who re-ran it, not what it was: outside the digest."""


def _json(document: Any) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def canonical_bytes(results: ResultsFile) -> bytes:
    """The whole document, canonically: sorted keys, no whitespace, UTF-8, finite floats only."""
    return _joined(_members(results))


def identity_bytes(results: ResultsFile) -> bytes:
    """The bytes the digest is taken over: the canonical document without its annotations."""
    return _joined(_members(results), ANNOTATIONS)


def digest(results: ResultsFile) -> str:
    return hashlib.sha256(identity_bytes(results)).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _encode(value: Any, out: list[str]) -> None:
    """``value`` as ``_json`` writes it, appended in pieces.

    ``json.dumps`` keeps one string per token until it joins them, so a dict of a million floats
    costs hundreds of MB at once; here containers of containers are walked and big flat containers
    are written in slices of ``_SLICE``.
    """
    if isinstance(value, dict):
        if any(isinstance(child, dict | list) for child in value.values()):
            for index, key in enumerate(sorted(value)):
                out.append(("," if index else "{") + json.dumps(key, ensure_ascii=False) + ":")
                _encode(value[key], out)
            out.append("}" if value else "{}")
        elif len(value) > _SLICE:
            keys = sorted(value)
            slices = (keys[start : start + _SLICE] for start in range(0, len(keys), _SLICE))
            out.append(
                "{" + ",".join(_dumps({key: value[key] for key in part})[1:-1] for part in slices) + "}"
            )
        else:
            out.append(_dumps(value))
    elif isinstance(value, list):
        if any(isinstance(child, dict | list) for child in value):
            for index, child in enumerate(value):
                out.append("," if index else "[")
                _encode(child, out)
            out.append("]" if value else "[]")
        elif len(value) > _SLICE:
            slices = (value[start : start + _SLICE] for start in range(0, len(value), _SLICE))
            out.append("[" + ",".join(_dumps(part)[1:-1] for part in slices) + "]")
        else:
            out.append(_dumps(value))
    else:
        out.append(_dumps(value))


_SLICE = 10_000


def _task_json(result: TaskResult) -> str:
    """One task result canonically.

    Its per-item values and predictions are read from the model as they are (plain dicts and lists
    of floats), never dumped into a second copy.
    """
    document: dict[str, Any] = result.model_dump(mode="json", exclude={"per_item", "predictions"})
    if result.per_item is not None:
        document["per_item"] = {"kind": result.per_item.kind, "values": result.per_item.values}
    else:
        document["per_item"] = None
    if result.predictions is not None:
        predictions = result.predictions
        document["predictions"] = {
            "item_kind": predictions.item_kind,
            "kind": predictions.kind,
            "values": predictions.values,
        }
        if predictions.run is not None:  # left out when unset, as the dump leaves it out
            document["predictions"]["run"] = predictions.run.model_dump(mode="json")
    else:
        document["predictions"] = None
    out: list[str] = []
    _encode(document, out)
    return "".join(out)


def _members(results: ResultsFile) -> dict[str, str]:
    """Each top-level member's canonical JSON, the results written piece by piece (``_encode``)."""
    document = results.model_dump(mode="json", exclude={"results"})
    members = {key: _dumps(value) for key, value in document.items()}
    members["results"] = "[" + ",".join(_task_json(result) for result in results.results) + "]"
    return members


def _joined(members: dict[str, str], leave_out: tuple[str, ...] = ()) -> bytes:
    kept = sorted(key for key in members if key not in leave_out)
    return (
        "{" + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{members[key]}" for key in kept) + "}"
    ).encode()


def canonical_and_digest(results: ResultsFile) -> tuple[bytes, str]:
    """``canonical_bytes`` and ``digest`` from one pass over the document.

    The same bytes as ``_json`` of the whole dump (tested), without a second tree of Python objects
    for a 50 MB file's items.
    """
    members = _members(results)
    return _joined(members), hashlib.sha256(_joined(members, ANNOTATIONS)).hexdigest()


def model_slug(model_id: str) -> str:
    """``org/name`` -> ``org__name`` as mteb files results; anything unsafe in a file name -> ``_``."""
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", model_id.replace("/", "__")).strip(".")
    return slug or "model"


def relative_path(results: ResultsFile) -> Path:
    return (
        Path(model_slug(results.model.id)) / f"{results.suite.replace('/', '_')}-{digest(results)[:12]}.json"
    )


def pretty_bytes(results: ResultsFile) -> bytes:
    document = results.model_dump(mode="json")
    text = json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode()


def write_file(results: ResultsFile, path: Path) -> None:
    """Write ``results`` (indented, readable by others) to ``path`` atomically."""
    atomic_write_bytes(path, pretty_bytes(results), mode=PUBLIC)


def write_results(results: ResultsFile, directory: Path) -> Path:
    """Write under ``directory/<model-slug>/<suite>-<digest12>.json``; returns the path written."""
    path = directory / relative_path(results)
    write_file(results, path)
    return path


def parse_results(data: bytes, where: str) -> ResultsFile:
    """Parse untrusted bytes into a ``ResultsFile``; every failure is one ``InputError`` naming the field.

    Older schema versions are upgraded (``migrations``) before validation; an error in a migrated
    file says so, since it names a field of the current schema.
    """
    return parse_versioned(data, where)[0]


def parse_versioned(data: bytes, where: str) -> tuple[ResultsFile, int]:
    """``parse_results``, plus the schema version the file was written in."""
    if len(data) > MAX_FILE_BYTES:
        raise InputError(where, "(file)", f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    document = parse_untrusted_json(data, where)
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(where, "schema_version", "missing or not an integer")
    if version > SCHEMA_VERSION or version < 1:
        raise InputError(where, "schema_version", f"{version} is not a known version (1..{SCHEMA_VERSION})")
    # a current file is built from its own bytes, so its items are held once, not twice
    source = data if version == SCHEMA_VERSION else json.dumps(migrate(document, version, SCHEMA_VERSION))
    del document
    try:
        # strict: a number written as a string ("0.5") or a bool as 1 is refused, not coerced
        return ResultsFile.model_validate_json(source, strict=True), version
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
        if version < SCHEMA_VERSION:
            message += f" (in the file as upgraded from schema_version {version})"
        raise InputError(where, location(tuple(first["loc"])), message) from None


def read_results(path: Path, display_name: str | None = None) -> ResultsFile:
    """Read and validate a results file; ``display_name`` is how errors name it (default: as given)."""
    return read_versioned(path, display_name)[0]


def read_versioned(path: Path, display_name: str | None = None) -> tuple[ResultsFile, int]:
    """``read_results``, plus the schema version the file was written in."""
    where = display_name or str(path)
    data = read_bounded(path, where)
    return parse_versioned(data, where)


SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / f"results-v{SCHEMA_VERSION}.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the current results file version (committed as schema/results-v2.json)."""
    schema = ResultsFile.model_json_schema()
    schema["$id"] = f"https://repbench.org/schema/results-v{SCHEMA_VERSION}.json"
    return schema


def json_schema_bytes() -> bytes:
    return (json.dumps(json_schema(), indent=1, sort_keys=True) + "\n").encode()
