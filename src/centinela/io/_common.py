"""Helpers every reader and writer shares: atomic writes, strict JSON values, and locating a bad row.

Readers parse fast (pyarrow, whole columns at a time) and validate with masks; only when something is wrong
do they look closer to name the exact line — so good files pay nothing for good error messages.
"""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from centinela.errors import InputError

# Plausible epoch window for any recording we may be given: 2000-01-01 .. 2100-01-01 UTC. A time outside is
# almost always a unit mistake (milliseconds, time of day) rather than a real recording.
T_MIN_S = 946_684_800.0
T_MAX_S = 4_102_444_800.0


class InputWarning(UserWarning):
    """Input the reader could repair (e.g. re-sorted times); the message names the file and line."""


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` in one step (os.replace).

    On any exception the temporary file is removed and ``path`` is left as it was, so a reader never sees a
    half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def json_safe(value: Any) -> Any:
    """Convert numpy scalars/arrays, pandas NA and non-finite floats into strict-JSON Python values.

    >>> json_safe({"a": np.float64("nan"), "b": np.int64(3), "c": [np.inf, 1.5], "d": pd.NA})
    {'a': None, 'b': 3, 'c': [None, 1.5], 'd': None}
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
        return [json_safe(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.timestamp()
    return value


# --- vectorised JSON-lines formatting ------------------------------------------------------------------

# Writers format this many rows at a time: bounded memory, and well under the 2 GiB a pyarrow string array
# can hold (a million plot lines is about 130 MB).
WRITE_BATCH_ROWS = 1_000_000

def json_number_fragments(key: str, values: pd.Series) -> pa.Array:
    """``"key": <number>`` for each value; null where the value is NaN/inf/missing (so the key is omitted)."""
    arr = np.asarray(pd.to_numeric(values, errors="raise").astype("float64"), dtype="float64")
    finite = np.isfinite(arr)
    text = pc.cast(pa.array(arr, mask=~finite), pa.string())
    return pc.binary_join_element_wise(f'"{key}": ', text, "")


def json_string_fragments(key: str, values: pd.Series) -> pa.Array:
    """``"key": "<escaped string>"`` for each value; null where missing. Escaping is json.dumps on the
    distinct values only, so it stays fast for millions of rows with few distinct strings."""
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    encoded = pa.array([f'"{key}": {json.dumps(str(u), ensure_ascii=False)}' for u in uniques] or [""], pa.string())
    indices = pa.array(codes, mask=codes < 0, type=pa.int64())
    return pc.take(encoded, indices)


def json_bool_fragments(key: str, values: pd.Series) -> pa.Array:
    """``"key": true|false``; null where missing."""
    b = values.astype("boolean")
    out = np.where(b.fillna(False).to_numpy(dtype=bool), f'"{key}": true', f'"{key}": false')
    return pa.array(out, mask=b.isna().to_numpy(), type=pa.string())


def write_jsonl_frame(df: pd.DataFrame, path: str | Path, columns: dict[str, str], required: list[str],
                      what: str) -> None:
    """Write the scalar ``columns`` of ``df`` as JSON lines (null fields omitted), atomically and vectorised.

    Raises ValueError when a required column is missing or has nulls (the file would not read back).
    """
    require_columns(df, required, what)
    for name in required:
        numeric = columns[name] in ("float64", "int64")
        missing = ~np.isfinite(df[name].to_numpy("float64", na_value=np.nan)) if numeric else df[name].isna()
        if missing.any():
            raise ValueError(f"{what}: column {name!r} has nulls or infinities; every row needs {required}")
    with atomic_open(path, "wb") as f:
        for start in range(0, len(df), WRITE_BATCH_ROWS):
            batch = df.iloc[start:start + WRITE_BATCH_ROWS]
            fragments = []
            for name, dtype in columns.items():
                if name not in batch.columns:
                    continue
                if dtype in ("float64", "int64"):
                    fragments.append(json_number_fragments(name, batch[name]))
                elif dtype in ("bool", "boolean"):
                    fragments.append(json_bool_fragments(name, batch[name]))
                elif dtype == "string":
                    fragments.append(json_string_fragments(name, batch[name]))
            f.write(join_json_lines(fragments))


def join_json_lines(fragments: list[pa.Array]) -> bytes:
    """Join per-column fragments into one ``{...}`` object a line; null fragments are left out."""
    if not fragments or len(fragments[0]) == 0:
        return b""
    body = pc.binary_join_element_wise(*fragments, ", ", null_handling="skip")
    return lines_to_bytes(pc.binary_join_element_wise("{", body, "}", ""))


def lines_to_bytes(lines: pa.Array | pa.ChunkedArray) -> bytes:
    """UTF-8 text of a string array, one element a line, each ending in a newline — taken straight from the
    array's value buffer, without a Python string per line."""
    if len(lines) == 0:
        return b""
    terminated = pc.binary_join_element_wise(lines, "", "\n")  # appends "\n" to each
    if isinstance(terminated, pa.ChunkedArray):
        terminated = terminated.combine_chunks()
    if terminated.null_count:
        raise ValueError("a line is null")
    terminated = terminated.cast(pa.large_string())  # 64-bit offsets: no 2 GiB limit
    offsets = np.frombuffer(terminated.buffers()[1], dtype=np.int64)[terminated.offset:]
    start, end = int(offsets[0]), int(offsets[len(terminated)])
    return terminated.buffers()[2].slice(start, end - start).to_pybytes()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data)


# --- locating problems ----------------------------------------------------------------------------------

class EarliestError:
    """Runs several checks and raises the InputError with the smallest line among those that failed.

    Readers report structural problems (a malformed line, a wrong field count or type) first, and among
    value problems the earliest line — whatever order the vectorised checks run in.

    >>> first = EarliestError()
    >>> with first.check():
    ...     raise InputError("f", "late", line=9)
    >>> with first.check():
    ...     raise InputError("f", "early", line=3)
    >>> first.raise_if_any()
    Traceback (most recent call last):
    ...
    centinela.errors.InputError: f:3: early
    """

    def __init__(self) -> None:
        self.error: InputError | None = None

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except InputError as e:
            if self.error is None or _line_key(e) < _line_key(self.error):
                self.error = e

    def raise_if_any(self) -> None:
        if self.error is not None:
            raise self.error


def _line_key(e: InputError) -> float:
    return math.inf if e.line is None else e.line


def require_columns(df: pd.DataFrame, required: list[str], what: str) -> None:
    """Writers: fail early (ValueError) when a frame lacks columns the file format requires."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: DataFrame lacks required column(s) {missing}")


def first_bad(mask: np.ndarray | pd.Series) -> int | None:
    """Index (position) of the first True in ``mask``, or None."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return None
    return int(np.argmax(mask))


def describe(value: Any) -> str:
    """A short, quoted rendering of a bad value for error messages."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "null"
    text = repr(value.item() if hasattr(value, "item") else value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_range(
    path: str | Path,
    df: pd.DataFrame,
    line_of_row: np.ndarray,
    column: str,
    low: float | None,
    high: float | None,
    *,
    required: bool,
    expected: str,
) -> None:
    """Raise InputError at the first row whose ``column`` is missing (when required), not finite, or outside
    ``[low, high]``. ``line_of_row[i]`` is the 1-based file line of row ``i``."""
    if column not in df.columns:
        if required and len(df):
            raise InputError(path, f"missing required field {column!r}; expected {expected}",
                             line=int(line_of_row[0]), field=column)
        return
    values = df[column].to_numpy(dtype="float64", na_value=np.nan)
    missing = np.isnan(values)
    bad = ~np.isfinite(values)
    if not required:
        bad &= ~missing
    with np.errstate(invalid="ignore"):
        if low is not None:
            bad |= values < low
        if high is not None:
            bad |= values > high
    i = first_bad(bad)
    if i is not None:
        if missing[i]:
            msg = f"missing required field {column!r}; expected {expected}"
        else:
            msg = f"expected {expected}, got {describe(values[i])}"
        raise InputError(path, msg, line=int(line_of_row[i]), field=column)


def check_pattern(
    path: str | Path, df: pd.DataFrame, line_of_row: np.ndarray, column: str, pattern: str, expected: str
) -> None:
    """Raise InputError at the first non-null value of ``column`` that does not fully match ``pattern``."""
    if column not in df.columns:
        return
    s = df[column]
    ok = s.isna() | s.astype("string").str.fullmatch(pattern).fillna(False).astype(bool)
    i = first_bad(~ok.to_numpy(dtype=bool))
    if i is not None:
        raise InputError(path, f"expected {expected}, got {describe(s.iloc[i])}", line=int(line_of_row[i]),
                         field=column)


def check_sorted_per_group(
    path: str | Path, t: np.ndarray, groups: np.ndarray | None, line_of_row: np.ndarray, *, sort: bool
) -> np.ndarray | None:
    """Find the first row whose time is earlier than the previous row of the same group (sensor).

    With ``sort=True`` warn (InputWarning, naming the line) and return the stable order that sorts by time;
    with ``sort=False`` raise InputError at that line. Returns None when already in order.
    """
    n = len(t)
    if n < 2:
        return None
    if groups is None:
        backwards = np.r_[False, np.diff(t) < 0]
    else:
        codes, _ = pd.factorize(groups)
        order = np.argsort(codes, kind="stable")
        ts, cs = t[order], codes[order]
        back_sorted = np.r_[False, (np.diff(ts) < 0) & (cs[1:] == cs[:-1])]
        backwards = np.zeros(n, dtype=bool)
        backwards[order] = back_sorted
    i = first_bad(backwards)
    if i is None:
        return None
    msg = "times must not go backwards (the contract asks for time order per sensor)"
    if not sort:
        raise InputError(path, msg, line=int(line_of_row[i]), field="t")
    warnings.warn(f"{path}:{int(line_of_row[i])}: field 't': {msg}; sorted by time", InputWarning, stacklevel=3)
    return np.argsort(t, kind="stable")


def first_failing_line(lines: list[bytes], parse: Callable[[bytes], object]) -> int:
    """Index of the first line that makes ``parse`` fail, by bisecting on prefixes of ``lines``.

    ``parse(b"".join(lines))`` must fail; each line must parse (or fail) on its own, independently of the
    others, which holds for JSON lines against an explicit schema and for CSV rows with fixed column types.
    About log2(len(lines)) parses, so locating the culprit stays cheap even in a chunk of 200k lines.
    """
    lo, hi = 0, len(lines)  # the prefix of lo lines parses; the prefix of hi lines fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            parse(b"".join(lines[:mid]))
        except Exception:  # noqa: BLE001 - any parser failure means "the culprit is in here"
            hi = mid
        else:
            lo = mid
    return hi - 1


# First guess of a line's length, to size the first block read; later blocks use the measured average.
_GUESS_LINE_BYTES = 120
_BLANK_INSIDE = re.compile(rb"\n[ \t\r]*\n")
_BLANK_FIRST = re.compile(rb"[ \t\r]*\n")


def iter_line_blocks(path: str | Path, chunk_rows: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(data, first_line, n_lines)``: blocks of about ``chunk_rows`` whole lines of the file, read as
    bytes without making a Python object per line. ``first_line`` is the 1-based number of the block's
    first line. Raises InputError if the file does not exist."""
    if not Path(path).is_file():
        raise InputError(path, "file not found")
    with open(path, "rb") as f:
        carry, first_line, line_bytes = b"", 1, _GUESS_LINE_BYTES
        while True:
            more = f.read(max(1, chunk_rows * line_bytes - len(carry)))
            data = carry + more
            if not more:  # end of file: whatever is left is the last line (perhaps without its newline)
                if data:
                    yield data, first_line, data.count(b"\n") + (not data.endswith(b"\n"))
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no complete line yet: read on
                carry = data
                continue
            data, carry = data[:cut], data[cut:]
            n_lines = data.count(b"\n")
            line_bytes = max(1, len(data) // n_lines)
            yield data, first_line, n_lines
            first_line += n_lines


def split_lines(data: bytes) -> list[bytes]:
    """The lines of ``data``, each with its ``\\n`` (the last may lack one). Only ``\\n`` ends a line."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    return lines


def has_blank_line(data: bytes) -> bool:
    """Whether ``data`` has an empty or whitespace-only line (C-speed scans, no per-line objects)."""
    if _BLANK_FIRST.match(data) or _BLANK_INSIDE.search(data):
        return True
    last = data[data.rfind(b"\n") + 1:]
    return bool(last) and last.isspace()


def is_blank(data: bytes) -> bool:
    return not data or data.isspace()


def nonblank_line_numbers(lines: list[bytes], first_line: int) -> np.ndarray:
    """1-based line numbers of the non-blank lines in ``lines`` (which start at ``first_line``)."""
    return np.array([first_line + k for k, raw in enumerate(lines) if raw.strip()], dtype=np.int64)


def sorted_by_time(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` in time order (stable, so equal times keep file order); unchanged when already sorted."""
    t = df["t"].to_numpy()
    if len(t) > 1 and (np.diff(t) < 0).any():
        return df.iloc[np.argsort(t, kind="stable")].reset_index(drop=True)
    return df
