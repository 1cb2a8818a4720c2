"""The board's views: the leaderboard table, the significance comparison, the plots, sweeps, the model page.

Each view renders what ``harness.board.queries`` computed; text that came from a results file (model
ids, revisions) is shown as data (table cells, code blocks), and a command built from it is quoted.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import altair as alt
import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

from harness.board import queries as bq
from harness.board.cache import (
    load_document,
    load_kernel_points,
    load_model_runs,
    load_replicates,
    load_significance,
)

MISSING = "–"
BEST_STYLE = "font-weight: 700; background-color: rgba(33, 195, 84, 0.22)"
BETTER_STYLE = "color: #0b7a2a; font-weight: 700"
WORSE_STYLE = "color: #b3261e; font-weight: 700"
ORIGIN_LABELS = {"reference": "reference", "submission": "submitted"}
TRUST_HELP = (
    "reference: made by `harness run` in this project and read from its results folder; "
    "submitted: a file sent in (`harness submit`), checked for consistency only; "
    "submitted, rescored: every metric recomputed here from the file and the local data; "
    "submitted, reproduced: `harness verify` re-ran the model here and matched every metric. "
    "A row shows its weakest cell; the model page shows each cell's. Verified data (a separate "
    "filter) means the dataset's fingerprint and counts equal the data card, nothing more."
)


# --- formatting ---------------------------------------------------------------------------------


def short(label: str, suite: str) -> str:
    """``beir/scifact`` -> ``scifact`` inside the beir suite (labels stay unique)."""
    return label.removeprefix(f"{suite}/")


def score(value: Any) -> str:
    return MISSING if pd.isna(value) else f"{value:.4f}"


def rate(value: Any) -> str:
    return MISSING if pd.isna(value) else f"{value:,.0f}"


def one_decimal(value: Any) -> str:
    return MISSING if pd.isna(value) else f"{value:,.1f}"


def model_name(model_id: str, revision: Any, variant: Any = "") -> str:
    return bq.display_name(model_id, revision if isinstance(revision, str) else None, str(variant or ""))


def row_label(shown: pd.DataFrame, row: str) -> str:
    """A row as a picker lists it: the model's name, and `` (submitted)`` for a submissions' row."""
    name = model_name(shown.at[row, "model_id"], shown.at[row, "revision"], shown.at[row, "variant"])
    return name if shown.at[row, "origin"] == "reference" else f"{name} (submitted)"


_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


_WORD_JOINER = "\u2060"


def markdown_literal(text: str) -> str:
    """``text`` shown as itself where Streamlit renders Markdown (headings, captions): never as markup.

    Text from files (ids, revisions) must not become markup: ``[Official](https://evil.example)`` a
    link, ``:red[**REFERENCE**]`` a coloured banner. Every ASCII punctuation mark becomes a numeric
    character reference (CommonMark 0.31, "Entity and numeric character references"), which renders
    as the mark but is never read as syntax. GitHub-flavoured Markdown also links bare URLs and
    addresses (``https://x``, ``www.x``, ``a@b.x``) after parsing, from the rendered text, so an
    invisible word joiner (U+2060) goes before every ``:``, ``.`` and ``@``. Tables of file values
    do not use Markdown at all (``key_value``).
    """
    shown = []
    for char in text:
        if char in ":.@":
            shown.append(_WORD_JOINER)
        shown.append(f"&#{ord(char)};" if char in _PUNCTUATION else char)
    return "".join(shown)


def row_names(shown: pd.DataFrame) -> list[str]:
    """How each row is shown: model@revision (12 characters) [variant]."""
    columns = (shown["model_id"], shown["revision"], shown["variant"])
    return [model_name(m, r, v) for m, r, v in zip(*columns, strict=True)]


def model_link(suite: str, model: str) -> str:
    return "?" + urlencode({"suite": suite, "view": "Model", "model": model})


def display_frame(result: bq.Board, shown: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """The shown rows in display order: identity, one column per task, mean, the suite's speeds and sizes.

    Values are rounded to what is shown (4 decimals for scores), so sorting, the best-value mark
    and the grid's accessible text agree with the picture; the store keeps full precision.
    """
    frame = pd.DataFrame(index=shown.index)
    frame["model"] = row_names(shown)
    for task in tasks:
        frame[short(task, result.suite)] = shown[task].round(4)
    frame["mean"] = shown["mean"].round(4)
    for rate_column in result.spec.rates:
        if shown[rate_column.label].notna().any():
            frame[rate_column.label] = shown[rate_column.label].round(0)
    for size in result.spec.sizes:
        if shown[size.label].notna().any():
            frame[size.label] = shown[size.label].round(1)
    frame["params (M)"] = (shown["n_parameters"] / 1e6).round(1)
    frame["dim"] = shown["dimensions"]
    frame["kind"] = shown["kind"]
    frame["origin"] = shown["trust"]
    frame["reproduced"] = shown["reproduced"].map(lambda done: "✓" if done else MISSING)
    frame["details"] = [model_link(result.suite, model) for model in shown.index]
    return frame.reset_index(drop=True)


def spread_text(value: Any, sd: Any) -> str:
    """``0.8120 ± 0.0040``: a cell and the sample sd of its replicates; the plain score without one."""
    return score(value) if pd.isna(value) or pd.isna(sd) else f"{value:.4f} ± {sd:.4f}"


def spread_formats(
    frame: pd.DataFrame, spread: pd.DataFrame
) -> tuple[dict[str, Any], list[tuple[int, str, str]]]:
    """Formatters that show ``value ± sd`` in the numeric columns of ``frame`` (same positions as ``spread``).

    The cell stays a number, so the grid sorts it as one and the best-value mark still applies;
    only its text changes. A Styler formatter sees the value alone, so each column maps its values
    to their text; a value two rows share with different spreads is returned as a single cell
    ``(position, column, text)`` to format on its own (a ``Styler.format`` call per cell takes about
    2 ms with pandas 3.1: four seconds for a 200-row, 10-task table).
    """
    formats: dict[str, Any] = {}
    cells: list[tuple[int, str, str]] = []
    for column in spread.columns:
        if column not in frame or not spread[column].notna().any():
            continue
        texts: dict[float, str] = {}
        for position, (value, sd) in enumerate(zip(frame[column], spread[column], strict=True)):
            if pd.isna(value):
                continue
            text = spread_text(value, sd)
            if texts.setdefault(value, text) != text:
                cells.append((position, column, text))
        formats[column] = lambda value, texts=texts: texts.get(value) or score(value)
    return formats, cells


def styled(
    frame: pd.DataFrame, result: bq.Board, tasks: list[str], spread: pd.DataFrame | None = None
) -> Any:
    """Numbers as text (4 decimals for scores, ``± sd`` where a cell has replicates), the best marked.

    ``spread`` (positions as ``frame``, columns named as shown) holds each cell's sample sd.
    """
    quality = [short(task, result.suite) for task in tasks] + ["mean"]
    rates = [r.label for r in result.spec.rates if r.label in frame]
    sizes = [s.label for s in result.spec.sizes if s.label in frame]
    direction = {short(task, result.suite): result.higher_is_better[task] for task in tasks}
    direction["mean"] = all(result.higher_is_better[task] for task in tasks) if tasks else True
    direction.update(dict.fromkeys(rates, True))  # faster is better
    direction.update(dict.fromkeys(sizes, False))  # smaller is better
    best = bq.best_values(frame, direction)

    def mark(column: pd.Series) -> list[str]:
        if column.name not in best:
            return [""] * len(column)
        return [BEST_STYLE if value == best[column.name] else "" for value in column]

    formats: dict[str, Any] = dict.fromkeys(quality, score)
    formats.update(dict.fromkeys(rates, rate))
    formats.update(dict.fromkeys(sizes, one_decimal))
    formats.update({"params (M)": one_decimal, "dim": rate})
    cells: list[tuple[int, str, str]] = []
    if spread is not None:
        with_spread, cells = spread_formats(frame, spread)
        formats.update(with_spread)
    style = frame.style.format(formats)
    for position, column, text in cells:
        style = style.format(lambda _, text=text: text, subset=([position], [column]))
    return style.apply(mark, subset=[*quality, *rates, *sizes])


def column_config(result: bq.Board, tasks: list[str]) -> dict[str, Any]:
    number = st.column_config.Column
    config: dict[str, Any] = {
        "model": st.column_config.TextColumn(
            "model", pinned=True, help="model id @ revision (first 12 characters) [variant]"
        ),
        "kind": st.column_config.TextColumn(width=70),
        "origin": st.column_config.TextColumn(width=150, help=TRUST_HELP),
        "reproduced": st.column_config.TextColumn(
            "reproduced", width=90, help="✓ when `harness verify` re-ran the file and matched it"
        ),
        "details": st.column_config.LinkColumn(
            "details", display_text="open", width=70, help="provenance and per-dataset breakdown"
        ),
        "mean": number(
            width=80, help="mean over the datasets every shown row has; a missing cell is never a 0"
        ),
        "params (M)": number(width=90, help="model parameters, millions"),
        "dim": number(width=60, help="embedding dimensions"),
    }
    for rate_column in result.spec.rates:
        config[rate_column.label] = number(width=90, help=rate_column.help)
    for size in result.spec.sizes:
        config[size.label] = number(width=85, help=size.help)
    for task in tasks:
        key = result.columns[task]
        metric = bq.metric_label(result.metric or str(key["main_metric"]))
        text = f"{metric}, {key['task']} split {key['split']}, task version {key['task_version']}"
        counts = result.replicates[task] if task in result.replicates else pd.Series(dtype=int)
        replicated = counts[counts >= 2]
        if len(replicated):
            low, high = int(replicated.min()), int(replicated.max())
            text += f"; mean ± sample sd over {low if low == high else f'{low} to {high}'} replicates"
        caps = result.train_caps.get(task)
        if caps:
            text += f"; training set capped at {' or '.join(f'{cap:,}' for cap in caps)} examples"
        config[short(task, result.suite)] = number(width=140 if len(replicated) else 85, help=text)
    return config


# --- views --------------------------------------------------------------------------------------


def view_table(result: bq.Board, shown: pd.DataFrame, tasks: list[str], mean_over: list[str]) -> None:
    over = ", ".join(short(task, result.suite) for task in mean_over) or "none (no dataset is shared)"
    spread = result.spread.reindex(index=shown.index, columns=tasks)
    replicated = (
        " · a cell with replicates (seeds; seed × fold for a cross-validated task) is their mean ± "
        "their sample standard deviation, and sorts by the mean"
        if spread.notna().any().any()
        else ""
    )
    st.caption(
        f"{len(shown)} of {len(result.table)} models · mean over: {over} · "
        "best value per column highlighted · each cell is the newest run, never the best of several"
        + replicated
    )
    caps = {task: result.train_caps[task] for task in tasks if task in result.train_caps}
    if caps:
        capped = "; ".join(
            f"{markdown_literal(short(task, result.suite))} at most "
            + " or ".join(f"{cap:,}" for cap in found)
            for task, found in caps.items()
        )
        st.caption(f"Training examples capped (settings.train_cap): {capped}")
    frame = display_frame(result, shown, tasks)
    spread = spread.rename(columns=lambda task: short(task, result.suite)).reset_index(drop=True)
    st.dataframe(
        styled(frame, result, tasks, spread),
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
    names = {row: row_label(shown, row) for row in rows}
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
    baseline_name = markdown_literal(names[baseline])  # a model id from a file: never Markdown
    st.caption(
        f"{bq.BETTER} / {bq.WORSE}: significantly better / worse than **{baseline_name}** "
        f"(paired randomization test over per-item scores, two-sided p < {bq.SIGNIFICANCE_LEVEL}, "
        f"{bq.TRIALS:,} sign flips, seed 0; Smucker, Allan and Carterette, CIKM 2007). "
        "Unmarked: no significant difference, or no per-item scores to test (a whole-set measure "
        "such as Spearman has none)."
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


def view_plots(
    url: str,
    result: bq.Board,
    shown: pd.DataFrame,
    tasks: list[str],
    mean_over: list[str],
    filters: tuple[Any, ...],
) -> None:
    """The plots the suite's ``BoardSpec`` offers, side by side, and the spread where cells have replicates.

    ``kernels`` is a section of its own below them (``plot_kernels``). The spread chart follows the
    data rather than the spec: any suite whose runs record replicates (seeds, folds) gets it, and a
    suite without them is not shown an empty chart.
    """
    names = row_names(shown)
    plots = {"quality_vs_speed": plot_quality_speed, "per_task": plot_per_task}
    chosen = [plots[name] for name in result.spec.plots if name in plots]
    kernels = "kernels" in result.spec.plots  # full width, below the others: it has charts of its own
    replicated = result.replicates.reindex(index=shown.index, columns=tasks).fillna(0).ge(2)
    if not chosen and not kernels and not replicated.any().any():
        st.info("This suite offers no plots.")
        return
    if chosen:
        for column, plot in zip(st.columns(len(chosen)), chosen, strict=True):
            with column:
                plot(result, shown, tasks, mean_over, names)
    if kernels:
        plot_kernels(url, shown, filters)
    if replicated.any().any():
        plot_spread(url, result, shown, [t for t in tasks if replicated[t].any()], replicated, filters)


SPREAD_ROWS = 6
"""Models the spread chart starts with (the best by mean); a chart of every row's replicates is unreadable."""


def plot_spread(
    url: str,
    result: bq.Board,
    shown: pd.DataFrame,
    tasks: list[str],
    replicated: pd.DataFrame,
    filters: tuple[Any, ...],
) -> None:
    """Each replicate's value per model and task, a box over them: how far a cell's mean can be trusted."""
    st.subheader("Spread over replicates")
    candidates = [row for row in shown.index if replicated.loc[row].any()]
    names = {row: row_label(shown, row) for row in candidates}
    rows = st.multiselect(
        "Models",
        candidates,
        default=candidates[:SPREAD_ROWS],
        format_func=names.__getitem__,
        key="spread_models",
        help="the rows whose runs hold replicates; the best by mean first",
    )
    if not rows:
        st.info("Pick a model to see the spread of its replicates.")
        return
    suite, metric, verified_only = filters
    values = load_replicates(url, suite, metric, verified_only, tuple(rows))
    values = values[values["task"].isin(tasks)]
    if values.empty:
        st.info("None of these models has replicates of the shown metric.")
        return
    frame = pd.DataFrame(
        {
            "model": values["row"].map(names).to_numpy(),
            "dataset": values["task"].map(lambda t: short(t, result.suite)).to_numpy(),
            "seed": values["seed"].astype(str).replace("<NA>", MISSING).to_numpy(),
            "fold": values["fold"].astype(str).replace("<NA>", MISSING).to_numpy(),
            "value": values["value"].to_numpy(dtype=float),
        }
    )
    order = [
        short(task, result.suite) for task in tasks if short(task, result.suite) in set(frame["dataset"])
    ]
    st.altair_chart(spread_chart(frame, order, [names[row] for row in rows]), width="content")
    st.caption(
        "One point per replicate (a seed; a seed and fold for a cross-validated task), the box their "
        "quartiles and range; each dataset has its own scale. The table's ± is the sample standard "
        "deviation of these points."
    )


def spread_chart(frame: pd.DataFrame, datasets: list[str], models: list[str]) -> alt.FacetChart:
    base = alt.Chart().encode(
        x=alt.X("model:N", sort=models, axis=alt.Axis(labels=False, ticks=False), title=None),
        y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=None),
        color=alt.Color(
            "model:N", sort=models, legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)
        ),
    )
    box = base.mark_boxplot(extent="min-max", opacity=0.35, size=18)
    dots = base.mark_point(filled=True, size=24, opacity=0.75).encode(
        tooltip=["model", "dataset", "seed", "fold", alt.Tooltip("value:Q", format=".4f")]
    )
    chart: alt.FacetChart = (
        alt.layer(box, dots, data=frame)
        .properties(width=max(90, 34 * len(models)), height=200)
        .facet(facet=alt.Facet("dataset:N", sort=datasets, title=None), columns=5)
        .resolve_scale(y="independent")
    )
    return chart


def plot_quality_speed(
    result: bq.Board, shown: pd.DataFrame, tasks: list[str], mean_over: list[str], names: list[str]
) -> None:
    st.subheader("Quality vs speed")
    speed = result.spec.rates[0].label if result.spec.rates else None
    choices = (["mean"] if mean_over else []) + tasks
    quality = st.selectbox(
        "Quality", choices, format_func=lambda c: short(c, result.suite), key="plot_quality"
    )
    if quality is None or speed is None:
        st.info("No dataset to plot." if speed else "This suite records no speed to plot against.")
        return
    points = pd.DataFrame(
        {
            "model": names,
            "kind": shown["kind"].to_numpy(),
            "quality": shown[quality].to_numpy(dtype=float),
            "speed": shown[speed].to_numpy(dtype=float),
        }
    ).dropna()
    points = points[points["speed"] > 0]
    if points.empty:
        st.info(f"No model has both a score and a {speed} figure here.")
        return
    points["pareto"] = bq.pareto_front(points["quality"], points["speed"]).map(
        {True: "on the front", False: "dominated"}
    )
    st.altair_chart(quality_speed_chart(points, short(quality, result.suite), speed), width="stretch")
    st.caption("Pareto front: no other model is both at least as good and at least as fast.")


def plot_per_task(
    result: bq.Board, shown: pd.DataFrame, tasks: list[str], mean_over: list[str], names: list[str]
) -> None:
    st.subheader("Per dataset")
    long = shown[tasks].rename(columns=lambda t: short(t, result.suite))
    long.insert(0, "model", names)
    long = long.melt(id_vars="model", var_name="dataset", value_name="score").dropna()
    if long.empty:
        st.info("No scores to plot.")
    else:
        st.altair_chart(dataset_bars(long), width="stretch")


def quality_speed_chart(points: pd.DataFrame, quality: str, speed: str) -> alt.LayerChart:
    base = alt.Chart(points).encode(
        x=alt.X("speed:Q", scale=alt.Scale(type="log"), title=f"{speed} (log)"),
        y=alt.Y("quality:Q", scale=alt.Scale(zero=False), title=quality),
        tooltip=[
            "model",
            "kind",
            alt.Tooltip("quality:Q", format=".4f"),
            alt.Tooltip("speed:Q", format=",.0f", title=speed),
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


# --- kernels ------------------------------------------------------------------------------------

ERRORS = {
    "rel_error": "real inputs (MiniLM Q/K/V over SciFact)",
    "rel_error_random": "random inputs (the timing inputs)",
}
RECALLS = ("recall@10", "recall@1", "recall@100")
MASKINGS = ["non-causal", "causal"]
LEGEND_FREE = 380
LEGEND_ROW = 30
"""A chart drawn to the column's width sizes its legends into its height: the plot keeps about
``LEGEND_FREE`` pixels with ``LEGEND_ROW`` added per legend entry (one per model, below it)."""
ONE_X = pd.DataFrame({"speedup": [1.0]})
"""Where a kernel is as fast as its peer: the line a speed-up chart is read against."""


def measure_format(metric: str) -> Callable[[Any], str]:
    """A cell formatter for ``metric``: its ``Measure``'s digits, ``MISSING`` for NaN."""
    return lambda value: MISSING if pd.isna(value) else bq.format_score(metric, float(value))


LENGTH_LABEL = "datum.value >= 1024 && datum.value % 1024 == 0 ? (datum.value / 1024) + 'k' : datum.value"
"""``length_label`` as a Vega expression, for an axis of sequence lengths."""


def length_label(n: int) -> str:
    """``16384`` -> ``16k``: a sequence length as the charts label it."""
    return f"{n // 1024}k" if n >= 1024 and n % 1024 == 0 else str(n)


def plot_kernels(url: str, shown: pd.DataFrame, filters: tuple[Any, ...]) -> None:
    """Attention kernels (speed-up against error and against length) and quantisers (recall per byte).

    Every point is a cell of a shown row, so the board's filters and its verified-data toggle hold;
    model ids are data in the charts and tables, never text of a caption.
    """
    st.subheader("Kernels")
    suite, metric, verified_only = filters
    attention, quantizers, in_model = load_kernel_points(
        url, suite, metric, verified_only, tuple(str(row) for row in shown.index)
    )
    if attention.empty and quantizers.empty and in_model.empty:
        st.info("No attention, quantisation or in-model kernel results among the shown models.")
    if not attention.empty:
        kernel_attention(attention)
    elif verified_only:
        st.info(
            "No attention results shown: their inputs are generated, not read from a data card, so "
            "they are never verified data. Switch off “Verified data only” in the sidebar to see them."
        )
    if not quantizers.empty:
        kernel_quantizers(quantizers)
    if not in_model.empty:
        kernel_in_model(in_model, suite)


def kernel_attention(points: pd.DataFrame) -> None:
    """Speed-up against relative error per (model, length), and speed-up against length, 1x marked."""
    devices = {"CPU": points[~points["gpu"]], "GPU": points[points["gpu"]]}
    present = [name for name, found in devices.items() if not found.empty]
    device = present[0]
    left, right = st.columns(2)
    with left:
        if len(present) > 1:
            device = st.radio("Device", present, horizontal=True, key="kernel_device") or present[0]
    with right:
        error = st.radio(
            "Error on",
            list(ERRORS),
            format_func=ERRORS.__getitem__,
            horizontal=True,
            key="kernel_error",
            help="relative Frobenius error against float64 exact attention, over sampled query rows",
        )
    error = error or "rel_error"
    chosen = devices[device]
    frame = pd.DataFrame(
        {
            "model": chosen["model"].to_numpy(),
            "n": chosen["n"].to_numpy(dtype=int),
            "length": [length_label(int(n)) for n in chosen["n"]],
            "masking": ["causal" if causal else "non-causal" for causal in chosen["causal"]],
            "speedup": chosen["speedup"].to_numpy(dtype=float),
            "error": chosen[error].to_numpy(dtype=float),
        }
    )
    timed = frame[frame["speedup"] > 0]
    plotted = timed[timed["error"] > 0]
    left, right = st.columns(2)
    with left:
        st.markdown("##### Speed-up vs error")
        if plotted.empty:
            st.info("No point has both a speed-up and an error above 0 to draw on log axes.")
        else:
            st.altair_chart(speedup_error_chart(plotted, ERRORS[error]), width="stretch")
    with right:
        st.markdown("##### Speed-up vs sequence length")
        if timed.empty:
            st.info("No point has a speed-up to draw.")
        else:
            st.altair_chart(speedup_length_chart(timed), width="stretch")
    notes = [
        f"{device}: {len(frame)} points",
        "speed-up: exact attention's median time over the kernel's (log scale)",
        "grey dashed line: 1×, as fast as exact attention; above it the kernel wins",
        "against length: solid lines non-causal, dashed causal",
    ]
    if len(plotted) < len(frame):
        notes.append(f"{len(frame) - len(plotted)} points without a positive speed-up and error left out")
    st.caption(" · ".join(notes))
    with st.expander("The attention points as a table"):
        table = chosen.drop(columns=["row", "task", "gpu"]).reset_index(drop=True)
        table = table.dropna(axis="columns", how="all")
        metrics = [name for name in bq.ATTENTION_METRICS if name in table]
        formats = {name: measure_format(name) for name in metrics}
        st.dataframe(
            table.style.format(formats),
            hide_index=True,
            width="stretch",
            placeholder=MISSING,
            column_config={name: st.column_config.Column(bq.metric_label(name)) for name in metrics},
            key="kernel_attention_table",
        )


def speedup_error_chart(points: pd.DataFrame, error: str) -> alt.FacetChart:
    """Speed-up (log) against relative error (log): one line per model through its lengths, by masking."""
    models = sorted(set(points["model"]))
    base = alt.Chart().encode(
        x=alt.X("error:Q", scale=alt.Scale(type="log"), title="relative error (log)"),
        y=alt.Y("speedup:Q", scale=alt.Scale(type="log"), title="speed-up over exact (log)"),
        color=alt.Color(
            "model:N", sort=models, legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)
        ),
    )
    path = base.mark_line(opacity=0.5).encode(order=alt.Order("n:Q"))
    dots = base.mark_point(filled=True, size=70).encode(
        tooltip=[
            "model",
            "masking",
            alt.Tooltip("n:Q", format=",d", title="sequence length"),
            alt.Tooltip("speedup:Q", format=".2f", title="speed-up"),
            alt.Tooltip("error:Q", format=".4f", title=f"relative error, {error}"),
        ]
    )
    labels = base.mark_text(align="left", dx=7, dy=-7, fontSize=10).encode(text="length:N")
    one = alt.Chart().mark_rule(color="#888", strokeDash=[4, 3]).encode(y=alt.datum(1))
    present = [masking for masking in MASKINGS if masking in set(points["masking"])]
    chart: alt.FacetChart = (
        alt.layer(one, path, dots, labels, data=points)
        .properties(width=220, height=300)
        .facet(column=alt.Column("masking:N", sort=present, title=None))
    )
    return chart


def speedup_length_chart(points: pd.DataFrame) -> alt.LayerChart:
    """Speed-up (log) against sequence length (log 2): where a kernel starts to beat exact attention."""
    models = sorted(set(points["model"]))
    lengths = sorted(set(int(n) for n in points["n"]))
    curves = (
        alt.Chart(points)
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=60))
        .encode(
            x=alt.X(
                "n:Q",
                scale=alt.Scale(type="log", base=2),
                axis=alt.Axis(values=lengths, labelExpr=LENGTH_LABEL),
                title="sequence length (log 2)",
            ),
            y=alt.Y("speedup:Q", scale=alt.Scale(type="log"), title="speed-up over exact (log)"),
            color=alt.Color(
                "model:N", sort=models, legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)
            ),
            # the caption says which is which: a dash legend of a line with points draws no dash
            strokeDash=alt.StrokeDash(
                "masking:N", scale=alt.Scale(domain=MASKINGS, range=[[1, 0], [6, 4]]), legend=None
            ),
            tooltip=[
                "model",
                "masking",
                alt.Tooltip("n:Q", format=",d", title="sequence length"),
                alt.Tooltip("speedup:Q", format=".2f", title="speed-up"),
            ],
        )
    )
    one = alt.Chart(ONE_X).mark_rule(color="#888", strokeDash=[4, 3]).encode(y="speedup:Q")
    chart: alt.LayerChart = (one + curves).properties(height=LEGEND_FREE + LEGEND_ROW * len(models))
    return chart


def kernel_quantizers(points: pd.DataFrame) -> None:
    """Recall against bytes per vector, one line per quantiser, and MSE and nDCG@10 by bytes."""
    st.markdown("##### Recall vs bytes per vector")
    recall = st.selectbox(
        "Recall",
        RECALLS,
        key="kernel_recall",
        help="the fraction of queries whose exact nearest neighbour is in the top k of the coded search",
    )
    recall = recall or RECALLS[0]
    drawn = points.dropna(subset=[recall])
    left, right = st.columns([3, 2])
    with left:
        if drawn.empty:
            st.info("No quantiser has this recall.")
        else:
            st.altair_chart(recall_bytes_chart(drawn, recall), width="stretch")
    with right:
        table = points[["model", "code_bytes", "recall@10", "recall@10 sd", "mse", "ndcg@10", "speedup"]]
        table = table.rename(columns={"code_bytes": "bytes", "recall@10 sd": "± sd"})
        numbers = ["recall@10", "± sd", "mse", "ndcg@10", "speedup"]
        measured = {"± sd": "recall@10"}
        formats = {column: measure_format(measured.get(column, column)) for column in numbers}
        st.dataframe(
            table.reset_index(drop=True).style.format(formats),
            hide_index=True,
            width="stretch",
            placeholder=MISSING,
            column_config={
                "± sd": st.column_config.Column(help="sample standard deviation of recall@10 over the seeds"),
                "speedup": st.column_config.Column(
                    "speed-up", help="the peer's encode + search time over this quantiser's (median of seeds)"
                ),
            },
            key="kernel_quantizer_table",
        )
    replicates = sorted(set(int(r) for r in points["replicates"] if r))
    st.caption(
        "Each value is the mean over the training seeds"
        + (f" ({' or '.join(str(r) for r in replicates)} per point)" if replicates else "")
        + "; the speed-up is their median. Bytes per vector: the size of one code."
    )


def recall_bytes_chart(points: pd.DataFrame, recall: str) -> alt.Chart:
    """Recall against bytes per vector (at the coded sizes), one line per quantiser."""
    sizes = sorted(set(int(b) for b in points["code_bytes"]))
    models = sorted(set(points["model"]))
    chart: alt.Chart = (
        alt.Chart(points)
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=60))
        .encode(
            x=alt.X("code_bytes:Q", axis=alt.Axis(values=sizes, format="d"), title="bytes per vector"),
            y=alt.Y(f"{recall}:Q", scale=alt.Scale(zero=False), title=f"{recall}, exact nearest neighbour"),
            color=alt.Color(
                "model:N", sort=models, legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)
            ),
            tooltip=[
                "model",
                alt.Tooltip("code_bytes:Q", title="bytes per vector"),
                *(alt.Tooltip(f"{name}:Q", format=".4f") for name in RECALLS),
                alt.Tooltip("recall@10 sd:Q", format=".4f", title="recall@10 sd"),
            ],
        )
        .properties(height=LEGEND_FREE + LEGEND_ROW * len(models))
    )
    return chart


def kernel_in_model(points: pd.DataFrame, suite: str) -> None:
    """A kernel swapped into a real model: the model's score with it, and what it cost."""
    st.markdown("##### Inside a model")
    table = points.drop(columns=["row"]).assign(task=[short(task, suite) for task in points["task"]])
    st.dataframe(
        table.style.format({"value": score, "cost": score}),
        hide_index=True,
        width="stretch",
        placeholder=MISSING,
        column_config={
            "value": st.column_config.Column(
                help="the main metric with the kernel in place of exact attention"
            ),
            "cost": st.column_config.Column(help="the plain model's score minus the value (lower is better)"),
        },
        key="kernel_in_model_table",
    )


# --- sweeps -------------------------------------------------------------------------------------

SWEEP_EXAMPLE = "harness run --model all-MiniLM-L6-v2 --suite {suite} --dims 32,64,128,256,384 --layers 2,4,6"
MEAN = "mean"


def base_label(base: bq.SweepBase) -> str:
    name = bq.display_name(base.model_id, base.revision)
    return name if base.origin == "reference" else f"{name} (submitted)"


def view_sweeps(result: bq.Board) -> None:
    """A model's layer x dimension sweep: a heatmap of quality, and quality against dimension per layer.

    The points are the board's variant rows of one (standing, model, revision), so they carry the
    board's metric and its verified-data filter; a hole in the grid is drawn as one.
    """
    bases = {base.key: base for base in bq.sweep_bases(result.table)}
    if not bases:
        st.info(
            "No model in this suite has layer or dimension variants yet. A sweep evaluates one model "
            "at truncated dimensions (Matryoshka) and at intermediate layers in a single run; each "
            "(layer, dimension) point is a variant row of the board, for example:"
        )
        suite = shlex.quote(result.suite)  # a stored suite name: quoted like any file value
        st.code(SWEEP_EXAMPLE.format(suite=suite), language="bash")
        return
    key = st.selectbox(
        "Model",
        list(bases),
        format_func=lambda k: base_label(bases[k]),
        key="sweep_model",
        help="models with layer/dimension variants (harness run --layers --dims)",
    )
    if key is None:
        return
    grid = bq.sweep_grid(result, bases[key])
    choices = ([MEAN] if grid.mean_over else []) + grid.tasks
    quality = st.selectbox(
        "Quality",
        choices,
        format_func=lambda c: (
            "mean over the datasets every point has" if c == MEAN else short(c, result.suite)
        ),
        key="sweep_quality",
    )
    if quality is None:
        st.info("No point of this sweep has a score to show.")
        return
    metric = bq.metric_label(result.metric) if result.metric else "main metric"
    title = "mean" if quality == MEAN else short(quality, result.suite)
    higher = grid.higher_is_better if quality == MEAN else result.higher_is_better.get(quality, True)
    surface = bq.sweep_surface(grid, quality)
    curves = bq.sweep_curves(grid, quality)
    left, right = st.columns(2)
    with left:
        st.markdown("##### Layer × dimension")
        st.altair_chart(sweep_heatmap(surface, title, higher), width="stretch")
    with right:
        st.markdown("##### Quality vs dimension")
        if curves.empty:
            st.info("No point has a value to draw.")
        else:
            st.altair_chart(sweep_curve_chart(curves, title), width="stretch")
    holes = int((~surface["present"]).sum())
    over = ", ".join(markdown_literal(short(task, result.suite)) for task in grid.mean_over)
    notes = [
        f"{len(grid.points)} points of **{markdown_literal(base_label(grid.base))}**",
        f"cells: {markdown_literal(metric)}",
        f"mean over: {over or 'none'}",
    ]
    if holes:
        notes.append(f"{holes} of {len(surface)} grid points not run")
    if grid.as_is is not None:
        notes.append("“as is”: the model without a variant, at its own dimension")
    if grid.others:
        notes.append(f"{grid.others} other variants (not layer/dimension points) left out")
    st.caption(" · ".join(notes) + (" · lower is better" if not higher else ""))
    with st.expander("The grid as a table"):
        table = surface.pivot(index="layer_label", columns="dim", values="value")
        table = table.reindex(index=bq.layer_order(surface["layer_label"]))
        table.columns = [str(dim) for dim in table.columns]
        table = table.reset_index().rename(columns={"layer_label": "layer"})
        st.dataframe(
            table.style.format(score, subset=list(table.columns[1:])),
            hide_index=True,
            width="stretch",
            key="sweep_table",
        )


def sweep_heatmap(surface: pd.DataFrame, title: str, higher: bool) -> alt.LayerChart:
    """Quality per (layer, dim), its value written in the cell; points not run are grey, marked so."""
    frame = surface.copy()
    known = frame["value"].dropna()
    low, high = (float(known.min()), float(known.max())) if len(known) else (0.0, 1.0)
    position = (frame["value"] - low) / (high - low) if high > low else frame["value"] * 0 + 1.0
    dark = position < 0.5 if higher else position > 0.5  # viridis is dark at its low end
    frame["ink"] = ["white" if d else "black" for d in dark]
    frame["note"] = ["not run" if not present else MISSING for present in frame["present"]]
    layers = bq.layer_order(frame["layer_label"])
    base = alt.Chart(frame).encode(
        x=alt.X("dim:O", sort="ascending", title="dimensions", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("layer_label:O", sort=layers, title="layer"),
    )
    valid = "isValid(datum.value)"
    cells = (
        base.transform_filter(valid)
        .mark_rect()
        .encode(
            color=alt.Color("value:Q", scale=alt.Scale(scheme="viridis", reverse=not higher), title=title),
            tooltip=[
                alt.Tooltip("layer_label:N", title="layer"),
                alt.Tooltip("dim:O", title="dimensions"),
                alt.Tooltip("value:Q", format=".4f", title=title),
            ],
        )
    )
    # the text colour is a condition, not a second colour scale: a layer with ``scale=None`` on the
    # channel the rects scale makes Vega fail at runtime ("reading 'type'") and draw nothing
    values = (
        base.transform_filter(valid)
        .mark_text(fontSize=12)
        .encode(
            text=alt.Text("value:Q", format=".4f"),
            color=alt.condition(alt.datum.ink == "white", alt.value("white"), alt.value("black")),
        )
    )
    holes = base.transform_filter(f"!({valid})").mark_rect(color="#e6e6e6")
    hole_text = (
        base.transform_filter(f"!({valid})").mark_text(fontSize=11, color="#666").encode(text="note:N")
    )
    chart: alt.LayerChart = (cells + values + holes + hole_text).properties(height=max(200, 56 * len(layers)))
    return chart


def sweep_curve_chart(curves: pd.DataFrame, title: str) -> alt.Chart:
    """Quality against dimension (log 2 axis at the swept dimensions), one line per layer."""
    dims = sorted(set(curves["dim"]))
    numbered = sorted((label for label in set(curves["layer_label"]) if label.isdigit()), key=int)
    order = numbered + [label for label in (bq.OWN_LAYER, bq.AS_IS) if label in set(curves["layer_label"])]
    chart: alt.Chart = (
        alt.Chart(curves)
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=60))
        .encode(
            x=alt.X(
                "dim:Q",
                scale=alt.Scale(type="log", base=2),
                axis=alt.Axis(values=dims, format="d"),
                title="dimensions (log scale)",
            ),
            y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=title),
            color=alt.Color("layer_label:N", sort=order, title="layer"),
            tooltip=[
                alt.Tooltip("layer_label:N", title="layer"),
                alt.Tooltip("dim:Q", title="dimensions"),
                alt.Tooltip("value:Q", format=".4f", title=title),
            ],
        )
        .properties(height=340)
    )
    return chart


def key_value(rows: dict[str, Any]) -> None:
    """A two-column table of a run's fields, as plain text.

    Names and values come from results files (package names, CPU strings, settings), and
    ``st.table`` renders Markdown in every cell (a bare URL becomes a link even when escaped), so
    this is a dataframe: its cells are never Markdown.
    """
    frame = pd.DataFrame(
        {
            "field": [str(key) for key in rows],
            "value": [MISSING if v is None else str(v) for v in rows.values()],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def view_model(url: str, result: bq.Board) -> None:
    models = list(result.table.index)
    labels = {key: row_label(result.table, key) for key in models}
    # options are the row keys themselves (unique, full revision, " · submitted"): the URL binds the
    # shown text, and ``model_link`` writes the key
    model = st.selectbox("Model", models, key="model", bind="query-params")
    if model is None:
        return
    row = result.table.loc[model]
    revision = row["revision"] if isinstance(row["revision"], str) else None
    digests = sorted(set(row["digests"].values()), key=lambda d: d != row["digest"])
    history = load_model_runs(url, str(row["model_id"]), revision)
    origins = dict(zip(history["digest"], history["origin"], strict=True))
    st.subheader(markdown_literal(labels[model]))
    reproduced = "reproduced by `harness verify`" if row["reproduced"] else "not reproduced yet"
    st.markdown(
        f"**{markdown_literal(str(row['kind']))}** · {markdown_literal(str(row['trust']))} · {reproduced} · "
        f"shown runs: {', '.join(f'`{d[:12]}`' for d in digests)}"
    )
    tasks = {result.columns[t]["task"] for t in result.tasks}
    breakdowns = [bq.breakdown(load_document(url, d), result.spec) for d in digests]
    table = pd.concat(breakdowns, ignore_index=True)
    table = table[table["task"].str.split(" [", regex=False).str[0].isin(tasks)]
    cell_labels = {result.columns[label]["task"]: trust for label, trust in row["labels"].items()}
    table.insert(1, "origin", [cell_labels.get(task.split(" [", 1)[0], MISSING) for task in table["task"]])
    table = table.drop(columns=["fingerprint"]).rename(columns={"seconds": "seconds total"})
    table = with_spread_columns(table)
    st.markdown("##### Per-dataset breakdown")
    rates = [r.label for r in result.spec.rates]
    counts = [c for c in (bq.REPLICATES_COLUMN, bq.CAP_COLUMN) if c in table]
    text = [c for c in (bq.MAIN_COLUMN, MEAN_SD) if c in table]
    fixed = ("task", "origin", "split", "version", "verified", "seconds total", *rates, *counts, *text)
    formats: dict[str, Any] = {c: score for c in table.columns if c not in fixed}
    formats.update(dict.fromkeys([*rates, *counts], rate))
    formats["seconds total"] = one_decimal
    st.dataframe(
        table.style.format(formats),
        hide_index=True,
        width="stretch",
        placeholder=MISSING,
        column_config={
            MEAN_SD: st.column_config.TextColumn(
                help="the main metric: the mean of the replicates ± their sample standard deviation"
            ),
            bq.REPLICATES_COLUMN: st.column_config.NumberColumn(
                help="seeds, or seeds × folds for a cross-validated task"
            ),
            bq.CAP_COLUMN: st.column_config.NumberColumn(
                help="training examples capped at this number (settings.train_cap); none: the full set"
            ),
        },
    )
    for digest in digests:
        provenance(url, digest, origins.get(digest, "reference"))
    with st.expander(f"All {len(history)} stored runs of this model (the table shows the newest per task)"):
        st.dataframe(history, hide_index=True, width="stretch")


MEAN_SD = "mean ± sd"


def with_spread_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The breakdown with ``mean ± sd`` of the main metric where a run has replicates.

    Columns that say nothing for this run (no replicates, no cap) are dropped, so a suite without
    them keeps its page as it was; the main metric's name goes with its ``mean ± sd``.
    """
    table = table.copy()
    replicated = bq.REPLICATES_COLUMN in table and bool((table[bq.REPLICATES_COLUMN] >= 2).any())
    if replicated:
        shown = [
            spread_text(table.at[index, main] if main in table else None, sd)
            for index, main, sd in zip(table.index, table[bq.MAIN_COLUMN], table[bq.SD_COLUMN], strict=True)
        ]
        table.insert(table.columns.get_loc("version") + 1, MEAN_SD, shown)
        table.insert(table.columns.get_loc("version") + 1, bq.MAIN_COLUMN, table.pop(bq.MAIN_COLUMN))
    else:
        table = table.drop(columns=[c for c in (bq.MAIN_COLUMN, bq.REPLICATES_COLUMN) if c in table])
    table = table.drop(columns=[bq.SD_COLUMN], errors="ignore")
    if bq.CAP_COLUMN in table and not table[bq.CAP_COLUMN].notna().any():
        table = table.drop(columns=[bq.CAP_COLUMN])
    return table


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
    datasets = ",".join(dict.fromkeys(r["task"].split("/", 1)[-1] for r in document["results"]))
    words = ["harness", "run", "--model", model["id"], "--suite", document["suite"], "--datasets", datasets]
    if model.get("revision"):
        words += ["--revision", model["revision"]]
    command = " ".join(shlex.quote(str(word)) for word in words)  # ids come from files: quote them
    st.code(f"{command}\nharness verify {shlex.quote(path)}", language="bash")
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
        dataset = result["inputs"]
        key_value(
            {
                "task": f"{result['task']} ({result['split']}, task version {result['task_version']})",
                "verified": "yes"
                if dataset["verified"]
                else "no: user data, there is no published card"
                if dataset.get("source") == "user"
                else "NO: fingerprint or counts differ from the card",
                "fingerprint": dataset["fingerprint"],
                **{f"· sha256 {name}": sha for name, sha in sorted(dataset["files"].items())},
                **{f"· count {name}": n for name, n in sorted(dataset["counts"].items())},
                **{f"· setting {name}": v for name, v in sorted(result["settings"].items())},
            }
        )
    verifications = document.get("verifications") or []
    if verifications:
        st.markdown("**Re-runs (`harness verify`)**")
        key_value(
            {
                f"{v['at']}": ("reproduced" if v["reproduced"] else "not reproduced")
                + f" · harness {v['harness']['version']} · {v['hardware']['cpu']}"
                for v in verifications
            }
        )


# --- published beside measured ------------------------------------------------------------------


def view_published(url: str) -> None:
    """Published scores (``harness import``) beside the scores measured here, and the difference.

    Only pairs on the same task, split, metric and data (a dataset revision known to be our card's,
    ``harness.published.tasks``) are compared; every other published score is listed below with why
    it is not. All text is data in dataframes: model ids and file paths come from outside.
    """
    from harness.board.cache import load_published

    comparison = load_published(url)
    st.subheader("Published vs measured here")
    if comparison.compared.empty and comparison.others.empty:
        st.info(
            "No published scores imported yet: `harness import mteb DIR` "
            "or `harness import pyserini-2cr FILE`."
        )
        return
    st.caption(
        "difference = measured here − published; compared only on the same task, split, metric and dataset "
        "build (a dataset revision known to be our card's data)"
    )
    numbers = ["published", "measured here"]
    compared = comparison.compared
    st.dataframe(
        compared.style.format("{:.5f}", subset=numbers).format("{:+.5f}", subset=["difference"]),
        hide_index=True,
        width="stretch",
        key="published-compared",
    )
    with st.expander(f"Published, not compared ({len(comparison.others)})"):
        st.dataframe(
            comparison.others.style.format("{:.5f}", subset=["published"]),
            hide_index=True,
            width="stretch",
            key="published-others",
        )
