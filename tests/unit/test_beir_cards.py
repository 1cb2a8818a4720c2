"""Every BEIR card agrees with BEIR's own dataset table (``published/beir-datasets.tsv``), read here.

The TSV is the beir-cellar/beir README table as facts (MD5, URL, splits, evaluation queries, corpus
size); a card that drifts from it fails here. The default split of a run is each card's evaluation
split (MS MARCO: dev), and a copy whose judged-query count differs from the published one is named.
"""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import pytest

from harness.errors import SettingError
from harness.suites.beir import SUITE
from harness.suites.beir.cards import CARDS
from harness.suites.beir.data import load_beir


@pytest.fixture(scope="module")
def table(data_root: Path) -> dict[str, dict[str, str]]:
    with (data_root / "published" / "beir-datasets.tsv").open(newline="") as handle:
        return {row["beir_name"]: row for row in csv.DictReader(handle, delimiter="\t")}


def test_every_public_dataset_has_a_card_and_no_other(table: dict[str, dict[str, str]]) -> None:
    public = {name for name, row in table.items() if row["public"] == "yes"}
    assert len(public) == 15
    assert set(CARDS) == public
    assert {row["beir_name"] for row in table.values() if row["public"] == "no"} == {
        "bioasq",
        "signal1m",
        "trec-news",
        "robust04",
    }


@pytest.mark.parametrize("name", sorted(CARDS))
def test_the_card_holds_the_published_facts(name: str, table: dict[str, dict[str, str]]) -> None:
    row, card = table[name], CARDS[name]
    assert card.id == f"beir/{name}"
    assert card.archive_md5 == row["zip_md5"]
    assert card.url == row["zip_url"]
    assert card.published is not None
    assert card.published.eval_queries == int(row["eval_queries"])
    assert card.published.corpus == row["corpus"]
    splits = tuple(row["splits"].split(","))
    assert card.published.splits == splits
    assert tuple(card.splits) == splits
    assert card.published.eval_split == ("dev" if name == "msmarco" else "test")
    assert card.published.eval_split in splits
    # member checksums only where the bytes were checked end to end
    assert card.has_checksums == (name == "scifact")


def test_a_run_without_split_uses_each_cards_evaluation_split(tmp_path: Path, data_root: Path) -> None:
    assert SUITE.split_for("msmarco", None) == "dev"
    assert SUITE.split_for("msmarco", "train") == "train"
    assert SUITE.split_for("nq", None) == "test"
    # two datasets present (SciFact's files standing in for MS MARCO's layout): each gets its own split
    (tmp_path / "beir").mkdir()
    shutil.copyfile(data_root / "beir" / "scifact.zip", tmp_path / "beir" / "scifact.zip")
    with zipfile.ZipFile(data_root / "beir" / "scifact.zip") as archive:
        archive.extract("scifact/corpus.jsonl", tmp_path / "msmarco-src")
    shutil.move(tmp_path / "msmarco-src" / "scifact", tmp_path / "beir" / "msmarco")
    selection = SUITE.select(tmp_path, None, None)
    assert [(task.name, task.split) for task in selection.tasks] == [
        ("beir/scifact", "test"),
        ("beir/msmarco", "dev"),
    ]
    named = SUITE.select(tmp_path, ["msmarco"], None)
    assert [(task.name, task.split) for task in named.tasks] == [("beir/msmarco", "dev")]
    with pytest.raises(SettingError, match="beir/nq has no split 'dev'; it has train, test"):
        SUITE.task("nq", "dev")


def test_a_copy_with_other_query_counts_is_named(tmp_path: Path, data_root: Path) -> None:
    card = CARDS["scifact"]
    full = load_beir(card, data_root, "test")
    assert card.published_note("test", full.inputs.counts) == ""
    assert card.published_note("train", {"queries": 809}) == ""  # only the evaluation split is published

    with zipfile.ZipFile(data_root / "beir" / "scifact.zip") as archive:
        folder = tmp_path / "beir" / "scifact"
        for member in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
            (folder / member).parent.mkdir(parents=True, exist_ok=True)
            (folder / member).write_bytes(archive.read(f"scifact/{member}"))
    lines = (folder / "qrels" / "test.tsv").read_text().splitlines(keepends=True)
    (folder / "qrels" / "test.tsv").write_text("".join(lines[:-20]))  # a trimmed copy
    trimmed = load_beir(card, tmp_path, "test")
    assert not trimmed.inputs.verified
    note = card.published_note("test", trimmed.inputs.counts)
    queries = trimmed.inputs.counts["queries"]
    assert queries < 300
    assert note.startswith(f"{queries} judged queries in split 'test', but 300 are published")
