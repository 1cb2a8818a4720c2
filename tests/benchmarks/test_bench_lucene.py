"""Lucene BM25 speed: the harness search path vs the same Pyserini search called directly.

Both search the same index for the 300 SciFact test queries at k=1001 with 2 threads; the peer is
``pyserini.search.lucene.LuceneSearcher.batch_search`` as a user of Pyserini would call it.
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
    record_ratio(benchmark, "harness BM25 search vs Pyserini batch_search (wall)", MEDIANS.get("pyserini"),
                 median(benchmark), "<= 1.10", higher=False)  # fmt: skip
