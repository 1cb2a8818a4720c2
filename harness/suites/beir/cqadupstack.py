"""CQADupStack as BEIR and Pyserini score it: each of its 12 forums on its own, then the mean of the forums.

BEIR's ``cqadupstack.zip`` holds one BEIR dataset per StackExchange forum (``cqadupstack/<forum>/
{corpus.jsonl,queries.jsonl,qrels/test.tsv}``). BEIR's examples evaluate each forum folder with its
own ``GenericDataLoader`` and index, and the paper's CQADupStack number is the average over the 12
forums; Pyserini's 2CR (``pyserini/2cr/beir.yaml``) lists ``cqadupstack-<forum>`` per condition and
reports their average. So here each forum gets a fresh index (a query never sees another forum's
documents) and is scored exactly as ``RetrievalTask`` scores a BEIR dataset, and each metric is the
mean over forums of the forum's mean over queries: a forum of 1,000 queries weighs as much as one of
100, which is not the plain mean over all 13,145 queries.

Per-item values are kept per query, keyed ``<forum>/<query id>`` (kind ``query``), and so is the
run ``--save-run`` keeps (doc ids ``<forum>/<doc id>``; ``score_run`` splits it by forum again).
``check`` re-derives the forum-weighted mean from them (``suites.checks.check_item_means`` assumes a
plain mean and would refuse a correct file). The board's paired significance test reads the same
values, weighting each query by 1 / (its forum's query count) (``forum_weights``), so its
statistic is the forum mean too.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from harness.data.cards import DatasetCard, fingerprint, inputs_record
from harness.data.files import locate
from harness.errors import FieldError
from harness.metrics.measures import Measure, measure
from harness.models.protocols import Encoder, Retriever
from harness.results import Inputs, ItemValues, TaskResult
from harness.results.runs import RankedRun
from harness.suites.base import Scores
from harness.suites.beir.cards import CQADUPSTACK_FORUMS
from harness.suites.beir.data import BeirDataset, BeirFolder, read_beir_folder
from harness.suites.beir.task import BEIR_METRICS, RetrievalTask, rescore_run
from harness.suites.checks import check_recomputed
from harness.timing import Timer
from harness.types import JSONValue, Qrels, Run

SEPARATOR = "/"
"""Between forum and query id in a per-item key (forum names hold none; query ids may)."""


@dataclass(frozen=True)
class ForumsData:
    """Every forum's split, in the task's forum order, and the record of all files read."""

    forums: tuple[tuple[str, BeirFolder], ...]
    inputs: Inputs

    @cached_property
    def qrels(self) -> Qrels:
        """Every forum's qrels, ids ``<forum>/<id>``: the judged queries a run of the task answers."""
        return {
            f"{forum}{SEPARATOR}{qid}": {f"{forum}{SEPARATOR}{doc}": grade for doc, grade in docs.items()}
            for forum, folder in self.forums
            for qid, docs in folder.qrels.items()
        }


def forum_weights(keys: Iterable[str]) -> dict[str, float]:
    """Each per-query key's weight in the mean of forum means: 1 / (the number of its forum's keys).

    What the board's paired test weighs queries by (``metrics.significance.paired_randomization``),
    so its statistic is this task's aggregate, not the plain mean over 13,145 queries.
    """
    listed = list(keys)
    sizes = Counter(key.partition(SEPARATOR)[0] for key in listed)
    return {key: 1.0 / sizes[key.partition(SEPARATOR)[0]] for key in listed}


def forum_means(values: Mapping[str, float], forums: tuple[str, ...], where: str) -> dict[str, float]:
    """Each forum's mean of its per-query values, from values keyed ``<forum>/<query id>``.

    Raises:
        FieldError: a key names no forum of ``forums``, or a forum has no value (``where`` names the field).
    """
    grouped: dict[str, list[float]] = {forum: [] for forum in forums}
    for key, value in values.items():
        forum, separator, query = key.partition(SEPARATOR)
        if not separator or not query or forum not in grouped:
            raise FieldError(
                f"{where}.{key[:60]}", f"not '<forum>/<query id>' with a forum of {', '.join(forums)}"
            )
        grouped[forum].append(value)
    empty = [forum for forum, found in grouped.items() if not found]
    if empty:
        raise FieldError(where, f"holds no query of the forum {empty[0]!r}: every forum is scored")
    return {forum: math.fsum(found) / len(found) for forum, found in grouped.items()}


def _forum_dataset(card: DatasetCard, folder: BeirFolder) -> BeirDataset:
    """One forum as the plain BEIR task reads a dataset (its inputs record is not the task's own)."""
    inputs = Inputs(
        id=card.id,
        files=folder.files,
        fingerprint=fingerprint(folder.files),
        counts=folder.counts,
        verified=False,
    )
    return BeirDataset(corpus=folder.corpus, queries=folder.queries, qrels=folder.qrels, inputs=inputs)


@dataclass(frozen=True)
class CqaDupStackTask:
    """``beir/cqadupstack``: 12 forums, each indexed and searched alone, metrics the mean of the forums."""

    card: DatasetCard
    split: str = "test"
    k: int = 1000
    remove_self_hits: bool = True
    metrics: tuple[str, ...] = BEIR_METRICS
    main_metric: str = "ndcg@10"
    forums: tuple[str, ...] = CQADUPSTACK_FORUMS
    version: int = 1

    @property
    def name(self) -> str:
        return self.card.id

    @property
    def measures(self) -> tuple[Measure, ...]:
        return tuple(measure(name) for name in self.metrics)

    def _forum_task(self) -> RetrievalTask:
        """The plain BEIR task each forum is scored by (same k, self-hit removal and measures)."""
        return RetrievalTask(
            card=self.card,
            split=self.split,
            k=self.k,
            remove_self_hits=self.remove_self_hits,
            metrics=self.metrics,
            main_metric=self.main_metric,
        )

    def settings(self) -> dict[str, JSONValue]:
        return {
            **self._forum_task().settings(),
            "forums": list(self.forums),
            "aggregate": "mean over forums of the mean over queries (BEIR, Pyserini 2CR)",
        }

    def load(self, data_root: Path) -> ForumsData:
        """Read every forum's split from one located dataset (the zip or its unzipped folder).

        Raises:
            SettingError, DataNotFound: the data root or the dataset is missing.
            InputError: a forum's file is missing or malformed, named relative to the data root.
        """
        source = locate(self.card, data_root)
        forums = tuple((forum, read_beir_folder(source, self.split, forum)) for forum in self.forums)
        files = {name: sha for _, folder in forums for name, sha in folder.files.items()}
        counts = {
            key: sum(folder.counts[key] for _, folder in forums) for key in ("corpus", "queries", "qrels")
        }
        counts["forums"] = len(forums)
        return ForumsData(forums=forums, inputs=inputs_record(self.card, self.split, files, counts))

    def evaluate(self, model: Retriever | Encoder, data: ForumsData, timer: Timer) -> Scores:
        """Score each forum as ``RetrievalTask`` scores a dataset (a fresh index each), then average.

        ``Retriever.index`` replaces the previous index and ``RetrievalTask`` wraps an encoder in a new
        ``DenseRetriever`` per call, so no forum searches another's documents. Timings add up over
        forums; the index size is the sum of the 12 indexes.
        """
        task = self._forum_task()
        scored = [
            (forum, task.evaluate(model, _forum_dataset(self.card, folder), timer))
            for forum, folder in data.forums
        ]
        index_bytes = sum(scores.sizes_bytes.get("index", 0) for _, scores in scored)
        combined = self._combine(scored)
        return replace(combined, sizes_bytes={"index": index_bytes} if index_bytes else {})

    def _combine(self, scored: list[tuple[str, Scores]]) -> Scores:
        """The forums' scores as one: metrics the mean of the forums, items and run ids ``<forum>/<id>``."""
        per_query: dict[str, dict[str, float]] = {name: {} for name in self.metrics}
        by_forum: dict[str, list[float]] = {name: [] for name in self.metrics}
        hits: Run = {}
        for forum, scores in scored:
            if scores.per_item is None:  # RetrievalTask always keeps them
                raise AssertionError("RetrievalTask returned no per-query values")
            for name in self.metrics:
                by_forum[name].append(scores.metrics[name])
                for qid, value in scores.per_item.values[name].items():
                    per_query[name][f"{forum}{SEPARATOR}{qid}"] = value
            if scores.run is not None:
                for qid, docs in scores.run.hits.items():
                    hits[f"{forum}{SEPARATOR}{qid}"] = {
                        f"{forum}{SEPARATOR}{doc}": s for doc, s in docs.items()
                    }
        metrics = {name: math.fsum(values) / len(values) for name, values in by_forum.items()}
        return Scores(
            metrics=metrics,
            per_item=ItemValues(kind="query", values=per_query),
            run=RankedRun(hits, self.k),
        )

    def score_run(self, data: ForumsData, run: Run) -> Scores:
        """Score a run of ``<forum>/<query id>`` -> ``<forum>/<doc id>`` as ``evaluate`` scores its search.

        Each forum's part (its queries, with the forum's prefix taken off both ids) is scored by
        ``RetrievalTask.score_run`` against the forum's qrels, then the forums are averaged. Queries of
        no forum are ignored and a doc id of another forum is never relevant, as a query of one forum
        is never judged against another's documents.
        """
        task = self._forum_task()
        scored = []
        for forum, folder in data.forums:
            prefix = f"{forum}{SEPARATOR}"
            part = {
                qid.removeprefix(prefix): {doc.removeprefix(prefix): score for doc, score in docs.items()}
                for qid, docs in run.items()
                if qid.startswith(prefix)
            }
            scored.append((forum, task.score_run(_forum_dataset(self.card, folder), part)))
        return self._combine(scored)

    def check_run(self, result: TaskResult, data: ForumsData | None, run: Run) -> bool:
        """``check``, then every metric and per-query value recomputed from ``run`` (as ``RetrievalTask``).

        Rescored only where the local data is here, is the file's and is the card's.
        """
        self.check(result, data)
        return rescore_run(result, data, self.k, self.name, lambda loaded: self.score_run(loaded, run))

    def check(self, result: TaskResult, data: ForumsData | None) -> bool:
        """Each metric is the mean over forums of the forum's mean of per-query values.

        Per-query values lie in bounds, number ``inputs.counts.queries``, score the same items for every
        metric, and every forum has some. Not "rescored" on its own (as ``RetrievalTask.check``: nDCG
        cannot be recomputed from per-query values; ``check_run`` recomputes them from a saved run);
        where the local data is the file's, the items must be exactly its judged queries.
        """
        n_items = result.inputs.counts.get("queries")
        if n_items is None or n_items < 1:
            raise FieldError("inputs.counts.queries", "missing or 0 (per_item is checked against it)")
        per_item = result.per_item
        if per_item is None:
            raise FieldError("per_item", f"missing: {self.name} keeps a value per query for each metric")
        if per_item.kind != "query":
            raise FieldError("per_item.kind", f"{per_item.kind!r}: the items of {self.name} are queries")
        measures = {m.name: m for m in self.measures}
        items: set[str] | None = None
        for name in result.metrics:
            found = measures[name]  # check_declared has held the names to the task's measures
            values = per_item.values.get(name)
            where = f"per_item.values.{name}"
            if values is None:
                raise FieldError(where, "missing: every metric needs its per-query values")
            if len(values) != n_items:
                raise FieldError(where, f"holds {len(values)} values, but inputs.counts.queries is {n_items}")
            if items is None:
                items = set(values)
            elif values.keys() != items:
                raise FieldError(where, "scores other items than the other metrics")
            for item, value in values.items():
                if not found.in_bounds(value):
                    low, high = found.bounds or (-math.inf, math.inf)
                    raise FieldError(f"{where}.{item}", f"{value!r} lies outside [{low}, {high}]")
            means = forum_means(values, self.forums, where)
            forum_mean = math.fsum(means.values()) / len(means)
            check_recomputed(result, name, forum_mean, "the mean over forums of the per-query means")
        if data is None or data.inputs.fingerprint != result.inputs.fingerprint or items is None:
            return False
        judged = {f"{forum}{SEPARATOR}{qid}" for forum, folder in data.forums for qid in folder.qrels}
        if items != judged:
            stray = sorted(items - judged) or sorted(judged - items)
            missing = "holds a query the qrels lack" if items - judged else "lacks a judged query"
            raise FieldError(
                "per_item.values", f"{missing} of the local {self.name} data (e.g. {stray[0][:60]!r})"
            )
        return False
