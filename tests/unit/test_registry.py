"""The registry: model specs and suites to objects, and the one-line errors for names it does not know."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness import registry
from harness.data.cards import CARDS
from harness.errors import InputError
from harness.models.dense import DenseRetriever
from harness.models.fusion import FusionRetriever
from harness.models.protocols import ModelInfo, Retriever
from harness.models.sparse import Bm25s
from harness.types import Document


@pytest.fixture
def options(tmp_path: Path) -> registry.ModelOptions:
    return registry.ModelOptions(cache_dir=tmp_path / "cache")


def test_an_unknown_model_lists_the_builtins(options: registry.ModelOptions) -> None:
    with pytest.raises(InputError) as caught:
        registry.load_model("no-such-model-xyz", options)
    message = str(caught.value)
    assert caught.value.where == "--model"
    assert "'no-such-model-xyz'" in message
    for name in ("bm25-flat", "bm25-multifield", "bm25s", "all-MiniLM-L6-v2"):
        assert name in message
    assert set(registry.MODELS) == {"bm25-flat", "bm25-multifield", "bm25s", "all-MiniLM-L6-v2"}


def test_an_unknown_hub_id_offline_is_an_input_error(options: registry.ModelOptions) -> None:
    with pytest.raises(InputError) as caught:
        registry.load_model("no-such-org/no-such-model", options)
    assert caught.value.where == "--model"


@pytest.mark.parametrize("spec", ["rrf:bm25s", "rrf:bm25s+", "rrf:+bm25s", "rrf:bm25s+bm25s+bm25s", "rrf:"])
def test_a_malformed_fusion_is_an_input_error(spec: str, options: registry.ModelOptions) -> None:
    with pytest.raises(InputError) as caught:
        registry.load_model(spec, options)
    assert caught.value.where == "--model"
    assert "rrf:MODEL_A+MODEL_B" in str(caught.value)


def test_a_fusion_part_that_is_unknown_is_named(options: registry.ModelOptions) -> None:
    with pytest.raises(InputError, match="unknown model 'nope'"):
        registry.load_model("rrf:bm25s+nope", options)


def test_rrf_of_two_retrievers_is_a_hybrid_fusion_retriever(options: registry.ModelOptions) -> None:
    model = registry.load_model("rrf:bm25s+bm25s", options)
    assert isinstance(model, FusionRetriever)
    assert isinstance(model, Retriever)
    assert model.info.kind == "hybrid"
    assert model.info.id == "rrf:bm25s+bm25s"
    assert model.info.parameters["rrf_k"] == 60
    assert [part["id"] for part in model.info.parameters["parts"]] == ["bm25s", "bm25s"]
    first, second = model.parts
    assert isinstance(first, Bm25s)
    assert isinstance(second, Bm25s)
    assert first is not second
    model.index(
        [
            Document("d1", "cats purr and sleep"),
            Document("d2", "dogs bark at night"),
            Document("d3", "birds sing"),
        ]
    )
    run = model.search({"q": "dogs barking"}, k=2)
    assert next(iter(run["q"])) == "d2"
    assert run["q"]["d2"] == pytest.approx(2 / 61)  # first in both runs: 1/(60+1) twice


def test_builtin_names_and_spaces(options: registry.ModelOptions) -> None:
    model = registry.load_model("  bm25s ", options)
    assert isinstance(model, Bm25s)
    assert model.info.id == "bm25s"
    assert model.info.kind == registry.MODELS["bm25s"].kind == "sparse"


def test_an_encoder_becomes_a_dense_retriever() -> None:
    class Fixed:
        info = ModelInfo(id="fixed", kind="dense", source="local")

        def encode(self, texts):  # type: ignore[no-untyped-def]
            return np.ones((len(texts), 2), dtype=np.float32)

        encode_queries = encode

        def encode_corpus(self, docs):  # type: ignore[no-untyped-def]
            return np.ones((len(docs), 2), dtype=np.float32)

    retriever = registry.as_retriever(Fixed())
    assert isinstance(retriever, DenseRetriever)
    bm25 = Bm25s()
    assert registry.as_retriever(bm25) is bm25


# --- suites and datasets --------------------------------------------------------------------------


def test_an_unknown_suite_is_an_input_error(data_root: Path) -> None:
    with pytest.raises(InputError) as caught:
        registry.suite_tasks("nope", data_root, None, "test")
    assert caught.value.where == "--suite"
    assert "'nope'" in str(caught.value)
    assert "beir" in str(caught.value)


def test_an_unknown_dataset_is_an_input_error(data_root: Path) -> None:
    with pytest.raises(InputError) as caught:
        registry.suite_tasks("beir", data_root, ["scifact", "no-such-set"], "test")
    assert caught.value.where == "--datasets"
    assert "'no-such-set'" in str(caught.value)
    assert "scifact" in str(caught.value)


def test_default_datasets_are_those_present(data_root: Path) -> None:
    tasks, skipped = registry.suite_tasks("beir", data_root, None, "test")
    assert [task.name for task in tasks] == ["beir/scifact"]
    assert tasks[0].data_root == data_root
    assert tasks[0].split == "test"
    assert set(skipped) == set(CARDS) - {"beir/scifact"}
    assert len(skipped) == len(CARDS) - 1


def test_named_datasets_are_taken_as_given(data_root: Path) -> None:
    tasks, skipped = registry.suite_tasks("beir", data_root, ["nfcorpus", "scifact"], "test")
    assert [task.name for task in tasks] == ["beir/nfcorpus", "beir/scifact"]
    assert skipped == ()
    with pytest.raises(InputError, match="put nfcorpus.zip"):
        tasks[0].load()  # absent here: loading it says where to put it


def test_an_unknown_split_is_an_input_error(data_root: Path) -> None:
    with pytest.raises(InputError) as caught:
        registry.suite_tasks("beir", data_root, ["scifact"], "dev")
    assert caught.value.where == "--split"
    assert "test" in str(caught.value)
    assert "train" in str(caught.value)


def test_a_data_root_without_datasets_or_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no beir dataset found") as caught:
        registry.suite_tasks("beir", tmp_path, None, "test")
    assert caught.value.where == "--data-dir"
    with pytest.raises(InputError, match="not a folder") as caught:
        registry.suite_tasks("beir", tmp_path / "absent", None, "test")
    assert caught.value.where == "--data-dir"
