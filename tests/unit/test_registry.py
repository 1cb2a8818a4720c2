"""The registry: model specs and suites to objects, and the one-line errors for names it does not know."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness import registry, runner
from harness.errors import DataNotFound, SettingError
from harness.models.dense import DenseRetriever
from harness.models.fusion import FusionRetriever
from harness.models.options import ModelOptions
from harness.models.protocols import ModelInfo, Retriever
from harness.models.sparse import Bm25s
from harness.suites.base import CardSuite
from harness.suites.beir import SUITE as BEIR
from harness.suites.beir.cards import CARDS
from harness.suites.beir.task import RetrievalTask
from harness.suites.circuit import SUITE as CIRCUIT
from harness.suites.glue import SUITE as GLUE
from harness.suites.kernels import SUITE as KERNELS
from harness.suites.mteb import SUITE as MTEB
from harness.suites.sts import SUITE as STS
from harness.types import Document


@pytest.fixture
def options(tmp_path: Path) -> ModelOptions:
    return ModelOptions(cache_dir=tmp_path / "cache")


def test_an_unknown_model_lists_the_builtins(options: ModelOptions) -> None:
    with pytest.raises(SettingError) as caught:
        registry.load_model("no-such-model-xyz", options)
    message = caught.value.message
    assert caught.value.setting == "model"
    assert "'no-such-model-xyz'" in message
    for name in ("bm25-flat", "bm25-multifield", "bm25s", "all-MiniLM-L6-v2"):
        assert name in message
    assert set(registry.MODELS) == {
        "bm25-flat", "bm25-multifield", "bm25s", "all-MiniLM-L6-v2", "all-mpnet-base-v2", "m2v-minilm",
        "splade-pp-ed", "hyper", "lowrank", "pq", "lowrank-pq", "faiss-pq",
        "sae-codes", "activation-patching", "attribution-patching", "mean-diff",
    }  # fmt: skip


def test_an_unknown_hub_id_offline_is_a_setting_error(options: ModelOptions) -> None:
    with pytest.raises(SettingError) as caught:
        registry.load_model("no-such-org/no-such-model", options)
    assert caught.value.setting == "model"
    assert "no-such-org/no-such-model" in caught.value.message


@pytest.mark.parametrize("spec", ["rrf:bm25s", "rrf:bm25s+", "rrf:+bm25s", "rrf:bm25s+bm25s+bm25s", "rrf:"])
def test_a_malformed_fusion_is_a_setting_error(spec: str, options: ModelOptions) -> None:
    with pytest.raises(SettingError) as caught:
        registry.load_model(spec, options)
    assert caught.value.setting == "model"
    assert "rrf:MODEL_A+MODEL_B" in caught.value.message


def test_a_fusion_part_that_is_unknown_is_named(options: ModelOptions) -> None:
    with pytest.raises(SettingError, match="unknown model 'nope'") as caught:
        registry.load_model("rrf:bm25s+nope", options)
    assert caught.value.setting == "model"


def test_rrf_of_two_retrievers_is_a_hybrid_fusion_retriever(options: ModelOptions) -> None:
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


def test_builtin_names_and_spaces(options: ModelOptions) -> None:
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


def test_the_registered_suites() -> None:
    expected = {"beir": BEIR, "sts": STS, "glue": GLUE, "kernels": KERNELS, "circuit": CIRCUIT, "mteb": MTEB}
    assert dict(registry.SUITES) == expected
    for name, suite in registry.SUITES.items():
        assert suite.name == name
        assert registry.suite(name) is suite
    assert BEIR.datasets()[0] == "scifact"  # then BEIR's table order (tests/unit/test_beir_cards.py)
    assert len(BEIR.datasets()) == 15
    assert STS.datasets()[0] == "stsb"
    assert [rate.label for rate in BEIR.board.rates] == ["queries/s", "docs/s"]
    assert [size.label for size in BEIR.board.sizes] == ["index MiB"]
    assert [rate.label for rate in STS.board.rates] == ["sentences/s"]


def test_an_unknown_suite_is_a_setting_error() -> None:
    with pytest.raises(SettingError) as caught:
        registry.suite("nope")
    assert caught.value.setting == "suite"
    assert "'nope'" in caught.value.message
    assert "beir" in caught.value.message and "sts" in caught.value.message
    with pytest.raises(SettingError, match="known: beir$"):
        registry.suite("sts", {"beir": BEIR})  # the mapping given is the one searched


def test_task_of_names_the_suite_and_the_task() -> None:
    suite, task = registry.task_of("beir/scifact", "test")
    assert suite is BEIR
    assert task == RetrievalTask(CARDS["scifact"], "test")
    assert (task.name, task.split, task.version, task.main_metric) == ("beir/scifact", "test", 1, "ndcg@10")
    suite, task = registry.task_of("sts/stsb", "test")
    assert (suite, task.name) == (STS, "sts/stsb")
    for name, split, setting in [
        ("nope/scifact", "test", "suite"),
        ("beir/nope", "test", "datasets"),
        ("beir/scifact", "dev", "split"),
        ("beir", "test", "datasets"),
    ]:
        with pytest.raises(SettingError) as caught:
            registry.task_of(name, split)
        assert caught.value.setting == setting, name


def test_an_unknown_dataset_is_a_setting_error(data_root: Path) -> None:
    with pytest.raises(SettingError) as caught:
        BEIR.select(data_root, ["scifact", "no-such-set"], "test")
    assert caught.value.setting == "datasets"
    assert "'no-such-set'" in caught.value.message
    assert "scifact" in caught.value.message


def test_default_datasets_are_those_present(data_root: Path) -> None:
    selection = registry.suite("beir").select(data_root, None, "test")
    assert [task.name for task in selection.tasks] == ["beir/scifact"]
    (task,) = selection.tasks
    assert task.split == "test"
    assert task.load(data_root).inputs.verified  # the task reads the data root it is given
    assert set(selection.skipped) == {card.id for card in CARDS.values()} - {"beir/scifact"}
    assert len(selection.skipped) == len(CARDS) - 1
    default = BEIR.select(data_root, None, None)  # no split: the suite's default, "test"
    assert [(t.name, t.split) for t in default.tasks] == [("beir/scifact", "test")]


def present_root(data_root: Path, tmp_path: Path) -> Path:
    """A data root holding the real SciFact zip and a small nfcorpus folder (only its marker matters)."""
    root = tmp_path / "data"
    (root / "beir" / "nfcorpus").mkdir(parents=True)
    (root / "beir" / "scifact.zip").symlink_to(data_root / "beir" / "scifact.zip")
    (root / "beir" / "nfcorpus" / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n')
    return root


def test_named_datasets_are_taken_as_given(data_root: Path, tmp_path: Path) -> None:
    root = present_root(data_root, tmp_path)
    selection = BEIR.select(root, ["nfcorpus", "scifact"], "test")
    assert [task.name for task in selection.tasks] == ["beir/nfcorpus", "beir/scifact"]
    assert selection.skipped == ()
    every = BEIR.select(root, None, "test")  # by default: the suite's order
    assert [task.name for task in every.tasks] == ["beir/scifact", "beir/nfcorpus"]
    assert len(every.skipped) == len(CARDS) - 2


def test_a_named_dataset_that_is_absent_is_named_before_anything_loads(data_root: Path) -> None:
    with pytest.raises(DataNotFound) as caught:
        BEIR.select(data_root, ["scifact", "nfcorpus"], "test")
    assert caught.value.dataset == "beir/nfcorpus"
    assert "put it at beir/nfcorpus.zip" in str(caught.value)
    task = BEIR.task("nfcorpus", "test")  # the task itself is built; loading it says where to put it
    with pytest.raises(DataNotFound, match="put it at beir/nfcorpus.zip"):
        task.load(data_root)


def test_an_unknown_split_is_a_setting_error(data_root: Path) -> None:
    with pytest.raises(SettingError) as caught:
        BEIR.select(data_root, ["scifact"], "dev")
    assert caught.value.setting == "split"
    assert "test" in caught.value.message
    assert "train" in caught.value.message
    with pytest.raises(SettingError, match="no beir dataset present here has a split 'dev'") as caught:
        BEIR.select(data_root, None, "dev")
    assert caught.value.setting == "split"
    train = BEIR.select(data_root, None, "train")
    assert [(t.name, t.split) for t in train.tasks] == [("beir/scifact", "train")]


def test_a_data_root_without_datasets_or_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="no beir dataset found") as caught:
        BEIR.select(tmp_path, None, "test")
    assert caught.value.setting == "data_root"
    with pytest.raises(SettingError, match="not a folder") as caught:
        BEIR.select(tmp_path / "absent", None, "test")
    assert caught.value.setting == "data_root"
    with pytest.raises(SettingError, match="not a folder") as caught:
        BEIR.select(tmp_path / "absent", ["scifact"], "test")
    assert caught.value.setting == "data_root"


def test_a_suite_refuses_models_of_other_types(options: ModelOptions) -> None:
    bm25 = registry.load_model("bm25s", options)
    runner.check_compatible(bm25, BEIR)
    with pytest.raises(SettingError) as caught:
        runner.check_compatible(bm25, STS)
    assert caught.value.setting == "model"
    assert caught.value.message == "bm25s (sparse) cannot run the sts suite: it needs Encoder"


def test_a_card_suite_builds_one_task_per_card_and_split() -> None:
    tiny = CardSuite("tiny", "a test suite", (Retriever,), {"scifact": CARDS["scifact"]}, RetrievalTask)
    assert tiny.datasets() == ("scifact",)
    assert tiny.task("scifact", "train") == RetrievalTask(CARDS["scifact"], "train")
    with pytest.raises(SettingError, match="unknown tiny dataset 'nfcorpus'; known: scifact"):
        tiny.task("nfcorpus", "test")
