"""The board's replicate and sweep views without a browser: ``AppTest`` over tmp SQLite databases.

A glue-like suite with replicates (seeds; seeds x folds) and a capped task shows ``mean ± sd`` in
its cells, the cap in a caption and on the model page, and a spread chart; a beir database with a
layer x dimension sweep (one hole) shows the Sweeps view; a hostile model id stays text there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from board_factories import DIMS, LAYERS, MR_A, SST2_A, SST2_B, glue_file, glue_result, sweep_file
from factories import make_results
from streamlit.testing.v1 import AppTest

from harness import store
from harness.board import PAGE
from harness.board import queries as bq
from harness.board.views import markdown_literal

HOSTILE = "acme/[Official SOTA](https:/evil.example) :red[**OFFICIAL**]"


@pytest.fixture(scope="module")
def glue_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('board-glue') / 'board.sqlite'}"
    engine = store.connect(url)
    a = glue_file(
        "org/a",
        [
            glue_result("glue/sst2", SST2_A),
            glue_result("glue/mr", MR_A, folds=2),
            glue_result("glue/sst2-cap1000", SST2_B, cap=1000),
        ],
    )
    store.ingest(engine, a)
    store.ingest(engine, glue_file("org/b", [glue_result("glue/sst2", SST2_B)]))
    engine.dispose()
    yield url


@pytest.fixture(scope="module")
def sweep_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('board-sweep') / 'board.sqlite'}"
    engine = store.connect(url)
    points = [(layer, dim) for layer in LAYERS for dim in DIMS if (layer, dim) != (2, 128)]  # one hole
    store.ingest(engine, sweep_file("org/m", points))
    store.ingest(engine, make_results("bm25-test", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3}))
    hostile = sweep_file(HOSTILE, [(4, 64)], plain=False).model_copy(update={"origin": "submission"})
    store.ingest(engine, hostile)
    engine.dispose()
    yield url


def page(monkeypatch: pytest.MonkeyPatch, url: str, **params: str) -> AppTest:
    monkeypatch.setattr(sys, "argv", [str(PAGE), "--db", url])
    monkeypatch.delenv("HARNESS_DB", raising=False)
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    for name, value in params.items():
        app.query_params[name] = value
    return app


def ran(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def display(element: Any) -> Any:
    """What a styled ``st.dataframe`` displays: the Styler's formatted text, cell by cell."""
    values = pa.ipc.open_stream(element.proto.arrow_data.styler.display_values).read_all().to_pandas()
    return values.set_index("model") if "model" in values else values


def charts(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def sd(values: tuple[float, ...]) -> float:
    return bq.sample_sd(list(values))


def test_glue_cells_show_mean_and_sd_and_still_sort_as_numbers(
    glue_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ran(page(monkeypatch, glue_database, suite="glue"))
    table = at.dataframe[0]
    text = display(table)
    assert text.loc["org/a", "sst2"] == f"{sum(SST2_A) / 5:.4f} ± {sd(SST2_A):.4f}"
    assert text.loc["org/b", "sst2"] == f"{sum(SST2_B) / 5:.4f} ± {sd(SST2_B):.4f}"
    assert text.loc["org/a", "mr"] == f"{sum(MR_A) / 10:.4f} ± {sd(MR_A):.4f}"  # seeds x folds
    assert text.loc["org/b", "mr"] == "–"
    assert "±" not in text.loc["org/a", "mean"]  # a mean of means has no replicates
    assert table.value["sst2"].dtype.kind == "f"  # the grid sorts the number, not the text
    captions = " ".join(caption.value for caption in at.caption)
    assert "sample standard deviation" in captions
    assert f"{markdown_literal('sst2-cap1000')} at most 1,000" in captions


def test_glue_model_page_has_mean_sd_replicates_and_the_cap(
    glue_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ran(page(monkeypatch, glue_database, suite="glue", view="Model", model="org/a"))
    frame = next(f.value for f in at.dataframe if "mean ± sd" in f.value.columns).set_index("task")
    assert frame.at["glue/sst2", "mean ± sd"] == f"{sum(SST2_A) / 5:.4f} ± {sd(SST2_A):.4f}"
    assert frame.at["glue/sst2", "main metric"] == "accuracy"
    assert frame["replicates"].to_dict() == {"glue/sst2": 5, "glue/mr": 10, "glue/sst2-cap1000": 5}
    assert frame.at["glue/sst2-cap1000", "train cap"] == 1000
    facts = {
        field: value
        for f in at.dataframe
        if list(f.value.columns) == ["field", "value"]
        for field, value in zip(f.value["field"], f.value["value"], strict=True)
    }
    assert facts["· setting train_cap"] == "1000"  # and in the run's own settings


def test_glue_plots_draw_the_spread_of_the_replicates(
    glue_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ran(page(monkeypatch, glue_database, suite="glue", view="Plots"))
    faceted = [spec for spec in charts(at) if "facet" in spec]
    (spread,) = faceted
    assert spread["resolve"] == {"scale": {"y": "independent"}}  # each dataset its own scale
    assert at.multiselect(key="spread_models").value == ["org/a", "org/b"]
    at.multiselect(key="spread_models").set_value([])
    at = ran(at)
    assert not [spec for spec in charts(at) if "facet" in spec]
    assert any("Pick a model" in info.value for info in at.info)


def test_glue_without_variants_explains_how_to_sweep(
    glue_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ran(page(monkeypatch, glue_database, suite="glue", view="Sweeps"))
    assert any("layer or dimension variants" in info.value for info in at.info)
    assert at.code[0].value == (
        "harness run --model all-MiniLM-L6-v2 --suite glue --dims 32,64,128,256,384 --layers 2,4,6"
    )


def test_sweeps_draw_a_heatmap_with_its_hole_and_the_curves(
    sweep_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ran(page(monkeypatch, sweep_database, view="Sweeps"))
    model = bq.row_key("org/m", "c" * 40)
    assert at.selectbox(key="sweep_model").value == model
    assert at.selectbox(key="sweep_quality").value == "mean"
    heatmap, curves = charts(at)
    assert [layer["mark"]["type"] for layer in heatmap["layer"]] == ["rect", "text", "rect", "text"]
    assert "condition" in heatmap["layer"][1]["encoding"]["color"]  # a null scale breaks Vega at runtime
    assert curves["mark"]["type"] == "line" and curves["encoding"]["x"]["scale"] == {"type": "log", "base": 2}
    grid = display(at.dataframe[0]).set_index("layer")
    assert list(grid.index) == ["6", "4", "2"] and list(grid.columns) == ["32", "64", "128"]
    assert grid.loc["2", "128"] == "–"  # not run
    caption = " ".join(c.value for c in at.caption)
    assert "8 points" in caption and "1 of 9 grid points not run" in caption and "as is" in caption
    at.selectbox(key="sweep_quality").set_value("beir/scifact")
    grid = display(ran(at).dataframe[0]).set_index("layer")
    assert grid.loc["4", "64"] != "–"


def test_a_hostile_model_id_in_a_sweep_is_text(sweep_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = ran(page(monkeypatch, sweep_database, view="Sweeps"))
    hostile = bq.row_key(HOSTILE, "c" * 40, "", "submission")
    at.selectbox(key="sweep_model").set_value(hostile)
    at = ran(at)
    caption = next(c.value for c in at.caption if "points of" in c.value)
    assert markdown_literal(f"{HOSTILE}@{'c' * 12} (submitted)") in caption
    assert "](" not in caption and ":red[" not in caption
