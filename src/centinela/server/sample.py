"""A small hand-made air picture over the VRAEM, in the shape of ``analyze``'s outputs.

For the server's tests and for looking at the map without running the pipeline (``centinela serve --sample``).
It is not a simulation — no sensor model, no detector ran — just four plausible flights written the way the
pipeline writes its results:

- ``T-NARCO``: no transponder, no flight plan, comes in from the east, lands on the clandestine strip
  ``AS-0001`` just after dawn, stays ten minutes and leaves east again; an alert predicted the landing;
- ``T-LPE2021``: an airliner Lima → Cusco crossing the valley at cruise level, transponder on;
- ``T-HELO``: an army helicopter between two valley bases, no transponder;
- ``T-BUSH``: a bush flight with transponder landing at Mazamari (SPMF).

>>> out = sample_outputs()
>>> sorted(out.tracks["track_id"].unique())
['T-BUSH', 'T-HELO', 'T-LPE2021', 'T-NARCO']
>>> out.alerts["track_ids"].iloc[0]
['T-NARCO']
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela import model

# 2026-06-01 10:00 UTC = 05:00 in the VRAEM (UTC-5), half an hour before sunrise.
SAMPLE_START_S = 1780308000.0
UPDATE_S = 10.0  # one track update per radar scan
STRIP = ("AS-0001", -12.45, -73.85)  # clandestine strip on the Ene valley floor
MAZAMARI = ("SPMF", -11.3254, -74.5356)  # registered airfield at the valley's north end
PICHARI_BASE = (-12.52, -73.83)
SANTA_ROSA_BASE = (-12.72, -73.95)


def _leg(t0_s: float, start: tuple[float, float], end: tuple[float, float], speed_mps: float,
         alt_m: float) -> pd.DataFrame:
    """Straight flight from ``start`` to ``end`` (lat, lon) at ``speed_mps``, one row every UPDATE_S."""
    lat0, lon0 = start
    lat1, lon1 = end
    north_m = (lat1 - lat0) * 111_195.0
    east_m = (lon1 - lon0) * 111_195.0 * np.cos(np.radians((lat0 + lat1) / 2))
    length_m = float(np.hypot(north_m, east_m))
    duration_s = length_m / speed_mps
    t = np.arange(0.0, duration_s + UPDATE_S, UPDATE_S)
    f = np.clip(t / duration_s, 0.0, 1.0)
    return pd.DataFrame({
        "t": t0_s + t, "lat": lat0 + f * (lat1 - lat0), "lon": lon0 + f * (lon1 - lon0),
        "alt_m": np.full(len(t), alt_m), "vn_mps": north_m / duration_s, "ve_mps": east_m / duration_s,
    })


def _track(track_id: str, legs: list[pd.DataFrame], rng: np.random.Generator, *, icao24: str | None = None,
           callsign: str | None = None, squawk: str | None = None, sensors: str = "PSR-1") -> pd.DataFrame:
    df = pd.concat(legs, ignore_index=True)
    df["lat"] += rng.normal(0.0, 0.002, len(df))  # ~200 m of radar noise
    df["lon"] += rng.normal(0.0, 0.002, len(df))
    df["track_id"] = track_id
    df["flight_id"] = track_id
    df["sigma_pos_m"] = 250.0
    df["icao24"], df["callsign"], df["squawk"], df["sensors"] = icao24, callsign, squawk, sensors
    return df


def sample_outputs(start_s: float = SAMPLE_START_S, seed: int = 0) -> model.Outputs:
    """Four flights over about three hours from ``start_s`` (see the module doc)."""
    rng = np.random.default_rng(seed)
    strip_id, strip_lat, strip_lon = STRIP
    t_land = start_s + 75 * 60
    inbound = _leg(t_land - 40 * 60, (-12.30, -71.45), (strip_lat, strip_lon), 70.0, 2500.0)
    inbound["t"] += t_land - inbound["t"].iloc[-1]  # arrive exactly at t_land
    inbound.loc[inbound.index[-8:], "alt_m"] = np.linspace(1500.0, 700.0, 8)
    outbound = _leg(t_land + 10 * 60, (strip_lat, strip_lon), (-12.60, -71.40), 70.0, 2500.0)
    narco = _track("T-NARCO", [inbound, outbound], rng)
    narco.loc[:, "alt_m"] = np.nan  # primary radar only: no altitude
    airliner = _track("T-LPE2021", [_leg(start_s + 20 * 60, (-12.02, -76.2), (-13.54, -71.94), 220.0, 9500.0)], rng,
                      icao24="e8041a", callsign="LPE2021", squawk="2041", sensors="PSR-1,SSR-1,ADSB-1")
    helo = _track("T-HELO", [_leg(start_s + 60 * 60, PICHARI_BASE, SANTA_ROSA_BASE, 45.0, 1200.0),
                             _leg(start_s + 100 * 60, SANTA_ROSA_BASE, PICHARI_BASE, 45.0, 1200.0)], rng)
    bush = _track("T-BUSH", [_leg(start_s + 30 * 60, (-12.20, -73.90), MAZAMARI[1:], 60.0, 2000.0)], rng,
                  icao24="e80a11", callsign="OBM1234", squawk="1200", sensors="SSR-1,ADSB-1")
    tracks = model.conform(pd.concat([narco, airliner, helo, bush], ignore_index=True).sort_values(
        ["t", "track_id"], kind="stable").reset_index(drop=True), model.TRACK_COLUMNS, model.TRACK_OPTIONAL_COLUMNS)

    t_helo_land = start_s + 100 * 60 - 1
    events = model.conform(pd.DataFrame([
        {"kind": "landing", "t": t_land, "t_end": t_land + 600, "lat": strip_lat, "lon": strip_lon,
         "track_ids": ["T-NARCO"], "airstrip_id": strip_id, "confidence": 0.85},
        {"kind": "takeoff", "t": t_land + 600, "t_end": t_land + 600, "lat": strip_lat, "lon": strip_lon,
         "track_ids": ["T-NARCO"], "airstrip_id": strip_id, "confidence": 0.8},
        {"kind": "ground_stop", "t": t_land, "t_end": t_land + 600, "lat": strip_lat, "lon": strip_lon,
         "track_ids": ["T-NARCO"], "airstrip_id": strip_id, "confidence": 0.8},
        {"kind": "landing", "t": t_helo_land, "t_end": t_helo_land, "lat": SANTA_ROSA_BASE[0],
         "lon": SANTA_ROSA_BASE[1], "track_ids": ["T-HELO"], "airstrip_id": None, "confidence": 0.6},
        {"kind": "landing", "t": float(bush["t"].iloc[-1]), "t_end": float(bush["t"].iloc[-1]),
         "lat": MAZAMARI[1], "lon": MAZAMARI[2], "track_ids": ["T-BUSH"], "airstrip_id": "SPMF",
         "confidence": 0.9},
    ]).sort_values("t", kind="stable").reset_index(drop=True), model.EVENT_COLUMNS)
    airstrips = model.conform(pd.DataFrame([
        {"id": strip_id, "lat": strip_lat, "lon": strip_lon, "registered": False, "icao": None, "landings": 4,
         "first_seen": start_s - 6 * 86400, "last_seen": t_land, "confidence": 0.8},
        {"id": "SPMF", "lat": MAZAMARI[1], "lon": MAZAMARI[2], "registered": True, "icao": "SPMF",
         "landings": 1, "first_seen": float(bush["t"].iloc[-1]), "last_seen": float(bush["t"].iloc[-1]),
         "confidence": 1.0},
    ]), model.AIRSTRIP_COLUMNS)
    assessments = model.conform(pd.DataFrame({
        "track_id": ["T-NARCO", "T-LPE2021", "T-HELO", "T-BUSH"], "score": [0.91, 0.01, 0.34, 0.06]}),
        model.ASSESSMENT_COLUMNS)
    alerts = model.conform(pd.DataFrame([{
        "alert_id": "AL-0001", "track_ids": ["T-NARCO"], "score": 0.91, "t_issued": t_land - 25 * 60,
        "indicators": ["no transponder", "no flight plan", "inbound from the Bolivian border area",
                       "heading for a strip with earlier landings", "arrival just after dawn"],
        "predicted_site": {"lat": strip_lat, "lon": strip_lon, "airstrip_id": strip_id},
        "eta": t_land + 30.0, "eta_window_s": 300.0,
    }]), model.ALERT_COLUMNS)
    return model.Outputs(tracks=tracks, events=events, airstrips=airstrips, assessments=assessments, alerts=alerts,
                         stages={"sample": "hand-made sample picture, no pipeline ran"})
