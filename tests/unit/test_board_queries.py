"""The board's table logic as pure functions: shared mean, filters, best values, Pareto front, marks.

The last tests build boards from a real SQLite store in ``tmp_path``, with the suites' own
``BoardSpec`` (speed and size columns named by their labels).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import pytest
from factories import CREATED_AT, make_results, make_sts_results, make_task_result
from sqlalchemy import Engine

from harness import registry, store
from harness.board import queries as bq
from harness.results import canonical_bytes
from harness.suites.base import BoardSpec

BEIR = registry.SUITES["beir"].board
STS = registry.SUITES["sts"].board


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind_group": ["dense", "sparse", "hybrid", "other"],
            "origin": ["reference", "reference", "submission", "reference"],
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
    assert list(bq.filter_rows(frame).index) == ["w", "x", "y", "z"]  # every standing by default
    assert list(bq.filter_rows(frame, origins=["submission"]).index) == ["y"]
    assert list(bq.filter_rows(frame, origins=["reference"]).index) == ["w", "x", "z"]
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
    assert bq.display_name("org/m", "0123456789abcdef", "dim=128") == "org/m@0123456789ab [dim=128]"
    assert bq.display_name("bm25s", None, "") == "bm25s"
    assert bq.results_path("org/m", "beir", "f" * 64, "reference") == f"results/org__m/beir-{'f' * 12}.json"
    assert bq.results_path("org/m", "beir", "f" * 64, "submission") == f"submissions/{'f' * 64}.json"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = store.connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield engine
    engine.dispose()


def test_board_adds_column_keys_and_facts(engine: Engine) -> None:
    dense = make_results("org/m", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3}, revision="r" * 40)
    dense = dense.model_copy(
        update={"model": dense.model.model_copy(update={"parameters": {"dimension": 384}})}
    )
    assert store.ingest(engine, dense) == "stored"
    assert store.ingest(engine, make_results("v2", ndcg=0.5, task_version=2)) == "stored"
    result = bq.board(engine, "beir", BEIR)
    assert result.spec == BEIR
    assert result.tasks == ["beir/nfcorpus", "beir/scifact v1", "beir/scifact v2"]
    assert result.columns["beir/scifact v2"] == {
        "task": "beir/scifact",
        "task_version": 2,
        "split": "test",
        "main_metric": "ndcg@10",
    }
    assert result.higher_is_better == dict.fromkeys(result.tasks, True)
    assert result.speed_columns == ["queries/s", "docs/s", "index MiB"]
    table = result.table
    (row,) = [r for _, r in table.iterrows() if (r["model_id"], r["revision"]) == ("org/m", "r" * 40)]
    assert row["dimensions"] == 384
    assert row["n_parameters"] == 1000
    assert row["docs/s"] == pytest.approx(2 * 5183 / 2.0)  # counts.corpus / timings_s.index, summed
    assert row["queries/s"] == pytest.approx(2 * 300 / (2 * 2.0))  # counts.queries / timings_s.search
    assert math.isnan(row["index MiB"])  # not recorded: the column is left out of the table
    assert row["kind_group"] == "dense"
    assert row["hardware"]["logical_cpus"] == 2
    assert row["variant"] == ""
    assert (row["origin"], row["trust"], row["reproduced"]) == ("reference", "reference", False)
    assert row["labels"] == {"beir/nfcorpus": "reference", "beir/scifact v1": "reference"}
    assert row["beir/nfcorpus"] == pytest.approx(0.3) and row["beir/scifact v1"] == pytest.approx(0.6)
    assert math.isnan(row["beir/scifact v2"])
    # no task column is shared by every row: the mean is NaN, never a mean of zeros
    assert result.mean_over == []
    assert result.table["mean"].isna().all()
    for column in [
        "model_id", "revision", "variant", "kind", "origin", "trust", "reproduced", "digest", "created_at",
    ]:  # fmt: skip
        assert column in result.table.columns
    assert list(result.table.columns).index("mean") == list(result.table.columns).index("beir/scifact v2") + 1


def test_without_a_spec_there_are_no_speed_columns(engine: Engine) -> None:
    store.ingest(engine, make_results("m"))
    result = bq.board(engine, "beir")
    assert result.spec == BoardSpec()
    assert result.speed_columns == []
    for column in ("queries/s", "docs/s", "index MiB", "docs_per_s", "index_mib", "queries_per_s"):
        assert column not in result.table.columns


def test_the_size_column_sums_sizes_bytes_when_every_cell_has_it(engine: Engine) -> None:
    sized = make_results("sized", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3})
    sized = sized.model_copy(
        update={
            "results": [
                r.model_copy(update={"sizes_bytes": {"index": size}})
                for r, size in zip(sized.results, (3 * 2**20, 2**20), strict=True)
            ]
        }
    )
    part = make_results("part", scores={"beir/scifact": 0.6, "beir/nfcorpus": 0.3})
    part = part.model_copy(
        update={
            "results": [part.results[0].model_copy(update={"sizes_bytes": {"index": 2**20}}), part.results[1]]
        }
    )
    store.ingest(engine, sized)
    store.ingest(engine, part)
    table = bq.board(engine, "beir", BEIR).table
    assert table.loc["sized", "index MiB"] == pytest.approx(4.0)
    assert math.isnan(table.loc["part", "index MiB"])  # one cell without it: unknown, not a part sum


def test_variants_are_rows_of_their_own(engine: Engine) -> None:
    plain = make_task_result(ndcg=0.6)
    small = make_task_result(ndcg=0.4).model_copy(update={"variant": {"dim": 128}})
    store.ingest(engine, make_results("org/m", revision="a" * 40, results=[plain, small]))
    result = bq.board(engine, "beir", BEIR)
    keys = [bq.row_key("org/m", "a" * 40), bq.row_key("org/m", "a" * 40, "dim=128")]
    assert list(result.table.index) == keys
    assert bq.row_key("org/m", "a" * 40, "dim=128") == "org/m@" + "a" * 40 + " [dim=128]"
    assert result.table["variant"].tolist() == ["", "dim=128"]
    assert result.table["beir/scifact"].tolist() == pytest.approx([0.6, 0.4])
    assert result.mean_over == ["beir/scifact"]
    assert result.table["mean"].tolist() == pytest.approx([0.6, 0.4])  # sorted best first


def test_each_model_revision_and_variant_is_one_row(engine: Engine) -> None:
    """Rows are keyed by model, revision and variant: two revisions are two rows, told apart."""
    for revision, ndcg in (("release-2024-01", 0.5), ("release-2024-02", 0.6), ("a" * 40, 0.7)):
        store.ingest(engine, make_results("org/m", ndcg=ndcg, revision=revision))
    result = bq.board(engine, "beir", BEIR)
    table = result.table
    assert sorted(table["revision"]) == ["a" * 40, "release-2024-01", "release-2024-02"]
    assert table.index.is_unique, table.index.tolist()  # rows are addressed by label (.at, significance)
    first = table.index[table["revision"] == "release-2024-01"][0]
    second = table.index[table["revision"] == "release-2024-02"][0]
    p_values = bq.significance(engine, result, first, [first, second], trials=200)
    assert p_values.loc[second, "beir/scifact"] < 1.0  # the two runs differ on every query


def test_a_cell_is_the_newest_run_not_the_best(engine: Engine) -> None:
    store.ingest(engine, make_results("m", ndcg=0.8))
    store.ingest(engine, make_results("m", ndcg=0.4, created_at=CREATED_AT + timedelta(days=1)))
    store.ingest(engine, make_results("other", ndcg=0.6))
    result = bq.board(engine, "beir", BEIR)
    assert result.table["beir/scifact"].to_dict() == pytest.approx({"other": 0.6, "m": 0.4})
    assert list(result.table.index) == ["other", "m"]  # by mean, best first
    assert result.table.loc["m", "created_at"] == CREATED_AT + timedelta(days=1)


def test_verified_only_leaves_out_unverified_cells(engine: Engine) -> None:
    store.ingest(engine, make_results("checked", ndcg=0.5))
    store.ingest(engine, make_results("unchecked", ndcg=0.7, verified=False))
    assert set(bq.board(engine, "beir", BEIR).table.index) == {"checked", "unchecked"}
    assert list(bq.board(engine, "beir", BEIR, verified_only=True).table.index) == ["checked"]


def test_another_metric_than_the_main_one(engine: Engine) -> None:
    results = make_results("m", ndcg=0.5)
    store.ingest(engine, results)
    result = bq.board(engine, "beir", BEIR, metric="recall@100")
    assert result.metric == "recall@100"
    assert result.table.loc["m", "beir/scifact"] == pytest.approx(results.results[0].metrics["recall@100"])
    missing = bq.board(engine, "beir", BEIR, metric="map@100")  # not stored: NaN, not 0
    assert math.isnan(missing.table.loc["m", "beir/scifact"])
    assert bq.metric_label("ndcg@10") == "nDCG@10" and bq.metric_label("size") == "size"
    assert bq.format_score("ndcg@10", 0.123456) == "0.1235"


def test_the_sts_board_has_its_own_rate_and_no_per_item_significance(engine: Engine) -> None:
    store.ingest(engine, make_sts_results("a", spearman=0.8, sentences=10, encode_s=0.5))
    store.ingest(engine, make_sts_results("b", spearman=0.7, sentences=10, encode_s=2.0))
    result = bq.board(engine, "sts", STS)
    assert result.tasks == ["sts/stsb"]
    assert result.speed_columns == ["sentences/s"]
    assert result.table["sentences/s"].to_dict() == pytest.approx({"a": 20.0, "b": 5.0})
    assert result.columns["sts/stsb"]["main_metric"] == "spearman"
    # Spearman is a whole-set measure: no per-item values, so no paired test (NaN, not a p-value)
    p_values = bq.significance(engine, result, "a", ["a", "b"], trials=100)
    assert p_values.isna().all().all()


def test_significance_of_retrieval_cells_uses_their_per_query_values(engine: Engine) -> None:
    base = {str(q): (q % 10) / 10 for q in range(1, 41)}
    better = {q: min(1.0, v + 0.3) for q, v in base.items()}
    same = dict(base)
    for model, items in (("base", base), ("better", better), ("same", same)):
        store.ingest(engine, make_results(model, per_item=items, queries=40))
    result = bq.board(engine, "beir", BEIR)
    p_values = bq.significance(engine, result, "base", ["base", "better", "same"], trials=2000)
    assert math.isnan(p_values.loc["base", "beir/scifact"])
    assert p_values.loc["better", "beir/scifact"] < 0.01
    assert p_values.loc["same", "beir/scifact"] == 1.0
    marks = bq.significance_marks(result.table, p_values, "base", result.higher_is_better)
    assert marks["beir/scifact"].to_dict() == {"base": "", "better": bq.BETTER, "same": ""}


def test_suite_names_put_the_registered_suites_first(engine: Engine) -> None:
    registered = ["beir", "sts", "glue", "kernels", "circuit", "mteb"]
    assert bq.suite_names(engine, registry.SUITES) == registered
    store.ingest(engine, make_results("m", suite="aaa-legacy"))
    assert bq.suite_names(engine, registry.SUITES) == [*registered, "aaa-legacy"]


def test_breakdown_has_a_row_per_task_result_with_the_suite_rates() -> None:
    plain = make_task_result(ndcg=0.6)
    small = make_task_result(ndcg=0.4).model_copy(update={"variant": {"layer": 4, "dim": 128}})
    document = canonical_bytes(make_results("m", results=[plain, small]))
    frame = bq.breakdown(json.loads(document), BEIR)
    assert frame["task"].tolist() == ["beir/scifact", "beir/scifact [dim=128,layer=4]"]
    assert frame["ndcg@10"].tolist() == pytest.approx([0.6, 0.4])
    assert frame["queries/s"].tolist() == pytest.approx([150.0, 150.0])
    assert frame["docs/s"].tolist() == pytest.approx([5183.0, 5183.0])
    assert frame["verified"].tolist() == [True, True]
    assert frame["seconds"].tolist() == pytest.approx([5.6, 5.6])
