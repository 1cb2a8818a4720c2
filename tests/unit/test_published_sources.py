"""Importers of published scores on the real files (MTEB's results, Pyserini's 2CR) and on hostile ones."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.published.sources import read_mteb_dir, read_pyserini_2cr
from harness.published.tasks import CQADUPSTACK_FORUMS, mteb_metric, to_mteb_metric

MINILM = "sentence-transformers__all-MiniLM-L6-v2"
MINILM_REV = "8b3219a92973c328a8e22fadcfa821b5dc75636a"
TWO_CR = (
    "conditions:\n  - name: bm25-flat\n    datasets:\n      - dataset: scifact\n"
    "        scores:\n          - nDCG@10: {value}\n"
)


@pytest.fixture
def published(data_root: Path) -> Path:
    return data_root / "published"


def by_key(sources: list) -> dict[tuple[str, str, str, str, str], float]:
    return {
        (s.model_id, s.source_task, s.split, s.subset, s.metric): s.value
        for src in sources
        for s in src.scores
    }


def test_real_mteb_files_keyed_on_task_revision_and_split(published: Path) -> None:
    sources = read_mteb_dir(published / "mteb-results")
    scores = [s for src in sources for s in src.scores]
    files = {src.relative for src in sources}
    assert len(files) == 18  # 14 + 2 result files, 2 model_meta.json (kept for rebuilds)
    values = by_key(sources)
    minilm = "sentence-transformers/all-MiniLM-L6-v2"
    assert values[(minilm, "SciFact", "test", "default", "ndcg@10")] == 0.64508
    assert (
        values[(minilm, "SciFact", "train", "default", "ndcg@10")] == 0.6602
    )  # the other split, its own key
    assert values[(minilm, "FiQA2018", "dev", "default", "ndcg@10")] == 0.38815
    assert values[(minilm, "STSBenchmark", "test", "default", "spearman")] == pytest.approx(
        0.8203247283076371
    )
    assert (
        values[("sentence-transformers/all-mpnet-base-v2", "SciFact", "test", "default", "ndcg@10")] == 0.6557
    )
    scifact = next(
        s for s in scores if s.source_task == "SciFact" and s.metric == "ndcg@10" and s.split == "test"
    )
    assert scifact.dataset_revision == "0228b52cf27578f30900b9e5271d331663a030d7"
    assert scifact.model_revision == MINILM_REV and scifact.task == "beir/scifact" and scifact.same_data
    assert scifact.tool == "mteb 1.12.75" and scifact.main
    nfcorpus = next(s for s in scores if s.source_task == "NFCorpus" and s.metric == "ndcg@10")
    assert nfcorpus.task == "beir/nfcorpus" and not nfcorpus.same_data  # revision not checked against a card
    # only mapped metrics: no nAUC, hit rate, euclidean or model-similarity correlations
    assert {s.metric.split("@")[0] for s in scores} <= {
        "ndcg",
        "map",
        "recall",
        "precision",
        "mrr",
        "spearman",
        "pearson",
    }
    assert all(
        s.source_metric != "spearman" for s in scores
    )  # MTEB's "spearman" is the model's own similarity


def test_the_same_task_name_on_another_dataset_build_is_not_our_card(published: Path, tmp_path: Path) -> None:
    """REFERENCES.md §1.2: SciFact 0.67393 on dataset revision 7d24eac… (another build) is never compared."""
    folder = tmp_path / "results" / MINILM / "1b0428f50604a3735ededcc40946238f31c488d2"
    folder.mkdir(parents=True)
    body = json.loads((published / "mteb-results" / MINILM / MINILM_REV / "SciFact.json").read_text())
    body["dataset_revision"] = "7d24eac886a6ae6653a6b67433e1c302cb0e9ac6"
    body["scores"] = {"test": [{**body["scores"]["test"][0], "ndcg_at_10": 0.67393, "main_score": 0.67393}]}
    (folder / "SciFact.json").write_text(json.dumps(body))
    (score,) = [s for src in read_mteb_dir(tmp_path / "results") for s in src.scores if s.metric == "ndcg@10"]
    assert score.value == 0.67393 and score.task == "beir/scifact" and not score.same_data


def test_real_2cr_yaml(published: Path) -> None:
    source = read_pyserini_2cr(published / "pyserini-2cr" / "beir.yaml")
    values = by_key([source])
    assert values[("pyserini/bm25-flat", "scifact", "test", "default", "ndcg@10")] == 0.6789
    assert values[("pyserini/bm25-flat", "scifact", "test", "default", "recall@100")] == 0.9253
    assert values[("pyserini/bm25-multifield", "scifact", "test", "default", "ndcg@10")] == 0.6647
    assert values[("pyserini/splade-pp-ed", "scifact", "test", "default", "ndcg@10")] == 0.7036
    forums = [
        values[("pyserini/bm25-flat", f"cqadupstack-{f}", "test", f, "ndcg@10")] for f in CQADUPSTACK_FORUMS
    ]
    assert forums[0] == 0.3801  # android, read from the file
    mean = values[("pyserini/bm25-flat", "cqadupstack", "test", "default", "ndcg@10")]
    assert mean == pytest.approx(math.fsum(forums) / 12) and mean == pytest.approx(0.30212, abs=1e-5)
    by_model = {s.model_id: s.measured_as for s in source.scores}
    assert by_model["pyserini/bm25-flat"] == "bm25-flat" and by_model["pyserini/contriever"] is None
    assert len({s.model_id for s in source.scores}) == 7
    assert all(s.dataset_revision == "beir-v1.0.0" for s in source.scores)


def test_metric_names_map_both_ways() -> None:
    assert mteb_metric("ndcg_at_10") == "ndcg@10" and to_mteb_metric("ndcg@10") == "ndcg_at_10"
    assert mteb_metric("cosine_spearman") == "spearman" and to_mteb_metric("spearman") == "cosine_spearman"
    assert mteb_metric("spearman") is None and mteb_metric("nauc_ndcg_at_10_max") is None
    assert mteb_metric("hit_rate_at_10") is None


# --- hostile files -------------------------------------------------------------------------------


@pytest.fixture
def layout(published: Path, tmp_path: Path) -> Path:
    """A copy of the MiniLM folder to spoil one file of."""
    root = tmp_path / "results"
    shutil.copytree(published / "mteb-results" / MINILM, root / MINILM)
    return root


def spoil(layout: Path, name: str, text: str) -> Path:
    path = layout / MINILM / MINILM_REV / name
    path.write_text(text)
    return path


def refusal(layout: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        read_mteb_dir(layout)
    return caught.value


def scifact(published: Path) -> dict:
    return json.loads((published / "mteb-results" / MINILM / MINILM_REV / "SciFact.json").read_text())


def test_bad_json_is_one_line_naming_the_file(layout: Path) -> None:
    path = spoil(layout, "SciFact.json", '{"dataset_revision": "x", "scores": ')
    error = refusal(layout)
    assert error.where == str(path) and error.field == "(file)" and "not valid JSON" in error.message
    assert "\n" not in str(error)


def test_missing_keys(layout: Path, published: Path) -> None:
    body = scifact(published)
    del body["dataset_revision"]
    spoil(layout, "SciFact.json", json.dumps(body))
    error = refusal(layout)
    assert error.field == "dataset_revision" and "required" in error.message.lower()
    body = scifact(published)
    del body["scores"]["test"][0]["main_score"]
    spoil(layout, "SciFact.json", json.dumps(body))
    assert refusal(layout).field == "scores.test[0].main_score"


@pytest.mark.parametrize(
    ("literal", "why"),
    [
        ("1e400", "finite"),
        ("NaN", "finite"),
        ("1" + "0" * 30, "digits"),
        ("5.0", "outside [0, 1]"),
        ("true", "not a number"),
    ],
)
def test_huge_or_wrong_numbers(layout: Path, published: Path, literal: str, why: str) -> None:
    text = json.dumps(scifact(published)).replace('"ndcg_at_10": 0.64508', f'"ndcg_at_10": {literal}')
    spoil(layout, "SciFact.json", text)
    error = refusal(layout)
    assert why in error.message and "ndcg_at_10" in error.field


@pytest.mark.parametrize(
    "name", ["[bold red]pwned[/]", "<script>alert(1)</script>", "org/name\u202eevil", "a\nb", "x" * 300]
)
def test_markup_or_control_in_the_model_name(layout: Path, name: str) -> None:
    meta = {"name": name, "revision": MINILM_REV}
    path = spoil(layout, "model_meta.json", json.dumps(meta))
    error = refusal(layout)
    assert error.where == str(path) and error.field == "name", str(error)
    assert "\n" not in str(error) and "\u202e" not in str(error)


def test_markup_in_task_and_subset_names(layout: Path, published: Path) -> None:
    body = scifact(published)
    body["scores"]["test"][0]["hf_subset"] = "<b>default</b>"
    spoil(layout, "SciFact.json", json.dumps(body))
    assert refusal(layout).field == "scores.test[0].hf_subset"
    spoil(layout, "SciFact.json", json.dumps(scifact(published)))
    (layout / MINILM / MINILM_REV / "SciFact.json").rename(layout / MINILM / MINILM_REV / "Sci Fact[x].json")
    assert "task" in refusal(layout).message or refusal(layout).field == "task_name"


def test_duplicate_key_and_revision_mismatch(layout: Path, published: Path) -> None:
    text = json.dumps(scifact(published))
    spoil(
        layout, "SciFact.json", text.replace('"dataset_revision"', '"mteb_version": "1", "mteb_version"', 1)
    )
    assert "appears twice" in refusal(layout).message
    spoil(layout, "SciFact.json", text)
    spoil(
        layout,
        "model_meta.json",
        json.dumps({"name": "sentence-transformers/all-MiniLM-L6-v2", "revision": "abc"}),
    )
    assert refusal(layout).field == "revision"


def test_a_fifo_is_refused_without_blocking(layout: Path) -> None:
    import os

    path = layout / MINILM / MINILM_REV / "SciFact.json"
    path.unlink()
    os.mkfifo(path)
    assert "FIFO" in refusal(layout).message


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("conditions: [", "not valid YAML"),
        ("a: &x [1, 2]\nb: *x\n", "aliases"),
        (
            TWO_CR.format(value=".inf"),
            "finite",
        ),
        (
            TWO_CR.format(value="7"),
            "outside",
        ),
        ("conditions:\n  - name: '[link](http://x)'\n    datasets: []\n", "conditions[0].name"),
        ("1: 2\n", "not text"),
        ("when: 2024-01-01\n", "date"),
        ("x: !!python/object:os.system {}\n", "not valid YAML"),
    ],
)
def test_hostile_2cr_yaml(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "beir.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_pyserini_2cr(path)
    assert why in str(caught.value) and str(caught.value).startswith(str(path))
