"""Fast, line-exact reading of JSON-lines files with a known schema.

Each chunk of lines is parsed by pyarrow in C++ against an explicit schema (fields not in the schema are
ignored). If pyarrow rejects a chunk, the chunk is scanned again line by line with Python's json module
to name the first bad line and field; good files never pay for that.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pj

from centinela.errors import InputError
from centinela.io._common import (
    first_failing_line,
    has_blank_line,
    is_blank,
    iter_line_blocks,
    nonblank_line_numbers,
    split_lines,
)

_ARROW_TYPES = {"float64": pa.float64(), "string": pa.string(), "bool": pa.bool_(), "boolean": pa.bool_(),
                "int64": pa.int64()}
_NULL_FIRST = re.compile(rb"[ \t\r]*null[ \t\r]*(?:\n|\Z)")
_NULL_INSIDE = re.compile(rb"\n[ \t\r]*null[ \t\r]*(?:\n|\Z)")
_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON "\\ud800" escapes that pair with nothing
_EXPECTED = {"float64": "a number", "string": "a string", "bool": "true or false", "boolean": "true or false",
             "int64": "an integer"}


def arrow_schema(columns: dict[str, str]) -> pa.Schema:
    """The pyarrow schema of the scalar columns of a model.py column table (object columns are skipped)."""
    return pa.schema([(name, _ARROW_TYPES[dtype]) for name, dtype in columns.items() if dtype in _ARROW_TYPES])


def iter_jsonl_chunks(path: str | Path, columns: dict[str, str], chunk_rows: int = 200_000
                      ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Yield ``(frame, line_of_row)`` per chunk of about ``chunk_rows`` lines, in file order.

    ``frame`` has every scalar column of ``columns`` (nulls where a line omits a field), with model.py
    dtypes; ``line_of_row`` holds each row's 1-based line number. Blank lines are skipped. Raises InputError
    for a line that is not a JSON object or has a field of the wrong type.
    """
    path = Path(path)
    options = pj.ParseOptions(explicit_schema=arrow_schema(columns), unexpected_field_behavior="ignore")

    def parse(data: bytes) -> pa.Table | None:
        if is_blank(data):
            return None
        # A bare `null` line crashes pyarrow 26 (segfault) when it starts a block, and elsewhere reads as a
        # row of nulls; it is not a JSON object, so refuse it before pyarrow sees it.
        if b"null" in data and (_NULL_FIRST.match(data) or _NULL_INSIDE.search(data)):
            raise ValueError("a line holds null, not an object")
        return pj.read_json(io.BytesIO(data), parse_options=options)

    for data, first_line, n_lines in iter_line_blocks(path, chunk_rows):
        try:
            table = parse(data)
        except ValueError as e:  # pa.ArrowInvalid is a ValueError
            lines = split_lines(data)
            k = first_failing_line(lines, parse)
            _explain_line(path, lines[k], first_line + k, columns, last=k == len(lines) - 1)
            raise InputError(path, f"could not be read as JSON: {e}", line=first_line + k) from None
        if table is None or table.num_rows == 0:
            continue
        if table.num_rows == n_lines and not has_blank_line(data):
            line_of_row = np.arange(first_line, first_line + n_lines, dtype=np.int64)
        else:
            lines = split_lines(data)
            line_of_row = nonblank_line_numbers(lines, first_line)
            if len(line_of_row) != table.num_rows:  # pyarrow took two objects on one line
                for k, raw in enumerate(lines):
                    _explain_line(path, raw, first_line + k, columns, last=k == len(lines) - 1)
                raise InputError(path, "expected one JSON object a line", line=first_line)
        yield _to_frame(table, columns), line_of_row


def _to_frame(table: pa.Table, columns: dict[str, str]) -> pd.DataFrame:
    df = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    for name, dtype in columns.items():
        if dtype in ("bool", "boolean") and name in df.columns:
            df[name] = df[name].astype("boolean")
    return df


def _explain_line(path: Path, raw: bytes, line: int, columns: dict[str, str], *, last: bool) -> None:
    """Raise InputError if ``raw`` is not one JSON object whose known fields have the right types."""
    if not raw.strip():
        return
    truncated = last and not raw.endswith(b"\n")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(path, f"not UTF-8 text ({e.reason} at byte {e.start})", line=line) from None
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as e:
        raise InputError(path, f"field {e.key!r} appears twice in one line", line=line, field=e.key) from None
    except json.JSONDecodeError as e:
        why = "the line is cut off (truncated file?)" if truncated else "malformed JSON"
        raise InputError(path, f"{why}: {e.msg} at column {e.colno}; expected one JSON object a line",
                         line=line) from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply", line=line) from None
    if not isinstance(obj, dict):
        raise InputError(path, f"expected a JSON object {{...}}, got {json.dumps(obj)[:40]}", line=line)
    for name, dtype in columns.items():
        value = obj.get(name)
        if value is None or dtype not in _EXPECTED:
            continue
        if not _has_type(value, dtype):
            raise InputError(path, f"expected {_EXPECTED[dtype]}, got {json.dumps(value)[:40]}",
                             line=line, field=name)
        if isinstance(value, str) and _SURROGATE.search(value):
            raise InputError(path, f"expected valid Unicode text, got a lone surrogate in {json.dumps(value)[:40]}",
                             line=line, field=name)


def _has_type(value: object, dtype: str) -> bool:
    if dtype == "float64":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1.8e308
    if dtype == "int64":
        return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    if dtype == "string":
        return isinstance(value, str)
    return isinstance(value, bool)


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out
