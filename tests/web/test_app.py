"""The board's logic without a browser: ``streamlit.testing.v1.AppTest`` over a tmp SQLite database.

The database holds hand-made runs (tests/factories.py) chosen so that each rule shows: a missing
cell, a mean over the shared dataset only, several kinds and origins, a reproduced run, data that
does not match its card, and per-query scores with a difference the paired test must find.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from factories import make_results, make_sts_results, make_task_result, make_verification
from streamlit.testing.v1 import AppTest

from harness import store
from harness.board import PAGE
from harness.board import queries as bq
from harness.board.views import markdown_literal
from harness.registry import SUITES
from harness.results import ResultsFile, digest

EARLIER = datetime(2025, 6, 1, tzinfo=UTC)
SHIM = Path(__file__).resolve().parents[2] / "leaderboard" / "app.py"
QUERIES = [str(i) for i in range(40)]
MIB = 2**20


def scores(mean: float, spread: float = 0.1) -> dict[str, float]:
    """40 per-query values around ``mean``: a fixed zig-zag, so two systems pair query by query."""
    return {q: mean + (spread if i % 2 else -spread) * ((i % 5) / 4) for i, q in enumerate(QUERIES)}


def with_model(results: ResultsFile, **changes: Any) -> ResultsFile:
    return results.model_copy(update={"model": results.model.model_copy(update=changes)})


def two_tasks(model_id: str, scifact: dict[str, float], nfcorpus: float | None, **kw: Any) -> ResultsFile:
    search_s = kw.pop("search_s", 2.0)
    index_bytes: Sequence[int] = kw.pop("index_bytes", ())
    tasks = [make_task_result("beir/scifact", per_item=scifact, search_s=search_s)]
    if nfcorpus is not None:
        tasks.append(make_task_result("beir/nfcorpus", nfcorpus, search_s=search_s))
    if index_bytes:
        tasks = [
            task.model_copy(update={"sizes_bytes": {"index": size}})
            for task, size in zip(tasks, index_bytes, strict=True)
        ]
    return make_results(model_id, results=tasks, **kw)


def argv(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """What ``harness board --db URL`` hands the page: ``streamlit run page.py -- --db URL``."""
    monkeypatch.setattr(sys, "argv", [str(PAGE), "--db", url])


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("board") / "board.sqlite"
    url = f"sqlite:///{path}"
    engine = store.connect(url)
    strong = two_tasks(
        "org/strong", scores(0.8), 0.40, revision="a" * 40, search_s=4.0, index_bytes=(3 * MIB, MIB)
    )
    strong = with_model(strong, n_parameters=110_000_000, parameters={"pooling": "cls", "dimension": 768})
    weak = two_tasks("org/weak", scores(0.5), None, revision="b" * 40, search_s=1.0)
    weak = with_model(weak, n_parameters=22_000_000, parameters={"pooling": "mean", "dimension": 384})
    bm25 = two_tasks("bm25-test", scores(0.79), 0.30, search_s=0.5, index_bytes=(MIB // 2, MIB // 4))
    bm25 = with_model(bm25, kind="sparse", n_parameters=None, parameters={"k1": 0.9, "b": 0.4})
    sent_in = with_model(two_tasks("team/sent-in", scores(0.6), 0.35), kind="hybrid", n_parameters=None)
    unverified = make_results("org/off-card", ndcg=0.99, verified=False)
    older_but_better = make_results("org/weak", ndcg=0.95, revision="b" * 40, created_at=EARLIER)
    store.ingest(engine, strong)
    store.ingest(engine, older_but_better)  # stored first: the newest run is the one ingested last
    store.ingest(engine, weak)
    store.ingest(engine, bm25)
    store.ingest(engine, sent_in.model_copy(update={"origin": "submission"}))
    store.ingest(engine, unverified)
    assert store.record_verification(engine, digest(bm25), make_verification())
    engine.dispose()
    yield url


@pytest.fixture
def app(database: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    argv(monkeypatch, database)
    monkeypatch.delenv("HARNESS_DB", raising=False)
    return AppTest.from_file(str(PAGE), default_timeout=60)


@pytest.fixture(scope="module")
def sts_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two suites: a beir run, and sts runs of two encoders (one with two datasets, from two files)."""
    path = tmp_path_factory.mktemp("board-sts") / "board.sqlite"
    url = f"sqlite:///{path}"
    engine = store.connect(url)
    store.ingest(engine, make_results("org/encoder", ndcg=0.6))
    store.ingest(engine, make_sts_results("org/encoder", spearman=0.82, sentences=100, encode_s=0.25))
    store.ingest(
        engine,
        make_sts_results("org/encoder", task="sts/sickr", spearman=0.78, sentences=60, encode_s=0.25),
    )
    store.ingest(engine, make_sts_results("org/small", spearman=0.7, pearson=0.6, sentences=30, encode_s=2.0))
    engine.dispose()
    yield url


@pytest.fixture
def sts_app(sts_database: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    argv(monkeypatch, sts_database)
    return AppTest.from_file(str(PAGE), default_timeout=60)


def ran(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(element: Any) -> pd.DataFrame:
    """What a styled ``st.dataframe`` displays: the Styler's formatted text, cell by cell."""
    data = element.proto.arrow_data
    values = pa.ipc.open_stream(data.styler.display_values).read_all().to_pandas()
    return values.set_index("model") if "model" in values else values


def main_table(at: AppTest) -> Any:
    assert at.tabs[0].label == "Leaderboard"
    return at.dataframe[0]  # only the open tab renders, and the table comes first in it


def test_table_shows_every_verified_row_with_missing_cells_as_a_dash(app: AppTest) -> None:
    at = ran(app)
    table = main_table(at)
    text = shown(table)
    assert set(text.index) == {
        "org/strong@aaaaaaaaaaaa",
        "org/weak@bbbbbbbbbbbb",
        "bm25-test",
        "team/sent-in",
    }
    assert text.loc["org/weak@bbbbbbbbbbbb", "nfcorpus"] == "–"  # missing, not 0
    assert text.loc["org/weak@bbbbbbbbbbbb", "scifact"] == "0.5000"  # the newest run, not the older 0.95
    assert table.proto.placeholder == "–"  # and the grid draws a missing value as a dash
    assert text.loc["org/strong@aaaaaaaaaaaa", "scifact"] == f"{sum(scores(0.8).values()) / 40:.4f}"
    assert text.loc["bm25-test", "nfcorpus"] == "0.3000"
    # the beir suite's BoardSpec: queries/s, docs/s and index MiB, derived from the stored timings and sizes
    assert [c for c in text.columns if c in ("queries/s", "docs/s", "index MiB", "sentences/s")] == [
        "queries/s",
        "docs/s",
        "index MiB",
    ]
    assert text.loc["bm25-test", "queries/s"] == "600"  # 300 queries / 0.5 s
    assert text.loc["org/strong@aaaaaaaaaaaa", "queries/s"] == "75"  # 600 queries / 8 s
    assert text.loc["bm25-test", "docs/s"] == "5,183"  # 10,366 documents / 2 s of indexing
    assert text.loc["org/strong@aaaaaaaaaaaa", "index MiB"] == "4.0"  # 3 MiB + 1 MiB
    assert text.loc["bm25-test", "index MiB"] == "0.8"  # 0.75 MiB, one decimal
    assert text.loc["org/weak@bbbbbbbbbbbb", "index MiB"] == "–"  # not recorded
    assert text.loc["org/strong@aaaaaaaaaaaa", "params (M)"] == "110.0"
    assert text.loc["org/strong@aaaaaaaaaaaa", "dim"] == "768"
    assert text.loc["bm25-test", "params (M)"] == "–"
    assert text.loc["bm25-test", "reproduced"] == "✓"
    assert text.loc["team/sent-in", "origin"] == "submitted"  # the row's trust label
    assert text.loc["bm25-test", "origin"] == "reference"  # reproduced, but made here: reference


def test_mean_is_taken_only_over_datasets_every_shown_row_has(app: AppTest) -> None:
    at = ran(app)
    text = shown(main_table(at))
    # org/weak has no nfcorpus, so the mean is the scifact score for every row
    for model in text.index:
        assert text.loc[model, "mean"] == text.loc[model, "scifact"]
    assert "mean over: scifact" in " ".join(c.value for c in at.caption)
    # hide org/weak (the only row without nfcorpus): the mean now covers both datasets
    at.slider(key="size").set_range(50.0, 110.0)
    at.toggle(key="size_unknown").set_value(False)
    text = shown(main_table(ran(at)))
    assert list(text.index) == ["org/strong@aaaaaaaaaaaa"]
    expected = (sum(scores(0.8).values()) / 40 + 0.40) / 2
    assert text.loc["org/strong@aaaaaaaaaaaa", "mean"] == f"{expected:.4f}"


def test_rows_are_sorted_by_mean_and_best_values_are_marked(app: AppTest) -> None:
    at = ran(app)
    table = main_table(at)
    assert list(table.value["model"])[:2] == ["org/strong@aaaaaaaaaaaa", "bm25-test"]
    styles = table.proto.arrow_data.styler.styles
    assert "font-weight: 700" in styles  # the best of each column is highlighted
    best = bq.best_values(table.value, {"scifact": True, "queries/s": True, "index MiB": False})
    assert best["scifact"] == table.value["scifact"].max()
    assert best["queries/s"] == 600
    assert best["index MiB"] == pytest.approx(0.8)  # smaller is better


def test_filters(app: AppTest) -> None:
    at = ran(app)
    at.pills(key="kinds").set_value(["sparse", "hybrid"])
    assert set(shown(main_table(ran(at))).index) == {"bm25-test", "team/sent-in"}
    at.pills(key="origins").set_value(["submission"])
    assert set(shown(main_table(ran(at))).index) == {"team/sent-in"}
    at.pills(key="origins").set_value(["reference"])
    assert "team/sent-in" not in set(shown(main_table(ran(at))).index)
    at.pills(key="origins").set_value(list(store.ORIGINS))
    at.pills(key="kinds").set_value(list(bq.KINDS))
    at.toggle(key="reproduced_only").set_value(True)
    assert set(shown(main_table(ran(at))).index) == {"bm25-test"}
    at.toggle(key="reproduced_only").set_value(False)
    at.toggle(key="verified_only").set_value(False)
    assert "org/off-card" in set(shown(main_table(ran(at))).index)


def test_empty_suite_says_so(app: AppTest) -> None:
    at = ran(app)
    registered = ["beir", "sts", "glue", "kernels", "circuit", "mteb"]
    assert at.radio(key="suite").options == list(SUITES) == registered
    at.radio(key="suite").set_value("sts")
    at = ran(at)
    assert any("No results in suite **sts** yet" in info.value for info in at.info)
    assert not at.dataframe


def test_model_page_shows_provenance(app: AppTest) -> None:
    app.query_params["view"] = "Model"
    app.query_params["model"] = "bm25-test"
    at = ran(app)
    assert at.selectbox(key="model").value == "bm25-test"
    markdown = " ".join(m.value for m in at.markdown)
    assert "results/bm25-test/beir-" in markdown  # where the file lives
    assert "reproduced by `harness verify`" in markdown
    facts = {  # each fact table is a dataframe of plain text (never Markdown): field, value
        field: value
        for frame in at.dataframe
        if list(frame.value.columns) == ["field", "value"]
        for field, value in zip(frame.value["field"], frame.value["value"], strict=True)
    }
    assert facts["· k1"] == "0.9" and facts["· b"] == "0.4"  # model parameters
    assert facts["· torch"] == "2.13.0"  # library versions
    assert facts["cpu"] == "AMD EPYC 7B13 (2 logical)"  # hardware
    assert len(facts["fingerprint"]) == 64  # data identity
    assert facts["git commit"] == "0" * 40
    breakdown = next(frame.value for frame in at.dataframe if "ndcg@10" in frame.value.columns)
    assert set(breakdown["task"]) == {"beir/scifact", "beir/nfcorpus"}
    assert breakdown["origin"].tolist() == ["reference", "reference"]  # each cell's trust label
    assert at.download_button  # the results file itself
    assert "harness run --model bm25-test --suite beir" in at.code[0].value
    assert "harness verify results/bm25-test/beir-" in at.code[0].value
    history = at.dataframe[-1].value
    assert history["model_id"].tolist() == ["bm25-test"]  # a model without a revision finds its runs


def test_model_page_lists_older_runs_but_shows_the_newest(app: AppTest) -> None:
    app.query_params["view"] = "Model"
    app.query_params["model"] = "org/weak@" + "b" * 40
    at = ran(app)
    breakdown = next(frame.value for frame in at.dataframe if "ndcg@10" in frame.value.columns)
    assert breakdown["ndcg@10"].round(4).tolist() == [0.5]
    history = at.dataframe[-1].value
    assert len(history) == 2 and history["created_at"].is_monotonic_decreasing


def test_compare_marks_significant_differences(app: AppTest) -> None:
    app.query_params["view"] = "Compare"
    at = ran(app)
    at.selectbox(key="baseline").set_value("bm25-test")
    at = ran(at)
    cells = at.dataframe[0].value.set_index("model")
    assert cells.loc["bm25-test", "scifact"].endswith("(baseline)")
    assert cells.loc["org/weak@bbbbbbbbbbbb", "scifact"].endswith("▼")  # 0.29 lower on all 40 queries
    assert cells.loc["org/strong@aaaaaaaaaaaa", "scifact"].endswith("▲")  # +0.01 on every query
    assert cells.loc["team/sent-in (submitted)", "nfcorpus"] == "0.3500"  # two items only: never significant
    assert cells.loc["org/weak@bbbbbbbbbbbb", "nfcorpus"] == "–"


def test_plots_render(app: AppTest) -> None:
    app.query_params["view"] = "Plots"
    at = ran(app)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2


def test_a_filter_that_empties_a_column_hides_it(app: AppTest) -> None:
    at = ran(app)
    at.pills(key="kinds").set_value(["dense"])
    at.slider(key="size").set_range(22.0, 50.0)
    text = shown(main_table(ran(at)))
    assert list(text.index) == ["org/weak@bbbbbbbbbbbb"]
    assert "nfcorpus" not in text.columns  # no shown row has it


def test_an_unreadable_database_is_one_error_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    argv(monkeypatch, f"sqlite:///{tmp_path / 'missing.sqlite'}")
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    (error,) = at.error
    assert "no such database file" in error.value and "missing.sqlite" in error.value
    assert "\n" not in error.value


def test_the_page_reads_db_not_harness_db(
    database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without ``--db`` the page opens the default database, whatever ``HARNESS_DB`` says."""
    monkeypatch.setattr(sys, "argv", [str(PAGE)])
    monkeypatch.setenv("HARNESS_DB", database)
    monkeypatch.chdir(tmp_path)  # no results/harness.sqlite here
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    (error,) = at.error
    assert "results/harness.sqlite" in error.value and "no such database file" in error.value
    assert not at.dataframe


def test_the_leaderboard_shim_renders_the_same_page(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    at = ran(app)
    shim = ran(AppTest.from_file(str(SHIM), default_timeout=60))
    assert shown(main_table(shim)).equals(shown(main_table(at)))


def test_board_command_refuses_a_missing_database_before_serving(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "board",
            "--db",
            f"sqlite:///{tmp_path / 'none.sqlite'}",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no such database file" in done.stderr


# --- the sts suite ------------------------------------------------------------------------------


def test_sts_suite_shows_its_own_speed_column(sts_app: AppTest) -> None:
    sts_app.query_params["suite"] = "sts"
    at = ran(sts_app)
    assert at.radio(key="suite").value == "sts"
    text = shown(main_table(at))
    assert list(text.index) == ["org/encoder", "org/small"]  # best shared mean first
    assert [c for c in text.columns if c in ("queries/s", "docs/s", "index MiB", "sentences/s")] == [
        "sentences/s"
    ]
    assert text.loc["org/encoder", "sentences/s"] == "320"  # 160 sentences / 0.5 s, over both datasets
    assert text.loc["org/small", "sentences/s"] == "15"  # 30 sentences / 2 s
    assert text.loc["org/encoder", "stsb"] == "0.8200" and text.loc["org/encoder", "sickr"] == "0.7800"
    assert text.loc["org/small", "sickr"] == "–"
    assert text.loc["org/small", "mean"] == "0.7000"  # over stsb, the one dataset both rows have
    assert "mean over: stsb" in " ".join(c.value for c in at.caption)
    assert "scifact" not in text.columns  # the beir run stays in its own suite


def test_sts_suite_other_metric_and_model_page(sts_app: AppTest) -> None:
    sts_app.query_params["suite"] = "sts"
    at = ran(sts_app)
    at.selectbox(key="metric").set_value("pearson")
    text = shown(main_table(ran(at)))
    assert text.loc["org/small", "stsb"] == "0.6000" and text.loc["org/encoder", "stsb"] == "0.7500"

    sts_app.query_params["view"] = "Model"
    sts_app.query_params["model"] = "org/encoder"
    at = ran(sts_app)
    breakdown = next(frame.value for frame in at.dataframe if "spearman" in frame.value.columns)
    assert set(breakdown["task"]) == {"sts/stsb", "sts/sickr"}
    assert "sentences/s" in breakdown.columns and "queries/s" not in breakdown.columns
    assert "harness run --model org/encoder --suite sts" in at.code[0].value


def test_sts_compare_has_no_per_item_values_to_test(sts_app: AppTest) -> None:
    sts_app.query_params["suite"] = "sts"
    sts_app.query_params["view"] = "Compare"
    at = ran(sts_app)
    at.selectbox(key="baseline").set_value("org/small")
    cells = ran(at).dataframe[0].value.set_index("model")
    assert cells.loc["org/small", "stsb"].endswith("(baseline)")
    assert cells.loc["org/encoder", "stsb"] == "0.8200"  # Spearman is a whole-set measure: never marked


def test_sts_plots_use_sentences_per_second(sts_app: AppTest) -> None:
    sts_app.query_params["suite"] = "sts"
    sts_app.query_params["view"] = "Plots"
    at = ran(sts_app)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2
    assert "sentences/s (log)" in charts[0].proto.spec


HOSTILE = "acme/[Official SOTA](https:/evil.example) :red[**OFFICIAL REFERENCE RUN**]"


@pytest.fixture(scope="module")
def hostile_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A model id that is Markdown (a link, a coloured banner), as a submitted file may carry."""
    url = f"sqlite:///{tmp_path_factory.mktemp('board-hostile') / 'board.sqlite'}"
    engine = store.connect(url)
    store.ingest(engine, make_results(HOSTILE, ndcg=0.7).model_copy(update={"origin": "submission"}))
    store.ingest(engine, make_results("bm25-test", ndcg=0.6))
    engine.dispose()
    yield url


def test_a_model_id_is_shown_as_text_never_as_markdown(
    hostile_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv(monkeypatch, hostile_database)
    row = bq.row_key(HOSTILE, None, "", "submission")  # a submitted run: a row of its own
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.query_params["view"] = "Model"
    app.query_params["model"] = row
    at = ran(app)
    assert at.selectbox(key="model").value == row
    (heading,) = [h for h in at.subheader if "acme" in h.value]
    assert heading.value == markdown_literal(f"{HOSTILE} (submitted)")
    assert "](" not in heading.value and ":red[" not in heading.value  # no link, no colour directive
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.query_params["view"] = "Compare"
    at = ran(app)
    at.selectbox(key="baseline").set_value(row)
    at = ran(at)
    caption = next(c.value for c in at.caption if "significantly better" in c.value)
    assert markdown_literal(HOSTILE) in caption
    assert "[Official SOTA](" not in caption


def test_published_view_shows_published_beside_measured(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MTEB's SciFact file for all-MiniLM-L6-v2 beside a measured run of that model, as dataframe cells."""
    from harness.published.sources import read_mteb_dir
    from harness.store.published import store_sources

    url = f"sqlite:///{tmp_path / 'board.sqlite'}"
    engine = store.connect(url)
    store.ingest(engine, make_results("sentence-transformers/all-MiniLM-L6-v2", ndcg=0.645081))
    store_sources(engine, read_mteb_dir(data_root / "published" / "mteb-results"))
    engine.dispose()
    argv(monkeypatch, url)
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.query_params["view"] = "Published"
    ran(at)
    table = shown(at.dataframe[0])
    rows = table.loc[["sentence-transformers/all-MiniLM-L6-v2"]]
    row = rows[rows["metric"] == "ndcg@10"].iloc[0]
    assert (row["task"], row["published"], row["measured here"], row["difference"]) == (
        "beir/scifact",
        "0.64508",
        "0.64508",
        "+0.00000",
    )
    assert not at.markdown or all("all-MiniLM" not in m.value for m in at.markdown)  # data, never Markdown
