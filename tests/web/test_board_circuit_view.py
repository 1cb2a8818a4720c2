"""The board's circuit table without a browser: methods x tasks, mean ± sd over seeds, from real runs.

The database holds the committed reference runs of the four methods (``results/<method>/circuit-*.json``,
made by ``harness run --suite circuit``), so the table is what a user of this checkout sees.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from harness import store
from harness.board import PAGE
from harness.board import queries as bq
from harness.results import ResultsFile, read_results

METHODS = ("sae-codes", "activation-patching", "attribution-patching", "mean-diff")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def circuit_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('board-circuit') / 'board.sqlite'}"
    engine = store.connect(url)
    for method in METHODS:
        store.ingest(engine, reference_run(method))
    engine.dispose()
    return url


def reference_run(method: str) -> ResultsFile:
    (path,) = (ROOT / "results" / method).glob("circuit-*.json")
    return read_results(path)


def display(element: Any) -> Any:
    values = pa.ipc.open_stream(element.proto.arrow_data.styler.display_values).read_all().to_pandas()
    return values.set_index("model")


def test_methods_by_tasks_with_mean_and_sd(circuit_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [str(PAGE), "--db", circuit_database])
    monkeypatch.delenv("HARNESS_DB", raising=False)
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.query_params["suite"] = "circuit"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = display(at.dataframe[0])
    assert set(text.index) == set(METHODS)
    assert {"toy-induction", "toy-ioi", "toy-greater-than", "toy-docstring", "toy-ioi-contrast"} <= set(
        text.columns
    )
    run = reference_run("activation-patching")
    induction = next(r for r in run.results if r.task == "circuit/toy-induction")
    sd = bq.sample_sd([r.metrics["auc"] for r in induction.replicates])
    assert text.loc["activation-patching", "toy-induction"] == f"{induction.metrics['auc']:.4f} ± {sd:.4f}"
