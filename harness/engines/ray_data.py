"""``--engine ray``: a corpus encoded by a Ray Data actor pool into Parquet shards, searched shard by shard.

How it runs (issue 14, part 3):

* **Encode.** The corpus is cut into the embedding cache's chunks (``EmbeddingCache.layout``: its
  chunk size, texts longest first, ``embedding_cache.chunk_order``); consecutive chunks make a
  shard, and each shard is one row of a Ray Dataset (its doc ids and prepared texts). ``map_batches``
  runs ``ChunkEncoder`` as an actor pool (``concurrency`` = the actors): each actor loads the model
  once (GPU actors take one GPU each; CPU actors get ``cpus // actors`` CPUs and as many torch
  threads) and encodes each chunk with the very call a plain run makes per chunk
  (``SentenceTransformerEncoder.encode_prepared``), so the vectors are the same bits. The actor
  writes the shard (``embedding_shards``) into the cache folder of the plain run's key: a later
  local run reads it as a cache hit, and shards already there are not encoded again.
* **Search.** Queries are encoded in this process (as a plain run does, through the cache). Each
  shard is scored by a Ray task against all queries and keeps its exact top ``k`` in trec_eval
  order; the lists are merged exactly (``engines.topk``), so the run equals the single-process
  ``DenseRetriever``'s (same float32 dot products, same order).
* **Provenance.** The model's identity (id, revision, weights) and the cache key are the plain
  model's; the parameters gain ``engine`` (``{"name": "ray", "actors": N, "actor_device": ...}``)
  and the timings ``index/ray_encode`` and ``search/ray_shards`` (sub-phases, ``timing``), so a
  reader sees how the run was made while equal embeddings stay one cache entry.

A multi-node cluster (``--ray-address``) needs the harness installed on every node and the cache
folder on a filesystem every node sees at the same path (the actors write the shards there).
Ray is imported lazily: without the ``[ray]`` extra, ``require_ray`` says how to install it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.engines.topk import TopK, id_ranks, merge_top_k, shard_top_k
from harness.errors import SettingError
from harness.models import embedding_shards
from harness.models.dense import SentenceTransformerEncoder
from harness.models.embedding_cache import EmbeddingCache, cache_key, chunk_order
from harness.models.options import ModelOptions
from harness.models.protocols import ModelInfo
from harness.models.sparse import document_text
from harness.timing import Timer
from harness.types import Document, FloatArray, Run

INSTALL_HINT = 'Ray is not installed: pip install -e ".[ray]"'
MAX_CHUNKS_PER_SHARD = 64
"""64 chunks of 256 texts: 16,384 vectors, 25 MB of float32 at 384 dimensions, per shard."""
SHARDS_PER_ACTOR = 4
IN_FLIGHT_PER_ACTOR = 2
"""Shard searches running at once per actor's worth of the cluster: the driver merges each result as
it comes (a running top-k is exact: the merge keeps the top of a total order), so its memory is two
top-k lists and the object store holds a few results, not one per shard."""
"""At least this many shards per actor when the corpus allows it, so that a slow actor is not the tail."""


def require_ray() -> None:
    """Raises ``SettingError`` (``engine``) in one line when Ray (with Ray Data) cannot be imported."""
    try:
        import ray.data  # noqa: F401  (the import is the check)
    except ImportError:
        raise SettingError("engine", INSTALL_HINT) from None


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide: ``address`` None starts a local cluster; ``actors`` None is one per GPU or CPU."""

    address: str | None = None
    actors: int | None = None


@dataclass(frozen=True)
class Cluster:
    """What the connected cluster offers (``ray.cluster_resources``)."""

    cpus: int
    gpus: int


@contextmanager
def session(settings: RaySettings) -> Iterator[Cluster]:
    """Connect to ``settings.address`` or start a local cluster; shut down only what was started here.

    A process that already holds a Ray connection (a test's cluster) is used as it is.
    """
    require_ray()
    import ray

    started = not ray.is_initialized()
    if started:
        try:
            ray.init(
                address=settings.address or "local",
                include_dashboard=False,
                log_to_driver=False,  # the actors' own progress bars and load reports
                logging_level=logging.WARNING,
            )
        except (ConnectionError, ValueError) as error:
            where = f"--ray-address {settings.address}" if settings.address else "a local cluster"
            raise SettingError("engine", f"could not start or join {where}: {error}") from None
    try:
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        yield Cluster(cpus=int(resources.get("CPU", 0)), gpus=int(resources.get("GPU", 0)))
    finally:
        if started:
            ray.shutdown()


@dataclass(frozen=True)
class Pool:
    """The actor pool an encode uses: how many actors, and what each holds."""

    actors: int
    cpus_per_actor: int
    gpus_per_actor: int

    @property
    def device(self) -> str:
        return "cuda" if self.gpus_per_actor else "cpu"


def plan_pool(cluster: Cluster, actors: int | None) -> Pool:
    """One actor per GPU where there are GPUs, else one per CPU; CPUs shared evenly among the actors."""
    if cluster.gpus:
        count = actors or cluster.gpus
        return Pool(count, max(1, cluster.cpus // count), 1)
    count = actors or max(1, cluster.cpus)
    return Pool(count, max(1, cluster.cpus // count), 0)


@dataclass(frozen=True)
class ShardResult:
    """What one actor call reports: the shard it wrote, its rows and the seconds its encode took."""

    first: int
    last: int
    rows: int
    seconds: float
    actor: str


@dataclass(frozen=True)
class EncodeReport:
    """The last encode: every shard written, by which actor, in how long (wall includes the pool start)."""

    shards: tuple[ShardResult, ...]
    wall_seconds: float

    def per_actor_docs_per_second(self) -> dict[str, float]:
        """Rows over encode seconds, per actor (model loading and Ray overhead excluded)."""
        rows: dict[str, int] = {}
        seconds: dict[str, float] = {}
        for shard in self.shards:
            rows[shard.actor] = rows.get(shard.actor, 0) + shard.rows
            seconds[shard.actor] = seconds.get(shard.actor, 0.0) + shard.seconds
        return {actor: rows[actor] / seconds[actor] for actor in rows if seconds[actor] > 0}


class ChunkEncoder:
    """A Ray Data actor: one model, loaded once, encoding shards of cache chunks and writing them.

    It rebuilds the model as the driver did (``registry.load_model`` with the same spec and
    options, on the actor's device) and refuses to run if the cache settings differ from the
    driver's: a shard filed under a key must hold that key's vectors.
    """

    def __init__(
        self, spec: str, options: ModelOptions, folder: str, expected: Mapping[str, object], threads: int
    ) -> None:
        import torch

        from harness import registry

        torch.set_num_threads(threads)
        model = registry.load_model(spec, options)
        if not isinstance(model, SentenceTransformerEncoder):
            raise RuntimeError(f"{spec} did not load as a sentence-transformers encoder on the actor")
        settings = model.cache_settings("document", model.role_prompt("document"))
        if settings != expected:
            raise RuntimeError(f"{spec} on the actor is not the driver's model: {settings} != {expected}")
        self.encoder = model
        self.folder = Path(folder)
        self.actor = f"{os.uname().nodename}:{os.getpid()}"

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        out: dict[str, list[Any]] = {"first": [], "last": [], "rows": [], "seconds": [], "actor": []}
        for first, last, sizes, ids, texts in zip(
            batch["first"], batch["last"], batch["sizes"], batch["ids"], batch["texts"], strict=True
        ):
            start = time.perf_counter()
            bounds = np.cumsum([0, *(int(size) for size in sizes)])
            ids_list = [str(doc) for doc in ids]
            text_list = [str(text) for text in texts]
            vectors = [
                self.encoder.encode_prepared("document", text_list[lo:hi])
                for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
            ]
            chunk_ids = [ids_list[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
            data = embedding_shards.encode_shard(range(int(first), int(last) + 1), chunk_ids, vectors)
            embedding_shards.write_shard(self.folder, int(first), int(last), data)
            out["first"].append(int(first))
            out["last"].append(int(last))
            out["rows"].append(len(text_list))
            out["seconds"].append(time.perf_counter() - start)
            out["actor"].append(self.actor)
        return {name: np.asarray(values) for name, values in out.items()}


def _search_shard(
    path: str,
    sha256: str,
    ids: list[str],
    positions: np.ndarray,
    ranks: np.ndarray,
    queries: FloatArray,
    depth: int,
) -> TopK:
    """One shard's exact top ``depth`` per query (a Ray task); its ids must be the ones expected."""
    data = embedding_shards.read_shard(Path(path), sha256)
    if data is None or data.ids != ids:
        raise RuntimeError(
            f"{path}: the shard changed or does not hold the corpus's ids; delete it and re-run"
        )
    return shard_top_k(queries, data.vectors, positions, ranks, depth)


def _groups(missing: Sequence[int], per_shard: int) -> list[tuple[int, int]]:
    """Runs of consecutive missing chunks, cut to at most ``per_shard`` chunks: the shards to write."""
    groups: list[tuple[int, int]] = []
    for chunk in missing:
        if groups and groups[-1][1] == chunk - 1 and chunk - groups[-1][0] < per_shard:
            groups[-1] = (groups[-1][0], chunk)
        else:
            groups.append((chunk, chunk))
    return groups


class RayDenseRetriever:
    """A sentence-transformers encoder's exact dense retrieval, run on a Ray cluster (module doc)."""

    def __init__(
        self,
        spec: str,
        options: ModelOptions,
        encoder: SentenceTransformerEncoder,
        pool: Pool,
        show_progress: bool,
    ) -> None:
        if encoder.cache is None:
            raise SettingError("engine", f"{encoder.info.id} has no embedding cache for the Ray shards")
        self.spec = spec
        self.options = options
        self.encoder = encoder
        self.cache: EmbeddingCache = encoder.cache
        self.pool = pool
        self.show_progress = show_progress
        engine: dict[str, Any] = {"name": "ray", "actors": pool.actors, "actor_device": pool.device}
        self.info = replace(encoder.info, parameters={**encoder.info.parameters, "engine": engine})
        self.last_encode: EncodeReport | None = None
        self._reused = 0
        self._timer: Timer | None = None
        self._ids: list[str] = []
        self._ranks = np.zeros(0, dtype=np.int64)
        self._shards: list[tuple[embedding_shards.ShardFile, np.ndarray]] = []

    def time_stages(self, timer: Timer) -> None:
        self._timer = timer

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        if self._timer is None:
            yield
            return
        with self._timer(name):
            yield

    def reused_items(self) -> int:
        return self.encoder.reused_items() + self._reused

    def index_bytes(self) -> int:
        """The float32 vectors searched, as ``DenseRetriever`` counts its matrix (not the Parquet bytes)."""
        return len(self._ids) * self.encoder.dimension * 4 if self._shards else 0

    def index(self, docs: Sequence[Document]) -> None:
        """Encode the chunks no trusted shard holds yet, through the actor pool; then list the shards."""
        ids = [doc.id for doc in docs]
        texts = [document_text(doc) for doc in docs]
        settings = self.encoder.cache_settings("document", self.encoder.role_prompt("document"))
        folder, chunk_rows = self.cache.layout(cache_key(settings, ids, texts), len(texts), settings)
        order = chunk_order(texts)
        chunks = [order[start : start + chunk_rows] for start in range(0, len(texts), chunk_rows)]
        held = {chunk for shard in embedding_shards.scan(folder) for chunk in shard.chunks}
        missing = [index for index in range(len(chunks)) if index not in held]
        self._reused += sum(len(chunks[index]) for index in held if index < len(chunks))
        if missing:
            with self._stage("index/ray_encode"):
                self.last_encode = self._encode(folder, settings, chunks, missing, ids, texts)
        self._ids = ids
        self._ranks = id_ranks(ids)
        shards = [shard for shard in embedding_shards.scan(folder) if shard.last < len(chunks)]
        covered = sorted(chunk for shard in shards for chunk in shard.chunks)
        if covered != list(range(len(chunks))):
            raise RuntimeError(f"{folder}: the shards do not cover the corpus after the encode")
        self._shards = [(shard, np.concatenate([chunks[c] for c in shard.chunks])) for shard in shards]

    def _encode(
        self,
        folder: Path,
        settings: Mapping[str, object],
        chunks: Sequence[np.ndarray],
        missing: Sequence[int],
        ids: Sequence[str],
        texts: Sequence[str],
    ) -> EncodeReport:
        import ray

        start = time.perf_counter()
        per_shard = max(
            1, min(MAX_CHUNKS_PER_SHARD, math.ceil(len(missing) / (self.pool.actors * SHARDS_PER_ACTOR)))
        )
        rows = []
        for first, last in _groups(missing, per_shard):
            members = np.concatenate([chunks[c] for c in range(first, last + 1)])
            rows.append(
                {
                    "first": first,
                    "last": last,
                    "sizes": [len(chunks[c]) for c in range(first, last + 1)],
                    "ids": [ids[i] for i in members],
                    "texts": [texts[i] for i in members],
                }
            )
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = context.print_on_execution_start = self.show_progress
        actor_options = replace(self.options, device=self.pool.device, show_progress=False)
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            ChunkEncoder,
            batch_size=1,
            batch_format="numpy",
            concurrency=self.pool.actors,
            num_cpus=self.pool.cpus_per_actor,
            num_gpus=self.pool.gpus_per_actor,
            fn_constructor_kwargs={
                "spec": self.spec,
                "options": actor_options,
                "folder": str(folder),
                "expected": dict(settings),
                "threads": self.pool.cpus_per_actor,
            },
        )
        reports = [
            ShardResult(int(r["first"]), int(r["last"]), int(r["rows"]), float(r["seconds"]), str(r["actor"]))
            for r in dataset.take_all()
        ]
        return EncodeReport(tuple(reports), time.perf_counter() - start)

    def search(self, queries: Mapping[str, str], k: int) -> Run:
        """Queries encoded here, each shard's top ``k`` found by a Ray task, the lists merged exactly."""
        import ray

        qids = list(queries)
        vectors = self.encoder.encode_queries([queries[q] for q in qids])
        if not self._shards:
            return {qid: {} for qid in qids}
        with self._stage("search/ray_shards"):
            search = ray.remote(_search_shard)
            shared = ray.put(np.ascontiguousarray(vectors, dtype=np.float32))
            waiting = list(self._shards)
            running: list[Any] = []
            merged: TopK | None = None
            while waiting or running:
                while waiting and len(running) < IN_FLIGHT_PER_ACTOR * self.pool.actors:
                    shard, positions = waiting.pop(0)
                    ids = [self._ids[i] for i in positions]
                    ranks = self._ranks[positions]
                    running.append(
                        search.remote(str(shard.path), shard.sha256, ids, positions, ranks, shared, k)
                    )
                done, running = ray.wait(running, num_returns=1)
                part: TopK = ray.get(done[0])
                merged = part if merged is None else merge_top_k([merged, part], self._ranks, k)
            assert merged is not None
        return {
            qid: {
                self._ids[i]: float(s) for i, s in zip(merged.positions[row], merged.scores[row], strict=True)
            }
            for row, qid in enumerate(qids)
        }


def wrap(
    model: object, spec: str, options: ModelOptions, cluster: Cluster, settings: RaySettings
) -> RayDenseRetriever:
    """``model`` run on the cluster, or ``SettingError`` (``engine``) for a model the engine cannot run."""
    if not isinstance(model, SentenceTransformerEncoder):
        info = getattr(model, "info", None)
        name = info.id if isinstance(info, ModelInfo) else spec
        raise SettingError("engine", f"ray runs sentence-transformers encoders; {name} is not one")
    if settings.actors is not None and settings.actors < 1:
        raise SettingError("engine", "--ray-actors must be at least 1")
    return RayDenseRetriever(spec, options, model, plan_pool(cluster, settings.actors), options.show_progress)
