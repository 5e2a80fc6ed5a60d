"""Errors a user can act on. The CLI prints them in one line and exits with code 2."""
from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input: names the file, the line (1-based, when there is one) and the field, and what was expected.

    >>> str(InputError("plots.jsonl", "range_m must be a number, got 'abc'", line=12, field="range_m"))
    "plots.jsonl:12: field 'range_m': range_m must be a number, got 'abc'"
    """

    def __init__(self, path: str | Path, message: str, *, line: int | None = None, field: str | None = None):
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = self.path if line is None else f"{self.path}:{line}"
        what = f" field {field!r}:" if field else ""
        super().__init__(f"{where}:{what} {message}")
