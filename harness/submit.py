"""The gate every results file from disk passes: ``submit`` (files from outside) and ``harness ingest``.

``results.parse_results`` is the one parser and owns the schema and the bounds (regular files only,
sizes, counts, the text policy: ``results.bounds``). ``check`` owns what a schema cannot see, and
reads nothing but the registry, the local data and the reference model ids:

- the model id is an ASCII name and no look-alike of a reference model (``check_model_id``);
- each task is one the registry builds, at its current ``task_version``, with its main metric,
  settings and measures (bounds included) (``suites.checks.check_declared``);
- the inputs record is consistent and claims ``verified`` only when it equals the data card
  (``check_inputs``); otherwise the result is accepted as unverified and shown so;
- timings are positive and no derived speed beats the hardware (``check_timings``);
- the task re-derives its metrics from what the file carries (``Task.check``): the mean of
  per-query values for retrieval (over the local qrels' queries when the data is here), Spearman
  and Pearson from the per-pair similarities and the local gold scores for STS ("rescored").

Each task's failure comes back as a ``FieldError`` (relative to the task result) or a
``SettingError`` (an unknown dataset or split); ``check`` places it in the file, e.g.
``run.json: results[2].metrics.spearman: ...``.

``submit`` files an accepted file as ``<submissions>/<digest>.json`` with origin "submission" and no
verification records (whatever the file said: only this harness's own ``verify`` adds those), as
canonical bytes created atomically and exclusively, and ingests it in one transaction. The digest
alone names the file, so nothing in a submission can choose where it is written. A refused file
changes nothing; when the ingest fails or is interrupted, a file this call created is removed again.

``ingest_files`` runs the same checks over files already on disk and gives each its standing from
where it lies (``standing``): the trust model of CONTRIBUTING.md, "Trust".
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from harness import registry, store
from harness.atomic import create_exclusive
from harness.data.files import is_present
from harness.errors import FieldError, InputError, SettingError
from harness.results import ResultsFile, TaskResult, canonical_and_digest, digest, read_results
from harness.results.bounds import codepoint
from harness.results.runs import ParsedRun, file_beside, find_beside, gzip_bytes, read_run
from harness.suites.base import AnyTask, CardSuite, RunScoring, Suite
from harness.suites.checks import check_declared, check_inputs, check_timings

ORIGIN = "submission"

_FIELD_OF_SETTING: Mapping[str, str] = {"suite": "suite", "datasets": "task", "split": "split"}


@dataclass(frozen=True)
class TaskVerdict:
    """How one accepted task result will be shown; ``note`` says why it is not verified."""

    task: str
    split: str
    variant: str
    verified: bool
    rescored: bool
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """(task, split, variant key), as ``TaskResult.key``."""
        return self.task, self.split, self.variant


@dataclass(frozen=True)
class Submission:
    """What ``submit`` did: ``written`` a new file under the submissions folder, ``ingested`` new rows.

    ``path`` is None when the database holds the run as a reference run (``reference``).
    """

    digest: str
    path: Path | None
    written: bool
    ingested: bool
    verdicts: tuple[TaskVerdict, ...]
    dropped_verifications: int = 0
    reference: bool = False
    """The database holds this very run as a reference run: nothing was filed or changed."""


# --- checking -----------------------------------------------------------------------------------


MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
"""A builtin name or a hub id ``org/name``: ASCII, as the Hugging Face hub allows; ``rrf:A+B`` joins two."""

PIPELINE_ID = re.compile(r"pipe:(?P<first>[^>@]+)>(?P<second>[^>@]+)@[1-9][0-9]{0,5}")
"""A two-stage pipeline's id as ``models.pipeline.PipelineRetriever`` writes it, the depth included."""

_SKELETON = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "_": "-", ".": "-"})


def skeleton(model_id: str) -> str:
    """What an id looks like at a glance: case, 0/o, 1/l/I and the separators - _ . folded together."""
    return model_id.lower().translate(_SKELETON)


def check_model_id(model_id: str, where: str, reference_ids: Iterable[str] = ()) -> None:
    """A builtin name, an ASCII hub id ``org/name``, or ``rrf:A+B``, and no look-alike of a reference.

    Ids are compared by eye on the board, so an id that differs from a reference model's only by
    case, digits that read as letters or separators (``BM25-flat``, ``bm25_flat``, ``bm25-fIat``) is
    refused; non-ASCII ids (Cyrillic ``а``, fullwidth ``ｂ``, combining accents) are refused outright,
    as the hub refuses them. A submitted run *of* a reference model keeps its exact id and is shown
    as submitted, beside the reference row.
    """
    if not model_id.isascii():
        char = next(c for c in model_id if not c.isascii())
        raise InputError(where, "model.id", f"holds {codepoint(char)}: model ids are ASCII, as hub ids are")
    parts = model_id.removeprefix("rrf:").split("+") if model_id.startswith("rrf:") else [model_id]
    pipeline = PIPELINE_ID.fullmatch(model_id)
    if pipeline is not None:  # pipe:A>B@K (models.pipeline): two stages and a depth
        parts = [pipeline["first"], pipeline["second"]]
    if len(parts) != (2 if model_id.startswith(("rrf:", "pipe:")) else 1) or not all(
        MODEL_ID.fullmatch(p) for p in parts
    ):
        form = "pipe:A>B@K, two model names and a depth" if model_id.startswith("pipe:") else "or rrf:A+B"
        raise InputError(where, "model.id", f"{model_id!r} is not a model name (builtin, org/name, {form})")
    known = {*registry.MODELS, *reference_ids}
    for part in dict.fromkeys([model_id, *parts]):  # the whole id too: a reference may be a fusion
        if part in known:
            continue
        twin = next((name for name in sorted(known) if skeleton(name) == skeleton(part)), None)
        if twin is not None:
            raise InputError(where, "model.id", f"{part!r} looks like the reference model {twin!r}")


def _task(result: TaskResult, suite: str, suites: Mapping[str, Suite], where: str, at: str) -> AnyTask:
    """The task the registry builds for ``result.task`` on ``result.split``."""
    if result.task.partition("/")[0] != suite:
        raise InputError(where, f"{at}.task", f"{result.task} is not a task of the suite {suite!r}")
    if result.inputs.source == "user":
        return _user_task(result, suites[suite], where, at)
    try:
        _, task = registry.task_of(result.task, result.split, suites)
    except SettingError as error:
        field = _FIELD_OF_SETTING.get(error.setting, "task")
        raise InputError(where, field if field == "suite" else f"{at}.{field}", error.message) from None
    return task


def _user_task(result: TaskResult, owner: Suite, where: str, at: str) -> AnyTask:
    """The task of a result on a user's own data (``inputs.source == "user"``, ``harness.data.user``).

    Such a file is accepted as "submitted": there is no local copy of the data to rescore it against
    (``LocalData`` never finds one) and no card to verify it with, so only its consistency is checked
    (its metrics against its own per-item values or predictions, its fingerprint against its files).
    It may not carry the name of a carded dataset.
    """
    dataset = result.task.partition("/")[2]
    if not isinstance(owner, CardSuite):
        raise InputError(where, f"{at}.inputs.source", f"the {owner.name} suite takes no user data")
    try:
        return owner.user_task(dataset, result.split)
    except SettingError as error:
        raise InputError(where, f"{at}.task", error.message) from None


class LocalData:
    """Each (task, split)'s local data, or None where it is not here; read once per ingest."""

    def __init__(self, data_root: Path | None) -> None:
        self.data_root = data_root
        self.loaded: dict[tuple[str, str], Any] = {}

    def of(self, task: AnyTask) -> Any:
        key = (task.name, task.split)
        if key not in self.loaded:
            root = self.data_root
            card = task.card
            if card is not None and card.bundled:  # shipped with the package: always here
                self.loaded[key] = task.load(root or Path())
            else:
                present = root is not None and root.is_dir() and (card is None or is_present(card, root))
                self.loaded[key] = task.load(root) if present and root is not None else None
        return self.loaded[key]


@dataclass(frozen=True)
class FoundRun:
    """A run a task result names, read and held to its reference: the task, the run, where it was."""

    task: str
    run: ParsedRun
    path: Path


class RunFiles:
    """The TREC runs a results file's task results name (``predictions.run``), read once each.

    A run is looked for among the files given (``submit --run``) by the sha256 of its text, then
    beside the results file under its content name (``results.runs.run_file_name``). A file found
    under a result's name whose text is another run is refused (a tampered run), and so is a given
    run that no result names (``unused``). A result whose run is nowhere is checked without it.
    """

    def __init__(self, folder: Path | None, given: Iterable[Path] = ()) -> None:
        self.folder = folder
        self.given: dict[str, tuple[ParsedRun, Path]] = {}
        for path in given:
            parsed = read_run(path)
            self.given.setdefault(parsed.sha256, (parsed, path))
        self.found: list[FoundRun] = []

    def find(self, result: TaskResult, where: str, at: str) -> ParsedRun | None:
        ref = result.predictions.run if result.predictions is not None else None
        if ref is None:
            return None
        path: Path | None
        if ref.sha256 in self.given:
            parsed, path = self.given[ref.sha256]
        else:
            path = find_beside(self.folder, result.task, ref.sha256) if self.folder is not None else None
            if path is None:
                return None
            parsed = read_run(path)
            if parsed.sha256 != ref.sha256:
                raise InputError(
                    str(path),
                    "(file)",
                    f"its text has sha256 {parsed.sha256[:16]}..., not {ref.sha256[:16]}... that "
                    f"{where}: {at}.predictions.run names: an altered run",
                )
        if (parsed.lines, len(parsed.hits)) != (ref.hits, ref.queries):
            raise InputError(
                where,
                f"{at}.predictions.run",
                f"names {ref.hits} hits of {ref.queries} queries; the run holds {parsed.lines} of "
                f"{len(parsed.hits)}",
            )
        self.found.append(FoundRun(result.task, parsed, path))
        return parsed

    def unused(self, where: str) -> None:
        """Refuse a run given on the command line that no task result names."""
        named = {found.run.sha256 for found in self.found}
        for sha, (_, path) in self.given.items():
            if sha not in named:
                raise InputError(
                    str(path),
                    "(file)",
                    f"its text has sha256 {sha[:16]}..., which no predictions.run of {where} names: "
                    "a different or altered run",
                )


def check(
    results: ResultsFile,
    where: str,
    data_root: Path | None,
    suites: Mapping[str, Suite] = registry.SUITES,
    reference_ids: Iterable[str] = (),
    local: LocalData | None = None,
    runs: RunFiles | None = None,
) -> list[TaskVerdict]:
    """Check what the schema cannot: model id, tasks, measures, inputs, timings, re-derived metrics.

    Each task re-derives its metrics from the file, with the local data under ``data_root`` where
    that data is present; ``reference_ids`` are the model ids of the database's reference rows, which
    no look-alike id may imitate.

    Returns:
        One verdict per task result, in file order: unverified results are accepted and say why;
        ``rescored`` where every metric was recomputed from the file and the local data.

    Raises:
        InputError: the first problem, naming ``where`` and the field.
    """
    check_model_id(results.model.id, where, reference_ids)
    if results.suite not in suites:
        raise InputError(
            where, "suite", f"unknown suite {results.suite!r}; known: {', '.join(sorted(suites))}"
        )
    spec = suites[results.suite].board
    local = local or LocalData(data_root)
    verdicts = []
    for index, result in enumerate(results.results):
        at = f"results[{index}]"
        task = _task(result, results.suite, suites, where, at)
        try:
            check_declared(result, task)
            verdict = check_inputs(result, task)
            check_timings(result, spec)
            run = runs.find(result, where, at) if runs is not None and isinstance(task, RunScoring) else None
            if run is not None and isinstance(task, RunScoring):
                rescored = task.check_run(result, local.of(task), run.hits)
            else:
                rescored = task.check(result, local.of(task))
        except FieldError as error:
            raise InputError(where, f"{at}.{error.field}", error.message) from None
        verdicts.append(
            TaskVerdict(result.task, result.split, result.key[2], verdict.verified, rescored, verdict.note)
        )
    if runs is not None:
        runs.unused(where)
    return verdicts


# --- filing -------------------------------------------------------------------------------------


def _filed_digest(path: Path) -> str | None:
    """The digest of the results file at ``path``, or None when it is not a readable results file."""
    try:
        return digest(read_results(path))
    except InputError:
        return None


def _file(data: bytes, key: str, submissions_dir: Path) -> tuple[Path, bool]:
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
    return path, written


@dataclass(frozen=True)
class Accepted:
    """A results file that passed the schema and ``check``, as it will be filed; only ``accept`` makes one."""

    results: ResultsFile
    verdicts: tuple[TaskVerdict, ...]
    where: str
    dropped_verifications: int = 0
    runs: tuple[FoundRun, ...] = ()
    """The runs its results were rescored from: filed beside the submission, so a rebuild rescores again."""

    @property
    def rescored(self) -> frozenset[store.TaskKey]:
        return frozenset(verdict.key for verdict in self.verdicts if verdict.rescored)


def accept(
    path: Path,
    display_name: str | None = None,
    data_root: Path | None = None,
    suites: Mapping[str, Suite] = registry.SUITES,
    reference_ids: Iterable[str] = (),
    runs: Iterable[Path] = (),
) -> Accepted:
    """Read the results file at ``path`` (schema) and ``check`` it (meaning); writes nothing.

    The accepted record is the file's run with origin "submission" and no verification records.
    The runs its retrieval results name are read from ``runs`` (``--run``) or found beside ``path``
    (``RunFiles``) and rescored.

    Raises:
        InputError: the file is refused; the message names it (as ``display_name``) and the field.
    """
    where = display_name or str(path)
    results = read_results(path, where)
    found = RunFiles(path.parent, runs)
    verdicts = tuple(check(results, where, data_root, suites, reference_ids, runs=found))
    filed = results.model_copy(update={"origin": ORIGIN, "verifications": []})
    return Accepted(filed, verdicts, where, len(results.verifications), tuple(found.found))


def _stored(engine: Engine, key: str) -> bool:
    """Whether the run is in the database; False when the database cannot even say."""
    try:
        return store.standing_of(engine, key) is not None
    except Exception:  # noqa: BLE001 - cleaning up after a failure: the database may be the failure
        return False


def submit(engine: Engine, accepted: Accepted, submissions_dir: Path) -> Submission:
    """File an accepted results file under ``submissions_dir`` and ingest it as a submission.

    Submitting the same run again changes nothing (``written`` and ``ingested`` are False), and a run
    the database holds as a reference run is neither filed again nor demoted (``reference``).
    The filed copy and the database row land together or not at all: whatever interrupts the ingest
    (an error, SIGTERM turned into an exception by the CLI), a copy this call created is removed
    unless the row was committed.

    Raises:
        SettingError: the submissions folder cannot be written; nothing was stored.
        InputError: a file there has the digest's name but is another run; nothing was stored.
    """
    data, key = canonical_and_digest(accepted.results)
    if store.standing_of(engine, key) == "reference":
        return Submission(key, None, False, False, accepted.verdicts, accepted.dropped_verifications, True)
    path, written = _file(data, key, submissions_dir)
    del data
    created: list[Path] = [path] if written else []
    try:
        created.extend(_file_runs(accepted.runs, submissions_dir))
        outcome = store.ingest(engine, accepted.results, "submission", accepted.rescored, key=key)
    except BaseException:
        if created and not _stored(engine, key):
            for made in created:
                made.unlink(missing_ok=True)
        raise
    return Submission(
        key, path, written, outcome == "stored", accepted.verdicts, accepted.dropped_verifications
    )


def _file_runs(runs: Iterable[FoundRun], submissions_dir: Path) -> list[Path]:
    """File each run beside the submission under its content name; returns the files created now.

    The bytes are the submitted text gzipped deterministically, so the name's sha256 still holds.
    """
    created = []
    for found in runs:
        target, made = file_beside(submissions_dir, found.task, found.run.sha256, gzip_bytes(found.run.text))
        if made:
            created.append(target)
        elif read_run(target).sha256 != found.run.sha256:
            raise InputError(str(target), "(file)", "exists but is not the run its name says; remove it")
    return created


# --- ingesting files from disk ------------------------------------------------------------------


def json_files(root: Path) -> list[Path]:
    """``root`` itself, or every ``*.json`` entry under the folder ``root``.

    Symlinked folders are not followed; special files are listed too, so that reading them refuses
    them by name.
    """
    if not root.is_dir():
        return [root]
    found: list[Path] = []
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders.sort()
        found.extend(Path(folder) / name for name in sorted(names) if name.endswith(".json"))
    return found


def _ingest_order(path: Path) -> tuple[float, str]:
    """Oldest file first, so a rebuild stores runs in the order they were filed (``runs.seq``)."""
    try:
        return path.lstat().st_mtime, str(path)
    except OSError:
        return 0.0, str(path)


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder.resolve())


def standing(
    path: Path, results: ResultsFile, reference_dir: Path | None, submissions_dir: Path | None
) -> tuple[store.Standing, bool]:
    """How a file read from ``path`` may be shown, and whether its verification records are kept.

    Reference only when the file says ``harness run`` made it (origin ``local``) *and* it lies in
    the reference folder; its records are kept. A file ``harness score`` made (origin "external":
    a run ranked elsewhere) is a submission wherever it lies. A file in the submissions folder was
    filed by ``submit`` and re-run by ``verify`` here: a submission, records kept. Anything else is a
    submission whatever it claims, and its verification records (which only this harness's
    ``verify`` may add) are dropped, as ``submit`` drops them.
    """
    in_submissions = _inside(path, submissions_dir)
    if _inside(path, reference_dir) and not in_submissions:
        return ("reference" if results.origin == "local" else "submission"), True
    return "submission", in_submissions


def ingest_files(
    engine: Engine,
    paths: Iterable[Path],
    data_root: Path | None,
    reference_dir: Path | None,
    submissions_dir: Path | None,
    suites: Mapping[str, Suite] = registry.SUITES,
    on_file: Callable[[int, int, Path], None] | None = None,
) -> store.IngestReport:
    """Ingest every results file under ``paths`` through the same checks as ``submit``.

    Each file is read (bounded), checked (``check``) and stored in its own transaction, with the
    standing ``standing`` gives it; a file that fails is listed in ``refused`` with its one-line
    error and does not stop the others. Files are taken oldest first (``_ingest_order``).
    """
    report = store.IngestReport()
    lists = {"stored": report.ingested, "updated": report.updated, "unchanged": report.already}
    files = sorted({file for root in paths for file in json_files(root)}, key=_ingest_order)
    local = LocalData(data_root)
    references = store.reference_model_ids(engine)
    for number, path in enumerate(files, start=1):
        if on_file is not None:
            on_file(number, len(files), path)
        where = str(path)
        try:
            results = read_results(path, where)
            origin, keep = standing(path, results, reference_dir, submissions_dir)
            verdicts = check(results, where, data_root, suites, references, local, RunFiles(path.parent))
            if not keep:
                results = results.model_copy(update={"origin": ORIGIN, "verifications": []})
            elif origin == "submission":
                results = results.model_copy(update={"origin": ORIGIN})
            rescored = [verdict.key for verdict in verdicts if verdict.rescored]
            outcome = store.ingest(engine, results, origin, rescored)
        except InputError as error:
            if error.where != where:
                error = InputError(where, error.field, error.message)
            message = str(error)
            report.refused.append((path, message))
            continue
        if origin == "reference":
            references.add(results.model.id)
        lists[outcome].append(path)
    return report
