"""Registered (legal) airfields: ``airfields.csv`` (``icao,name,lat,lon,elevation_m``) when a scenario gives
one, else the built-in registry of the ``airportsdata`` package. :func:`registered_airfields` is the one
place the registry is loaded.

>>> reg = registered_airfields(None)
>>> reg.set_index("icao").loc["SPJC", ["lat", "lon"]].round(2).tolist()
[-12.02, -77.11]
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from centinela.errors import InputError
from centinela.io._common import EarliestError, check_range, first_bad
from centinela.io._csvfile import read_csv_table, write_csv_table
from centinela.model import AIRFIELD_COLUMNS, conform

FT_M = 0.3048  # airportsdata gives elevation in feet
REQUIRED = ["icao", "lat", "lon"]
# Extra registry columns kept after AIRFIELD_COLUMNS: where an airfield is (ISO 3166 country) and its IATA code.
REGISTRY_EXTRA = ("country", "iata")


def read_airfields_csv(path: str | Path) -> pd.DataFrame:
    """Read and validate ``airfields.csv`` into AIRFIELD_COLUMNS (extra columns kept as strings).

    ``icao``, ``lat`` and ``lon`` are required in every row and ``icao`` must be unique; ``name`` and
    ``elevation_m`` may be empty.
    """
    df, line_of_row = read_csv_table(path, AIRFIELD_COLUMNS, REQUIRED)
    df["icao"] = df["icao"].str.strip().str.upper().replace("", pd.NA)
    first = EarliestError()  # report the earliest bad line, whichever check finds it
    with first.check():
        i = first_bad(df["icao"].isna() | df["icao"].duplicated(keep="first").to_numpy(dtype=bool))
        if i is not None:
            what = "missing required value 'icao'" if pd.isna(df["icao"].iloc[i]) else (
                f"duplicate icao {df['icao'].iloc[i]!r}")
            raise InputError(path, what, line=int(line_of_row[i]), field="icao")
    for name, low, high, required, expected in (
            ("lat", -90.0, 90.0, True, "a latitude, -90..90"),
            ("lon", -180.0, 180.0, True, "a longitude, -180..180"),
            ("elevation_m", -500.0, 9_000.0, False, "an elevation in metres, -500..9000")):
        with first.check():
            check_range(path, df, line_of_row, name, low, high, required=required, expected=expected)
    first.raise_if_any()
    return conform(df, AIRFIELD_COLUMNS)


def write_airfields_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write AIRFIELD_COLUMNS of ``df`` to ``path`` atomically."""
    write_csv_table(df, path, AIRFIELD_COLUMNS, REQUIRED, "airfields")


def registered_airfields(scenario_airfields: pd.DataFrame | None) -> pd.DataFrame:
    """The legal airfields to use: ``scenario_airfields`` (from airfields.csv) when given, else the
    ``airportsdata`` registry (every entry with an ICAO code; elevation converted from feet to metres).

    Returns a new frame each call (the registry itself is loaded once and cached).
    """
    if scenario_airfields is not None:
        return conform(scenario_airfields, AIRFIELD_COLUMNS)
    return _registry().copy()


@lru_cache(maxsize=1)
def _registry() -> pd.DataFrame:
    import airportsdata

    rows = [a for a in airportsdata.load("ICAO").values() if a.get("icao")]
    df = pd.DataFrame({
        "icao": [a["icao"] for a in rows],
        "name": [a["name"] for a in rows],
        "lat": [float(a["lat"]) for a in rows],
        "lon": [float(a["lon"]) for a in rows],
        "elevation_m": [float(a["elevation"]) * FT_M for a in rows],
        **{key: [a.get(key) or None for a in rows] for key in REGISTRY_EXTRA},
    })
    return conform(df, AIRFIELD_COLUMNS, {key: "string" for key in REGISTRY_EXTRA})
