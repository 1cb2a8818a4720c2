"""Submissions: results files that came from outside, checked for meaning, filed, then ingested.

``results.parse_results`` is the one parser and owns the schema (UTF-8, size, nesting, types, finite
numbers, no extra fields). ``check`` owns what a schema cannot see, and is pure:

- the suite and the task are ones the registry builds, at the task's current ``task_version``, with
  its main metric and its settings (depth, self-hit removal); the metric names belong to the task,
  and bounded metrics lie in their range;
- every metric has ``per_item`` values, one per query (``dataset.counts.queries``), over the same
  queries, and their mean reproduces the aggregate to ``AGGREGATE_TOLERANCE`` (a hand-edited number
  is caught at no cost);
- the dataset record is consistent (``fingerprint`` is that of ``files``); when its files and counts
  equal the data card's it may claim ``verified``; otherwise it is accepted as unverified, and a
  file that claims ``verified`` anyway is refused as inconsistent;
- the model id is printable and not path-like.

``submit`` files an accepted file as ``<submissions>/<digest>.json`` (its canonical bytes, created
atomically and exclusively) and ingests it with origin ``"submission"`` in one transaction. The
digest alone names the file, so nothing in a submission can choose where it is written. A refused
file changes nothing; when the ingest fails, a file this call created is removed again.
"""

from __future__ import annotations

import math
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from harness import registry, store
from harness.data.cards import DatasetCard, fingerprint
from harness.errors import InputError
from harness.metrics import metric_info
from harness.results import (
    ResultsFile,
    TaskResult,
    canonical_bytes,
    digest,
    fsync_dir,
    read_results,
    synced_temp_file,
)
from harness.tasks.retrieval import RetrievalTask

AGGREGATE_TOLERANCE = 1e-9
"""How far an aggregate may sit from the mean of its per-item values: float summation noise only."""

ORIGIN = "submission"

_FIELD_OF_REGISTRY_ARGUMENT = {"--suite": "suite", "--datasets": "task", "--split": "split"}


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


def _shown(value: float, other: float) -> tuple[str, str]:
    """Both numbers with the fewest digits (at least 4 decimals) that tell them apart."""
    for digits in range(4, 18):
        left, right = f"{value:.{digits}f}", f"{other:.{digits}f}"
        if left != right:
            return left, right
    return repr(value), repr(other)


def _task(result: TaskResult, suite: str, where: str, at: str) -> RetrievalTask:
    """The task the registry builds for ``result.task`` on ``result.split``."""
    prefix, _, dataset = result.task.partition("/")
    if prefix != suite:
        raise InputError(where, f"{at}.task", f"{result.task} is not a task of the suite {suite!r}")
    try:
        tasks, _ = registry.suite_tasks(suite, Path(), [dataset], result.split)
    except InputError as error:
        field = _FIELD_OF_REGISTRY_ARGUMENT.get(error.where, "task")
        raise InputError(where, field if field == "suite" else f"{at}.{field}", error.message) from None
    (task,) = tasks
    if task.name != result.task:
        raise InputError(where, f"{at}.task", f"unknown task {result.task!r}")
    return task


def _check_metrics(result: TaskResult, task: RetrievalTask, where: str, at: str) -> None:
    if result.task_version != task.version:
        raise InputError(
            where,
            f"{at}.task_version",
            f"{result.task_version} is not the current version of {task.name} ({task.version}); "
            "scores of other versions do not compare",
        )
    if result.main_metric != task.main_metric:
        raise InputError(
            where, f"{at}.main_metric", f"{result.main_metric!r}: the main metric of {task.name} is "
            f"{task.main_metric!r}",
        )  # fmt: skip
    if result.settings != task.settings():
        raise InputError(
            where, f"{at}.settings", f"{result.settings} differ from {task.name}'s {task.settings()}; "
            "runs with other settings (depth, self-hit removal) do not compare",
        )  # fmt: skip
    for name, value in result.metrics.items():
        if name not in task.metrics:
            raise InputError(
                where, f"{at}.metrics.{name}", f"not a metric of {task.name} ({', '.join(task.metrics)})"
            )
        bounds = metric_info(name).bounds
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise InputError(
                where, f"{at}.metrics.{name}", f"{value!r} lies outside [{bounds[0]}, {bounds[1]}]"
            )


def _check_per_item(result: TaskResult, where: str, at: str) -> None:
    """One value per query for every metric, in range, whose mean is the aggregate."""
    queries = result.dataset.counts.get("queries")
    if queries is None:
        raise InputError(where, f"{at}.dataset.counts.queries", "missing (per_item is checked against it)")
    if queries < 1:
        raise InputError(where, f"{at}.dataset.counts.queries", "0: a mean over no queries is undefined")
    items: set[str] | None = None
    for name, aggregate in result.metrics.items():
        values = result.per_item.get(name)
        if values is None:
            raise InputError(
                where, f"{at}.per_item.{name}", "missing: every metric needs its per-item values"
            )
        if len(values) != queries:
            raise InputError(
                where,
                f"{at}.per_item.{name}",
                f"holds {len(values)} values, but dataset.counts.queries is {queries}",
            )
        if items is None:
            items = set(values)
        elif set(values) != items:
            raise InputError(where, f"{at}.per_item.{name}", "scores other queries than the other metrics")
        bounds = metric_info(name).bounds
        if bounds is not None:
            for item, value in values.items():
                if not bounds[0] <= value <= bounds[1]:
                    raise InputError(
                        where,
                        f"{at}.per_item.{name}.{item}",
                        f"{value!r} lies outside [{bounds[0]}, {bounds[1]}]",
                    )
        mean = math.fsum(values.values()) / len(values)
        if not abs(mean - aggregate) <= AGGREGATE_TOLERANCE:
            shown, expected = _shown(aggregate, mean)
            raise InputError(
                where, f"{at}.metrics.{name}", f"{shown} is not the mean of per_item ({expected})"
            )


def _split_members(card: DatasetCard, split: str) -> dict[str, str]:
    """The card's member hashes a split is read from: every member but the other splits' qrels."""
    qrels = f"qrels/{split}.tsv"
    return {name: sha for name, sha in card.members.items() if not name.startswith("qrels/") or name == qrels}


def _card_mismatch(result: TaskResult, card: DatasetCard) -> str:
    """Why the dataset record differs from the card ("" when it equals it)."""
    record = result.dataset
    expected_files = _split_members(card, result.split)
    if not expected_files:
        return f"the data card of {card.id} lists no checksums"
    if dict(record.files) != expected_files or record.fingerprint != fingerprint(expected_files):
        return "the dataset fingerprint differs from the data card's"
    split = card.splits.get(result.split)
    if split is None:
        return f"the data card of {card.id} lists no counts for {result.split}"
    expected_counts = {"corpus": split.corpus, "queries": split.queries, "qrels": split.qrels}
    if dict(record.counts) != expected_counts:
        return "the dataset counts differ from the data card's"
    return ""


def _check_dataset(result: TaskResult, task: RetrievalTask, where: str, at: str) -> TaskVerdict:
    record = result.dataset
    if record.id != task.card.id:
        raise InputError(where, f"{at}.dataset.id", f"{record.id!r} is not the dataset of {task.name}")
    if record.fingerprint != fingerprint(record.files):
        raise InputError(where, f"{at}.dataset.fingerprint", "is not the fingerprint of dataset.files")
    mismatch = _card_mismatch(result, task.card)
    if mismatch and record.verified:
        raise InputError(where, f"{at}.dataset.verified", f"claims true, but {mismatch}")
    if not record.verified:
        return TaskVerdict(result.task, result.split, False, mismatch or "the file does not claim verified")
    return TaskVerdict(result.task, result.split, True)


def check(results: ResultsFile, where: str) -> list[TaskVerdict]:
    """Check what the schema cannot: known tasks, versions, metrics, consistency, the data card.

    Returns:
        One verdict per task result, in file order; unverified results are accepted and say why.

    Raises:
        InputError: the first problem, naming ``where`` and the field.
    """
    _check_model_id(results.model.id, where)
    _printable(results.model.revision, where, "model.revision")
    verdicts = []
    for index, result in enumerate(results.results):
        at = f"results[{index}]"
        _printable(result.split, where, f"{at}.split")
        task = _task(result, results.suite, where, at)
        _check_metrics(result, task, where, at)
        _check_per_item(result, where, at)
        verdicts.append(_check_dataset(result, task, where, at))
    return verdicts


# --- filing -------------------------------------------------------------------------------------


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def _create_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data``, whole or not at all; False if it already exists.

    The bytes go to a temporary file in the same folder, are synced, and are then hard-linked to
    ``path``, which fails when ``path`` exists: of several concurrent submitters exactly one creates
    the file, so only that one may remove it again.
    """
    if path.exists():
        return False
    tmp = synced_temp_file(path, data, mode=0o644)  # a filed submission is public record, not a secret
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def _file(results: ResultsFile, submissions_dir: Path) -> tuple[str, Path, bool]:
    data = canonical_bytes(results)
    key = digest(results)
    path = submissions_dir / f"{key}.json"
    try:
        submissions_dir.mkdir(parents=True, exist_ok=True)
        written = _create_exclusive(path, data)
    except OSError as error:
        raise InputError(str(submissions_dir), "--submissions-dir", error.strerror or str(error)) from None
    if not written and not _same_bytes(path, data):
        raise InputError(
            str(path), "(file)", "exists with other bytes than its digest names; restore or remove it"
        )
    return key, path, written


@dataclass(frozen=True)
class Accepted:
    """A results file that passed the schema and ``check``; only ``accept`` makes one."""

    results: ResultsFile
    verdicts: tuple[TaskVerdict, ...]
    where: str


def accept(path: Path, display_name: str | None = None) -> Accepted:
    """Read the results file at ``path`` (schema) and ``check`` it (meaning); writes nothing.

    Raises:
        InputError: the file is refused; the message names it (as ``display_name``) and the field.
    """
    where = display_name or str(path)
    results = read_results(path, where)
    return Accepted(results, tuple(check(results, where)), where)


def submit(engine: Engine, accepted: Accepted, submissions_dir: Path) -> Submission:
    """File an accepted results file under ``submissions_dir`` and ingest it with origin "submission".

    Submitting the same content again changes nothing (``written`` and ``ingested`` are False).

    Raises:
        InputError: the submissions folder cannot be written, or a file there has the digest's name
            but other bytes; nothing was stored.
    """
    key, path, written = _file(accepted.results, submissions_dir)
    try:
        ingested = store.ingest(engine, accepted.results, origin=ORIGIN)
    except BaseException:
        if written:
            path.unlink(missing_ok=True)
        raise
    return Submission(key, path, written, ingested, accepted.verdicts)
