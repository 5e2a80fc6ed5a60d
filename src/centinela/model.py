"""The shared vocabulary: the columns every stage exchanges, and the scenario and output containers.

Every stage takes and returns pandas DataFrames with the columns below (see ``../shared/CONTRACT.md`` for
the files they come from and go to). Units follow the contract: times are UTC epoch seconds (float),
positions WGS84 degrees, altitudes metres above mean sea level, azimuths degrees clockwise from true north,
ranges slant metres, speeds m/s. Columns that a source may lack are nullable (NaN for floats, ``<NA>``
for strings and booleans).

>>> from centinela.model import PLOT_COLUMNS, empty_frame
>>> list(empty_frame(PLOT_COLUMNS).columns)[:4]
['t', 'sensor', 'range_m', 'azimuth_deg']
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SENSOR_KINDS = ("psr", "ssr", "adsb", "observer")

# --- inputs ---------------------------------------------------------------------------------------------
# Radar plots (plots.jsonl / ASTERIX). A psr plot has no alt_m and no identity.
PLOT_COLUMNS: dict[str, str] = {
    "t": "float64",
    "sensor": "string",
    "range_m": "float64",
    "azimuth_deg": "float64",
    "alt_m": "float64",
    "icao24": "string",
    "squawk": "string",
    "callsign": "string",
}

# ADS-B messages (adsb.sbs / .beast / .hex), one row a message; fields a message type lacks are null.
# msg_type is the SBS transmission type (1 identity, 3 airborne position, 4 velocity, ...).
ADSB_COLUMNS: dict[str, str] = {
    "t": "float64",
    "icao24": "string",
    "msg_type": "int64",
    "callsign": "string",
    "alt_m": "float64",
    "gs_mps": "float64",
    "track_deg": "float64",
    "lat": "float64",
    "lon": "float64",
    "vr_mps": "float64",
    "squawk": "string",
    "on_ground": "boolean",
}

# Ground observer reports (observations.jsonl); kind is "sighting" or "sound".
OBSERVATION_COLUMNS: dict[str, str] = {
    "t": "float64",
    "sensor": "string",
    "azimuth_deg": "float64",
    "kind": "string",
}

# Filed flight plans (flightplans.csv); off_block and eta parsed to epoch seconds.
FLIGHTPLAN_COLUMNS: dict[str, str] = {
    "callsign": "string",
    "icao24": "string",
    "aircraft_type": "string",
    "origin": "string",
    "destination": "string",
    "off_block": "float64",
    "eta": "float64",
}

# Registered airfields (airfields.csv, or the airportsdata registry).
AIRFIELD_COLUMNS: dict[str, str] = {
    "icao": "string",
    "name": "string",
    "lat": "float64",
    "lon": "float64",
    "elevation_m": "float64",
}

# --- truth (simulated scenarios only; analyze never reads it) -------------------------------------------
TRUTH_STATE_COLUMNS: dict[str, str] = {
    "t": "float64",
    "truth_id": "string",
    "lat": "float64",
    "lon": "float64",
    "alt_m": "float64",
    "on_ground": "bool",
    "transponder": "bool",
}
TRUTH_FLIGHT_COLUMNS: dict[str, str] = {
    "truth_id": "string",
    "kind": "string",
    "callsign": "string",
    "icao24": "string",
}
TRUTH_EVENT_COLUMNS: dict[str, str] = {
    "kind": "string",
    "truth_id": "string",
    "t": "float64",
    "lat": "float64",
    "lon": "float64",
    "site": "string",
    "clandestine": "bool",
}

# --- outputs --------------------------------------------------------------------------------------------
# tracks.parquet: one row per track update. flight_id links tracks of one flight across gaps.
TRACK_COLUMNS: dict[str, str] = {
    "t": "float64",
    "track_id": "string",
    "lat": "float64",
    "lon": "float64",
    "alt_m": "float64",
    "vn_mps": "float64",
    "ve_mps": "float64",
    "sigma_pos_m": "float64",
}
TRACK_OPTIONAL_COLUMNS: dict[str, str] = {
    "flight_id": "string",
    "icao24": "string",
    "callsign": "string",
    "squawk": "string",
    "sensors": "string",  # comma-separated sensor ids that updated the track at this time
}

# events.jsonl: one row per event; track_ids is a list; evidence is a free-form dict.
EVENT_KINDS = ("landing", "takeoff", "ground_stop", "border_crossing", "transponder_off", "transponder_on")
EVENT_COLUMNS: dict[str, str] = {
    "kind": "string",
    "t": "float64",
    "t_end": "float64",
    "lat": "float64",
    "lon": "float64",
    "track_ids": "object",
    "airstrip_id": "string",
    "confidence": "float64",
}

# airstrips.geojson: one point per strip.
AIRSTRIP_COLUMNS: dict[str, str] = {
    "id": "string",
    "lat": "float64",
    "lon": "float64",
    "registered": "bool",
    "icao": "string",
    "landings": "int64",
    "first_seen": "float64",
    "last_seen": "float64",
    "confidence": "float64",
}

# assessments.csv: probability that a track belongs to an air-bridge flight.
ASSESSMENT_COLUMNS: dict[str, str] = {
    "track_id": "string",
    "score": "float64",
}

# alerts.jsonl: predicted_site is {"lat", "lon", "airstrip_id"}; indicators is a list or dict.
ALERT_COLUMNS: dict[str, str] = {
    "alert_id": "string",
    "track_ids": "object",
    "score": "float64",
    "t_issued": "float64",
    "indicators": "object",
    "predicted_site": "object",
    "eta": "float64",
    "eta_window_s": "float64",
}


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty DataFrame with the given columns and dtypes."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def track_id_list(value: object) -> list[str]:
    """The ``track_ids`` of an event or alert as a list of strings (a lone string is one id).

    >>> track_id_list(["T1", None, 7]), track_id_list("T2"), track_id_list(None)
    (['T1', '7'], ['T2'], [])
    """
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [str(v) for v in value if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return []


def conform(df: pd.DataFrame, columns: dict[str, str], optional: dict[str, str] | None = None) -> pd.DataFrame:
    """Return ``df`` with every column of ``columns`` present (missing ones null) and cast to its dtype.

    Extra columns are kept after the required ones; ``optional`` columns that are present get their dtype.
    """
    out = df.copy()
    for name, dtype in columns.items():
        if name not in out.columns:
            out[name] = pd.Series(index=out.index, dtype=dtype)
        elif dtype != "object":
            out[name] = out[name].astype(dtype)
    for name, dtype in (optional or {}).items():
        if name in out.columns and dtype != "object":
            out[name] = out[name].astype(dtype)
    extra = [c for c in out.columns if c not in columns]
    return out[list(columns) + extra]


@dataclass(frozen=True)
class Sensor:
    """One sensor of ``sensors.toml``. Fields a kind does not use keep their defaults."""

    id: str
    kind: str
    lat: float
    lon: float
    alt_m: float
    scan_s: float | None = None
    range_max_m: float | None = None
    sigma_range_m: float | None = None
    sigma_azimuth_deg: float | None = None
    pd: float | None = None
    clutter_per_scan: float | None = None
    mask_deg: float = 0.0
    sac: int | None = None
    sic: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Scenario:
    """Everything ``analyze`` reads from a scenario folder (never the truth)."""

    path: Path
    sensors: list[Sensor]
    plots: pd.DataFrame  # PLOT_COLUMNS, sorted by t
    adsb: pd.DataFrame  # ADSB_COLUMNS, sorted by t
    observations: pd.DataFrame  # OBSERVATION_COLUMNS, sorted by t
    flightplans: pd.DataFrame  # FLIGHTPLAN_COLUMNS
    airfields: pd.DataFrame | None  # AIRFIELD_COLUMNS, or None when airfields.csv is absent
    date: str | None = None  # sensors.toml top-level date, for time-of-day-only recordings
    start: str | None = None

    def sensor(self, sensor_id: str) -> Sensor:
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(sensor_id)


@dataclass
class Truth:
    """Ground truth of a simulated scenario, for evaluation only."""

    states: pd.DataFrame  # TRUTH_STATE_COLUMNS
    flights: pd.DataFrame  # TRUTH_FLIGHT_COLUMNS
    events: pd.DataFrame  # TRUTH_EVENT_COLUMNS
    # optional truth/strips.csv: strip_id, kind, lat, lon, clandestine, active_from, cratered_t, successor_of
    strips: pd.DataFrame | None = None


@dataclass
class Outputs:
    """What ``analyze`` writes. A stage that has not run leaves its frame empty (with its columns)."""

    tracks: pd.DataFrame = field(default_factory=lambda: empty_frame(TRACK_COLUMNS))
    events: pd.DataFrame = field(default_factory=lambda: empty_frame(EVENT_COLUMNS))
    airstrips: pd.DataFrame = field(default_factory=lambda: empty_frame(AIRSTRIP_COLUMNS))
    assessments: pd.DataFrame = field(default_factory=lambda: empty_frame(ASSESSMENT_COLUMNS))
    alerts: pd.DataFrame = field(default_factory=lambda: empty_frame(ALERT_COLUMNS))
    # stage name -> "ran" or a sentence saying why it did not (shown in the report)
    stages: dict[str, str] = field(default_factory=dict)
