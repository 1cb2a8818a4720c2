"""The Ray engine's overhead against the single-process encode, and its per-actor throughput.

Run by hand (CONTRIBUTING.md, "Scale-out on Ray", has the figures):

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python tests/benchmarks/ray_overhead.py 1000
    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python tests/benchmarks/ray_overhead.py 5183 --equal

The first N SciFact documents are indexed with all-MiniLM-L6-v2, a fresh cache each run, in this
order: plain, Ray 2 actors x 1 CPU, Ray 1 actor x 2 CPUs, plain, the same two Ray runs, plain (a
local cluster of 2 CPUs, started once). Each line is a JSON record with the index seconds, every
actor's encode seconds and docs/s, and ``uptime`` before and after (the machine may be shared).
``--equal`` runs one plain and one Ray run over the whole slice instead, searches the 300 test
queries with both and says whether runs and metrics are equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def main() -> int:
    import ray

    from harness import registry
    from harness.engines import ray_data
    from harness.models.dense import DenseRetriever
    from harness.models.options import ModelOptions
    from harness.suites.beir.task import RetrievalTask

    task = registry.suite("beir").select(DATA, ["scifact"], None).tasks[0]
    assert isinstance(task, RetrievalTask)
    data = task.load(DATA)
    corpus = data.corpus[: int(sys.argv[1])]
    folder = Path(tempfile.mkdtemp(prefix="ray-overhead"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)

    def uptime() -> str:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()

    def plain(tag: str) -> tuple[dict[str, Any], DenseRetriever]:
        retriever = DenseRetriever(
            registry.load_model("all-MiniLM-L6-v2", ModelOptions(cache_dir=folder / tag))
        )
        start = time.perf_counter()
        retriever.index(corpus)
        return {"run": tag, "index_s": time.perf_counter() - start}, retriever

    def on_ray(tag: str, actors: int) -> tuple[dict[str, Any], ray_data.RayDenseRetriever]:
        settings = ray_data.RaySettings(actors=actors)
        options = ModelOptions(cache_dir=folder / tag)
        with ray_data.session(settings) as cluster:
            model = registry.load_model("all-MiniLM-L6-v2", options)
            retriever = ray_data.wrap(model, "all-MiniLM-L6-v2", options, cluster, settings)
            start = time.perf_counter()
            retriever.index(corpus)
            wall = time.perf_counter() - start
        report = retriever.last_encode
        assert report is not None
        seconds: dict[str, float] = {}
        for shard in report.shards:
            seconds[shard.actor] = seconds.get(shard.actor, 0.0) + shard.seconds
        row = {"run": tag, "index_s": wall, "actor_encode_s": seconds}
        return {**row, "per_actor_docs_s": report.per_actor_docs_per_second()}, retriever

    if "--equal" in sys.argv:
        before = uptime()
        first, local = plain("plain")
        second, sharded = on_ray("ray-2x1", 2)
        runs = local.search(data.queries, task.k + 1), sharded.search(data.queries, task.k + 1)
        scores = [task.score_run(data, run) for run in runs]
        print(json.dumps({"uptime_before": before, "uptime_after": uptime(), "plain": first, "ray": second}))
        print(json.dumps({"runs_equal": runs[0] == runs[1], "metrics": scores[1].metrics,
                          "metrics_equal": scores[0].metrics == scores[1].metrics
                          and scores[0].per_item == scores[1].per_item}))  # fmt: skip
        ray.shutdown()
        return 0
    steps = [("plain", 0), ("ray-2x1", 2), ("ray-1x2", 1)] * 2 + [("plain", 0)]
    for number, (tag, actors) in enumerate(steps):
        before = uptime()
        row = plain(f"{tag}-{number}")[0] if not actors else on_ray(f"{tag}-{number}", actors)[0]
        print(json.dumps({**row, "uptime_before": before, "uptime_after": uptime()}), flush=True)
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
