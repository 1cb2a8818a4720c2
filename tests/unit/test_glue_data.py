"""The glue readers on the real data (counts = MANIFEST.md §3, sha256s = SHA256SUMS) and on broken copies."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from harness.data.cards import fingerprint
from harness.errors import InputError, SettingError
from harness.suites.glue.cards import CARDS, LAYOUTS
from harness.suites.glue.data import UNENCODED, GlueDataset, load_glue, mteb_rows
from harness.suites.glue.variants import MIN_CAP, CappedCard, Variant, parse

MANIFEST = {  # dataset: (train, eval) as MANIFEST.md §3 counts them (cross-validation: the pool twice)
    "sst2": (67349, 872),
    "sst5": (8544, 2210),
    "mrpc": (4076, 1725),
    "cola": (8551, 1043),
    "rte": (2490, 277),
    "trec": (5452, 500),
    "mr": (5331 + 5331, 5331 + 5331),
    "cr": (2407 + 1368, 2407 + 1368),
    "subj": (5000 + 5000, 5000 + 5000),
    "mpqa": (3312 + 7294, 3312 + 7294),
}
SHA256SUMS = Path(__file__).resolve().parents[3] / "shared" / "data" / "SHA256SUMS"


def load(name: str, root: Path) -> GlueDataset:
    return load_glue(parse(name), root)


@pytest.fixture(scope="module")
def loaded(data_root: Path) -> dict[str, GlueDataset]:
    return {name: load(name, data_root) for name in LAYOUTS}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_dataset_reads_with_the_published_counts_and_verifies(
    loaded: dict[str, GlueDataset], name: str
) -> None:
    data = loaded[name]
    train, evaluation = MANIFEST[name]
    assert (data.inputs.counts["train"], data.inputs.counts["eval"]) == (train, evaluation)
    assert (len(data.train), len(data.evaluation)) == (train, evaluation)
    assert data.inputs.counts["sentences"] == len(data.texts) == len(set(data.texts))
    assert data.inputs.counts["classes"] == len(data.classes)
    assert data.inputs.verified, CARDS[name].mismatch(
        LAYOUTS[name].split, data.inputs.files, data.inputs.counts
    )
    assert data.inputs.id == f"glue/{name}"


def test_member_sha256s_are_the_manifest_s(data_root: Path) -> None:
    sums = dict(reversed(line.split("  ", 1)) for line in SHA256SUMS.read_text().splitlines())
    for name, card in CARDS.items():
        if name == "cola":
            continue  # zip members: checked by the load above (verified) against the computed sums
        folder = LAYOUTS[name].folder
        for member, sha in card.splits[LAYOUTS[name].split].members.items():
            assert sums[f"{folder}/{member}"] == sha, (name, member)


def test_label_counts_are_the_manifest_s(loaded: dict[str, GlueDataset]) -> None:
    def named(data: GlueDataset, labels: tuple[int, ...]) -> dict[str, int]:
        return {data.classes[label]: count for label, count in Counter(labels).items()}

    assert named(loaded["sst2"], loaded["sst2"].evaluation.labels) == {"1": 444, "0": 428}
    assert named(loaded["mrpc"], loaded["mrpc"].train.labels) == {"1": 2753, "0": 1323}
    assert named(loaded["mrpc"], loaded["mrpc"].evaluation.labels) == {"1": 1147, "0": 578}
    assert named(loaded["cola"], loaded["cola"].evaluation.labels) == {"1": 719, "0": 324}
    assert named(loaded["rte"], loaded["rte"].evaluation.labels) == {"entailment": 146, "not_entailment": 131}
    assert named(loaded["cr"], loaded["cr"].train.labels) == {"positive": 2407, "negative": 1368}
    assert named(loaded["mpqa"], loaded["mpqa"].train.labels) == {"positive": 3312, "negative": 7294}
    assert named(loaded["subj"], loaded["subj"].train.labels) == {"objective": 5000, "subjective": 5000}
    assert set(named(loaded["trec"], loaded["trec"].train.labels)) == set(LAYOUTS["trec"].classes)


def test_text_is_kept_as_in_the_file(loaded: dict[str, GlueDataset]) -> None:
    sst2 = loaded["sst2"]
    assert sst2.texts[sst2.evaluation.first[0]] == "it 's a charming and often affecting journey . "
    trec = loaded["trec"]
    assert any(
        "sister\u00f0city" in text for text in trec.texts
    )  # ISO-8859-1 byte 0xF0, as SentEval reads it
    assert trec.texts[trec.train.first[0]] == "How did serfdom develop in and then leave Russia ?"
    assert "" in loaded["cr"].texts and "" in loaded["mpqa"].texts  # SentEval's empty lines are examples
    mrpc = loaded["mrpc"]
    assert not mrpc.texts[mrpc.train.first[0]].startswith("\ufeff")  # the byte-order mark is not text
    assert len(mrpc.train.second) == len(mrpc.train)


def test_cross_validated_sets_read_the_class_1_file_first(loaded: dict[str, GlueDataset]) -> None:
    mr = loaded["mr"]
    assert mr.train is mr.evaluation and mr.cross_validated
    assert mr.train.labels[:5331] == (1,) * 5331 and mr.train.labels[5331:] == (0,) * 5331


def test_cola_reads_alike_from_the_zip_and_from_its_folder(data_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "glue" / "CoLA"
    with zipfile.ZipFile(data_root / "glue" / "CoLA" / "cola_public.zip") as archive:
        archive.extractall(folder)
    zipped, unzipped = load("cola", data_root), load("cola", tmp_path)
    assert unzipped.inputs == zipped.inputs and unzipped.texts == zipped.texts


def test_a_cap_keeps_a_stratified_subsample_in_file_order(
    data_root: Path, loaded: dict[str, GlueDataset]
) -> None:
    capped = load("sst2-cap1000", data_root)
    full = loaded["sst2"]
    assert capped.inputs.counts["train"] == 1000 and capped.inputs.counts["eval"] == 872
    assert capped.inputs.verified and capped.inputs.fingerprint == full.inputs.fingerprint
    assert capped.evaluation.labels == full.evaluation.labels
    positive = sum(capped.train.labels)
    assert positive == round(1000 * 37569 / 67349)  # the class shares of the full training data
    texts = [capped.texts[i] for i in capped.train.first]
    full_texts = [full.texts[i] for i in full.train.first]
    positions = [full_texts.index(text) for text in texts[:20]]
    assert positions == sorted(positions)
    assert load("sst2-cap1000", data_root).texts == capped.texts  # a fixed subsample


def test_a_capped_card_bounds_the_texts_it_cannot_know(data_root: Path) -> None:
    data = load("mr-cap500", data_root)
    card = Variant("mr", cap=500).card()
    assert isinstance(card, CappedCard)
    assert data.inputs.counts == {"train": 500, "eval": 500, "sentences": 500, "classes": 2}
    assert data.inputs.verified
    assert card.mismatch("cv", data.inputs.files, {**data.inputs.counts, "sentences": 501})
    assert card.mismatch("cv", data.inputs.files, {**data.inputs.counts, "train": 499})
    assert card.mismatch("cv", {}, data.inputs.counts)


def test_mteb_on_a_set_without_a_split_holds_out_a_stratified_tenth(data_root: Path) -> None:
    data = load("mr-mteb", data_root)
    assert data.inputs.counts == {"train": 9595, "eval": 1067, "sentences": 1223, "classes": 2}
    assert data.inputs.verified and not data.cross_validated
    assert sorted(Counter(data.evaluation.labels).values()) == [533, 534]
    assert not set(data.train.first) & set(data.evaluation.first)


def test_mteb_encodes_only_the_training_texts_its_undersampling_reads(data_root: Path) -> None:
    data = load("sst2-mteb", data_root)
    encoded = [row for row, text in enumerate(data.train.first) if text != UNENCODED]
    assert encoded == sorted(mteb_rows(data.train.labels)) and len(encoded) == 160
    assert data.inputs.counts == {"train": 67349, "eval": 872, "sentences": 1032, "classes": 2}
    assert data.inputs.verified


@pytest.mark.parametrize(
    ("name", "setting", "words"),
    [
        ("sst2-cap50", "datasets", f"at least {MIN_CAP}"),
        ("mrpc-mteb", "datasets", "pair task"),
        ("rte-mteb-cap500", "datasets", "pair task"),
        ("sst2-cap2000-mteb", "datasets", "unknown glue dataset"),
        ("sst3", "datasets", "unknown glue dataset"),
        ("sst2-cap02000", "datasets", "unknown glue dataset"),
    ],
)
def test_malformed_names_are_refused(name: str, setting: str, words: str) -> None:
    with pytest.raises(SettingError) as raised:
        parse(name)
    assert raised.value.setting == setting and words in raised.value.message


@pytest.mark.parametrize("name", ["sst2", "sst2-mteb", "sst2-cap2000", "sst2-mteb-cap2000", "mr-mteb-cap100"])
def test_names_round_trip(name: str) -> None:
    assert parse(name).name == name


# --- malformed rows ------------------------------------------------------------------------------


def copy_of(data_root: Path, tmp_path: Path, name: str) -> Path:
    """A data root in ``tmp_path`` holding a writable copy of one dataset's folder."""
    folder = LAYOUTS[name].folder
    shutil.copytree(data_root / folder, tmp_path / folder)
    for path in (tmp_path / folder).rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    if name == "cola":
        with zipfile.ZipFile(tmp_path / folder / "cola_public.zip") as archive:
            archive.extractall(tmp_path / folder)
        (tmp_path / folder / "cola_public.zip").unlink()
    return tmp_path


def rte(
    premise: bytes = b'"p"', hypothesis: bytes = b'"h"', label: bytes = b'"entailment"', idx: bytes = b"0"
) -> bytes:
    return b'{"premise": %s, "hypothesis": %s, "label": %s, "idx": %s}' % (premise, hypothesis, label, idx)


def edit_line(path: Path, number: int, line: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = line
    path.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize(
    ("name", "member", "number", "line", "field"),
    [
        ("sst2", "sentiment-dev", 3, b"a fine film\t2", "line 3: label"),
        ("sst2", "sentiment-train", 7, b"no label here", "line 7"),
        ("sst2", "sentiment-dev", 5, b" \t1", "line 5: sentence"),
        ("sst5", "sentiment-test", 2, b"5 too good", "line 2: label"),
        ("sst5", "sentiment-train", 4, b"3", "line 4"),
        ("mrpc", "msr_paraphrase_test.txt", 9, b"1\t12x\t13\tone\ttwo", "line 9: id1"),
        ("mrpc", "msr_paraphrase_train.txt", 2, b"1\t12\t13\tone", "line 2"),
        ("cola", "cola_public/raw/out_of_domain_dev.tsv", 4, b"src\tyes\t\tA sentence.", "line 4: label"),
        ("rte", "val.jsonl", 6, rte(label=b'"maybe"'), "line 6: label"),
        ("rte", "train.jsonl", 3, b'{"premise": "p", "hypothesis": "h", "label": "entailment"}', "line 3"),
        ("rte", "train.jsonl", 8, b'{"premise": "p", "premise": "q", "hypothesis": "h"}', "line 8"),
        ("rte", "val.jsonl", 1, rte(hypothesis=b"7"), "line 1: hypothesis"),
        ("rte", "val.jsonl", 2, rte(idx=b'"2"'), "line 2: idx"),
        ("rte", "val.jsonl", 4, rte(idx=b"true"), "line 4: idx"),
        ("rte", "val.jsonl", 7, rte(premise=b'" "'), "line 7: premise"),
        ("trec", "TREC_10.label", 10, b"WHAT:other What is this ?", "line 10: label"),
        ("trec", "train_5500.label", 11, b"DESC:def", "line 11"),
        ("mr", "rt-polarity.neg", 12, b"a review\twith a tab", "line 12"),
        ("sst2", "sentiment-dev", 1, b"caf\xc3 \t1", "byte 3"),
    ],
)  # fmt: skip
def test_a_malformed_row_names_the_file_and_line(
    data_root: Path, tmp_path: Path, name: str, member: str, number: int, line: bytes, field: str
) -> None:
    root = copy_of(data_root, tmp_path, name)
    edit_line(root / LAYOUTS[name].folder / member, number, line)
    with pytest.raises(InputError) as raised:
        load(name, root)
    assert raised.value.where == f"{LAYOUTS[name].folder}/{member}"
    assert raised.value.field == field


def test_a_changed_file_loads_unverified(data_root: Path, tmp_path: Path) -> None:
    root = copy_of(data_root, tmp_path, "rte")
    path = root / "glue" / "RTE" / "val.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[0]["hypothesis"] += " Indeed."
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    data = load("rte", root)
    assert not data.inputs.verified
    assert data.inputs.fingerprint != fingerprint(CARDS["rte"].splits["val"].members)
