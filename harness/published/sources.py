"""Reading published scores from outside: MTEB result folders and Pyserini's 2CR yaml, hostile until checked.

A published file is treated as a submission is (``results/bounds.py``): a regular file of bounded size
read without blocking, numbers finite and bounded, every string and key under the text policy
(printable, at most 1,000 characters, NFC), model and task names plain ASCII names (so no markup or
look-alike reaches a table), and one pydantic model per format. Every failure is one
``InputError(file, field, why)``; nothing is stored until every file of an import has been read
(``harness.store.published``).

Each score is keyed on (model, model revision, source task, dataset revision, split, subset, metric):
never on the task name alone (``tasks.py``). MTEB score keys are mapped to ours (``ndcg_at_10`` ->
``ndcg@10``, ``cosine_spearman`` -> ``spearman``); unmapped ones are dropped.

Layouts read:

- MTEB's results repository (``embeddings-benchmark/results``): ``DIR/<org>__<name>/<revision>/<Task>.json``
  plus ``model_meta.json`` (``name``, ``revision``) in each revision folder; ``scores.<split>[i]`` hold
  ``hf_subset``, ``languages``, ``main_score`` and the metric keys; ``dataset_revision`` and
  ``mteb_version`` sit at the top.
- Pyserini's ``pyserini/2cr/beir.yaml``: ``conditions[i].name`` and ``.datasets[j].{dataset, scores[0]}``
  with ``nDCG@10``, ``R@100``, ``R@1000``. The CQADupStack forums are imported as subsets of
  ``beir/cqadupstack`` and their mean as the task's score (BEIR's and Pyserini's way).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InputError
from harness.metrics.measures import measure
from harness.published.tasks import (
    CQADUPSTACK_FORUMS,
    MTEB_TASKS,
    PYSERINI_DATA,
    PYSERINI_METRICS,
    PYSERINI_MODELS,
    PYSERINI_TASKS,
    SAME_DATA,
    data_status,
    mteb_metric,
)
from harness.results.bounds import (
    MAX_INTEGER_DIGITS,
    MAX_NESTING,
    check_document,
    location,
    parse_untrusted_json,
    read_bounded,
    untrusted_text,
)

MAX_SOURCE_BYTES = 5 * 1024 * 1024
"""One published file: MTEB's largest result files are tens of KB, the 2CR yaml 28 KB."""
MAX_FILES = 20_000
"""Files one MTEB results folder may hold for an import."""

MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(/[A-Za-z0-9][A-Za-z0-9._-]{0,149})?$"
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
"""Task, split, subset, revision and condition names: plain ASCII, so no markup reaches a table."""
LANGUAGE = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"

MTEB = "mteb"
REVERSE_2CR = {ours: theirs for theirs, ours in PYSERINI_METRICS.items()}
PYSERINI = "pyserini-2cr"


@dataclass(frozen=True)
class PublishedScore:
    """One published number and what it was measured on."""

    model_id: str
    model_revision: str
    measured_as: str | None
    source_task: str
    task: str | None
    dataset_revision: str
    split: str
    subset: str
    metric: str
    source_metric: str
    value: float
    main: bool
    same_data: bool
    tool: str


@dataclass(frozen=True)
class SourceFile:
    """One source file as read: where it will lie under ``published/``, its bytes and its scores."""

    kind: str
    relative: str
    data: bytes
    scores: tuple[PublishedScore, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


class MtebScores(BaseModel):
    """One entry of ``scores.<split>``: its subset and languages, ``main_score`` and the metric keys."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, frozen=True)

    hf_subset: str = Field(pattern=NAME)
    languages: list[Annotated[str, Field(pattern=LANGUAGE)]] = Field(default_factory=list, max_length=100)
    main_score: float


class MtebResult(_Record):
    """An MTEB ``<Task>.json`` (mteb 1.x and 2.x write these fields)."""

    dataset_revision: str = Field(pattern=NAME)
    mteb_version: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,49}$")
    task_name: str | None = Field(default=None, pattern=NAME)
    scores: dict[str, list[MtebScores]] = Field(min_length=1, max_length=50)


class MtebModelMeta(_Record):
    """The two fields of ``model_meta.json`` a score is keyed on."""

    name: str = Field(pattern=MODEL_ID)
    revision: str | None = Field(default=None, pattern=NAME)


class TwoCrDataset(_Record):
    dataset: str = Field(pattern=NAME)
    scores: list[dict[str, float]] = Field(min_length=1, max_length=1)


class TwoCrCondition(_Record):
    name: str = Field(pattern=NAME)
    datasets: list[TwoCrDataset] = Field(min_length=1, max_length=500)


class TwoCrFile(_Record):
    conditions: list[TwoCrCondition] = Field(min_length=1, max_length=500)


# --- reading untrusted bytes ---------------------------------------------------------------------


def _read(path: Path, where: str) -> bytes:
    return read_bounded(path, where, limit=MAX_SOURCE_BYTES, what="a published score file")


def parse_json(data: bytes, where: str) -> dict[str, Any]:
    """Untrusted JSON bytes -> a checked object (``results.bounds.parse_untrusted_json``)."""
    return parse_untrusted_json(data, where)


def _plain(value: Any, where: str, loc: tuple[int | str, ...], depth: int = 1) -> None:
    """YAML may build what JSON cannot (int keys, dates, bytes, sets): only JSON values pass."""
    if depth > MAX_NESTING:
        raise InputError(where, location(loc), f"nested deeper than {MAX_NESTING} levels")
    if isinstance(value, dict):
        for key, child in value.items():
            if not isinstance(key, str):
                raise InputError(where, location(loc), f"a key is {type(key).__name__}, not text")
            _plain(child, where, (*loc, key[:40]), depth + 1)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _plain(child, where, (*loc, index), depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**MAX_INTEGER_DIGITS:
        raise InputError(where, location(loc), f"integer has more than {MAX_INTEGER_DIGITS} digits")
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise InputError(where, location(loc), f"a {type(value).__name__} is not a plain value")


def parse_yaml(data: bytes, where: str) -> dict[str, Any]:
    """Untrusted YAML -> a checked object: safe loading, no aliases (no billion laughs), JSON values only."""
    import yaml  # type: ignore[import-untyped]

    class NoAliases(yaml.SafeLoader):  # type: ignore[misc]
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.YAMLError("aliases (*name) are not allowed")
            return super().compose_node(parent, index)

    text = untrusted_text(data, where)
    try:
        document = yaml.load(text, Loader=NoAliases)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(where, "(file)", f"not valid YAML: {first}") from None
    except RecursionError:
        raise InputError(where, "(file)", "YAML nested too deeply") from None
    _plain(document, where, ())
    for key, value in _floats(document):
        if not math.isfinite(value):
            raise InputError(where, key, "Input should be a finite number")
    return check_document(document, where)


def _floats(value: Any, loc: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _floats(child, f"{loc}.{key}" if loc else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _floats(child, f"{loc}[{index}]")
    elif isinstance(value, float):
        yield loc or "(document)", value


def _validated(model: type[BaseModel], document: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(document, strict=True)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise InputError(where, location(tuple(first["loc"])), message) from None


def _bounded(value: Any, metric: str, where: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(where, field, f"{value!r} is not a number")
    bounds = measure(metric).bounds
    low, high = bounds if bounds is not None else (-1e9, 1e9)
    if not low <= value <= high:
        raise InputError(where, field, f"{value!r} lies outside [{low:g}, {high:g}] for {metric}")
    return float(value)


# --- MTEB ----------------------------------------------------------------------------------------


def mteb_scores(
    result: MtebResult, task_name: str, model_id: str, revision: str, where: str
) -> list[PublishedScore]:
    """The mapped scores of one MTEB result file; a key twice in one (split, subset) is refused."""
    mapped = MTEB_TASKS.get(task_name)
    tool = f"mteb {result.mteb_version}" if result.mteb_version else "mteb"
    status, _ = data_status(mapped, result.dataset_revision)
    scores: list[PublishedScore] = []
    seen: set[tuple[str, str, str]] = set()
    for split, entries in result.scores.items():
        if not _matches(split, NAME) or len(split) > 50:
            raise InputError(where, f"scores.{split[:40]}", "a split is a short plain name")
        for index, entry in enumerate(entries):
            for key, value in sorted((entry.model_extra or {}).items()):
                metric = mteb_metric(key)
                if metric is None:
                    continue
                field = f"scores.{split}[{index}].{key}"
                if (split, entry.hf_subset, metric) in seen:
                    raise InputError(where, field, f"{split}/{entry.hf_subset} holds {metric} twice")
                seen.add((split, entry.hf_subset, metric))
                main = metric == (
                    mapped.main_metric if mapped else ("ndcg@10" if "@" in metric else "spearman")
                )
                scores.append(
                    PublishedScore(
                        model_id=model_id,
                        model_revision=revision,
                        measured_as=model_id,
                        source_task=task_name,
                        task=mapped.task if mapped else None,
                        dataset_revision=result.dataset_revision,
                        split=split,
                        subset=entry.hf_subset,
                        metric=metric,
                        source_metric=key,
                        value=_bounded(value, metric, where, field),
                        main=main,
                        same_data=status == SAME_DATA,
                        tool=tool,
                    )
                )
    if not scores:
        raise InputError(where, "scores", "holds no score this harness maps (ndcg_at_k, cosine_spearman ...)")
    return scores


def _model_from_folder(folder: str) -> str:
    return folder.replace("__", "/", 1)


def read_mteb_dir(directory: Path) -> list[SourceFile]:
    """Every result file of an MTEB results folder (``<model>/<revision>/<Task>.json``), checked.

    ``model_meta.json`` of a revision folder names the model (else the folder, ``org__name``); a
    revision it names must be the folder's. The meta files travel with the scores (a rebuild reads them).

    Raises:
        InputError: not a folder of that layout, or any file or field out of bounds (the first one).
    """
    shown = str(directory)
    if not directory.is_dir():
        raise InputError(shown, "(folder)", "not a folder in MTEB's results layout")
    sources: list[SourceFile] = []
    count = 0
    for model_dir in sorted(p for p in directory.iterdir() if p.is_dir() and not p.is_symlink()):
        for revision_dir in sorted(p for p in model_dir.iterdir() if p.is_dir() and not p.is_symlink()):
            files = sorted(p for p in revision_dir.iterdir() if p.suffix == ".json")
            count += len(files)
            if count > MAX_FILES:
                raise InputError(shown, "(folder)", f"holds more than {MAX_FILES:,} result files")
            base = f"{MTEB}/{model_dir.name}/{revision_dir.name}"
            model_id, revision, meta_source = _model_meta(model_dir, revision_dir, base)
            results = [p for p in files if p.name != "model_meta.json"]
            if not results:
                continue
            if meta_source is not None:
                sources.append(meta_source)
            for path in results:
                where = str(path)
                data = _read(path, where)
                result: MtebResult = _validated(MtebResult, parse_json(data, where), where)
                task_name = path.stem
                if not _matches(task_name, NAME):
                    raise InputError(where, "(file)", "the file name is not a plain MTEB task name")
                if result.task_name is not None and result.task_name != task_name:
                    raise InputError(
                        where, "task_name", f"{result.task_name!r} is not the file's task {task_name!r}"
                    )
                scores = mteb_scores(result, task_name, model_id, revision, where)
                sources.append(SourceFile(MTEB, f"{base}/{path.name}", data, tuple(scores)))
    if not any(source.scores for source in sources):
        raise InputError(shown, "(folder)", "holds no <model>/<revision>/<Task>.json result file")
    return sources


def _model_meta(model_dir: Path, revision_dir: Path, base: str) -> tuple[str, str, SourceFile | None]:
    folder_model = _model_from_folder(model_dir.name)
    meta_path = revision_dir / "model_meta.json"
    if not meta_path.is_file():
        if not _matches(folder_model, MODEL_ID) or not _matches(revision_dir.name, NAME):
            raise InputError(str(revision_dir), "(folder)", "model and revision folders must be plain names")
        return folder_model, revision_dir.name, None
    where = str(meta_path)
    data = _read(meta_path, where)
    meta: MtebModelMeta = _validated(MtebModelMeta, parse_json(data, where), where)
    revision = meta.revision or revision_dir.name
    if meta.revision is not None and meta.revision != revision_dir.name:
        raise InputError(where, "revision", f"{meta.revision!r} is not its folder's {revision_dir.name!r}")
    if not _matches(revision, NAME):
        raise InputError(where, "revision", "not a plain name")
    return meta.name, revision, SourceFile(MTEB, f"{base}/model_meta.json", data, ())


def _matches(text: str, pattern: str) -> bool:
    return re.fullmatch(pattern, text) is not None


# --- Pyserini 2CR --------------------------------------------------------------------------------


def read_pyserini_2cr(path: Path) -> SourceFile:
    """Pyserini's ``2cr/beir.yaml``: every condition x dataset, plus the CQADupStack mean per condition.

    Raises:
        InputError: the first file or field out of bounds.
    """
    where = str(path)
    data = _read(path, where)
    document: TwoCrFile = _validated(TwoCrFile, parse_yaml(data, where), where)
    scores: list[PublishedScore] = []
    seen: set[tuple[str, str]] = set()
    for c_index, condition in enumerate(document.conditions):
        measured_as = PYSERINI_MODELS.get(condition.name)
        forums: dict[str, dict[str, float]] = {}
        for d_index, entry in enumerate(condition.datasets):
            field = f"conditions[{c_index}].datasets[{d_index}]"
            if (condition.name, entry.dataset) in seen:
                raise InputError(
                    where, f"{field}.dataset", f"{entry.dataset} appears twice in {condition.name}"
                )
            seen.add((condition.name, entry.dataset))
            forum = (
                entry.dataset.removeprefix("cqadupstack-")
                if entry.dataset.startswith("cqadupstack-")
                else None
            )
            for key, value in entry.scores[0].items():
                metric = PYSERINI_METRICS.get(key)
                if metric is None:
                    continue
                number = _bounded(value, metric, where, f"{field}.scores[0].{key}")
                if forum is not None:
                    forums.setdefault(metric, {})[forum] = number
                scores.append(
                    _two_cr(
                        condition.name, measured_as, entry.dataset, forum or "default", metric, key, number
                    )
                )
        for metric, values in forums.items():
            if set(values) == set(CQADUPSTACK_FORUMS):  # the task's score: the mean of all 12 forums
                mean = math.fsum(values.values()) / len(values)
                key = f"mean of 12 forums' {REVERSE_2CR[metric]}"
                scores.append(
                    _two_cr(condition.name, measured_as, "cqadupstack", "default", metric, key, mean)
                )
    return SourceFile(
        PYSERINI,
        f"{PYSERINI}/{hashlib.sha256(data).hexdigest()[:12]}-{_safe_name(path.name)}",
        data,
        tuple(scores),
    )


def _two_cr(
    condition: str, measured_as: str | None, dataset: str, subset: str, metric: str, key: str, value: float
) -> PublishedScore:
    mapped = PYSERINI_TASKS.get(dataset)
    status, _ = data_status(mapped, PYSERINI_DATA)
    return PublishedScore(
        model_id=f"pyserini/{condition}",
        model_revision="",
        measured_as=measured_as,
        source_task=dataset,
        task=mapped.task if mapped else None,
        dataset_revision=PYSERINI_DATA,
        split="dev" if dataset == "msmarco" else "test",
        subset=subset,
        metric=metric,
        source_metric=key,
        value=value,
        main=metric == "ndcg@10",
        same_data=status == SAME_DATA,
        tool="pyserini 2cr",
    )


def _safe_name(name: str) -> str:
    cleaned = "".join(char if char.isascii() and (char.isalnum() or char in "._-") else "_" for char in name)
    return cleaned.strip(".")[:100] or "2cr.yaml"
