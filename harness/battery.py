"""The reference battery: the reference models over the reference tasks, cold and then warm (issue 14).

A **plan** is a frozen list of jobs, one per (model, suite), built from the registry's names
(``REFERENCE_MODELS`` x ``REFERENCE_TASKS``, or a narrower plan; ``plan``). A **pass** runs every
job in-process: each model is loaded once and runs all its suites, through ``runner.run`` exactly
as ``harness run`` does, and a job whose model the suite does not take (``runner.check_compatible``:
BM25 cannot run STS or GLUE) is skipped with that reason. A *cold* pass starts on an empty cache
folder: every cache the models keep lives under ``ModelOptions.cache_dir`` (embedding chunks under
``embeddings/``, Lucene indexes and their statistics under ``lucene/``; bm25s keeps none and indexes
in memory every time), so an empty folder is a cold run. A *warm* pass is the same plan again on
the filled folder, with the models loaded again (in the same process, imported libraries and the
JVM stay up; ``harness battery --pass warm`` in a new process pays for them too).

Each task result is held to the published numbers of ``tests/reference_scores.toml`` (2CR style:
value and tolerance per model and task, read as untrusted input) where it lists them. The battery
only computes; progress goes through ``Events`` and the CLI prints and files the results.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness import registry, runner
from harness.errors import InputError, SettingError
from harness.models.options import ModelOptions
from harness.results import ResultsFile, TaskResult
from harness.suites.base import AnyTask, Suite
from harness.timing import is_subphase

PassName = Literal["cold", "warm"]

REFERENCE_MODELS: tuple[str, ...] = ("bm25-flat", "bm25s", "all-MiniLM-L6-v2")
"""The reference models (registry names): Lucene BM25, bm25s, and the reference dense encoder."""

REFERENCE_TASKS: tuple[str, ...] = ("beir/scifact", "sts", "glue")
"""A suite name is every dataset of that suite present under the data root; ``suite/dataset`` one."""


@dataclass(frozen=True)
class Job:
    """One model over one suite's datasets (``None``: every dataset of the suite present here)."""

    model: str
    suite: str
    datasets: tuple[str, ...] | None

    @property
    def label(self) -> str:
        shown = ",".join(self.datasets) if self.datasets is not None else "all present"
        return f"{self.model} on {self.suite} ({shown})"


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]

    @property
    def models(self) -> tuple[str, ...]:
        """The models in plan order, each once: a pass loads each of them once."""
        return tuple(dict.fromkeys(job.model for job in self.jobs))


def plan(models: Sequence[str] = REFERENCE_MODELS, tasks: Sequence[str] = REFERENCE_TASKS) -> Plan:
    """Every model over every task entry, checked against the registry; one job per (model, suite).

    A task entry is a suite (every dataset of it present), ``suite/dataset``, or either qualified by
    one model, ``MODEL:suite/dataset``: that model alone runs it (and joins the plan if not in
    ``models``), so "bm25 on SciFact, MiniLM on one STS task" is one plan.

    Raises:
        SettingError: ``model`` for a name the registry lacks, ``suite``/``datasets`` for a task entry.
    """
    wanted: dict[tuple[str, str], list[str] | None] = {}
    order = list(dict.fromkeys(models))
    for entry in tasks:
        model, _, task = entry.strip().rpartition(":")
        if model and model not in order:
            order.append(model)
        name, _, dataset = task.partition("/")
        registry.suite(name)  # an unknown suite is named here
        for owner in [model] if model else list(dict.fromkeys(models)):
            chosen = wanted.setdefault((owner, name), [])
            if not dataset:
                wanted[owner, name] = None
            elif chosen is not None and dataset not in chosen:
                chosen.append(dataset)
    for model in order:
        if registry.ALIASES.get(model, model) not in registry.MODELS:
            known = ", ".join(sorted(registry.MODELS))
            raise SettingError("model", f"unknown model {model!r}; known: {known}")
    if not wanted:
        raise SettingError("datasets", "the battery needs at least one model and one task")
    jobs = tuple(
        Job(model, suite, None if datasets is None else tuple(datasets))
        for model in order
        for (owner, suite), datasets in wanted.items()
        if owner == model
    )
    return Plan(jobs)


@dataclass(frozen=True)
class Selected:
    """A job with its suite and tasks, selected (data located) before any model loads."""

    job: Job
    suite: Suite
    tasks: tuple[AnyTask, ...]


def select(battery: Plan, data_root: Path) -> tuple[Selected, ...]:
    """Each job's tasks on the data here; a missing dataset is named before any model loads.

    Raises:
        SettingError, DataNotFound: as ``Suite.select``.
    """
    chosen = []
    for job in battery.jobs:
        suite = registry.suite(job.suite)
        selection = suite.select(data_root, job.datasets, None)
        chosen.append(Selected(job, suite, tuple(selection.tasks)))
    return tuple(chosen)


def cold_cache(folder: Path) -> Path:
    """``folder``, made if absent, refused unless empty: a cold pass reuses nothing.

    Raises:
        SettingError: ``cache_dir``: the folder holds something, or is not a folder.
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise SettingError("cache_dir", f"{folder} is not an empty folder: a cold pass needs an empty cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    record: ResultsFile | None
    """None when skipped."""
    skipped: str
    """Why the job did not run (``runner.check_compatible``'s message); empty when it ran."""
    seconds: float


@dataclass(frozen=True)
class PassOutcome:
    name: PassName
    cache_dir: Path
    jobs: tuple[JobOutcome, ...]
    model_load_s: Mapping[str, float]
    seconds: float
    """Wall time of the whole pass: model loads, every job, and the ``Events`` (filing each result)."""

    def phase_seconds(self) -> dict[str, float]:
        """Seconds per phase over every task result (sub-phases left out: their phase holds them)."""
        totals: dict[str, float] = {}
        for outcome in self.jobs:
            for result in outcome.record.results if outcome.record else []:
                for phase, seconds in result.timings_s.items():
                    if phase != "total" and not is_subphase(phase):
                        totals[phase] = totals.get(phase, 0.0) + seconds
        totals["model load"] = sum(self.model_load_s.values())
        return dict(sorted(totals.items(), key=lambda item: -item[1]))


class Events(Protocol):
    """What a pass tells its caller as it goes; the CLI prints and files (write, ingest) here."""

    def job_started(self, name: PassName, job: Job, number: int, total: int) -> None: ...

    def task_started(self, task: str, number: int, total: int) -> None: ...

    def job_finished(self, name: PassName, outcome: JobOutcome) -> None: ...


def run_pass(
    name: PassName, selected: Sequence[Selected], data_root: Path, options: ModelOptions, events: Events
) -> PassOutcome:
    """Every job once, in plan order grouped by model: each model loads once for all its suites."""
    start = time.perf_counter()
    load_s: dict[str, float] = {}
    outcomes: list[JobOutcome] = []
    total = len(selected)
    for model_name in dict.fromkeys(item.job.model for item in selected):
        loaded = time.perf_counter()
        model = registry.load_model(model_name, options)
        load_s[model_name] = time.perf_counter() - loaded
        for item in (item for item in selected if item.job.model == model_name):
            events.job_started(name, item.job, len(outcomes) + 1, total)
            job_start = time.perf_counter()
            try:
                runner.check_compatible(model, item.suite)
            except SettingError as error:
                outcome = JobOutcome(item.job, None, error.message, time.perf_counter() - job_start)
            else:
                record = runner.run(model, item.suite, item.tasks, data_root, on_task=events.task_started)
                outcome = JobOutcome(item.job, record, "", time.perf_counter() - job_start)
            outcomes.append(outcome)
            events.job_finished(name, outcome)
        del model  # one model in memory at a time
    return PassOutcome(name, options.cache_dir, tuple(outcomes), load_s, time.perf_counter() - start)


class ReferenceEntry(BaseModel):
    """One condition of ``reference_scores.toml``: expected metric values, their source and tolerance."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, float] = Field(init=False)  # the metrics: name = expected value

    source: str = Field(min_length=1)
    why: str = Field(min_length=1)
    tolerance: float = Field(gt=0, le=1)

    @property
    def expected(self) -> dict[str, float]:
        return dict(self.__pydantic_extra__)


References = Mapping[str, Mapping[str, ReferenceEntry]]
"""model (registry name) -> task -> entry, as ``tests/reference_scores.toml`` lists them."""


def read_references(path: Path) -> References:
    """The reference expectations file (2CR style), read as untrusted input.

    Raises:
        InputError: unreadable, not TOML, or a condition without source, reason, tolerance or with a
            metric that is not a number.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(str(path), "", f"cannot read the reference file: {error}") from None
    found: dict[str, dict[str, ReferenceEntry]] = {}
    for model, tasks in raw.items():
        if not isinstance(tasks, dict):
            raise InputError(str(path), model, "expected a table of tasks")
        for task, entry in tasks.items():
            try:
                found.setdefault(model, {})[task] = ReferenceEntry.model_validate(entry)
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in (model, task, *first["loc"]))
                raise InputError(str(path), where, first["msg"]) from None
    return found


@dataclass(frozen=True)
class Check:
    """One metric against its reference: the expected value, the band, the value measured."""

    metric: str
    expected: float
    tolerance: float
    value: float | None

    @property
    def ok(self) -> bool:
        return self.value is not None and abs(self.value - self.expected) <= self.tolerance


def check(references: References, model: str, result: TaskResult) -> tuple[Check, ...]:
    """Every metric the reference file lists for (model, task); none where it lists the task not."""
    entry = references.get(model, {}).get(result.task)
    if entry is None or result.variant:
        return ()
    return tuple(
        Check(metric, expected, entry.tolerance, result.metrics.get(metric))
        for metric, expected in entry.expected.items()
    )


@dataclass(frozen=True)
class Row:
    """One task of one model, over the passes run: the summary table's row."""

    model: str
    suite: str
    task: str
    metric: str
    value: float
    checks: tuple[Check, ...]
    seconds: Mapping[PassName, float]
    same_in_every_pass: bool
    """Every metric of every pass equal to the first pass's (a warm cache must not change a score)."""
    cached: tuple[str, ...]
    """Phases the last pass served from a cache (``encode_cached`` ...)."""

    @property
    def reference(self) -> Check | None:
        """The main metric's check, else the first listed one."""
        main = [c for c in self.checks if c.metric == self.metric]
        return next(iter(main or self.checks), None)

    @property
    def ok(self) -> bool:
        return self.same_in_every_pass and all(c.ok for c in self.checks)


def summarize(passes: Sequence[PassOutcome], references: References) -> tuple[Row, ...]:
    """One row per (model, task) of the first pass, with each pass's seconds and the checks."""
    by_pass: dict[PassName, dict[tuple[str, str, str], TaskResult]] = {
        outcome.name: {
            (job.job.model, result.task, result.split): result
            for job in outcome.jobs
            for result in (job.record.results if job.record else [])
        }
        for outcome in passes
    }
    rows = []
    first, last = passes[0], passes[-1]
    for job in first.jobs:
        for result in job.record.results if job.record else []:
            key = (job.job.model, result.task, result.split)
            again = [found[key] for found in by_pass.values() if key in found]
            rows.append(
                Row(
                    model=job.job.model,
                    suite=job.job.suite,
                    task=result.task,
                    metric=result.main_metric,
                    value=result.metrics[result.main_metric],
                    checks=check(references, job.job.model, result),
                    seconds={
                        name: found[key].timings_s.get("total", 0.0)
                        for name, found in by_pass.items()
                        if key in found
                    },
                    same_in_every_pass=len(again) == len(passes)
                    and all(other.metrics == result.metrics for other in again),
                    cached=tuple(
                        phase
                        for phase in by_pass[last.name].get(key, result).timings_s
                        if phase.endswith("_cached")
                    ),
                )
            )
    return tuple(rows)


def skipped(passes: Sequence[PassOutcome]) -> tuple[tuple[Job, str], ...]:
    """The (job, reason) pairs the first pass skipped: a model the suite does not take."""
    return (
        tuple((outcome.job, outcome.skipped) for outcome in passes[0].jobs if outcome.skipped)
        if passes
        else ()
    )
