"""``flightplans.csv``: ``callsign,icao24,aircraft_type,origin,destination,off_block,eta``; times ISO 8601
UTC (``2026-06-01T10:45:00Z``), read into epoch seconds; origin and destination ICAO codes.

``callsign``, ``origin``, ``destination`` and ``off_block`` are required in every row; ``icao24``,
``aircraft_type`` and ``eta`` may be empty. A time with no zone is taken as UTC.

>>> import tempfile, pathlib, pandas as pd
>>> p = pathlib.Path(tempfile.mkdtemp()) / "flightplans.csv"
>>> write_flightplans_csv(pd.DataFrame({"callsign": ["LPE2101"], "icao24": ["e80123"],
...     "aircraft_type": ["A320"], "origin": ["SPJC"], "destination": ["SPZO"],
...     "off_block": [1780310700.0], "eta": [1780314300.0]}), p)
>>> print(p.read_text(), end="")
callsign,icao24,aircraft_type,origin,destination,off_block,eta
LPE2101,e80123,A320,SPJC,SPZO,2026-06-01T10:45:00Z,2026-06-01T11:45:00Z
>>> float(read_flightplans_csv(p).eta[0])
1780314300.0
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from centinela.errors import InputError
from centinela.io._common import T_MAX_S, T_MIN_S, EarliestError, check_pattern, describe, first_bad
from centinela.io._csvfile import read_csv_table, write_csv_table
from centinela.model import FLIGHTPLAN_COLUMNS, conform

REQUIRED = ["callsign", "origin", "destination", "off_block"]
_TEXT_COLUMNS = {name: "string" for name in FLIGHTPLAN_COLUMNS}
# ICAO location indicators are four letters/digits ("ZZZZ" when the aerodrome has none).
ICAO_CODE_PATTERN = r"[A-Za-z0-9]{4}"
ICAO24_PATTERN = r"[0-9a-fA-F]{6}"


def write_flightplans_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write flight plans (FLIGHTPLAN_COLUMNS, epoch times) to ``path`` atomically, times as ISO 8601 UTC."""
    out = pd.DataFrame({name: df[name] if name in df.columns else pd.Series(index=df.index, dtype="string")
                        for name in FLIGHTPLAN_COLUMNS})
    for name in ("off_block", "eta"):
        out[name] = epoch_to_iso(out[name])
    write_csv_table(out, path, _TEXT_COLUMNS, list(FLIGHTPLAN_COLUMNS), "flightplans")


def read_flightplans_csv(path: str | Path) -> pd.DataFrame:
    """Read and validate flight plans into FLIGHTPLAN_COLUMNS (off_block, eta as UTC epoch seconds)."""
    df, line_of_row = read_csv_table(path, _TEXT_COLUMNS, REQUIRED)
    for name in _TEXT_COLUMNS:
        df[name] = df[name].str.strip().replace("", pd.NA)
    first = EarliestError()  # report the earliest bad line, whichever check finds it
    for name in REQUIRED:
        with first.check():
            i = first_bad(df[name].isna())
            if i is not None:
                raise InputError(path, f"missing required value {name!r}", line=int(line_of_row[i]), field=name)
    for name, pattern, expected in (("origin", ICAO_CODE_PATTERN, "a four-character ICAO code"),
                                    ("destination", ICAO_CODE_PATTERN, "a four-character ICAO code"),
                                    ("icao24", ICAO24_PATTERN, "six hex digits")):
        with first.check():
            check_pattern(path, df, line_of_row, name, pattern, expected)
    times = {}
    for name in ("off_block", "eta"):
        with first.check():
            times[name] = _parse_iso(path, df[name], line_of_row, name)
    first.raise_if_any()
    df = df.assign(**times)
    df["origin"] = df["origin"].str.upper()
    df["destination"] = df["destination"].str.upper()
    df["icao24"] = df["icao24"].str.lower()
    return conform(df, FLIGHTPLAN_COLUMNS)


def epoch_to_iso(values: pd.Series) -> pd.Series:
    """Epoch seconds to ``YYYY-MM-DDTHH:MM:SSZ`` strings (to the whole second; <NA> for NaN).

    >>> epoch_to_iso(pd.Series([1780310700.0, float("nan")])).tolist()
    ['2026-06-01T10:45:00Z', <NA>]
    """
    seconds = pd.to_numeric(values, errors="raise").astype("float64").round()
    stamps = pd.to_datetime(seconds, unit="s", utc=True)
    return stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string")


def _parse_iso(path: str | Path, text: pd.Series, line_of_row: np.ndarray, field: str) -> np.ndarray:
    stamps = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    bad = stamps.isna() & text.notna()
    seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan)
    bad |= (seconds < T_MIN_S) | (seconds > T_MAX_S)
    i = first_bad(bad)
    if i is not None:
        raise InputError(path, f"expected an ISO 8601 UTC time like 2026-06-01T10:45:00Z (2000..2100), got "
                         f"{describe(text.iloc[i])}", line=int(line_of_row[i]), field=field)
    return seconds
