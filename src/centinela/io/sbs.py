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
from datetime import datetime, timezone
from itertools import islice
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
    atomic_write_text,
    check_pattern,
    check_range,
    describe,
    first_bad,
    first_failing_line,
    require_columns,
)
from centinela.model import ADSB_COLUMNS, conform, empty_frame

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
    dump1090 does). Each row writes the fields it has; null fields are left empty.
    """
    require_columns(df, ["t", "icao24", "msg_type"], "adsb")
    n = len(df)
    if n == 0:
        atomic_write_text(path, "")
        return
    if df["t"].isna().any() or df["icao24"].isna().any() or df["msg_type"].isna().any():
        raise ValueError("adsb: t, icao24 and msg_type must not be null")
    date_text, time_text = _format_times(df["t"].to_numpy(dtype="float64"))

    def col(name: str) -> pd.Series:
        if name in df.columns:
            return df[name]
        return pd.Series(index=df.index, dtype=ADSB_COLUMNS[name])  # all null

    def text(name: str) -> pa.Array:
        s = col(name).astype("string")
        if s.str.contains(r"[,\r\n]", regex=True).fillna(False).any():
            raise ValueError(f"adsb: column {name!r} holds a comma or newline, which SBS cannot carry")
        return pa.array(s.to_numpy(dtype=object, na_value=None), pa.string())

    def number(name: str, scale: float, ndigits: int) -> pa.Array:
        values = col(name).to_numpy(dtype="float64", na_value=np.nan) / scale
        rounded = pa.array(np.round(values, ndigits), mask=~np.isfinite(values))
        return pc.cast(pc.cast(rounded, pa.int64()) if ndigits == 0 else rounded, pa.string())

    ground = col("on_ground").astype("boolean")
    on_ground = pa.array(np.where(ground.fillna(False).to_numpy(bool), "-1", "0"), mask=ground.isna().to_numpy())
    const = {v: pa.array(np.full(n, v)) for v in ("MSG", "111", "11111", "111111")}
    empty = pa.nulls(n, pa.string())
    fields = [
        const["MSG"], pc.cast(pa.array(col("msg_type").to_numpy(dtype="int64")), pa.string()), const["111"],
        const["11111"], pa.array(col("icao24").astype("string").str.upper().to_numpy(dtype=object)),
        const["111111"], date_text, time_text, date_text, time_text, text("callsign"),
        number("alt_m", FT_M, 0), number("gs_mps", KT_MPS, 1), number("track_deg", 1.0, 1),
        number("lat", 1.0, 5), number("lon", 1.0, 5), number("vr_mps", FPM_MPS, 0), text("squawk"),
        empty, empty, empty, on_ground,
    ]
    lines = pc.binary_join_element_wise(*fields, ",", null_handling="replace", null_replacement="")
    atomic_write_text(path, "\n".join(lines.to_pylist()) + "\n")


def _format_times(t: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Epoch seconds to SBS ``YYYY/MM/DD`` and ``HH:MM:SS.fff`` (UTC), rounded to the millisecond."""
    ms = np.round(t * 1000.0).astype(np.int64)
    day, tod = np.divmod(ms, 86_400_000)
    days, inverse = np.unique(day, return_inverse=True)
    day_text = pa.array([datetime.fromtimestamp(int(d) * 86_400, timezone.utc).strftime("%Y/%m/%d") for d in days])
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
    t = df["t"].to_numpy()
    if len(t) > 1 and (np.diff(t) < 0).any():
        df = df.iloc[np.argsort(t, kind="stable")].reset_index(drop=True)
    return df


def iter_sbs(path: str | Path, chunk_rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """Yield validated ADSB_COLUMNS frames in file order, ``chunk_rows`` lines at a time."""
    path = Path(path)
    column_types = {name: (pa.float64() if name in _NUMERIC else pa.string()) for name in SBS_FIELDS}
    read_options = pacsv.ReadOptions(column_names=SBS_FIELDS)
    parse_options = pacsv.ParseOptions(quote_char=False)
    convert_options = pacsv.ConvertOptions(column_types=column_types, strings_can_be_null=True,
                                           null_values=[""], quoted_strings_can_be_null=True)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    first_line = 1
    with f:
        while True:
            lines = list(islice(f, chunk_rows))
            if not lines:
                return
            keep = [raw.startswith(b"MSG,") for raw in lines]
            if all(keep):
                msg_lines, line_of_row = lines, np.arange(first_line, first_line + len(lines), dtype=np.int64)
            else:
                _check_other_records(path, lines, keep, first_line)
                idx = np.flatnonzero(keep)
                msg_lines, line_of_row = [lines[i] for i in idx], idx.astype(np.int64) + first_line
            if msg_lines:

                def parse(data: bytes) -> pa.Table:
                    return pacsv.read_csv(io.BytesIO(data), read_options, parse_options, convert_options)

                try:
                    table = parse(b"".join(msg_lines))
                except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                    k = first_failing_line(msg_lines, parse)
                    line = int(line_of_row[k])
                    _explain_line(path, msg_lines[k], line, last=line == first_line + len(lines) - 1)
                    raise InputError(path, f"could not be read as SBS: {e}", line=line) from None
                yield _to_adsb(path, table, line_of_row)
            first_line += len(lines)


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
    raw = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    n = len(raw)
    msg_type = pd.to_numeric(raw["msg_type"].str.strip(), errors="coerce")
    i = first_bad(msg_type.isna() | ~msg_type.isin(range(1, 9)))
    if i is not None:
        raise InputError(path, f"expected a transmission type 1..8, got {describe(raw['msg_type'].iloc[i])}",
                         line=int(line_of_row[i]), field="msg_type")
    icao = raw["hex_ident"].str.strip()
    i = first_bad(icao.isna())
    if i is not None:
        raise InputError(path, "missing hex ident (the aircraft's ICAO 24-bit address)", line=int(line_of_row[i]),
                         field="hex_ident")
    check_pattern(path, pd.DataFrame({"hex_ident": icao}), line_of_row, "hex_ident", ICAO24_PATTERN,
                  "six hex digits (optionally prefixed by ~)")
    t = _parse_times(path, raw, line_of_row)

    out = pd.DataFrame({
        "t": t,
        "icao24": icao.str.lower(),
        "msg_type": msg_type.to_numpy(dtype="int64"),
        "callsign": raw["callsign"].str.strip().replace("", pd.NA),
        "alt_m": raw["altitude_ft"].to_numpy(dtype="float64", na_value=np.nan) * FT_M,
        "gs_mps": raw["ground_speed_kt"].to_numpy(dtype="float64", na_value=np.nan) * KT_MPS,
        "track_deg": raw["track_deg"].to_numpy(dtype="float64", na_value=np.nan),
        "lat": raw["lat"].to_numpy(dtype="float64", na_value=np.nan),
        "lon": raw["lon"].to_numpy(dtype="float64", na_value=np.nan),
        "vr_mps": raw["vertical_rate_fpm"].to_numpy(dtype="float64", na_value=np.nan) * FPM_MPS,
        "squawk": raw["squawk"].str.strip().replace("", pd.NA),
    })
    check_range(path, raw, line_of_row, "altitude_ft", *ALT_FT_RANGE, required=False,
                expected="an altitude in feet, -1000..127000")
    check_range(path, raw, line_of_row, "ground_speed_kt", 0.0, GS_KT_MAX, required=False,
                expected=f"a ground speed in knots, 0..{GS_KT_MAX:.0f}")
    check_range(path, raw, line_of_row, "track_deg", 0.0, 360.0, required=False,
                expected="a track in degrees, 0..360")
    check_range(path, raw, line_of_row, "lat", -90.0, 90.0, required=False, expected="a latitude, -90..90")
    check_range(path, raw, line_of_row, "lon", -180.0, 180.0, required=False, expected="a longitude, -180..180")
    check_range(path, raw, line_of_row, "vertical_rate_fpm", -VR_FPM_MAX, VR_FPM_MAX, required=False,
                expected=f"a vertical rate in ft/min, -{VR_FPM_MAX:.0f}..{VR_FPM_MAX:.0f}")
    i = first_bad(out["lat"].isna().to_numpy() != out["lon"].isna().to_numpy())
    if i is not None:
        which = "lon" if out["lat"].notna().iloc[i] else "lat"
        raise InputError(path, "a position needs both lat and lon", line=int(line_of_row[i]), field=which)
    check_pattern(path, out, line_of_row, "squawk", SQUAWK_PATTERN, "four octal digits")

    ground_text = raw["is_on_ground"].str.strip()
    known = ground_text.isna() | ground_text.isin(["-1", "0", "1"])
    i = first_bad(~known.to_numpy(dtype=bool))
    if i is not None:
        raise InputError(path, f"expected -1, 0, 1 or empty, got {describe(raw['is_on_ground'].iloc[i])}",
                         line=int(line_of_row[i]), field="is_on_ground")
    on_ground = pd.array(np.full(n, pd.NA), dtype="boolean")
    has = ground_text.notna().to_numpy(dtype=bool)
    on_ground[has] = (ground_text[has] != "0").to_numpy(dtype=bool)
    out["on_ground"] = on_ground
    return conform(out, ADSB_COLUMNS)


def _parse_times(path: Path, raw: pd.DataFrame, line_of_row: np.ndarray) -> np.ndarray:
    """UTC epoch seconds from the generated date/time fields (the logged ones where those are empty)."""
    date = raw["date_gen"].str.strip()
    time = raw["time_gen"].str.strip()
    use_log = date.isna() | time.isna()
    if use_log.any():
        date = date.where(~use_log, raw["date_log"].str.strip())
        time = time.where(~use_log, raw["time_log"].str.strip())
    for name, values, pattern, expected in (("date_gen", date, _DATE_PATTERN, "a date YYYY/MM/DD"),
                                            ("time_gen", time, _TIME_PATTERN, "a time HH:MM:SS.fff")):
        ok = values.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
        i = first_bad(~ok)
        if i is not None:
            raise InputError(path, f"expected {expected}, got {describe(values.iloc[i])}",
                             line=int(line_of_row[i]), field=name)
    codes, uniques = pd.factorize(date)
    day_s = np.empty(len(uniques))
    for k, text in enumerate(uniques):
        try:
            day_s[k] = datetime.strptime(text, "%Y/%m/%d").replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            i = int(np.argmax(codes == k))
            raise InputError(path, f"expected a valid date YYYY/MM/DD, got {text!r}", line=int(line_of_row[i]),
                             field="date_gen") from None
    parts = time.str.split(":", n=2, expand=True)
    hh = parts[0].astype("float64").to_numpy()
    mm = parts[1].astype("float64").to_numpy()
    ss = parts[2].astype("float64").to_numpy()
    i = first_bad((hh > 23) | (mm > 59) | (ss >= 61))
    if i is not None:
        raise InputError(path, f"expected a valid time of day HH:MM:SS.fff, got {describe(time.iloc[i])}",
                         line=int(line_of_row[i]), field="time_gen")
    t = day_s[codes] + hh * 3600.0 + mm * 60.0 + ss
    i = first_bad((t < T_MIN_S) | (t > T_MAX_S))
    if i is not None:
        raise InputError(path, f"expected a date between 2000 and 2100, got {describe(date.iloc[i])}",
                         line=int(line_of_row[i]), field="date_gen")
    return t
