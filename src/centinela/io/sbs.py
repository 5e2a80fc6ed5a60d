"""``adsb.sbs``: ADS-B in the SBS-1 BaseStation text format (port 30003 of dump1090/readsb), read into
ADSB_COLUMNS in SI units and written back.

A line is 22 comma-separated fields: ``MSG, transmission type, session id, aircraft id, hex ident, flight
id, date generated, time generated, date logged, time logged, callsign, altitude (ft), ground speed (kt),
track (deg), lat, lon, vertical rate (ft/min), squawk, alert, emergency, SPI, on ground``. On ground is true
when ``-1`` or ``1``. Dates and times (``YYYY/MM/DD``, ``HH:MM:SS.fff``) are read as UTC; the generated
pair is used, the logged pair when it is empty. Other BaseStation record types (SEL, ID, AIR, STA, CLK) are
skipped. ADS-B has no order requirement in the contract: rows are returned sorted by time.

>>> import tempfile, pathlib, pandas as pd
>>> p = pathlib.Path(tempfile.mkdtemp()) / "adsb.sbs"
>>> write_sbs(pd.DataFrame({"t": [1780310700.5], "icao24": ["e8044e"], "msg_type": [3],
...                         "alt_m": [3048.0], "lat": [-12.5], "lon": [-73.9], "on_ground": [False]}), p)
>>> print(p.read_text(), end="")
MSG,3,111,11111,E8044E,111111,2026/06/01,10:45:00.500,2026/06/01,10:45:00.500,,10000,,,-12.5,-73.9,,,,,,0
>>> df = read_sbs(p)
>>> round(float(df.alt_m[0]), 1), df.icao24[0], bool(df.on_ground[0])
(3048.0, 'e8044e', False)
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from centinela.errors import InputError
from centinela.io._common import (
    T_MAX_S,
    T_MIN_S,
    WRITE_BATCH_ROWS,
    EarliestError,
    atomic_open,
    describe,
    first_bad,
    first_failing_line,
    iter_line_blocks,
    lines_to_bytes,
    require_columns,
    sorted_by_time,
    split_lines,
)
from centinela.model import ADSB_COLUMNS, empty_frame

FT_M = 0.3048  # international foot
KT_MPS = 1852.0 / 3600.0  # knot
FPM_MPS = FT_M / 60.0  # foot per minute

SBS_FIELDS = [
    "record", "msg_type", "session_id", "aircraft_id", "hex_ident", "flight_id", "date_gen", "time_gen",
    "date_log", "time_log", "callsign", "altitude_ft", "ground_speed_kt", "track_deg", "lat", "lon",
    "vertical_rate_fpm", "squawk", "alert", "emergency", "spi", "is_on_ground",
]
_NUMERIC = {"altitude_ft", "ground_speed_kt", "track_deg", "lat", "lon", "vertical_rate_fpm"}
# Record types of the BaseStation protocol besides MSG; they carry no ADS-B data and are skipped.
OTHER_RECORDS = {"SEL", "ID", "AIR", "STA", "CLK"}
# Plausibility limits: ADS-B encodes altitude -1000..126,750 ft, airborne velocity up to ~4000 kt (the
# supersonic encoding) and vertical rate up to +-32,608 ft/min.
ALT_FT_RANGE = (-1_000.0, 127_000.0)
GS_KT_MAX = 4_100.0
VR_FPM_MAX = 33_000.0
ICAO24_PATTERN = r"~?[0-9a-fA-F]{6}"  # "~" marks a non-ICAO (TIS-B/anonymous) address in dump1090/readsb
SQUAWK_PATTERN = r"[0-7]{4}"
_TIME_PATTERN = r"\d{1,2}:\d{2}:\d{2}(\.\d+)?"
_DATE_PATTERN = r"\d{4}/\d{1,2}/\d{1,2}"

_TWO = pa.array([f"{i:02d}" for i in range(100)])
_THREE = pa.array([f"{i:03d}" for i in range(1000)])


# --- writing --------------------------------------------------------------------------------------------

def write_sbs(df: pd.DataFrame, path: str | Path) -> None:
    """Write ADSB_COLUMNS rows (in the frame's order) as SBS-1 MSG lines, atomically.

    Units are converted to the format's (ft, kt, ft/min); times are written to the millisecond (UTC),
    altitude and vertical rate as whole feet, speed and track to 0.1, positions to 1e-5 degree (as
    dump1090 does). Each row writes the fields it has; null fields are left empty. Raises ValueError if
    t, icao24 or msg_type is null, or a text field holds a comma or newline.
    """
    require_columns(df, ["t", "icao24", "msg_type"], "adsb")
    if df["t"].isna().any() or df["icao24"].isna().any() or df["msg_type"].isna().any():
        raise ValueError("adsb: t, icao24 and msg_type must not be null")
    for name in ("icao24", "callsign", "squawk"):
        if name in df.columns and df[name].astype("string").str.contains(r"[,\r\n]").fillna(False).any():
            raise ValueError(f"adsb: column {name!r} holds a comma or newline, which SBS cannot carry")
    with atomic_open(path, "wb") as f:
        for start in range(0, len(df), WRITE_BATCH_ROWS):
            f.write(_sbs_lines(df.iloc[start:start + WRITE_BATCH_ROWS]))


def _sbs_lines(df: pd.DataFrame) -> bytes:
    """SBS text of a batch of ADSB_COLUMNS rows, built column by column in pyarrow."""

    def col(name: str) -> pd.Series:
        if name in df.columns:
            return df[name]
        return pd.Series(index=df.index, dtype=ADSB_COLUMNS[name])  # all null

    def text(name: str) -> pa.Array:
        return pa.array(col(name).astype("string"), pa.string())

    def number(name: str, scale: float, ndigits: int) -> pa.Array:
        values = col(name).to_numpy(dtype="float64", na_value=np.nan) / scale
        rounded = pa.array(np.round(values, ndigits), mask=~np.isfinite(values))
        return pc.cast(pc.cast(rounded, pa.int64()) if ndigits == 0 else rounded, pa.string())

    ground = col("on_ground").astype("boolean")
    on_ground = pa.array(np.where(ground.fillna(False).to_numpy(bool), "-1", "0"), mask=ground.isna().to_numpy())
    date_text, time_text = _format_times(df["t"].to_numpy(dtype="float64"))
    msg_type = pc.cast(pa.array(col("msg_type").to_numpy(dtype="int64")), pa.string())
    icao = pc.utf8_upper(text("icao24"))
    empty = pa.scalar(None, pa.string())
    # Session, aircraft and flight ids (fields 3, 4, 6) are written as dump1090 does: 111, 11111, 111111.
    fields = [
        "MSG", msg_type, "111", "11111", icao, "111111", date_text, time_text, date_text, time_text,
        text("callsign"), number("alt_m", FT_M, 0), number("gs_mps", KT_MPS, 1), number("track_deg", 1.0, 1),
        number("lat", 1.0, 5), number("lon", 1.0, 5), number("vr_mps", FPM_MPS, 0), text("squawk"),
        empty, empty, empty, on_ground,
    ]
    lines = pc.binary_join_element_wise(*fields, ",", null_handling="replace", null_replacement="")
    return lines_to_bytes(lines)


def _format_times(t: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Epoch seconds to SBS ``YYYY/MM/DD`` and ``HH:MM:SS.fff`` (UTC), rounded to the millisecond."""
    ms = np.round(t * 1000.0).astype(np.int64)
    day, tod = np.divmod(ms, 86_400_000)
    days, inverse = np.unique(day, return_inverse=True)
    day_text = pa.array([datetime.fromtimestamp(int(d) * 86_400, UTC).strftime("%Y/%m/%d") for d in days])
    date_text = pc.take(day_text, pa.array(inverse.ravel()))
    hh, rest = np.divmod(tod, 3_600_000)
    mm, rest = np.divmod(rest, 60_000)
    ss, msec = np.divmod(rest, 1_000)
    hms = pc.binary_join_element_wise(pc.take(_TWO, hh), pc.take(_TWO, mm), pc.take(_TWO, ss), ":")
    return date_text, pc.binary_join_element_wise(hms, pc.take(_THREE, msec), ".")


# --- reading --------------------------------------------------------------------------------------------

def read_sbs(path: str | Path) -> pd.DataFrame:
    """Read and validate an SBS file into ADSB_COLUMNS (SI units), sorted by time (stable).

    Raises InputError naming the line and field of the first problem.
    """
    frames = list(iter_sbs(path))
    if not frames:
        return empty_frame(ADSB_COLUMNS)
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return sorted_by_time(df)


def iter_sbs(path: str | Path, chunk_rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """Yield validated ADSB_COLUMNS frames in file order, about ``chunk_rows`` lines at a time."""
    for data, first_line, n_lines in iter_line_blocks(path, chunk_rows):
        df = _parse_block(Path(path), data, first_line, n_lines)
        if df is not None:
            yield df


def parse_sbs_bytes(data: bytes, name: str = "<sbs stream>", *, skip_bad_lines: bool = False
                    ) -> tuple[pd.DataFrame, list[InputError]]:
    """Parse SBS text held in memory (e.g. lines from a port-30003 socket) into ADSB_COLUMNS, in input order.

    With ``skip_bad_lines`` a bad line is dropped and its InputError returned in the list instead of
    raised (each bad line costs one re-parse of ``data``, so keep batches small); ``name`` stands for the
    file in error messages.

    >>> df, errors = parse_sbs_bytes(b"MSG,4,,,E8044E,,2026/06/01,10:45:00.000,,,,,100,90,,,0,,,,,\\nnot sbs\\n",
    ...                              skip_bad_lines=True)
    >>> round(float(df.gs_mps[0]), 2), [e.line for e in errors]
    (51.44, [2])
    """
    lines = split_lines(data)
    line_numbers = np.arange(1, len(lines) + 1)
    errors: list[InputError] = []
    while True:
        try:
            df = _parse_block(name, b"".join(lines), 1, len(lines))
            break
        except InputError as e:
            if not skip_bad_lines or e.line is None:
                raise
            k = e.line - 1  # numbered within what is left of ``lines``: map back to the input's numbering
            errors.append(InputError(e.path, e.message, line=int(line_numbers[k]), field=e.field))
            del lines[k]
            line_numbers = np.delete(line_numbers, k)
    errors.sort(key=lambda e: e.line)
    return (df if df is not None else empty_frame(ADSB_COLUMNS)), errors


_READ_OPTIONS = pacsv.ReadOptions(column_names=SBS_FIELDS)
_PARSE_OPTIONS = pacsv.ParseOptions(quote_char=False)
_CONVERT_OPTIONS = pacsv.ConvertOptions(
    column_types={name: (pa.float64() if name in _NUMERIC else pa.string()) for name in SBS_FIELDS},
    strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=True)


def _parse_csv(data: bytes) -> pa.Table:
    return pacsv.read_csv(io.BytesIO(data), _READ_OPTIONS, _PARSE_OPTIONS, _CONVERT_OPTIONS)


def _parse_block(path: Path | str, data: bytes, first_line: int, n_lines: int) -> pd.DataFrame | None:
    """Parse and validate whole lines ``data`` (starting at line ``first_line``); None if no MSG line."""
    last_line = first_line + n_lines - 1
    structural = EarliestError()  # unknown record types, wrong field counts, non-numbers: the earliest
    if data.count(b"\nMSG,") + data.startswith(b"MSG,") == n_lines:  # the usual case: only MSG lines
        msg_data, msg_lines = data, None
        line_of_row = np.arange(first_line, first_line + n_lines, dtype=np.int64)
    else:
        lines = split_lines(data)
        keep = [raw.startswith(b"MSG,") for raw in lines]
        with structural.check():
            _check_other_records(path, lines, keep, first_line)
        idx = np.flatnonzero(keep)
        msg_lines, line_of_row = [lines[i] for i in idx], idx.astype(np.int64) + first_line
        msg_data = b"".join(msg_lines)
    if not line_of_row.size:
        structural.raise_if_any()
        return None
    try:
        table = _parse_csv(msg_data)
    except ValueError as e:  # pa.ArrowInvalid is a ValueError
        msg_lines = msg_lines if msg_lines is not None else split_lines(msg_data)
        k = first_failing_line(msg_lines, _parse_csv)
        line = int(line_of_row[k])
        with structural.check():
            _explain_line(path, msg_lines[k], line, last=line == last_line)
            raise InputError(path, f"could not be read as SBS: {e}", line=line) from None
    structural.raise_if_any()
    return _to_adsb(path, table, line_of_row)


def _check_other_records(path: Path, lines: list[bytes], keep: list[bool], first_line: int) -> None:
    for k, raw in enumerate(lines):
        if keep[k] or not raw.strip():
            continue
        record = raw.split(b",", 1)[0].strip().decode("utf-8", "replace")
        if record not in OTHER_RECORDS:
            cut = " (the line is cut off: truncated file?)" if k == len(lines) - 1 and not raw.endswith(b"\n") else ""
            raise InputError(path, f"unknown SBS record type {record[:20]!r}{cut}; expected MSG (or "
                             f"{', '.join(sorted(OTHER_RECORDS))})", line=first_line + k, field="record")


def _explain_line(path: Path, raw: bytes, line: int, *, last: bool) -> None:
    """Raise InputError if the MSG line ``raw`` has the wrong number of fields or a non-numeric number."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(path, f"not UTF-8 text ({e.reason} at byte {e.start})", line=line) from None
    fields = text.rstrip("\r\n").split(",")
    if len(fields) != len(SBS_FIELDS):
        cut = " — the line is cut off (truncated file?)" if last and not raw.endswith(b"\n") else ""
        raise InputError(path, f"expected {len(SBS_FIELDS)} comma-separated fields, got {len(fields)}{cut}",
                         line=line)
    for name, value in zip(SBS_FIELDS, fields, strict=True):
        if name in _NUMERIC and value.strip():
            try:
                float(value)
            except ValueError:
                raise InputError(path, f"expected a number, got {value[:40]!r}", line=line, field=name) from None


def _to_adsb(path: Path, table: pa.Table, line_of_row: np.ndarray) -> pd.DataFrame:
    """Validate one parsed block (all in pyarrow compute, no Python per row) and convert it to ADSB_COLUMNS."""

    def text(name: str) -> pa.ChunkedArray:  # trimmed, with empty fields as null
        trimmed = pc.utf8_trim_whitespace(table.column(name))
        return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)

    def number(name: str) -> np.ndarray:
        return table.column(name).to_numpy().astype("float64", copy=False)  # nulls become NaN

    def fail_where(bad: pa.ChunkedArray | np.ndarray, field: str, message: str,
                   values: pa.ChunkedArray | None = None) -> None:
        mask = bad.to_numpy(zero_copy_only=False) if isinstance(bad, pa.ChunkedArray) else bad
        i = first_bad(mask)
        if i is not None:
            got = f", got {describe(values[i].as_py())}" if values is not None else ""
            raise InputError(path, message + got, line=int(line_of_row[i]), field=field)

    def fail_unless_match(values: pa.ChunkedArray, pattern: str, field: str, expected: str,
                          required: bool = False) -> None:
        ok = pc.match_substring_regex(values, f"^(?:{pattern})$")
        ok = pc.fill_null(ok, not required)
        fail_where(pc.invert(ok), field, f"expected {expected}", values)

    first = EarliestError()
    msg_type, icao, squawk, ground = text("msg_type"), text("hex_ident"), text("squawk"), text("is_on_ground")
    with first.check():
        fail_unless_match(msg_type, "[1-8]", "msg_type", "a transmission type 1..8", required=True)
    with first.check():
        fail_unless_match(icao, ICAO24_PATTERN, "hex_ident",
                          "the aircraft's ICAO address: six hex digits (optionally prefixed by ~)", required=True)
    with first.check():
        t = _parse_times(path, table, text, line_of_row)
    for name, (low, high), expected in (
            ("altitude_ft", ALT_FT_RANGE, "an altitude in feet, -1000..127000"),
            ("ground_speed_kt", (0.0, GS_KT_MAX), f"a ground speed in knots, 0..{GS_KT_MAX:.0f}"),
            ("track_deg", (0.0, 360.0), "a track in degrees, 0..360"),
            ("lat", (-90.0, 90.0), "a latitude, -90..90"),
            ("lon", (-180.0, 180.0), "a longitude, -180..180"),
            ("vertical_rate_fpm", (-VR_FPM_MAX, VR_FPM_MAX),
             f"a vertical rate in ft/min, -{VR_FPM_MAX:.0f}..{VR_FPM_MAX:.0f}")):
        values = number(name)
        with np.errstate(invalid="ignore"):
            bad = np.isinf(values) | (values < low) | (values > high)
        with first.check():
            i = first_bad(bad)
            if i is not None:
                raise InputError(path, f"expected {expected}, got {describe(values[i])}",
                                 line=int(line_of_row[i]), field=name)
    lat, lon = number("lat"), number("lon")
    with first.check():
        i = first_bad(np.isnan(lat) != np.isnan(lon))
        if i is not None:
            raise InputError(path, "a position needs both lat and lon", line=int(line_of_row[i]),
                             field="lon" if np.isnan(lon[i]) else "lat")
    with first.check():
        fail_unless_match(squawk, SQUAWK_PATTERN, "squawk", "four octal digits")
    with first.check():
        fail_unless_match(ground, "-1|0|1", "is_on_ground", "-1, 0, 1 or empty")
    first.raise_if_any()

    out = pa.table({
        "t": t,
        "icao24": pc.utf8_lower(icao),
        "msg_type": pc.cast(msg_type, pa.int64()),
        "callsign": text("callsign"),
        "alt_m": number("altitude_ft") * FT_M,
        "gs_mps": number("ground_speed_kt") * KT_MPS,
        "track_deg": number("track_deg"),
        "lat": lat,
        "lon": lon,
        "vr_mps": number("vertical_rate_fpm") * FPM_MPS,
        "squawk": squawk,
        "on_ground": pc.not_equal(ground, "0"),  # -1 and 1 both mean on the ground
    })
    return out.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"), pa.bool_(): pd.BooleanDtype()}.get)


def _parse_times(path: Path, table: pa.Table, text, line_of_row: np.ndarray) -> np.ndarray:
    """UTC epoch seconds from the generated date/time fields (the logged ones where those are empty)."""
    date, time = text("date_gen"), text("time_gen")
    use_log = pc.or_(pc.is_null(date), pc.is_null(time))
    if pc.any(use_log).as_py():
        date = pc.if_else(use_log, text("date_log"), date)
        time = pc.if_else(use_log, text("time_log"), time)
    for name, values, pattern, expected in (("date_gen", date, _DATE_PATTERN, "a date YYYY/MM/DD"),
                                            ("time_gen", time, _TIME_PATTERN, "a time HH:MM:SS.fff")):
        ok = pc.fill_null(pc.match_substring_regex(values, f"^(?:{pattern})$"), False).to_numpy(zero_copy_only=False)
        i = first_bad(~ok)
        if i is not None:
            raise InputError(path, f"expected {expected}, got {describe(values[i].as_py())}",
                             line=int(line_of_row[i]), field=name)
    days = pc.unique(date)
    codes = pc.index_in(date, value_set=days).to_numpy(zero_copy_only=False)
    day_s = np.empty(len(days))
    for k, day in enumerate(days.to_pylist()):
        try:
            day_s[k] = datetime.strptime(day, "%Y/%m/%d").replace(tzinfo=UTC).timestamp()
        except ValueError:
            i = int(np.argmax(codes == k))
            raise InputError(path, f"expected a valid date YYYY/MM/DD, got {day!r}", line=int(line_of_row[i]),
                             field="date_gen") from None
    parts = pc.split_pattern(time, ":")
    hh, mm, ss = (pc.cast(pc.list_element(parts, k), pa.float64()).to_numpy(zero_copy_only=False)
                  for k in range(3))
    i = first_bad((hh > 23) | (mm > 59) | (ss >= 61))
    if i is not None:
        raise InputError(path, f"expected a valid time of day HH:MM:SS.fff, got {describe(time[i].as_py())}",
                         line=int(line_of_row[i]), field="time_gen")
    t = day_s[codes] + hh * 3600.0 + mm * 60.0 + ss
    i = first_bad((t < T_MIN_S) | (t > T_MAX_S))
    if i is not None:
        raise InputError(path, f"expected a date between 2000 and 2100, got {describe(date[i].as_py())}",
                         line=int(line_of_row[i]), field="date_gen")
    return t
