"""The air picture: every aircraft, cooperative or not, tracked across primary radar, secondary radar and ADS-B.

:func:`track` runs a whole scenario through the streaming :class:`Tracker` (the same core a live feed uses)
and returns one row per track update, with ``flight_id`` linking the tracks of one flight across gaps. See
``docs/tracker.md`` for the design and every parameter.

>>> from centinela.model import Scenario, Sensor, PLOT_COLUMNS, ADSB_COLUMNS, empty_frame
>>> import pandas as pd
>>> radar = Sensor("PSR-1", "psr", -12.5, -73.8, 1000.0, scan_s=10.0, range_max_m=150_000.0,
...                sigma_range_m=50.0, sigma_azimuth_deg=0.15, pd=0.9, clutter_per_scan=5.0)
>>> plots = pd.DataFrame({"t": [0.0, 10.0, 20.0, 30.0], "sensor": "PSR-1",
...                       "range_m": [40_000.0, 40_700.0, 41_400.0, 42_100.0], "azimuth_deg": 45.0})
>>> scenario = Scenario(path=".", sensors=[radar], plots=plots, adsb=empty_frame(ADSB_COLUMNS),
...                     observations=pd.DataFrame(), flightplans=pd.DataFrame(), airfields=None)
>>> tracks = track(scenario)
>>> tracks.track_id.unique().tolist(), len(tracks), tracks.flight_id.iloc[0]
(['T1'], 4, 'F1')
>>> round(float(tracks.vn_mps.iloc[-1]), 1) > 30    # flying away north-east at ~70 m/s
True
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from centinela import model
from centinela.track.linking import flight_numbers
from centinela.track.measurements import (
    MEASUREMENT_COLUMNS,
    adsb_positions,
    batch_bounds,
    default_batch_s,
    measurement_table,
    measurements_from_scenario,
)
from centinela.track.params import TrackerParams
from centinela.track.tracker import TRACK_OUTPUT_COLUMNS, Tracker, concat_rows

__all__ = [
    "MEASUREMENT_COLUMNS",
    "TRACK_OUTPUT_COLUMNS",
    "Tracker",
    "TrackerParams",
    "adsb_positions",
    "measurements_from_scenario",
    "track",
]

IDENTITY_COLUMNS = ("icao24", "callsign", "squawk")


def track(scenario: model.Scenario, *, progress: Callable[[float], None] | None = None, **params) -> pd.DataFrame:
    """All sensors' measurements → track updates: TRACK_COLUMNS + flight_id, icao24, callsign, squawk, sensors.

    ``track_id`` and ``flight_id`` are strings; rows are sorted by ``t``. ``progress`` is called with the
    fraction of the scenario's time span processed. ``params``: fields of :class:`TrackerParams`.

    Being a batch run, it also uses hindsight the streaming tracker cannot: a track's identity, once any
    cooperative source gave it, is carried onto the track's earlier rows, and tracks that share a Mode S
    address with a short gap between them join one flight.
    """
    settings = TrackerParams(**params)
    origin = _frame_origin(scenario)
    if origin is None:
        return model.empty_frame(TRACK_OUTPUT_COLUMNS)
    tracker = Tracker(scenario.sensors, origin, **params)
    span = _time_span(scenario)
    # The same batches as measurements_from_scenario, converted from pandas once rather than batch by batch.
    table = tracker.prepare(measurement_table(scenario, adsb_sensor_fallback=settings.adsb_sensor_id))
    chunks = []
    for a, b in batch_bounds(table.t, settings.batch_s or default_batch_s(scenario.sensors)):
        rows = tracker.step(table.take(slice(a, b)))
        if rows is not None and len(rows):
            chunks.append(rows)
        if progress is not None and span is not None:
            progress(min(1.0, (float(table.t[b - 1]) - span[0]) / max(span[1] - span[0], 1e-9)))
    tracker.finish()
    if not chunks:
        return model.empty_frame(TRACK_OUTPUT_COLUMNS)
    frame = tracker.rows_to_frame(concat_rows(chunks))
    return _with_hindsight(frame, tracker.links, settings.link_max_gap_s)


def _with_hindsight(frame: pd.DataFrame, links: list[tuple[int, int]], max_gap_s: float) -> pd.DataFrame:
    for name in IDENTITY_COLUMNS:
        frame[name] = frame.groupby("track_id", sort=False)[name].ffill()
        frame[name] = frame.groupby("track_id", sort=False)[name].bfill()
    by_track = frame.groupby("track_id", sort=False)
    summary = by_track.agg(first_t=("t", "min"), last_t=("t", "max"), icao24=("icao24", "last"),
                           callsign=("callsign", "last"), first_lat=("lat", "first"), first_lon=("lon", "first"),
                           last_lat=("lat", "last"), last_lon=("lon", "last"))
    numbers = summary.index.str[1:].astype(np.int64).to_numpy()

    def identity(name: str) -> np.ndarray:
        return summary[name].astype(object).where(summary[name].notna(), None).to_numpy()

    flights = flight_numbers(numbers, summary["first_t"].to_numpy(), summary["last_t"].to_numpy(),
                             identity("icao24"), links, max_gap_s=max_gap_s, callsign=identity("callsign"),
                             first_latlon=summary[["first_lat", "first_lon"]].to_numpy(float),
                             last_latlon=summary[["last_lat", "last_lon"]].to_numpy(float))
    flight_of = pd.Series("F" + pd.Series(flights).astype(str).to_numpy(), index=summary.index)
    frame["flight_id"] = frame["track_id"].map(flight_of).astype("string")
    return frame


def _frame_origin(scenario: model.Scenario) -> tuple[float, float] | None:
    """The sensors' centroid; with no tracking sensor, the centroid of the ADS-B positions; else None."""
    used = [s for s in scenario.sensors if s.kind in ("psr", "ssr", "adsb")]
    if used:
        return float(np.mean([s.lat for s in used])), float(np.mean([s.lon for s in used]))
    adsb = scenario.adsb
    if adsb is not None and len(adsb) and adsb["lat"].notna().any():
        return float(adsb["lat"].mean()), float(adsb["lon"].mean())
    return None


def _time_span(scenario: model.Scenario) -> tuple[float, float] | None:
    times = [f["t"] for f in (scenario.plots, scenario.adsb) if f is not None and len(f)]
    if not times:
        return None
    return float(min(t.min() for t in times)), float(max(t.max() for t in times))
