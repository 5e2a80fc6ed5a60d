"""``plots.jsonl``: one radar detection a line, in time order per sensor.

``{"t": 1748500000.25, "sensor": "PSR-1", "range_m": 45210.3, "azimuth_deg": 87.12}`` with optional
``alt_m``, ``icao24``, ``squawk``, ``callsign``. Null fields are left out of a line.

Time order: the contract asks for time order per sensor. :func:`read_plots_jsonl` holds the whole file, so
when a sensor's times go backwards it warns (:class:`~centinela.io.InputWarning`, naming the first such
line) and sorts; :func:`iter_plots_jsonl` streams and cannot re-sort, so it raises InputError at that line.

>>> import tempfile, pathlib, pandas as pd
>>> p = pathlib.Path(tempfile.mkdtemp()) / "plots.jsonl"
>>> write_plots_jsonl(pd.DataFrame({"t": [1748500000.25], "sensor": ["PSR-1"], "range_m": [45210.3],
...                                 "azimuth_deg": [87.12]}), p)
>>> print(p.read_text(), end="")
{"t": 1748500000.25, "sensor": "PSR-1", "range_m": 45210.3, "azimuth_deg": 87.12}
>>> plots = read_plots_jsonl(p)
>>> float(plots.t[0]), plots.sensor[0], bool(plots.alt_m.isna()[0])
(1748500000.25, 'PSR-1', True)
"""
from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.errors import InputError
from centinela.io._common import (
    T_MAX_S,
    T_MIN_S,
    EarliestError,
    check_pattern,
    check_range,
    check_sorted_per_group,
    first_bad,
    sorted_by_time,
    write_jsonl_frame,
)
from centinela.io._jsonl import iter_jsonl_chunks
from centinela.model import PLOT_COLUMNS, conform, empty_frame

REQUIRED = ["t", "sensor", "range_m", "azimuth_deg"]
# No ground radar, not even an over-the-horizon one (~3000 km), reports a plot farther away.
MAX_RANGE_M = 3_000_000.0
# Mode C encodes -1000 ft .. 126,750 ft (about -305 m .. 38.6 km).
MIN_ALT_M, MAX_ALT_M = -1_000.0, 40_000.0
ICAO24_PATTERN = r"[0-9a-fA-F]{6}"
SQUAWK_PATTERN = r"[0-7]{4}"  # four octal digits


def write_plots_jsonl(df: pd.DataFrame, path: str | Path) -> None:
    """Write plots (PLOT_COLUMNS; rows in the frame's order) to ``path`` atomically.

    Raises ValueError if a required column is missing or null.
    """
    write_jsonl_frame(df, path, PLOT_COLUMNS, REQUIRED, "plots")


def iter_plots_jsonl(path: str | Path, chunk_rows: int = 200_000,
                     known_sensors: Collection[str] | None = None) -> Iterator[pd.DataFrame]:
    """Yield validated plots (PLOT_COLUMNS) in file order, about ``chunk_rows`` lines at a time (the file is
    read in byte blocks sized from the average line length, so chunk sizes vary a little).

    Raises InputError at the first bad line, including the first line whose time is earlier than the
    previous plot of the same sensor (a stream cannot be re-sorted), and — when ``known_sensors`` is given —
    the first plot of a sensor not among them.
    """
    last_t: dict[str, float] = {}
    for df, line_of_row in iter_jsonl_chunks(path, PLOT_COLUMNS, chunk_rows):
        _validate(path, df, line_of_row, known_sensors)
        df = _normalise(df)
        # Prepend each sensor's last time from earlier chunks so order is checked across chunk borders.
        prev_sensors = pd.array(list(last_t), dtype="string")
        t = np.r_[np.fromiter(last_t.values(), float, len(last_t)), df["t"].to_numpy()]
        groups = np.r_[prev_sensors.to_numpy(dtype=object), df["sensor"].to_numpy(dtype=object)]
        lines = np.r_[np.zeros(len(last_t), np.int64), line_of_row]
        check_sorted_per_group(path, t, groups, lines, sort=False)
        last_t.update(df.groupby("sensor", sort=False)["t"].last().to_dict())
        yield df


def read_plots_jsonl(path: str | Path, known_sensors: Collection[str] | None = None) -> pd.DataFrame:
    """Read and validate a whole plots file: PLOT_COLUMNS, sorted by time (stable, so each sensor keeps its
    file order for equal times). Warns if a sensor's times go backwards (then sorts); raises InputError at
    the first bad line — with ``known_sensors``, also at the first plot of a sensor not among them."""
    frames, lines = [], []
    for df, line_of_row in iter_jsonl_chunks(path, PLOT_COLUMNS):
        _validate(path, df, line_of_row, known_sensors)
        frames.append(_normalise(df))
        lines.append(line_of_row)
    if not frames:
        return empty_frame(PLOT_COLUMNS)
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    t = df["t"].to_numpy()
    check_sorted_per_group(path, t, df["sensor"].to_numpy(dtype=object), np.concatenate(lines), sort=True)
    return sorted_by_time(df)


def _validate(path: str | Path, df: pd.DataFrame, line_of_row: np.ndarray,
              known_sensors: Collection[str] | None) -> None:
    """Raise InputError at the earliest line with a bad value (each check is vectorised over the block)."""
    first = EarliestError()
    with first.check():
        check_range(path, df, line_of_row, "t", T_MIN_S, T_MAX_S, required=True,
                    expected="UTC epoch seconds between 2000 and 2100")
    with first.check():
        _check_sensor(path, df["sensor"], line_of_row, known_sensors)
    with first.check():
        check_range(path, df, line_of_row, "range_m", 0.0, MAX_RANGE_M, required=True,
                    expected=f"a slant range in metres, 0..{MAX_RANGE_M:.0f}")
    with first.check():
        check_range(path, df, line_of_row, "azimuth_deg", 0.0, 360.0, required=True,
                    expected="an azimuth in degrees, 0..360")
    with first.check():
        check_range(path, df, line_of_row, "alt_m", MIN_ALT_M, MAX_ALT_M, required=False,
                    expected=f"an altitude in metres, {MIN_ALT_M:.0f}..{MAX_ALT_M:.0f}")
    with first.check():
        check_pattern(path, df, line_of_row, "icao24", ICAO24_PATTERN, "six hex digits")
    with first.check():
        check_pattern(path, df, line_of_row, "squawk", SQUAWK_PATTERN, "four octal digits")
    first.raise_if_any()


def _check_sensor(path: str | Path, sensor: pd.Series, line_of_row: np.ndarray,
                  known_sensors: Collection[str] | None) -> None:
    stripped = sensor.str.strip()
    missing = (sensor.isna() | (stripped == "").fillna(True)).to_numpy(dtype=bool)
    unknown = np.zeros(len(sensor), bool) if known_sensors is None else ~stripped.isin(list(known_sensors)).to_numpy(
        dtype=bool, na_value=False)
    i = first_bad(missing | unknown)
    if i is None:
        return
    if missing[i]:
        raise InputError(path, "missing required field 'sensor'; expected a sensor id of sensors.toml",
                         line=int(line_of_row[i]), field="sensor")
    raise InputError(path, f"sensor {stripped.iloc[i]!r} is not a radar of sensors.toml; expected one of "
                     f"{', '.join(sorted(known_sensors)) or '(none)'}", line=int(line_of_row[i]), field="sensor")


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = conform(df, PLOT_COLUMNS)
    df["sensor"] = df["sensor"].str.strip()
    df["icao24"] = df["icao24"].str.lower()
    df["callsign"] = df["callsign"].str.strip()
    return df
