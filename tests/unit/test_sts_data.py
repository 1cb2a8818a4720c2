"""STS reading and verification (harness/suites/sts/cards.py, data.py) on the real data.

The eight datasets are read from ``shared/data/sts`` (MANIFEST.md §2) and must load ``verified``
with the published pair counts. Variants (a copied folder, an edited byte, malformed rows) are made
from the real files in ``tmp_path``, under the same relative layout.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from harness.data.cards import DatasetCard
from harness.errors import InputError, SettingError
from harness.suites.sts.cards import CARDS, LAYOUTS, SEMEVAL_SUBSETS, SPLIT
from harness.suites.sts.data import StsDataset, load_sts

PUBLISHED_PAIRS = {
    "sts12": 3108,
    "sts13": 1500,
    "sts14": 3750,
    "sts15": 3000,
    "sts16": 1186,
    "stsb": 1379,
    "sickr": 9927,
    "sickr-test": 4927,
}


@pytest.fixture(scope="module")
def loaded(data_root: Path) -> dict[str, StsDataset]:
    return {name: load_sts(card, data_root, SPLIT) for name, card in CARDS.items()}


def copy_dataset(card: DatasetCard, data_root: Path, root: Path) -> Path:
    """Copy the members of ``card`` to ``root`` under the same relative layout; returns the folder."""
    folder = card.locations[0]
    for member in card.splits[SPLIT].members:
        target = root / folder / member
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_root / folder / member, target)
        target.chmod(0o644)
    return root / folder


def raw_lines(path: Path) -> list[str]:
    """The lines of a real file, read independently of the reader (all of them end with ``\\n``)."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and "\r" not in text
    return text[:-1].split("\n")


def rewrite_line(path: Path, number: int, line: str) -> None:
    lines = raw_lines(path)
    lines[number - 1] = line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- the real data --------------------------------------------------------------------------------


def test_the_cards_are_the_eight_datasets() -> None:
    assert set(CARDS) == set(PUBLISHED_PAIRS)
    for name, card in CARDS.items():
        assert card.id == f"sts/{name}" and card.name == name
        assert list(card.splits) == [SPLIT]
        assert card.archive_md5 is None
        assert list(card.splits[SPLIT].members) == list(LAYOUTS[name].members)


@pytest.mark.parametrize("name", sorted(PUBLISHED_PAIRS))
def test_every_card_loads_verified_with_the_published_pair_count(
    loaded: dict[str, StsDataset], name: str
) -> None:
    data = loaded[name]
    card = CARDS[name]
    assert data.inputs.verified, card.mismatch(SPLIT, data.inputs.files, data.inputs.counts)
    assert data.inputs.counts == {"pairs": PUBLISHED_PAIRS[name], "sentences": len(data.sentences)}
    assert dict(card.splits[SPLIT].counts) == data.inputs.counts
    assert len(data) == len(data.left) == len(data.right) == len(data.pair_ids) == PUBLISHED_PAIRS[name]
    assert list(data.inputs.files) == list(card.splits[SPLIT].members)
    assert data.inputs.id == card.id


def test_semeval_members_are_the_subset_files_not_the_pooled_gold(loaded: dict[str, StsDataset]) -> None:
    sts12 = CARDS["sts12"].splits[SPLIT].members
    assert "STS.gs.ALL.txt" not in sts12
    assert len(sts12) == 2 * len(SEMEVAL_SUBSETS["sts12"])
    assert not any("SMT." in member for member in CARDS["sts13"].splits[SPLIT].members)
    assert "STS2016.input.headlines.txt" in CARDS["sts16"].splits[SPLIT].members
    subsets = [pair_id.rsplit(":", 1)[0] for pair_id in loaded["sts12"].pair_ids]
    assert list(dict.fromkeys(subsets)) == list(SEMEVAL_SUBSETS["sts12"])
    published = {"MSRpar": 750, "MSRvid": 750, "SMTeuroparl": 459, "surprise.OnWN": 750}
    published["surprise.SMTnews"] = 399
    assert {subset: subsets.count(subset) for subset in published} == published


def test_sickr_test_is_the_last_part_of_sickr(loaded: dict[str, StsDataset]) -> None:
    full, test = loaded["sickr"], loaded["sickr-test"]

    def pairs(data: StsDataset, start: int) -> list[tuple[str, str, str, float]]:
        return [
            (data.pair_ids[i], data.sentences[data.left[i]], data.sentences[data.right[i]], data.gold[i])
            for i in range(start, len(data))
        ]

    assert pairs(full, len(full) - len(test)) == pairs(test, 0)
    assert full.pair_ids[0] == "SICK_train:1" and test.pair_ids[0].startswith("SICK_test_annotated:")
    stems = list(dict.fromkeys(pair_id.split(":")[0] for pair_id in full.pair_ids))
    assert stems == ["SICK_train", "SICK_trial", "SICK_test_annotated"]


@pytest.mark.parametrize("name", sorted(PUBLISHED_PAIRS))
def test_pairs_match_the_text_of_the_files_in_reading_order(
    loaded: dict[str, StsDataset], data_root: Path, name: str
) -> None:
    """An independent plain reading of each file gives the same pairs, scores and ids, in order."""
    data = loaded[name]
    folder = data_root / CARDS[name].locations[0]
    layout = LAYOUTS[name]
    expected: list[tuple[str, str, str, float]] = []
    for part in layout.parts:
        if layout.format == "stsb":
            for number, line in enumerate(raw_lines(folder / part.files[0]), start=1):
                fields = line.split("\t")
                expected.append((f"{part.name}:{number}", fields[5], fields[6], float(fields[4])))
        elif layout.format == "sick":
            for line in raw_lines(folder / part.files[0]):
                pair_id, first, second, score, _ = line.split("\t")
                expected.append((f"{part.name}:{pair_id}", first, second, float(score)))
        else:
            inputs, gold = raw_lines(folder / part.files[0]), raw_lines(folder / part.files[1])
            for number, (line, score) in enumerate(zip(inputs, gold, strict=True), start=1):
                if score:
                    first, second = line.split("\t")[:2]
                    expected.append((f"{part.name}:{number}", first, second, float(score)))
    got = [
        (data.pair_ids[i], data.sentences[data.left[i]], data.sentences[data.right[i]], data.gold[i])
        for i in range(len(data))
    ]
    assert got == expected
    assert len(set(data.pair_ids)) == len(data.pair_ids)


@pytest.mark.parametrize("name", sorted(PUBLISHED_PAIRS))
def test_sentences_are_distinct_first_seen_and_all_used(loaded: dict[str, StsDataset], name: str) -> None:
    data = loaded[name]
    assert len(set(data.sentences)) == len(data.sentences)
    new = 0  # the index the next unseen sentence must get
    for left, right in zip(data.left, data.right, strict=True):
        for index in (left, right):
            assert index <= new, "sentences are numbered in first-seen order"
            new += index == new
    assert new == len(data.sentences)
    assert all(0.0 <= score <= 5.0 for score in data.gold)


def test_sentence_text_is_kept_as_in_the_file(loaded: dict[str, StsDataset]) -> None:
    """No stripping: deft-news sentences end with a space in the release, and keep it."""
    sts14 = loaded["sts14"]
    first = sts14.pair_ids.index("deft-news:1")
    assert sts14.sentences[sts14.left[first]] == "mexico wishes to guarantee citizens' safety. "


def test_stsb_unbalanced_quote_is_read_whole(loaded: dict[str, StsDataset], data_root: Path) -> None:
    """A real sts-test.csv sentence with one ``"``: a CSV reader would run on into the next lines."""
    path = data_root / "sts" / "stsbenchmark" / "sts-test.csv"
    lines = raw_lines(path)
    number, fields = next(
        (n, line.split("\t"))
        for n, line in enumerate(lines, start=1)
        if any(field.count('"') % 2 for field in line.split("\t")[5:7])
    )
    sentence = fields[5] if fields[5].count('"') % 2 else fields[6]
    data = loaded["stsb"]
    pair = data.pair_ids.index(f"sts-test:{number}")
    assert sentence in (data.sentences[data.left[pair]], data.sentences[data.right[pair]])
    assert len(data) == len(lines) == 1379
    # the pitfall itself: csv's default quoting swallows lines and loses pairs
    assert len(list(csv.reader(io.StringIO(path.read_text(encoding="utf-8")), delimiter="\t"))) < 1379


@pytest.mark.parametrize("name", ["sts15", "sts16"])
def test_unscored_pairs_are_skipped(loaded: dict[str, StsDataset], data_root: Path, name: str) -> None:
    data = loaded[name]
    folder = data_root / CARDS[name].locations[0]
    input_lines = scored = 0
    scored_ids: list[str] = []
    for part in LAYOUTS[name].parts:
        inputs, gold = raw_lines(folder / part.files[0]), raw_lines(folder / part.files[1])
        assert len(inputs) == len(gold)
        input_lines += len(inputs)
        scored += sum(1 for score in gold if score)
        scored_ids += [f"{part.name}:{n}" for n, score in enumerate(gold, start=1) if score]
    assert len(data) == scored == PUBLISHED_PAIRS[name] < input_lines
    assert list(data.pair_ids) == scored_ids


# --- copies and variants --------------------------------------------------------------------------


def test_a_copied_folder_loads_verified_and_an_edited_byte_unverified(
    data_root: Path, tmp_path: Path
) -> None:
    card = CARDS["sts12"]
    folder = copy_dataset(card, data_root, tmp_path)
    copy = load_sts(card, tmp_path, SPLIT)
    assert copy.inputs.verified
    assert copy.inputs.fingerprint == load_sts(card, data_root, SPLIT).inputs.fingerprint

    path = folder / "STS.input.MSRvid.txt"
    data = bytearray(path.read_bytes())
    position = data.index(b"A man")
    data[position + 2] = ord("M")  # "A Man": same counts, other bytes
    path.write_bytes(bytes(data))
    edited = load_sts(card, tmp_path, SPLIT)
    assert not edited.inputs.verified
    assert edited.inputs.counts == copy.inputs.counts
    assert edited.inputs.fingerprint != copy.inputs.fingerprint
    assert card.mismatch(SPLIT, edited.inputs.files, edited.inputs.counts) == (
        "the dataset fingerprint differs from the data card's"
    )


def test_a_zip_of_the_folder_loads_verified(data_root: Path, tmp_path: Path) -> None:
    card = CARDS["stsb"]
    folder = copy_dataset(card, data_root, tmp_path / "copy")
    archive = tmp_path / "data" / "sts" / "stsbenchmark.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(folder / "sts-test.csv", "stsbenchmark/sts-test.csv")
    data = load_sts(card, tmp_path / "data", SPLIT)
    assert data.inputs.verified and len(data) == 1379


def test_crlf_line_ends_give_the_same_pairs(
    loaded: dict[str, StsDataset], data_root: Path, tmp_path: Path
) -> None:
    card = CARDS["sickr-test"]
    folder = copy_dataset(card, data_root, tmp_path)
    path = folder / "SICK_test_annotated.txt"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    data = load_sts(card, tmp_path, SPLIT)
    reference = loaded["sickr-test"]
    assert not data.inputs.verified
    assert (data.sentences, data.left, data.right, data.gold, data.pair_ids) == (
        reference.sentences,
        reference.left,
        reference.right,
        reference.gold,
        reference.pair_ids,
    )


def test_unknown_split_is_a_setting_error(data_root: Path) -> None:
    with pytest.raises(SettingError, match="no split 'train'"):
        load_sts(CARDS["stsb"], data_root, "train")


# --- malformed inputs -----------------------------------------------------------------------------


def malformed(name: str, member: str, number: int, line: str, data_root: Path, tmp_path: Path) -> str:
    """The message of loading ``name`` with line ``number`` of ``member`` replaced by ``line``."""
    card = CARDS[name]
    rewrite_line(copy_dataset(card, data_root, tmp_path) / member, number, line)
    with pytest.raises(InputError) as raised:
        load_sts(card, tmp_path, SPLIT)
    return str(raised.value)


def test_stsb_row_with_six_fields(data_root: Path, tmp_path: Path) -> None:
    line = "main-captions\tMSRvid\t2012test\t0033\t3.600\tA group of men play soccer on the beach."
    message = malformed("stsb", "sts-test.csv", 2, line, data_root, tmp_path)
    assert message.startswith("sts/stsbenchmark/sts-test.csv: line 2: 6 tab-separated fields")


def test_stsb_score_that_is_not_a_number(data_root: Path, tmp_path: Path) -> None:
    line = "main-captions\tMSRvid\t2012test\t0033\tabc\tA group of men.\tA group of boys."
    message = malformed("stsb", "sts-test.csv", 2, line, data_root, tmp_path)
    assert message == "sts/stsbenchmark/sts-test.csv: line 2: score: not a number: 'abc'"


@pytest.mark.parametrize("score", ["7", "-0.5", "nan", "inf", "1e999", "1_0"])
def test_semeval_score_outside_the_range_or_not_finite(score: str, data_root: Path, tmp_path: Path) -> None:
    message = malformed("sts12", "STS.gs.MSRvid.txt", 5, score, data_root, tmp_path)
    assert message.startswith("sts/STS12-en-test/STS.gs.MSRvid.txt: line 5: score: ")


def test_gold_and_input_line_counts_must_agree(data_root: Path, tmp_path: Path) -> None:
    card = CARDS["sts13"]
    folder = copy_dataset(card, data_root, tmp_path)
    gold = folder / "STS.gs.headlines.txt"
    gold.write_text("\n".join(raw_lines(gold)[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_sts(card, tmp_path, SPLIT)
    assert str(raised.value).startswith(
        "sts/STS13-en-test/STS.gs.headlines.txt: line 750: 749 lines, but "
        "sts/STS13-en-test/STS.input.headlines.txt has 750"
    )


def test_semeval_input_row_with_one_field(data_root: Path, tmp_path: Path) -> None:
    message = malformed("sts14", "STS.input.images.txt", 3, "a sentence alone", data_root, tmp_path)
    assert message.startswith("sts/STS14-en-test/STS.input.images.txt: line 3: 1 tab-separated fields")


def test_sick_row_with_a_score_that_is_not_a_number(data_root: Path, tmp_path: Path) -> None:
    line = "24\tA person is doing tricks\tA person is riding\thigh\tNEUTRAL"
    message = malformed("sickr", "SICK_trial.txt", 2, line, data_root, tmp_path)
    assert message == "sts/SICK/SICK_trial.txt: line 2: relatedness_score: not a number: 'high'"


def test_sick_row_with_a_repeated_pair_id(data_root: Path, tmp_path: Path) -> None:
    line = "4\tA person is doing tricks\tA person is riding\t3.4\tNEUTRAL"
    message = malformed("sickr", "SICK_trial.txt", 2, line, data_root, tmp_path)
    assert message == "sts/SICK/SICK_trial.txt: line 2: pair_ID: 4 also on line 1"


def test_not_utf8_names_the_byte(data_root: Path, tmp_path: Path) -> None:
    card = CARDS["stsb"]
    path = copy_dataset(card, data_root, tmp_path) / "sts-test.csv"
    data = b"main\tx\t2012\t1\t1.0\tcaf\xe9\tcafe\n"
    path.write_bytes(data)
    byte = data.index(b"\xe9")
    with pytest.raises(InputError, match=rf"^sts/stsbenchmark/sts-test.csv: byte {byte}: not UTF-8$"):
        load_sts(card, tmp_path, SPLIT)
