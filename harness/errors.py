"""User-facing errors. Anything else that escapes is a bug and keeps its traceback.

``InputError`` carries the file (or argument) and the field that is wrong, so the CLI can print
one line, ``FILE: field: message``, and exit with status 2.
"""

from __future__ import annotations


class HarnessError(Exception):
    """An error caused by the user's input or environment, reported as one line (exit 2)."""


class InputError(HarnessError):
    """Bad input: names where (a file or an argument) and which field."""

    def __init__(self, where: str, field: str, message: str) -> None:
        self.where = where
        self.field = field
        self.message = message
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")
