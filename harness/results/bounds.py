"""What an untrusted results file may hold: regular files only, bounded sizes, and one text policy.

A results file comes from anyone (``harness submit``, ``harness ingest``), so reading one costs
bounded time and memory whatever it is: a FIFO, a device, a symlink to ``/dev/zero`` or a 10 GB
file is refused before it is read, and at most ``MAX_FILE_BYTES + 1`` bytes are ever read (``stat``
says 0 for ``/dev/zero``, so the size is enforced on the read, not only on the stat).

Once parsed, one walk over the document enforces the limits below and the **text policy**, the same
for every string and every key anywhere in the file (model ids, splits, hardware, package names):

- printable (Python's ``str.isprintable``: no control, format, surrogate, private-use or unassigned
  character, no line or paragraph separator; so no ESC, newline or right-to-left override);
- at most ``MAX_TEXT_CHARS`` characters;
- in Unicode normal form NFC (a string is refused rather than normalised: normalising would change
  the run's digest, and two spellings of one name must not become two rows).

Model ids get more (ASCII only, no look-alikes of a reference model): ``submit.check_model_id``.
"""

from __future__ import annotations

import json
import math
import os
import stat
import unicodedata
from pathlib import Path
from typing import Any

from harness.errors import InputError

MAX_FILE_BYTES = 50 * 1024 * 1024
"""50 MB: a BEIR run of 50,000 queries with five per-query measures is about 10 MB."""
MAX_NESTING = 32
MAX_INTEGER_DIGITS = 18
"""Integers must fit a signed 64-bit column (and be cheap to convert): at most 18 digits."""
MAX_TEXT_CHARS = 1_000
"""Any string or key; fields the schema bounds more tightly (model id, split) say so there."""
MAX_TASKS = 5_000
"""Task results in one file: 20 datasets x 12 layers x 20 dimensions of a Matryoshka sweep fit."""
MAX_ENTRIES = 1_000
"""Entries of any object or array that holds more than numbers (metrics, settings, packages, files)."""
MAX_NUMBERS = 1_000_000
"""Entries of an object or array of numbers only: per-item values and per-pair predictions."""
MAX_CONTAINERS = 200_000
"""Objects and arrays in one file (5,000 task results hold about 85,000): 46 MB of ``[]`` would
otherwise be 23 million lists in memory. Counted on the bytes before parsing, as ``{`` and ``[``."""
MAX_SEPARATORS = 4_000_000
"""Commas in one file, a bound on its values counted before parsing (a valid 49 MB file has 1.8 million)."""


def read_bounded(path: Path, where: str, limit: int = MAX_FILE_BYTES, what: str = "a results file") -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit``; never blocks on a FIFO.

    Every untrusted file is read through here (results files, TREC runs with their own ``limit``,
    published score files); ``what`` names the kind of file a directory was mistaken for.

    ``O_NONBLOCK`` makes opening a FIFO return at once (with no writer it would wait forever);
    ``fstat`` of the opened descriptor then refuses anything but a regular file, so a symlink
    swapped between a check and the open changes nothing.

    Raises:
        InputError: no such file, not a regular file, unreadable, or larger than the limit.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(where, "(file)", "no such file") from None
    except IsADirectoryError:
        raise InputError(where, "(file)", f"is a directory, not {what}") from None
    except OSError as error:
        raise InputError(where, "(file)", error.strerror or str(error)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(where, "(file)", f"is a directory, not {what}")
        if not stat.S_ISREG(mode):
            raise InputError(where, "(file)", f"is {_kind(mode)}, not a regular file")
        if os.fstat(fd).st_size > limit:
            raise InputError(where, "(file)", f"larger than {limit // 2**20} MB")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as error:
        raise InputError(where, "(file)", error.strerror or str(error)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputError(where, "(file)", f"larger than {limit // 2**20} MB")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def prescan_problem(data: bytes) -> str | None:
    """Why the bytes hold too many values to parse at all, or None.

    Counted at C speed before parsing: an upper bound (a bracket or comma inside a string counts too).
    """
    containers = data.count(b"{") + data.count(b"[")
    if containers > MAX_CONTAINERS:
        return f"holds {containers:,} objects and arrays (at most {MAX_CONTAINERS:,})"
    separators = data.count(b",")
    if separators > MAX_SEPARATORS:
        return f"holds {separators:,} values (at most {MAX_SEPARATORS:,})"
    return None


class DuplicateKey(ValueError):
    """A key twice in one JSON object: the parser keeps the last value, so the first would go unchecked."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``'s ``object_pairs_hook``: the object, or ``DuplicateKey``."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return found


def text_problem(text: str, limit: int = MAX_TEXT_CHARS) -> str | None:
    """Why ``text`` breaks the text policy (printable, at most ``limit`` characters, NFC), or None."""
    if len(text) > limit:
        return f"is {len(text):,} characters long (at most {limit:,})"
    if text.isascii():
        if text.isprintable():
            return None
    else:
        for char in text:
            if not char.isprintable():
                return f"holds the unprintable character {codepoint(char)}"
        if not unicodedata.is_normalized("NFC", text):
            return "is not in Unicode normal form NFC"
        return None
    for char in text:
        if not char.isprintable():
            return f"holds the unprintable character {codepoint(char)}"
    return None


def codepoint(char: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``: how a refused character is named."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


class RefusedNumber:
    """A number the file may not hold (NaN, Infinity, 1e400, 10**30), kept until its location is known."""

    def __init__(self, literal: str, message: str) -> None:
        self.literal = literal if len(literal) <= 24 else f"{literal[:20]}...({len(literal)} characters)"
        self.message = message


def _numbers_only(values: Any) -> bool:
    """Every value a plain int or float (a ``RefusedNumber`` or a bool is neither); fast for millions."""
    return set(map(type, values)) <= {int, float}


def _plain_keys(mapping: dict[str, Any]) -> bool:
    """Every key printable ASCII within the length limit, checked at C speed (per-item ids)."""
    if not mapping:
        return True
    joined = "".join(mapping)
    return joined.isascii() and joined.isprintable() and max(map(len, mapping)) <= MAX_TEXT_CHARS


def first_violation(document: Any) -> tuple[tuple[int | str, ...], str] | None:
    """Where the first (in document order) value outside the limits or the text policy sits, and why.

    A ``RefusedNumber`` (the parser's stand-in for NaN, 1e400, 10**30) is reported with its message.
    """
    stack: list[tuple[Any, tuple[int | str, ...], int]] = [(document, (), 1)]
    while stack:
        item, loc, depth = stack.pop()
        if depth > MAX_NESTING:
            return loc, f"nested deeper than {MAX_NESTING} levels"
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return loc, problem
        elif isinstance(item, RefusedNumber):
            return loc, f"{item.message}, not {item.literal}"
        elif isinstance(item, dict):
            problem = _size_problem(loc, item.values(), len(item))
            if problem is not None:
                return loc, problem
            if not _plain_keys(item):
                for key in item:
                    problem = text_problem(key)
                    if problem is not None:
                        return (*loc, key[:40]), f"the key {problem}"
            if not _numbers_only(item.values()):
                stack.extend((child, (*loc, key), depth + 1) for key, child in reversed(item.items()))
            elif item and depth + 1 > MAX_NESTING:  # per-item values: only their depth to check
                return (*loc, next(iter(item))[:40]), f"nested deeper than {MAX_NESTING} levels"
        elif isinstance(item, list):
            problem = _size_problem(loc, item, len(item))
            if problem is not None:
                return loc, problem
            if not _numbers_only(item):
                children = reversed(list(enumerate(item)))
                stack.extend((child, (*loc, index), depth + 1) for index, child in children)
            elif item and depth + 1 > MAX_NESTING:
                return (*loc, 0), f"nested deeper than {MAX_NESTING} levels"
    return None


def _size_problem(loc: tuple[int | str, ...], values: Any, size: int) -> str | None:
    if loc == ("results",):
        return f"holds {size:,} task results (at most {MAX_TASKS:,})" if size > MAX_TASKS else None
    if size <= MAX_ENTRIES:
        return None
    if size > MAX_NUMBERS:
        return f"holds {size:,} entries (at most {MAX_NUMBERS:,})"
    if not _numbers_only(values):
        return f"holds {size:,} entries (at most {MAX_ENTRIES:,} unless they are all numbers)"
    return None


def location(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a field path: ``results[0].metrics.ndcg@10``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _constant(literal: str) -> RefusedNumber:
    return RefusedNumber(literal, "Input should be a finite number")


def _float(literal: str) -> float | RefusedNumber:
    value = float(literal)
    return value if math.isfinite(value) else _constant(literal)


def _int(literal: str) -> int | RefusedNumber:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        return RefusedNumber(literal, f"integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(literal)


def untrusted_text(data: bytes, where: str) -> str:
    """Untrusted bytes as text, before any parser sees them: UTF-8 only, counts pre-scanned.

    Raises:
        InputError: not UTF-8, or more objects, arrays or strings than ``prescan_problem`` allows.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(where, "(file)", f"not UTF-8 (byte {error.start})") from None
    too_many = prescan_problem(data)
    if too_many is not None:
        raise InputError(where, "(file)", too_many)
    return text


def parse_untrusted_json(data: bytes, where: str) -> dict[str, Any]:
    """Untrusted JSON bytes -> an object within the limits and the text policy, or one ``InputError``.

    Every JSON document from outside is parsed here (results files, published score files): UTF-8
    only, counts pre-scanned before parsing (``prescan_problem``), NaN, Infinity, 1e400 and integers
    over ``MAX_INTEGER_DIGITS`` refused with their location, duplicate keys refused (the parser would
    keep the last and leave the first unchecked), then ``first_violation`` over the whole tree.
    """
    text = untrusted_text(data, where)
    try:
        document = json.loads(
            text, parse_constant=_constant, parse_float=_float, parse_int=_int, object_pairs_hook=unique_keys
        )
    except DuplicateKey as duplicate:
        key = duplicate.key if len(duplicate.key) <= 40 else duplicate.key[:40] + "..."
        raise InputError(where, "(file)", f"the key {key!r} appears twice in one object") from None
    except RecursionError:
        raise InputError(where, "(file)", "JSON nested too deeply") from None
    except ValueError as error:
        raise InputError(where, "(file)", f"not valid JSON: {error}") from None
    del text  # a 50 MB file: its text, its tree and its model are never all held at once
    return check_document(document, where)


def check_document(document: Any, where: str) -> dict[str, Any]:
    """A parsed document (JSON, or YAML reduced to JSON values), once it is within the text policy.

    It must be an object, and ``first_violation`` must find nothing in it (limits, text, numbers).
    """
    if not isinstance(document, dict):
        raise InputError(where, "(document)", "must be a JSON object")
    bad = first_violation(document)
    if bad is not None:
        loc, message = bad
        raise InputError(where, location(loc), message)
    return document
