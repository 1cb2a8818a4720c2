"""A suite defined here, in the tests, runs the whole way with no change to store, submit or board code.

``toy/echo`` asks an Encoder to find, for each of 40 phrases, its upper-case twin among all the
twins (recall@1 per example, a mean over examples). It is registered only in the ``suites`` mapping
this test hands to the library, and goes run -> results file -> submit -> ingest -> board queries ->
verify, which is the path every real suite takes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from encoders import TrigramEncoder

from harness import registry, runner, store, submit, verify
from harness.board import queries as bq
from harness.data.cards import DatasetCard, SplitCard, inputs_record
from harness.data.files import locate, sha256_bytes
from harness.errors import FieldError, InputError
from harness.metrics.measures import Measure, measure
from harness.models.options import ModelOptions
from harness.models.protocols import Encoder
from harness.results import Inputs, ItemValues, TaskResult, read_results, write_results
from harness.suites.base import BoardSpec, CardSuite, Rate, Scores
from harness.suites.checks import check_item_means
from harness.timing import Timer

PHRASES = "\n".join(
    f"phrase {i} of the {'odd' if i % 2 else 'even'} kind number {i * 7 % 13}" for i in range(40)
)
ECHO_TSV = (PHRASES + "\n").encode()
CARD = DatasetCard(
    id="toy/echo",
    name="echo",
    locations=("toy/echo",),
    marker="echo.txt",
    licence="test data",
    url="tests/integration/test_toy_suite.py",
    splits={"test": SplitCard(members={"echo.txt": sha256_bytes(ECHO_TSV)}, counts={"examples": 40})},
)


@dataclass(frozen=True)
class EchoData:
    phrases: tuple[str, ...]
    inputs: Inputs


@dataclass(frozen=True)
class EchoTask:
    card: DatasetCard
    split: str = "test"
    main_metric: str = "recall@1"
    version: int = 1

    @property
    def name(self) -> str:
        return self.card.id

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (measure("recall@1"),)

    def settings(self) -> dict[str, object]:
        return {"candidates": "every upper-case twin"}

    def load(self, data_root: Path) -> EchoData:
        data = locate(self.card, data_root).read("echo.txt")
        phrases = tuple(line for line in data.decode().split("\n") if line)
        files = {"echo.txt": sha256_bytes(data)}
        counts = {"examples": len(phrases)}
        return EchoData(phrases, inputs_record(self.card, self.split, files, counts))

    def evaluate(self, model: Encoder, data: EchoData, timer: Timer) -> Scores:
        with timer("encode"):
            queries = model.encode(list(data.phrases))
            twins = model.encode([p.upper() for p in data.phrases])
        with timer("evaluate"):
            best = np.argmax(queries @ twins.T, axis=1)
            hits = {str(i): float(best[i] == i) for i in range(len(data.phrases))}
        mean = sum(hits.values()) / len(hits)
        return Scores(
            metrics={"recall@1": mean}, per_item=ItemValues(kind="example", values={"recall@1": hits})
        )

    def check(self, result: TaskResult, data: EchoData | None) -> bool:
        items = check_item_means(result, self, "example", "examples")
        if items != {str(i) for i in range(result.inputs.counts["examples"])}:
            raise FieldError("per_item.values", "examples are numbered 0 .. n-1")
        return False


def echo_task(card: DatasetCard, split: str) -> EchoTask:
    return EchoTask(card, split)


TOY = CardSuite(
    name="toy",
    description="find each phrase's upper-case twin (recall@1)",
    model_types=(Encoder,),
    cards={"echo": CARD},
    make_task=echo_task,
    board=BoardSpec(rates=(Rate("examples/s", "examples", "encode", "examples encoded per second"),)),
)
SUITES = {**registry.SUITES, "toy": TOY}


class WordLengthEncoder(TrigramEncoder):
    """A worse model: a histogram of word lengths cannot tell most phrases apart."""

    def __init__(self) -> None:
        super().__init__()
        self.info = self.info.__class__(id="word-lengths", kind="dense", source="builtin")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 16), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                vectors[row, min(len(word), 15)] += 1.0
            vectors[row] /= max(1.0, float(np.linalg.norm(vectors[row])))
        return vectors


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "toy" / "echo"
    folder.mkdir(parents=True)
    (folder / "echo.txt").write_bytes(ECHO_TSV)
    return tmp_path / "data"


def test_the_toy_suite_runs_submits_ingests_and_shows_on_the_board(data_root: Path, tmp_path: Path) -> None:
    assert "toy" not in registry.SUITES  # registered only in this test's mapping
    selection = TOY.select(data_root, None, None)
    assert [task.name for task in selection.tasks] == ["toy/echo"]

    good = runner.run(TrigramEncoder(), TOY, selection.tasks, data_root)
    worse = runner.run(WordLengthEncoder(), TOY, selection.tasks, data_root)
    (result,) = good.results
    assert result.inputs.verified
    assert result.metrics["recall@1"] == 1.0
    assert worse.results[0].metrics["recall@1"] < 0.5

    engine = store.connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        filed = []
        for record in (good, worse):
            path = write_results(record, tmp_path / "results")
            accepted = submit.accept(path, path.name, data_root, SUITES)
            assert [v.verified for v in accepted.verdicts] == [True]
            done = submit.submit(engine, accepted, tmp_path / "submissions")
            assert done.written and done.ingested
            filed.append(done.path)
        assert read_results(filed[0]).origin == "submission"

        assert "toy" in bq.suite_names(engine, SUITES)
        assert store.metric_names(engine, "toy") == ["recall@1"]
        board = bq.board(engine, "toy", TOY.board)
        assert board.tasks == ["toy/echo"]
        # submitted runs: rows of their own, labelled so (the echo task never rescores: "submitted")
        trigrams, lengths = (
            bq.row_key(name, None, "", "submission") for name in ("trigrams", "word-lengths")
        )
        assert (trigrams, lengths) == ("trigrams · submitted", "word-lengths · submitted")
        assert list(board.table.index) == [trigrams, lengths]  # best first
        assert board.table["origin"].tolist() == ["submission", "submission"]
        assert board.table["trust"].tolist() == ["submitted", "submitted"]
        assert board.table.at[trigrams, "labels"] == {"toy/echo": "submitted"}
        assert board.table.at[trigrams, "toy/echo"] == 1.0
        assert board.table.at[trigrams, "examples/s"] > 0
        assert board.speed_columns == ["examples/s"]
        assert board.higher_is_better == {"toy/echo": True}

        p_values = bq.significance(engine, board, lengths, list(board.table.index), trials=2000)
        assert p_values.at[trigrams, "toy/echo"] < 0.01
        marks = bq.significance_marks(board.table, p_values, lengths, board.higher_is_better)
        assert marks.at[trigrams, "toy/echo"] == bq.BETTER
    finally:
        engine.dispose()


def test_the_toy_suite_refuses_a_tampered_file(data_root: Path, tmp_path: Path) -> None:
    record = runner.run(TrigramEncoder(), TOY, TOY.select(data_root, None, None).tasks, data_root)
    (result,) = record.results
    tampered = record.model_copy(
        update={"results": [result.model_copy(update={"metrics": {"recall@1": 0.99}})]}
    )
    path = write_results(tampered, tmp_path)
    with pytest.raises(InputError) as caught:
        submit.accept(path, "toy.json", data_root, SUITES)
    assert caught.value.field == "results[0].metrics.recall@1"
    with pytest.raises(InputError, match="unknown suite 'toy'"):
        submit.accept(path, "toy.json", data_root)  # not registered in the harness itself


def test_the_toy_suite_verifies(data_root: Path, tmp_path: Path) -> None:
    record = runner.run(TrigramEncoder(), TOY, TOY.select(data_root, None, None).tasks, data_root)
    again = runner.run(TrigramEncoder(), TOY, TOY.select(data_root, None, None).tasks, data_root)
    checks = verify.compare(record, again)
    assert [(c.task, c.metric, c.grade) for c in checks] == [("toy/echo", "recall@1", "OK")]
    assert verify.reproduced(checks)
    assert ModelOptions(cache_dir=tmp_path).device == "cpu"


def test_the_card_sha_is_what_the_fixture_writes() -> None:
    assert CARD.splits["test"].members["echo.txt"] == hashlib.sha256(ECHO_TSV).hexdigest()
