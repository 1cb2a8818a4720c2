"""The bounds of an untrusted file, the model-id policy, the timing bounds and cache-served phases."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from factories import make_results, make_sts_results, make_submission, make_task_result

from harness.errors import FieldError, InputError
from harness.results import (
    ANNOTATIONS,
    ResultsFile,
    canonical_and_digest,
    canonical_bytes,
    digest,
    parse_results,
    read_results,
)
from harness.results.bounds import (
    MAX_CONTAINERS,
    MAX_ENTRIES,
    MAX_FILE_BYTES,
    MAX_SEPARATORS,
    MAX_TEXT_CHARS,
    first_violation,
    read_bounded,
    text_problem,
)
from harness.submit import check_model_id, skeleton
from harness.suites.base import BoardSpec, Rate
from harness.suites.checks import MAX_ITEMS_PER_SECOND, check_timings
from harness.timing import CACHED_SUFFIX, Timer

# --- reading --------------------------------------------------------------------------------------


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(InputError, match="FIFO"):
        read_bounded(tmp_path / "fifo", "fifo")  # O_NONBLOCK: returns at once, no writer needed
    with pytest.raises(InputError, match="character device"):
        read_bounded(tmp_path / "zero", "zero")
    with pytest.raises(InputError, match="directory"):
        read_bounded(tmp_path, "folder")
    with pytest.raises(InputError, match="no such file"):
        read_bounded(tmp_path / "missing", "missing")
    (tmp_path / "ok.json").write_bytes(b"{}")
    assert read_bounded(tmp_path / "ok.json", "ok") == b"{}"


def test_a_sparse_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match="larger than 50 MB"):
        read_bounded(path, "huge")


# --- the text policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Xeon\x1b[31m", "U+001B"),
        ("line\nbreak", "U+000A"),
        ("torch\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("no\u00a0break", "U+00A0"),
        ("e\u0301", "NFC"),
        ("x" * (MAX_TEXT_CHARS + 1), "characters long"),
    ],
)
def test_text_that_breaks_the_policy(text: str, problem: str) -> None:
    found = text_problem(text)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "text", ["bm25-flat", "Intel(R) Xeon(R) @ 2.20GHz", "café", "日本語", "[x](y) :red[z]"]
)
def test_printable_nfc_text_passes(text: str) -> None:
    assert text_problem(text) is None


def test_the_walk_names_the_first_violation_and_lets_millions_of_numbers_through() -> None:
    document = {"results": [{"per_item": {"values": {"m": {str(i): 0.5 for i in range(50_000)}}}}]}
    assert first_violation(document) is None
    document["results"][0]["settings"] = {"k": ["x"] * (MAX_ENTRIES + 1)}
    assert first_violation(document) == (
        ("results", 0, "settings", "k"),
        "holds 1,001 entries (at most 1,000 unless they are all numbers)",
    )
    keyed = {"results": [{"per_item": {"values": {"m": {"q\x00": 0.5}}}}]}
    location, message = first_violation(keyed) or ((), "")
    assert location[-1] == "q\x00" and "U+0000" in message


def test_too_many_task_results() -> None:
    assert first_violation({"results": [{}] * 5_001}) == (
        ("results",),
        "holds 5,001 task results (at most 5,000)",
    )


# --- model ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_id",
    [
        "bm25-flat",
        "bm25s",
        "acme/model-v1.5",
        "sentence-transformers/all-MiniLM-L6-v2",
        "rrf:bm25-flat+bm25s",
    ],
)
def test_ordinary_and_reference_ids_are_accepted(model_id: str) -> None:
    check_model_id(model_id, "run.json", {"sentence-transformers/all-MiniLM-L6-v2"})


@pytest.mark.parametrize(
    ("model_id", "message"),
    [
        ("bm25-flаt", "U+0430 (CYRILLIC SMALL LETTER A)"),
        ("ｂｍ２５-flat", "FULLWIDTH"),
        ("BM25-flat", "looks like the reference model 'bm25-flat'"),
        ("bm25_f1at", "looks like the reference model 'bm25-flat'"),
        ("Sentence-Transformers/all-minilm-l6-v2", "looks like the reference model"),
        ("acme/x;touch${IFS}pwned", "is not a model name"),
        ("../../etc/passwd", "is not a model name"),
        ("acme/[Official SOTA](https://evil.example)", "is not a model name"),
        ("rrf:a+b+c", "is not a model name"),
    ],
)
def test_look_alike_and_unsafe_ids_are_refused(model_id: str, message: str) -> None:
    with pytest.raises(InputError, match="model.id") as refused:
        check_model_id(model_id, "run.json", {"sentence-transformers/all-MiniLM-L6-v2"})
    assert message in str(refused.value)


def test_the_skeleton_folds_what_the_eye_confuses() -> None:
    assert skeleton("BM25_F1at") == skeleton("bm25-flat") == skeleton("bm25.fiat")
    assert skeleton("bm25s") != skeleton("bm25-flat")


# --- timings --------------------------------------------------------------------------------------

SPEC = BoardSpec(rates=(Rate("queries/s", "queries", "search", "queries per second"),))


def test_timings_are_positive_and_within_the_hardware() -> None:
    result = make_task_result(search_s=2.0)
    check_timings(result, SPEC)
    for bad, field in (
        ({**result.timings_s, "search": 0.0}, "timings_s.search"),
        ({**result.timings_s, "search": 300 / MAX_ITEMS_PER_SECOND / 10}, "timings_s.search"),
        ({**result.timings_s, "total": 0.001}, "timings_s.total"),
    ):
        with pytest.raises(FieldError) as refused:
            check_timings(result.model_copy(update={"timings_s": bad}), SPEC)
        assert refused.value.field == field


def test_a_phase_served_from_a_cache_is_renamed() -> None:
    reused = [0]
    timer = Timer(reused_items=lambda: reused[0])
    with timer("index"):
        reused[0] += 5183
    with timer("search"):
        pass
    assert set(timer.phases) == {f"index{CACHED_SUFFIX}", "search"}


def test_make_results_factory_still_passes_the_timing_bounds() -> None:
    for result in make_results().results:
        check_timings(result, SPEC)


# --- canonical bytes, written piece by piece ------------------------------------------------------


def _whole_dump(results: ResultsFile, leave_out: set[str] | None = None) -> bytes:
    """The definition the pieces must equal: ``json.dumps`` of the whole dump, sorted keys."""
    document = results.model_dump(mode="json", exclude=leave_out)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_canonical_bytes_written_in_pieces_equal_the_whole_dump() -> None:
    big = make_submission("acme/big", queries=25_000, verified=False)  # 25,000 > one slice per metric
    sts = make_sts_results(similarities=[(i % 997) / 997 for i in range(21_000)], spearman=0.1, pearson=0.1)
    root = Path(__file__).resolve().parents[2]
    committed = [read_results(path) for path in sorted((root / "results").rglob("*.json"))]
    for results in (big, sts, make_results(revision="é/ü"), *committed):
        canonical, key = canonical_and_digest(results)
        assert canonical == canonical_bytes(results) == _whole_dump(results)
        assert key == digest(results) == hashlib.sha256(_whole_dump(results, set(ANNOTATIONS))).hexdigest()


# --- what is refused before or while parsing ------------------------------------------------------


def test_a_duplicate_key_is_refused_so_no_value_hides_behind_another() -> None:
    data = json.dumps(json.loads(canonical_bytes(make_results())))
    shadowed = data.replace('{"created_at"', '{"model": {"id": "\\u202egnp.exe"}, "created_at"', 1)
    with pytest.raises(InputError, match="the key 'model' appears twice in one object"):
        parse_results(shadowed.encode(), "run.json")


def test_too_many_containers_or_values_are_refused_before_parsing() -> None:
    with pytest.raises(InputError, match="objects and arrays"):
        parse_results(b'{"x": [' + b"[]," * (MAX_CONTAINERS + 1) + b"[]]}", "run.json")
    with pytest.raises(InputError, match="values"):
        parse_results(b'{"x": [' + b"0," * (MAX_SEPARATORS + 1) + b"0]}", "run.json")


def test_numbers_nested_past_the_limit_are_refused() -> None:
    deep: object = [0]
    for _ in range(31):
        deep = [deep]
    assert first_violation({"x": deep}) is not None  # the numbers sit at level 34
