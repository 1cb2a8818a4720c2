"""submit.check on hand-made files, and submit.submit on a real SQLite file and a real folder.

Most checks run without local data (``data_root=None``); the check against the local qrels runs on
the real SciFact copy, with files that carry its real test query ids.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import make_submission
from sqlalchemy import Engine, event, text

from harness import registry, runner, store, submit
from harness.data.cards import DatasetCard
from harness.errors import InputError, SettingError
from harness.models.options import ModelOptions
from harness.results import (
    Hardware,
    HarnessRecord,
    MetricCheck,
    ResultsFile,
    Verification,
    canonical_bytes,
    digest,
    identity_bytes,
    parse_results,
    pretty_bytes,
)
from harness.suites.base import Suite
from harness.suites.beir import SUITE as BEIR
from harness.suites.beir.cards import SCIFACT
from harness.suites.beir.data import load_beir
from harness.suites.beir.task import RetrievalTask

Document = dict[str, Any]


def document(**kwargs: Any) -> Document:
    loaded: Document = json.loads(canonical_bytes(make_submission(**kwargs)))
    return loaded


def parse(body: Document) -> ResultsFile:
    return parse_results(json.dumps(body).encode(), "run.json")


def refusal(
    body: Document, data_root: Path | None = None, suites: Mapping[str, Suite] = registry.SUITES
) -> InputError:
    with pytest.raises(InputError) as caught:
        submit.check(parse(body), "run.json", data_root, suites)
    error = caught.value
    assert error.where == "run.json"
    assert "\n" not in str(error) and str(error).isprintable()
    return error


@pytest.fixture(scope="module")
def scifact_query_ids(data_root: Path) -> list[str]:
    """The 300 query ids of the real SciFact test qrels ("1", "3", "5" ...)."""
    return sorted(load_beir(SCIFACT, data_root, "test").qrels, key=int)


def verification(reproduced: bool) -> Verification:
    return Verification(
        at=datetime(2026, 1, 2, tzinfo=UTC),
        harness=HarnessRecord(version="0.2.0"),
        hardware=Hardware(cpu="somewhere", logical_cpus=8, memory_gib=32),
        reproduced=reproduced,
        checks=[
            MetricCheck(task="beir/scifact", split="test", metric="ndcg@10", claimed=0.5, now=0.5, grade="OK")
        ],
    )


def task_of(body: Document) -> Document:
    result: Document = body["results"][0]
    return result


# --- accepted -------------------------------------------------------------------------------------


def test_a_file_matching_the_card_is_verified() -> None:
    (verdict,) = submit.check(parse(document()), "run.json", None)
    assert verdict == submit.TaskVerdict("beir/scifact", "test", "", verified=True, rescored=False)
    assert verdict.key == ("beir/scifact", "test", "")


def test_a_reference_run_passes(data_root: Path, tmp_path: Path) -> None:
    """The aggregates of a real run are the fsum means of its per-query values, over the local qrels."""
    suite = registry.suite("beir")
    tasks = suite.select(data_root, ["scifact"], "test").tasks
    model = registry.load_model("bm25s", ModelOptions(cache_dir=tmp_path / "cache"))
    results = runner.run(model, suite, tasks, data_root)
    again = parse_results(canonical_bytes(results), "run.json")
    for root in (data_root, None):
        (verdict,) = submit.check(again, "run.json", root)
        assert verdict.verified
        assert not verdict.rescored  # retrieval means are checked, never recomputed from the data


def test_other_data_is_accepted_as_unverified() -> None:
    (verdict,) = submit.check(parse(document(verified=False)), "run.json", None)
    assert not verdict.verified
    assert verdict.note == "the dataset fingerprint differs from the data card's"


def test_data_matching_the_card_but_not_claimed_stays_unverified() -> None:
    body = document()
    task_of(body)["inputs"]["verified"] = False
    (verdict,) = submit.check(parse(body), "run.json", None)
    assert not verdict.verified and verdict.note == "the file does not claim verified"


# --- the local data: per-query ids are the local qrels' queries ---------------------------------------


def test_real_query_ids_pass_the_check_against_the_local_qrels(
    data_root: Path, scifact_query_ids: list[str]
) -> None:
    assert scifact_query_ids[:3] == ["1", "3", "5"]
    body = document(query_ids=scifact_query_ids)
    (verdict,) = submit.check(parse(body), "run.json", data_root)
    assert verdict.verified


def test_query_ids_that_are_not_scifact_test_queries_are_refused_with_local_data(
    data_root: Path, scifact_query_ids: list[str]
) -> None:
    body = document()  # ids "1" .. "300": many are no SciFact test query
    stray = sorted({str(n) for n in range(1, 301)} - set(scifact_query_ids))
    assert stray
    submit.check(parse(body), "run.json", None)  # without the data nothing tells
    error = refusal(body, data_root)
    assert error.field == "results[0].per_item.values"
    assert error.message == (
        f"holds a query id the qrels lack of the local beir/scifact data (e.g. {stray[0]!r})"
    )


def test_one_stray_query_id_is_named(data_root: Path, scifact_query_ids: list[str]) -> None:
    ids = [*scifact_query_ids[:-1], "999999"]  # 300 ids, one of them not a test query
    error = refusal(document(query_ids=ids), data_root)
    assert (error.field, "'999999'" in error.message) == ("results[0].per_item.values", True)


def test_the_local_qrels_are_not_held_against_other_data(data_root: Path) -> None:
    """A file over other bytes (unverified) is checked for its own consistency only."""
    (verdict,) = submit.check(parse(document(verified=False)), "run.json", data_root)
    assert not verdict.verified


def test_a_data_root_without_the_dataset_checks_without_it(tmp_path: Path) -> None:
    for root in (tmp_path, tmp_path / "absent"):
        (verdict,) = submit.check(parse(document()), "run.json", root)
        assert verdict.verified


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
    submit.check(parse(body), "run.json", None)


def test_tampered_per_item_value_is_refused() -> None:
    body = document()
    task_of(body)["per_item"]["values"]["ndcg@10"]["7"] += 0.3
    assert refusal(body).field == "results[0].metrics.ndcg@10"


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            lambda r: r["per_item"]["values"].pop("recall@100"),
            "results[0].per_item.values.recall@100",
            "missing",
        ),
        (
            lambda r: r["per_item"]["values"]["recall@100"].pop("3"),
            "results[0].per_item.values.recall@100",
            "holds 299 values, but inputs.counts.queries is 300",
        ),
        (
            lambda r: r["inputs"]["counts"].update(corpus=5184),
            "results[0].inputs.verified",
            "counts differ",
        ),
        (
            lambda r: r["inputs"]["counts"].pop("queries"),
            "results[0].inputs.counts.queries",
            "missing",
        ),
        (
            lambda r: r["per_item"]["values"]["recall@100"].update(
                {"x": r["per_item"]["values"]["recall@100"].pop("3")}
            ),
            "results[0].per_item.values.recall@100",
            "scores other items than the other metrics",
        ),
        (
            lambda r: [
                r["inputs"]["counts"].update(queries=0),
                *(v.clear() for v in r["per_item"]["values"].values()),
            ],
            "results[0].inputs.counts.queries",
            "a mean over no items is undefined",
        ),
        (
            lambda r: r.update(per_item=None),
            "results[0].per_item",
            "missing: beir/scifact keeps a value per query",
        ),
        (lambda r: r["per_item"].update(kind="pair"), "results[0].per_item.kind", "of kind 'query'"),
    ],
    ids=[
        "metric-without-per-item",
        "fewer-items-than-queries",
        "counts-off",
        "no-query-count",
        "other-ids",
        "none",
        "no-per-item",
        "other-item-kind",
    ],
)
def test_per_item_must_cover_every_metric_and_query(
    edit: Callable[[Document], object], field: str, message: str
) -> None:
    # a file claiming the card's data is held to the card first (inputs.verified): the per-item rules
    # hold for every file, so they are shown on one over other data
    body = document(verified=field == "results[0].inputs.verified")
    edit(task_of(body))
    error = refusal(body)
    assert (error.field, message in error.message) == (field, True)


def test_out_of_range_aggregate_is_refused() -> None:
    body = document(queries=2)
    result = task_of(body)
    result["per_item"]["values"]["ndcg@10"] = {"1": 1.5, "2": 1.5}
    result["metrics"]["ndcg@10"] = 1.5
    error = refusal(body)
    assert error.field == "results[0].metrics.ndcg@10" and "outside [0.0, 1.0]" in error.message


def test_out_of_range_per_item_value_is_refused_even_when_the_mean_is_in_range() -> None:
    body = document(queries=2, verified=False)
    result = task_of(body)
    result["per_item"]["values"]["ndcg@10"] = {"1": -0.5, "2": 1.5}
    result["metrics"]["ndcg@10"] = 0.5
    error = refusal(body)
    assert error.field == "results[0].per_item.values.ndcg@10.1" and "outside [0.0, 1.0]" in error.message


def test_unknown_metric_is_refused() -> None:
    body = document()
    result = task_of(body)
    result["metrics"]["ndcg@20"] = result["metrics"]["ndcg@10"]
    result["per_item"]["values"]["ndcg@20"] = result["per_item"]["values"]["ndcg@10"]
    error = refusal(body)
    assert error.field == "results[0].metrics.ndcg@20" and "not a metric of beir/scifact" in error.message


def test_a_whole_set_measure_is_not_a_retrieval_metric() -> None:
    body = document()
    task_of(body)["metrics"]["spearman"] = 0.5
    error = refusal(body)
    assert error.field == "results[0].metrics.spearman" and "not a metric of beir/scifact" in error.message


def test_other_settings_are_refused() -> None:
    body = document()
    task_of(body)["settings"]["k"] = 100
    error = refusal(body)
    assert error.field == "results[0].settings" and "do not compare" in error.message


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
        (lambda b: task_of(b)["inputs"].update(id="beir/nfcorpus"), "results[0].inputs.id"),
    ],
    ids=["unknown-dataset", "other-suite", "unknown-suite", "unknown-split", "future-version", "other-data"],
)
def test_unknown_tasks_are_refused(edit: Callable[[Document], object], field: str) -> None:
    body = document()
    edit(body)
    assert refusal(body).field == field


def test_old_task_version_is_refused() -> None:
    """Once the task is bumped to version 2, files of version 1 no longer compare."""

    def bumped(card: DatasetCard, split: str) -> RetrievalTask:
        return RetrievalTask(card, split, version=2)

    suites = {"beir": dataclasses.replace(BEIR, make_task=bumped)}
    submit.check(parse(document()), "run.json", None, {"beir": BEIR})
    error = refusal(document(), suites=suites)
    assert error.field == "results[0].task_version"
    assert error.message.startswith("1 is not the current version of beir/scifact (2)")


def test_a_suite_that_is_not_registered_is_unknown() -> None:
    error = refusal(document(), suites={"sts": registry.SUITES["sts"]})
    assert (error.field, error.message) == ("suite", "unknown suite 'beir'; known: sts")


def test_claimed_verified_with_other_data_is_refused_as_inconsistent() -> None:
    body = document(verified=False)
    task_of(body)["inputs"]["verified"] = True
    error = refusal(body)
    assert error.field == "results[0].inputs.verified"
    assert error.message == "claims true, but the dataset fingerprint differs from the data card's"


def test_fingerprint_not_of_the_files_is_refused() -> None:
    body = document()
    task_of(body)["inputs"]["fingerprint"] = "0" * 64
    error = refusal(body)
    assert (error.field, error.message) == (
        "results[0].inputs.fingerprint",
        "is not the fingerprint of inputs.files",
    )


def test_a_fingerprint_of_no_files_is_refused() -> None:
    """BEIR inputs are files: a record without them cannot carry a fingerprint of something else."""
    body = document(verified=False)
    inputs = task_of(body)["inputs"]
    del inputs["files"]  # the fingerprint stays that of the three files it no longer lists
    error = refusal(body)
    assert error.field == "results[0].inputs.fingerprint"
    assert error.message == "is not the fingerprint of inputs.files"


def test_partial_file_set_cannot_claim_verified() -> None:
    """Hashes restricted to the files in the record must still be the whole split, not a part of it."""
    from harness.data.cards import fingerprint

    body = document()
    inputs = task_of(body)["inputs"]
    del inputs["files"]["queries.jsonl"]
    inputs["fingerprint"] = fingerprint(inputs["files"])
    assert refusal(body).field == "results[0].inputs.verified"


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
    ["bm25s", "sentence-transformers/all-MiniLM-L6-v2", "rrf:bm25s+org/model-v1.5", "org/m-int8_v1.5"],
)
def test_ordinary_model_ids_are_accepted(model_id: str) -> None:
    body = document()
    body["model"]["id"] = model_id
    submit.check(parse(body), "run.json", None)


@pytest.mark.parametrize("model_id", ["org/m (int8)", "org/sub/m", "-m", "rrf:a+b+c", "m?x", "org/"])
def test_ids_that_are_not_model_names_are_refused(model_id: str) -> None:
    """Spaces, a second slash, a leading separator, three fused models: not a builtin, hub or rrf name."""
    body = document()
    body["model"]["id"] = model_id
    error = refusal(body)
    assert error.field == "model.id"
    assert error.message == f"{model_id!r} is not a model name (builtin, org/name, or rrf:A+B)"


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
    filed = results.model_copy(update={"origin": "submission"})
    assert done.path.read_bytes() == canonical_bytes(filed)
    assert hashlib.sha256(identity_bytes(filed)).hexdigest() == done.digest == digest(results)
    assert digest(parse_results(done.path.read_bytes(), "filed")) == done.digest
    assert sorted(p.name for p in (tmp_path / "submissions").iterdir()) == [done.path.name]
    (row,) = store.list_runs(engine)
    assert (row.digest, row.origin, row.model_id) == (done.digest, "submission", "org/model")
    assert not row.reproduced


def test_a_filed_submission_is_readable_by_others(engine: Engine, tmp_path: Path) -> None:
    old_umask = os.umask(0o077)
    try:
        done = submit.submit(
            engine, submit.accept(write(tmp_path / "run.json", make_submission())), tmp_path / "s"
        )
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(done.path.stat().st_mode) == 0o644


def test_a_submissions_folder_that_cannot_be_made_is_a_setting_error(engine: Engine, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    accepted = submit.accept(write(tmp_path / "run.json", make_submission()))
    with pytest.raises(SettingError) as caught:
        submit.submit(engine, accepted, blocker / "submissions")
    assert caught.value.setting == "submissions_dir"
    assert str(blocker / "submissions") in caught.value.message
    assert rows(engine) == (0, 0, 0)


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
    with pytest.raises(InputError, match="exists but is not the run its digest names") as caught:
        submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    assert caught.value.where == str(squatter)
    assert squatter.read_bytes() == b"something else"
    assert rows(engine) == (0, 0, 0)
    other_run = make_submission(seed=1)  # a valid results file, but another run than the name says
    squatter.write_bytes(canonical_bytes(other_run))
    with pytest.raises(InputError, match="exists but is not the run its digest names"):
        submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    assert squatter.read_bytes() == canonical_bytes(other_run)
    assert rows(engine) == (0, 0, 0)


def test_the_same_run_filed_with_other_bytes_is_accepted_as_it_is(engine: Engine, tmp_path: Path) -> None:
    """A file already under the digest name that parses to the same digest is kept, whatever its layout."""
    results = make_submission()
    source = write(tmp_path / "run.json", results)
    filed = tmp_path / "submissions" / f"{digest(results)}.json"
    filed.parent.mkdir()
    filed.write_bytes(pretty_bytes(results))  # indented, origin "local": the same run all the same
    done = submit.submit(engine, submit.accept(source), tmp_path / "submissions")
    assert (done.written, done.ingested, done.path) == (False, True, filed)
    assert filed.read_bytes() == pretty_bytes(results)
    (row,) = store.list_runs(engine)
    assert (row.digest, row.origin) == (digest(results), "submission")


# --- submit: annotations are this harness's own ------------------------------------------------------


def test_submit_drops_verifications_and_sets_the_origin(engine: Engine, tmp_path: Path) -> None:
    claimed = make_submission().model_copy(
        update={"origin": "local", "verifications": [verification(True), verification(True)]}
    )
    assert claimed.reproduced
    source = write(tmp_path / "run.json", claimed)
    accepted = submit.accept(source, "run.json")
    assert accepted.results.origin == "submission"
    assert accepted.results.verifications == []
    assert accepted.dropped_verifications == 2
    assert digest(accepted.results) == digest(claimed)  # the same run: annotations are not its content
    done = submit.submit(engine, accepted, tmp_path / "submissions")
    assert done.dropped_verifications == 2
    on_disk = parse_results(done.path.read_bytes(), "filed")
    assert (on_disk.origin, on_disk.verifications, on_disk.reproduced) == ("submission", [], False)
    (row,) = store.list_runs(engine)
    assert (row.origin, row.reproduced) == ("submission", False)
    plain = submit.accept(write(tmp_path / "plain.json", make_submission(seed=3)))
    assert (plain.results.origin, plain.dropped_verifications) == ("submission", 0)


def test_accept_checks_against_the_local_data_when_given(data_root: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "run.json", make_submission())  # ids "1" .. "300"
    assert submit.accept(source, "run.json").verdicts[0].verified  # no data: accepted
    with pytest.raises(InputError) as caught:
        submit.accept(source, "run.json", data_root=data_root)
    assert str(caught.value).startswith(
        "run.json: results[0].per_item.values: holds a query id the qrels lack of the local beir/scifact"
    )


def test_accept_names_the_file_as_displayed(tmp_path: Path) -> None:
    body = document()
    task_of(body)["metrics"]["ndcg@10"] += 0.01
    source = write(tmp_path / "run.json", json.dumps(body).encode())
    with pytest.raises(InputError) as caught:
        submit.accept(source)
    assert caught.value.where == str(source)
    accepted = submit.accept(write(tmp_path / "ok.json", make_submission()), "uploaded.json")
    assert accepted.where == "uploaded.json"
    assert accepted.verdicts == (
        submit.TaskVerdict("beir/scifact", "test", "", verified=True, rescored=False),
    )
