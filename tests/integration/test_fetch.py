"""``harness fetch beir/<name>`` and ``beir/all`` offline: a ``file://`` mirror, the real CLI and reader.

The shared ``beir/scifact.zip`` is a rebuild (MANIFEST.md §1) whose members are the ones the SciFact
card checks (their sha256s), but the archive itself is not BEIR's: its MD5 is 315a9125…, not the
published 5f7d1de6…. So the real card refuses it, which is the checksum-mismatch test on real bytes; the tests
that must accept it replace the card's ``archive_md5`` by the rebuild's MD5 (computed here, never
typed in) and change nothing else, so the member checks of the loaded data stay the real card's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.data.fetch import archive_url, fetch
from harness.suites.beir.cards import CARDS
from harness.suites.beir.data import load_beir


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@pytest.fixture
def mirror(tmp_path: Path, data_root: Path) -> Path:
    folder = tmp_path / "mirror"
    folder.mkdir()
    shutil.copyfile(data_root / "beir" / "scifact.zip", folder / "scifact.zip")
    return folder


@pytest.fixture
def rebuild_md5(mirror: Path) -> Iterator[str]:
    """The SciFact card with the rebuild's archive MD5 (the only change), restored afterwards."""
    real = CARDS["scifact"]
    md5 = _md5(mirror / "scifact.zip")
    assert md5 != real.archive_md5  # the rebuild is not BEIR's archive (see the module docstring)
    CARDS["scifact"] = dataclasses.replace(real, archive_md5=md5)
    try:
        yield md5
    finally:
        CARDS["scifact"] = real


def test_fetch_through_a_mirror_then_load_verified(
    mirror: Path, tmp_path: Path, rebuild_md5: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    args = ["fetch", "beir/scifact", "--data-dir", str(root), "--mirror", mirror.as_uri()]
    assert main(args) == 0
    assert "beir/scifact: saved" in capsys.readouterr().out
    saved = root / "beir" / "scifact.zip"
    assert _tree(root) == ["beir", "beir/scifact.zip"]  # no part file left behind
    assert _md5(saved) == rebuild_md5
    data = load_beir(CARDS["scifact"], root, "test")
    assert data.inputs.verified
    assert data.inputs.counts == {"corpus": 5183, "queries": 300, "qrels": 339}

    # present and verified: skipped, the file untouched
    before = saved.stat().st_mtime_ns
    assert main(args) == 0
    assert "already present, md5 verified" in capsys.readouterr().out
    assert saved.stat().st_mtime_ns == before


def test_the_real_card_refuses_the_rebuild(
    mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    code = main(["fetch", "beir/scifact", "--data-dir", str(root), "--mirror", str(mirror.as_uri()) + "/"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0
    url = (mirror / "scifact.zip").as_uri()
    assert err == (
        f"harness: {url}: md5 {_md5(mirror / 'scifact.zip')} differs from the published "
        f"5f7d1de60b170fc8027bb7898e2efca1; nothing was saved"
    )
    assert _tree(root) == []  # not even the beir/ folder


def test_a_corrupted_copy_is_refused(
    mirror: Path, tmp_path: Path, rebuild_md5: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray((mirror / "scifact.zip").read_bytes())
    data[len(data) // 2] ^= 0x01
    (mirror / "scifact.zip").write_bytes(bytes(data))
    root = tmp_path / "root"
    (root / "beir").mkdir(parents=True)
    (root / "beir" / "other.txt").write_text("kept")
    code = main(["fetch", "beir/scifact", "--data-dir", str(root), "--mirror", mirror.as_uri()])
    err = capsys.readouterr().err
    assert code == 2
    assert f"differs from the published {rebuild_md5}" in err
    assert _tree(root) == ["beir", "beir/other.txt"]


def test_all_fetches_what_the_mirror_has_and_names_the_rest(
    mirror: Path, tmp_path: Path, rebuild_md5: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    code = main(["fetch", "beir/all", "--data-dir", str(root), "--mirror", mirror.as_uri()])
    out, err = capsys.readouterr()
    assert code == 2
    assert "beir/scifact: saved" in out
    assert _tree(root) == ["beir", "beir/scifact.zip"]
    assert err.splitlines()[-1] == (
        f"harness: {len(CARDS) - 1} of {len(CARDS)} failed: "
        + ", ".join(card.id for card in CARDS.values() if card.name != "scifact")
    )
    assert f"harness: beir/nq: {mirror.as_uri()}/nq.zip: download failed" in err


def test_unknown_names_list_the_fetchable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch", "beir/robust04", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot fetch 'beir/robust04'; fetchable: beir/scifact, beir/msmarco" in err
    assert "beir/cqadupstack" in err and "beir/all" in err
    assert "sts/" not in err  # no published archive checksum, not fetchable


def test_a_differing_archive_already_there_is_never_overwritten(mirror: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "beir").mkdir(parents=True)
    (root / "beir" / "scifact.zip").write_bytes(b"a user's own copy")
    with pytest.raises(Exception, match="already there with md5"):
        fetch(CARDS["scifact"], root, mirror=mirror.as_uri())
    assert (root / "beir" / "scifact.zip").read_bytes() == b"a user's own copy"


def test_progress_is_reported_and_urls_keep_beirs_file_names(
    mirror: Path, tmp_path: Path, rebuild_md5: str
) -> None:
    seen: list[tuple[int, int | None]] = []
    fetched = fetch(
        CARDS["scifact"], tmp_path, lambda done, total: seen.append((done, total)), mirror.as_uri()
    )
    assert fetched.outcome == "downloaded"
    size = (mirror / "scifact.zip").stat().st_size
    assert seen[0][0] == 0 and seen[-1] == (size, size)
    assert (
        archive_url(CARDS["nq"])
        == "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/nq.zip"
    )
    assert (
        archive_url(CARDS["nq"], "https://mirror.example.org/beir")
        == "https://mirror.example.org/beir/nq.zip"
    )
