"""Sensor physics of the simulator on hand-made traffic: what a primary radar cannot see, what a secondary
radar reports, clutter, terrain masking and observer posts."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from centinela.geo.frames import bearing_deg, destination
from centinela.geo.terrain import SyntheticVraemTerrain
from centinela.model import Sensor
from centinela.sim import default_config
from centinela.sim.config import resolve_config
from centinela.sim.scenario import build_sensors
from centinela.sim.sensors import StateTable, observer_reports, radar_plots
from centinela.sim.traffic import Aircraft, Flight

T0 = 1_780_300_800.0  # 2026-06-01 08:00 UTC
DURATION_S = 600.0
TERRAIN = SyntheticVraemTerrain()
# A radar on the flat Beni plains (Bolivia), where nothing hides a target: only the radar itself decides.
PLAINS = (-13.0, -66.0)


def _radar(kind="psr", pd=1.0, clutter=0.0, **kw) -> Sensor:
    lat, lon = kw.pop("lat", PLAINS[0]), kw.pop("lon", PLAINS[1])
    alt = kw.pop("alt_m", float(TERRAIN.elevation_m(lat, lon)) + 30.0)
    return Sensor(f"{kind.upper()}-T", kind, lat, lon, alt, scan_s=10.0, range_max_m=150_000.0, sigma_range_m=50.0,
                  sigma_azimuth_deg=0.2, pd=pd, clutter_per_scan=clutter, mask_deg=kw.pop("mask_deg", 0.0))


def _track(lat0, lon0, heading_deg, speed_mps, alt_m, on_ground=False, transponder=False):
    """1 s states of an aircraft flying straight at constant speed and altitude."""
    t = T0 + np.arange(DURATION_S + 1)
    lat, lon = destination(lat0, lon0, heading_deg, speed_mps * (t - T0))
    h = np.radians(heading_deg)
    n = t.size
    if callable(alt_m):  # terrain-following: a function of position
        alt_m = alt_m(lat, lon)
    alt = np.broadcast_to(np.asarray(alt_m, float), (n,)).copy()
    return {"t_s": t, "lat": lat, "lon": lon, "alt_m": alt, "on_ground": np.full(n, on_ground),
                "gs_mps": np.full(n, float(speed_mps)), "track_deg": np.full(n, heading_deg % 360.0), "vr_mps": np.zeros(n),
                "vn_mps": np.full(n, speed_mps * np.cos(h)), "ve_mps": np.full(n, speed_mps * np.sin(h)),
                "transponder": np.full(n, transponder)}


def _table(*tracks) -> StateTable:
    cat = lambda k: np.concatenate([tr[k] for tr in tracks])
    count = np.array([tr["t_s"].size for tr in tracks])
    return StateTable(cat("t_s"), cat("lat"), cat("lon"), cat("alt_m"), cat("on_ground"), cat("gs_mps"),
                      cat("track_deg"), cat("vr_mps"), cat("vn_mps"), cat("ve_mps"), cat("transponder"),
                      np.r_[0, np.cumsum(count)[:-1]], count)


def _flights(n, kind="general", icao24=None, callsign=None, squawk=None):
    return [Flight(kind, Aircraft("C206", None, icao24, squawk is not None, False), None, ("takeoff", 0, T0),
                   callsign=callsign, squawk=squawk) for _ in range(n)]


def _plots(sensor, states, flights, cfg=None, seed=0):
    cfg = cfg or default_config()
    return radar_plots(sensor, states, flights, cfg, TERRAIN, T0, T0 + DURATION_S, np.random.default_rng(seed))


def _point(bearing, distance_m):
    lat, lon = destination(PLAINS[0], PLAINS[1], bearing, distance_m)
    return float(lat), float(lon)


def test_primary_radar_sees_a_moving_aircraft_every_scan():
    radar = _radar()
    lat, lon = _point(45.0, 40_000.0)
    plots = _plots(radar, _table(_track(lat, lon, 45.0, 60.0, 1_500.0)), _flights(1))
    assert len(plots) == pytest.approx(DURATION_S / radar.scan_s, abs=1)
    # Each plot is taken when the beam points at the target: az/360 of the way through a scan.
    phase = ((plots["t"] - plots["t"].iloc[0]) % radar.scan_s).to_numpy()
    assert np.allclose(phase, 0.0, atol=0.05) | np.allclose(phase, radar.scan_s, atol=0.05)
    assert plots["azimuth_deg"].between(44.0, 46.0).all()
    assert plots["alt_m"].isna().all() and plots["icao24"].isna().all()


@pytest.mark.parametrize("case", ["on the ground", "hovering", "slow", "tangential"])
def test_primary_radar_is_blind_to_ground_hover_slow_and_tangential_targets(case):
    radar = _radar()
    lat, lon = _point(45.0, 40_000.0)
    track = {
        "on the ground": _track(lat, lon, 45.0, 0.0, float(TERRAIN.elevation_m(lat, lon)), on_ground=True),
        "hovering": _track(lat, lon, 45.0, 0.0, 1_500.0),
        "slow": _track(lat, lon, 45.0, 10.0, 1_500.0),  # below the ~15 m/s MTI cut (CONTRACT.md)
        "tangential": _track(lat, lon, 135.0, 60.0, 1_500.0),  # crossing: no radial speed at first
    }[case]
    plots = _plots(radar, _table(track), _flights(1))
    if case == "tangential":
        # Crossing at 60 m/s, 40 km out, the radial speed is v^2 t / r: it leaves the 1.5 m/s notch after
        # ~17 s, so the first scans are missed and the later ones are not.
        assert len(plots) > 0 and plots["t"].min() > T0 + 15.0
    else:
        assert plots.empty


def test_secondary_radar_reports_identity_only_while_the_transponder_is_on():
    ssr = _radar("ssr")
    lat, lon = _point(90.0, 60_000.0)
    on = _track(lat, lon, 90.0, 70.0, 2_000.0, transponder=True)
    off = _track(lat, lon, 270.0, 70.0, 2_000.0)
    flights = _flights(1, icao24="e84123", callsign="OB1234", squawk="7000") + _flights(1, squawk="7000")
    plots = _plots(ssr, _table(on, off), flights)
    assert len(plots) > 50
    assert (plots["icao24"] == "e84123").all() and (plots["callsign"] == "OB1234").all()
    assert (plots["squawk"] == "7000").all()
    # Mode S altitude in 25 ft steps (ICAO Annex 10): 2,000 m is 6,561.7 ft -> 6,550 ft.
    assert np.allclose(plots["alt_m"], 6_550 * 0.3048, atol=0.1)
    mode_c = _flights(1, squawk="2341")
    plots = _plots(ssr, _table(on), mode_c)
    assert plots["icao24"].isna().all() and np.allclose(plots["alt_m"], 6_600 * 0.3048, atol=0.1)


def test_clutter_is_poisson_and_uniform_over_the_coverage_disc():
    radar = _radar(pd=0.0, clutter=5.0)
    plots = _plots(radar, _table(_track(*_point(0.0, 10_000.0), 0.0, 60.0, 1_000.0)), _flights(1))
    scans = DURATION_S / radar.scan_s
    assert len(plots) / scans == pytest.approx(5.0, rel=0.25)
    assert plots["range_m"].max() <= radar.range_max_m
    # Uniform over a disc: half the plots beyond R / sqrt(2).
    assert (plots["range_m"] > radar.range_max_m / np.sqrt(2)).mean() == pytest.approx(0.5, abs=0.12)


def test_low_valley_flight_drops_out_of_a_ridge_radar_while_a_high_one_stays():
    # The radar on the ridge top near Pichari, as in the hard profile (easy puts it in the valley).
    cfg = resolve_config("easy", {"sensors": {"PSR-PICHARI": {"site_search_km": 15.0, "mask_deg": -2.0}}})
    radar = next(s for s in build_sensors(cfg, TERRAIN) if s.id == "PSR-PICHARI")
    radar = dataclasses.replace(radar, pd=1.0, clutter_per_scan=0.0)
    # Along the lower Urubamba valley, ~90 km east, beyond the Vilcabamba ridges: once hugging the terrain
    # at 150 m, once at 7,000 m.
    lat0, lon0 = -12.10, -73.15
    heading = float(bearing_deg(-12.10, -73.15, -11.60, -73.25))
    low = _track(lat0, lon0, heading, 60.0, lambda lat, lon: TERRAIN.elevation_m(lat, lon) + 150.0)
    high = _track(lat0, lon0, heading, 60.0, 7_000.0)
    scans = DURATION_S / radar.scan_s
    assert len(_plots(radar, _table(high), _flights(1), cfg)) >= 0.9 * scans
    assert len(_plots(radar, _table(low), _flights(1), cfg)) == 0


def test_hard_radar_detects_less_than_easy_on_the_same_traffic():
    tracks = [_track(*_point(b, 50_000.0), b, 60.0, 1_500.0) for b in (10.0, 100.0, 200.0, 300.0)]
    states = _table(*tracks)
    counts = {}
    for profile in ("easy", "hard"):
        c = default_config(profile)["sensors"]["PSR-PICHARI"]
        radar = _radar(pd=c["pd"], clutter=0.0)
        counts[profile] = len(_plots(radar, states, _flights(4, kind="narco")))  # a small plane: factor 1
    scans = 4 * DURATION_S / 10.0
    assert counts["easy"] / scans == pytest.approx(0.9, abs=0.06)
    assert counts["hard"] / scans == pytest.approx(0.7, abs=0.07)


def test_observer_reports_bearings_of_nearby_aircraft_and_only_sounds_at_night():
    post = Sensor("OBS-T", "observer", PLAINS[0], PLAINS[1], float(TERRAIN.elevation_m(*PLAINS)) + 2.0,
                  range_max_m=8_000.0, sigma_azimuth_deg=10.0)
    cfg = default_config()
    cfg["observers"]["false_reports_per_day"] = 0.0
    passes = _table(_track(*_point(90.0, 4_000.0), 0.0, 0.0, 600.0))  # 4 km east, airborne, still
    rng = np.random.default_rng(1)
    night = observer_reports(post, passes, cfg, TERRAIN, T0, T0 + DURATION_S, rng)  # 03:00 local
    assert len(night) > 0 and (night["kind"] == "sound").all()
    day = StateTable(**{**passes.__dict__, "t": passes.t + 8 * 3600.0})  # 11:00 local
    reports = observer_reports(post, day, cfg, TERRAIN, T0 + 8 * 3600.0, T0 + 8 * 3600.0 + DURATION_S, rng)
    sightings = reports[reports["kind"] == "sighting"]
    assert len(sightings) > 0
    assert np.abs((sightings["azimuth_deg"] - 90.0 + 180.0) % 360.0 - 180.0).median() < 20.0
