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
import math
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.atomic import PUBLIC, atomic_write_bytes
from harness.errors import InputError
from harness.results.migrations import migrate
from harness.results.records import SCHEMA_VERSION, ResultsFile

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_NESTING = 32
MAX_INTEGER_DIGITS = 18
"""Integers must fit a signed 64-bit column (and be cheap to convert): at most 18 digits."""

ANNOTATIONS = ("origin", "verifications")
"""Fields that say how a run reached us and who re-ran it, not what it was: outside the digest."""


def _json(document: Any) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def canonical_bytes(results: ResultsFile) -> bytes:
    """The whole document, canonically: sorted keys, no whitespace, UTF-8, finite floats only."""
    return _json(results.model_dump(mode="json"))


def identity_bytes(results: ResultsFile) -> bytes:
    """The bytes the digest is taken over: the canonical document without its annotations."""
    document = results.model_dump(mode="json", exclude=set(ANNOTATIONS))
    return _json(document)


def digest(results: ResultsFile) -> str:
    return hashlib.sha256(identity_bytes(results)).hexdigest()


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


class _BadNumber:
    """A number the file may not hold (NaN, Infinity, 1e400, 10**30), kept until its location is known."""

    def __init__(self, literal: str, message: str) -> None:
        self.literal = literal if len(literal) <= 24 else f"{literal[:20]}...({len(literal)} characters)"
        self.message = message


def _constant(literal: str) -> _BadNumber:
    return _BadNumber(literal, "Input should be a finite number")


def _float(literal: str) -> float | _BadNumber:
    value = float(literal)
    return value if math.isfinite(value) else _constant(literal)


def _int(literal: str) -> int | _BadNumber:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        return _BadNumber(literal, f"integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(literal)


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _first_bad_value(value: Any) -> tuple[tuple[int | str, ...], str] | None:
    """Where the first (in document order) refused number or lone surrogate sits, and why."""
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(value, ())]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, _BadNumber):
            return loc, f"{item.message}, not {item.literal}"
        if isinstance(item, str) and _has_surrogate(item):
            return loc, "not valid Unicode (a lone surrogate escape such as \\ud800)"
        children: list[tuple[int | str, Any]] = []
        if isinstance(item, dict):
            for key in item:
                if _has_surrogate(key):
                    return (*loc, key), "the key is not valid Unicode (a lone surrogate escape)"
            children = list(item.items())
        elif isinstance(item, list):
            children = list(enumerate(item))
        stack.extend((child, (*loc, key)) for key, child in reversed(children))
    return None


def _depth(value: Any, limit: int) -> int:
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def location(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a field path: ``results[0].metrics.ndcg@10``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


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
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(where, "(file)", f"not UTF-8 (byte {error.start})") from None
    try:
        document = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise InputError(where, "(file)", "JSON nested too deeply") from None
    except ValueError as error:
        raise InputError(where, "(file)", f"not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise InputError(where, "(document)", "must be a JSON object")
    if _depth(document, MAX_NESTING) > MAX_NESTING:
        raise InputError(where, "(document)", f"nested deeper than {MAX_NESTING} levels")
    bad = _first_bad_value(document)
    if bad is not None:
        loc, message = bad
        raise InputError(where, location(loc), message)
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(where, "schema_version", "missing or not an integer")
    if version > SCHEMA_VERSION or version < 1:
        raise InputError(where, "schema_version", f"{version} is not a known version (1..{SCHEMA_VERSION})")
    document = migrate(document, version, SCHEMA_VERSION)
    try:
        # strict: a number written as a string ("0.5") or a bool as 1 is refused, not coerced
        return ResultsFile.model_validate_json(json.dumps(document), strict=True), version
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
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(where, "(file)", f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(where, "(file)", "no such file") from None
    except IsADirectoryError:
        raise InputError(where, "(file)", "is a directory, not a results file") from None
    except OSError as error:
        raise InputError(where, "(file)", error.strerror or str(error)) from None
    return parse_versioned(data, where)


SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / f"results-v{SCHEMA_VERSION}.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the current results file version (committed as schema/results-v2.json)."""
    schema = ResultsFile.model_json_schema()
    schema["$id"] = f"https://repbench.org/schema/results-v{SCHEMA_VERSION}.json"
    return schema


def json_schema_bytes() -> bytes:
    return (json.dumps(json_schema(), indent=1, sort_keys=True) + "\n").encode()
