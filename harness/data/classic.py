"""Readers for the classic SMART-format test collections: Cranfield and CISI (``shared/data/ir``).

A SMART file is a sequence of records. A line ``.I <id>`` opens a record; a line holding only a
field marker (``.T`` title, ``.A`` authors, ``.B`` bibliography, ``.W`` text, ``.X`` cross-references
...) opens a field, and the lines after it, up to the next marker, are its text. The readers keep
``.T`` as ``Document.title`` and ``.W`` as ``Document.text``, with runs of whitespace (the original
line breaks included) collapsed to one space. A query is its ``.W`` text.

Invariants of a ``ClassicCollection``: doc ids and query ids are decimal strings without leading
zeros; every qrels query is a query id and every judged doc a doc id; every grade is >= 1 (only
relevant pairs are listed). The pitfalls of the files are the ones ``shared/data/MANIFEST.md``
section 4 lists; each reader says how it handles them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InputError
from harness.types import Document, Qrels

_MARKER = re.compile(r"\.([A-Z])(?:[ \t]+(.*))?")


@dataclass(frozen=True)
class ClassicCollection:
    """A whole test collection: every document, every query and the relevant (query, doc) pairs."""

    name: str
    docs: tuple[Document, ...]
    queries: dict[str, str]
    qrels: Qrels


@dataclass
class _Record:
    id: str
    line: int
    fields: dict[str, list[str]] = field(default_factory=dict)

    def text(self, marker: str) -> str:
        return " ".join(word for line in self.fields.get(marker, ()) for word in line.split())


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(str(path), "", "file not found") from None
    except UnicodeDecodeError as error:
        raise InputError(str(path), "", f"not UTF-8 text ({error.reason} at byte {error.start})") from None


def _read_records(path: Path, last_field: str | None = None) -> list[_Record]:
    """The records of a SMART file, in file order.

    A marker that repeats inside a record adds its lines to the same field. Once ``last_field`` has
    begun, the record's remaining lines all belong to it and stray marker lines are dropped: the
    format for files whose records always end with that field.
    """
    records: list[_Record] = []
    current: str | None = None
    for number, line in enumerate(_read_lines(path), start=1):
        match = _MARKER.fullmatch(line.rstrip())
        if match is not None and match.group(1) == "I":
            record_id = (match.group(2) or "").strip()
            if not record_id.isdigit():
                raise InputError(str(path), ".I", f"line {number}: expected '.I <number>', got {line!r}")
            records.append(_Record(str(int(record_id)), number))
            current = None
        elif match is not None and (current is None or current != last_field):
            if not records:
                raise InputError(str(path), f".{match.group(1)}", f"line {number}: field before any .I")
            current = match.group(1)
            lines = records[-1].fields.setdefault(current, [])
            if match.group(2):
                lines.append(match.group(2))
        elif current is not None and match is None:
            records[-1].fields[current].append(line)
        elif current is None and line.strip():
            where = f"record .I {records[-1].id}" if records else "before any .I"
            raise InputError(str(path), ".I", f"line {number}: text outside any field ({where})")
    return records


def _check_unique(path: Path, records: list[_Record]) -> None:
    seen: dict[str, int] = {}
    for record in records:
        if record.id in seen:
            raise InputError(
                str(path), ".I", f"line {record.line}: id {record.id} already used on line {seen[record.id]}"
            )
        seen[record.id] = record.line


def _require_text(path: Path, record: _Record, *, allow_empty: bool = False) -> str:
    if "W" not in record.fields:
        raise InputError(str(path), ".W", f"line {record.line}: record .I {record.id} has no .W field")
    text = record.text("W")
    if not text and not allow_empty:
        raise InputError(str(path), ".W", f"line {record.line}: record .I {record.id} has an empty .W")
    return text


def _read_docs(path: Path, records: list[_Record]) -> tuple[Document, ...]:
    """Documents in file order; a doc may be empty (Cranfield 471 and 995 are, in every copy)."""
    _check_unique(path, records)
    return tuple(Document(r.id, _require_text(path, r, allow_empty=True), r.text("T")) for r in records)


def _int_field(path: Path, name: str, number: int, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InputError(str(path), name, f"line {number}: expected an integer, got {value!r}") from None


def _judge(
    path: Path, qrels: Qrels, number: int, query_id: str, doc_id: str, grade: int, doc_ids: set[str]
) -> None:
    if doc_id not in doc_ids:
        raise InputError(str(path), "doc", f"line {number}: doc {doc_id} is not in the collection")
    judged = qrels.setdefault(query_id, {})
    if doc_id in judged:
        raise InputError(str(path), "doc", f"line {number}: query {query_id} judges doc {doc_id} twice")
    judged[doc_id] = grade


def read_cranfield(directory: Path) -> ClassicCollection:
    """Cranfield (``cran.all.1400``, ``cran.qry``, ``cranqrel``): 1,400 docs, 225 graded queries.

    Pitfalls, as ``shared/data/MANIFEST.md`` section 4 and ir_datasets' ``cranfield`` describe them:

    * ``cran.all.1400`` ends with an empty record ``.I 1401``; it is dropped. Docs 471 and 995
      are empty in the original too (all their fields are blank) and are kept. ``.W`` is the last
      field of every record, and the abstracts of docs 240, 576 and 578 hold stray ``.A``, ``.B``
      or ``.W`` lines, so everything after a record's first ``.W`` is its text.
    * ``cranqrel`` numbers the queries 1-225 by their *position* in ``cran.qry``, whose own ``.I``
      ids run 001-365 with gaps. Query ids here are those positions, as ``cranqrel`` and
      ir_datasets use them.
    * ``cranqrel`` lines are ``query doc code`` with code 1 (most relevant) to 4 (least), stored
      as grade ``5 - code`` (4 = most relevant), so that nDCG's gain grows with relevance. The
      ``-1`` line that closes each query's judgements carries no judgement and is skipped.

    Raises:
        InputError: a file is missing or malformed; names the file and the field.
    """
    docs_path = directory / "cran.all.1400"
    records = _read_records(docs_path, last_field="W")
    if records and not records[-1].fields:
        records.pop()  # the stray empty ".I 1401" at the end of the distributed file
    docs = _read_docs(docs_path, records)

    queries_path = directory / "cran.qry"
    query_records = _read_records(queries_path, last_field="W")
    _check_unique(queries_path, query_records)
    queries = {str(position): _require_text(queries_path, r) for position, r in enumerate(query_records, 1)}

    qrels_path = directory / "cranqrel"
    doc_ids = {doc.id for doc in docs}
    qrels: Qrels = {}
    for number, line in enumerate(_read_lines(qrels_path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise InputError(str(qrels_path), f"line {number}", f"expected 'query doc code', got {line!r}")
        position = _int_field(qrels_path, "query", number, parts[0])
        code = _int_field(qrels_path, "code", number, parts[2])
        if not 1 <= position <= len(queries):
            raise InputError(
                str(qrels_path), "query", f"line {number}: {position} is not a position 1-{len(queries)}"
            )
        if code == -1:
            continue
        if not 1 <= code <= 4:
            raise InputError(str(qrels_path), "code", f"line {number}: expected 1-4 or -1, got {code}")
        doc_id = str(_int_field(qrels_path, "doc", number, parts[1]))
        _judge(qrels_path, qrels, number, str(position), doc_id, 5 - code, doc_ids)
    return ClassicCollection("cranfield", docs, queries, qrels)


def read_cisi(directory: Path) -> ClassicCollection:
    """CISI (``CISI.ALL``, ``CISI.QRY``, ``CISI.REL``): 1,460 docs, 112 queries, 76 of them judged.

    ``CISI.REL`` lines are ``query doc 0 0.000000``; every listed pair is relevant (grade 1) and
    the two trailing columns carry nothing. The 36 queries without judgements are kept in
    ``queries`` but have no qrels entry, so metrics average over the 76 judged ones. Records hold
    ``.X`` cross-references after ``.W``, which are read and ignored; queries 58-112 also carry a
    ``.T``, ``.A`` and ``.B`` of the paper they were written from, and their query text is ``.W``.

    Raises:
        InputError: a file is missing or malformed; names the file and the field.
    """
    docs_path = directory / "CISI.ALL"
    docs = _read_docs(docs_path, _read_records(docs_path))

    queries_path = directory / "CISI.QRY"
    query_records = _read_records(queries_path)
    _check_unique(queries_path, query_records)
    queries = {r.id: _require_text(queries_path, r) for r in query_records}

    qrels_path = directory / "CISI.REL"
    doc_ids = {doc.id for doc in docs}
    qrels: Qrels = {}
    for number, line in enumerate(_read_lines(qrels_path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise InputError(str(qrels_path), f"line {number}", f"expected 'query doc 0 0.0', got {line!r}")
        query_id = str(_int_field(qrels_path, "query", number, parts[0]))
        if query_id not in queries:
            raise InputError(str(qrels_path), "query", f"line {number}: query {query_id} is not in CISI.QRY")
        doc_id = str(_int_field(qrels_path, "doc", number, parts[1]))
        _judge(qrels_path, qrels, number, query_id, doc_id, 1, doc_ids)
    return ClassicCollection("cisi", docs, queries, qrels)
