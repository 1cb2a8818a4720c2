"""Submissions: results files that came from outside, checked for meaning, filed, then ingested.

``results.parse_results`` is the one parser and owns the schema (UTF-8, size, nesting, types, finite
numbers, no extra fields). ``check`` owns what a schema cannot see, and reads nothing but the
registry and the local data:

- the model id is printable and not path-like; the revision and splits are printable;
- each task is one the registry builds, at its current ``task_version``, with its main metric,
  settings and measures (bounds included) (``suites.checks.check_declared``);
- the inputs record is consistent and claims ``verified`` only when it equals the data card
  (``check_inputs``); otherwise the result is accepted as unverified and shown so;
- the task re-derives its metrics from what the file carries (``Task.check``): the mean of
  per-query values for retrieval (over the local qrels' queries when the data is here), Spearman
  and Pearson from the per-pair similarities and the local gold scores for STS.

Each task's failure comes back as a ``FieldError`` (relative to the task result) or a
``SettingError`` (an unknown dataset or split); ``check`` places it in the file, e.g.
``run.json: results[2].metrics.spearman: ...``.

``submit`` files an accepted file as ``<submissions>/<digest>.json`` with origin "submission" and no
verification records (whatever the file said: only this harness's own ``verify`` adds those), as
canonical bytes created atomically and exclusively, and ingests it in one transaction. The digest
alone names the file, so nothing in a submission can choose where it is written. A refused file
changes nothing; when the ingest fails, a file this call created is removed again.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from harness import registry, store
from harness.atomic import create_exclusive
from harness.data.files import is_present
from harness.errors import FieldError, InputError, SettingError
from harness.results import ResultsFile, TaskResult, canonical_bytes, digest, read_results
from harness.suites.base import AnyTask, Suite
from harness.suites.checks import check_declared, check_inputs

ORIGIN = "submission"

_FIELD_OF_SETTING: Mapping[str, str] = {"suite": "suite", "datasets": "task", "split": "split"}


@dataclass(frozen=True)
class TaskVerdict:
    """How one accepted task result will be shown; ``note`` says why it is not verified."""

    task: str
    split: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class Submission:
    """What ``submit`` did: ``written`` a new file under the submissions folder, ``ingested`` new rows."""

    digest: str
    path: Path
    written: bool
    ingested: bool
    verdicts: tuple[TaskVerdict, ...]
    dropped_verifications: int = 0


# --- checking -----------------------------------------------------------------------------------


def _unprintable(text: str) -> str | None:
    """The first control, format, private or unassigned character, or line separator, as U+XXXX."""
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            return f"U+{ord(char):04X}"
    return None


def _check_model_id(model_id: str, where: str) -> None:
    """A builtin name, ``org/name`` or ``rrf:A+B``: printable, and nothing that reads as a path."""
    bad = _unprintable(model_id)
    if bad is not None:
        raise InputError(where, "model.id", f"holds the unprintable character {bad}")
    if model_id != model_id.strip():
        raise InputError(where, "model.id", "starts or ends with white space")
    if model_id.startswith(("/", "~")) or "\\" in model_id:
        raise InputError(where, "model.id", f"{model_id!r} looks like a path, not a model name")
    for part in model_id.removeprefix("rrf:").split("+"):
        if any(segment in ("", ".", "..") for segment in part.split("/")):
            raise InputError(where, "model.id", f"{model_id!r} looks like a path, not a model name")


def _printable(value: str | None, where: str, field: str) -> None:
    if value is not None and (bad := _unprintable(value)) is not None:
        raise InputError(where, field, f"holds the unprintable character {bad}")


def _task(result: TaskResult, suite: str, suites: Mapping[str, Suite], where: str, at: str) -> AnyTask:
    """The task the registry builds for ``result.task`` on ``result.split``."""
    if result.task.partition("/")[0] != suite:
        raise InputError(where, f"{at}.task", f"{result.task} is not a task of the suite {suite!r}")
    try:
        _, task = registry.task_of(result.task, result.split, suites)
    except SettingError as error:
        field = _FIELD_OF_SETTING.get(error.setting, "task")
        raise InputError(where, field if field == "suite" else f"{at}.{field}", error.message) from None
    return task


class _LocalData:
    """Each (task, split)'s local data, read once per check, or None where it is not here."""

    def __init__(self, data_root: Path | None) -> None:
        self.data_root = data_root
        self.loaded: dict[tuple[str, str], Any] = {}

    def of(self, task: AnyTask) -> Any:
        key = (task.name, task.split)
        if key not in self.loaded:
            root = self.data_root
            card = task.card
            present = root is not None and root.is_dir() and (card is None or is_present(card, root))
            self.loaded[key] = task.load(root) if present and root is not None else None
        return self.loaded[key]


def check(
    results: ResultsFile, where: str, data_root: Path | None, suites: Mapping[str, Suite] = registry.SUITES
) -> list[TaskVerdict]:
    """Check what the schema cannot: known tasks, versions, measures, inputs, and re-derived metrics.

    Each task re-derives its metrics from the file, with the local data under ``data_root`` where
    that data is present.

    Returns:
        One verdict per task result, in file order; unverified results are accepted and say why.

    Raises:
        InputError: the first problem, naming ``where`` and the field.
    """
    _check_model_id(results.model.id, where)
    _printable(results.model.revision, where, "model.revision")
    if results.suite not in suites:
        raise InputError(
            where, "suite", f"unknown suite {results.suite!r}; known: {', '.join(sorted(suites))}"
        )
    local = _LocalData(data_root)
    verdicts = []
    for index, result in enumerate(results.results):
        at = f"results[{index}]"
        _printable(result.split, where, f"{at}.split")
        task = _task(result, results.suite, suites, where, at)
        try:
            check_declared(result, task)
            verdict = check_inputs(result, task)
            task.check(result, local.of(task))
        except FieldError as error:
            raise InputError(where, f"{at}.{error.field}", error.message) from None
        verdicts.append(TaskVerdict(result.task, result.split, verdict.verified, verdict.note))
    return verdicts


# --- filing -------------------------------------------------------------------------------------


def _filed_digest(path: Path) -> str | None:
    """The digest of the results file at ``path``, or None when it is not a readable results file."""
    try:
        return digest(read_results(path))
    except InputError:
        return None


def _file(results: ResultsFile, submissions_dir: Path) -> tuple[str, Path, bool]:
    data = canonical_bytes(results)
    key = digest(results)
    path = submissions_dir / f"{key}.json"
    try:
        submissions_dir.mkdir(parents=True, exist_ok=True)
        written = create_exclusive(path, data)
    except OSError as error:
        raise SettingError("submissions_dir", f"{submissions_dir}: {error.strerror or error}") from None
    if not written and _filed_digest(path) != key:
        raise InputError(
            str(path), "(file)", "exists but is not the run its digest names; restore or remove it"
        )
    return key, path, written


@dataclass(frozen=True)
class Accepted:
    """A results file that passed the schema and ``check``, as it will be filed; only ``accept`` makes one."""

    results: ResultsFile
    verdicts: tuple[TaskVerdict, ...]
    where: str
    dropped_verifications: int = 0


def accept(
    path: Path,
    display_name: str | None = None,
    data_root: Path | None = None,
    suites: Mapping[str, Suite] = registry.SUITES,
) -> Accepted:
    """Read the results file at ``path`` (schema) and ``check`` it (meaning); writes nothing.

    The accepted record is the file's run with origin "submission" and no verification records.

    Raises:
        InputError: the file is refused; the message names it (as ``display_name``) and the field.
    """
    where = display_name or str(path)
    results = read_results(path, where)
    verdicts = tuple(check(results, where, data_root, suites))
    filed = results.model_copy(update={"origin": ORIGIN, "verifications": []})
    return Accepted(filed, verdicts, where, len(results.verifications))


def submit(engine: Engine, accepted: Accepted, submissions_dir: Path) -> Submission:
    """File an accepted results file under ``submissions_dir`` and ingest it with origin "submission".

    Submitting the same run again changes nothing (``written`` and ``ingested`` are False).

    Raises:
        SettingError: the submissions folder cannot be written; nothing was stored.
        InputError: a file there has the digest's name but is another run; nothing was stored.
    """
    key, path, written = _file(accepted.results, submissions_dir)
    try:
        ingested = store.ingest(engine, accepted.results) == "stored"
    except BaseException:
        if written:
            path.unlink(missing_ok=True)
        raise
    return Submission(key, path, written, ingested, accepted.verdicts, accepted.dropped_verifications)
