"""Fast, line-exact reading and atomic writing of CSV files with a header and a known schema.

pyarrow parses the whole file in C++ with the column types of model.py; if it rejects the file, the file is
scanned again with Python's csv module to name the first bad line and field.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from centinela.errors import InputError
from centinela.io._common import atomic_write_bytes, first_failing_line, lines_to_bytes, require_columns

_ARROW_TYPES = {"float64": pa.float64(), "string": pa.string(), "bool": pa.bool_(), "boolean": pa.bool_(),
                "int64": pa.int64()}
_TRUE = {"1", "true", "True", "TRUE"}
_FALSE = {"0", "false", "False", "FALSE"}


def read_csv_table(path: str | Path, columns: dict[str, str], required: list[str]
                   ) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a headed CSV into a frame holding every column of ``columns`` (missing optional ones null) plus any
    extra columns of the file (as strings), and the 1-based line of each row.

    Raises InputError when the file is missing, a required column is absent from the header, a row has the
    wrong number of fields (e.g. a truncated last line), or a value has the wrong type.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    if not data.strip():
        raise InputError(path, f"empty file; expected a header line with {', '.join(columns)}", line=1)
    header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")]))
    header = [h.strip() for h in header]
    for name in required:
        if name not in header:
            raise InputError(path, f"missing column {name!r} in the header; expected {', '.join(columns)}",
                             line=1, field=name)
    types = {name: _ARROW_TYPES[dtype] for name, dtype in columns.items() if name in header}
    types.update({h: pa.string() for h in header if h not in columns})
    convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True, null_values=[""],
                                   quoted_strings_can_be_null=False)
    read = pacsv.ReadOptions(column_names=header, skip_rows=1)

    def parse(data: bytes) -> pa.Table:
        return pacsv.read_csv(io.BytesIO(data), read, convert_options=convert)

    try:
        table = parse(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        _explain(path, data, header, columns)
        # The csv module found nothing wrong: bisect on physical lines to name the culprit for pyarrow.
        lines = data.splitlines(keepends=True)
        k = first_failing_line(lines[1:], lambda rows: parse(lines[0] + rows)) + 1
        raise InputError(path, f"could not be read as CSV: {e}", line=k + 1) from None
    df = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    for name, dtype in columns.items():
        if name not in df.columns:
            df[name] = pd.Series(index=df.index, dtype=dtype)
        elif dtype in ("bool", "boolean", "int64"):
            df[name] = df[name].astype("boolean" if dtype != "int64" else "Int64")
    df.columns = [c.strip() for c in df.columns]
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if len(df) == n_lines - 1:
        line_of_row = np.arange(2, len(df) + 2, dtype=np.int64)
    else:  # blank lines or quoted newlines: count the way csv does
        line_of_row = _row_lines(data)
    return df, line_of_row


def _row_lines(data: bytes) -> np.ndarray:
    reader = csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline=""))
    next(reader, None)
    lines = []
    start = reader.line_num + 1
    for row in reader:
        if row and any(field.strip() for field in row):
            lines.append(start)
        start = reader.line_num + 1
    return np.array(lines, dtype=np.int64)


def _explain(path: Path, data: bytes, header: list[str], columns: dict[str, str]) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(path, f"not UTF-8 text ({e.reason})", line=line) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    start = reader.line_num + 1
    last = text.rstrip("\r\n").count("\n") + 1
    for row in reader:
        line, start = start, reader.line_num + 1
        if not row:
            continue
        if len(row) != len(header):
            cut = " — the line is cut off (truncated file?)" if line == last and not text.endswith("\n") else ""
            raise InputError(path, f"expected {len(header)} fields ({', '.join(header)}), got {len(row)}{cut}",
                             line=line)
        for name, value in zip(header, row, strict=True):
            dtype = columns.get(name)
            if not value or dtype not in ("float64", "int64", "bool", "boolean"):
                continue
            if dtype in ("bool", "boolean"):
                if value not in _TRUE | _FALSE:
                    raise InputError(path, f"expected true or false, got {value[:40]!r}", line=line, field=name)
                continue
            try:
                float(value) if dtype == "float64" else int(value)
            except ValueError:
                what = "a number" if dtype == "float64" else "an integer"
                raise InputError(path, f"expected {what}, got {value[:40]!r}", line=line, field=name) from None


def write_csv_table(df: pd.DataFrame, path: str | Path, columns: dict[str, str], required: list[str],
                    what: str) -> None:
    """Write ``columns`` of ``df`` (those present; required ones must be) as a headed CSV, atomically.

    Nulls become empty fields, booleans ``true``/``false``, floats their shortest exact decimal.
    """
    require_columns(df, required, what)
    names = [c for c in columns if c in df.columns]
    fields = [_csv_text(df[name], columns[name]) for name in names]
    header = (",".join(_quote(name) for name in names) + "\n").encode("utf-8")
    body = b""
    if fields and len(df):
        body = lines_to_bytes(pc.binary_join_element_wise(*fields, ",", null_handling="replace",
                                                          null_replacement=""))
    atomic_write_bytes(path, header + body)


def _csv_text(s: pd.Series, dtype: str) -> pa.Array:
    """One column as CSV text: shortest exact decimals, true/false, strings quoted only when needed."""
    if dtype in ("bool", "boolean"):
        b = s.astype("boolean")
        return pa.array(np.where(b.fillna(False).to_numpy(bool), "true", "false"), mask=b.isna().to_numpy())
    if dtype in ("float64", "int64"):
        values = pd.to_numeric(s, errors="raise")
        if dtype == "int64":
            return pc.cast(pa.array(values.astype("Int64").to_numpy(dtype=object, na_value=None), pa.int64()),
                           pa.string())
        values = values.to_numpy(dtype="float64", na_value=np.nan)
        return pc.cast(pa.array(values, mask=~np.isfinite(values)), pa.string())
    codes, uniques = pd.factorize(s.astype("string"), use_na_sentinel=True)
    quoted = pa.array([_quote(str(u)) for u in uniques] or [""], pa.string())
    return pc.take(quoted, pa.array(codes, mask=codes < 0, type=pa.int64()))


def _quote(text: str) -> str:
    if any(ch in text for ch in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text
