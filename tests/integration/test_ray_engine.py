"""``harness run --engine ray`` on a real local Ray cluster (2 CPUs) against the single-process run.

The data is a slice of the real SciFact (30 judged test queries, their judged documents and 240
others: 272 documents, two cache chunks of all-MiniLM-L6-v2, so two Parquet shards, one per
actor), run by path through the command a user types. The Ray run must give every metric, every
per-query value and the very run (same sha256) of the plain run; its shards must land in the
embedding cache, where a following plain run finds them (its index phase recorded as cached).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from beir_subset import Subset, write_scifact_subset
from cli_helpers import run_harness

HOLD_CLUSTER = """
import json, os, sys, ray
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
auth = {k: v for k, v in os.environ.items() if k.startswith("RAY_AUTH")}
print(json.dumps({"address": ray.get_runtime_context().gcs_address, "auth": auth}), flush=True)
sys.stdin.read()
ray.shutdown()
"""
"""A driver that starts a local cluster, prints its address and holds it until its stdin closes.

Never ``ray.init`` in the pytest process: Ray's core worker installs its own SIGSEGV handler, and the
JVM that earlier Lucene tests started in the same process relies on catching SIGSEGV itself
(implicit null checks); with Ray's handler in the way, pytest died of a segmentation fault in a later
Lucene test. The driver's authentication settings (``RAY_AUTH_*``, which ``ray.init`` sets in its own
environment) are handed to the runs that join it.
"""


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def ray_address(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[str]:
    """A local cluster of 2 CPUs, as on the CI machine, in its own process; runs join by ``--ray-address``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        line = holder.stdout.readline().strip()
        assert line, "the Ray cluster did not start"
        started = json.loads(line)
        for name, value in started["auth"].items():
            monkeypatch_module.setenv(name, value)
        yield str(started["address"])
    finally:
        holder.stdin.close()
        try:
            holder.wait(timeout=120)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()


@pytest.fixture(scope="module")
def subset(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Subset:
    return write_scifact_subset(data_root, tmp_path_factory.mktemp("data") / "scifact-mini", extra=240)


def _run(work: Path, subset: Subset, cache: str, output: str, *extra: str) -> dict[str, Any]:
    done = run_harness(
        "run",
        "--model",
        "all-MiniLM-L6-v2",
        "--suite",
        "beir",
        "--datasets",
        f"mini={subset.folder}",
        "--cache-dir",
        work / cache,
        "--db",
        f"sqlite:///{work / 'harness.sqlite'}",
        "--results-dir",
        work / "results",
        "--output",
        work / output,
        "--save-run",
        "--quiet",
        *extra,
        cwd=work,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record: dict[str, Any] = json.loads((work / output).read_text())
    return record


def test_ray_run_equals_the_single_process_run_and_fills_the_cache(
    ray_address: str, subset: Subset, tmp_path: Path
) -> None:
    assert len(subset.corpus) == 272
    local = _run(tmp_path, subset, "cache-local", "local.json")
    on_ray = _run(
        tmp_path,
        subset,
        "cache-ray",
        "ray.json",
        "--engine",
        "ray",
        "--ray-address",
        ray_address,
        "--ray-actors",
        "2",
    )
    plain, sharded = local["results"][0], on_ray["results"][0]

    assert sharded["metrics"] == plain["metrics"]
    assert sharded["per_item"] == plain["per_item"]
    assert sharded["sizes_bytes"] == plain["sizes_bytes"] == {"index": 272 * 384 * 4}
    assert len(plain["per_item"]["values"]["ndcg@10"]) == 30
    assert sharded["predictions"]["run"]["sha256"] == plain["predictions"]["run"]["sha256"]
    identity = ("id", "revision", "weights_sha256", "n_parameters")
    assert {k: on_ray["model"][k] for k in identity} == {k: local["model"][k] for k in identity}
    parameters = dict(on_ray["model"]["parameters"])
    assert parameters.pop("engine") == {"name": "ray", "actors": 2, "actor_device": "cpu"}
    assert parameters == local["model"]["parameters"]
    assert {"index", "index/ray_encode", "search/ray_shards"} <= sharded["timings_s"].keys()

    shards = sorted((tmp_path / "cache-ray" / "embeddings").glob("*/shard-*.parquet"))
    assert [shard.name for shard in shards] == ["shard-000000-000000.parquet", "shard-000001-000001.parquet"]
    assert not list(shards[0].parent.glob("chunk-*.npy"))  # the corpus went to shards, not to .npy chunks

    again = _run(tmp_path, subset, "cache-ray", "again.json")["results"][0]
    assert "index_cached" in again["timings_s"] and "index" not in again["timings_s"]
    assert not list(shards[0].parent.glob("chunk-*.npy"))  # read from the shards, nothing re-encoded
    assert again["metrics"] == plain["metrics"] and again["per_item"] == plain["per_item"]


def test_a_model_the_engine_cannot_run_is_one_line_naming_the_flag(
    ray_address: str, data_root: Path, tmp_path: Path
) -> None:
    done = run_harness(
        "run", "--model", "bm25s", "--suite", "beir", "--datasets", "scifact", "--data-dir", data_root,
        "--engine", "ray", "--ray-address", ray_address, "--db", f"sqlite:///{tmp_path / 'h.sqlite'}",
        "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "harness: --engine: ray runs sentence-transformers encoders; bm25s is not one"
    )


def test_without_ray_the_engine_names_the_extra_to_install(data_root: Path, tmp_path: Path) -> None:
    """Ray made unimportable in a fresh interpreter (``sys.modules["ray"] = None``), as if not installed."""
    argv = ["run", "--model", "all-MiniLM-L6-v2", "--suite", "beir", "--datasets", "scifact"]
    argv += ["--data-dir", str(data_root), "--engine", "ray", "--db", f"sqlite:///{tmp_path / 'h.sqlite'}"]
    code = f"import sys; sys.modules['ray'] = None; from harness.cli import main; sys.exit(main({argv!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip() == 'harness: --engine: Ray is not installed: pip install -e ".[ray]"'
    assert not (tmp_path / "h.sqlite").exists()  # refused before the store is opened
