"""The results file: one schema-versioned JSON document per ``harness run``, the record of truth.

The database is only an index of these files. Identity is the sha256 of the canonical
serialisation (sorted keys, no whitespace, UTF-8, no NaN), so writing and ingesting are idempotent.
Files are written atomically (temporary file, fsync, ``os.replace``) and hold no absolute paths of
the machine that made them. Older schema versions are upgraded by ``MIGRATIONS`` before validation.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from harness.errors import InputError
from harness.types import JSONValue

SCHEMA_VERSION = 1
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_NESTING = 32

_SHA256 = r"^[0-9a-f]{64}$"
_NAME = r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (ISO 8601 with Z or an offset)")
    try:
        value.astimezone(UTC)  # the store keeps UTC: 9999-12-31T23:59-01:00 has none
    except OverflowError:
        raise ValueError("lies outside the years 1..9999 once converted to UTC") from None
    return value


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=False)


class HarnessRecord(_Record):
    version: str
    git_commit: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")
    git_dirty: bool | None = None


class ModelRecord(_Record):
    id: str = Field(min_length=1, max_length=300)
    kind: Literal["dense", "sparse", "hybrid", "kernel", "circuit"]
    source: Literal["builtin", "package", "hub", "local"]
    revision: str | None = Field(default=None, max_length=100)
    weights_sha256: str | None = Field(default=None, pattern=_SHA256)
    n_parameters: int | None = Field(default=None, ge=0)
    parameters: dict[str, JSONValue] = Field(default_factory=dict)


class Hardware(_Record):
    cpu: str
    logical_cpus: int = Field(ge=1)
    memory_gib: float = Field(ge=0)
    gpu: str | None = None
    cuda: str | None = None
    torch_threads: int | None = None


class Environment(_Record):
    python: str
    platform: str
    packages: dict[str, str | None]
    hardware: Hardware


class DatasetRecord(_Record):
    """Which bytes were evaluated: sha256 per member file (relative path) and the counts seen.

    ``fingerprint`` is the sha256 of the sorted ``"path sha256"`` lines, so a zip and its unzipped
    folder give the same value. ``verified`` says the fingerprint and counts equal the data card's.
    """

    id: str = Field(pattern=_NAME)
    files: dict[str, Annotated[str, Field(pattern=_SHA256)]]
    fingerprint: str = Field(pattern=_SHA256)
    counts: dict[str, Annotated[int, Field(ge=0)]]
    verified: bool


class TaskResult(_Record):
    task: str = Field(pattern=_NAME)
    task_version: int = Field(ge=1)
    split: str = Field(min_length=1, max_length=50)
    dataset: DatasetRecord
    settings: dict[str, JSONValue] = Field(default_factory=dict)
    main_metric: str
    metrics: dict[str, float] = Field(min_length=1)
    per_item: dict[str, dict[str, float]] = Field(default_factory=dict)
    timings_s: dict[str, Annotated[float, Field(ge=0)]]
    peak_rss_mib: float = Field(ge=0)
    index_bytes: int | None = Field(default=None, ge=0)
    """Size of the index searched (Lucene files, bm25s matrix, embedding matrix), when the model says."""

    @model_validator(mode="after")
    def _metrics_consistent(self) -> TaskResult:
        if self.main_metric not in self.metrics:
            raise ValueError(f"main_metric {self.main_metric!r} is not among the metrics")
        extra = sorted(set(self.per_item) - set(self.metrics))
        if extra:
            raise ValueError(f"per_item has {extra[0]!r}, which is not among the metrics")
        return self


class ResultsFile(_Record):
    schema_version: Literal[1] = 1
    created_at: Annotated[datetime, AfterValidator(_aware)]
    harness: HarnessRecord
    model: ModelRecord
    environment: Environment
    seed: int
    suite: str = Field(pattern=_NAME)
    results: list[TaskResult] = Field(min_length=1)

    @field_validator("results")
    @classmethod
    def _tasks_unique(cls, results: list[TaskResult]) -> list[TaskResult]:
        seen: set[tuple[str, str]] = set()
        for result in results:
            if (result.task, result.split) in seen:
                raise ValueError(f"{result.task} ({result.split}) appears twice")
            seen.add((result.task, result.split))
        return results


Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}
"""``MIGRATIONS[v]`` turns a version-``v`` document into version ``v + 1``. Pure functions only."""


def canonical_bytes(results: ResultsFile) -> bytes:
    """The bytes the digest is taken over: sorted keys, no whitespace, UTF-8, finite floats only."""
    document = results.model_dump(mode="json")
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def digest(results: ResultsFile) -> str:
    return hashlib.sha256(canonical_bytes(results)).hexdigest()


def model_slug(model_id: str) -> str:
    """``org/name`` -> ``org__name`` as mteb files results; anything unsafe in a file name -> ``_``."""
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", model_id.replace("/", "__")).strip(".")
    return slug or "model"


def relative_path(results: ResultsFile) -> Path:
    return (
        Path(model_slug(results.model.id)) / f"{results.suite.replace('/', '_')}-{digest(results)[:12]}.json"
    )


def synced_temp_file(path: Path, data: bytes, mode: int | None = None) -> Path:
    """``data`` in a new temporary file beside ``path``, flushed to disk; the caller renames or links it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never a part."""
    tmp = synced_temp_file(path, data)
    try:
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def pretty_bytes(results: ResultsFile) -> bytes:
    document = results.model_dump(mode="json")
    text = json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode()


def write_results(results: ResultsFile, directory: Path) -> Path:
    """Write under ``directory/<model-slug>/<suite>-<digest12>.json``; returns the path written."""
    path = directory / relative_path(results)
    atomic_write_bytes(path, pretty_bytes(results))
    return path


MAX_INTEGER_DIGITS = 18
"""Integers must fit a signed 64-bit column (and be cheap to convert): at most 18 digits."""


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


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def parse_results(data: bytes, where: str) -> ResultsFile:
    """Parse untrusted bytes into a ``ResultsFile``; every failure is one ``InputError`` naming the field."""
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
        raise InputError(where, _location(loc), message)
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(where, "schema_version", "missing or not an integer")
    if version > SCHEMA_VERSION or version < 1:
        raise InputError(where, "schema_version", f"{version} is not a known version (1..{SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        document = MIGRATIONS[version](document)
        version += 1
    try:
        # strict: a number written as a string ("0.5") or a bool as 1 is refused, not coerced
        return ResultsFile.model_validate_json(json.dumps(document), strict=True)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
        raise InputError(where, _location(tuple(first["loc"])), message) from None


def read_results(path: Path, display_name: str | None = None) -> ResultsFile:
    """Read and validate a results file; ``display_name`` is how errors name it (default: as given)."""
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
    return parse_results(data, where)


SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / f"results-v{SCHEMA_VERSION}.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the current results file version (committed as schema/results-v1.json)."""
    schema = ResultsFile.model_json_schema()
    schema["$id"] = f"https://repbench.org/schema/results-v{SCHEMA_VERSION}.json"
    return schema


def json_schema_bytes() -> bytes:
    return (json.dumps(json_schema(), indent=1, sort_keys=True) + "\n").encode()
