"""Pure upgrades of older results documents to the current schema, one version step each.

``MIGRATIONS[v]`` turns a version-``v`` document (parsed JSON) into version ``v + 1``. A migration
runs before validation on untrusted input, so it only moves what it recognises and leaves anything
malformed in place for the schema to refuse; it never reads files, clocks or the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Document = dict[str, Any]
Migration = Callable[[Document], Document]


def _task_v1_to_v2(result: Any) -> Any:
    if not isinstance(result, dict):
        return result
    upgraded = {k: v for k, v in result.items() if k not in ("dataset", "per_item", "index_bytes")}
    if "dataset" in result:
        dataset = result["dataset"]
        upgraded["inputs"] = dataset  # v1 DatasetRecord fields are a subset of v2 Inputs
    per_item = result.get("per_item")
    if per_item:  # v1 had only retrieval: per-item values are per query
        upgraded["per_item"] = {"kind": "query", "values": per_item}
    elif per_item is not None and not isinstance(per_item, dict):
        upgraded["per_item"] = per_item
    index_bytes = result.get("index_bytes")
    if index_bytes is not None:
        upgraded["sizes_bytes"] = {"index": index_bytes}
    return upgraded


def v1_to_v2(document: Document) -> Document:
    """Schema 1 -> 2, the first migration.

    ``dataset`` becomes ``inputs``; ``per_item`` gains its item kind ("query");
    ``index_bytes`` moves to ``sizes_bytes.index``; the file gains ``origin`` ("local": every v1
    file was written by ``harness run``; ``submit`` sets "submission" on what it files) and an
    empty list of ``verifications``.
    """
    upgraded = dict(document)
    upgraded["schema_version"] = 2
    upgraded.setdefault("origin", "local")
    upgraded.setdefault("verifications", [])
    results = document.get("results")
    if isinstance(results, list):
        upgraded["results"] = [_task_v1_to_v2(result) for result in results]
    return upgraded


MIGRATIONS: dict[int, Migration] = {1: v1_to_v2}


def migrate(document: Document, version: int, target: int) -> Document:
    """Apply ``MIGRATIONS`` from ``version`` up to ``target``."""
    while version < target:
        document = MIGRATIONS[version](document)
        version += 1
    return document
