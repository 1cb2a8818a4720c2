"""Reproduction: re-run the model a results file names, on the same tasks here, and grade each metric.

Grades follow Pyserini's two-click reproductions (castorini/pyserini, ``pyserini/2cr``): ``OK`` when
the score now equals the file's within ``OK_TOLERANCE``, ``OKish`` within the measure's own
reproduction tolerance for the model's kind (``Measure.tolerance``), ``FAIL`` otherwise. Only
deterministic measures are compared (scores, never timings or speed-ups), and only an ``OK`` on
every one counts as reproduced. The model is rebuilt with the options the file records (revision,
batch size, device) and loaded only where it is available locally; nothing is downloaded.

The outcome is a ``Verification`` record that ``harness verify`` writes into the file itself and
into the database, so a rebuild from files keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from harness import registry, runner
from harness.data.files import locate
from harness.errors import FieldError, SettingError
from harness.metrics.measures import DENSE_TOLERANCE, known_measure
from harness.models.options import ModelOptions
from harness.models.sweep import Point
from harness.provenance import hardware, harness_record
from harness.results import MetricCheck, ResultsFile, Verification, variant_key
from harness.results.records import TaskResult
from harness.suites.base import AnyTask, Suite

Grade = Literal["OK", "OKish", "FAIL"]

OK_TOLERANCE = 1e-4
"""Equal to the 4 decimals that papers and the board print: the same run on another machine."""


def tolerance(metric: str, kind: str) -> float:
    """The OKish band of ``metric`` for a ``kind`` model (a name that is no measure: the dense band)."""
    found = known_measure(metric)
    return found.tolerance(kind) if found is not None else DENSE_TOLERANCE


def grade(claimed: float, now: float | None, band: float) -> Grade:
    if now is None:
        return "FAIL"
    difference = abs(now - claimed)
    if difference <= OK_TOLERANCE:
        return "OK"
    return "OKish" if difference <= band else "FAIL"


def compare(claimed: ResultsFile, now: ResultsFile) -> list[MetricCheck]:
    """Every deterministic metric of every task result in ``claimed``, graded against ``now``'s.

    The tolerance is that of the model as loaded here (``now.model.kind``), not as the file says.
    """
    rerun: dict[tuple[str, str, str], TaskResult] = {result.key: result for result in now.results}
    kind = now.model.kind
    checks = []
    for result in claimed.results:
        again = rerun.get(result.key)
        for metric, value in sorted(result.metrics.items()):
            found = known_measure(metric)
            if found is not None and not found.deterministic:
                continue
            value_now = None if again is None else again.metrics.get(metric)
            checks.append(
                MetricCheck(
                    task=result.task,
                    split=result.split,
                    variant=variant_key(result.variant),
                    metric=metric,
                    claimed=value,
                    now=value_now,
                    grade=grade(value, value_now, tolerance(metric, kind)),
                )
            )
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
    rerun = {result.key: result for result in now.results}
    for result in claimed.results:
        again = rerun.get(result.key)
        if again is not None and again.inputs.fingerprint != result.inputs.fingerprint:
            notes.append(f"{result.task} ({result.split}): the data here differs from the file's")
    return notes


def reproduce(
    results: ResultsFile,
    data_root: Path,
    options: ModelOptions,
    suites: Mapping[str, Suite] = registry.SUITES,
) -> ResultsFile:
    """Run the file's model on the file's tasks and splits with the file's seed, on the data here.

    Raises:
        SettingError: the data root is not a folder (``data_root``).
        DataNotFound: a task's dataset is not under ``data_root``.
        FieldError: ``model.id``: the file's model is not available here; ``model.source``: the
            file scored a run made elsewhere (``harness score``), which has no model to re-run.
    """
    if results.model.source == "external":
        raise FieldError(
            "model.source",
            "external: the run was ranked elsewhere and scored by harness score; there is no model to "
            "re-run here (submit it with its run file to have it rescored)",
        )
    owner = registry.suite(results.suite, suites)
    tasks: list[AnyTask] = []
    seen: set[tuple[str, str]] = set()
    for result in results.results:
        if (result.task, result.split) in seen:
            continue  # variants of one task come from one run of it
        seen.add((result.task, result.split))
        _, task = registry.task_of(result.task, result.split, suites)
        tasks.append(task)
    for task in tasks:
        if task.card is not None:
            locate(task.card, data_root)  # a missing dataset is named before the model loads
    registry.check_requirements(results.model.id)
    try:
        model = registry.load_model(results.model.id, options)
    except SettingError as error:
        raise FieldError("model.id", f"not available here: {error.message}") from None
    points = sweep_points(results)
    return runner.run(model, owner, tasks, data_root, seed=results.seed, device=options.device, points=points)


def sweep_points(results: ResultsFile) -> tuple[Point, ...]:
    """The sweep points a file's variants name (``{"layer": 4, "dim": 128}``), to re-run all of them.

    Raises:
        FieldError: a variant names something other than a layer and a dimension.
    """
    points: set[Point] = set()
    for index, result in enumerate(results.results):
        variant = result.variant
        if not variant:
            continue
        layer, dim = variant.get("layer"), variant.get("dim")
        bad_layer = layer is not None and type(layer) is not int
        if set(variant) - {"layer", "dim"} or type(dim) is not int or bad_layer:
            raise FieldError(f"results[{index}].variant", "a sweep variant is a dim and optionally a layer")
        points.add(Point(layer if isinstance(layer, int) else None, dim))
    return tuple(sorted(points, key=lambda p: (p.layer or 0, p.dim)))


def verification(checks: list[MetricCheck], device: str) -> Verification:
    """The record of one re-run: now, by this harness, on this hardware, with these grades."""
    return Verification(
        at=datetime.now(UTC),
        harness=harness_record(),
        hardware=hardware(device),
        reproduced=reproduced(checks),
        checks=checks,
    )
