"""``observations.jsonl`` (optional): ground-post reports, one a line:
``{"t": ..., "sensor": "OBS-1", "azimuth_deg": ..., "kind": "sighting" | "sound"}``.

The contract does not require time order here; :func:`read_observations_jsonl` returns rows sorted by time.

>>> import tempfile, pathlib, pandas as pd
>>> p = pathlib.Path(tempfile.mkdtemp()) / "observations.jsonl"
>>> write_observations_jsonl(pd.DataFrame({"t": [1780310700.0], "sensor": ["OBS-1"], "azimuth_deg": [245.0],
...                                        "kind": ["sound"]}), p)
>>> print(p.read_text(), end="")
{"t": 1780310700, "sensor": "OBS-1", "azimuth_deg": 245, "kind": "sound"}
>>> read_observations_jsonl(p).kind.tolist()
['sound']
"""
from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from centinela.errors import InputError
from centinela.io._common import (
    T_MAX_S,
    T_MIN_S,
    EarliestError,
    check_range,
    describe,
    first_bad,
    sorted_by_time,
    write_jsonl_frame,
)
from centinela.io._jsonl import iter_jsonl_chunks
from centinela.model import OBSERVATION_COLUMNS, conform, empty_frame

OBSERVATION_KINDS = ("sighting", "sound")
REQUIRED = list(OBSERVATION_COLUMNS)


def write_observations_jsonl(df: pd.DataFrame, path: str | Path) -> None:
    """Write observations (OBSERVATION_COLUMNS, in the frame's order) to ``path`` atomically."""
    write_jsonl_frame(df, path, OBSERVATION_COLUMNS, REQUIRED, "observations")


def read_observations_jsonl(path: str | Path, known_sensors: Collection[str] | None = None) -> pd.DataFrame:
    """Read and validate observations into OBSERVATION_COLUMNS, sorted by time (stable). With
    ``known_sensors``, a report from any other sensor is an InputError."""
    frames = []
    for df, line_of_row in iter_jsonl_chunks(path, OBSERVATION_COLUMNS):
        _validate(path, df, line_of_row, known_sensors)
        df = conform(df, OBSERVATION_COLUMNS)
        df["sensor"] = df["sensor"].str.strip()
        frames.append(df)
    if not frames:
        return empty_frame(OBSERVATION_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    return sorted_by_time(df)


def _validate(path: str | Path, df: pd.DataFrame, line_of_row: np.ndarray,
              known_sensors: Collection[str] | None) -> None:
    """Raise InputError at the earliest line with a bad value."""
    first = EarliestError()
    with first.check():
        check_range(path, df, line_of_row, "t", T_MIN_S, T_MAX_S, required=True,
                    expected="UTC epoch seconds between 2000 and 2100")
    for name in ("sensor", "kind"):
        with first.check():
            i = first_bad(df[name].isna() | (df[name].str.strip() == "").fillna(True))
            if i is not None:
                raise InputError(path, f"missing required field {name!r}", line=int(line_of_row[i]), field=name)
    if known_sensors is not None:
        with first.check():
            sensor = df["sensor"].str.strip()
            i = first_bad(~sensor.isin(list(known_sensors)).to_numpy(dtype=bool, na_value=True) & sensor.notna())
            if i is not None:
                raise InputError(path, f"sensor {sensor.iloc[i]!r} is not an observer of sensors.toml; expected "
                                 f"one of {', '.join(sorted(known_sensors)) or '(none)'}",
                                 line=int(line_of_row[i]), field="sensor")
    with first.check():
        check_range(path, df, line_of_row, "azimuth_deg", 0.0, 360.0, required=True,
                    expected="an azimuth in degrees, 0..360")
    with first.check():
        kind = df["kind"]
        i = first_bad(~kind.isin(OBSERVATION_KINDS).to_numpy(dtype=bool, na_value=True) & kind.notna())
        if i is not None:
            raise InputError(path, f"expected one of {', '.join(OBSERVATION_KINDS)}, got {describe(kind.iloc[i])}",
                             line=int(line_of_row[i]), field="kind")
    first.raise_if_any()
