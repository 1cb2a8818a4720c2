"""BEIR reading and verification (harness/data/beir.py, cards.py, files.py) and fetch (fetch.py).

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

from harness.data.beir import BeirDataset, load_beir, read_corpus, read_qrels, read_queries
from harness.data.cards import CARDS, SCIFACT, DatasetCard, fingerprint
from harness.data.fetch import fetch
from harness.data.files import locate
from harness.errors import HarnessError, InputError

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


def tiny_card(name: str = "tiny", url: str | None = None, zip_md5: str | None = None) -> DatasetCard:
    """A card built directly: no member hashes, so what it loads is unverified."""
    return DatasetCard(
        id=f"beir/{name}",
        name=name,
        url=url or f"https://example.org/{name}.zip",
        licence="test",
        zip_md5=zip_md5,
    )


# --- the real SciFact -----------------------------------------------------------------------------


def test_scifact_test_split_counts_and_verification(scifact: BeirDataset) -> None:
    assert len(scifact.corpus) == 5183
    assert len(scifact.queries) == 300
    assert sum(len(docs) for docs in scifact.qrels.values()) == 339
    assert set(scifact.queries) == set(scifact.qrels)
    record = scifact.record
    assert record.id == "beir/scifact"
    assert record.counts == {"corpus": 5183, "queries": 300, "qrels": 339}
    assert record.verified is True
    assert record.files == {name: SCIFACT.members[name] for name in TEST_MEMBERS}
    assert record.fingerprint == fingerprint(record.files)
    assert len({doc.id for doc in scifact.corpus}) == 5183


def test_fingerprint_is_the_sha256_of_sorted_path_lines() -> None:
    files = {"queries.jsonl": "b" * 64, "corpus.jsonl": "a" * 64}
    lines = f"corpus.jsonl {'a' * 64}\nqueries.jsonl {'b' * 64}\n"
    assert fingerprint(files) == hashlib.sha256(lines.encode()).hexdigest()
    assert fingerprint(dict(reversed(files.items()))) == fingerprint(files)
    assert fingerprint({**files, "queries.jsonl": "c" * 64}) != fingerprint(files)


def test_zip_and_unzipped_folder_give_the_same_record_and_data(
    scifact: BeirDataset, unzipped_root: Path
) -> None:
    source = locate(SCIFACT, unzipped_root)
    assert not source.is_zip
    assert source.display == "beir/scifact"
    unzipped = load_beir(SCIFACT, unzipped_root, "test")
    assert unzipped.record == scifact.record
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
    assert damaged.record.verified is False
    assert damaged.record.counts == scifact.record.counts
    assert damaged.record.files["corpus.jsonl"] != SCIFACT.members["corpus.jsonl"]
    assert damaged.record.files["queries.jsonl"] == SCIFACT.members["queries.jsonl"]
    assert damaged.record.fingerprint != scifact.record.fingerprint


def test_a_card_without_member_hashes_loads_unverified(tmp_path: Path) -> None:
    write_tiny(tmp_path / "beir" / "tiny")
    data = load_beir(tiny_card(), tmp_path, "test")
    assert data.record.verified is False
    assert data.record.counts == {"corpus": 3, "queries": 2, "qrels": 3}
    # queries are those judged in the split; grade 0 kept as given (GenericDataLoader)
    assert data.queries == {"q1": "first", "q2": "second"}
    assert data.qrels == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}
    assert [doc.title for doc in data.corpus] == ["T1", "", ""]


# --- locating -------------------------------------------------------------------------------------


def test_missing_dataset_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_beir(SCIFACT, tmp_path, "test")
    message = str(caught.value)
    assert message.startswith("beir/scifact: ")
    assert "put scifact.zip" in message
    assert "at beir/scifact.zip" in message
    assert SCIFACT.url in message
    assert "harness fetch beir/scifact" in message


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_data_root_that_is_not_a_folder_names_data_dir(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "nowhere"
    if kind == "file":
        root.write_text("not a folder")
    with pytest.raises(InputError) as caught:
        locate(SCIFACT, root)
    assert caught.value.where == "--data-dir"
    assert str(caught.value).startswith("--data-dir: ")
    assert "not a folder" in str(caught.value)


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
    assert card.locations() == tuple(display for display, _, _ in expected)
    records = []
    for display, is_zip, prefix in expected:
        source = locate(card, root)
        assert (source.display, source.is_zip, source.prefix) == (display, is_zip, prefix)
        assert source.path == root / display
        records.append(load_beir(card, root, "test").record)
        target = root / display
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    assert all(record == records[0] for record in records)  # the same bytes everywhere: one record
    with pytest.raises(InputError, match="not found under"):
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
    card = tiny_card(url=archive.as_uri(), zip_md5=md5)
    root = tmp_path / "data"
    seen: list[tuple[int, int | None]] = []
    path = fetch(card, root, progress=lambda done, total: seen.append((done, total)))
    assert path == root / "beir" / "tiny.zip"
    assert path.read_bytes() == archive.read_bytes()
    assert seen[-1] == (archive.stat().st_size, archive.stat().st_size)
    assert sorted(p.name for p in (root / "beir").iterdir()) == ["tiny.zip"]
    assert load_beir(card, root, "test").record.counts == {"corpus": 3, "queries": 2, "qrels": 3}


def test_fetch_with_a_wrong_md5_fails_and_leaves_nothing(tmp_path: Path, tiny_zip: tuple[Path, str]) -> None:
    archive, md5 = tiny_zip
    wrong = "0" * 32
    assert wrong != md5
    card = tiny_card(url=archive.as_uri(), zip_md5=wrong)
    root = tmp_path / "data"
    with pytest.raises(HarnessError, match=f"md5 {md5} differs from the published {wrong}"):
        fetch(card, root)
    assert list((root / "beir").iterdir()) == []


def test_fetch_from_an_unreachable_url_fails_and_leaves_nothing(tmp_path: Path) -> None:
    card = tiny_card(url=(tmp_path / "absent.zip").as_uri(), zip_md5="0" * 32)
    with pytest.raises(HarnessError, match="download failed"):
        fetch(card, tmp_path / "data")
    assert list((tmp_path / "data" / "beir").iterdir()) == []


def test_every_card_has_a_beir_url_and_md5() -> None:
    for card_id, card in CARDS.items():
        assert card.id == card_id == f"beir/{card.name}"
        assert card.url.endswith(f"/{card.name}.zip")
        assert card.zip_md5 is not None
        assert len(card.zip_md5) == 32
