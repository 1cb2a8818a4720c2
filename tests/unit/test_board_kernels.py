"""The board's kernels queries on real stores: attention points (speed-up, error, shape), quantiser
points (recall per byte, spread over seeds) and in-model costs, from generated ``kernels`` results
files ingested into a tmp SQLite store.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import pytest
from board_factories import (
    kernel_attention_result,
    kernel_file,
    kernel_in_model_result,
    kernel_pq_result,
)
from sqlalchemy import Engine

from harness import store
from harness.board import queries as bq

LENGTHS = (1024, 2048, 4096, 8192, 16384)
BYTES = (8, 16, 32, 48)
RECALLS = {  # model -> bytes -> recall@10 per seed
    "pq": {b: (0.30 + b / 100, 0.31 + b / 100, 0.32 + b / 100) for b in BYTES},
    "lowrank-pq": {b: (0.35 + b / 100, 0.35 + b / 100, 0.38 + b / 100) for b in BYTES},
    "faiss-pq": {b: (0.29 + b / 100, 0.30 + b / 100, 0.31 + b / 100) for b in BYTES},
}


def hyper_speedup(n: int, causal: bool) -> float:
    """A made-up speed-up that crosses 1x at 4k (8k when causal)."""
    return n / (8192 if causal else 4096)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = store.connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield engine
    engine.dispose()


def fill(engine: Engine) -> None:
    hyper = [
        kernel_attention_result(
            n, hyper_speedup(n, causal), 0.05 + n / 1e6, causal=causal, rel_error_random=0.3
        )
        for causal in (False, True)
        for n in LENGTHS
    ]
    hyper.append(kernel_attention_result(131072, 20.0, 0.02, gpu=True, peak=(100.0, 4000.0)))
    hyper.append(kernel_in_model_result(0.80, 0.02))
    lowrank = [kernel_attention_result(n, 0.5, 0.25, seconds_exact=2.0) for n in LENGTHS[:2]]
    assert store.ingest(engine, kernel_file("hyper", hyper)) == "stored"
    assert store.ingest(engine, kernel_file("lowrank", lowrank)) == "stored"
    for model, by_bytes in RECALLS.items():
        results = [kernel_pq_result(b, recalls, mse=0.1 / b) for b, recalls in by_bytes.items()]
        assert store.ingest(engine, kernel_file(model, results)) == "stored"


def points(
    engine: Engine, verified_only: bool = False, rows: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    result = bq.board(engine, "kernels", verified_only=verified_only)
    chosen = list(result.table.index) if rows is None else rows
    digests = {d for row in chosen for d in result.table.at[row, "digests"].values()}
    documents = store.load_documents(engine, digests)
    return (
        bq.kernel_attention_points(documents, result, rows),
        bq.kernel_quantizer_points(documents, result, rows),
        bq.kernel_in_model_points(documents, result, rows),
    )


def test_task_names_give_the_shape_and_the_bytes() -> None:
    assert bq.attention_shape("kernels/attention-n1024") == (1024, False, False)
    assert bq.attention_shape("kernels/attention-causal-n16384") == (16384, True, False)
    assert bq.attention_shape("kernels/attention-gpu-causal-n131072") == (131072, True, True)
    assert bq.attention_shape("kernels/attention-gpu-n8192") == (8192, False, True)
    for other in ("kernels/minilm-stsb", "kernels/attention-n", "kernels/attention-causal-gpu-n1", "beir/x"):
        assert bq.attention_shape(other) is None
    assert bq.quantizer_bytes("kernels/pq-scifact-48b") == 48
    assert bq.quantizer_bytes("kernels/pq-scifact-b") is None
    assert bq.quantizer_bytes("kernels/attention-n1024") is None


def test_attention_points_one_per_model_and_task(engine: Engine) -> None:
    fill(engine)
    attention, _, _ = points(engine)
    assert list(attention.columns) == bq.ATTENTION_COLUMNS
    assert len(attention) == 10 + 1 + 2  # hyper: 5 lengths x 2 maskings + 1 GPU; lowrank: 2
    hyper = attention[(attention["model"] == "hyper") & ~attention["gpu"]].set_index(["causal", "n"])
    for causal in (False, True):
        for n in LENGTHS:
            line = hyper.loc[(causal, n)]
            assert line["task"] == f"kernels/attention-{'causal-' if causal else ''}n{n}"
            assert line["speedup"] == pytest.approx(hyper_speedup(n, causal))
            assert line["rel_error"] == pytest.approx(0.05 + n / 1e6)
            assert line["rel_error_random"] == pytest.approx(0.3)
            assert line["seconds_exact"] == pytest.approx(1.0)
            assert line["seconds"] == pytest.approx(1.0 / hyper_speedup(n, causal))
            assert (line["device"], line["heads"], line["dtype"]) == ("cpu", 8, "float32")
            assert math.isnan(line["peak_mib"])  # not recorded on this device
    (gpu,) = attention[attention["gpu"]].to_dict("records")
    assert (gpu["n"], gpu["causal"], gpu["device"], gpu["heads"], gpu["dtype"]) == (
        131072, False, "cuda", 32, "bfloat16",
    )  # fmt: skip
    assert (gpu["speedup"], gpu["peak_mib"], gpu["peak_mib_exact"]) == (20.0, 100.0, 4000.0)
    lowrank = attention[attention["model"] == "lowrank"]
    assert list(lowrank["n"]) == [1024, 2048]
    assert list(lowrank["seconds"]) == pytest.approx([4.0, 4.0])
    assert attention["n"].dtype.kind == "i" and attention["speedup"].dtype.kind == "f"
    assert attention["causal"].dtype == bool


def test_generated_attention_inputs_are_not_verified_data(engine: Engine) -> None:
    fill(engine)
    attention, quantizers, in_model = points(engine, verified_only=True)
    assert attention.empty  # generated inputs have no data card
    assert list(attention.columns) == bq.ATTENTION_COLUMNS
    assert len(quantizers) == 12 and len(in_model) == 1


def test_quantizer_points_recall_per_byte_with_the_spread_over_seeds(engine: Engine) -> None:
    fill(engine)
    _, quantizers, _ = points(engine)
    assert list(quantizers.columns) == bq.QUANTIZER_COLUMNS
    assert sorted(set(quantizers["model"])) == ["faiss-pq", "lowrank-pq", "pq"]
    for model, by_bytes in RECALLS.items():
        mine = quantizers[quantizers["model"] == model]
        assert list(mine["code_bytes"]) == list(BYTES)  # sorted by bytes
        for line in mine.to_dict("records"):
            recalls = by_bytes[line["code_bytes"]]
            assert line["task"] == f"kernels/pq-scifact-{line['code_bytes']}b"
            assert line["recall@10"] == pytest.approx(statistics.fmean(recalls))
            assert line["recall@1"] == pytest.approx(0.6 * statistics.fmean(recalls))
            assert line["recall@100"] == pytest.approx(statistics.fmean(min(1.0, r + 0.1) for r in recalls))
            assert line["ndcg@10"] == pytest.approx(0.5 * statistics.fmean(recalls))
            assert line["mse"] == pytest.approx(0.1 / line["code_bytes"] * 1.1)
            assert line["speedup"] == pytest.approx(1.6)  # the median of the seeds
            assert line["recall@10 sd"] == pytest.approx(statistics.stdev(recalls))
            assert line["replicates"] == 3


def test_in_model_points_carry_the_cost(engine: Engine) -> None:
    fill(engine)
    _, _, in_model = points(engine)
    assert in_model.to_dict("records") == [
        {"row": "hyper", "model": "hyper", "task": "kernels/minilm-stsb", "metric": "spearman", "value": 0.8,
         "cost": 0.02},
    ]  # fmt: skip


def test_the_newest_run_counts_and_a_submission_is_its_own_row(engine: Engine) -> None:
    fill(engine)
    newer = kernel_file("hyper", [kernel_attention_result(1024, 3.0, 0.5)])
    assert store.ingest(engine, newer) == "stored"
    submitted = kernel_file("hyper", [kernel_attention_result(1024, 9.0, 0.1)], origin="submission")
    assert store.ingest(engine, submitted, origin="submission") == "stored"
    attention, _, _ = points(engine)
    first = attention[(attention["n"] == 1024) & ~attention["causal"] & ~attention["gpu"]]
    found = dict(zip(first["model"], first["speedup"], strict=True))
    assert found == {"hyper": 3.0, "hyper (submitted)": 9.0, "lowrank": 0.5}  # newest, never the best
    assert set(first[first["model"] == "hyper (submitted)"]["row"]) == {"hyper" + bq.SUBMITTED_SUFFIX}
    assert len(attention[attention["model"] == "hyper"]) == 11  # the other cells of the older run stay


def test_rows_limit_the_points(engine: Engine) -> None:
    fill(engine)
    attention, quantizers, in_model = points(engine, rows=["lowrank"])
    assert set(attention["model"]) == {"lowrank"} and len(attention) == 2
    assert quantizers.empty and in_model.empty
    attention, quantizers, in_model = points(engine, rows=[])
    assert attention.empty and quantizers.empty and in_model.empty
    assert list(quantizers.columns) == bq.QUANTIZER_COLUMNS
    assert list(in_model.columns) == bq.IN_MODEL_COLUMNS


def test_a_suite_without_kernel_tasks_has_no_points(engine: Engine) -> None:
    from factories import make_results

    store.ingest(engine, make_results("m", scores={"beir/scifact": 0.5}))
    result = bq.board(engine, "beir")
    documents = store.load_documents(engine, {d for ds in result.table["digests"] for d in ds.values()})
    assert bq.kernel_attention_points(documents, result).empty
    assert bq.kernel_quantizer_points(documents, result).empty
    assert bq.kernel_in_model_points(documents, result).empty
