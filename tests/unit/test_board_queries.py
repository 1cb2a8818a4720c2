"""The board's table logic as pure functions: shared mean, filters, best values, Pareto front, marks."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from factories import make_results

from harness import board_queries as bq
from harness import store


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind_group": ["dense", "sparse", "hybrid", "other"],
            "origin": ["local", "local", "submission", "local"],
            "reproduced": [True, False, False, True],
            "n_parameters": [110e6, math.nan, math.nan, 22e6],
            "a": [0.5, 0.6, math.nan, 0.2],
            "b": [0.1, 0.3, 0.4, 0.9],
        },
        index=["w", "x", "y", "z"],
    )


def test_shared_mean_skips_columns_with_a_missing_cell() -> None:
    mean, over = bq.shared_mean(table(), ["a", "b"])
    assert over == ["b"]
    assert mean.tolist() == [0.1, 0.3, 0.4, 0.9]
    mean, over = bq.shared_mean(table().drop(index="y"), ["a", "b"])
    assert over == ["a", "b"]
    assert mean["w"] == pytest.approx(0.3)


def test_shared_mean_without_a_shared_column_is_nan_not_zero() -> None:
    frame = pd.DataFrame({"a": [0.5, math.nan], "b": [math.nan, 0.5]})
    mean, over = bq.shared_mean(frame, ["a", "b"])
    assert over == []
    assert mean.isna().all()


def test_filter_rows() -> None:
    frame = table()
    assert list(bq.filter_rows(frame, kinds=["dense", "other"]).index) == ["w", "z"]
    assert list(bq.filter_rows(frame, origins=["submission"]).index) == ["y"]
    assert list(bq.filter_rows(frame, reproduced_only=True).index) == ["w", "z"]
    assert list(bq.filter_rows(frame, size_range=(20e6, 50e6)).index) == ["x", "y", "z"]
    assert list(bq.filter_rows(frame, size_range=(20e6, 50e6), keep_unknown_size=False).index) == ["z"]


def test_kind_group() -> None:
    assert [bq.kind_group(k) for k in ("dense", "sparse", "hybrid", "kernel", "circuit")] == [
        "dense",
        "sparse",
        "hybrid",
        "other",
        "other",
    ]


def test_best_values_follow_the_direction() -> None:
    assert bq.best_values(table(), {"a": True, "b": False}) == {"a": 0.6, "b": 0.1}
    assert bq.best_values(pd.DataFrame({"a": [math.nan]}), {"a": True}) == {}


def test_pareto_front() -> None:
    quality = pd.Series([0.7, 0.6, 0.5, 0.65, math.nan, 0.7])
    speed = pd.Series([10.0, 100.0, 50.0, 20.0, 1000.0, 5.0])
    # 0.5@50 is beaten by 0.6@100; 0.7@5 by 0.7@10; the NaN row is never on the front
    assert bq.pareto_front(quality, speed).tolist() == [True, True, False, True, False, False]


def test_significance_marks_use_the_metric_direction() -> None:
    frame = pd.DataFrame({"t": [0.5, 0.6, 0.4, 0.7]}, index=["base", "up", "down", "noise"])
    p = pd.DataFrame({"t": [math.nan, 0.001, 0.01, 0.2]}, index=frame.index)
    marks = bq.significance_marks(frame, p, "base", {"t": True})
    assert marks["t"].tolist() == ["", bq.BETTER, bq.WORSE, ""]
    lower_is_better = bq.significance_marks(frame, p, "base", {"t": False})
    assert lower_is_better["t"].tolist() == ["", bq.WORSE, bq.BETTER, ""]


def test_display_name_and_results_path() -> None:
    assert bq.display_name("org/m", "0123456789abcdef") == "org/m@0123456789ab"
    assert bq.display_name("bm25s", None) == "bm25s"
    assert bq.results_path("org/m", "beir", "f" * 64, "local") == f"results/org__m/beir-{'f' * 12}.json"
    assert bq.results_path("org/m", "beir", "f" * 64, "submission") == f"submissions/{'f' * 64}.json"


def test_board_adds_column_keys_and_facts(tmp_path: Path) -> None:
    engine = store.connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    dense = make_results("org/m", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3}, revision="r" * 40)
    dense = dense.model_copy(
        update={"model": dense.model.model_copy(update={"parameters": {"dimension": 384}})}
    )
    store.ingest(engine, dense)
    store.ingest(engine, make_results("v2", ndcg=0.5, task_version=2))
    result = bq.board(engine, "beir")
    engine.dispose()
    assert result.tasks == ["beir/nfcorpus", "beir/scifact v1", "beir/scifact v2"]
    assert result.columns["beir/scifact v2"] == {
        "task": "beir/scifact",
        "task_version": 2,
        "split": "test",
        "main_metric": "ndcg@10",
    }
    assert result.higher_is_better == dict.fromkeys(result.tasks, True)
    row = result.table.loc["org/m@" + "r" * 40]
    assert row["dimensions"] == 384
    assert row["n_parameters"] == 1000
    assert row["docs_per_s"] == pytest.approx(2 * 5183 / 2.0)  # counts.corpus / timings_s.index, summed
    assert math.isnan(row["index_mib"])  # not recorded: the column is left out of the table
    assert row["kind_group"] == "dense"
    assert row["hardware"]["logical_cpus"] == 2
