"""TREC run files: the ranked lists a retrieval task scored, written and read back bit for bit.

The format is the one ``trec_eval`` reads: one hit a line, ``qid Q0 docid rank score tag``, fields
separated by whitespace. A run is kept beside its results file (``harness run --save-run``,
``harness score``, ``submit``), named by the sha256 of its *uncompressed* text
(``<task>.<sha256>.run.trec.gz``: ``zcat FILE | sha256sum`` gives the name back, and a gunzipped copy
is the same run), and referenced from the task result's ``predictions`` (``RunRef``).

**Writing** is canonical, so one run has one text and one digest: queries in code-point order of
their ids; each query's hits in trec_eval order (``harness.metrics.retrieval.ranked``: score
descending, ties by doc id descending, as ``trec_eval``'s ``comp_sim_docno``), ranked 1, 2, ...;
scores as Python's shortest round-trip ``repr`` of the double, so reading the text back gives the
very floats that were scored and rescoring gives identical metrics. The gzip wrapper is
deterministic too: mtime 0, no file name in the header, level 9 (RFC 1952 allows both).

**Reading** an untrusted run (``submit``, ``harness score``) is strict and bounded, as
``results.bounds`` is for results files: regular files only, at most ``MAX_RUN_FILE_BYTES`` read and
``MAX_RUN_TEXT_BYTES`` decompressed (a gzip bomb stops at the limit, never in memory), at most
``MAX_RUN_LINES`` hits, ids and tags printable, NFC and at most ``MAX_ID_CHARS`` characters. Every
refusal is one ``InputError`` naming the file, the line and the field. What the rank column means:
``trec_eval`` ignores it and orders by score (then doc id descending), and so does
``harness.metrics.retrieval``; ranks must still be non-negative integers, unique within a query, and
never contradict the scores (a higher rank with a strictly higher score is refused: a run of
distances, or a rank-only run whose scores are noise, would otherwise be scored silently in another
order than its author meant). Ties in score may stand in any rank order: trec_eval's doc-id order
decides them. A (qid, docid) pair twice is refused (trec_eval would count the doc twice).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from harness.atomic import PUBLIC, atomic_write_bytes, create_exclusive
from harness.errors import InputError
from harness.metrics.retrieval import ranked
from harness.results.bounds import read_bounded, text_problem
from harness.results.records import RunRef
from harness.types import Run

MAX_RUN_FILE_BYTES = 512 * 1024 * 1024
"""512 MiB as stored: a plain-text run of HotpotQA's 7,405 test queries at depth 1,000 is about 400 MB."""
MAX_RUN_TEXT_BYTES = 1024 * 1024 * 1024
"""1 GiB decompressed; decompression stops there, so a gzip bomb costs at most this much memory."""
MAX_RUN_LINES = 10_000_000
"""Hits in one run: the largest BEIR test split (HotpotQA, 7,405 queries) at depth 1,000 is 7.4 million."""
MAX_ID_CHARS = 200
"""Query ids, doc ids and tags; BEIR's longest ids are under 100 characters."""
MAX_RANK_DIGITS = 9
"""Ranks are counts of hits: at most 9 digits."""

GZIP_MAGIC = b"\x1f\x8b"
SUFFIX = ".run.trec.gz"
PLAIN_SUFFIX = ".run.trec"

_SCORE = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_RANK = re.compile(rf"[0-9]{{1,{MAX_RANK_DIGITS}}}")
_Q0 = ("Q0", "0")
"""The second column: trec_eval ignores it; Anserini, Pyserini and Vespa write ``Q0``, some scripts ``0``."""


@dataclass(frozen=True)
class RankedRun:
    """A task's scored run: query id -> doc id -> score, already cut to its top ``k`` per query."""

    hits: Run
    k: int

    @property
    def lines(self) -> int:
        return sum(len(docs) for docs in self.hits.values())


@dataclass(frozen=True)
class ParsedRun:
    """A run read from a file: its hits, the sha256 of its uncompressed text, and where it came from."""

    hits: Run
    sha256: str
    lines: int
    where: str
    text: bytes
    """The uncompressed text as read, which ``sha256`` names (``submit`` files exactly these bytes)."""


# --- writing ------------------------------------------------------------------------------------


def trec_text(run: Run, tag: str) -> bytes:
    """The canonical TREC text of ``run``: sorted query ids, trec_eval order, ranks from 1, ``repr`` scores.

    Raises:
        ValueError: an id or the tag holds whitespace or is empty (it would split into more fields).
    """
    _check_token(tag, "tag")
    out: list[str] = []
    for qid in sorted(run):
        _check_token(qid, "query id")
        hits = run[qid]
        for rank, doc in enumerate(ranked(hits), start=1):
            _check_token(doc, "doc id")
            out.append(f"{qid} Q0 {doc} {rank} {float(hits[doc])!r} {tag}\n")
    return "".join(out).encode()


def _check_token(text: str, what: str) -> None:
    if not text or len(text.split()) != 1 or text.split()[0] != text:
        raise ValueError(f"{what} {text[:40]!r} is empty or holds whitespace: it cannot be a TREC field")


def gzip_bytes(text: bytes) -> bytes:
    """``text`` gzipped deterministically: mtime 0, no file name, level 9."""
    return gzip.compress(text, compresslevel=9, mtime=0)


def text_sha256(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def run_file_name(task: str, sha256: str) -> str:
    """``beir_scifact.<sha256>.run.trec.gz``: the task for people, the digest for lookups."""
    return f"{task.replace('/', '_')}.{sha256}{SUFFIX}"


def find_beside(folder: Path, task: str, sha256: str) -> Path | None:
    """The run file a results file in ``folder`` references, gzipped or plain; None when absent."""
    for name in (run_file_name(task, sha256), run_file_name(task, sha256).removesuffix(".gz")):
        path = folder / name
        if path.is_file() or path.is_symlink():
            return path
    return None


@dataclass(frozen=True)
class EncodedRun:
    """A run as it is kept: its reference (sha256 of the text, k, counts) and its gzip bytes."""

    ref: RunRef
    gzipped: bytes

    def file_name(self, task: str) -> str:
        return run_file_name(task, self.ref.sha256)


def encode(run: RankedRun, tag: str) -> EncodedRun:
    """The canonical text of ``run``, its ``RunRef`` and its deterministic gzip bytes."""
    text = trec_text(run.hits, tag)
    queries = sum(1 for docs in run.hits.values() if docs)  # a query left with no hit writes no line
    ref = RunRef(sha256=text_sha256(text), k=run.k, queries=queries, hits=run.lines)
    return EncodedRun(ref, gzip_bytes(text))


def write_beside(folder: Path, task: str, run: EncodedRun) -> Path:
    """Write ``run`` into ``folder`` under its content name, atomically and readable by others."""
    path = folder / run.file_name(task)
    atomic_write_bytes(path, run.gzipped, mode=PUBLIC)
    return path


def file_beside(folder: Path, task: str, sha256: str, gzipped: bytes) -> tuple[Path, bool]:
    """Create a run's file in ``folder`` exclusively (submissions); returns (path, created now)."""
    path = folder / run_file_name(task, sha256)
    folder.mkdir(parents=True, exist_ok=True)
    return path, create_exclusive(path, gzipped)


def canonical(parsed: ParsedRun, k: int, tag: str) -> EncodedRun:
    """A run read from elsewhere, re-encoded canonically (the same hits and floats, our text)."""
    return encode(RankedRun(parsed.hits, k), tag)


# --- reading ------------------------------------------------------------------------------------


def read_run_bytes(path: Path, where: str) -> bytes:
    """The bytes of the regular file at ``path``, at most ``MAX_RUN_FILE_BYTES``; never blocks on a FIFO."""
    return read_bounded(path, where, limit=MAX_RUN_FILE_BYTES, what="a run file")


def decompressed(data: bytes, where: str) -> bytes:
    """The run's text: ``data`` itself, or its gzip members decompressed, at most ``MAX_RUN_TEXT_BYTES``."""
    if not data.startswith(GZIP_MAGIC):
        if len(data) > MAX_RUN_TEXT_BYTES:
            raise InputError(where, "(file)", f"larger than {MAX_RUN_TEXT_BYTES // 2**20} MiB")
        return data
    out: list[bytes] = []
    size = 0
    rest = data
    while rest:
        decoder = zlib.decompressobj(wbits=31)  # one gzip member (RFC 1952); members may be concatenated
        try:
            piece = decoder.decompress(rest, MAX_RUN_TEXT_BYTES + 1 - size)
        except zlib.error as error:
            raise InputError(where, "(file)", f"not a valid gzip stream: {error}") from None
        size += len(piece)
        out.append(piece)
        if size > MAX_RUN_TEXT_BYTES or decoder.unconsumed_tail:
            raise InputError(where, "(file)", f"decompresses to more than {MAX_RUN_TEXT_BYTES // 2**20} MiB")
        if not decoder.eof:
            raise InputError(where, "(file)", "the gzip stream is truncated")
        rest = decoder.unused_data
        if rest and not rest.startswith(GZIP_MAGIC):
            raise InputError(where, "(file)", "holds bytes after the gzip stream")
    return b"".join(out)


def read_run(path: Path, where: str | None = None) -> ParsedRun:
    """Read, decompress and parse the TREC run at ``path`` (gzip or plain); see the module docstring.

    Raises:
        InputError: the first problem, naming the file, the line and the field.
    """
    name = where or str(path)
    return parse_run(decompressed(read_run_bytes(path, name), name), name)


def _line_of(text: bytes, offset: int) -> int:
    return text.count(b"\n", 0, offset) + 1


def _id_problem(value: str) -> str | None:
    if value.isascii() and value.isprintable() and len(value) <= MAX_ID_CHARS:
        return None
    return text_problem(value, MAX_ID_CHARS)


def parse_run(text: bytes, where: str) -> ParsedRun:
    """Parse the uncompressed text of an untrusted TREC run; every refusal names the line and field.

    Raises:
        InputError: not UTF-8, a line without six fields, a bad id, rank or score, a duplicate
            (qid, docid), a duplicate rank, ranks that contradict the scores, too many lines, or no hit.
    """
    if len(text) > MAX_RUN_TEXT_BYTES:
        raise InputError(where, "(file)", f"larger than {MAX_RUN_TEXT_BYTES // 2**20} MiB")
    sha = text_sha256(text)
    if text.count(b"\n") > MAX_RUN_LINES:
        raise InputError(where, "(file)", f"holds more than {MAX_RUN_LINES:,} lines")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(where, f"line {_line_of(text, error.start)}", "not UTF-8") from None
    lines = decoded.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    hits: Run = {}
    ranks: dict[str, dict[int, tuple[float, int]]] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        fields = line.split()
        if len(fields) != 6:
            what = "is blank" if not fields else f"has {len(fields)} fields"
            raise InputError(where, f"line {number}", f"{what}; expected qid Q0 docid rank score tag")
        qid, q0, doc, rank_text, score_text, tag = fields
        for field, value in (("qid", qid), ("docid", doc), ("tag", tag)):
            problem = _id_problem(value)
            if problem is not None:
                raise InputError(where, f"line {number}: {field}", problem)
        if q0 not in _Q0:
            raise InputError(where, f"line {number}: Q0", f"{q0[:40]!r}: the second field is Q0 (or 0)")
        if not _RANK.fullmatch(rank_text):
            raise InputError(
                where,
                f"line {number}: rank",
                f"{rank_text[:40]!r} is not a non-negative integer of at most {MAX_RANK_DIGITS} digits",
            )
        if not _SCORE.fullmatch(score_text):
            raise InputError(where, f"line {number}: score", f"{score_text[:40]!r} is not a decimal number")
        score = float(score_text)
        if score in (float("inf"), float("-inf")):
            raise InputError(where, f"line {number}: score", f"{score_text[:40]!r} is not a finite number")
        docs = hits.setdefault(qid, {})
        if doc in docs:
            raise InputError(where, f"line {number}: docid", f"{doc!r} appears twice for query {qid!r}")
        docs[doc] = score
        rank = int(rank_text)
        by_rank = ranks.setdefault(qid, {})
        if rank in by_rank:
            first = by_rank[rank][1]
            raise InputError(
                where, f"line {number}: rank", f"{rank} appears twice for query {qid!r} (also line {first})"
            )
        by_rank[rank] = (score, number)
    if not hits:
        raise InputError(where, "(file)", "holds no hit")
    for qid, by_rank in ranks.items():
        previous: tuple[int, float, int] | None = None
        for rank in sorted(by_rank):
            score, number = by_rank[rank]
            if previous is not None and score > previous[1]:
                raise InputError(
                    where,
                    f"line {number}: score",
                    f"{score!r} at rank {rank} of query {qid!r} is higher than {previous[1]!r} at rank "
                    f"{previous[0]} (line {previous[2]}): scores must not rise with the rank "
                    "(trec_eval orders by score; negate distances)",
                )
            previous = (rank, score, number)
    return ParsedRun(hits=hits, sha256=sha, lines=len(lines), where=where, text=text)
