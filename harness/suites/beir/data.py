"""BEIR datasets: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``, read and verified.

Follows ``beir.datasets.data_loader.GenericDataLoader``: the qrels file has a header line, queries
are restricted to those judged in the split, and qrels keep every grade (0 included) as given.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from harness.data.cards import DatasetCard, inputs_record
from harness.data.files import DatasetSource, locate, sha256_bytes
from harness.errors import InputError
from harness.results import Inputs
from harness.types import Document, Qrels


@dataclass(frozen=True)
class BeirDataset:
    """One split of a BEIR dataset: the whole corpus, the judged queries, and their qrels."""

    corpus: tuple[Document, ...]
    queries: dict[str, str]
    qrels: Qrels
    inputs: Inputs


def _jsonl(data: bytes, where: str) -> list[tuple[int, dict[str, object]]]:
    """(line number, object) for each non-blank line.

    Lines end at a line feed only, as in a file iterator: ``str.splitlines`` would also split at U+2028
    and other separators, which JSON allows unescaped inside strings.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(where, f"byte {error.start}", "not UTF-8") from None
    rows: list[tuple[int, dict[str, object]]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise InputError(where, f"line {number}", f"not JSON: {error}") from None
        if not isinstance(row, dict):
            raise InputError(where, f"line {number}", "not a JSON object")
        rows.append((number, row))
    return rows


def _text_field(row: dict[str, object], key: str, where: str, number: int, required: bool) -> str:
    value = row.get(key, None if required else "")
    if value is None and not required:
        return ""
    if not isinstance(value, str) and not (key == "_id" and isinstance(value, int)):
        raise InputError(where, f"line {number}: {key}", "missing or not a string")
    return str(value)


def read_corpus(data: bytes, where: str) -> tuple[Document, ...]:
    docs = []
    for number, row in _jsonl(data, where):
        docs.append(
            Document(
                id=_text_field(row, "_id", where, number, required=True),
                text=_text_field(row, "text", where, number, required=True),
                title=_text_field(row, "title", where, number, required=False),
            )
        )
    return tuple(docs)


def read_queries(data: bytes, where: str) -> dict[str, str]:
    return {
        _text_field(row, "_id", where, n, required=True): _text_field(row, "text", where, n, required=True)
        for n, row in _jsonl(data, where)
    }


def read_qrels(data: bytes, where: str) -> tuple[Qrels, int]:
    """Read a BEIR qrels TSV (header ``query-id corpus-id score``); returns (qrels, number of rows)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(where, f"byte {error.start}", "not UTF-8") from None
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    qrels: Qrels = {}
    rows = 0
    for number, fields in enumerate(reader, start=1):
        if number == 1 or not fields:
            continue  # header, as GenericDataLoader skips it
        if len(fields) < 3:
            raise InputError(where, f"line {number}", "expected query-id, corpus-id, score")
        try:
            grade = int(fields[2])
        except ValueError:
            raise InputError(where, f"line {number}: score", f"not an integer: {fields[2]!r}") from None
        qrels.setdefault(fields[0], {})[fields[1]] = grade
        rows += 1
    return qrels, rows


def load_beir(card: DatasetCard, data_root: Path, split: str) -> BeirDataset:
    """Read one split and record what was read: member sha256s, fingerprint, counts, verified.

    Raises:
        SettingError, DataNotFound: the data root or the dataset is missing.
        InputError: a member file is malformed, naming the file (relative to the data root) and line.
    """
    source: DatasetSource = locate(card, data_root)
    members = {name: source.read(name) for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv")}
    corpus = read_corpus(members["corpus.jsonl"], source.name_of("corpus.jsonl"))
    all_queries = read_queries(members["queries.jsonl"], source.name_of("queries.jsonl"))
    qrels_name = f"qrels/{split}.tsv"
    qrels, qrel_rows = read_qrels(members[qrels_name], source.name_of(qrels_name))
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise InputError(
            source.name_of(qrels_name), "query-id", f"{missing[0]} has no query in queries.jsonl"
        )
    queries = {qid: all_queries[qid] for qid in qrels}
    files = {name: sha256_bytes(data) for name, data in members.items()}
    counts = {"corpus": len(corpus), "queries": len(queries), "qrels": qrel_rows}
    inputs = inputs_record(card, split, files, counts)
    return BeirDataset(corpus=corpus, queries=queries, qrels=qrels, inputs=inputs)


@dataclass(frozen=True)
class BeirFolder:
    """One split of one BEIR-layout folder inside a located dataset (a CQADupStack forum).

    ``files`` and ``counts`` are what ``inputs_record`` takes; member names include ``folder``.
    """

    corpus: tuple[Document, ...]
    queries: dict[str, str]
    qrels: Qrels
    files: dict[str, str]
    counts: dict[str, int]


def read_beir_folder(source: DatasetSource, split: str, folder: str = "") -> BeirFolder:
    """Read ``<folder>/corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv`` as ``load_beir`` does.

    BEIR's ``cqadupstack.zip`` holds one BEIR dataset per forum (``cqadupstack/<forum>/...``), each read
    by ``GenericDataLoader(data_folder=<forum folder>)`` on its own; this reads one of them.

    Raises:
        InputError: a member file is malformed or missing, named relative to the data root.
    """
    base = f"{folder}/" if folder else ""
    names = {part: base + part for part in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv")}
    members = {name: source.read(name) for name in names.values()}
    corpus = read_corpus(members[names["corpus.jsonl"]], source.name_of(names["corpus.jsonl"]))
    all_queries = read_queries(members[names["queries.jsonl"]], source.name_of(names["queries.jsonl"]))
    qrels_name = names[f"qrels/{split}.tsv"]
    qrels, qrel_rows = read_qrels(members[qrels_name], source.name_of(qrels_name))
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise InputError(
            source.name_of(qrels_name), "query-id", f"{missing[0]} has no query in queries.jsonl"
        )
    return BeirFolder(
        corpus=corpus,
        queries={qid: all_queries[qid] for qid in qrels},
        qrels=qrels,
        files={name: sha256_bytes(data) for name, data in members.items()},
        counts={"corpus": len(corpus), "queries": len(qrels), "qrels": qrel_rows},
    )
