"""The repbench leaderboard: a Streamlit page over the results database, read only.

Started by ``harness board [--db URL] [--port N]``, which runs ``page.py`` (this package) with
``-- --db URL``; without it the default URL. The page renders; what it shows is computed by
``harness.board.queries`` from ``harness.store``'s query functions and each suite's registration
(``BoardSpec``: its speed and size columns), so no suite is named here and no SQL is written.
``cache`` holds the cached reads, ``views`` the five views. Views (tabs), suite and model are bound
to the URL, so a view can be linked.
"""

from __future__ import annotations

import math
import shlex

import pandas as pd  # type: ignore[import-untyped]
import streamlit as st
from sqlalchemy.engine import make_url

from harness import store
from harness.board import queries as bq
from harness.board.cache import database_url, engine, load_board, load_metrics, load_suites
from harness.board.views import (
    ORIGIN_LABELS,
    TRUST_HELP,
    markdown_literal,
    view_compare,
    view_model,
    view_plots,
    view_published,
    view_sweeps,
    view_table,
)
from harness.errors import HarnessError

VIEWS = ("Leaderboard", "Compare", "Plots", "Sweeps", "Model", "Published")
MAIN_METRIC = "main metric of each task"


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
            format_func=markdown_literal,  # radio options render Markdown; a stored name is data
            key="suite",
            bind="query-params",
        )
        suite = suite or names[default]
        metrics = load_metrics(url, suite)
        choice = st.selectbox(
            "Metric",
            [MAIN_METRIC, *metrics],
            format_func=lambda m: m if m == MAIN_METRIC else bq.metric_label(m),
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
        f"Suite **{markdown_literal(suite)}** · database `{shown_url.replace('`', '')}` · "
        "submit a results file with `harness submit FILE`",
        help=TRUST_HELP,
    )
    result = load_board(url, suite, metric, verified_only)
    if result.table.empty:
        st.info(
            f"No results in suite **{markdown_literal(suite)}** yet"
            + (" with verified data" if verified_only else "")
            + f". Add some with `harness run --model MODEL --suite {shlex.quote(suite).replace('`', '')}`"
            + " or `harness submit FILE`."
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
            view_plots(url, result, shown, tasks, mean_over, (suite, metric, verified_only))
    with tabs[3]:
        if tabs[3].open:
            view_sweeps(result)
    with tabs[4]:
        if tabs[4].open:
            view_model(url, result)
    with tabs[5]:
        if tabs[5].open:
            view_published(url)
