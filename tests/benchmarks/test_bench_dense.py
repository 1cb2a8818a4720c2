"""Dense path speed: harness encoding vs bare sentence-transformers, and a cached rerun vs a cold run."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from ratios import median, record_ratio

from harness import runner
from harness.models.dense import SentenceTransformerEncoder, resolve
from harness.models.embedding_cache import EmbeddingCache
from harness.models.sparse import document_text
from harness.suites.beir import SUITE as BEIR
from harness.suites.beir.cards import SCIFACT
from harness.suites.beir.data import BeirDataset, load_beir
from harness.suites.beir.task import RetrievalTask

ENCODE_DOCS = 128  # SciFact abstracts, mostly at the 256-token limit: ~8 s per round on 2 CPUs
RUN_DOCS = 256

MEDIANS: dict[str, float | None] = {}


@pytest.fixture(scope="module")
def scifact(data_root: Path) -> BeirDataset:
    return load_beir(SCIFACT, data_root, "test")


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    model = SentenceTransformerEncoder(resolve("all-MiniLM-L6-v2"), max_seq_length=256)
    model.encode(["warm up the model once"])
    return model


@pytest.mark.benchmark(group="encode-128-scifact-docs")
def test_bare_sentence_transformers_encode(
    benchmark: Any, encoder: SentenceTransformerEncoder, scifact: BeirDataset
) -> None:
    texts = [document_text(doc) for doc in scifact.corpus[:ENCODE_DOCS]]
    vectors = benchmark.pedantic(
        lambda: encoder.model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True),
        rounds=5,
        warmup_rounds=1,
    )
    assert vectors.shape == (ENCODE_DOCS, 384)
    MEDIANS["bare"] = median(benchmark)


@pytest.mark.benchmark(group="encode-128-scifact-docs")
def test_harness_encode_corpus_cold_cache(
    benchmark: Any, encoder: SentenceTransformerEncoder, scifact: BeirDataset, tmp_path: Path
) -> None:
    """The harness path as a first run meets it: length-sorted chunks written to a fresh cache."""
    docs = scifact.corpus[:ENCODE_DOCS]
    fresh = (tmp_path / f"cache{i}" for i in itertools.count())

    def setup() -> tuple[tuple[object, ...], dict[str, object]]:
        encoder.cache = EmbeddingCache(next(fresh))
        return (), {}

    vectors = benchmark.pedantic(lambda: encoder.encode_corpus(docs), setup=setup, rounds=5, warmup_rounds=1)
    encoder.cache = None
    assert vectors.shape == (ENCODE_DOCS, 384)
    ours = median(benchmark)
    # throughput ratio = bare time / harness time
    name = "harness encode vs bare SentenceTransformer.encode (throughput)"
    record_ratio(benchmark, name, MEDIANS.get("bare"), ours, ">= 0.95", higher=True)


@dataclass(frozen=True)
class SubsetTask(RetrievalTask):
    """SciFact with the first RUN_DOCS documents, already in memory: the run, minus file reading."""

    subset: BeirDataset | None = None

    def load(self, data_root: Path) -> BeirDataset:
        assert self.subset is not None
        return self.subset


@pytest.fixture(scope="module")
def subset_task(scifact: BeirDataset) -> SubsetTask:
    subset = replace(scifact, corpus=scifact.corpus[:RUN_DOCS])
    return SubsetTask(SCIFACT, "test", subset=subset)


@pytest.mark.benchmark(group="run-256-docs-300-queries")
def test_cold_run(
    benchmark: Any,
    encoder: SentenceTransformerEncoder,
    subset_task: SubsetTask,
    data_root: Path,
    tmp_path: Path,
) -> None:
    fresh = (tmp_path / f"cold{i}" for i in itertools.count())

    def setup() -> tuple[tuple[object, ...], dict[str, object]]:
        encoder.cache = EmbeddingCache(next(fresh))
        return (), {}

    results = benchmark.pedantic(
        lambda: runner.run(encoder, BEIR, [subset_task], data_root), setup=setup, rounds=2
    )
    assert results.results[0].metrics["ndcg@10"] > 0
    assert results.results[0].inputs.counts["queries"] == 300
    MEDIANS["cold"] = median(benchmark)


@pytest.mark.benchmark(group="run-256-docs-300-queries")
def test_cached_rerun(
    benchmark: Any,
    encoder: SentenceTransformerEncoder,
    subset_task: SubsetTask,
    data_root: Path,
    tmp_path: Path,
) -> None:
    encoder.cache = EmbeddingCache(tmp_path / "warm")
    first = runner.run(encoder, BEIR, [subset_task], data_root)
    results = benchmark.pedantic(
        lambda: runner.run(encoder, BEIR, [subset_task], data_root), rounds=5, warmup_rounds=1
    )
    encoder.cache = None
    assert results.results[0].metrics == first.results[0].metrics  # the cache changes speed, never scores
    record_ratio(benchmark, "cached rerun vs cold run (speed-up)", MEDIANS.get("cold"), median(benchmark),
                 ">= 20", higher=True)  # fmt: skip
