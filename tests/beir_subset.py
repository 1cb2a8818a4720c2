"""A small real BEIR dataset: the first judged SciFact test queries and a slice of its corpus.

Written in BEIR layout (corpus.jsonl, queries.jsonl, qrels/test.tsv) from the published zip in
../shared/data, so ``harness run --datasets NAME=PATH`` reads it as a user's own dataset. The corpus
holds every document judged for the chosen queries plus the first ``extra`` others, in the zip's
order: BM25 and the encoders then have real distractors to rank.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import NamedTuple

from harness.types import Document, Qrels


class Subset(NamedTuple):
    folder: Path
    corpus: list[Document]
    queries: dict[str, str]
    qrels: Qrels


def write_scifact_subset(data_root: Path, folder: Path, n_queries: int = 30, extra: int = 300) -> Subset:
    with zipfile.ZipFile(data_root / "beir" / "scifact.zip") as z:
        header, *lines = z.read("scifact/qrels/test.tsv").decode("utf-8").splitlines()
        rows = [line.split("\t") for line in lines]
        chosen = sorted({row[0] for row in rows})[:n_queries]
        kept = [row for row in rows if row[0] in chosen]
        judged = {row[1] for row in kept}
        records = [json.loads(line) for line in z.read("scifact/corpus.jsonl").decode("utf-8").splitlines()]
        others = {r["_id"] for r in [r for r in records if r["_id"] not in judged][:extra]}
        docs = [r for r in records if r["_id"] in judged or r["_id"] in others]
        queries = [
            json.loads(line)
            for line in z.read("scifact/queries.jsonl").decode("utf-8").splitlines()
            if json.loads(line)["_id"] in chosen
        ]
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text("\n".join([header, *("\t".join(r) for r in kept)]) + "\n")
    qrels: Qrels = {}
    for qid, docid, score in kept:
        qrels.setdefault(qid, {})[docid] = int(score)
    return Subset(
        folder,
        [Document(id=r["_id"], text=r["text"], title=r.get("title", "")) for r in docs],
        {q["_id"]: q["text"] for q in queries},
        qrels,
    )
