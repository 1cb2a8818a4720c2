"""BEIR reading and verification (suites/beir/data.py and cards.py, data/cards.py, data/files.py) and fetch.

SciFact is read from the real data (MANIFEST.md: 5,183 docs, 300 test queries, 339 test qrels).
Variants (unzipped, corrupted, malformed) are made from it, or by hand, in ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from harness.cli import FLAGS
from harness.data.cards import DatasetCard, SplitCard, fingerprint
from harness.data.fetch import fetch
from harness.data.files import check_data_root, is_present, locate
from harness.errors import DataNotFound, HarnessError, InputError, SettingError
from harness.suites.beir.cards import CARDS, SCIFACT, beir_card
from harness.suites.beir.data import BeirDataset, load_beir, read_corpus, read_qrels, read_queries

TEST_MEMBERS = ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")


@pytest.fixture(scope="module")
def scifact(data_root: Path) -> BeirDataset:
    return load_beir(SCIFACT, data_root, "test")


@pytest.fixture
def unzipped_root(data_root: Path, tmp_path: Path) -> Path:
    """A data root holding SciFact as a folder (``beir/scifact/``), extracted from the real zip."""
    root = tmp_path / "data"
    with zipfile.ZipFile(data_root / "beir" / "scifact.zip") as archive:
        archive.extractall(root / "beir")
    assert not (root / "beir" / "scifact.zip").exists()
    return root


def write_tiny(folder: Path, corpus: str | None = None, qrels: str | None = None) -> None:
    """A three-document BEIR dataset by hand."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    docs = [{"_id": "d1", "title": "T1", "text": "one"}, {"_id": "d2", "title": "", "text": "two"}]
    docs.append({"_id": "d3", "text": "three"})
    (folder / "corpus.jsonl").write_text(
        corpus if corpus is not None else "".join(json.dumps(doc) + "\n" for doc in docs)
    )
    queries = [{"_id": "q1", "text": "first"}, {"_id": "q2", "text": "second"}, {"_id": "q9", "text": "x"}]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text(
        qrels if qrels is not None else "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td3\t2\n"
    )


def zip_folder(folder: Path, target: Path, prefix: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def tiny_card(name: str = "tiny", url: str | None = None, archive_md5: str | None = None) -> DatasetCard:
    """A card built directly: no member hashes, so what it loads is unverified."""
    return DatasetCard(
        id=f"beir/{name}",
        name=name,
        locations=(f"beir/{name}.zip", f"beir/{name}", f"{name}.zip", name),
        marker="corpus.jsonl",
        licence="test",
        url=url or f"https://example.org/{name}.zip",
        archive_md5=archive_md5,
    )


# --- the real SciFact -----------------------------------------------------------------------------


def test_scifact_test_split_counts_and_verification(scifact: BeirDataset) -> None:
    assert len(scifact.corpus) == 5183
    assert len(scifact.queries) == 300
    assert sum(len(docs) for docs in scifact.qrels.values()) == 339
    assert set(scifact.queries) == set(scifact.qrels)
    inputs = scifact.inputs
    assert inputs.id == "beir/scifact"
    assert inputs.counts == {"corpus": 5183, "queries": 300, "qrels": 339}
    assert inputs.verified is True
    assert inputs.files == {name: SCIFACT.splits["test"].members[name] for name in TEST_MEMBERS}
    assert inputs.files == dict(SCIFACT.splits["test"].members)
    assert inputs.fingerprint == fingerprint(inputs.files)
    assert (inputs.generator, inputs.seed) == (None, None)  # read from files, not generated
    assert len({doc.id for doc in scifact.corpus}) == 5183


def test_scifact_train_split_is_verified_against_its_own_card(data_root: Path, scifact: BeirDataset) -> None:
    train = load_beir(SCIFACT, data_root, "train")
    assert train.inputs.verified is True
    assert train.inputs.counts == {"corpus": 5183, "queries": 809, "qrels": 919}
    assert train.inputs.files == dict(SCIFACT.splits["train"].members)
    assert set(train.queries) == set(train.qrels)
    assert not set(train.queries) & set(scifact.queries)  # BEIR train = SciFact train, test = SciFact dev
    assert train.inputs.fingerprint != scifact.inputs.fingerprint


def test_fingerprint_is_the_sha256_of_sorted_path_lines() -> None:
    files = {"queries.jsonl": "b" * 64, "corpus.jsonl": "a" * 64}
    lines = f"corpus.jsonl {'a' * 64}\nqueries.jsonl {'b' * 64}\n"
    assert fingerprint(files) == hashlib.sha256(lines.encode()).hexdigest()
    assert fingerprint(dict(reversed(files.items()))) == fingerprint(files)
    assert fingerprint({**files, "queries.jsonl": "c" * 64}) != fingerprint(files)


def test_zip_and_unzipped_folder_give_the_same_inputs_and_data(
    scifact: BeirDataset, unzipped_root: Path
) -> None:
    source = locate(SCIFACT, unzipped_root)
    assert not source.is_zip
    assert source.display == "beir/scifact"
    unzipped = load_beir(SCIFACT, unzipped_root, "test")
    assert unzipped.inputs == scifact.inputs
    assert unzipped.corpus == scifact.corpus
    assert unzipped.queries == scifact.queries
    assert unzipped.qrels == scifact.qrels


def test_a_corrupted_copy_loads_unverified(scifact: BeirDataset, unzipped_root: Path) -> None:
    corpus = unzipped_root / "beir" / "scifact" / "corpus.jsonl"
    data = bytearray(corpus.read_bytes())
    at = data.index(b'"text": "') + len(b'"text": "') + 3  # a letter inside the first abstract
    data[at] = ord("Z") if data[at] != ord("Z") else ord("Y")
    corpus.write_bytes(bytes(data))
    damaged = load_beir(SCIFACT, unzipped_root, "test")
    assert damaged.inputs.verified is False
    assert damaged.inputs.counts == scifact.inputs.counts
    members = SCIFACT.splits["test"].members
    assert damaged.inputs.files["corpus.jsonl"] != members["corpus.jsonl"]
    assert damaged.inputs.files["queries.jsonl"] == members["queries.jsonl"]
    assert damaged.inputs.fingerprint != scifact.inputs.fingerprint
    assert SCIFACT.mismatch("test", damaged.inputs.files, damaged.inputs.counts) == (
        "the dataset fingerprint differs from the data card's"
    )


def test_a_card_without_member_hashes_loads_unverified(tmp_path: Path) -> None:
    write_tiny(tmp_path / "beir" / "tiny")
    data = load_beir(tiny_card(), tmp_path, "test")
    assert data.inputs.verified is False
    assert data.inputs.counts == {"corpus": 3, "queries": 2, "qrels": 3}
    # queries are those judged in the split; grade 0 kept as given (GenericDataLoader)
    assert data.queries == {"q1": "first", "q2": "second"}
    assert data.qrels == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}
    assert [doc.title for doc in data.corpus] == ["T1", "", ""]


# --- locating -------------------------------------------------------------------------------------


def test_missing_dataset_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(DataNotFound) as caught:
        load_beir(SCIFACT, tmp_path, "test")
    message = str(caught.value)
    assert caught.value.dataset == "beir/scifact"
    assert message.startswith("beir/scifact: ")
    assert f"not found under {tmp_path}" in message
    assert "put it at beir/scifact.zip there" in message
    assert SCIFACT.url in message
    assert "harness fetch beir/scifact" in message
    assert "\n" not in message
    assert not is_present(SCIFACT, tmp_path)


def test_a_dataset_without_a_published_archive_is_not_offered_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(DataNotFound) as caught:
        locate(tiny_card(), tmp_path)
    message = str(caught.value)
    assert "put it at beir/tiny.zip there (from https://example.org/tiny.zip)" in message
    assert "harness fetch" not in message


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_data_root_that_is_not_a_folder_names_data_dir(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "nowhere"
    if kind == "file":
        root.write_text("not a folder")
    for call in (
        lambda: locate(SCIFACT, root),
        lambda: check_data_root(root),
        lambda: is_present(SCIFACT, root),
    ):
        with pytest.raises(SettingError) as caught:
            call()
        assert caught.value.setting == "data_root"
        assert FLAGS[caught.value.setting] == "--data-dir"  # as the CLI reports it
        assert caught.value.message == f"{root} is not a folder (set --data-dir or HARNESS_DATA)"


def test_is_present_finds_the_real_data(data_root: Path, unzipped_root: Path, tmp_path: Path) -> None:
    assert is_present(SCIFACT, data_root)
    assert is_present(SCIFACT, unzipped_root)
    assert not is_present(CARDS["nfcorpus"], data_root)  # not in the shared data
    check_data_root(data_root)  # a folder: no error


def test_locate_prefers_the_zip_under_the_suite_folder(tmp_path: Path) -> None:
    card = tiny_card()
    source_folder = tmp_path / "src"
    write_tiny(source_folder)
    root = tmp_path / "data"
    zip_folder(source_folder, root / "beir" / "tiny.zip", "tiny/")
    shutil.copytree(source_folder, root / "beir" / "tiny")
    zip_folder(source_folder, root / "tiny.zip", "")
    shutil.copytree(source_folder, root / "tiny")
    (root / "beir" / "empty").mkdir()  # not a candidate name; ignored

    expected = [
        ("beir/tiny.zip", True, "tiny/"),
        ("beir/tiny", False, ""),
        ("tiny.zip", True, ""),
        ("tiny", False, ""),
    ]
    assert card.locations == tuple(display for display, _, _ in expected)
    assert (
        beir_card("tiny", "0" * 32, splits=("test",), eval_queries=2, corpus="3").locations == card.locations
    )
    records = []
    for display, is_zip, prefix in expected:
        source = locate(card, root)
        assert (source.display, source.is_zip, source.prefix) == (display, is_zip, prefix)
        assert source.path == root / display
        records.append(load_beir(card, root, "test").inputs)
        target = root / display
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    assert all(record == records[0] for record in records)  # the same bytes everywhere: one record
    with pytest.raises(DataNotFound, match="not found under"):
        locate(card, root)


def test_a_folder_without_the_corpus_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "beir" / "tiny").mkdir(parents=True)
    write_tiny(tmp_path / "tiny")
    assert locate(tiny_card(), tmp_path).display == "tiny"


def test_zip_problems_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "beir").mkdir()
    (tmp_path / "beir" / "tiny.zip").write_bytes(b"PK not really a zip")
    with pytest.raises(InputError, match=r"beir/tiny\.zip: \(file\): not a valid zip"):
        locate(tiny_card(), tmp_path)
    with zipfile.ZipFile(tmp_path / "beir" / "tiny.zip", "w") as archive:
        archive.writestr("tiny/queries.jsonl", "")
    with pytest.raises(InputError, match=r"beir/tiny\.zip: corpus\.jsonl: not found in the archive"):
        locate(tiny_card(), tmp_path)
    with zipfile.ZipFile(tmp_path / "beir" / "tiny.zip", "w") as archive:
        archive.writestr("tiny/corpus.jsonl", "")
    with pytest.raises(InputError, match=r"beir/tiny\.zip:tiny/queries\.jsonl: \(file\): missing from"):
        load_beir(tiny_card(), tmp_path, "test")


# --- malformed files ------------------------------------------------------------------------------


def test_a_malformed_qrels_line_names_the_file_and_line(unzipped_root: Path) -> None:
    qrels = unzipped_root / "beir" / "scifact" / "qrels" / "test.tsv"
    lines = qrels.read_text().split("\n")
    lines[4] = lines[4].rsplit("\t", 1)[0]  # line 5 loses its score column
    qrels.write_text("\n".join(lines))
    with pytest.raises(InputError) as caught:
        load_beir(SCIFACT, unzipped_root, "test")
    assert caught.value.where == "beir/scifact/qrels/test.tsv"
    assert caught.value.field == "line 5"
    assert "expected query-id, corpus-id, score" in str(caught.value)


def test_a_non_integer_grade_names_the_line_and_field(tmp_path: Path) -> None:
    write_tiny(tmp_path / "beir" / "tiny", qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\thigh\n")
    with pytest.raises(InputError) as caught:
        load_beir(tiny_card(), tmp_path, "test")
    assert str(caught.value) == "beir/tiny/qrels/test.tsv: line 3: score: not an integer: 'high'"


def test_a_non_json_corpus_line_names_the_file_and_line_in_a_zip(unzipped_root: Path, tmp_path: Path) -> None:
    folder = unzipped_root / "beir" / "scifact"
    corpus = folder / "corpus.jsonl"
    lines = corpus.read_bytes().split(b"\n")
    lines[6] = lines[6][:-2]  # line 7 cut short: no closing quote and brace
    corpus.write_bytes(b"\n".join(lines))
    root = tmp_path / "zipped"
    zip_folder(folder, root / "beir" / "scifact.zip", "scifact/")
    with pytest.raises(InputError) as caught:
        load_beir(SCIFACT, root, "test")
    assert caught.value.where == "beir/scifact.zip:scifact/corpus.jsonl"
    assert caught.value.field == "line 7"
    assert "not JSON" in str(caught.value)


def test_line_numbers_count_blank_lines() -> None:
    data = b'{"_id": "d1", "text": "a"}\n\n{"_id": "d2"}\n'
    with pytest.raises(InputError) as caught:
        read_corpus(data, "beir/x/corpus.jsonl")
    assert str(caught.value) == "beir/x/corpus.jsonl: line 3: text: missing or not a string"


def test_unicode_line_separators_inside_json_strings_are_text() -> None:
    # JSON allows U+2028 / U+2029 / U+0085 unescaped in strings; they do not end a JSONL line
    text = "left\u2028middle\u2029right\x85end"
    data = (json.dumps({"_id": "d1", "text": text}, ensure_ascii=False) + "\r\n").encode()
    (doc,) = read_corpus(data, "corpus.jsonl")
    assert doc.text == text
    assert read_queries(data, "queries.jsonl") == {"d1": text}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b'{"_id": "d1", "text": "a"}\n["not", "an", "object"]\n', "line 2"),
        (b'{"_id": "d1", "text": 5}\n', "line 1: text"),
        (b'{"text": "no id"}\n', "line 1: _id"),
        (b'{"_id": "d1", "text": "caf\xe9"}\n', "byte 26"),
    ],
    ids=["not-an-object", "text-not-a-string", "no-id", "latin-1"],
)
def test_corpus_refusals_name_the_field(data: bytes, field: str) -> None:
    with pytest.raises(InputError) as caught:
        read_corpus(data, "corpus.jsonl")
    assert caught.value.where == "corpus.jsonl"
    assert caught.value.field == field


def test_qrels_header_and_rows() -> None:
    qrels, rows = read_qrels(b"query-id\tcorpus-id\tscore\n1\t10\t1\n1\t11\t0\n\n2\t10\t2\n", "q.tsv")
    assert qrels == {"1": {"10": 1, "11": 0}, "2": {"10": 2}}
    assert rows == 3


def test_a_judged_query_without_text_is_refused(tmp_path: Path) -> None:
    write_tiny(tmp_path / "beir" / "tiny", qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\nq7\td2\t1\n")
    with pytest.raises(InputError, match=r"beir/tiny/qrels/test\.tsv: query-id: q7 has no query"):
        load_beir(tiny_card(), tmp_path, "test")


# --- fetch ----------------------------------------------------------------------------------------


@pytest.fixture
def tiny_zip(tmp_path: Path) -> tuple[Path, str]:
    write_tiny(tmp_path / "src" / "tiny")
    archive = zip_folder(tmp_path / "src" / "tiny", tmp_path / "served" / "tiny.zip", "tiny/")
    return archive, hashlib.md5(archive.read_bytes(), usedforsecurity=False).hexdigest()


def test_fetch_saves_a_verified_download_at_the_first_location(
    tmp_path: Path, tiny_zip: tuple[Path, str]
) -> None:
    archive, md5 = tiny_zip
    card = tiny_card(url=archive.as_uri(), archive_md5=md5)
    root = tmp_path / "data"
    seen: list[tuple[int, int | None]] = []
    path = fetch(card, root, progress=lambda done, total: seen.append((done, total))).path
    assert path == root / "beir" / "tiny.zip"
    assert path.read_bytes() == archive.read_bytes()
    assert seen[-1] == (archive.stat().st_size, archive.stat().st_size)
    assert sorted(p.name for p in (root / "beir").iterdir()) == ["tiny.zip"]
    assert load_beir(card, root, "test").inputs.counts == {"corpus": 3, "queries": 2, "qrels": 3}


def test_fetch_with_a_wrong_md5_fails_and_leaves_nothing(tmp_path: Path, tiny_zip: tuple[Path, str]) -> None:
    archive, md5 = tiny_zip
    wrong = "0" * 32
    assert wrong != md5
    card = tiny_card(url=archive.as_uri(), archive_md5=wrong)
    root = tmp_path / "data"
    with pytest.raises(HarnessError, match=f"md5 {md5} differs from the published {wrong}"):
        fetch(card, root)
    assert not root.exists()  # the folders fetch made are removed again


def test_fetch_from_an_unreachable_url_fails_and_leaves_nothing(tmp_path: Path) -> None:
    card = tiny_card(url=(tmp_path / "absent.zip").as_uri(), archive_md5="0" * 32)
    with pytest.raises(HarnessError, match="download failed"):
        fetch(card, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_every_card_has_a_beir_url_and_md5() -> None:
    for name, card in CARDS.items():
        assert card.name == name
        assert card.id == f"beir/{name}"
        assert card.url.endswith(f"/{card.name}.zip")
        assert card.archive_md5 is not None
        assert len(card.archive_md5) == 32
        assert card.locations[0] == f"beir/{name}.zip"
        assert card.marker == ("android/corpus.jsonl" if name == "cqadupstack" else "corpus.jsonl")
    assert [name for name, card in CARDS.items() if card.has_checksums] == ["scifact"]


# --- data cards -----------------------------------------------------------------------------------


def test_card_mismatch_says_why_the_inputs_are_not_the_card() -> None:
    files, counts = dict(SCIFACT.splits["test"].members), dict(SCIFACT.splits["test"].counts)
    assert SCIFACT.mismatch("test", files, counts) == ""
    assert SCIFACT.mismatch("test", dict(reversed(files.items())), counts) == ""  # order does not matter
    assert SCIFACT.mismatch("train", files, counts) == "the dataset fingerprint differs from the data card's"
    assert SCIFACT.mismatch("test", {**files, "corpus.jsonl": "0" * 64}, counts) == (
        "the dataset fingerprint differs from the data card's"
    )
    partial = {name: sha for name, sha in files.items() if name != "queries.jsonl"}
    assert SCIFACT.mismatch("test", partial, counts) == "the dataset fingerprint differs from the data card's"
    assert SCIFACT.mismatch("test", files, {**counts, "corpus": 5184}) == (
        "the dataset counts differ from the data card's"
    )
    assert SCIFACT.mismatch("test", files, {"corpus": 5183, "queries": 300}) == (
        "the dataset counts differ from the data card's"
    )
    assert SCIFACT.mismatch("dev", files, counts) == (
        "the data card of beir/scifact lists no checksums for split 'dev'"
    )
    assert CARDS["nfcorpus"].mismatch("test", files, counts) == (
        "the data card of beir/nfcorpus lists no checksums for split 'test'"
    )


def test_has_checksums_needs_member_hashes() -> None:
    assert SCIFACT.has_checksums
    assert not tiny_card().has_checksums
    counted = beir_card(
        "counted",
        "0" * 32,
        splits=("test",),
        eval_queries=3,
        corpus="3",
        checked={"test": SplitCard(counts={"queries": 3})},
    )
    assert not counted.has_checksums
    assert counted.mismatch("test", {}, {"queries": 3}) == (
        "the data card of beir/counted lists no checksums for split 'test'"
    )
