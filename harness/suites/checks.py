"""Checks of a task result against what its task declares, shared by every suite and by ``submit``.

``check_declared`` holds a result to its task's version, main metric, settings and measures
(names and bounds); ``check_inputs`` holds its inputs record to itself and to the data card;
``check_item_means`` and ``check_recomputed`` are the two ways a task re-derives an aggregate: the
mean of per-item values (``Measure.aggregate == "mean"``), or a value recomputed from predictions
(``"whole"``). Every failure is a ``FieldError`` naming the field relative to the task result.
"""

from __future__ import annotations

import math
from collections.abc import Set
from dataclasses import dataclass

from harness.data.cards import fingerprint, generated_fingerprint
from harness.errors import FieldError
from harness.results import ItemKind, TaskResult
from harness.suites.base import AnyTask, BoardSpec
from harness.timing import is_subphase

AGGREGATE_TOLERANCE = 1e-9
"""How far an aggregate may sit from the value re-derived from the file: float summation noise only."""

MAX_ITEMS_PER_SECOND = 1e9
"""No phase handles more than a billion items (queries, documents, sentences) a second: one item per
clock cycle of a 1 GHz core, while encoding a sentence or searching a query costs thousands. A
faster claim is a forged or broken timing (``search: 1e-300`` would show 3e302 queries/s)."""
MAX_SECONDS = 1e7
"""No phase lasts longer than 10 million seconds (116 days); beyond it sums of timings overflow."""
TIMER_SLACK_S = 1e-3
"""How far the phases may add up beyond ``total`` (each phase and the total read one monotonic clock)."""


@dataclass(frozen=True)
class InputsVerdict:
    """Whether a result's inputs are the data card's (``verified``), and if not, why (``note``)."""

    verified: bool
    note: str = ""


def shown(value: float, other: float) -> tuple[str, str]:
    """Both numbers with the fewest digits (at least 4 decimals) that tell them apart."""
    for digits in range(4, 18):
        left, right = f"{value:.{digits}f}", f"{other:.{digits}f}"
        if left != right:
            return left, right
    return repr(value), repr(other)


def check_declared(result: TaskResult, task: AnyTask) -> None:
    """Version, main metric, settings and measures are the task's own; values lie in their bounds."""
    if result.task_version != task.version:
        raise FieldError(
            "task_version",
            f"{result.task_version} is not the current version of {task.name} ({task.version}); "
            "scores of other versions do not compare",
        )
    if result.main_metric != task.main_metric:
        raise FieldError(
            "main_metric", f"{result.main_metric!r}: the main metric of {task.name} is {task.main_metric!r}"
        )
    if result.settings != task.settings():
        raise FieldError(
            "settings",
            f"{result.settings} differ from {task.name}'s {task.settings()}; runs with other settings "
            "do not compare",
        )
    measures = {m.name: m for m in task.measures}
    for name, value in result.metrics.items():
        found = measures.get(name)
        if found is None:
            raise FieldError(f"metrics.{name}", f"not a metric of {task.name} ({', '.join(measures)})")
        if not found.in_bounds(value):
            low, high = found.bounds or (-math.inf, math.inf)
            raise FieldError(f"metrics.{name}", f"{value!r} lies outside [{low}, {high}]")


def check_timings(result: TaskResult, spec: BoardSpec) -> None:
    """Timings are positive, the phases fit in the total, no derived speed beats ``MAX_ITEMS_PER_SECOND``."""
    timings = result.timings_s
    for phase, seconds in timings.items():
        if not seconds > 0:
            raise FieldError(f"timings_s.{phase}", f"{seconds!r}: a measured phase takes some time")
        if seconds > MAX_SECONDS:
            raise FieldError(f"timings_s.{phase}", f"{seconds!r} s is longer than {MAX_SECONDS:.0e} s")
    total = timings.get("total")
    phases = math.fsum(
        seconds for phase, seconds in timings.items() if phase != "total" and not is_subphase(phase)
    )
    if total is not None and phases > total + TIMER_SLACK_S:
        raise FieldError("timings_s.total", f"{total!r} is less than its phases together ({phases!r})")
    for rate in spec.rates:
        spent = timings.get(rate.phase)
        count = result.inputs.counts.get(rate.count)
        if spent is not None and count and count / spent > MAX_ITEMS_PER_SECOND:
            raise FieldError(
                f"timings_s.{rate.phase}",
                f"{spent!r} s for {count:,} {rate.count} is {count / spent:.3g} a second; no hardware "
                f"touches more than {MAX_ITEMS_PER_SECOND:.0e}",
            )


def check_inputs(result: TaskResult, task: AnyTask) -> InputsVerdict:
    """The inputs record is consistent, and claims ``verified`` only when it equals the card."""
    inputs = result.inputs
    card = task.card
    expected_id = card.id if card is not None else task.name
    if inputs.id != expected_id:
        raise FieldError("inputs.id", f"{inputs.id!r} is not the dataset of {task.name}")
    if inputs.generator is None:
        if inputs.fingerprint != fingerprint(inputs.files):
            raise FieldError("inputs.fingerprint", "is not the fingerprint of inputs.files")
    elif inputs.files:
        raise FieldError("inputs.files", "generated inputs name no files (or drop inputs.generator)")
    elif inputs.fingerprint != generated_fingerprint(inputs.generator, inputs.seed):
        raise FieldError("inputs.fingerprint", "is not the fingerprint of inputs.generator and inputs.seed")
    mismatch = (
        card.mismatch(result.split, inputs.files, inputs.counts)
        if card is not None
        else "generated inputs have no data card"
    )
    if mismatch and inputs.verified:
        raise FieldError("inputs.verified", f"claims true, but {mismatch}")
    if not inputs.verified:
        return InputsVerdict(False, mismatch or "the file does not claim verified")
    return InputsVerdict(True)


def check_item_means(result: TaskResult, task: AnyTask, kind: ItemKind, count: str) -> Set[str]:
    """Each mean-aggregated metric has one in-bounds value per item, and their mean is the aggregate.

    Items number ``inputs.counts[count]`` and are the same for every metric; returns their ids.
    """
    n_items = result.inputs.counts.get(count)
    if n_items is None:
        raise FieldError(f"inputs.counts.{count}", "missing (per_item is checked against it)")
    if n_items < 1:
        raise FieldError(f"inputs.counts.{count}", "0: a mean over no items is undefined")
    per_item = result.per_item
    if per_item is None:
        raise FieldError("per_item", f"missing: {task.name} keeps a value per {kind} for each metric")
    if per_item.kind != kind:
        raise FieldError("per_item.kind", f"{per_item.kind!r}: the items of {task.name} are of kind {kind!r}")
    items: Set[str] | None = None
    measures = {m.name: m for m in task.measures}
    for name in result.metrics:
        found = measures[name]  # check_declared has held the names to the task's measures
        if found.aggregate != "mean":
            continue
        values = per_item.values.get(name)
        if values is None:
            raise FieldError(f"per_item.values.{name}", "missing: every metric needs its per-item values")
        if len(values) != n_items:
            raise FieldError(
                f"per_item.values.{name}",
                f"holds {len(values)} values, but inputs.counts.{count} is {n_items}",
            )
        if items is None:
            items = values.keys()
        elif values.keys() != items:
            raise FieldError(f"per_item.values.{name}", "scores other items than the other metrics")
        for item, value in values.items():
            if not found.in_bounds(value):
                low, high = found.bounds or (-math.inf, math.inf)
                raise FieldError(f"per_item.values.{name}.{item}", f"{value!r} lies outside [{low}, {high}]")
        mean = math.fsum(values.values()) / len(values)
        check_recomputed(result, name, mean, "the mean of per_item")
    return items or set()


def check_recomputed(result: TaskResult, name: str, value: float, how: str) -> None:
    """The aggregate of ``name`` equals ``value`` re-derived from the file (``how`` says from what)."""
    claimed = result.metrics[name]
    if not abs(claimed - value) <= AGGREGATE_TOLERANCE:
        left, right = shown(claimed, value)
        raise FieldError(f"metrics.{name}", f"{left} is not {how} ({right})")
