"""The repbench leaderboard: a Streamlit page over the results database, read only.

Started by ``harness board [--db URL] [--port N]``, which passes ``-- --db URL``; without it the
URL comes from ``HARNESS_DB`` or the default. The page renders; what it shows is computed by
``harness.board_queries`` and ``harness.store`` (no SQL here). The engine is a cached resource and
every query is cached for a minute, so switching suite, view or filter does not wait on the
database. Views (tabs), suite and model are bound to the URL, so a view can be linked.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any
from urllib.parse import urlencode

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine, make_url

from harness import board_queries as bq
from harness import store
from harness.errors import HarnessError
from harness.metrics import metric_info

VIEWS = ("Leaderboard", "Compare", "Plots", "Model")
MISSING = "–"
MAIN_METRIC = "main metric of each task"
BEST_STYLE = "font-weight: 700; background-color: rgba(33, 195, 84, 0.22)"
BETTER_STYLE = "color: #0b7a2a; font-weight: 700"
WORSE_STYLE = "color: #b3261e; font-weight: 700"
ORIGIN_LABELS = {"local": "reference", "submission": "submission"}
SPEED_COLUMNS = {"queries_per_s": "queries/s", "docs_per_s": "docs/s", "index_mib": "index MiB"}


def database_url() -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    known, _ = parser.parse_known_args(sys.argv[1:])
    return str(known.db or os.environ.get("HARNESS_DB") or store.DEFAULT_URL)


# --- cached reads -------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def engine(url: str) -> Engine:
    return store.connect(url, readonly=True)


@st.cache_data(ttl=60, show_spinner=False)
def load_suites(url: str) -> tuple[list[str], dict[str, int]]:
    return bq.suites(engine(url)), bq.suite_counts(engine(url))


@st.cache_data(ttl=60, show_spinner=False)
def load_metrics(url: str, suite: str) -> list[str]:
    return bq.metric_names(engine(url), suite)


@st.cache_data(ttl=60, show_spinner=False)
def load_board(url: str, suite: str, metric: str | None, verified_only: bool) -> bq.Board:
    return bq.board(engine(url), suite, metric, verified_only)


@st.cache_data(ttl=60, show_spinner="Running paired randomization tests (10,000 sign flips per cell)...")
def load_significance(
    url: str, suite: str, metric: str | None, verified_only: bool, baseline: str, rows: tuple[str, ...]
) -> pd.DataFrame:
    result = load_board(url, suite, metric, verified_only)
    return bq.significance(engine(url), result, baseline, rows)


@st.cache_data(ttl=60, show_spinner=False)
def load_document(url: str, digest: str) -> dict[str, Any]:
    return store.run_detail(engine(url), digest)


@st.cache_data(ttl=60, show_spinner=False)
def load_model_runs(url: str, model_id: str, revision: str | None) -> pd.DataFrame:
    return bq.model_runs(engine(url), model_id, revision)


# --- formatting ---------------------------------------------------------------------------------


def short(label: str, suite: str) -> str:
    """``beir/scifact`` -> ``scifact`` inside the beir suite (labels stay unique)."""
    return label.removeprefix(f"{suite}/")


def metric_label(name: str) -> str:
    try:
        return metric_info(name).label
    except ValueError:
        return name


def score(value: Any) -> str:
    return MISSING if pd.isna(value) else f"{value:.4f}"


def rate(value: Any) -> str:
    return MISSING if pd.isna(value) else f"{value:,.0f}"


def one_decimal(value: Any) -> str:
    return MISSING if pd.isna(value) else f"{value:,.1f}"


def model_name(model_id: str, revision: Any) -> str:
    return bq.display_name(model_id, revision if isinstance(revision, str) else None)


def model_link(suite: str, model: str) -> str:
    return "?" + urlencode({"suite": suite, "view": "Model", "model": model})


def display_frame(result: bq.Board, shown: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """The shown rows in display order: identity, one column per task, mean, speeds, size.

    Values are rounded to what is shown (4 decimals for scores), so sorting, the best-value mark
    and the grid's accessible text agree with the picture; the store keeps full precision.
    """
    frame = pd.DataFrame(index=shown.index)
    frame["model"] = [model_name(m, r) for m, r in zip(shown["model_id"], shown["revision"], strict=True)]
    for task in tasks:
        frame[short(task, result.suite)] = shown[task].round(4)
    frame["mean"] = shown["mean"].round(4)
    for column, label in SPEED_COLUMNS.items():
        if shown[column].notna().any():
            frame[label] = shown[column].round(0 if column != "index_mib" else 1)
    frame["params (M)"] = (shown["n_parameters"] / 1e6).round(1)
    frame["dim"] = shown["dimensions"]
    frame["kind"] = shown["kind"]
    frame["origin"] = shown["origin"].map(lambda origin: ORIGIN_LABELS.get(origin, origin))
    frame["reproduced"] = shown["reproduced"].map(lambda done: "✓" if done else MISSING)
    frame["details"] = [model_link(result.suite, model) for model in shown.index]
    return frame.reset_index(drop=True)


def styled(frame: pd.DataFrame, result: bq.Board, tasks: list[str]) -> Any:
    """Numbers as text (4 decimals for scores) and the best value of each column marked."""
    quality = [short(task, result.suite) for task in tasks] + ["mean"]
    speeds = [label for label in SPEED_COLUMNS.values() if label in frame]
    direction = {short(task, result.suite): result.higher_is_better[task] for task in tasks}
    direction["mean"] = all(result.higher_is_better[task] for task in tasks) if tasks else True
    direction.update({label: label != "index MiB" for label in speeds})
    best = bq.best_values(frame, direction)

    def mark(column: pd.Series) -> list[str]:
        if column.name not in best:
            return [""] * len(column)
        return [BEST_STYLE if value == best[column.name] else "" for value in column]

    formats: dict[str, Any] = dict.fromkeys(quality, score)
    formats.update(dict.fromkeys(speeds, rate))
    formats.update({"index MiB": one_decimal, "params (M)": one_decimal, "dim": rate})
    return frame.style.format(formats).apply(mark, subset=[*quality, *speeds])


def column_config(result: bq.Board, tasks: list[str]) -> dict[str, Any]:
    number = st.column_config.Column
    config: dict[str, Any] = {
        "model": st.column_config.TextColumn(
            "model", pinned=True, help="model id @ revision (first 12 characters)"
        ),
        "kind": st.column_config.TextColumn(width=70),
        "origin": st.column_config.TextColumn(
            width=95, help="reference: run by this project; submission: a file sent in (harness submit)"
        ),
        "reproduced": st.column_config.TextColumn(
            "reproduced", width=90, help="✓ when `harness verify` re-ran the file and matched it"
        ),
        "details": st.column_config.LinkColumn(
            "details", display_text="open", width=70, help="provenance and per-dataset breakdown"
        ),
        "mean": number(
            width=80, help="mean over the datasets every shown row has; a missing cell is never a 0"
        ),
        "queries/s": number(width=85, help="counts.queries / timings_s.search"),
        "docs/s": number(
            width=80,
            help="documents indexed per second, counts.corpus / timings_s.index (encoding speed "
            "for dense models; an index or embedding cache hit makes this look fast)",
        ),
        "index MiB": number(width=85, help="size of the index, where the run recorded it"),
        "params (M)": number(width=90, help="model parameters, millions"),
        "dim": number(width=60, help="embedding dimensions"),
    }
    for task in tasks:
        key = result.columns[task]
        metric = metric_label(result.metric or str(key["main_metric"]))
        config[short(task, result.suite)] = number(
            width=85,
            help=f"{metric}, {key['task']} split {key['split']}, task version {key['task_version']}",
        )
    return config


# --- views --------------------------------------------------------------------------------------


def view_table(result: bq.Board, shown: pd.DataFrame, tasks: list[str], mean_over: list[str]) -> None:
    over = ", ".join(short(task, result.suite) for task in mean_over) or "none (no dataset is shared)"
    st.caption(
        f"{len(shown)} of {len(result.table)} models · mean over: {over} · "
        "best value per column highlighted · each cell is the newest run, never the best of several"
    )
    frame = display_frame(result, shown, tasks)
    st.dataframe(
        styled(frame, result, tasks),
        hide_index=True,
        column_config=column_config(result, tasks),
        width="stretch",
        placeholder=MISSING,
        key="main_table",
    )


def view_compare(
    url: str, result: bq.Board, shown: pd.DataFrame, tasks: list[str], filters: tuple[Any, ...]
) -> None:
    if len(shown) < 2:
        st.info("Comparing needs at least two models in the table; widen the filters.")
        return
    rows = list(shown.index)
    names = {row: model_name(shown.at[row, "model_id"], shown.at[row, "revision"]) for row in rows}
    baseline = st.selectbox(
        "Baseline",
        rows,
        format_func=names.__getitem__,
        key="baseline",
        help="every other cell is tested against this row's cell on the same dataset",
    )
    if baseline is None:
        return
    suite, metric, verified_only = filters
    p_values = load_significance(url, suite, metric, verified_only, baseline, tuple(rows))
    marks = bq.significance_marks(shown, p_values, baseline, result.higher_is_better)
    columns = [short(task, result.suite) for task in tasks]
    frame = pd.DataFrame({"model": [names[row] for row in rows]})
    styles = pd.DataFrame("", index=frame.index, columns=["model", *columns])
    for task, column in zip(tasks, columns, strict=True):
        cells = []
        for number, row in enumerate(rows):
            mark = marks.at[row, task]
            text = score(shown.at[row, task])
            if row == baseline and not pd.isna(shown.at[row, task]):
                text += " (baseline)"
            elif mark:
                text += f" {mark}"
                styles.at[number, column] = BETTER_STYLE if mark == bq.BETTER else WORSE_STYLE
            cells.append(text)
        frame[column] = cells
    st.caption(
        f"{bq.BETTER} / {bq.WORSE}: significantly better / worse than **{names[baseline]}** "
        f"(paired randomization test over per-query scores, two-sided p < {bq.SIGNIFICANCE_LEVEL}, "
        f"{bq.TRIALS:,} sign flips, seed 0; Smucker, Allan and Carterette, CIKM 2007). "
        "Unmarked: no significant difference, or no per-query scores to test."
    )
    st.dataframe(
        frame.style.apply(lambda _: styles, axis=None),
        hide_index=True,
        width="stretch",
        key="compare_table",
    )
    with st.expander("p-values"):
        table = p_values[tasks].rename(columns=lambda task: short(task, result.suite))
        table.insert(0, "model", [names[row] for row in table.index])
        st.dataframe(table.style.format(score, subset=columns), hide_index=True, width="stretch")


def view_plots(result: bq.Board, shown: pd.DataFrame, tasks: list[str], mean_over: list[str]) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Quality vs speed")
        choices = (["mean"] if mean_over else []) + tasks
        quality = st.selectbox(
            "Quality", choices, format_func=lambda c: short(c, result.suite), key="plot_quality"
        )
        if quality is None:
            st.info("No dataset to plot.")
        else:
            points = pd.DataFrame(
                {
                    "model": [
                        model_name(m, r) for m, r in zip(shown["model_id"], shown["revision"], strict=True)
                    ],
                    "kind": shown["kind"].to_numpy(),
                    "quality": shown[quality].to_numpy(dtype=float),
                    "queries_per_s": shown["queries_per_s"].to_numpy(dtype=float),
                }
            ).dropna()
            points = points[points["queries_per_s"] > 0]
            if points.empty:
                st.info("No model has both a score and a search time here.")
            else:
                points["pareto"] = bq.pareto_front(points["quality"], points["queries_per_s"]).map(
                    {True: "on the front", False: "dominated"}
                )
                st.altair_chart(quality_speed_chart(points, short(quality, result.suite)), width="stretch")
                st.caption("Pareto front: no other model is both at least as good and at least as fast.")
    with right:
        st.subheader("Per dataset")
        long = shown[tasks].rename(columns=lambda t: short(t, result.suite))
        long.insert(
            0, "model", [model_name(m, r) for m, r in zip(shown["model_id"], shown["revision"], strict=True)]
        )
        long = long.melt(id_vars="model", var_name="dataset", value_name="score").dropna()
        if long.empty:
            st.info("No scores to plot.")
        else:
            st.altair_chart(dataset_bars(long), width="stretch")


def quality_speed_chart(points: pd.DataFrame, quality: str) -> alt.LayerChart:
    base = alt.Chart(points).encode(
        x=alt.X("queries_per_s:Q", scale=alt.Scale(type="log"), title="queries/s (log)"),
        y=alt.Y("quality:Q", scale=alt.Scale(zero=False), title=quality),
        tooltip=[
            "model",
            "kind",
            alt.Tooltip("quality:Q", format=".4f"),
            alt.Tooltip("queries_per_s:Q", format=",.0f"),
        ],
    )
    front = base.transform_filter(alt.datum.pareto == "on the front").mark_line(
        color="#21c354", strokeDash=[4, 3]
    )
    dots = base.mark_point(filled=True).encode(
        color=alt.Color("kind:N"),
        size=alt.Size(
            "pareto:N", scale=alt.Scale(domain=["on the front", "dominated"], range=[220, 70]), title=None
        ),
        shape=alt.Shape(
            "pareto:N", scale=alt.Scale(domain=["on the front", "dominated"], range=["diamond", "circle"])
        ),
    )
    labels = base.mark_text(align="left", dx=9, dy=-6, fontSize=11).encode(text="model")
    chart: alt.LayerChart = (front + dots + labels).properties(height=340)
    return chart


def dataset_bars(long: pd.DataFrame) -> alt.Chart:
    chart: alt.Chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("dataset:N", title=None, axis=alt.Axis(labelAngle=0)),
            xOffset="model:N",
            y=alt.Y("score:Q", title="score"),
            color=alt.Color("model:N", legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)),
            tooltip=["model", "dataset", alt.Tooltip("score:Q", format=".4f")],
        )
        .properties(height=340)
    )
    return chart


def key_value(rows: dict[str, Any]) -> None:
    """A static two-column table: long values (hashes) wrap instead of being cut."""
    frame = pd.DataFrame(
        {"value": [MISSING if v is None else str(v) for v in rows.values()]}, index=list(rows)
    )
    st.table(frame, border="horizontal", hide_header=True)


BREAKDOWN_NAMES = {"queries_per_s": "queries/s", "docs_per_s": "docs/s", "seconds": "seconds total"}


def view_model(url: str, result: bq.Board) -> None:
    models = list(result.table.index)
    model = st.selectbox("Model", models, key="model", bind="query-params")
    if model is None:
        return
    row = result.table.loc[model]
    revision = row["revision"] if isinstance(row["revision"], str) else None
    digests = sorted(set(row["digests"].values()), key=lambda d: d != row["digest"])
    history = load_model_runs(url, str(row["model_id"]), revision)
    origins = dict(zip(history["digest"], history["origin"], strict=True))
    st.subheader(model)
    reproduced = "reproduced by `harness verify`" if row["reproduced"] else "not reproduced yet"
    st.markdown(
        f"**{row['kind']}** · {ORIGIN_LABELS.get(row['origin'], row['origin'])} · {reproduced} · "
        f"shown runs: {', '.join(f'`{d[:12]}`' for d in digests)}"
    )
    tasks = {result.columns[t]["task"] for t in result.tasks}
    table = pd.concat([bq.breakdown(load_document(url, d)) for d in digests], ignore_index=True)
    table = table[table["task"].isin(tasks)].drop(columns=["fingerprint"]).rename(columns=BREAKDOWN_NAMES)
    st.markdown("##### Per-dataset breakdown")
    fixed = ("task", "split", "version", "verified", "queries/s", "docs/s", "seconds total")
    formats: dict[str, Any] = {c: score for c in table.columns if c not in fixed}
    formats.update({"queries/s": rate, "docs/s": rate, "seconds total": one_decimal})
    st.dataframe(table.style.format(formats), hide_index=True, width="stretch", placeholder=MISSING)
    for digest in digests:
        provenance(url, digest, origins.get(digest, "local"))
    with st.expander(f"All {len(history)} stored runs of this model (the table shows the newest per task)"):
        st.dataframe(history, hide_index=True, width="stretch")


def provenance(url: str, digest: str, origin: str) -> None:
    document = load_document(url, digest)
    model = document["model"]
    environment = document["environment"]
    harness = document["harness"]
    path = bq.results_path(model["id"], document["suite"], digest, origin)
    st.markdown(f"##### Run `{digest}`")
    st.markdown(f"File: `{path}` · created {document['created_at']} · seed {document['seed']}")
    body = (json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()
    st.download_button(
        "Download the results file",
        body,
        file_name=path.rsplit("/", 1)[-1],
        mime="application/json",
        key=f"download-{digest}",
        on_click="ignore",
    )
    datasets = ",".join(r["task"].split("/", 1)[-1] for r in document["results"])
    command = f"harness run --model {model['id']} --suite {document['suite']} --datasets {datasets}"
    if model.get("revision"):
        command += f" --revision {model['revision']}"
    st.code(f"{command}\nharness verify {path}", language="bash")
    left, right = st.columns(2)
    with left:
        st.markdown("**Model**")
        key_value(
            {
                "id": model["id"],
                "kind": model["kind"],
                "source": model["source"],
                "revision": model.get("revision"),
                "weights sha256": model.get("weights_sha256"),
                "parameters (count)": model.get("n_parameters"),
                **{f"· {k}": v for k, v in sorted((model.get("parameters") or {}).items())},
            }
        )
    with right:
        st.markdown("**Harness and environment**")
        hardware = environment["hardware"]
        key_value(
            {
                "harness": harness["version"],
                "git commit": harness.get("git_commit"),
                "git dirty": harness.get("git_dirty"),
                "python": environment["python"],
                "platform": environment["platform"],
                "cpu": f"{hardware['cpu']} ({hardware['logical_cpus']} logical)",
                "memory GiB": hardware["memory_gib"],
                "gpu": hardware.get("gpu"),
                "cuda": hardware.get("cuda"),
                "torch threads": hardware.get("torch_threads"),
                **{f"· {k}": v for k, v in sorted(environment["packages"].items())},
            }
        )
    st.markdown("**Data**")
    for result in document["results"]:
        dataset = result["dataset"]
        key_value(
            {
                "task": f"{result['task']} ({result['split']}, task version {result['task_version']})",
                "verified": "yes"
                if dataset["verified"]
                else "NO: fingerprint or counts differ from the card",
                "fingerprint": dataset["fingerprint"],
                **{f"· sha256 {name}": sha for name, sha in sorted(dataset["files"].items())},
                **{f"· count {name}": n for name, n in sorted(dataset["counts"].items())},
                **{f"· setting {name}": v for name, v in sorted(result["settings"].items())},
            }
        )


# --- the page -----------------------------------------------------------------------------------


def sidebar(url: str) -> tuple[str, str | None, bool]:
    names, counts = load_suites(url)
    with st.sidebar:
        st.header("repbench")
        default = next((i for i, name in enumerate(names) if counts.get(name)), 0)
        suite = st.radio(
            "Suite",
            names,
            index=default,
            captions=[f"{counts[name]} runs" if counts.get(name) else "empty" for name in names],
            key="suite",
            bind="query-params",
        )
        suite = suite or names[default]
        metrics = load_metrics(url, suite)
        choice = st.selectbox(
            "Metric",
            [MAIN_METRIC, *metrics],
            format_func=lambda m: m if m == MAIN_METRIC else metric_label(m),
            key="metric",
            help="what the cells show; the main metric is nDCG@10 for BEIR",
        )
        metric = None if choice in (None, MAIN_METRIC) else str(choice)
        verified_only = st.toggle(
            "Verified data only",
            value=True,
            key="verified_only",
            help="only cells whose dataset fingerprint and counts equal the data card",
        )
    return suite, metric, verified_only


def filters(table: pd.DataFrame) -> pd.DataFrame:
    with st.sidebar:
        st.subheader("Filters")
        kinds = st.pills("Model kind", bq.KINDS, selection_mode="multi", default=list(bq.KINDS), key="kinds")
        origins = st.pills(
            "Origin",
            store.ORIGINS,
            selection_mode="multi",
            default=list(store.ORIGINS),
            format_func=lambda o: ORIGIN_LABELS.get(o, o),
            key="origins",
        )
        reproduced_only = st.toggle(
            "Reproduced only", key="reproduced_only", help="runs `harness verify` re-ran"
        )
        sizes = table["n_parameters"].dropna() / 1e6
        size_range = None
        keep_unknown = True
        if len(sizes) and sizes.max() > sizes.min():
            low, high = math.floor(sizes.min() * 10) / 10, math.ceil(sizes.max() * 10) / 10
            chosen = st.slider("Parameters (millions)", low, high, (low, high), key="size")
            size_range = (chosen[0] * 1e6, chosen[1] * 1e6)
            keep_unknown = st.toggle(
                "Include models without a parameter count", value=True, key="size_unknown", help="e.g. BM25"
            )
    return bq.filter_rows(table, kinds, origins, reproduced_only, size_range, keep_unknown)


def main() -> None:
    st.set_page_config(page_title="repbench leaderboard", layout="wide")
    url = database_url()
    try:
        engine(url)
    except HarnessError as error:
        st.error(f"Cannot open the database: {error}")
        st.stop()
    suite, metric, verified_only = sidebar(url)
    st.title("repbench leaderboard")
    shown_url = make_url(url).render_as_string(hide_password=True)
    st.caption(
        f"Suite **{suite}** · database `{shown_url}` · submit a results file with `harness submit FILE`"
    )
    result = load_board(url, suite, metric, verified_only)
    if result.table.empty:
        st.info(
            f"No results in suite **{suite}** yet"
            + (" with verified data" if verified_only else "")
            + f". Add some with `harness run --model MODEL --suite {suite}` or `harness submit FILE`."
        )
        return
    shown = filters(result.table)
    tasks = [task for task in result.tasks if shown[task].notna().any()]  # hide emptied columns
    mean, mean_over = bq.shared_mean(shown, tasks)
    shown = shown.assign(mean=mean)
    higher = all(result.higher_is_better.values())
    shown = shown.sort_values("mean", ascending=not higher, na_position="last", kind="stable")
    tabs = st.tabs(list(VIEWS), key="view", bind="query-params", on_change="rerun")
    with tabs[0]:
        if tabs[0].open is not False:
            if shown.empty:
                st.info("No model passes the filters.")
            else:
                view_table(result, shown, tasks, mean_over)
    with tabs[1]:
        if tabs[1].open:
            view_compare(url, result, shown, tasks, (suite, metric, verified_only))
    with tabs[2]:
        if tabs[2].open:
            view_plots(result, shown, tasks, mean_over)
    with tabs[3]:
        if tabs[3].open:
            view_model(url, result)


main()
