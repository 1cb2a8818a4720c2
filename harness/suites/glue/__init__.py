"""The ``glue`` suite: linear probes on frozen sentence embeddings, SentEval's protocol.

Ten classification tasks (``glue/<dataset>``): SST-2, SST-5, MRPC, CoLA, RTE, TREC, and MR, CR,
SUBJ, MPQA by 10-fold cross-validation, each a logistic regression on the embeddings with its
regularisation chosen by inner cross-validation on the training data (Conneau & Kiela 2018,
``facebookresearch/SentEval``, ``senteval/tools/validation.py``). A dataset name may carry
``-mteb`` (mteb's classification protocol) and then ``-cap<N>`` (at most ``N`` training examples):
``variants``. Data formats: ``shared/data/MANIFEST.md`` §3.

``GlueSuite`` is a ``CardSuite`` (one card per dataset, listed by ``harness list datasets``) whose
``task`` and ``select`` read those suffixes and hold each task to its own evaluation split: SST-2,
CoLA ``dev``; RTE ``val``; SST-5, MRPC, TREC ``test``; ``cv`` for the cross-validated sets;
``holdout`` for their ``-mteb`` variants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.data.cards import DatasetCard
from harness.data.files import check_data_root, is_present, locate
from harness.errors import SettingError
from harness.models.protocols import Encoder
from harness.suites.base import BoardSpec, CardSuite, Rate, TaskSelection
from harness.suites.glue.cards import CARDS
from harness.suites.glue.task import GlueTask
from harness.suites.glue.variants import parse


def _task(card: DatasetCard, split: str) -> GlueTask:
    return GlueTask(parse(card.name))


@dataclass(frozen=True)
class GlueSuite(CardSuite):
    """The glue suite: its datasets' cards, and tasks named by dataset and variant suffixes."""

    def task(self, dataset: str, split: str) -> GlueTask:
        """The task of ``dataset`` (with its suffixes), which is scored on its own split only.

        Raises:
            SettingError: ``datasets`` for an unknown dataset or suffix, ``split`` for another split.
        """
        task = GlueTask(parse(dataset))
        if split != task.split:
            raise SettingError(
                "split",
                f"{task.name} is scored on its {task.split!r} split, not {split!r} "
                "(leave the split out: each glue task runs on its own)",
            )
        return task

    def _own_split(self, dataset: str, split: str | None) -> GlueTask:
        """The task of ``dataset`` on ``split``, or on its own split when none is given."""
        return self.task(dataset, split) if split else GlueTask(parse(dataset))

    def select(self, data_root: Path, datasets: Sequence[str] | None, split: str | None) -> TaskSelection:
        """The tasks of ``datasets`` (default: every dataset present), each on its own split.

        A given ``split`` must be every chosen task's split.
        """
        if datasets:
            tasks = tuple(self._own_split(name, split) for name in datasets)
            for task in tasks:
                locate(task.card, data_root)  # a missing dataset is named before the model loads
            return TaskSelection(tasks)
        check_data_root(data_root)
        present = [name for name, card in self.cards.items() if is_present(card, data_root)]
        if not present:
            raise SettingError("data_root", f"no {self.name} dataset found under {data_root}")
        skipped = tuple(card.id for name, card in self.cards.items() if name not in present)
        tasks = tuple(self._own_split(name, split) for name in present)
        return TaskSelection(tasks, skipped)


SUITE = GlueSuite(
    name="glue",
    description="frozen-embedding classification probes (SentEval's protocol): accuracy, MRPC F1, CoLA MCC",
    model_types=(Encoder,),
    cards=CARDS,
    make_task=_task,
    board=BoardSpec(
        rates=(
            Rate(
                "sentences/s",
                "sentences",
                "encode",
                "distinct texts encoded per second, counts.sentences / timings_s.encode (an embedding "
                "cache hit makes this look fast)",
            ),
        ),
    ),
)
