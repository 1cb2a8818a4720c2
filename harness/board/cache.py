"""The board's reads, cached: one engine per URL, every query for a minute.

Streamlit reruns the page on every click; caching here means switching suite, view or filter does
not wait on the database. Everything read goes through ``harness.board.queries`` and
``harness.store``'s typed query functions.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import streamlit as st
from sqlalchemy.engine import Engine

from harness import store
from harness.board import queries as bq
from harness.registry import SUITES
from harness.suites.base import BoardSpec


def database_url() -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    known, _ = parser.parse_known_args(sys.argv[1:])
    return str(known.db or store.DEFAULT_URL)


def spec_of(suite: str) -> BoardSpec:
    """What the suite's registration asks the board to show (a stored suite no longer registered: none)."""
    found = SUITES.get(suite)
    return found.board if found is not None else BoardSpec()


# --- cached reads -------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def engine(url: str) -> Engine:
    return store.connect(url, readonly=True)


@st.cache_data(ttl=60, show_spinner=False)
def load_suites(url: str) -> tuple[list[str], dict[str, int]]:
    return bq.suite_names(engine(url), SUITES), store.suite_counts(engine(url))


@st.cache_data(ttl=60, show_spinner=False)
def load_metrics(url: str, suite: str) -> list[str]:
    return store.metric_names(engine(url), suite)


@st.cache_data(ttl=60, show_spinner=False)
def load_board(url: str, suite: str, metric: str | None, verified_only: bool) -> bq.Board:
    return bq.board(engine(url), suite, spec_of(suite), metric, verified_only)


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


@st.cache_data(ttl=60, show_spinner=False)
def load_replicates(
    url: str, suite: str, metric: str | None, verified_only: bool, rows: tuple[str, ...]
) -> pd.DataFrame:
    """The replicate values of the cells of ``rows``, read from their runs' lean documents only."""
    result = load_board(url, suite, metric, verified_only)
    digests = {digest for row in rows for digest in result.table.at[row, "digests"].values()}
    return bq.replicate_values(store.load_documents(engine(url), digests), result, rows)


@st.cache_data(ttl=60, show_spinner=False)
def load_kernel_points(
    url: str, suite: str, metric: str | None, verified_only: bool, rows: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The attention, quantiser and in-model points of the cells of ``rows``, from the lean documents."""
    result = load_board(url, suite, metric, verified_only)
    digests = {digest for row in rows for digest in result.table.at[row, "digests"].values()}
    documents = store.load_documents(engine(url), digests)
    return (
        bq.kernel_attention_points(documents, result, rows),
        bq.kernel_quantizer_points(documents, result, rows),
        bq.kernel_in_model_points(documents, result, rows),
    )


@st.cache_data(ttl=60, show_spinner=False)
def load_published(url: str) -> bq.PublishedComparison:
    """Published scores beside the measured ones (``queries.published_comparison``)."""
    return bq.published_comparison(engine(url))
