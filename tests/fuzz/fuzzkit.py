"""What the fuzz tests share: the oracle, the bench that submits files for real, and the base files.

The oracle restates every rule an accepted file must meet without calling ``harness.submit`` or
``harness.results.bounds``: ``file_problem`` reads the submitted bytes again with its own parser
(every string and key, duplicate keys included; sizes; nesting), ``assert_valid`` holds the accepted
record to the semantic rules (model id, tasks, measures, inputs, timings). Each rule it names carries
a tag in square brackets (``[model-id/rrf-arity]``), so a failure says which rule was broken.

The bench submits bytes through ``submit.accept`` and ``submit.submit`` on a real SQLite database and
submissions folder, under a hang guard, and checks what changed: nothing for a refused file; for an
accepted one, the canonical file named by its digest and rows that hold the file verbatim.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import signal
import time
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factories import as_schema_v1, make_submission
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from harness import registry, submit
from harness.data.cards import fingerprint, generated_fingerprint
from harness.errors import InputError
from harness.results import Hardware, HarnessRecord, MetricCheck, ResultsFile, Verification, canonical_bytes
from harness.results import digest as digest_of
from harness.store.tables import RunRow, TaskRow
from harness.suites.beir.cards import SCIFACT

Document = dict[str, Any]
Location = tuple[int | str, ...]
WHERE = "run.json"

# --- the base files: valid, and accepted (test_the_bases_are_accepted) --------------------------

BASES: tuple[Document, ...] = tuple(
    json.loads(
        canonical_bytes(make_submission(model_id=f"org/base-{verified}", queries=queries, verified=verified))
    )
    for verified, queries in ((True, 300), (False, 12))
)
"""A verified file (the SciFact card's inputs, 300 queries) and an unverified one (12 queries)."""
V1_BASE: Document = as_schema_v1(make_submission(model_id="org/base-v1", queries=12, verified=False))
"""A schema-1 file, upgraded before validation (``results.migrations``)."""
WIDE_BASE: Document = json.loads(
    canonical_bytes(make_submission(model_id="org/base-wide", queries=1001, verified=False))
)
"""1,001 queries: per-item objects past 1,000 entries, allowed since they hold only numbers."""

# --- the oracle ---------------------------------------------------------------------------------

MAX_BYTES = 50 * 2**20
MAX_TEXT = 1000
MAX_DEPTH = 32
MAX_OBJECT = 1000
MAX_NUMBERS = 1_000_000
MAX_RESULTS = 5000
MAX_DIGITS = 18
MAX_RATE = 1e9
SLACK_S = 0.001

REFERENCE_IDS = frozenset({"org/Reference-Model", "rrf:bm25-flat+BAAI/bge-small-en-v1.5"})
"""Model ids of reference runs the bench passes as ``reference_ids``: no look-alike may pass. The
fusion's hub part is no reference on its own: only the whole id is."""
BUILTIN_IDS = frozenset(registry.MODELS)
"""The builtin model names (the registry's data; the rule about them is restated here)."""
KNOWN_IDS = BUILTIN_IDS | REFERENCE_IDS

SCIFACT_TEST_FILES = {
    "corpus.jsonl": SCIFACT.splits["test"].members["corpus.jsonl"],
    "queries.jsonl": SCIFACT.splits["test"].members["queries.jsonl"],
    "qrels/test.tsv": SCIFACT.splits["test"].members["qrels/test.tsv"],
}
CARD_COUNTS = {"test": {"corpus": 5183, "queries": 300, "qrels": 339}}
VERIFICATION: Document = json.loads(
    Verification(
        at=datetime(2026, 1, 2, tzinfo=UTC),
        harness=HarnessRecord(version="0.2.0"),
        hardware=Hardware(cpu="elsewhere", logical_cpus=64, memory_gib=512),
        reproduced=True,
        checks=[
            MetricCheck(task="beir/scifact", split="test", metric="ndcg@10", claimed=0.5, now=0.5, grade="OK")
        ],
    ).model_dump_json()
)
"""A verification record a forger adds: only this harness's own ``verify`` may write one."""
TASK_METRICS = {"ndcg@10", "recall@100", "recall@1000", "map@100", "mrr@10"}
RATES = (("queries", "search"), ("corpus", "index"))
"""The beir suite's speed columns as (count, phase): count / seconds is items per second."""


def text_problem(value: str) -> str | None:
    """The text policy for every string and key: printable, at most 1,000 characters, NFC."""
    if not value.isprintable():
        return "[text/printable] holds an unprintable character"
    if len(value) > MAX_TEXT:
        return f"[text/length] {len(value)} characters"
    if unicodedata.normalize("NFC", value) != value:
        return "[text/nfc] not in normal form NFC"
    return None


class Pairs(list[tuple[str, Any]]):
    """A JSON object as every (key, value) pair the file wrote, duplicates included."""


class Refused(Exception):
    """A number no results file may hold."""


def _no_constant(literal: str) -> Any:
    raise Refused(f"[number/finite] {literal}")


def _integer(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_DIGITS:
        raise Refused(f"[number/digits] {literal[:30]}")
    return int(literal)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def file_problem(data: bytes) -> str | None:
    """The first rule of the file as bytes that ``data`` breaks, or None: size, UTF-8, JSON, bounds, text.

    Reads the bytes with a parser of its own that keeps duplicate keys, so a value shadowed by a later
    one with the same key is held to the text policy too (it is in the file).
    """
    if len(data) > MAX_BYTES:
        return "[file/size]"
    try:
        document = json.loads(
            data.decode("utf-8"), object_pairs_hook=Pairs, parse_constant=_no_constant, parse_int=_integer
        )
    except Refused as error:
        return str(error)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return f"[file/json] {type(error).__name__}"
    stack: list[tuple[Any, Location, bool]] = [(document, (), False)]
    while stack:
        value, loc, shadowed = stack.pop()
        where = f"at {loc[:8]}{' (a value a later duplicate key shadows)' if shadowed else ''}"
        if len(loc) + 1 > MAX_DEPTH:
            return f"[bounds/depth{'-number' if _is_number(value) else ''}] {where}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"[number/finite] {where}"
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                return f"{problem.replace('[text/', '[text-shadowed/' if shadowed else '[text/')} {where}"
        elif isinstance(value, Pairs):
            last = {key: index for index, (key, _) in enumerate(value)}
            entries = [value[index][1] for index in last.values()]
            problem = _size_problem(loc, entries)
            if problem is not None:
                return f"{problem} {where}"
            for index, (key, child) in enumerate(value):
                hidden = shadowed or last[key] != index
                problem = text_problem(key)
                if problem is not None:
                    tag = "[text-shadowed/" if shadowed else "[text/"
                    return f"{problem.replace('[text/', tag)} in a key {where}"
                stack.append((child, (*loc, key), hidden))
        elif isinstance(value, list):
            problem = _size_problem(loc, value)
            if problem is not None:
                return f"{problem} {where}"
            stack.extend((child, (*loc, index), shadowed) for index, child in enumerate(value))
    return None


def _size_problem(loc: Location, entries: list[Any]) -> str | None:
    if loc == ("results",):
        return f"[bounds/results] {len(entries)}" if len(entries) > MAX_RESULTS else None
    if len(entries) <= MAX_OBJECT:
        return None
    if len(entries) <= MAX_NUMBERS and all(_is_number(entry) for entry in entries):
        return None
    return f"[bounds/entries] {len(entries)}"


_NAME = "[A-Za-z0-9][A-Za-z0-9_.-]*"
_MODEL_NAME = re.compile(rf"{_NAME}(/{_NAME})?", re.ASCII)
_FOLDS = {"0": "o", "1": "l", "i": "l", "|": "l", "_": "-", ".": "-"}


def looks(model_id: str) -> str:
    """How an id reads at a glance: lower case; 0 as o; 1, i and | as l; _ and . as -."""
    return "".join(_FOLDS.get(char, char) for char in model_id.lower())


def model_id_problem(model_id: str, known: frozenset[str] = KNOWN_IDS) -> str | None:
    """An ASCII ``name``, ``org/name`` or ``rrf:A+B`` of two of them, and no look-alike of ``known``."""
    if not model_id.isascii():
        return "[model-id/ascii]"
    if model_id.startswith("rrf:"):
        parts = model_id[len("rrf:") :].split("+")
        if len(parts) != 2:
            return "[model-id/rrf-arity] rrf: fuses exactly two models"
    else:
        parts = [model_id]
    if not all(_MODEL_NAME.fullmatch(part) for part in parts):
        return "[model-id/name]"
    for name in parts:
        twin = next((other for other in known if other != name and looks(other) == looks(name)), None)
        if twin is not None:
            return f"[model-id/look-alike] {name!r} looks like {twin!r}"
    twin = next((other for other in known if other != model_id and looks(other) == looks(model_id)), None)
    if twin is not None:
        return f"[model-id/look-alike-whole] {model_id!r} looks like {twin!r}"
    return None


def _sum(values: Any) -> float:
    try:
        return math.fsum(values)
    except OverflowError:
        return math.inf


def timings_problem(timings: Mapping[str, float], counts: Mapping[str, int]) -> str | None:
    """Every phase takes some time, the phases fit in the total, no speed beats a billion a second."""
    if not all(seconds > 0 for seconds in timings.values()):
        return "[timings/positive]"
    if "total" in timings:
        phases = _sum(seconds for phase, seconds in timings.items() if phase != "total")
        if not phases <= timings["total"] + SLACK_S:
            return "[timings/total]"
    for count, phase in RATES:
        if phase in timings and counts.get(count) and not counts[count] / timings[phase] <= MAX_RATE:
            return f"[timings/rate] {count} / {phase}"
    return None


def _canonical(document: Any) -> bytes:
    """The canonical form: sorted keys, no white space, UTF-8, finite numbers only."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def assert_valid(results: ResultsFile) -> None:
    """Every rule an accepted record must meet, written out again without harness.submit."""
    document = results.model_dump(mode="json")
    canonical = canonical_bytes(results)
    assert canonical == _canonical(document), "[canonical] not the sorted, compact, UTF-8 JSON of the record"
    del document["origin"], document["verifications"]
    assert digest_of(results) == hashlib.sha256(_canonical(document)).hexdigest(), "[canonical/digest]"
    again = ResultsFile.model_validate_json(canonical, strict=True)
    assert again == results and digest_of(again) == digest_of(results)
    model_id = results.model.id
    problem = model_id_problem(model_id)
    assert problem is None, f"accepted model id {model_id!r}: {problem}"
    assert not model_id.startswith(("/", "~")) and "\\" not in model_id
    assert ".." not in re.split(r"[/+]", model_id) and "//" not in model_id
    assert results.created_at.utcoffset() is not None
    assert results.created_at.astimezone(UTC).year >= 1
    assert results.suite == "beir"
    assert results.origin == "submission" and results.verifications == [] and not results.reproduced
    keys = [(r.task, r.split, tuple(sorted(r.variant.items()))) for r in results.results]
    assert len(set(keys)) == len(keys)
    for result in results.results:
        assert (result.task, result.task_version, result.main_metric) == ("beir/scifact", 1, "ndcg@10")
        assert result.split in ("test", "train")
        assert result.settings == {
            "k": 1000,
            "remove_self_hits": True,
            "trec_eval": "-c",
            "ties": "doc id desc",
        }
        inputs = result.inputs
        assert inputs.id == "beir/scifact"
        if inputs.generator is None:
            assert inputs.fingerprint == fingerprint(inputs.files)
        else:
            assert not inputs.files and not inputs.verified
            assert inputs.fingerprint == generated_fingerprint(inputs.generator, inputs.seed)
        assert set(result.metrics) <= TASK_METRICS
        problem = timings_problem(result.timings_s, inputs.counts)
        assert problem is None, f"accepted timings {result.timings_s}: {problem}"
        queries = inputs.counts["queries"]
        assert result.per_item is not None and result.per_item.kind == "query"
        item_ids = {frozenset(values) for values in result.per_item.values.values()}
        assert len(item_ids) == 1
        for name, value in result.metrics.items():
            values = result.per_item.values[name]
            assert 0.0 <= value <= 1.0 and all(0.0 <= v <= 1.0 for v in values.values())
            assert len(values) == queries > 0
            assert abs(math.fsum(values.values()) / len(values) - value) <= 1e-9
        if inputs.verified:
            assert result.split == "test"
            assert dict(inputs.files) == SCIFACT_TEST_FILES
            assert dict(inputs.counts) == CARD_COUNTS["test"]


# --- the bench: the system under test, on real files --------------------------------------------


class Hang(Exception):
    """``submit`` gave no answer within the hang guard's time."""


@contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    """Raise ``Hang`` in the main thread after ``seconds`` (SIGALRM interrupts a blocking open too)."""

    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


HANG_S = 30.0
"""No file here takes a second to check; 30 s is a hang, not a slow machine."""


def field_label(field: str) -> str:
    """``results[0].metrics.ndcg@10`` -> ``results``: the statistics' label of a refusal."""
    return re.sub(r"\[\d+\]|\..*", "", field)


@dataclass
class Bench:
    engine: Engine
    work: Path
    submissions: Path

    def rows(self) -> tuple[int, ...]:
        with self.engine.connect() as connection:
            return tuple(
                connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("runs", "task_results", "metrics")
            )

    def filed(self) -> set[str]:
        return {path.name for path in self.submissions.iterdir()} if self.submissions.exists() else set()

    def submit_bytes(self, data: bytes) -> str:
        """Submit ``data`` as a file: "accepted", or "refused <first part of the field>" for statistics."""
        source = self.work / "run.json"
        source.write_bytes(data)
        return self.submit_path(source, data)

    def submit_path(self, source: Path, data: bytes | None = None) -> str:
        before = self.rows(), self.filed()
        started = time.monotonic()
        try:
            with hang_guard(HANG_S):
                accepted = submit.accept(source, WHERE, reference_ids=REFERENCE_IDS)
                done = submit.submit(self.engine, accepted, self.submissions)
        except InputError as error:
            message = str(error)
            assert message.startswith(f"{WHERE}: ") and message.isprintable(), message
            assert (self.rows(), self.filed()) == before
            return "refused " + field_label(error.field)
        finally:
            if time.monotonic() - started > 2 and currently_in_test_context():
                event("slow: over 2 s")
        if data is not None:
            problem = file_problem(data)
            assert problem is None, f"accepted a file that breaks {problem}"
        results = accepted.results
        assert_valid(results)
        assert done.path is not None and done.path.parent == self.submissions
        assert done.path.name == f"{done.digest}.json" and done.digest == digest_of(results)
        assert done.path.read_bytes() == canonical_bytes(results)
        assert self.filed() - before[1] <= {done.path.name}
        assert done.dropped_verifications == accepted.dropped_verifications
        assert [v.key for v in done.verdicts] == [r.key for r in results.results]
        self.assert_stored_verbatim(results, {v.key: v.rescored for v in done.verdicts})
        return "accepted"

    def assert_stored_verbatim(self, results: ResultsFile, rescored: Mapping[Any, bool]) -> None:
        """The row holds the file's own strings and numbers, as a standing "submission", unverified."""
        expected = json.loads(canonical_bytes(results))
        for result in expected["results"]:
            del result["per_item"], result["predictions"]
        with Session(self.engine) as session:
            run = session.get(RunRow, digest_of(results))
            assert run is not None
            assert (run.origin, run.reproduced, run.verifications) == ("submission", False, [])
            assert (run.model_id, run.model_revision) == (results.model.id, results.model.revision)
            assert run.document == expected
            tasks = session.execute(
                select(TaskRow.task, TaskRow.split, TaskRow.variant_key, TaskRow.rescored).where(
                    TaskRow.run_digest == run.digest
                )
            ).all()
        assert {(t.task, t.split, t.variant_key): bool(t.rescored) for t in tasks} == dict(rescored)


# --- shared strategies and helpers --------------------------------------------------------------


def node_paths(value: Any, prefix: Location = ()) -> list[Location]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths.extend(node_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths.extend(node_paths(child, (*prefix, index)))
    return paths


def get(document: Any, path: Location) -> Any:
    for part in path:
        document = document[part]
    return document


def dict_at(document: Any, *keys: int | str) -> dict[str, Any] | None:
    """The dict at ``keys`` if earlier mutations left one there."""
    for key in keys:
        try:
            document = document[key]
        except (KeyError, IndexError, TypeError):
            return None
    return document if isinstance(document, dict) else None


def serialize(draw: st.DrawFn, document: Any) -> bytes:
    """JSON as writers write it: ASCII escapes or raw UTF-8 (lone surrogates as bytes), indented or not."""
    ascii_only = draw(st.booleans())
    indent = draw(st.sampled_from([None, 1]))
    return json.dumps(document, ensure_ascii=ascii_only, indent=indent).encode("utf-8", "surrogatepass")


def refingerprint(result: Document) -> None:
    """Keep ``inputs.fingerprint`` the fingerprint of ``inputs.files`` after an edit of the files.

    A name no UTF-8 can hold (a lone surrogate) has no fingerprint: the old one stays, and the text
    policy refuses the name anyway.
    """
    inputs = dict_at(result, "inputs")
    if inputs is not None and isinstance(inputs.get("files"), dict):
        with suppress(UnicodeEncodeError):
            inputs["fingerprint"] = fingerprint(inputs["files"])
