"""What the tracker consumes: radar plots and ADS-B positions in one time-ordered table, cut into batches.

A measurement row is a plot (``range_m``, ``azimuth_deg`` from a ``psr``/``ssr`` sensor) or an ADS-B position
(``lat``, ``lon`` from the ADS-B receiver). ADS-B identity (callsign, squawk) and velocity arrive in their own
messages; they are carried forward onto the positions of the same ``icao24`` — never backward, so a replay
sees exactly what a live feed would have seen.

>>> import pandas as pd
>>> adsb = pd.DataFrame({"t": [0.0, 1.0, 2.0], "icao24": ["abc123"] * 3, "msg_type": [1, 4, 3],
...                      "callsign": ["OB1234", None, None], "gs_mps": [None, 70.0, None],
...                      "track_deg": [None, 90.0, None], "lat": [None, None, -12.5],
...                      "lon": [None, None, -73.8], "alt_m": [None, None, 2000.0]})
>>> row = adsb_positions(adsb, "ADSB-1").iloc[0]
>>> row.callsign, round(float(row.ve_mps), 1), round(float(row.vn_mps), 1)
('OB1234', 70.0, 0.0)
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from centinela import model

# PLOT_COLUMNS plus the ADS-B position and velocity (NaN on radar plots).
MEASUREMENT_COLUMNS: dict[str, str] = {
    **model.PLOT_COLUMNS,
    "lat": "float64",
    "lon": "float64",
    "vn_mps": "float64",
    "ve_mps": "float64",
}
RADAR_KINDS = ("psr", "ssr")
# An ADS-B velocity message older than this no longer describes the aircraft (light aircraft turn at 3 °/s).
ADSB_VELOCITY_MAX_AGE_S = 10.0
# SBS transmission type of an airborne position.
SBS_AIRBORNE_POSITION = 3
# Batch length when there is no radar to take the scan period from.
DEFAULT_BATCH_S = 10.0


def default_batch_s(sensors: Sequence[model.Sensor]) -> float:
    """The shortest radar scan period: one batch then holds at most one plot per aircraft per radar."""
    scans = [s.scan_s for s in sensors if s.kind in RADAR_KINDS and s.scan_s]
    return float(min(scans)) if scans else DEFAULT_BATCH_S


def adsb_sensor_id(sensors: Sequence[model.Sensor], fallback: str) -> str:
    """The id that ADS-B positions carry: the first ``adsb`` receiver of the scenario, else ``fallback``."""
    return next((s.id for s in sensors if s.kind == "adsb"), fallback)


def adsb_positions(adsb: pd.DataFrame, sensor_id: str) -> pd.DataFrame:
    """ADS-B messages (ADSB_COLUMNS) → one measurement row per airborne position, with the latest callsign,
    squawk and (recent) velocity of the same aircraft carried forward."""
    if len(adsb) == 0:
        return model.empty_frame(MEASUREMENT_COLUMNS)
    msgs = model.conform(adsb, model.ADSB_COLUMNS).sort_values("t", kind="stable").reset_index(drop=True)
    icao = msgs["icao24"].str.strip().str.lower()
    has_velocity = msgs["gs_mps"].notna() & msgs["track_deg"].notna()
    carried = pd.DataFrame({
        "callsign": msgs["callsign"].str.strip().replace("", pd.NA),
        "squawk": msgs["squawk"],
        "gs_mps": msgs["gs_mps"].where(has_velocity),
        "track_deg": msgs["track_deg"].where(has_velocity),
        "velocity_t": msgs["t"].where(has_velocity),
    }).groupby(icao).ffill()
    is_position = (msgs["msg_type"] == SBS_AIRBORNE_POSITION) & msgs["lat"].notna() & msgs["lon"].notna()
    pos, carried = msgs[is_position], carried[is_position]
    fresh = (pos["t"] - carried["velocity_t"]) <= ADSB_VELOCITY_MAX_AGE_S
    track_rad = np.radians(carried["track_deg"].where(fresh).to_numpy(float, na_value=np.nan))
    speed = carried["gs_mps"].where(fresh).to_numpy(float, na_value=np.nan)
    out = pd.DataFrame({
        "t": pos["t"].to_numpy(float),
        "sensor": sensor_id,
        "alt_m": pos["alt_m"].to_numpy(float, na_value=np.nan),
        "icao24": icao[is_position].to_numpy(),
        "squawk": carried["squawk"].to_numpy(),
        "callsign": carried["callsign"].to_numpy(),
        "lat": pos["lat"].to_numpy(float),
        "lon": pos["lon"].to_numpy(float),
        "vn_mps": speed * np.cos(track_rad),
        "ve_mps": speed * np.sin(track_rad),
    })
    return model.conform(out, MEASUREMENT_COLUMNS)


def measurement_table(scenario: model.Scenario, *, adsb_sensor_fallback: str = "ADSB") -> pd.DataFrame:
    """All radar plots and ADS-B positions of a scenario in one frame (MEASUREMENT_COLUMNS), sorted by t."""
    plots = model.conform(scenario.plots, MEASUREMENT_COLUMNS)
    adsb = adsb_positions(scenario.adsb, adsb_sensor_id(scenario.sensors, adsb_sensor_fallback))
    frames = [f for f in (plots, adsb) if len(f)]
    if not frames:
        return model.empty_frame(MEASUREMENT_COLUMNS)
    every = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return every.sort_values("t", kind="stable", ignore_index=True)


def batch_bounds(t: np.ndarray, batch_s: float) -> list[tuple[int, int]]:
    """(start, stop) row ranges of consecutive batches of ``batch_s`` seconds over sorted times ``t``.

    >>> batch_bounds(np.array([0.0, 3.0, 10.5, 31.0]), 10.0)
    [(0, 2), (2, 3), (3, 4)]
    """
    if len(t) == 0:
        return []
    batch = np.floor((t - t[0]) / batch_s).astype(np.int64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(batch)) + 1, [len(t)]])
    return list(zip(starts[:-1].tolist(), starts[1:].tolist()))


def measurements_from_scenario(
    scenario: model.Scenario, *, batch_s: float | None = None, adsb_sensor_fallback: str = "ADSB"
) -> Iterator[pd.DataFrame]:
    """Radar plots and ADS-B positions of a scenario, time-ordered, in consecutive batches of ``batch_s``
    (default: the shortest radar scan period). Each batch is a frame with MEASUREMENT_COLUMNS."""
    every = measurement_table(scenario, adsb_sensor_fallback=adsb_sensor_fallback)
    for a, b in batch_bounds(every["t"].to_numpy(float), batch_s or default_batch_s(scenario.sensors)):
        yield every.iloc[a:b]
