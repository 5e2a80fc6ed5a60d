r"""TOML files of ``[[table]]`` arrays (``sensors.toml``, ``units.toml``): reading with errors that name the line,
and finding the line of a table's field for later validation errors.

>>> doc, lines = parse_toml_tables("date = 1\n[[unit]]\nunit_id = 'A'\nkind = 'police'\n", "units.toml",
...                                table="unit")
>>> doc["unit"][0]["kind"], lines.field(0, "kind"), lines.top("date")
('police', 4, 1)
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from centinela.errors import InputError


def parse_toml_tables(text: str, path: str | Path, *, table: str) -> tuple[dict, TableLines]:
    """Parse TOML ``text`` (read from ``path``, named in errors) and map its ``[[table]]`` entries to lines."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        raise InputError(Path(path), f"not valid TOML: {e}", line=int(m.group(1)) if m else None) from None
    return doc, TableLines(text, table)


def read_toml_tables(path: str | Path, *, table: str, missing: str) -> tuple[dict, TableLines]:
    """Read and parse a TOML file of ``[[table]]`` arrays; ``missing`` says what the file should have been."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, f"file not found; {missing}") from None
    except UnicodeDecodeError as e:
        raise InputError(path, f"not UTF-8 text ({e.reason})") from None
    return parse_toml_tables(text, path, table=table)


class TableLines:
    """Maps the k-th ``[[table]]`` entry and a field to its 1-based line in the TOML text, for error messages."""

    def __init__(self, text: str, table: str):
        header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
        self.lines = text.splitlines()
        self.headers = [i for i, line in enumerate(self.lines) if header.match(line)]

    def top(self, key: str) -> int | None:
        """The line of a top-level key (before the first table)."""
        return self._find(key, 0, self.headers[0] if self.headers else len(self.lines))

    def field(self, k: int, key: str) -> int | None:
        """The line of ``key`` in the k-th table, or the table's first line when the key is missing."""
        if k >= len(self.headers):
            return None
        start = self.headers[k]
        end = self.headers[k + 1] if k + 1 < len(self.headers) else len(self.lines)
        return self._find(key, start + 1, end) or start + 1

    def _find(self, key: str, start: int, end: int) -> int | None:
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i in range(start, end):
            if pattern.match(self.lines[i]):
                return i + 1
        return None
