"""Lucene BM25 speed: the harness search path vs its hit-by-hit peer vs Pyserini called directly.

All three search the same index for the 300 SciFact test queries at k=1001: ``LuceneBm25.search``
(Lucene's BM25 scored in numpy from the index's statistics, ``lucene_impacts``),
``LuceneBm25.search_batch_search`` (Anserini's ``batch_search`` with 2 threads, two JNI reads per hit)
and ``pyserini.search.lucene.LuceneSearcher.batch_search`` as a user of Pyserini would call it. The runs
are equal (integration/test_lucene_bm25.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ratios import median, record_ratio

from harness.models.lucene import LuceneBm25
from harness.models.lucene_jvm import start_jvm
from harness.suites.beir.cards import SCIFACT
from harness.suites.beir.data import BeirDataset, load_beir

pytestmark = pytest.mark.lucene
MEDIANS: dict[str, float | None] = {}


@pytest.fixture(scope="module")
def flat(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[LuceneBm25, BeirDataset]:
    start_jvm()  # before any pyserini import: the JVM must start without jdk.incubator.vector
    data = load_beir(SCIFACT, data_root, "test")
    model = LuceneBm25("flat", tmp_path_factory.mktemp("lucene"), threads=2)
    model.index(data.corpus)
    return model, data


@pytest.mark.benchmark(group="lucene-scifact-300q-k1001")
def test_pyserini_batch_search_direct(benchmark: Any, flat: tuple[LuceneBm25, BeirDataset]) -> None:
    from pyserini.search.lucene import LuceneSearcher

    model, data = flat
    assert model.index_dir is not None
    searcher = LuceneSearcher(str(model.index_dir / "index"))
    searcher.set_bm25(0.9, 0.4)
    qids, texts = list(data.queries), list(data.queries.values())
    hits = benchmark.pedantic(
        lambda: searcher.batch_search(texts, qids, k=1001, threads=2), rounds=3, warmup_rounds=1
    )
    assert len(hits) == 300
    MEDIANS["pyserini"] = median(benchmark)


@pytest.mark.benchmark(group="lucene-scifact-300q-k1001")
def test_harness_lucene_search(benchmark: Any, flat: tuple[LuceneBm25, BeirDataset]) -> None:
    model, data = flat
    run = benchmark.pedantic(lambda: model.search(data.queries, 1001), rounds=3, warmup_rounds=1)
    assert len(run) == 300
    MEDIANS["harness"] = median(benchmark)
    record_ratio(benchmark, "harness BM25 search vs Pyserini batch_search (wall)", MEDIANS.get("pyserini"),
                 median(benchmark), "<= 0.10", higher=False)  # fmt: skip


@pytest.mark.benchmark(group="lucene-scifact-300q-k1001")
def test_harness_hit_by_hit_peer(benchmark: Any, flat: tuple[LuceneBm25, BeirDataset]) -> None:
    """Today's path before this change: Anserini's batch_search, read hit by hit over JNI."""
    model, data = flat
    run = benchmark.pedantic(lambda: model.search_batch_search(data.queries, 1001), rounds=3, warmup_rounds=1)
    assert len(run) == 300
    record_ratio(benchmark, "harness BM25 search vs its hit-by-hit batch_search peer (wall)",
                 median(benchmark), MEDIANS.get("harness"), "<= 0.033 (30x)", higher=False)  # fmt: skip
