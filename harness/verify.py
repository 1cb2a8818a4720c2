"""Reproduction: re-run the model a results file names on the same tasks here, and compare each metric.

Grades follow Pyserini's two-click reproductions (castorini/pyserini, ``pyserini/2cr``): ``OK`` when
the score now equals the file's within ``OK_TOLERANCE``, ``OKish`` within the stated tolerance of the
model's kind (``KIND_TOLERANCE``), ``FAIL`` otherwise. Only an ``OK`` on every metric counts as
reproduced. The model is loaded only where it is available locally; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness import registry, runner
from harness.errors import InputError
from harness.results import ResultsFile
from harness.tasks.retrieval import RetrievalTask

OK_TOLERANCE = 1e-4
"""Equal to the 4 decimals that papers and the board print: the same run on another machine."""

SPARSE_TOLERANCE = 0.0005
"""BM25 scores come from integer term statistics, so the ranking is deterministic; what moves a
score is the tokenizer or library version (as Pyserini's 2CR allows for Lucene upgrades)."""

DENSE_TOLERANCE = 0.005
"""Float32 encoders give different last bits on other BLAS builds, thread counts and devices, which
reorders near-ties; MTEB's and sentence-transformers' published scores differ by this much."""

KIND_TOLERANCE: dict[str, float] = {"sparse": SPARSE_TOLERANCE}
"""OKish tolerance by ``model.kind``; any other kind (dense, hybrid ...) gets ``DENSE_TOLERANCE``."""

Grade = Literal["OK", "OKish", "FAIL"]


@dataclass(frozen=True)
class MetricCheck:
    """One metric of one task: the file's value, the value now (None when not computed), the grade."""

    task: str
    split: str
    metric: str
    claimed: float
    now: float | None
    grade: Grade

    @property
    def difference(self) -> float | None:
        return None if self.now is None else abs(self.now - self.claimed)


def tolerance(kind: str) -> float:
    return KIND_TOLERANCE.get(kind, DENSE_TOLERANCE)


def grade(claimed: float, now: float | None, kind: str) -> Grade:
    if now is None:
        return "FAIL"
    difference = abs(now - claimed)
    if difference <= OK_TOLERANCE:
        return "OK"
    return "OKish" if difference <= tolerance(kind) else "FAIL"


def compare(claimed: ResultsFile, now: ResultsFile) -> list[MetricCheck]:
    """Every metric of every task result in ``claimed``, graded against the same one in ``now``.

    The tolerance is that of the model as loaded here (``now.model.kind``), not as the file says.
    """
    rerun = {(result.task, result.split): result for result in now.results}
    kind = now.model.kind
    checks = []
    for result in claimed.results:
        again = rerun.get((result.task, result.split))
        for metric, value in sorted(result.metrics.items()):
            value_now = None if again is None else again.metrics.get(metric)
            grade_now = grade(value, value_now, kind)
            checks.append(MetricCheck(result.task, result.split, metric, value, value_now, grade_now))
    return checks


def reproduced(checks: list[MetricCheck]) -> bool:
    """Whether every metric is OK (OKish is close, not reproduced)."""
    return bool(checks) and all(check.grade == "OK" for check in checks)


def differences(claimed: ResultsFile, now: ResultsFile) -> list[str]:
    """What differs between the two runs besides the scores: model identity, parameters, data."""
    notes = []
    for field in ("id", "revision", "weights_sha256"):
        before, after = getattr(claimed.model, field), getattr(now.model, field)
        if before != after:
            notes.append(f"model.{field}: file {before!r}, here {after!r}")
    keys = sorted(set(claimed.model.parameters) | set(now.model.parameters))
    changed = [key for key in keys if claimed.model.parameters.get(key) != now.model.parameters.get(key)]
    if changed:
        notes.append(f"model.parameters differ: {', '.join(changed)}")
    rerun = {(result.task, result.split): result for result in now.results}
    for result in claimed.results:
        again = rerun.get((result.task, result.split))
        if again is not None and again.dataset.fingerprint != result.dataset.fingerprint:
            notes.append(f"{result.task} ({result.split}): the data here differs from the file's")
    return notes


def reproduce(
    results: ResultsFile, where: str, data_root: Path, options: registry.ModelOptions
) -> ResultsFile:
    """Run the file's model on the file's tasks and splits with the file's seed, on the data here.

    Raises:
        InputError: a task's data is missing here, or the model is not available locally.
    """
    tasks: list[RetrievalTask] = []
    for result in results.results:
        _, _, dataset = result.task.partition("/")
        found, _ = registry.suite_tasks(results.suite, data_root, [dataset], result.split)
        tasks.extend(found)
    registry.check_requirements(results.model.id)
    try:
        model = registry.load_model(results.model.id, options)
    except InputError as error:
        raise InputError(where, "model.id", f"not available here: {error.message}") from None
    return runner.run(model, tasks, results.suite, seed=results.seed, device=options.device)
