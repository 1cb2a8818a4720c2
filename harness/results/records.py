"""The records of a results file (schema version 2): pydantic models, strict, extra fields forbidden.

One ``ResultsFile`` per ``harness run``: who ran what (harness, model, environment, seed), where
it came from (``origin``) and who re-ran it (``verifications``), and one ``TaskResult`` per task,
split and model variant. A ``TaskResult`` holds what the suite defines, in slots every suite
shares:

- ``inputs``: what was evaluated: member files with sha256s, or a generator spec and seed for
  synthetic inputs, plus the counts the suite defines and whether they equal the data card;
- ``metrics``: the aggregate of each measure, full precision;
- ``per_item``: per-item values of the mean-aggregated measures, with the kind of item (query,
  pair, example, fold, seed, head, shape), for paired significance tests and the mean check;
- ``predictions``: what the model predicted per item where a suite has it (per-pair similarity
  for STS), so whole-set measures (Spearman, F1 ...) can be recomputed from the file;
- ``replicates``: the metrics of each seed or fold; ``metrics`` is their mean (checked here) and
  the spread is derived (``TaskResult.spread``), never stored;
- ``variant``: the model variant a result belongs to (layer and dimension of a Matryoshka sweep).

``origin`` and ``verifications`` are annotations: they say how the run reached this database and
who reproduced it, not what the run was, so the content digest leaves them out
(``results.files.ANNOTATIONS``) and a rebuild from files keeps them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.types import JSONValue

SCHEMA_VERSION = 2

REPLICATE_TOLERANCE = 1e-9
"""How far an aggregate may sit from the mean of its replicates: float summation noise only."""

SHA256 = r"^[0-9a-f]{64}$"
NAME = r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$"

ItemKind = Literal["query", "pair", "example", "fold", "seed", "head", "shape"]
Origin = Literal["local", "submission", "external"]
"""``local``: made by ``harness run`` of this project (a reference run); ``submission``: filed by
``harness submit`` from outside, whatever the file said before; ``external``: made by ``harness score``
from a run file another system ranked (Anserini, Vespa, a faiss script): the metrics were computed
here, the ranking was not, so it is never a reference run (a new value: every existing file stays
valid, schema version 2)."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (ISO 8601 with Z or an offset)")
    try:
        value.astimezone(UTC)  # the store keeps UTC: 9999-12-31T23:59-01:00 has none
    except OverflowError:
        raise ValueError("lies outside the years 1..9999 once converted to UTC") from None
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Sha256 = Annotated[str, Field(pattern=SHA256)]
Count = Annotated[int, Field(ge=0)]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=False)


class HarnessRecord(Record):
    version: str
    git_commit: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")
    git_dirty: bool | None = None


class ModelRecord(Record):
    id: str = Field(min_length=1, max_length=300)
    kind: Literal["dense", "sparse", "hybrid", "kernel", "circuit"]
    source: Literal["builtin", "package", "hub", "local", "external"]
    """``external``: the ranking came from a run file made elsewhere (``harness score``); the run's
    name and sha256 are in ``parameters``. Unlike ``origin`` this is part of the digest, so it
    survives ``submit``. A new value keeps schema version 2."""
    revision: str | None = Field(default=None, max_length=100)
    weights_sha256: str | None = Field(default=None, pattern=SHA256)
    n_parameters: int | None = Field(default=None, ge=0)
    parameters: dict[str, JSONValue] = Field(default_factory=dict)


class Hardware(Record):
    cpu: str
    logical_cpus: int = Field(ge=1)
    memory_gib: float = Field(ge=0)
    gpu: str | None = None
    cuda: str | None = None
    torch_threads: int | None = None


class Environment(Record):
    python: str
    platform: str
    packages: dict[str, str | None]
    hardware: Hardware


class Inputs(Record):
    """What was evaluated: files (sha256 per member, relative path) or a generator spec and seed.

    ``fingerprint`` is the sha256 of the sorted ``"path sha256"`` lines of ``files`` (so a zip and
    its unzipped folder give one value) or, for generated inputs, of the canonical generator spec
    and seed. ``counts`` are what the suite counts (queries, pairs, sentences ...). ``verified``
    says the fingerprint and counts equal the data card's.
    """

    id: str = Field(pattern=NAME)
    files: dict[str, Sha256] = Field(default_factory=dict)
    generator: dict[str, JSONValue] | None = None
    seed: int | None = None
    fingerprint: Sha256
    counts: dict[str, Count]
    verified: bool
    source: Literal["card", "user"] = Field(default="card", exclude_if=lambda value: value == "card")
    """``card``: a dataset this harness carries a data card for; ``user``: the user's own files
    (``harness run --datasets name=PATH``, ``harness.data.user``), fingerprinted on the spot, with no
    published card, so never ``verified`` and never rescored. A new optional field with a default keeps
    schema version 2: every existing file is valid and reads as ``card``; the default is left out of
    the dump, so the canonical bytes and digests of card data stay what they were."""

    @model_validator(mode="after")
    def _user_data_unverified(self) -> Inputs:
        if self.source == "user" and self.verified:
            raise ValueError("user data has no data card to be verified against: verified must be false")
        return self


class ItemValues(Record):
    """Per-item values of mean-aggregated measures: metric -> item id -> value, items of one kind."""

    kind: ItemKind
    values: dict[str, dict[str, float]] = Field(min_length=1)


class RunRef(Record):
    """A ranked run kept beside the results file (TREC format), named by the sha256 of its text.

    ``sha256`` is taken over the *uncompressed* TREC text (``zcat RUN | sha256sum``), so a gzip copy
    and a plain copy of one run are the same run; ``harness.results.runs`` writes and reads it.
    ``k``: the cut-off the run was truncated to; ``queries`` and ``hits``: how many queries and lines
    it holds. The run holds exactly what was scored (self-hits removed, cut at ``k``), so rescoring it
    gives the file's metrics.
    """

    sha256: Sha256
    format: Literal["trec"] = "trec"
    k: int = Field(ge=1)
    queries: Count
    hits: Count


class Predictions(Record):
    """The model's prediction for each item, in the order the task reads its items.

    ``similarity``: the cosine (or the model's similarity) of each scored pair, as STS tasks read
    their pairs; whole-set measures are computed from exactly these values.

    ``label``: the predicted class index (an integer, stored as a float) of each evaluation example,
    seed-major: with ``n`` examples, ``values[s * n + i]`` is example ``i``'s prediction under the
    task's ``s``-th seed (or mteb experiment); for a cross-validated task, the prediction of the
    model that held example ``i`` out under that seed. Class indices and example order are the
    task's (glue: ``harness/suites/glue/cards.py`` and ``data.py``), and the task recomputes each
    replicate's metrics from these labels and the local gold labels.

    ``score``: a circuit method's score of each attention head (``item_kind`` "head", layer-major),
    seed-major as ``label``: ``values[s * h + i]`` is head ``i``'s score under the ``s``-th seed of
    ``h`` heads. A method that also scores edges (``sae-codes``) appends a second block of the same
    length, its edge-variant head scores. The circuit suite (a new value, so no schema bump, as
    ``label`` was for glue) recomputes every replicate's metrics from these scores and its
    committed ground-truth files.

    ``run``: a retrieval task's ranked run (``harness run --save-run``, ``harness score``), too big
    for the JSON file: ``values`` is empty and ``run`` names the TREC file beside the results file by
    its sha256 (``RunRef``); ``submit`` rescores every metric from it and the local qrels. A new kind
    and an optional field left out of the dump when unset: every existing file stays valid and keeps
    its digest, so the schema version stays 2.
    """

    kind: Literal["similarity", "label", "score", "run"]
    item_kind: ItemKind
    values: list[float]
    run: RunRef | None = Field(default=None, exclude_if=lambda value: value is None)

    @model_validator(mode="after")
    def _values_or_run(self) -> Predictions:
        if self.kind == "run":
            if self.run is None or self.values:
                raise ValueError("a prediction of kind 'run' names its run and holds no values")
        elif self.run is not None:
            raise ValueError(f"only kind 'run' names a run, not {self.kind!r}")
        elif not self.values:
            raise ValueError(f"predictions of kind {self.kind!r} hold at least one value")
        return self


class Replicate(Record):
    """The metrics of one seed and/or fold of a task (probes, circuits); at least one of the two."""

    seed: int | None = None
    fold: int | None = None
    metrics: dict[str, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _named(self) -> Replicate:
        if self.seed is None and self.fold is None:
            raise ValueError("a replicate names its seed, its fold or both")
        return self


Variant = dict[str, int | str]
"""A model variant: names (``layer``, ``dim``) to a non-negative integer or a short non-empty string."""


def _check_variant(variant: dict[str, JSONValue]) -> dict[str, JSONValue]:
    """Checked here rather than by a union type, so an error names the variant, not a union branch."""
    for name, value in variant.items():
        if not 1 <= len(name) <= 50:
            raise ValueError(f"variant names are 1 to 50 characters, not {len(name)}")
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValueError(f"{name}: {value!r} is negative")
        elif isinstance(value, str):
            if not 1 <= len(value) <= 50:
                raise ValueError(f"{name}: a variant value is 1 to 50 characters, not {len(value)}")
        else:
            raise ValueError(f"{name}: {value!r} is neither a non-negative integer nor a name")
    return variant


def variant_key(variant: Variant) -> str:
    """``layer=4,dim=128`` (sorted by name); "" for the model as it is."""
    return ",".join(f"{name}={variant[name]}" for name in sorted(variant))


class TaskResult(Record):
    task: str = Field(pattern=NAME)
    task_version: int = Field(ge=1)
    split: str = Field(min_length=1, max_length=50)
    variant: Annotated[dict[str, JSONValue], AfterValidator(_check_variant)] = Field(default_factory=dict)
    inputs: Inputs
    settings: dict[str, JSONValue] = Field(default_factory=dict)
    main_metric: str
    metrics: dict[str, float] = Field(min_length=1)
    per_item: ItemValues | None = None
    predictions: Predictions | None = None
    replicates: list[Replicate] = Field(default_factory=list)
    timings_s: dict[str, Annotated[float, Field(ge=0)]]
    peak_rss_mib: float = Field(ge=0)
    sizes_bytes: dict[str, Count] = Field(default_factory=dict)
    """Sizes the suite measures, e.g. ``index``: the index searched (Lucene, bm25s matrix, embeddings)."""

    @model_validator(mode="after")
    def _consistent(self) -> TaskResult:
        if self.main_metric not in self.metrics:
            raise ValueError(f"main_metric {self.main_metric!r} is not among the metrics")
        if self.per_item is not None:
            extra = sorted(set(self.per_item.values) - set(self.metrics))
            if extra:
                raise ValueError(f"per_item has {extra[0]!r}, which is not among the metrics")
        if self.replicates:
            for name, value in self.metrics.items():
                values = [r.metrics.get(name) for r in self.replicates]
                if any(v is None for v in values):
                    raise ValueError(f"a replicate lacks {name!r}; every replicate has every metric")
                try:
                    mean = math.fsum(v for v in values if v is not None) / len(values)
                except OverflowError:
                    raise ValueError(f"the replicates of {name!r} are too large to average") from None
                if not abs(mean - value) <= REPLICATE_TOLERANCE:
                    raise ValueError(f"metrics.{name} is not the mean of its replicates ({mean!r})")
        return self

    def spread(self, name: str) -> float | None:
        """Sample standard deviation of a metric over the replicates (None with fewer than two)."""
        values = [r.metrics[name] for r in self.replicates if name in r.metrics]
        if len(values) < 2:
            return None
        mean = math.fsum(values) / len(values)
        return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))

    @property
    def key(self) -> tuple[str, str, str]:
        """(task, split, variant key): unique within a file."""
        return self.task, self.split, variant_key(self.variant)


class MetricCheck(Record):
    """One metric of one task result as ``harness verify`` graded it."""

    task: str
    split: str
    variant: str = ""
    metric: str
    claimed: float
    now: float | None
    grade: Literal["OK", "OKish", "FAIL"]


class Verification(Record):
    """One re-run of the file's model by ``harness verify``: when, with what, and the grades."""

    at: AwareDatetime
    harness: HarnessRecord
    hardware: Hardware
    reproduced: bool
    checks: list[MetricCheck] = Field(min_length=1)


class ResultsFile(Record):
    schema_version: Literal[2] = 2
    created_at: AwareDatetime
    harness: HarnessRecord
    model: ModelRecord
    environment: Environment
    seed: int
    suite: str = Field(pattern=NAME)
    origin: Origin = "local"
    verifications: list[Verification] = Field(default_factory=list)
    results: list[TaskResult] = Field(min_length=1)

    @field_validator("results")
    @classmethod
    def _tasks_unique(cls, results: list[TaskResult]) -> list[TaskResult]:
        seen: set[tuple[str, str, str]] = set()
        for result in results:
            if result.key in seen:
                task, split, variant = result.key
                raise ValueError(f"{task} ({split}{', ' + variant if variant else ''}) appears twice")
            seen.add(result.key)
        return results

    @property
    def reproduced(self) -> bool:
        """Whether some ``harness verify`` re-run reproduced every metric (grade OK)."""
        return any(v.reproduced for v in self.verifications)
