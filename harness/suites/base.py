"""What a suite and a task are: the contract every suite implements and every consumer reads.

A **task** (``Task``) is one named, versioned evaluation: ``load(data_root)`` reads and verifies its
inputs, ``evaluate(model, data, timer)`` computes its ``Scores``, and ``check(result, data)``
re-derives its metrics from what a results file carries (the mean of per-query values for
retrieval; Spearman from the per-pair predictions and the local gold scores for STS), raising a
``FieldError`` naming the field that does not hold. ``version`` changes whenever data handling or
scoring changes; only equal versions compare.

A **suite** (``Suite``) is a named set of tasks plus what the rest of the harness needs to know
about them: which model types it accepts, which tasks exist and which are present locally, and
what the board shows beside the scores (``BoardSpec``: speed and size columns, plots). The
registry maps suite names to suites; ``harness list``, the runner, ``submit`` and the board read
only that. ``CardSuite`` builds a suite from data cards and a task factory, which is what the
builtin suites are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, runtime_checkable

from harness.data import user
from harness.data.cards import DatasetCard
from harness.data.files import check_data_root, is_present, locate
from harness.errors import SettingError
from harness.metrics.measures import Measure
from harness.results import Inputs, ItemValues, Predictions, Replicate, TaskResult
from harness.results.runs import RankedRun
from harness.timing import Timer
from harness.types import JSONValue, Run


@dataclass(frozen=True)
class Scores:
    """What ``Task.evaluate`` computed: aggregates at full precision, plus the slots its suite fills."""

    metrics: dict[str, float]
    per_item: ItemValues | None = None
    predictions: Predictions | None = None
    replicates: tuple[Replicate, ...] = ()
    sizes_bytes: dict[str, int] = field(default_factory=dict)
    run: RankedRun | None = None
    """A retrieval task's scored run (after self-hit removal and the cut at k): what ``--save-run``
    writes beside the results file. The runner records it in ``predictions`` only when asked."""


class TaskData(Protocol):
    """Whatever ``Task.load`` returns carries the record of what it read."""

    @property
    def inputs(self) -> Inputs: ...


DataT = TypeVar("DataT", bound=TaskData)
ModelT = TypeVar("ModelT", contravariant=True)


class Task(Protocol[DataT, ModelT]):
    """A named, versioned evaluation; ``name`` is ``suite/dataset`` in lower-kebab case."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def split(self) -> str: ...

    @property
    def main_metric(self) -> str: ...

    @property
    def measures(self) -> tuple[Measure, ...]: ...

    @property
    def card(self) -> DatasetCard | None:
        """The data card the inputs are verified against (None: generated inputs)."""
        ...

    def settings(self) -> dict[str, JSONValue]:
        """Settings that change the scores (k, self-hit removal ...); recorded in the results file."""
        ...

    def load(self, data_root: Path) -> DataT: ...

    def evaluate(self, model: ModelT, data: DataT, timer: Timer) -> Scores: ...

    def check(self, result: TaskResult, data: DataT | None) -> bool:
        """Re-derive the metrics from ``result`` (and the local ``data`` when present).

        Returns:
            True when *every* metric was recomputed from what the file carries and the local data,
            and that data is the card's (``verified``): ``submit`` then marks the cell "rescored".
            False when only consistency could be checked (a mean of per-item values proves the
            aggregate, not the per-item values themselves).

        Raises:
            FieldError: a field of ``result`` does not hold, named relative to the task result.
        """
        ...


@runtime_checkable
class RunScoring(Protocol):
    """A task that scores a ranked run (retrieval): ``harness score`` and ``submit``'s rescoring use it.

    Only such tasks take a run; every other suite is untouched (``Task.check`` stays their gate).
    """

    def score_run(self, data: Any, run: Run) -> Scores:
        """Score ``run`` as ``evaluate`` scores its own search (self-hits, cut at k, trec_eval -c)."""
        ...

    def check_run(self, result: TaskResult, data: Any, run: Run) -> bool:
        """``check``, and every metric and per-query value recomputed from ``run`` and the local data.

        Returns:
            True when the data is here and is the card's, so every value was recomputed.

        Raises:
            FieldError: the run does not give the file's values (``predictions.run`` or the metric).
        """
        ...


AnyTask: TypeAlias = Task[Any, Any]
"""A task of some data and model type: a suite's tasks share neither across suites. The runner
checks the model against the suite's ``model_types`` and feeds each task's ``load`` to its own
``evaluate`` (``runner.run_task`` is generic over the pair)."""


@dataclass(frozen=True)
class Rate:
    """A speed column: ``inputs.counts[count] / timings_s[phase]``, summed over a row's cells."""

    label: str
    count: str
    phase: str
    help: str


@dataclass(frozen=True)
class Size:
    """A size column: ``sizes_bytes[key]`` in MiB, summed over a row's cells (known if every cell has it)."""

    label: str
    key: str
    help: str


Plot = Literal["quality_vs_speed", "per_task", "kernels"]
"""``kernels``: speed-up against error per sequence length, and recall against bytes per vector."""


@dataclass(frozen=True)
class BoardSpec:
    """What the board shows for a suite beside the scores; ``rates[0]`` is the speed axis of plots."""

    rates: tuple[Rate, ...] = ()
    sizes: tuple[Size, ...] = ()
    plots: tuple[Plot, ...] = ("quality_vs_speed", "per_task")


@dataclass(frozen=True)
class TaskSelection:
    """The tasks a run will do, and the suite's datasets skipped because they are not present locally."""

    tasks: tuple[AnyTask, ...]
    skipped: tuple[str, ...] = ()


class Suite(Protocol):
    """A named set of tasks and what the harness needs to know about them."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def model_types(self) -> tuple[type, ...]:
        """The model protocols the suite runs (``Encoder``, ``Retriever`` ...); others are refused."""
        ...

    @property
    def board(self) -> BoardSpec: ...

    def datasets(self) -> tuple[str, ...]:
        """Every dataset name of the suite (``scifact``), in display order."""
        ...

    def task(self, dataset: str, split: str) -> AnyTask:
        """The task for one dataset and split.

        Raises:
            SettingError: ``datasets`` for an unknown dataset, ``split`` for an unknown split.
        """
        ...

    def select(self, data_root: Path, datasets: Sequence[str] | None, split: str | None) -> TaskSelection:
        """The tasks for ``datasets`` (default: every dataset present under ``data_root``).

        Raises:
            SettingError: an unknown dataset or split, or no dataset present.
            DataNotFound: a named dataset is not under ``data_root``.
        """
        ...

    def runs(self, task: AnyTask, model: object) -> bool:
        """Whether ``model`` runs ``task`` (a suite whose tasks need different kinds of model says no).

        The runner drops the selected tasks a model does not run, and refuses a run left with none.
        """
        ...


def task_by_name(tasks: Mapping[str, AnyTask], suite: str, dataset: str, split: str) -> AnyTask:
    """The task called ``dataset`` of a suite that lists its tasks by name (kernels, circuit).

    Raises:
        SettingError: ``datasets`` for an unknown task, ``split`` for another split than the task's.
    """
    found = tasks.get(dataset)
    if found is None:
        raise SettingError("datasets", f"unknown {suite} task {dataset!r}; known: {', '.join(tasks)}")
    if split != found.split:
        raise SettingError("split", f"{suite}/{dataset} has only the split {found.split!r}")
    return found


TaskFactory = Callable[[DatasetCard, str], AnyTask]


@dataclass(frozen=True)
class CardSuite:
    """A ``Suite`` whose tasks are one per data card and split, made by ``make_task``."""

    name: str
    description: str
    model_types: tuple[type, ...]
    cards: Mapping[str, DatasetCard]
    make_task: TaskFactory
    board: BoardSpec = BoardSpec()
    default_split: str = "test"
    user_card: Callable[[user.UserEntry], DatasetCard] | None = None
    """How the suite reads a user's own dataset (``--datasets name=PATH``, ``harness.data.user``);
    None: the suite takes none."""

    def datasets(self) -> tuple[str, ...]:
        return tuple(self.cards)

    def _card(self, dataset: str) -> DatasetCard:
        card = self.cards.get(dataset)
        if card is None:
            raise SettingError(
                "datasets", f"unknown {self.name} dataset {dataset!r}; known: {', '.join(self.cards)}"
            )
        return card

    def task(self, dataset: str, split: str) -> AnyTask:
        card = self._card(dataset)
        if card.splits and split not in card.splits:
            raise SettingError("split", f"{card.id} has no split {split!r}; it has {', '.join(card.splits)}")
        return self.make_task(card, split)

    def split_for(self, dataset: str, split: str | None) -> str:
        """The split to run: the one named, else the card's evaluation split, else ``default_split``.

        A card with published facts names its evaluation split (BEIR's table: ``dev`` for MS MARCO).
        """
        card = self.cards.get(dataset)
        return split or (card.eval_split if card is not None else None) or self.default_split

    def select(self, data_root: Path, datasets: Sequence[str] | None, split: str | None) -> TaskSelection:
        chosen_split = split or self.default_split
        if datasets:
            if any(user.is_path_entry(name) for name in datasets):
                return TaskSelection(self._with_user_data(data_root, datasets, split))
            tasks = tuple(self.task(name, self.split_for(name, split)) for name in datasets)
            for name in datasets:
                locate(self.cards[name], data_root)  # a missing dataset is named before the model loads
            return TaskSelection(tasks)
        check_data_root(data_root)
        present = [name for name, card in self.cards.items() if is_present(card, data_root)]
        if not present:
            raise SettingError("data_root", f"no {self.name} dataset found under {data_root}")
        skipped = tuple(self.cards[name].id for name in self.cards if name not in present)
        usable = [
            n for n in present if not self.cards[n].splits or self.split_for(n, split) in self.cards[n].splits
        ]
        if not usable:
            raise SettingError("split", f"no {self.name} dataset present here has a split {chosen_split!r}")
        return TaskSelection(tuple(self.task(name, self.split_for(name, split)) for name in usable), skipped)

    def runs(self, task: AnyTask, model: object) -> bool:
        return True  # every task of a card suite takes any of its model types

    def _with_user_data(
        self, data_root: Path, entries: Sequence[str], split: str | None
    ) -> tuple[AnyTask, ...]:
        """The tasks of a ``--datasets`` list mixing dataset names and paths (``scifact,mine=/data/mine``).

        A path's card is made by ``user_card`` (without ``--split``: its only split, else
        ``default_split``); a path named as a carded dataset is that dataset only when its bytes are
        the card's (``user.as_carded``). Every dataset is found, and every user
        dataset's layout checked, before the model loads.
        """
        tasks: dict[str, AnyTask] = {}
        for entry in entries:
            given = user.parse_entry(entry)
            if given is None:
                task = self.task(entry, self.split_for(entry, split))
                locate(self._card(entry), data_root)
            elif given.name in self.cards:
                chosen = self.split_for(given.name, split)
                self.task(given.name, chosen)  # an unknown split is named first
                task = self.make_task(user.as_carded(self.cards[given.name], given, chosen), chosen)
            else:
                if self.user_card is None:
                    raise SettingError("datasets", f"the {self.name} suite takes no datasets of your own")
                card = self.user_card(given)
                only = next(iter(card.splits)) if len(card.splits) == 1 else self.default_split
                task = self._user_task(card, split or only)  # a dataset with one split runs that one
            if task.name in tasks:
                raise SettingError("datasets", f"{task.name} is named twice")
            tasks[task.name] = task
        return tuple(tasks.values())

    def _user_task(self, card: DatasetCard, split: str) -> AnyTask:
        if split not in card.splits:
            raise SettingError(
                "split", f"{card.id} (user data) has no split {split!r}; it has {', '.join(card.splits)}"
            )
        return self.make_task(card, split)

    def user_task(self, dataset: str, split: str) -> AnyTask:
        """The task of a user dataset named in a results file: no local copy, so never loaded or rescored.

        Raises:
            SettingError: ``datasets`` when the suite takes no user data, the name does not fit, or it
                is a carded dataset's (user data may never carry it).
        """
        if self.user_card is None:
            raise SettingError("datasets", f"the {self.name} suite takes no datasets of your own")
        if dataset in self.cards:
            raise SettingError("datasets", f"{self.name}/{dataset} is a carded dataset, not user data")
        if not user.USER_NAME.fullmatch(dataset):
            raise SettingError("datasets", f"{dataset!r} is not a dataset name")
        return self.make_task(user.user_card(self.name, dataset, None, (split,)), split)
