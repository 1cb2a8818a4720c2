"""The results file (DESIGN §4): round trip, content-addressed digest, atomic writes, refusals, schema.

Refusals are checked as the CLI shows them: one ``InputError`` whose field is the JSON path of the
first thing wrong. The last tests take a file written by a real run (bm25s over SciFact) and check
it against the committed JSON Schema and for absolute paths of the machine.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import make_results

from harness import registry, runner
from harness.errors import InputError
from harness.results import (
    MAX_FILE_BYTES,
    MAX_NESTING,
    SCHEMA_PATH,
    ResultsFile,
    atomic_write_bytes,
    canonical_bytes,
    digest,
    json_schema_bytes,
    model_slug,
    parse_results,
    read_results,
    write_results,
)

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def document(results: ResultsFile | None = None) -> dict[str, Any]:
    return json.loads(canonical_bytes(results or make_results()))


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
    "missing-field": (_delete(("results", 0, "dataset", "fingerprint")), "results[0].dataset.fingerprint"),
    "naive-datetime": (_set(("created_at",), "2026-01-01T12:00:00"), "created_at"),
    "schema-version-2": (_set(("schema_version",), 2), "schema_version"),
    "schema-version-missing": (_delete(("schema_version",)), "schema_version"),
    "too-deep": (_set(("results", 0, "settings", "deep"), _nest(MAX_NESTING)), "(document)"),
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
    committed = SCHEMA_PATH.read_bytes()
    assert committed == json_schema_bytes(), (
        f"{SCHEMA_PATH.name} is out of date with harness.results.ResultsFile: run `harness schema --write` "
        "and commit the file (a schema change for existing fields also needs a schema_version bump)"
    )


def test_schema_file_is_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_bytes()))


# --- a real run -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_run(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[ResultsFile, Path]:
    """bm25s over SciFact test, as `harness run --model bm25s --suite beir` does (about 3 s)."""
    cache = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("results")
    model = registry.load_model("bm25s", registry.ModelOptions(cache_dir=cache))
    tasks, _ = registry.suite_tasks("beir", data_root, ["scifact"], "test")
    results = runner.run(model, tasks, "beir")
    return results, write_results(results, out)


def test_a_real_run_round_trips_and_is_named_by_its_digest(real_run: tuple[ResultsFile, Path]) -> None:
    results, path = real_run
    again = read_results(path)
    assert again == results
    assert path.name == f"beir-{digest(again)[:12]}.json"
    assert path.parent.name == "bm25s"
    task = again.results[0]
    assert task.dataset.verified
    assert task.dataset.counts == {"corpus": 5183, "queries": 300, "qrels": 339}
    assert set(task.dataset.files) == {"corpus.jsonl", "queries.jsonl", "qrels/test.tsv"}


def test_a_real_results_file_validates_against_the_json_schema(real_run: tuple[ResultsFile, Path]) -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_bytes()))
    body = json.loads(real_run[1].read_bytes())
    assert list(validator.iter_errors(body)) == []
    # and the schema is not vacuous: what pydantic refuses, it refuses too
    body["model"]["colour"] = "red"
    del body["results"][0]["dataset"]["fingerprint"]
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
