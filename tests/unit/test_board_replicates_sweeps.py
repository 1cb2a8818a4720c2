"""The board's spread and sweep queries on real stores: replicates (mean ± sd), training caps, and
layer x dimension grids, built from generated results files ingested into a tmp SQLite store.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import pytest
from board_factories import (
    DIMS,
    LAYERS,
    MR_A,
    SEEDS,
    SST2_A,
    SST2_B,
    glue_file,
    glue_result,
    score_of,
    sweep_file,
)
from factories import make_results, make_task_result
from sqlalchemy import Engine

from harness import store
from harness.board import queries as bq
from harness.results import Replicate, ResultsFile
from harness.suites.base import BoardSpec


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = store.connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield engine
    engine.dispose()


def two_glue_models(engine: Engine) -> tuple[ResultsFile, ResultsFile]:
    a = glue_file(
        "org/a",
        [
            glue_result("glue/sst2", SST2_A),
            glue_result("glue/mr", MR_A, folds=2),
            glue_result("glue/sst2-cap1000", SST2_B, cap=1000),
        ],
    )
    b = glue_file("org/b", [glue_result("glue/sst2", SST2_B)])
    assert store.ingest(engine, a) == "stored"
    assert store.ingest(engine, b) == "stored"
    return a, b


def test_the_lean_documents_keep_the_replicates(engine: Engine) -> None:
    """The board reads replicates from ``runs.document``: only per-item values and predictions are out."""
    a, _ = two_glue_models(engine)
    (document,) = store.load_documents(engine, [store.list_runs(engine)[-1].digest]).values()
    assert document["model"]["id"] == "org/a"
    sst2 = next(r for r in document["results"] if r["task"] == "glue/sst2")
    assert [r["metrics"]["accuracy"] for r in sst2["replicates"]] == list(SST2_A)
    assert "per_item" not in sst2 and "predictions" not in sst2


def test_the_board_spread_is_the_task_results_own(engine: Engine) -> None:
    a, b = two_glue_models(engine)
    result = bq.board(engine, "glue", BoardSpec())
    assert result.tasks == ["glue/mr", "glue/sst2", "glue/sst2-cap1000"]
    spread, counts = result.spread, result.replicates
    assert list(spread.index) == list(result.table.index) and list(spread.columns) == result.tasks
    # exactly TaskResult.spread: the same sums, not a near-equal pandas std
    assert spread.at["org/a", "glue/sst2"] == a.results[0].spread("accuracy")
    assert spread.at["org/a", "glue/mr"] == a.results[1].spread("accuracy")
    assert spread.at["org/b", "glue/sst2"] == b.results[0].spread("accuracy")
    assert counts.loc["org/a"].to_dict() == {"glue/mr": 10, "glue/sst2": 5, "glue/sst2-cap1000": 5}
    assert counts.at["org/b", "glue/mr"] == 0 and math.isnan(spread.at["org/b", "glue/mr"])  # no cell
    assert result.table.at["org/a", "glue/sst2"] == pytest.approx(sum(SST2_A) / 5)  # the cell: the mean
    assert result.train_caps == {"glue/sst2-cap1000": (1000,)}  # train_cap None is no cap
    other = bq.board(engine, "glue", BoardSpec(), metric="f1")  # the board's metric, not the main one
    assert other.spread.at["org/a", "glue/sst2"] == a.results[0].spread("f1")


def test_a_single_replicate_or_none_has_no_spread(engine: Engine) -> None:
    one = glue_result("glue/sst2", SST2_A).model_copy(
        update={
            "replicates": [Replicate(seed=1, metrics={"accuracy": 0.8, "f1": 0.2})],
            "metrics": {"accuracy": 0.8, "f1": 0.2},
        }
    )
    store.ingest(engine, glue_file("one", [one]))
    store.ingest(
        engine, make_results("plain", suite="glue", results=[make_task_result("glue/sst2", 0.5, split="dev")])
    )
    result = bq.board(engine, "glue")
    assert result.replicates["glue/sst2"].to_dict() == {"one": 1, "plain": 0}
    assert result.spread["glue/sst2"].isna().all()


def test_a_beir_board_has_no_replicates(engine: Engine) -> None:
    store.ingest(engine, make_results("m", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3}))
    result = bq.board(engine, "beir")
    assert (result.replicates == 0).all().all() and result.spread.isna().all().all()
    assert result.train_caps == {}
    assert bq.sweep_bases(result.table) == []


def test_replicate_values_read_the_shown_rows_from_the_lean_documents(engine: Engine) -> None:
    two_glue_models(engine)
    result = bq.board(engine, "glue")
    documents = store.load_documents(engine, result.table.at["org/a", "digests"].values())
    values = bq.replicate_values(documents, result, ["org/a"])
    assert list(values.columns) == bq.REPLICATE_COLUMNS
    assert set(values["row"]) == {"org/a"}
    mr = values[values["task"] == "glue/mr"]
    assert mr["value"].tolist() == list(MR_A)
    assert mr["seed"].tolist() == [s for s in SEEDS for _ in range(2)] and mr["fold"].tolist() == [0, 1] * 5
    sst2 = values[values["task"] == "glue/sst2"]
    assert sst2["fold"].isna().all() and sst2["seed"].tolist() == list(SEEDS)
    # the spread of these values is the board's
    assert bq.sample_sd(sst2["value"].tolist()) == result.spread.at["org/a", "glue/sst2"]
    only = bq.replicate_values(documents, result, ["org/a"], tasks=["glue/sst2"])
    assert set(only["task"]) == {"glue/sst2"}
    empty = bq.replicate_values({}, result, ["org/a"])  # the documents not read: nothing, no error
    assert empty.empty and list(empty.columns) == bq.REPLICATE_COLUMNS


def test_sample_sd_matches_the_task_result() -> None:
    result = glue_result("glue/sst2", SST2_A)
    assert bq.sample_sd(list(SST2_A)) == result.spread("accuracy")
    assert math.isnan(bq.sample_sd([0.5])) and math.isnan(bq.sample_sd([]))


def test_breakdown_shows_mean_sd_replicates_and_the_cap(engine: Engine) -> None:
    a, _ = two_glue_models(engine)
    document = store.load_documents(engine, [store.list_runs(engine)[-1].digest])
    (lean,) = document.values()
    frame = bq.breakdown(lean, BoardSpec()).set_index("task")
    assert frame.at["glue/sst2", bq.MAIN_COLUMN] == "accuracy"
    assert frame.at["glue/sst2", bq.SD_COLUMN] == a.results[0].spread("accuracy")
    assert frame[bq.REPLICATES_COLUMN].to_dict() == {"glue/sst2": 5, "glue/mr": 10, "glue/sst2-cap1000": 5}
    assert frame.at["glue/sst2-cap1000", bq.CAP_COLUMN] == 1000
    assert math.isnan(frame.at["glue/sst2", bq.CAP_COLUMN])


# --- sweeps -------------------------------------------------------------------------------------


def test_sweep_point_reads_only_layer_and_dimension_variants() -> None:
    assert bq.sweep_point("dim=128,layer=4") == (4, 128)
    assert bq.sweep_point("dim=64") == (None, 64)
    for other in ("", "layer=4", "dim=128,layer=4,quant=int8", "dim=x", "dim=128,layer=", "quant=int8"):
        assert bq.sweep_point(other) is None, other


def test_a_full_sweep_grid(engine: Engine) -> None:
    points = [(layer, dim) for layer in LAYERS for dim in DIMS]
    store.ingest(engine, sweep_file("org/m", points, extra=[{"quant": "int8"}]))
    store.ingest(engine, make_results("other", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3}))
    result = bq.board(engine, "beir")
    (base,) = bq.sweep_bases(result.table)
    assert (base.model_id, base.revision, base.origin, base.points) == ("org/m", "c" * 40, "reference", 9)
    assert base.key == bq.row_key("org/m", "c" * 40)
    grid = bq.sweep_grid(result, base)
    assert grid.tasks == ["beir/nfcorpus", "beir/scifact"] and grid.mean_over == grid.tasks
    assert grid.others == 1  # quant=int8: a variant, not a grid point
    assert grid.higher_is_better
    assert len(grid.points) == 9
    assert list(zip(grid.points["layer"], grid.points["dim"], strict=True)) == sorted(
        points, key=lambda p: (p[1], p[0])
    )
    row = bq.row_key("org/m", "c" * 40, "dim=64,layer=4")
    assert grid.points.at[row, "beir/scifact"] == pytest.approx(score_of(4, 64, "beir/scifact"))
    expected = (score_of(4, 64, "beir/scifact") + score_of(4, 64, "beir/nfcorpus")) / 2
    assert grid.points.at[row, "mean"] == pytest.approx(expected)
    assert grid.as_is is not None and grid.as_is["dim"] == 384
    assert grid.as_is["beir/scifact"] == pytest.approx(score_of(None, 384, "beir/scifact") + 0.05)

    surface = bq.sweep_surface(grid, "mean")
    assert len(surface) == 9 and surface["present"].all()
    assert list(dict.fromkeys(surface["layer_label"])) == ["6", "4", "2"]  # deepest on top
    cell = surface[(surface["layer_label"] == "4") & (surface["dim"] == 64)]
    assert cell["value"].tolist() == pytest.approx([expected]) and cell["row"].tolist() == [row]

    curves = bq.sweep_curves(grid, "beir/scifact")
    assert set(curves["layer_label"]) == {"2", "4", "6", bq.AS_IS}
    assert curves[curves["layer_label"] == bq.AS_IS]["dim"].tolist() == [384]
    six = curves[curves["layer_label"] == "6"].sort_values("dim")
    assert six["value"].tolist() == pytest.approx([score_of(6, d, "beir/scifact") for d in DIMS])


def test_a_partial_grid_shows_its_holes_and_means_only_shared_tasks(engine: Engine) -> None:
    """A starbucks-like diagonal plus one point lacking a task: holes stay holes, the mean stays fair."""
    points = [(2, 32), (4, 64), (6, 128)]
    store.ingest(engine, sweep_file("org/m", points, plain=False, skip=[((6, 128), "beir/nfcorpus")]))
    result = bq.board(engine, "beir")
    grid = bq.sweep_grid(result, bq.sweep_bases(result.table)[0])
    assert grid.as_is is None  # no plain run of the model
    assert grid.mean_over == ["beir/scifact"]  # nfcorpus is missing at (6, 128)
    assert grid.points["mean"].tolist() == pytest.approx(grid.points["beir/scifact"].tolist())
    surface = bq.sweep_surface(grid, "beir/nfcorpus")
    assert len(surface) == 9 and int(surface["present"].sum()) == 3
    hole = surface[(surface["layer_label"] == "2") & (surface["dim"] == 128)]
    assert hole["present"].tolist() == [False] and hole["value"].isna().all() and hole["row"].tolist() == [""]
    run_without = surface[(surface["layer_label"] == "6") & (surface["dim"] == 128)]
    assert run_without["present"].tolist() == [True] and run_without["value"].isna().all()
    curves = bq.sweep_curves(grid, "beir/nfcorpus")
    assert len(curves) == 2  # the point without the task is not drawn


def test_dimension_only_points_form_one_line_and_standings_are_apart(engine: Engine) -> None:
    store.ingest(engine, sweep_file("org/static", [(None, d) for d in DIMS]))
    submitted = sweep_file("org/static", [(None, 32)]).model_copy(update={"origin": "submission"})
    store.ingest(engine, submitted)
    result = bq.board(engine, "beir")
    bases = bq.sweep_bases(result.table)
    assert [(b.origin, b.points) for b in bases] == [("reference", 3), ("submission", 1)]
    grid = bq.sweep_grid(result, bases[0])
    assert grid.points["layer_label"].tolist() == [bq.OWN_LAYER] * 3
    assert grid.points["layer"].tolist() == [None] * 3
    assert bq.layer_order(["2", bq.OWN_LAYER, "10"]) == [bq.OWN_LAYER, "10", "2"]
    curves = bq.sweep_curves(grid, "mean")
    assert sorted(curves["layer_label"].unique()) == sorted([bq.OWN_LAYER, bq.AS_IS])
    assert bq.sweep_grid(result, bases[1]).points.index.tolist() == [
        bq.row_key("org/static", "c" * 40, "dim=32", "submission")
    ]


def test_a_sweep_of_glue_keeps_its_spread(engine: Engine) -> None:
    results = [
        glue_result("glue/sst2", [v - 0.01 * (dim == 32) for v in SST2_A], variant={"layer": 4, "dim": dim})
        for dim in (32, 64)
    ]
    store.ingest(engine, glue_file("org/g", results))
    result = bq.board(engine, "glue")
    grid = bq.sweep_grid(result, bq.sweep_bases(result.table)[0])
    assert grid.points["dim"].tolist() == [32, 64]
    assert grid.points["glue/sst2"].tolist() == pytest.approx([sum(SST2_A) / 5 - 0.01, sum(SST2_A) / 5])
    assert isinstance(result.spread, pd.DataFrame) and result.spread.notna().all().all()
