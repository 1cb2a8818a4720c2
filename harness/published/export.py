"""``harness export mteb``: our stored runs in the layout and format of MTEB's results repository.

Written as ``<out>/<org>__<name>/<revision>/<Task>.json`` plus ``model_meta.json`` (``name``,
``revision``), the layout ``embeddings-benchmark/results`` uses, so MTEB's tools and ``harness import
mteb`` read it. Honest markers: ``mteb_version`` is ``harness <version>`` (no mteb ran; this harness
scored it), and ``dataset_revision`` is MTEB's revision only where ``tasks.py`` lists it as the same
data as our card *and* the run's inputs were verified against that card; otherwise it is
``harness-<fingerprint[:16]>``, our own fingerprint of the data, which matches no MTEB build. A run
of the ``mteb`` suite keeps the MTEB task name and dataset revision it ran (``inputs.generator``).
Metrics are spelled as MTEB spells them (``ndcg@10`` -> ``ndcg_at_10``, ``spearman`` ->
``cosine_spearman``); metrics MTEB has no key for are left out. Only reference runs are written
(the newest of each model, revision and task), variants (sweep points) left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from harness import __version__, store
from harness.atomic import PUBLIC, atomic_write_bytes
from harness.published.tasks import MTEB_TASKS, mteb_task_of, to_mteb_metric
from harness.results import model_slug

NO_REVISION = "no_revision_available"
"""MTEB's folder name for a model without a revision."""


@dataclass(frozen=True)
class Exported:
    path: Path
    task: str
    main_score: float


def _mteb_identity(result: dict[str, Any]) -> tuple[str, str] | None:
    """(MTEB task name, dataset revision) of one stored task result, or None where MTEB has no such task."""
    inputs = result.get("inputs") or {}
    generator = inputs.get("generator") or {}
    if str(result["task"]).startswith("mteb/") and isinstance(generator.get("mteb_task"), str):
        return str(generator["mteb_task"]), str(generator.get("dataset_revision") or "unknown")
    name = mteb_task_of(str(result["task"]))
    if name is None:
        return None
    known = list(MTEB_TASKS[name].same_data)
    if inputs.get("verified") is True and known:
        return name, known[0]
    return name, f"harness-{str(inputs.get('fingerprint', ''))[:16]}"


def export_mteb(engine: Engine, out: Path) -> list[Exported]:
    """Write every reference run's MTEB-mappable task results under ``out``; returns what was written."""
    written: list[Exported] = []
    cells = [
        cell
        for suite in sorted(store.suite_counts(engine))
        for cell in store.cells(engine, suite)
        if cell.origin == "reference" and not cell.variant
    ]
    documents = store.load_documents(engine, {cell.digest for cell in cells})
    metas: dict[Path, dict[str, Any]] = {}
    bodies: dict[Path, dict[str, Any]] = {}
    for cell in cells:
        document = documents[cell.digest]
        result = next(
            r
            for r in document["results"]
            if r["task"] == cell.task and r["split"] == cell.split and not r.get("variant")
        )
        identity = _mteb_identity(result)
        if identity is None:
            continue
        task_name, dataset_revision = identity
        scores = {
            key: value
            for name, value in sorted(result["metrics"].items())
            if (key := to_mteb_metric(name)) is not None
        }
        main = to_mteb_metric(str(result["main_metric"]))
        if main is None or main not in scores:
            continue
        model = document["model"]
        folder = out / model_slug(str(model["id"])) / str(model.get("revision") or NO_REVISION)
        entry = {"hf_subset": "default", "languages": ["eng-Latn"], "main_score": scores[main], **scores}
        timings = result.get("timings_s") or {}
        body = {
            "dataset_revision": dataset_revision,
            "evaluation_time": timings.get("total", sum(float(v) for v in timings.values())),
            "mteb_version": f"harness {__version__}",
            "scores": {str(result["split"]): [entry]},
            "task_name": task_name,
        }
        path = folder / f"{task_name}.json"
        if path in bodies:  # another split of the same task: one file holds every split
            bodies[path]["scores"].update(body["scores"])
        else:
            bodies[path] = body
        metas[folder] = {"name": str(model["id"]), "revision": model.get("revision")}
        written.append(Exported(path, str(result["task"]), float(scores[main])))
    for path, body in bodies.items():
        atomic_write_bytes(path, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode(), mode=PUBLIC)
    for folder, meta in metas.items():
        atomic_write_bytes(
            folder / "model_meta.json", (json.dumps(meta, indent=2) + "\n").encode(), mode=PUBLIC
        )
    return written
