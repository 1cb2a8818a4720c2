"""The results file (DESIGN §4): round trip, content-addressed digest, atomic writes, refusals, schema.

Refusals are checked as the CLI shows them: one ``InputError`` whose field is the JSON path of the
first thing wrong. Schema 2 adds annotations outside the digest (``origin``, ``verifications``),
replicates whose mean is the aggregate, model variants, and the migration of schema-1 files. The
last tests take a file written by a real run (bm25s over SciFact) and check it against the
committed JSON Schema and for absolute paths of the machine.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import make_results, make_task_result
from pydantic import ValidationError

from harness import registry, runner
from harness.atomic import atomic_write_bytes
from harness.errors import InputError
from harness.models.options import ModelOptions
from harness.results import (
    ANNOTATIONS,
    MAX_FILE_BYTES,
    SCHEMA_PATH,
    SCHEMA_VERSION,
    Hardware,
    HarnessRecord,
    ItemValues,
    MetricCheck,
    Replicate,
    ResultsFile,
    TaskResult,
    Verification,
    canonical_bytes,
    digest,
    identity_bytes,
    json_schema_bytes,
    model_slug,
    parse_results,
    parse_versioned,
    read_results,
    read_versioned,
    relative_path,
    variant_key,
    write_file,
    write_results,
)
from harness.results.bounds import MAX_NESTING
from harness.results.migrations import MIGRATIONS, v1_to_v2

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def document(results: ResultsFile | None = None) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(canonical_bytes(results or make_results()))
    return body


def reorder(value: Any) -> Any:
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reorder(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(item) for item in value]
    return value


def files_under(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


# --- round trip, digest, path ---------------------------------------------------------------------


def test_write_then_read_gives_an_equal_record(tmp_path: Path) -> None:
    results = make_results(MINILM, revision="1110a243fdf4706b3f48f1d95db1a4f5529b4d41")
    path = write_results(results, tmp_path)
    again = read_results(path)
    assert again == results
    assert digest(again) == digest(results)
    assert canonical_bytes(again) == canonical_bytes(results)


def test_digest_ignores_key_order_and_whitespace() -> None:
    results = make_results(scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3})
    body = reorder(document(results))
    for text in (
        json.dumps(body),
        json.dumps(body, indent=7),
        json.dumps(body, separators=(",", ":")),
        "\n\n  " + json.dumps(body, indent="\t") + "  \n",
    ):
        assert digest(parse_results(text.encode(), "run.json")) == digest(results)


def test_digest_is_the_sha256_of_sorted_compact_json_and_follows_content() -> None:
    results = make_results()
    expected = json.dumps(document(results), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(results) == expected.encode()
    assert digest(results) != digest(make_results(ndcg=0.6))
    assert digest(results) != digest(make_results(seed=1))
    assert digest(results) == digest(make_results())


def test_written_at_model_slug_suite_digest12(tmp_path: Path) -> None:
    results = make_results(MINILM, revision="1110a243fdf4706b3f48f1d95db1a4f5529b4d41", suite="beir")
    path = write_results(results, tmp_path)
    assert path == tmp_path / "sentence-transformers__all-MiniLM-L6-v2" / f"beir-{digest(results)[:12]}.json"
    assert path.is_file()
    assert model_slug("org/name") == "org__name"
    assert model_slug("bm25s") == "bm25s"
    assert model_slug("my model:v2") == "my_model_v2"
    assert model_slug("../../etc/passwd") == "__..__etc__passwd"  # stays inside the results folder


def test_writing_the_same_record_twice_is_one_file_with_no_temporaries(tmp_path: Path) -> None:
    results = make_results()
    first = write_results(results, tmp_path)
    second = write_results(results, tmp_path)
    assert first == second
    assert files_under(tmp_path) == [first.relative_to(tmp_path).as_posix()]
    assert first.read_bytes().endswith(b"}\n")


def test_a_failing_write_leaves_the_old_file_intact_and_no_temporary(tmp_path: Path) -> None:
    path = write_results(make_results(), tmp_path)
    before = path.read_bytes()
    listing = files_under(tmp_path)
    # fails inside the write, after the temporary file exists
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
    # free-form settings admit any value; one that is not JSON fails before any byte is written
    body = make_results().model_dump()
    body["results"][0]["settings"] = {"callback": object()}
    broken = ResultsFile.model_validate(body)
    with pytest.raises(ValueError):
        write_results(broken, tmp_path)
    assert path.read_bytes() == before
    assert files_under(tmp_path) == listing


def test_results_files_are_written_readable_by_others(tmp_path: Path) -> None:
    """Results files are shared records: mode 0644 whatever the umask (mkstemp alone gives 0600)."""
    old_umask = os.umask(0o077)
    try:
        path = write_results(make_results(), tmp_path)
        other = tmp_path / "elsewhere" / "run.json"
        other.parent.mkdir()
        write_file(make_results(ndcg=0.7), other)
        write_file(make_results(ndcg=0.8), other)  # replacing it sets the mode again
    finally:
        os.umask(old_umask)
    for written in (path, other):
        assert stat.S_IMODE(written.stat().st_mode) == 0o644, written
    assert read_results(other) == make_results(ndcg=0.8)


def test_write_file_writes_indented_json_that_reads_back(tmp_path: Path) -> None:
    results = make_results()
    path = tmp_path / "run.json"
    write_file(results, path)
    text = path.read_text()
    assert text.startswith("{\n") and text.endswith("}\n")
    assert read_results(path) == results
    assert files_under(tmp_path) == ["run.json"]


# --- annotations: origin and verifications -----------------------------------------------------------


def verification(reproduced: bool = True, day: int = 2) -> Verification:
    return Verification(
        at=datetime(2026, 1, day, tzinfo=UTC),
        harness=HarnessRecord(version="0.2.0"),
        hardware=Hardware(cpu="test cpu", logical_cpus=4, memory_gib=16),
        reproduced=reproduced,
        checks=[
            MetricCheck(
                task="beir/scifact",
                split="test",
                metric="ndcg@10",
                claimed=0.5,
                now=0.5 if reproduced else 0.4,
                grade="OK" if reproduced else "FAIL",
            )
        ],
    )


def test_annotations_are_outside_the_digest_but_inside_the_canonical_bytes() -> None:
    results = make_results()
    assert ANNOTATIONS == ("origin", "verifications")
    assert (results.origin, results.verifications) == ("local", [])
    annotated = results.model_copy(
        update={"origin": "submission", "verifications": [verification(), verification(False, 3)]}
    )
    assert digest(annotated) == digest(results)
    assert identity_bytes(annotated) == identity_bytes(results)
    assert canonical_bytes(annotated) != canonical_bytes(results)
    assert json.loads(canonical_bytes(annotated))["origin"] == "submission"
    assert len(json.loads(canonical_bytes(annotated))["verifications"]) == 2
    body = json.loads(canonical_bytes(results))
    for key in ANNOTATIONS:
        del body[key]
    assert identity_bytes(results) == json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert digest(results) == hashlib.sha256(identity_bytes(results)).hexdigest()
    # named by the digest: re-filing a run or recording a re-run does not rename it
    assert relative_path(annotated) == relative_path(results)


def test_annotations_round_trip_through_a_file(tmp_path: Path) -> None:
    annotated = make_results().model_copy(
        update={"origin": "submission", "verifications": [verification(False, 3), verification()]}
    )
    path = write_results(annotated, tmp_path)
    again = read_results(path)
    assert again == annotated
    assert again.verifications[0].at == datetime(2026, 1, 3, tzinfo=UTC)
    assert path == write_results(make_results(), tmp_path)  # the same name: one file per run
    assert read_results(path).origin == "local"


def test_reproduced_needs_a_reproducing_verification() -> None:
    results = make_results()
    assert not results.reproduced
    assert not results.model_copy(update={"verifications": [verification(False)]}).reproduced
    assert results.model_copy(update={"verifications": [verification(False), verification()]}).reproduced


def test_a_verification_needs_an_aware_time_and_at_least_one_check() -> None:
    good = verification().model_dump()
    with pytest.raises(ValidationError, match="time zone"):
        Verification.model_validate({**good, "at": datetime(2026, 1, 2)})  # noqa: DTZ001
    with pytest.raises(ValidationError, match="checks"):
        Verification.model_validate({**good, "checks": []})
    with pytest.raises(ValidationError, match="grade"):
        MetricCheck.model_validate({**good["checks"][0], "grade": "GOOD"})


# --- replicates and variants -------------------------------------------------------------------------


def replicated(values: list[float], mean: float | None = None) -> TaskResult:
    """A task result with one replicate per value (seeds 0, 1, ...); ``metrics`` their mean by default."""
    base = make_task_result()
    replicates = [
        Replicate(seed=seed, metrics={"ndcg@10": value, "recall@100": base.metrics["recall@100"]})
        for seed, value in enumerate(values)
    ]
    metrics = {**base.metrics, "ndcg@10": math.fsum(values) / len(values) if mean is None else mean}
    body = {**base.model_dump(), "metrics": metrics, "per_item": None, "replicates": replicates}
    return TaskResult.model_validate(body)


def test_metrics_must_be_the_mean_of_the_replicates() -> None:
    result = replicated([0.5, 0.6, 0.7])
    assert result.metrics["ndcg@10"] == pytest.approx(0.6, abs=1e-15)
    replicated([0.5, 0.6, 0.7], mean=0.6 + 5e-10)  # float summation noise is accepted
    with pytest.raises(ValidationError, match=r"metrics.ndcg@10 is not the mean of its replicates"):
        replicated([0.5, 0.6, 0.7], mean=0.6 + 2e-9)
    with pytest.raises(ValidationError, match=r"metrics.ndcg@10 is not the mean of its replicates"):
        replicated([0.5, 0.6, 0.7], mean=0.7)


def test_every_replicate_holds_every_metric() -> None:
    base = replicated([0.5, 0.7]).model_dump()
    base["replicates"][1]["metrics"].pop("recall@100")
    with pytest.raises(ValidationError, match="a replicate lacks 'recall@100'"):
        TaskResult.model_validate(base)


def test_a_replicate_names_its_seed_or_fold() -> None:
    assert Replicate(fold=2, metrics={"f1": 0.5}).fold == 2
    assert Replicate(seed=1, fold=2, metrics={"f1": 0.5}).seed == 1
    with pytest.raises(ValidationError, match="names its seed, its fold or both"):
        Replicate(metrics={"f1": 0.5})
    with pytest.raises(ValidationError):
        Replicate(seed=0, metrics={})


def test_spread_is_the_sample_standard_deviation_of_the_replicates() -> None:
    values = [0.5, 0.6, 0.8]
    result = replicated(values)
    assert result.spread("ndcg@10") == pytest.approx(statistics.stdev(values), rel=1e-12)
    # by hand: mean 0.6333..., squared deviations 0.017778 + 0.001111 + 0.027778 = 0.046667; / 2; sqrt
    assert result.spread("ndcg@10") == pytest.approx(math.sqrt(0.046666666666666669 / 2), rel=1e-9)
    assert result.spread("recall@100") == 0.0
    assert replicated([0.5]).spread("ndcg@10") is None  # one replicate: no spread
    assert make_task_result().spread("ndcg@10") is None  # no replicates
    assert result.spread("map@100") is None  # not a metric of the replicates


def test_replicates_round_trip_and_the_spread_is_not_stored(tmp_path: Path) -> None:
    results = make_results(results=[replicated([0.5, 0.6, 0.8])])
    again = read_results(write_results(results, tmp_path))
    assert again == results
    assert again.results[0].spread("ndcg@10") == results.results[0].spread("ndcg@10")
    assert "spread" not in json.dumps(json.loads(canonical_bytes(results)))


def test_variant_key_is_sorted_by_name() -> None:
    assert variant_key({}) == ""
    assert variant_key({"layer": 4, "dim": 128}) == "dim=128,layer=4"
    assert variant_key({"dim": 128, "layer": 4}) == variant_key({"layer": 4, "dim": 128})
    assert variant_key({"head": "mlp"}) == "head=mlp"


def test_a_task_split_and_variant_appear_once_per_file() -> None:
    plain = make_task_result()
    small = plain.model_copy(update={"variant": {"dim": 128}})
    layer = plain.model_copy(update={"variant": {"layer": 4, "dim": 128}})
    other_split = make_task_result(split="train")
    assert plain.key == ("beir/scifact", "test", "")
    assert layer.key == ("beir/scifact", "test", "dim=128,layer=4")
    results = make_results(results=[plain, small, layer, other_split])
    assert parse_results(canonical_bytes(results), "run.json") == results
    for twice, shown in [
        ([plain, other_split, plain], "beir/scifact (test) appears twice"),
        ([small, plain, small], "beir/scifact (test, dim=128) appears twice"),
        (
            [layer, plain.model_copy(update={"variant": {"dim": 128, "layer": 4}})],
            "beir/scifact (test, dim=128,layer=4) appears twice",
        ),
    ]:
        body = json.loads(canonical_bytes(make_results()))
        body["results"] = [json.loads(result.model_dump_json()) for result in twice]
        with pytest.raises(InputError) as caught:
            parse_results(json.dumps(body).encode(), "run.json")
        assert (caught.value.field, caught.value.message) == ("results", shown)


def test_per_item_values_carry_their_item_kind() -> None:
    result = make_task_result()
    assert result.per_item is not None
    assert result.per_item.kind == "query"
    assert set(result.per_item.values) == {"ndcg@10", "recall@100"}
    assert ItemValues(kind="pair", values={"ndcg@10": {}}).kind == "pair"
    with pytest.raises(ValidationError):
        ItemValues(kind="query", values={})  # at least one metric
    with pytest.raises(ValidationError):
        ItemValues.model_validate({"kind": "row", "values": {"ndcg@10": {"1": 0.5}}})
    with pytest.raises(ValidationError, match="per_item has 'map@100', which is not among the metrics"):
        TaskResult.model_validate(
            {**result.model_dump(), "per_item": {"kind": "query", "values": {"map@100": {"1": 0.5}}}}
        )
    no_items = TaskResult.model_validate({**result.model_dump(), "per_item": None})
    assert no_items.per_item is None


# --- schema 1 files ------------------------------------------------------------------------------------


def as_v1(results: ResultsFile, index_bytes: int | None = None) -> dict[str, Any]:
    """The document as schema 1 wrote it: ``dataset``, bare ``per_item``, ``index_bytes``, no annotations."""
    body: dict[str, Any] = json.loads(canonical_bytes(results))
    body["schema_version"] = 1
    for key in ANNOTATIONS:
        del body[key]
    for result in body["results"]:
        result["dataset"] = result.pop("inputs")
        for key in ("generator", "seed"):
            result["dataset"].pop(key)
        per_item = result.pop("per_item")
        if per_item is not None:
            result["per_item"] = per_item["values"]
        for key in ("variant", "predictions", "replicates", "sizes_bytes"):
            result.pop(key)
        if index_bytes is not None:
            result["index_bytes"] = index_bytes
    return body


def test_a_schema_1_file_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    assert SCHEMA_VERSION == 2
    assert set(MIGRATIONS) == {1}
    current = make_results(scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3})
    indexed = current.model_copy(
        update={"results": [r.model_copy(update={"sizes_bytes": {"index": 4096}}) for r in current.results]}
    )
    old = as_v1(current, index_bytes=4096)
    v1_schema = json.loads((SCHEMA_PATH.parent / "results-v1.json").read_bytes())
    assert list(Draft202012Validator(v1_schema).iter_errors(old)) == []  # a genuine schema-1 document
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old, indent=2))
    upgraded, version = read_versioned(path)
    assert version == 1
    assert upgraded == indexed
    assert upgraded.origin == "local" and upgraded.verifications == []
    assert upgraded.results[0].per_item is not None and upgraded.results[0].per_item.kind == "query"
    assert digest(upgraded) == digest(indexed)  # the digest is of the upgraded content
    assert parse_versioned(canonical_bytes(indexed), "run.json") == (indexed, 2)


def test_the_migration_is_pure_and_leaves_what_it_does_not_know() -> None:
    old = as_v1(make_results())
    before = json.dumps(old)
    upgraded = v1_to_v2(old)
    assert json.dumps(old) == before  # the input is left alone
    assert upgraded["schema_version"] == 2
    assert upgraded["origin"] == "local" and upgraded["verifications"] == []
    assert "dataset" not in upgraded["results"][0] and "inputs" in upgraded["results"][0]
    assert "index_bytes" not in upgraded["results"][0] and "sizes_bytes" not in upgraded["results"][0]
    assert v1_to_v2({"schema_version": 1, "results": ["junk"]})["results"] == ["junk"]
    assert v1_to_v2({"schema_version": 1, "results": "junk"})["results"] == "junk"


def test_an_error_in_a_migrated_file_says_so() -> None:
    old = as_v1(make_results())
    del old["results"][0]["dataset"]["fingerprint"]
    with pytest.raises(InputError) as caught:
        parse_results(json.dumps(old).encode(), "old.json")
    assert caught.value.field == "results[0].inputs.fingerprint"
    assert caught.value.message.endswith(" (in the file as upgraded from schema_version 1)")
    current = json.loads(canonical_bytes(make_results()))
    del current["results"][0]["inputs"]["fingerprint"]
    with pytest.raises(InputError) as caught:
        parse_results(json.dumps(current).encode(), "new.json")
    assert "upgraded" not in caught.value.message


# --- refusals -------------------------------------------------------------------------------------


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        target: Any = body
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return edit


def _delete(path: tuple[str | int, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        target: Any = body
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return edit


def _nest(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


EDITS = {
    "nan": (_set(("results", 0, "metrics", "ndcg@10"), float("nan")), "results[0].metrics.ndcg@10"),
    "infinity": (_set(("results", 0, "timings_s", "total"), float("inf")), "results[0].timings_s.total"),
    "minus-infinity": (_set(("results", 0, "settings", "k"), float("-inf")), "results[0].settings.k"),
    "string-for-float": (_set(("results", 0, "metrics", "ndcg@10"), "0.5"), "results[0].metrics.ndcg@10"),
    "bool-for-int": (_set(("seed",), True), "seed"),
    "extra-field": (_set(("model", "colour"), "red"), "model.colour"),
    "extra-top-level": (_set(("comment",), "hi"), "comment"),
    "missing-field": (_delete(("results", 0, "inputs", "fingerprint")), "results[0].inputs.fingerprint"),
    "v1-field-in-v2": (_set(("results", 0, "dataset"), {}), "results[0].dataset"),
    "unknown-origin": (_set(("origin",), "elsewhere"), "origin"),
    "per-item-kind": (_set(("results", 0, "per_item", "kind"), "row"), "results[0].per_item.kind"),
    "per-item-empty": (_set(("results", 0, "per_item", "values"), {}), "results[0].per_item.values"),
    "per-item-not-a-metric": (
        _set(("results", 0, "per_item", "values", "map@100"), {"1": 0.5}),
        "results[0]",
    ),
    "negative-size": (_set(("results", 0, "sizes_bytes"), {"index": -1}), "results[0].sizes_bytes.index"),
    "negative-variant": (_set(("results", 0, "variant"), {"layer": -1}), "results[0].variant"),
    "empty-variant-value": (_set(("results", 0, "variant"), {"head": ""}), "results[0].variant"),
    "boolean-variant": (_set(("results", 0, "variant"), {"dim": True}), "results[0].variant"),
    "verification-without-checks": (
        _set(("verifications",), [{"at": "2026-01-02T00:00:00Z", "reproduced": True, "checks": []}]),
        "verifications[0].harness",
    ),
    "naive-datetime": (_set(("created_at",), "2026-01-01T12:00:00"), "created_at"),
    "schema-version-3": (_set(("schema_version",), 3), "schema_version"),
    "schema-version-0": (_set(("schema_version",), 0), "schema_version"),
    "schema-version-string": (_set(("schema_version",), "2"), "schema_version"),
    "schema-version-missing": (_delete(("schema_version",)), "schema_version"),
    # root (1) > results (2) > task (3) > settings (4) > deep (5): the first value below level 32 is named
    "too-deep": (
        _set(("results", 0, "settings", "deep"), _nest(MAX_NESTING)),
        "results[0].settings.deep" + ".a" * (MAX_NESTING - 4),
    ),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_each_refusal_is_one_input_error_naming_the_field(name: str) -> None:
    edit, field = EDITS[name]
    body = document()
    edit(body)
    data = json.dumps(body).encode()  # writes NaN / Infinity literals, as a careless writer would
    with pytest.raises(InputError) as caught:
        parse_results(data, "run.json")
    error = caught.value
    assert error.where == "run.json"
    assert error.field == field
    assert str(error).startswith(f"run.json: {field}: ")
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ({"layer": -1}, "layer: -1 is negative"),
        ({"head": ""}, "head: a variant value is 1 to 50 characters, not 0"),
        ({"dim": True}, "dim: True is neither a non-negative integer nor a name"),
        ({"dim": 1.5}, "dim: 1.5 is neither a non-negative integer nor a name"),
    ],
)
def test_a_bad_variant_is_named_by_its_key_not_by_a_union_branch(
    variant: dict[str, object], message: str
) -> None:
    body = document()
    body["results"][0]["variant"] = variant
    with pytest.raises(InputError) as caught:
        parse_results(json.dumps(body).encode(), "run.json")
    assert caught.value.field == "results[0].variant"
    assert caught.value.message == message


def test_non_finite_literals_are_named_as_such() -> None:
    body = document()
    body["results"][0]["metrics"]["ndcg@10"] = float("nan")
    with pytest.raises(InputError, match=r"results\[0\]\.metrics\.ndcg@10: .*finite.*NaN"):
        parse_results(json.dumps(body).encode(), "run.json")


def test_nesting_at_the_limit_is_accepted() -> None:
    body = document()
    # root object (1) > results list (2) > task (3) > settings (4) > MAX_NESTING - 4 more levels
    body["results"][0]["settings"]["deep"] = _nest(MAX_NESTING - 5)
    parse_results(json.dumps(body).encode(), "run.json")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            json.dumps(document()).replace('"beir"', '"be\\u00efr"').encode().replace(b"\\u00ef", b"\xff"),
            "(file)",
            "not UTF-8",
        ),
        (b"[" * 200_000 + b"]" * 200_000, "(file)", "nested too deeply"),
        (b'{"schema_version": 1,', "(file)", "not valid JSON"),
        (b"[1, 2]", "(document)", "JSON object"),
        (b"", "(file)", "not valid JSON"),
    ],
    ids=["invalid-utf8", "recursion", "truncated", "not-an-object", "empty"],
)
def test_unreadable_bytes_are_one_input_error(data: bytes, field: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_results(data, "run.json")
    assert caught.value.field == field
    assert message in str(caught.value)


def test_oversize_bytes_are_refused_before_parsing() -> None:
    data = b" " * (MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match=r"run\.json: \(file\): larger than 50 MB"):
        parse_results(data, "run.json")


def test_oversize_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk and no memory
    with pytest.raises(InputError) as caught:
        read_results(path, "huge.json")
    assert str(caught.value) == "huge.json: (file): larger than 50 MB"


def test_missing_file_and_folder_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_results(tmp_path / "absent.json", "absent.json")
    with pytest.raises(InputError, match="is a directory"):
        read_results(tmp_path, "results/")


# --- JSON Schema ----------------------------------------------------------------------------------


def test_committed_json_schema_matches_the_model() -> None:
    assert SCHEMA_PATH.name == f"results-v{SCHEMA_VERSION}.json" == "results-v2.json"
    committed = SCHEMA_PATH.read_bytes()
    assert committed == json_schema_bytes(), (
        f"{SCHEMA_PATH.name} is out of date with harness.results.ResultsFile: run `harness schema --write` "
        "and commit the file (a schema change for existing fields also needs a schema_version bump)"
    )


def test_schema_file_is_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA_PATH.read_bytes())
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://repbench.org/schema/results-v2.json"
    assert {"origin", "verifications", "results"} <= set(schema["properties"])
    task = schema["$defs"]["TaskResult"]["properties"]
    assert {"inputs", "per_item", "predictions", "replicates", "variant", "sizes_bytes"} <= set(task)
    assert not {"dataset", "index_bytes"} & set(task)


def test_the_historical_v1_schema_stays_as_it_was() -> None:
    from jsonschema import Draft202012Validator

    v1 = json.loads((SCHEMA_PATH.parent / "results-v1.json").read_bytes())
    Draft202012Validator.check_schema(v1)
    assert v1["properties"]["schema_version"]["const"] == 1
    assert {"dataset", "index_bytes"} <= set(v1["$defs"]["TaskResult"]["properties"])


def test_an_annotated_file_with_replicates_and_variants_validates_against_the_json_schema() -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_bytes()))
    results = make_results(
        results=[replicated([0.5, 0.7]).model_copy(update={"variant": {"layer": 4, "dim": 128}})]
    ).model_copy(update={"origin": "submission", "verifications": [verification()]})
    body = json.loads(canonical_bytes(results))
    assert list(validator.iter_errors(body)) == []
    body["origin"] = "elsewhere"
    body["results"][0]["replicates"][0] = {"metrics": {}}
    assert len(list(validator.iter_errors(body))) >= 2


# --- a real run -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_run(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[ResultsFile, Path]:
    """bm25s over SciFact test, as `harness run --model bm25s --suite beir` does (about 3 s)."""
    cache = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("results")
    model = registry.load_model("bm25s", ModelOptions(cache_dir=cache))
    suite = registry.suite("beir")
    tasks = suite.select(data_root, ["scifact"], "test").tasks
    results = runner.run(model, suite, tasks, data_root)
    return results, write_results(results, out)


def test_a_real_run_round_trips_and_is_named_by_its_digest(real_run: tuple[ResultsFile, Path]) -> None:
    results, path = real_run
    again = read_results(path)
    assert again == results
    assert path.name == f"beir-{digest(again)[:12]}.json"
    assert path.parent.name == "bm25s"
    assert (again.origin, again.verifications, again.schema_version) == ("local", [], 2)
    task = again.results[0]
    assert task.inputs.verified
    assert task.inputs.counts == {"corpus": 5183, "queries": 300, "qrels": 339}
    assert set(task.inputs.files) == {"corpus.jsonl", "queries.jsonl", "qrels/test.tsv"}
    assert (task.variant, task.predictions, task.replicates) == ({}, None, [])
    assert task.per_item is not None and task.per_item.kind == "query"
    assert set(task.per_item.values) == set(task.metrics)
    assert all(len(values) == 300 for values in task.per_item.values.values())
    assert task.sizes_bytes["index"] > 0  # the bm25s matrix searched
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_real_results_file_validates_against_the_json_schema(real_run: tuple[ResultsFile, Path]) -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_bytes()))
    body = json.loads(real_run[1].read_bytes())
    assert list(validator.iter_errors(body)) == []
    # and the schema is not vacuous: what pydantic refuses, it refuses too
    body["model"]["colour"] = "red"
    del body["results"][0]["inputs"]["fingerprint"]
    assert len(list(validator.iter_errors(body))) >= 2


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (key, *_strings(item))]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_a_real_results_file_holds_no_absolute_path(
    data_root: Path, real_run: tuple[ResultsFile, Path]
) -> None:
    _, path = real_run
    text = path.read_text()
    machine_paths = {
        str(data_root),
        str(data_root.resolve()),
        str(Path.home()),
        sys.prefix,
        os.getcwd(),  # noqa: PTH109
        str(Path(registry.__file__).resolve().parent.parent),
        str(path.parent.parent),
    }
    for machine_path in machine_paths:
        assert machine_path not in text, machine_path
    absolute = [s for s in _strings(json.loads(text)) if s.startswith(("/", "~", "file:")) or s[1:3] == ":\\"]
    assert absolute == []
