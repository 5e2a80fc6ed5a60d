"""Small hand-made cases for examples and tests of the assessment and the warning: one flight each, with the
tracks a tracker would give of it and the events the detectors would report, built from
:mod:`centinela.detect.synthetic` geometry (not from the simulator, so every fact is known exactly).

- :func:`dark_dawn_stop` — a light plane with no transponder and no flight plan arrives from the Bolivian side,
  stops 10 minutes on a clandestine strip just after dawn and leaves the way it came;
- :func:`airliner_with_plan` — an A320-class jet at cruise, ADS-B and a filed flight plan;
- :func:`helicopter_hop` — an army helicopter from a base to an outpost, slow, dark, no flight plan;
- :func:`mission_dawn_trip` — a mission plane with no transponder and no flight plan takes off at dawn from a
  registered airfield of the valley and lands on a community strip inside Peru.

>>> case = dark_dawn_stop()
>>> sorted(case.outputs.tracks["track_id"].unique())
['P1', 'P2']
>>> case.outputs.events["kind"].tolist()
['ground_stop']
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from centinela import model
from centinela.assess.places import military_bases
from centinela.detect.synthetic import (
    air_bridge_stop,
    radar_tracks,
    straight_track,
    trajectory,
)

# 2026-06-01 11:05 UTC = 06:05 local time in the VRAEM, ten minutes before sunrise: a landing some ten minutes
# later is "just after dawn".
DAWN_T0 = 1_780_311_900.0
# 2026-06-01 17:00 UTC = noon local: nothing about it is dawn.
NOON_T0 = 1_780_333_200.0
STRIP_LAT, STRIP_LON = -12.62, -73.95  # a valley floor site, away from the bases


@dataclass
class Case:
    """One hand-made situation: the scenario inputs, the outputs of the stages before the assessment, and the
    truth of the one flight (states every second)."""

    scenario: model.Scenario
    outputs: model.Outputs
    truth: pd.DataFrame
    registered: pd.DataFrame


def radar(lat: float = -12.52, lon: float = -73.83) -> model.Sensor:
    """A primary radar on a ridge (3,000 m) that looks down into the valleys (mask −5°)."""
    return model.Sensor("PSR-1", "psr", lat, lon, 3_000.0, scan_s=10.0, range_max_m=250_000.0, sigma_range_m=60.0,
                        sigma_azimuth_deg=0.2, pd=0.9, clutter_per_scan=0.0, mask_deg=-5.0)


def adsb_receiver() -> model.Sensor:
    return model.Sensor("ADSB-1", "adsb", -12.52, -73.83, 3_000.0, range_max_m=350_000.0)


def registered_fields() -> pd.DataFrame:
    """A tiny registry: two real airfields of the region (ICAO codes and positions from airportsdata)."""
    return model.conform(pd.DataFrame({
        "icao": ["SPJC", "SPZO"], "name": ["Lima Jorge Chavez", "Cusco Velasco Astete"],
        "lat": [-12.0219, -13.5357], "lon": [-77.1143, -71.9388], "elevation_m": [34.0, 3310.0]}),
        model.AIRFIELD_COLUMNS)


def scenario(sensors: list[model.Sensor], flightplans: pd.DataFrame | None = None) -> model.Scenario:
    return model.Scenario(
        path=None, sensors=sensors, plots=model.empty_frame(model.PLOT_COLUMNS),
        adsb=model.empty_frame(model.ADSB_COLUMNS), observations=model.empty_frame(model.OBSERVATION_COLUMNS),
        flightplans=flightplans if flightplans is not None else model.empty_frame(model.FLIGHTPLAN_COLUMNS),
        airfields=None)


def strip_catalogue(first_seen: float, landings: int = 1, *, strip_id: str = "S1", lat: float = STRIP_LAT,
                    lon: float = STRIP_LON, registered: bool = False) -> pd.DataFrame:
    """An airstrip catalogue of one strip."""
    return model.conform(pd.DataFrame([{
        "id": strip_id, "lat": lat, "lon": lon, "registered": registered, "icao": None, "landings": landings,
        "first_seen": first_seen, "last_seen": first_seen, "confidence": 0.9}]), model.AIRSTRIP_COLUMNS)


def dark_dawn_stop(*, t0: float = DAWN_T0, ground_s: float = 600.0, known_strip: bool = False,
                   approach_from_deg: float = 100.0) -> Case:
    """A dark air-bridge stop. ``known_strip``: the strip was in the catalogue (with two earlier landings) a
    day before this flight, as a live system would know it."""
    truth = air_bridge_stop(STRIP_LAT, STRIP_LON, approach_from_deg=approach_from_deg,
                            depart_to_deg=approach_from_deg, ground_s=ground_s, t0=t0, cruise_agl_m=1_500.0)
    truth = _extend_inbound(truth, minutes=25.0)
    sensor = radar()
    tracks = radar_tracks(truth, sensor, seed=3)
    tracks["flight_id"] = "F1"
    on_ground = truth[truth["on_ground"].to_numpy(bool)]
    t_land, t_off = float(on_ground["t"].min()), float(on_ground["t"].max())
    events = _events([{"kind": "ground_stop", "t": t_land, "t_end": t_off, "lat": STRIP_LAT + 0.001,
                       "lon": STRIP_LON, "track_ids": sorted(tracks["track_id"].unique()), "airstrip_id": "S1",
                       "confidence": 0.9}])
    if known_strip:
        strips = strip_catalogue(t0 - 86_400.0, landings=3)
    else:
        strips = strip_catalogue(t_land, landings=1)
    outputs = model.Outputs(tracks=tracks, events=events, airstrips=strips)
    return Case(scenario([sensor]), outputs, truth, registered_fields())


def _extend_inbound(truth: pd.DataFrame, minutes: float) -> pd.DataFrame:
    """Prepend ``minutes`` of straight cruise on the inbound course, so that a warning has time to be raised."""
    first = truth.iloc[0]
    vn, ve = float(first["vn_mps"]), float(first["ve_mps"])
    steps = np.arange(-minutes * 60.0, 0.0, 1.0)
    from centinela.geo.frames import LocalFrame

    frame = LocalFrame(float(first["lat"]), float(first["lon"]))
    lat, lon, _ = frame.to_geodetic(ve * steps, vn * steps, 0.0)
    before = pd.DataFrame({"t": float(first["t"]) + steps, "lat": lat, "lon": lon, "alt_m": float(first["alt_m"]),
                           "on_ground": False, "speed_mps": float(first["speed_mps"]), "vn_mps": vn, "ve_mps": ve})
    return pd.concat([before, truth], ignore_index=True)


def airliner_with_plan(*, t0: float = NOON_T0) -> Case:
    """An airliner crossing the valley at 10,000 m and 230 m/s with ADS-B and a matching flight plan."""
    tracks = straight_track(lat0=-12.3, lon0=-74.6, heading_deg=120.0, speed_mps=230.0, alt_m=10_000.0,
                            duration_s=1_200.0, track_id="A1", t0=t0)
    tracks["icao24"], tracks["callsign"], tracks["sensors"], tracks["flight_id"] = "e8044c", "LPE2021", "ADSB-1", "F2"
    plans = model.conform(pd.DataFrame([{
        "callsign": "LPE2021", "icao24": "E8044C", "aircraft_type": "A320", "origin": "SPJC", "destination": "SPZO",
        "off_block": t0 - 1_800.0, "eta": t0 + 2_400.0}]), model.FLIGHTPLAN_COLUMNS)
    outputs = model.Outputs(tracks=tracks, events=_events([]), airstrips=strip_catalogue(t0 - 86_400.0))
    return Case(scenario([adsb_receiver()], plans), outputs, pd.DataFrame(), registered_fields())


def helicopter_hop(*, t0: float = DAWN_T0) -> Case:
    """An army helicopter leaves a base at 50 m/s and 300 m above the valley, slows to a hover and lands at an
    outpost 25 km away; dark, no flight plan."""
    base = military_bases().iloc[0]
    waypoints = [(0.0, 0.0, 0.0, 900.0, True), (20.0, 0.0, 0.0, 950.0, False),
                 (80.0, 0.0, 2_000.0, 1_100.0, False), (480.0, 0.0, 22_000.0, 1_100.0, False),
                 (600.0, 0.0, 24_500.0, 1_000.0, False), (720.0, 0.0, 25_000.0, 920.0, False),
                 (760.0, 0.0, 25_000.0, 900.0, True)]
    truth = trajectory(waypoints, float(base["lat"]), float(base["lon"]), t0=t0)
    sensor = radar(-11.33, -74.53)  # far enough to see the low helicopter over the ridges
    tracks = radar_tracks(truth, sensor, seed=5, prefix="H")
    tracks["flight_id"] = "F3"
    end = truth.iloc[-1]
    events = _events([{"kind": "landing", "t": float(end["t"]), "t_end": float(end["t"]), "lat": float(end["lat"]),
                       "lon": float(end["lon"]), "track_ids": sorted(tracks["track_id"].unique()),
                       "airstrip_id": "OUTPOST", "confidence": 0.6}])
    strips = strip_catalogue(float(end["t"]), strip_id="OUTPOST", lat=float(end["lat"]), lon=float(end["lon"]))
    outputs = model.Outputs(tracks=tracks, events=events, airstrips=strips)
    return Case(scenario([sensor]), outputs, truth, registered_fields())


# Mazamari (SPMF), the registered airfield mission planes fly from (position from airportsdata).
MAZAMARI_LAT, MAZAMARI_LON, MAZAMARI_ELEV_M = -11.3254, -74.5356, 690.0


def mission_dawn_trip(*, t0: float = DAWN_T0 - 1_800.0) -> Case:
    """A Cessna 206 of a mission leaves Mazamari at dawn, cruises 600 m above the valley at 60 m/s and lands on
    a community strip 45 km to the south-east, where it stays half an hour; dark and with no flight plan, as
    a third of the simulator's mission planes are. It never comes near the border."""
    waypoints = [(0.0, 0.0, 0.0, MAZAMARI_ELEV_M, True), (60.0, 0.0, 0.0, MAZAMARI_ELEV_M, True),
                 (90.0, 700.0, -700.0, MAZAMARI_ELEV_M + 50.0, False),
                 (300.0, 9_000.0, -9_000.0, MAZAMARI_ELEV_M + 600.0, False),
                 (680.0, 30_000.0, -30_000.0, MAZAMARI_ELEV_M + 600.0, False),
                 (800.0, 32_300.0, -32_300.0, MAZAMARI_ELEV_M + 50.0, False),
                 (830.0, 32_500.0, -32_500.0, MAZAMARI_ELEV_M, True),
                 (830.0 + 1_800.0, 32_500.0, -32_500.0, MAZAMARI_ELEV_M, True)]
    truth = trajectory(waypoints, MAZAMARI_LAT, MAZAMARI_LON, t0=t0)
    sensor = radar()  # the ridge radar above Pichari, 100 km to the south-east, sees the whole trip
    tracks = radar_tracks(truth, sensor, seed=7, prefix="M")
    tracks["flight_id"] = "F4"
    airborne = truth[~truth["on_ground"].to_numpy(bool)]
    t_off, t_land = float(airborne["t"].min()), float(airborne["t"].max())
    end = truth.iloc[-1]
    ids = sorted(tracks["track_id"].unique())
    events = _events([
        {"kind": "takeoff", "t": t_off, "t_end": t_off, "lat": MAZAMARI_LAT, "lon": MAZAMARI_LON,
         "track_ids": ids, "airstrip_id": "SPMF", "confidence": 0.8},
        {"kind": "landing", "t": t_land, "t_end": t_land, "lat": float(end["lat"]), "lon": float(end["lon"]),
         "track_ids": ids, "airstrip_id": "COMMUNITY", "confidence": 0.8}])
    strips = pd.concat([
        strip_catalogue(t0 - 86_400.0, landings=20, strip_id="SPMF", lat=MAZAMARI_LAT, lon=MAZAMARI_LON,
                        registered=True),
        strip_catalogue(t0 - 86_400.0, landings=2, strip_id="COMMUNITY", lat=float(end["lat"]),
                        lon=float(end["lon"]))], ignore_index=True)
    registered = model.conform(pd.concat([registered_fields(), pd.DataFrame([{
        "icao": "SPMF", "name": "Mazamari", "lat": MAZAMARI_LAT, "lon": MAZAMARI_LON,
        "elevation_m": MAZAMARI_ELEV_M}])], ignore_index=True), model.AIRFIELD_COLUMNS)
    outputs = model.Outputs(tracks=tracks, events=events, airstrips=strips)
    return Case(scenario([sensor]), outputs, truth, registered)


def _events(records: list[dict]) -> pd.DataFrame:
    if not records:
        return model.empty_frame(model.EVENT_COLUMNS)
    return model.conform(pd.DataFrame(records), model.EVENT_COLUMNS)
