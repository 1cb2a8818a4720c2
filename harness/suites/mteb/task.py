"""One MTEB task run through the mteb package and recorded as our task result (``mteb/<name>``).

What is run: ``mteb.evaluate`` of the task with our encoder behind mteb's model protocol
(``adapter.MtebEncoder``), no result cache, predictions saved to a temporary folder. What is kept:

- **name** ``mteb/<TaskName in lower case>`` (our task names are lower-kebab; ``SICK-R`` -> ``mteb/sick-r``);
- **metrics**: mteb's scores of the split's ``default`` subset, mapped to our names
  (``harness.published.tasks.mteb_metric``: ``ndcg_at_10`` -> ``ndcg@10``, ``cosine_spearman`` ->
  ``spearman``, ``cosine_pearson`` -> ``pearson``), only those of ``MEASURES``; mteb's own rounding
  (retrieval aggregates to 5 decimals, ``_evaluators/retrieval_metrics.py``) is kept as it is;
- **predictions**: for STS, mteb's per-pair cosine (``<Task>_predictions.json``, ``cosine_scores``), so
  ``check`` recomputes Spearman and Pearson from them. mteb gives no per-query values for retrieval
  (only its ranking), so a retrieval result has no ``per_item`` and is consistent-only;
- **inputs**: generated inputs whose generator names the mteb task, its dataset path and **dataset
  revision**, the class when given as ``module:Class`` and the files a local class read (sha256 each);
  the fingerprint is over that spec. ``verified`` is false: no card of ours covers mteb's data (our
  own ``beir``/``sts`` tasks are the verified ones; ``harness published`` compares with them).

Only Retrieval and STS tasks are mapped; others are refused at selection.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.data.cards import DatasetCard, generated_fingerprint
from harness.errors import FieldError, HarnessError, SettingError
from harness.metrics.correlation import pearson, spearman
from harness.metrics.measures import Measure, measure
from harness.models.protocols import Encoder
from harness.published.tasks import mteb_metric
from harness.results import Inputs, Predictions, TaskResult
from harness.suites.base import Scores
from harness.suites.checks import check_recomputed
from harness.timing import Timer
from harness.types import JSONValue

MEASURES: dict[str, tuple[str, ...]] = {
    "Retrieval": ("ndcg@10", "ndcg@100", "recall@10", "recall@100", "recall@1000", "map@100", "mrr@10"),
    "STS": ("spearman", "pearson"),
}
"""The mteb task types this suite maps, and the scores it keeps of each."""

SIMILARITY_SLACK = 1e-6


@dataclass(frozen=True)
class Described:
    """What the suite needs of an mteb task before loading it."""

    name: str
    type: str
    main_score: str
    eval_splits: tuple[str, ...]
    dataset_path: str
    dataset_revision: str


def _task_class(target: str) -> Any:
    """``module:Class`` -> the class, or an MTEB task name -> mteb's task object."""
    import mteb
    from mteb.abstasks.abstask import AbsTask

    if ":" in target:
        module, _, attr = target.partition(":")
        try:
            found = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as error:
            raise SettingError("datasets", f"{target!r}: cannot import it ({error})") from None
        if not (isinstance(found, type) and issubclass(found, AbsTask)):
            raise SettingError("datasets", f"{target!r} is not an mteb task class")
        return found
    from mteb.get_tasks import _TASKS_REGISTRY

    by_slug = {task_slug(name): cls for name, cls in _TASKS_REGISTRY.items()}
    if target not in _TASKS_REGISTRY and target in by_slug:  # a stored name: mteb/scifact -> SciFact
        return by_slug[target]
    try:
        return type(mteb.get_task(target))
    except (KeyError, ValueError) as error:
        raise SettingError("datasets", f"unknown MTEB task {target!r} ({str(error)[:200]})") from None


@lru_cache(maxsize=256)
def describe(target: str) -> Described:
    """The metadata of an MTEB task name or ``module:Class`` (imports mteb: the suite's own cost)."""
    metadata = _task_class(target).metadata
    return Described(
        name=str(metadata.name),
        type=str(metadata.type),
        main_score=str(metadata.main_score),
        eval_splits=tuple(metadata.eval_splits),
        dataset_path=str(metadata.dataset.get("path", "")),
        dataset_revision=str(metadata.dataset.get("revision", "")),
    )


def task_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._") or "task"


@dataclass(frozen=True)
class MtebData:
    """A loaded mteb task object, the record of what it holds, and STS gold scores in pair order."""

    task: Any
    inputs: Inputs
    gold: tuple[float, ...] | None


@dataclass(frozen=True)
class MtebTask:
    """An MTEB task (by name, or a local ``module:Class``) on one of its evaluation splits."""

    target: str
    split: str = "test"
    version: int = 1
    card: DatasetCard | None = None

    @property
    def described(self) -> Described:
        return describe(self.target)

    @property
    def name(self) -> str:
        return f"mteb/{task_slug(self.described.name)}"

    @property
    def main_metric(self) -> str:
        main = mteb_metric(self.described.main_score)
        if main is None or main not in MEASURES.get(self.described.type, ()):
            raise SettingError(
                "datasets", f"{self.described.name}: main score {self.described.main_score} is not mapped"
            )
        return main

    @property
    def measures(self) -> tuple[Measure, ...]:
        return tuple(measure(name) for name in MEASURES[self.described.type])

    def settings(self) -> dict[str, JSONValue]:
        return {"mteb_task": self.described.name, "similarity": "cosine", "hf_subset": "default"}

    def load(self, data_root: Path) -> MtebData:
        """Build the task object and load its data (local files, the HF cache, or the hub if reachable).

        Raises:
            HarnessError: mteb could not load the data (offline and not cached, for a hub task).
        """
        from harness.suites.mteb.local import LocalData

        cls = _task_class(self.target)
        task = cls(data_root=data_root) if issubclass(cls, LocalData) else cls()
        try:
            task.load_data()
        except OSError as error:  # datasets/huggingface_hub: offline, not cached, unreachable
            raise HarnessError(
                f"mteb could not load {self.described.name} ({type(error).__name__}): its data is neither in "
                "the local Hugging Face cache nor reachable"
            ) from None
        described = self.described
        generator: dict[str, JSONValue] = {
            "mteb_task": described.name,
            "dataset_path": described.dataset_path,
            "dataset_revision": described.dataset_revision,
            "split": self.split,
        }
        if ":" in self.target:
            generator["class"] = self.target
        files = getattr(task, "harness_files", None)
        if isinstance(files, dict):
            generator["files"] = dict(sorted(files.items()))
        spec = getattr(task, "harness_spec", None)
        if isinstance(spec, dict) and spec:
            generator["spec"] = dict(sorted(spec.items()))
        counts, gold = _counts(task, described.type, self.split)
        inputs = Inputs(
            id=self.name,
            generator=generator,
            fingerprint=generated_fingerprint(generator, None),
            counts=counts,
            verified=False,
        )
        return MtebData(task=task, inputs=inputs, gold=gold)

    def evaluate(self, model: Encoder, data: MtebData, timer: Timer) -> Scores:
        import mteb

        from harness.suites.mteb.adapter import MtebEncoder

        wrapper = MtebEncoder(model)
        with tempfile.TemporaryDirectory(prefix="harness-mteb-") as folder:
            with timer("evaluate"):
                result = mteb.evaluate(
                    wrapper,
                    data.task,
                    cache=None,
                    prediction_folder=folder,
                    show_progress_bar=False,
                    co2_tracker=False,
                    overwrite_strategy="always",
                    encode_kwargs={"batch_size": 64},
                )
            predicted = Path(folder) / f"{self.described.name}_predictions.json"
            saved = json.loads(predicted.read_text()) if predicted.is_file() else {}
        entries = result.task_results[0].scores[self.split]
        entry = next((e for e in entries if e.get("hf_subset") == "default"), entries[0])
        kept = MEASURES[self.described.type]
        metrics = {
            name: float(value)
            for key, value in entry.items()
            if (name := mteb_metric(key)) is not None and name in kept
        }
        predictions = None
        if self.described.type == "STS":
            cosines = (
                saved.get(str(entry.get("hf_subset", "default")), {}).get(self.split, {}).get("cosine_scores")
            )
            if cosines is not None:
                values = [float(v) for v in cosines]
                predictions = Predictions(kind="similarity", item_kind="pair", values=values)
        return Scores(metrics=metrics, predictions=predictions)

    def check(self, result: TaskResult, data: MtebData | None) -> bool:
        """STS: recompute Spearman and Pearson from the stored cosines and the local gold scores.

        Never "rescored": mteb's data has no card of ours (``inputs.verified`` is false). Retrieval
        results carry no per-query values (mteb gives none), so only their presence is checked.
        """
        if self.described.type != "STS":
            return False
        predictions = result.predictions
        if predictions is None or predictions.kind != "similarity":
            raise FieldError("predictions", f"{self.name} keeps mteb's cosine of every pair")
        if result.inputs.counts.get("pairs") != len(predictions.values):
            raise FieldError("predictions.values", "does not hold one value per pair (inputs.counts.pairs)")
        for index, value in enumerate(predictions.values):
            if not (math.isfinite(value) and abs(value) <= 1.0 + SIMILARITY_SLACK):
                raise FieldError(f"predictions.values[{index}]", f"{value!r} is not a cosine in [-1, 1]")
        if data is None or data.gold is None:
            return False
        if data.inputs.fingerprint != result.inputs.fingerprint:
            raise FieldError("inputs.fingerprint", f"differs from the local {self.name} data's")
        for name, function in (("spearman", spearman), ("pearson", pearson)):
            if name in result.metrics:
                value = function(predictions.values, data.gold)
                check_recomputed(
                    result, name, value, "recomputed from mteb's cosines and the local gold scores"
                )
        return False


def _counts(task: Any, kind: str, split: str) -> tuple[dict[str, int], tuple[float, ...] | None]:
    dataset = task.dataset
    if kind == "STS":
        rows = dataset[split] if split in dataset else dataset["default"][split]
        return {"pairs": len(rows)}, tuple(float(s) for s in rows["score"])
    data = dataset["default"][split] if "default" in dataset else dataset[split]
    counts = {"corpus": len(data["corpus"]), "queries": len(data["queries"])}
    return counts, None
