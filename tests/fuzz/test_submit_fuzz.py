"""Fuzzing ``harness submit`` with files mutated from valid ones (hypothesis).

Properties, over every generated file (the bench and the oracle are in ``fuzzkit``):
1. no crash and no hang: ``submit.accept`` / ``submit.submit`` either accept the file or raise
   ``InputError`` (one printable line naming the file) within the hang guard; any other exception
   fails the test;
2. nothing invalid is accepted: an accepted file passes an independent re-statement of every rule
   (``fuzzkit.file_problem`` over its bytes, ``fuzzkit.assert_valid`` over the record) and
   round-trips through its canonical bytes;
3. a refused file changes nothing: the database row counts and the submissions folder stay as
   they were. An accepted one is filed as ``<digest>.json`` inside the submissions folder, with
   origin "submission" and no verification records, whatever the file claimed, and its row holds
   the file verbatim.

This module mutates at random (structure, bytes, a forger's semantic edits); ``test_trust_fuzz``
aims at the hostile-input classes of the trust rules (text policy, model ids, sizes, timings, markup
payloads, dates, special files). Counts: ``ci`` profile 100 examples per property, ``stress`` 10,000
(tests/fuzz/conftest.py).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from fuzzkit import (
    BASES,
    SCIFACT_TEST_FILES,
    V1_BASE,
    VERIFICATION,
    WIDE_BASE,
    Bench,
    Document,
    dict_at,
    get,
    node_paths,
    serialize,
)
from hypothesis import event, given
from hypothesis import strategies as st

from harness import submit
from harness.data.cards import fingerprint, generated_fingerprint
from harness.errors import InputError
from harness.results import MAX_FILE_BYTES

# --- strategies ------------------------------------------------------------------------------------

ADVERSARIAL_TEXT = [
    "../../x", "../../../etc/passwd", "/etc/passwd", "..", ".", "a/../b", "a//b", "C:\\x", "~/x",
    "x\x00y", "a\nb", "\u202egnp.exe", "\ud800", "\udfff", "é", "日本", " padded ", "",
    "ndcg@10", "NDCG@10", "ndcg@10 ", "recall@1000", "precision@5", "beir/scifact", "beir/nfcorpus",
    "beir/../scifact", "test", "train", "dev", "x" * 400, "%s%n", "${HOME}", "'; DROP TABLE runs; --",
    "origin", "verifications", "variant", "replicates", "predictions", "sizes_bytes", "inputs", "values",
    "dataset", "index_bytes", "local", "submission", "query",
]  # fmt: skip
HUGE_NUMBERS = [1e308, -1e308, 5e-324, 2**53 + 1, 2**63, -(2**63) - 1, 10**18, 10**19, 10**40]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(HUGE_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-0.1, max_value=1.1),
    st.text(max_size=12),
    st.sampled_from(ADVERSARIAL_TEXT),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=8) | st.sampled_from(ADVERSARIAL_TEXT), inner, max_size=3),
    ),
    max_leaves=6,
)


Mutation = Callable[[st.DrawFn, Document], None]


def set_value(draw: st.DrawFn, document: Document) -> None:
    paths = node_paths(document)[1:]
    if not paths:
        document[draw(st.text(max_size=8))] = draw(json_value)
        return
    path = draw(st.sampled_from(paths))
    get(document, path[:-1])[path[-1]] = draw(json_value)


def delete_key(draw: st.DrawFn, document: Document) -> None:
    paths = [p for p in node_paths(document)[1:] if isinstance(get(document, p[:-1]), dict)]
    if not paths:
        return set_value(draw, document)
    path = draw(st.sampled_from(paths))
    del get(document, path[:-1])[path[-1]]
    return None


def add_or_rename_key(draw: st.DrawFn, document: Document) -> None:
    dicts = [p for p in node_paths(document) if isinstance(get(document, p), dict)]
    target = get(document, draw(st.sampled_from(dicts)))
    key = draw(st.text(max_size=10) | st.sampled_from(ADVERSARIAL_TEXT))
    if target and draw(st.booleans()):
        old = draw(st.sampled_from(sorted(target)))
        target[key] = target.pop(old)
    else:
        target[key] = draw(json_value)


def nudge_number(draw: st.DrawFn, document: Document) -> None:
    numbers = [
        p for p in node_paths(document)[1:]
        if isinstance(get(document, p), int | float) and not isinstance(get(document, p), bool)
    ]  # fmt: skip
    if not numbers:
        return set_value(draw, document)
    path = draw(st.sampled_from(numbers))
    parent = get(document, path[:-1])
    delta = draw(st.sampled_from([1e-12, 5e-10, 2e-9, 1e-6, 1e-4, 0.01, 0.5, 1, 2**40]))
    parent[path[-1]] = parent[path[-1]] + delta * draw(st.sampled_from([1, -1]))
    return None


def set_model_id(draw: st.DrawFn, document: Document) -> None:
    model = dict_at(document, "model")
    if model is None:
        return set_value(draw, document)
    model["id"] = draw(st.sampled_from(ADVERSARIAL_TEXT) | st.text(min_size=1, max_size=20))
    return None


def nest_deeply(draw: st.DrawFn, document: Document) -> None:
    depth = draw(st.sampled_from([20, 26, 27, 28, 29, 30, 40, 200]))
    value: Any = draw(json_leaf)
    for _ in range(depth):
        value = [value] if draw(st.booleans()) else {"a": value}
    targets = [
        t
        for t in (dict_at(document, "model", "parameters"), dict_at(document, "results", 0, "settings"))
        if t is not None
    ]
    if not targets:
        return set_value(draw, document)
    draw(st.sampled_from(targets))["deep"] = value
    return None


def duplicate_result(draw: st.DrawFn, document: Document) -> None:
    first = dict_at(document, "results", 0)
    if first is None or not isinstance(document["results"], list):
        return set_value(draw, document)
    copy_ = copy.deepcopy(first)
    if draw(st.booleans()):
        copy_["split"] = draw(st.sampled_from(["train", "dev", "test"]))
    document["results"].append(copy_)
    return None


STRUCTURAL: list[Mutation] = [
    set_value, delete_key, add_or_rename_key, nudge_number, set_model_id, nest_deeply, duplicate_result,
]  # fmt: skip


@st.composite
def structurally_mutated(draw: st.DrawFn) -> bytes:
    document = copy.deepcopy(draw(st.sampled_from((*BASES, V1_BASE))))
    for _ in range(draw(st.integers(1, 3))):
        draw(st.sampled_from(STRUCTURAL))(draw, document)
    return serialize(draw, document)


NUMBER = re.compile(rb"(?<=[:\[,])\s*-?\d+(\.\d+)?([eE][-+]?\d+)?")
LITERALS = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1e-400", b"9" * 30, b"-" + b"9" * 19,
            b"1" * 5000, b"0.5e", b"01", b"+1", b".5", b"true", b'"0.5"', b"null"]  # fmt: skip
BAD_BYTES = [
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc0\xaf",
    b"\x00",
    b"\xef\xbb\xbf",
]


@st.composite
def byte_mutated(draw: st.DrawFn) -> bytes:
    data = serialize(draw, copy.deepcopy(draw(st.sampled_from((*BASES, V1_BASE)))))
    kinds = ["literal", "bad-bytes", "truncate", "escape", "flip", "bom", "wrap", "deep"]
    kind = draw(st.sampled_from(kinds))
    event(f"byte mutation: {kind}")
    if kind == "literal":
        matches = list(NUMBER.finditer(data))
        match = draw(st.sampled_from(matches))
        literal = draw(st.sampled_from(LITERALS))
        return data[: match.start()] + literal + data[match.end() :]
    at = draw(st.integers(0, len(data)))
    if kind == "bad-bytes":
        return data[:at] + draw(st.sampled_from(BAD_BYTES)) + data[at:]
    if kind == "truncate":
        return data[:at]
    if kind == "escape":
        quotes = [m.end() for m in re.finditer(rb'"', data)]
        at = draw(st.sampled_from(quotes))
        escape = draw(
            st.sampled_from([rb"\ud800", rb"\udc00", rb"\u0000", rb"\n", rb"\x41", rb"\u12", b"\\"])
        )
        return data[:at] + escape + data[at:]
    if kind == "flip":
        if not data:
            return data
        at = min(at, len(data) - 1)
        return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :]
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "deep":  # past the JSON parser's recursion limit, before any bounds check can run
        depth = draw(st.sampled_from([33, 1000, 100_000]))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        nested = opener * depth + b"0" + closer * depth
        return data[:1] + b'"deep": ' + nested + b", " + data[1:]
    return draw(st.sampled_from([b"[" + data + b"]", b'{"x": ' + data + b"}", data + data, b"null", b""]))


def _items(result: Document, draw: st.DrawFn) -> tuple[str, dict[str, float]]:
    name = draw(st.sampled_from(sorted(result["per_item"]["values"])))
    return name, result["per_item"]["values"][name]


@st.composite
def semantically_mutated(draw: st.DrawFn) -> bytes:
    """Edits a careful forger makes: numbers kept consistent or not, flags, counts, task identity."""
    document = copy.deepcopy(draw(st.sampled_from(BASES)))
    result = document["results"][0]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["item", "item+mean", "aggregate", "drop-item", "add-metric", "verified", "counts", "files",
                 "version", "task", "split", "main-metric", "model-id", "per-item-scale", "empty",
                 "origin", "verification", "variant", "item-kind", "settings", "sizes", "generated"]
            )
        )  # fmt: skip
        event(f"semantic edit: {kind}")
        if kind in ("item", "item+mean"):
            name, values = _items(result, draw)
            if not values:
                continue
            query = draw(st.sampled_from(sorted(values)))
            values[query] = draw(st.floats(-0.5, 1.5) | st.sampled_from([0.0, 1.0, values[query] + 1e-6]))
            if kind == "item+mean":  # a consistent forgery: passes check, only `verify` can catch it
                result["metrics"][name] = math.fsum(values.values()) / len(values)
        elif kind == "aggregate":
            name = draw(st.sampled_from(sorted(result["metrics"])))
            result["metrics"][name] += draw(st.sampled_from([1e-10, 9e-10, 1.1e-9, 1e-8, 0.01, -0.01]))
        elif kind == "drop-item":
            name, values = _items(result, draw)
            if values:
                values.pop(draw(st.sampled_from(sorted(values))))
        elif kind == "add-metric":
            name = draw(st.sampled_from(["recall@1000", "map@100", "mrr@10", "ndcg@20", "spearman", "f1"]))
            value = draw(st.floats(0, 1))
            result["metrics"][name] = value
            if draw(st.booleans()):
                values = result["per_item"]["values"]
                values[name] = dict.fromkeys(values["ndcg@10"], value)
        elif kind == "verified":
            result["inputs"]["verified"] = not result["inputs"]["verified"]
        elif kind == "counts":
            key = draw(st.sampled_from(["corpus", "queries", "qrels"]))
            result["inputs"]["counts"][key] = draw(st.sampled_from([0, 12, 300, 339, 5183, 5184]))
        elif kind == "files":
            files = result["inputs"]["files"]
            if draw(st.booleans()) or not files:
                files.update(SCIFACT_TEST_FILES)
            else:
                files.pop(draw(st.sampled_from(sorted(files))), None)
            if draw(st.booleans()):
                result["inputs"]["fingerprint"] = fingerprint(files)
        elif kind == "version":
            result["task_version"] = draw(st.sampled_from([0, 2, 10**6]))
        elif kind == "task":
            result["task"] = draw(st.sampled_from(["beir/nfcorpus", "beir/nope", "sts/scifact", "beir"]))
        elif kind == "split":
            result["split"] = draw(st.sampled_from(["train", "dev", "test\n"]))
        elif kind == "main-metric":
            result["main_metric"] = draw(st.sampled_from(sorted(result["metrics"])))
        elif kind == "model-id":
            set_model_id(draw, document)
        elif kind == "empty":  # no queries at all: a mean over nothing
            result["inputs"]["counts"]["queries"] = 0
            for values in result["per_item"]["values"].values():
                values.clear()
        elif kind == "origin":  # a submission cannot pass itself off as a reference run
            document["origin"] = draw(st.sampled_from(["local", "submission", "reference", ""]))
        elif kind == "verification":  # nor bring its own reproduction
            document["verifications"] = [copy.deepcopy(VERIFICATION)] * draw(st.integers(1, 3))
            if draw(st.booleans()):
                document["verifications"][0] = {**VERIFICATION, "checks": []}
        elif kind == "variant":  # another variant of the same task, or a clash with the first
            variant = draw(st.sampled_from([{}, {"dim": 128}, {"layer": 4, "dim": 128}, {"dim": -1}]))
            copy_ = copy.deepcopy(result)
            copy_["variant"] = variant
            document["results"].append(copy_)
        elif kind == "item-kind":
            result["per_item"]["kind"] = draw(st.sampled_from(["pair", "example", "Query", "query"]))
        elif kind == "settings":
            result["settings"][draw(st.sampled_from(["k", "remove_self_hits", "extra"]))] = draw(
                st.sampled_from([10, 1000, False, True, "-c"])
            )
        elif kind == "sizes":
            result["sizes_bytes"] = {"index": draw(st.sampled_from([0, 1, 2**40, -1]))}
        elif kind == "generated":  # synthetic inputs: a generator spec and seed instead of member files
            inputs = result["inputs"]
            inputs["generator"] = draw(
                st.dictionaries(st.sampled_from(["name", "n", "é"]), json_leaf, max_size=2)
            )
            inputs["seed"] = draw(st.sampled_from([None, 0, 7]))
            if draw(st.booleans()):
                inputs["files"] = {}
            inputs["verified"] = draw(st.booleans())
            if draw(st.booleans()):
                inputs["fingerprint"] = generated_fingerprint(inputs["generator"], inputs["seed"])
        else:
            name, values = _items(result, draw)
            factor = draw(st.sampled_from([0.5, 1.0 + 1e-9, 2.0]))
            for query in values:
                values[query] *= factor
            result["metrics"][name] *= factor
    return serialize(draw, document)


# --- the properties ----------------------------------------------------------------------------------


@given(data=structurally_mutated())
def test_structural_mutations(bench: Bench, data: bytes) -> None:
    event(bench.submit_bytes(data))


@given(data=byte_mutated())
def test_byte_level_mutations(bench: Bench, data: bytes) -> None:
    event(bench.submit_bytes(data))


@given(data=semantically_mutated())
def test_semantic_forgeries(bench: Bench, data: bytes) -> None:
    event(bench.submit_bytes(data))


def test_the_bases_are_accepted(bench: Bench) -> None:
    """The mutations start from valid files: every base passes, so refusals come from the mutations."""
    for base in (*BASES, V1_BASE, WIDE_BASE):
        assert bench.submit_bytes(json.dumps(base).encode()) == "accepted"


def test_oversize_file_is_refused_before_reading(bench: Bench) -> None:
    path = bench.work / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match=r"^huge\.json: \(file\): larger than 50 MB$"):
        submit.accept(path, "huge.json")


def test_oversize_bytes_padded_with_white_space_are_refused(bench: Bench) -> None:
    data = json.dumps(BASES[0]).encode()
    assert bench.submit_bytes(data + b" " * (MAX_FILE_BYTES + 1 - len(data))) == "refused (file)"


def test_path_like_model_ids_never_leave_the_submissions_folder(bench: Bench) -> None:
    for name in ("../../x", "../../../srv/evil", "/etc/passwd", "x/../../y"):
        document = copy.deepcopy(BASES[1])
        document["model"]["id"] = name
        assert bench.submit_bytes(json.dumps(document).encode()) == "refused model"
    outside = {p.name for p in bench.work.parent.iterdir()}
    assert "x" not in outside and "evil" not in outside
