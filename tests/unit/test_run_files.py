"""TREC run files (``harness.results.runs``): canonical writing, strict bounded reading, the run record."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from pathlib import Path

import numpy as np
import pytest
from factories import make_results
from pydantic import ValidationError

from harness.errors import InputError
from harness.metrics.retrieval import ranked
from harness.results import Predictions, RunRef, canonical_bytes, parse_results
from harness.results import runs as trec
from harness.results.runs import RankedRun, encode, parse_run, read_run

HITS = {
    "q2": {"d1": 3.5, "d2": 3.5, "d10": 2.0, "d3": -1.25},  # a tie: doc id descending decides
    "q1": {"a": float(np.float32(0.1)), "b": 1e-300, "c": 123456789.123},
}


def line(*fields: str) -> bytes:
    return (" ".join(fields) + "\n").encode()


def test_the_written_run_reads_back_to_the_same_floats_in_trec_eval_order() -> None:
    encoded = encode(RankedRun(HITS, 10), "bm25s")
    text = gzip.decompress(encoded.gzipped)
    rows = [row.split() for row in text.decode().splitlines()]
    assert [r[0] for r in rows] == ["q1"] * 3 + ["q2"] * 4  # query ids sorted
    assert [r[2] for r in rows[3:]] == ranked(HITS["q2"]) == ["d2", "d1", "d10", "d3"]
    assert [int(r[3]) for r in rows[3:]] == [1, 2, 3, 4] and {r[1] for r in rows} == {"Q0"}
    parsed = parse_run(text, "run")
    assert parsed.hits == HITS  # the very doubles, float32 values and 1e-300 included
    assert parsed.sha256 == encoded.ref.sha256 == hashlib.sha256(text).hexdigest()
    assert (encoded.ref.k, encoded.ref.queries, encoded.ref.hits) == (10, 2, 7)


def test_the_gzip_bytes_are_deterministic_with_no_name_and_no_time() -> None:
    first, second = encode(RankedRun(HITS, 10), "t"), encode(RankedRun(dict(reversed(HITS.items())), 10), "t")
    assert first.gzipped == second.gzipped
    data = first.gzipped
    assert data[:3] == b"\x1f\x8b\x08" and data[3] & 0x08 == 0  # FLG.FNAME unset
    assert data[4:8] == b"\0\0\0\0"  # MTIME 0


def test_a_gzip_and_a_plain_copy_are_one_run(tmp_path: Path) -> None:
    encoded = encode(RankedRun(HITS, 10), "t")
    gz = tmp_path / encoded.file_name("beir/scifact")
    gz.write_bytes(encoded.gzipped)
    plain = tmp_path / "plain.trec"
    plain.write_bytes(gzip.decompress(encoded.gzipped).replace(b"\n", b"\r\n"))  # CRLF too
    assert gz.name == f"beir_scifact.{encoded.ref.sha256}.run.trec.gz"
    assert read_run(gz).hits == HITS
    assert read_run(plain).hits == HITS
    assert trec.find_beside(tmp_path, "beir/scifact", encoded.ref.sha256) == gz


def test_concatenated_gzip_members_are_one_run() -> None:
    text = encode(RankedRun(HITS, 10), "t")
    plain = gzip.decompress(text.gzipped)
    head, tail = plain[:40], plain[40:]
    data = gzip.compress(head) + gzip.compress(tail)
    assert parse_run(trec.decompressed(data, "r"), "r").hits == HITS


HOSTILE = [
    (line("q1", "Q0", "d1", "1", "2.0"), "line 1", "has 5 fields"),
    (line("q1", "Q0", "d1", "1", "2.0", "t", "x"), "line 1", "has 7 fields"),
    (
        line("q1", "Q0", "d1", "1", "2", "t") + b"\n" + line("q1", "Q0", "d2", "2", "1", "t"),
        "line 2",
        "is blank",
    ),
    (line("q1", "X", "d1", "1", "2.0", "t"), "line 1: Q0", "Q0 (or 0)"),
    (line("q1", "Q0", "d1", "-1", "2.0", "t"), "line 1: rank", "non-negative integer"),
    (line("q1", "Q0", "d1", "1.5", "2.0", "t"), "line 1: rank", "non-negative integer"),
    (line("q1", "Q0", "d1", "1", "nan", "t"), "line 1: score", "not a decimal number"),
    (line("q1", "Q0", "d1", "1", "inf", "t"), "line 1: score", "not a decimal number"),
    (line("q1", "Q0", "d1", "1", "1_000", "t"), "line 1: score", "not a decimal number"),
    (line("q1", "Q0", "d1", "1", "0x10", "t"), "line 1: score", "not a decimal number"),
    (line("q1", "Q0", "d1", "1", "1e400", "t"), "line 1: score", "not a finite number"),
    (line("q\x1b[31m", "Q0", "d1", "1", "2", "t"), "line 1: qid", "U+001B"),
    (line("q1", "Q0", "d" * 201, "1", "2", "t"), "line 1: docid", "201 characters"),
    (line("q1", "Q0", "e\u0301", "1", "2", "t"), "line 1: docid", "NFC"),
    (line("q1", "Q0", "d\u202e1", "1", "2", "t"), "line 1: docid", "U+202E"),
    (b"q1 Q0 d\xff 1 2 t\n", "line 1", "not UTF-8"),
    (line("q1", "Q0", "d1", "1", "2", "t") + line("q1", "Q0", "d1", "2", "1", "t"), "line 2: docid", "twice"),
    (
        line("q1", "Q0", "d1", "1", "2", "t") + line("q1", "Q0", "d2", "1", "1", "t"),
        "line 2: rank",
        "also line 1",
    ),
    (line("q1", "Q0", "d1", "1", "2", "t") + line("q1", "Q0", "d2", "2", "3", "t"), "line 2: score", "rise"),
    (b"", "(file)", "holds no hit"),
]


@pytest.mark.parametrize(("text", "field", "fragment"), HOSTILE)
def test_hostile_lines_are_one_line_naming_the_file_line_and_field(
    text: bytes, field: str, fragment: str
) -> None:
    with pytest.raises(InputError) as caught:
        parse_run(text, "run.trec")
    message = str(caught.value)
    assert message.startswith(f"run.trec: {field}: ") and fragment in message, message
    assert "\n" not in message and "\x1b" not in message


def test_ties_may_stand_in_any_rank_order_and_ranks_may_start_at_zero() -> None:
    text = (
        line("q1", "0", "a", "0", "2", "t")
        + line("q1", "Q0", "b", "1", "2", "t")
        + line("q1", "Q0", "c", "5", "1", "t")
    )
    assert parse_run(text, "r").hits == {"q1": {"a": 2.0, "b": 2.0, "c": 1.0}}


def test_a_gzip_bomb_stops_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real limit is 1 GiB; the same code path is held to 1 MiB here (8 MiB of text, 8 KB gzipped)."""
    monkeypatch.setattr(trec, "MAX_RUN_TEXT_BYTES", 1 << 20)
    bomb = gzip.compress(b"q1 Q0 d1 1 1 t\n" * ((8 << 20) // 15), mtime=0)
    assert len(bomb) < 100_000
    with pytest.raises(InputError, match=r"^bomb: \(file\): decompresses to more than 1 MiB$"):
        trec.decompressed(bomb, "bomb")


def test_broken_gzip_is_refused() -> None:
    good = gzip.compress(line("q1", "Q0", "d1", "1", "2", "t"))
    with pytest.raises(InputError, match="truncated"):
        trec.decompressed(good[:-6], "r")
    with pytest.raises(InputError, match="bytes after the gzip stream"):
        trec.decompressed(good + b"junk", "r")
    with pytest.raises(InputError, match="not a valid gzip stream"):
        trec.decompressed(b"\x1f\x8b" + zlib.compress(b"x"), "r")


def test_size_and_line_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.trec"
    path.write_bytes(line("q1", "Q0", "d1", "1", "2", "t") * 100)
    monkeypatch.setattr(trec, "MAX_RUN_LINES", 99)
    with pytest.raises(InputError, match=r"holds more than 99 lines"):
        read_run(path)
    monkeypatch.setattr(trec, "MAX_RUN_FILE_BYTES", 1000)
    with pytest.raises(InputError, match=r"\(file\): larger than 0 MB"):
        read_run(path)


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "run.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_run(fifo)
    with pytest.raises(InputError, match="is a directory"):
        read_run(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_run(tmp_path / "absent.trec")


def test_writing_refuses_ids_that_would_split_into_more_fields() -> None:
    with pytest.raises(ValueError, match="whitespace"):
        encode(RankedRun({"q 1": {"d": 1.0}}, 10), "t")


REF = RunRef(sha256="0" * 64, k=1000, queries=300, hits=300_000)


def test_a_run_prediction_names_its_run_and_holds_no_values() -> None:
    Predictions(kind="run", item_kind="query", values=[], run=REF)
    with pytest.raises(ValidationError, match="names its run"):
        Predictions(kind="run", item_kind="query", values=[])
    with pytest.raises(ValidationError, match="names its run"):
        Predictions(kind="run", item_kind="query", values=[1.0], run=REF)
    with pytest.raises(ValidationError, match="only kind 'run'"):
        Predictions(kind="similarity", item_kind="pair", values=[1.0], run=REF)
    with pytest.raises(ValidationError, match="at least one value"):
        Predictions(kind="similarity", item_kind="pair", values=[])


def test_other_predictions_keep_their_bytes() -> None:
    """``run`` is left out of the dump when unset, so existing files keep their digests."""
    assert "run" not in Predictions(kind="label", item_kind="example", values=[1.0]).model_dump(mode="json")
    dumped = Predictions(kind="run", item_kind="query", values=[], run=REF).model_dump(mode="json")
    assert dumped["run"]["sha256"] == "0" * 64


def test_the_canonical_bytes_carry_the_run_reference_and_parse_back() -> None:
    record = make_results()
    result = record.results[0].model_copy(
        update={"predictions": Predictions(kind="run", item_kind="query", values=[], run=REF)}
    )
    record = record.model_copy(update={"results": [result]})
    document = record.model_dump(mode="json")
    expected = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(record) == expected.encode()
    assert json.loads(canonical_bytes(record))["results"][0]["predictions"]["run"] == REF.model_dump(
        mode="json"
    )
    assert parse_results(canonical_bytes(record), "r.json") == record


def test_check_run_recomputes_what_the_means_cannot_prove(data_root: Path) -> None:
    """Two queries' per-query values swapped keep every mean: ``check`` passes, ``check_run`` refuses."""
    from harness.errors import FieldError
    from harness.results import TaskResult
    from harness.suites.beir.cards import CARDS
    from harness.suites.beir.task import RetrievalTask

    task = RetrievalTask(CARDS["scifact"])
    data = task.load(data_root)
    filler = [doc.id for doc in data.corpus[:20]]
    run = {}
    for index, (qid, judged) in enumerate(sorted(data.qrels.items())):
        docs = [doc for doc in filler if doc not in judged][: index % 7] + sorted(judged)
        run[qid] = {doc: float(len(docs) - rank) for rank, doc in enumerate(docs)}
    scores = task.score_run(data, run)
    assert scores.run is not None and scores.per_item is not None
    result = TaskResult(
        task=task.name,
        task_version=task.version,
        split=task.split,
        inputs=data.inputs,
        settings=task.settings(),
        main_metric=task.main_metric,
        metrics=scores.metrics,
        per_item=scores.per_item,
        predictions=Predictions(kind="run", item_kind="query", values=[], run=encode(scores.run, "t").ref),
        timings_s={"total": 1.0},
        peak_rss_mib=1.0,
    )
    assert task.check(result, data) is False and task.check_run(result, data, run) is True
    assert task.check_run(result, None, run) is False  # no local data: the means only
    values = {name: dict(per_query) for name, per_query in scores.per_item.values.items()}
    ndcg = values["ndcg@10"]
    low, high = min(ndcg, key=ndcg.__getitem__), max(ndcg, key=ndcg.__getitem__)
    ndcg[low], ndcg[high] = ndcg[high], ndcg[low]
    swapped = result.model_copy(update={"per_item": scores.per_item.model_copy(update={"values": values})})
    assert task.check(swapped, data) is False  # every mean still holds
    with pytest.raises(FieldError, match=r"^per_item\.values\.ndcg@10\.\S+: .* is not what the run scores"):
        task.check_run(swapped, data, run)
    other = dict(run)
    other[low] = {doc: float(rank) for rank, doc in enumerate(run[low])}  # one query's ranking reversed
    with pytest.raises(FieldError, match=r"^metrics\.ndcg@10: "):
        task.check_run(result, data, other)
