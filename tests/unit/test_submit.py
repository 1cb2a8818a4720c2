"""submit.check on hand-made files, and submit.submit on a real SQLite file and a real folder."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import make_submission
from sqlalchemy import Engine, event, text

from harness import registry, store, submit
from harness.errors import InputError
from harness.results import ResultsFile, canonical_bytes, digest, parse_results

Document = dict[str, Any]


def document(**kwargs: Any) -> Document:
    loaded: Document = json.loads(canonical_bytes(make_submission(**kwargs)))
    return loaded


def parse(body: Document) -> ResultsFile:
    return parse_results(json.dumps(body).encode(), "run.json")


def refusal(body: Document) -> InputError:
    with pytest.raises(InputError) as caught:
        submit.check(parse(body), "run.json")
    error = caught.value
    assert error.where == "run.json"
    assert "\n" not in str(error) and str(error).isprintable()
    return error


def task_of(body: Document) -> Document:
    result: Document = body["results"][0]
    return result


# --- accepted -------------------------------------------------------------------------------------


def test_a_file_matching_the_card_is_verified() -> None:
    (verdict,) = submit.check(parse(document()), "run.json")
    assert verdict == submit.TaskVerdict("beir/scifact", "test", verified=True)


def test_a_reference_run_passes(data_root: Path) -> None:
    """The aggregates of a real run are the fsum means of its per-query values."""
    from harness import runner

    tasks, _ = registry.suite_tasks("beir", data_root, ["scifact"], "test")
    model = registry.load_model("bm25s", registry.ModelOptions(cache_dir=data_root / "unused"))
    results = runner.run(model, tasks, "beir")
    again = parse_results(canonical_bytes(results), "run.json")
    (verdict,) = submit.check(again, "run.json")
    assert verdict.verified


def test_other_data_is_accepted_as_unverified() -> None:
    (verdict,) = submit.check(parse(document(verified=False)), "run.json")
    assert not verdict.verified
    assert verdict.note == "the dataset fingerprint differs from the data card's"


def test_data_matching_the_card_but_not_claimed_stays_unverified() -> None:
    body = document()
    task_of(body)["dataset"]["verified"] = False
    (verdict,) = submit.check(parse(body), "run.json")
    assert not verdict.verified and verdict.note == "the file does not claim verified"


# --- refused: numbers -----------------------------------------------------------------------------


def test_tampered_aggregate_is_refused_naming_the_field() -> None:
    body = document()
    metrics = task_of(body)["metrics"]
    true_mean = metrics["ndcg@10"]
    metrics["ndcg@10"] += 0.01
    error = refusal(body)
    assert error.field == "results[0].metrics.ndcg@10"
    assert str(error) == (
        f"run.json: results[0].metrics.ndcg@10: {true_mean + 0.01:.4f} is not the mean of per_item "
        f"({true_mean:.4f})"
    )


def test_a_difference_below_four_decimals_is_shown_with_the_digits_that_differ() -> None:
    body = document()
    task_of(body)["metrics"]["recall@100"] += 2e-7
    error = refusal(body)
    claimed, _, mean = error.message.partition(" is not the mean of per_item ")
    assert claimed != mean.strip("()") and len(claimed.split(".")[1]) == 7


def test_aggregate_within_summation_noise_is_accepted() -> None:
    body = document()
    task_of(body)["metrics"]["ndcg@10"] += 5e-10
    submit.check(parse(body), "run.json")


def test_tampered_per_item_value_is_refused() -> None:
    body = document()
    task_of(body)["per_item"]["ndcg@10"]["7"] += 0.3
    assert refusal(body).field == "results[0].metrics.ndcg@10"


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda r: r["per_item"].pop("recall@100"), "results[0].per_item.recall@100", "missing"),
        (
            lambda r: r["per_item"]["recall@100"].pop("3"),
            "results[0].per_item.recall@100",
            "holds 299 values, but dataset.counts.queries is 300",
        ),
        (
            lambda r: r["dataset"]["counts"].update(corpus=5184),
            "results[0].dataset.verified",
            "counts differ",
        ),
        (
            lambda r: r["dataset"]["counts"].pop("queries"),
            "results[0].dataset.counts.queries",
            "missing",
        ),
        (
            lambda r: r["per_item"]["recall@100"].update({"x": r["per_item"]["recall@100"].pop("3")}),
            "results[0].per_item.recall@100",
            "other queries",
        ),
        (
            lambda r: [
                r["dataset"]["counts"].update(queries=0),
                *(v.clear() for v in r["per_item"].values()),
            ],
            "results[0].dataset.counts.queries",
            "no queries",
        ),
    ],
    ids=[
        "metric-without-per-item",
        "fewer-items-than-queries",
        "counts-off",
        "no-query-count",
        "other-ids",
        "none",
    ],
)
def test_per_item_must_cover_every_metric_and_query(
    edit: Callable[[Document], object], field: str, message: str
) -> None:
    body = document()
    edit(task_of(body))
    error = refusal(body)
    assert (error.field, message in error.message) == (field, True)


def test_out_of_range_aggregate_is_refused() -> None:
    body = document(queries=2)
    result = task_of(body)
    result["per_item"]["ndcg@10"] = {"1": 1.5, "2": 1.5}
    result["metrics"]["ndcg@10"] = 1.5
    error = refusal(body)
    assert error.field == "results[0].metrics.ndcg@10" and "outside [0.0, 1.0]" in error.message


def test_out_of_range_per_item_value_is_refused_even_when_the_mean_is_in_range() -> None:
    body = document(queries=2)
    result = task_of(body)
    result["per_item"]["ndcg@10"] = {"1": -0.5, "2": 1.5}
    result["metrics"]["ndcg@10"] = 0.5
    assert refusal(body).field == "results[0].per_item.ndcg@10.1"


def test_unknown_metric_is_refused() -> None:
    body = document()
    result = task_of(body)
    result["metrics"]["ndcg@20"] = result["metrics"]["ndcg@10"]
    result["per_item"]["ndcg@20"] = result["per_item"]["ndcg@10"]
    error = refusal(body)
    assert error.field == "results[0].metrics.ndcg@20" and "not a metric of beir/scifact" in error.message


def test_other_main_metric_is_refused() -> None:
    body = document()
    task_of(body)["main_metric"] = "recall@100"
    assert refusal(body).field == "results[0].main_metric"


# --- refused: tasks and data ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda b: task_of(b).update(task="beir/nope"), "results[0].task"),
        (lambda b: task_of(b).update(task="sts/scifact"), "results[0].task"),
        (lambda b: b.update(suite="nope") or task_of(b).update(task="nope/scifact"), "suite"),
        (lambda b: task_of(b).update(split="dev"), "results[0].split"),
        (lambda b: task_of(b).update(task_version=2), "results[0].task_version"),
        (lambda b: task_of(b)["dataset"].update(id="beir/nfcorpus"), "results[0].dataset.id"),
    ],
    ids=["unknown-dataset", "other-suite", "unknown-suite", "unknown-split", "future-version", "other-data"],
)
def test_unknown_tasks_are_refused(edit: Callable[[Document], object], field: str) -> None:
    body = document()
    edit(body)
    assert refusal(body).field == field


def test_old_task_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the task is bumped to version 2, files of version 1 no longer compare."""
    build = registry.suite_tasks

    def bumped(*args: Any) -> Any:
        tasks, skipped = build(*args)
        return tuple(dataclasses.replace(task, version=2) for task in tasks), skipped

    monkeypatch.setattr(registry, "suite_tasks", bumped)
    error = refusal(document())
    assert error.field == "results[0].task_version"
    assert error.message.startswith("1 is not the current version of beir/scifact (2)")


def test_claimed_verified_with_other_data_is_refused_as_inconsistent() -> None:
    body = document(verified=False)
    task_of(body)["dataset"]["verified"] = True
    error = refusal(body)
    assert error.field == "results[0].dataset.verified"
    assert error.message == "claims true, but the dataset fingerprint differs from the data card's"


def test_fingerprint_not_of_the_files_is_refused() -> None:
    body = document()
    task_of(body)["dataset"]["fingerprint"] = "0" * 64
    assert refusal(body).field == "results[0].dataset.fingerprint"


def test_partial_file_set_cannot_claim_verified() -> None:
    """Hashes restricted to the files in the record must still be the whole split, not a part of it."""
    from harness.data.cards import fingerprint

    body = document()
    dataset = task_of(body)["dataset"]
    del dataset["files"]["queries.jsonl"]
    dataset["fingerprint"] = fingerprint(dataset["files"])
    assert refusal(body).field == "results[0].dataset.verified"


# --- refused: model id ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_id",
    ["../../x", "/etc/passwd", "org/../../x", "a//b", "./m", "..", "x\\..\\y", "~/m", " m", "rrf:a+../b"],
)
def test_path_like_model_ids_are_refused(model_id: str) -> None:
    body = document()
    body["model"]["id"] = model_id
    error = refusal(body)
    assert error.field == "model.id"


@pytest.mark.parametrize("model_id", ["a\nb", "m\x00", "\u202eevil", "x\x1b[31m", "m\u2028"])
def test_model_ids_with_control_characters_are_refused_in_one_line(model_id: str) -> None:
    body = document()
    body["model"]["id"] = model_id
    error = refusal(body)
    assert error.field == "model.id" and "unprintable character U+" in error.message


@pytest.mark.parametrize(
    "model_id",
    ["bm25s", "sentence-transformers/all-MiniLM-L6-v2", "rrf:bm25s+org/model-v1.5", "org/m (int8)"],
)
def test_ordinary_model_ids_are_accepted(model_id: str) -> None:
    body = document()
    body["model"]["id"] = model_id
    submit.check(parse(body), "run.json")


def test_field_names_from_the_file_are_escaped_into_one_line() -> None:
    body = document()
    result = task_of(body)
    result["metrics"]["ndcg@10\nFAKE: ok"] = 0.5
    error = refusal(body)
    assert error.field == "results[0].metrics.ndcg@10\\nFAKE: ok"


# --- submit: filing and ingest on disk -------------------------------------------------------------


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = store.connect(f"sqlite:///{db_path}")
    yield engine
    engine.dispose()


def write(path: Path, results: ResultsFile | bytes) -> Path:
    """The file as a submitter sends it: any layout (indented here), the same content."""
    if isinstance(results, ResultsFile):
        results = json.dumps(json.loads(canonical_bytes(results)), indent=2).encode()
    path.write_bytes(results)
    return path


def rows(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        counts = [
            connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("runs", "task_results", "metrics")
        ]
    return counts[0], counts[1], counts[2]


def test_submit_files_the_canonical_bytes_under_the_digest_and_ingests(
    engine: Engine, tmp_path: Path
) -> None:
    results = make_submission(model_id="org/model")
    source = write(tmp_path / "run.json", results)
    done = submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    assert done.written and done.ingested
    assert done.path == tmp_path / "submissions" / f"{digest(results)}.json"
    assert done.path.read_bytes() == canonical_bytes(results)
    assert hashlib.sha256(done.path.read_bytes()).hexdigest() == done.digest
    assert sorted(p.name for p in (tmp_path / "submissions").iterdir()) == [done.path.name]
    (row,) = store.list_runs(engine).itertuples()
    assert (row.digest, row.origin, row.model_id) == (done.digest, "submission", "org/model")


def test_resubmission_is_a_no_op(engine: Engine, db_path: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "run.json", make_submission())
    first = submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    engine.dispose()
    before = db_path.read_bytes(), first.path.stat().st_mtime_ns, rows(engine)
    engine.dispose()
    again = submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    assert (again.written, again.ingested, again.digest) == (False, False, first.digest)
    engine.dispose()
    assert (db_path.read_bytes(), first.path.stat().st_mtime_ns, rows(engine)) == before


def test_refused_file_writes_nothing(tmp_path: Path) -> None:
    body = document()
    task_of(body)["metrics"]["ndcg@10"] += 0.01
    source = write(tmp_path / "run.json", json.dumps(body).encode())
    with pytest.raises(InputError):
        submit.accept(source, "run.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_failed_ingest_removes_the_file_it_wrote(engine: Engine, tmp_path: Path) -> None:
    source = write(tmp_path / "run.json", make_submission())

    def fail_on_metrics(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO metrics"):
            raise RuntimeError("disk gone")

    event.listen(engine, "before_cursor_execute", fail_on_metrics)
    with pytest.raises(RuntimeError, match="disk gone"):
        submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    assert list((tmp_path / "submissions").iterdir()) == []
    assert rows(engine) == (0, 0, 0)


def test_failed_ingest_keeps_a_file_that_was_already_there(engine: Engine, tmp_path: Path) -> None:
    results = make_submission()
    source = write(tmp_path / "run.json", results)
    kept = tmp_path / "submissions" / f"{digest(results)}.json"
    kept.parent.mkdir()
    kept.write_bytes(canonical_bytes(results))  # filed earlier, database rebuilt without it since

    def fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO runs"):
            raise RuntimeError("disk gone")

    event.listen(engine, "before_cursor_execute", fail)
    with pytest.raises(RuntimeError):
        submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    assert kept.read_bytes() == canonical_bytes(results)


def test_a_foreign_file_under_the_digest_name_is_not_overwritten(engine: Engine, tmp_path: Path) -> None:
    results = make_submission()
    source = write(tmp_path / "run.json", results)
    squatter = tmp_path / "submissions" / f"{digest(results)}.json"
    squatter.parent.mkdir()
    squatter.write_bytes(b"something else")
    with pytest.raises(InputError, match="exists with other bytes"):
        submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    assert squatter.read_bytes() == b"something else"
    assert rows(engine) == (0, 0, 0)
