"""User-facing errors. Anything else that escapes is a bug and keeps its traceback.

Library code names *what* is wrong in its own terms and leaves the wording of *where* to its
caller: ``SettingError`` names a run setting (``data_root``, ``datasets`` ...), which the CLI maps
to its flag (``--data-dir``) and ``submit`` to a field of the file; ``FieldError`` names a field of a
record (``metrics.spearman``), which ``submit`` places inside the file (``results[2].metrics...``).
``InputError`` is the finished form, one line ``FILE: field: message``; the CLI prints it and
exits with status 2.
"""

from __future__ import annotations

from typing import Literal

Setting = Literal[
    "suite",
    "datasets",
    "split",
    "model",
    "revision",
    "device",
    "data_root",
    "cache_dir",
    "db",
    "digest",
    "submissions_dir",
    "layers",
    "dims",
    "grid",
    "lm_path",
    "engine",
]
"""The run settings library code may blame; each has a CLI flag (``cli.FLAGS``)."""


class HarnessError(Exception):
    """An error caused by the user's input or environment, reported as one line (exit 2)."""


def printable(text: str) -> str:
    """``text`` with control, format and unpaired surrogate characters (and line breaks) escaped.

    An error names fields and values taken from untrusted files; escaping keeps it one printable line.
    """
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape", "backslashreplace").decode()
        for char in text
    )


class InputError(HarnessError):
    """Bad input: names where (a file or an argument) and which field, as one printable line."""

    def __init__(self, where: str, field: str, message: str) -> None:
        self.where, self.field, self.message = printable(where), printable(field), printable(message)
        text = f"{self.where}: {self.field}: {self.message}" if field else f"{self.where}: {self.message}"
        super().__init__(text)


class SettingError(HarnessError):
    """A run setting is wrong (an unknown suite, a data root that is not a folder ...)."""

    def __init__(self, setting: Setting, message: str) -> None:
        self.setting: Setting = setting
        self.message = printable(message)
        super().__init__(f"{setting}: {self.message}")


class FieldError(HarnessError):
    """A field of a record is wrong; ``field`` is a dotted path relative to the record checked."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = printable(field), printable(message)
        super().__init__(f"{self.field}: {self.message}")


class DataNotFound(HarnessError):
    """A dataset is not under the data root; the message says where to put it."""

    def __init__(self, dataset: str, message: str) -> None:
        self.dataset = dataset
        super().__init__(f"{dataset}: {printable(message)}")
