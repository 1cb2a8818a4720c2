"""User-facing errors. Anything else that escapes is a bug and keeps its traceback.

``InputError`` carries the file (or argument) and the field that is wrong, so the CLI can print
one line, ``FILE: field: message``, and exit with status 2.
"""

from __future__ import annotations


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
