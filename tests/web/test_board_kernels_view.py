"""The board's kernels view without a browser: ``AppTest`` over a tmp SQLite database of ``kernels`` runs.

Attention kernels (CPU shapes, both maskings, and a GPU shape) draw speed-up against error and against
sequence length with the 1x line; quantisers draw recall against bytes per vector beside a table of
MSE and nDCG@10; a hostile model id is data in the charts and tables and never text of Markdown.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from board_factories import kernel_attention_result, kernel_file, kernel_in_model_result, kernel_pq_result
from streamlit.testing.v1 import AppTest

from harness import store
from harness.board import PAGE

HOSTILE = "acme/**bold**<script>alert(1)</script>[Official](https://evil.example) :red[SOTA]"
LENGTHS = (1024, 2048, 4096, 8192, 16384)
BYTES = (8, 16, 32, 48)


@pytest.fixture(scope="module")
def kernels_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('board-kernels') / 'board.sqlite'}"
    engine = store.connect(url)
    hyper = [
        kernel_attention_result(n, n / 4096, 0.05 + n / 1e6, causal=causal)
        for causal in (False, True)
        for n in LENGTHS
    ]
    hyper += [kernel_attention_result(131072, 20.0, 0.02, gpu=True), kernel_in_model_result(0.8, 0.02)]
    store.ingest(engine, kernel_file("hyper", hyper))
    store.ingest(engine, kernel_file("lowrank", [kernel_attention_result(n, 0.5, 0.25) for n in LENGTHS]))
    for offset, model in enumerate(("pq", "lowrank-pq", "faiss-pq")):
        results = [kernel_pq_result(b, [0.3 + b / 100 + offset / 50] * 3) for b in BYTES]
        store.ingest(engine, kernel_file(model, results))
    hostile = kernel_file(
        HOSTILE,
        [kernel_attention_result(4096, 2.0, 0.1), kernel_pq_result(16, (0.5, 0.5, 0.5))],
        origin="submission",
    )
    store.ingest(engine, hostile, origin="submission")
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


def charts(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def chart_models(at: AppTest) -> set[str]:
    """The ``model`` values of every chart's data (Streamlit sends it apart from the spec, as Arrow)."""
    found: set[str] = set()
    for chart in at.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            frame = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
            found |= set(frame["model"]) if "model" in frame else set()
    return found


def titles(spec: Any) -> list[str]:
    """Every ``title`` of a Vega-Lite spec (charts, axes, legends): text the chart draws as given."""
    if isinstance(spec, list):
        return [title for item in spec for title in titles(item)]
    if not isinstance(spec, dict):
        return []
    found = [json.dumps(spec["title"])] if "title" in spec else []
    return found + [title for value in spec.values() for title in titles(value)]


def error_charts(at: AppTest) -> list[dict[str, Any]]:
    """The speed-up vs error charts (faceted by masking; the spread chart is faceted by dataset)."""
    return [spec for spec in charts(at) if "column" in spec.get("facet", {})]


def with_verified_off(at: AppTest) -> AppTest:
    at.toggle(key="verified_only").set_value(False)
    return ran(at)


def frame_with(at: AppTest, column: str) -> Any:
    return next(f.value for f in at.dataframe if column in f.value.columns)


def test_verified_data_hides_generated_attention_inputs_and_says_so(
    kernels_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ran(page(monkeypatch, kernels_database, suite="kernels", view="Plots"))
    assert any("Verified data only" in info.value for info in at.info)
    assert not error_charts(at)
    assert at.selectbox(key="kernel_recall").value == "recall@10"  # the quantisers are verified data


def test_attention_charts_speedup_against_error_and_length(
    kernels_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = with_verified_off(ran(page(monkeypatch, kernels_database, suite="kernels", view="Plots")))
    assert not any("Verified data only" in info.value for info in at.info)
    assert at.radio(key="kernel_device").options == ["CPU", "GPU"]
    assert at.radio(key="kernel_error").value == "rel_error"
    (scatter,) = error_charts(at)
    assert scatter["facet"]["column"]["field"] == "masking"
    layers = scatter["spec"]["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["rule", "line", "point", "text"]
    assert layers[0]["encoding"]["y"] == {"datum": 1}  # the 1x line
    assert layers[2]["encoding"]["x"]["field"] == "error"
    assert layers[2]["encoding"]["y"]["scale"] == {"type": "log"}
    (curve,) = [s for s in charts(at) if "layer" in s and s["layer"][1]["encoding"]["x"]["field"] == "n"]
    assert curve["layer"][0]["mark"]["type"] == "rule"
    assert curve["layer"][1]["encoding"]["x"]["scale"] == {"type": "log", "base": 2}
    dash = curve["layer"][1]["encoding"]["strokeDash"]
    assert dash["field"] == "masking" and dash["scale"]["domain"] == ["non-causal", "causal"]
    table = frame_with(at, "rel_error_random")
    assert len(table) == 10 + 5 + 1  # CPU: hyper 10, lowrank 5, the hostile submission 1
    assert set(table["device"]) == {"cpu"}
    at.radio(key="kernel_device").set_value("GPU")
    table = frame_with(ran(at), "rel_error_random")
    assert table[["model", "n", "speedup"]].to_dict("records") == [
        {"model": "hyper", "n": 131072, "speedup": 20.0}
    ]
    at.radio(key="kernel_error").set_value("rel_error_random")
    (scatter,) = error_charts(ran(at))
    tooltip = scatter["spec"]["layer"][2]["encoding"]["tooltip"]
    assert "random inputs" in tooltip[-1]["title"]


def test_quantisers_recall_against_bytes_and_the_table(
    kernels_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ran(page(monkeypatch, kernels_database, suite="kernels", view="Plots"))
    (recall,) = [s for s in charts(at) if s.get("encoding", {}).get("x", {}).get("field") == "code_bytes"]
    assert recall["mark"]["type"] == "line"
    assert recall["encoding"]["y"]["field"] == "recall@10"
    assert recall["encoding"]["x"]["axis"]["values"] == list(BYTES)
    table = frame_with(at, "mse")
    assert list(table.columns) == ["model", "bytes", "recall@10", "± sd", "mse", "ndcg@10", "speedup"]
    pq = table[table["model"] == "pq"]
    assert list(pq["bytes"]) == list(BYTES)
    assert list(pq["recall@10"]) == pytest.approx([0.3 + b / 100 for b in BYTES])
    at.selectbox(key="kernel_recall").set_value("recall@100")
    (recall,) = [
        s for s in charts(ran(at)) if s.get("encoding", {}).get("x", {}).get("field") == "code_bytes"
    ]
    assert recall["encoding"]["y"]["field"] == "recall@100"
    in_model = frame_with(at, "cost")
    assert in_model[["model", "task", "metric", "cost"]].to_dict("records") == [
        {"model": "hyper", "task": "minilm-stsb", "metric": "spearman", "cost": 0.02}
    ]


def test_a_hostile_model_id_is_data_never_markup(
    kernels_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = with_verified_off(ran(page(monkeypatch, kernels_database, suite="kernels", view="Plots")))
    shown = f"{HOSTILE} (submitted)"
    assert shown in set(frame_with(at, "rel_error_random")["model"])
    assert shown in set(frame_with(at, "mse")["model"])
    assert shown in chart_models(at)  # a data value of the charts (Vega draws it as text)
    assert not any(
        "acme/" in title for spec in charts(at) for title in titles(spec)
    )  # a value, never a title
    texts = [
        element.value
        for kind in (
            "markdown",
            "caption",
            "subheader",
            "header",
            "title",
            "info",
            "warning",
            "error",
            "success",
        )
        for element in at.get(kind)
    ]
    texts += [option for radio in at.radio for option in radio.options]
    for text in texts:
        for fragment in ("**bold**", "<script>", "](https", ":red[", "acme/"):
            assert fragment not in str(text), text
