"""Measurement conversion and preparation: geometry against geo.frames, covariance consistency, ADS-B."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from test_track_synth import adsb_messages, path, radar, radar_plots, scenario

from centinela import model
from centinela.geo.frames import LocalFrame, geodetic_to_aer
from centinela.track import adsb_positions, measurements_from_scenario
from centinela.track.convert import SensorGeometry

# A radar 250 km from the frame origin: meridian convergence and earth curvature both matter there.
FAR_RADAR = model.Sensor("R", "psr", -11.0, -72.5, 3600.0, sigma_range_m=120.0, sigma_azimuth_deg=0.35)
FRAME = LocalFrame(-12.5, -74.0)


def targets(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lat = FAR_RADAR.lat + rng.uniform(-1.2, 1.2, n)
    lon = FAR_RADAR.lon + rng.uniform(-1.2, 1.2, n)
    return lat, lon, rng.uniform(800.0, 4500.0, n)


def test_plots_at_known_altitude_land_on_the_target():
    lat, lon, alt = targets(3000, np.random.default_rng(0))
    az, _, r = geodetic_to_aer(FAR_RADAR.lat, FAR_RADAR.lon, FAR_RADAR.alt_m, lat, lon, alt)
    z, _ = SensorGeometry(FRAME, [FAR_RADAR]).polar_to_local(np.zeros(len(r), int), r, az, alt, np.zeros(len(r)))
    e, n, _ = FRAME.to_enu(lat, lon, alt)
    # the local sphere vs the ellipsoid: a few metres at 170 km, against a 120-m range error
    assert np.abs(z - np.stack([e, n], axis=1)).max() < 5.0


def test_noisy_plots_at_an_assumed_altitude_are_consistent_with_their_covariance():
    rng = np.random.default_rng(1)
    lat, lon, alt = targets(20_000, rng)
    az, _, r = geodetic_to_aer(FAR_RADAR.lat, FAR_RADAR.lon, FAR_RADAR.alt_m, lat, lon, alt)
    r = r + rng.normal(0, FAR_RADAR.sigma_range_m, len(r))
    az = az + rng.normal(0, FAR_RADAR.sigma_azimuth_deg, len(r))
    # the altitude is unknown: assume 2,650 ± 1,070 m (the mean and spread of the uniform 800–4,500 m)
    z, cov = SensorGeometry(FRAME, [FAR_RADAR]).polar_to_local(
        np.zeros(len(r), int), r, az, np.full(len(r), 2650.0), np.full(len(r), 1070.0))
    e, n, _ = FRAME.to_enu(lat, lon, alt)
    err = z - np.stack([e, n], axis=1)
    nees = np.einsum("ni,nij,nj->n", err, np.linalg.inv(cov), err)
    assert 1.8 < nees.mean() < 2.2  # chi-square with 2 degrees of freedom
    assert np.abs(err.mean(axis=0)).max() < 5.0  # no bias


def test_local_to_geodetic_inverts_the_frame_at_any_altitude():
    lat, lon, alt = targets(500, np.random.default_rng(2))
    geometry = SensorGeometry(FRAME, [FAR_RADAR])
    e, n, _ = FRAME.to_enu(lat, lon, alt)
    back_lat, back_lon = geometry.local_to_geodetic(e, n, alt)
    assert np.abs(back_lat - lat).max() < 1e-6 and np.abs(back_lon - lon).max() < 1e-6


def test_adsb_identity_and_velocity_are_carried_forward_only():
    msgs = pd.DataFrame({
        "t": [0.0, 1.0, 2.0, 3.0, 30.0],
        "icao24": ["E80001", "e80001", "e80001", "e80001", "e80001"],
        "msg_type": [3, 1, 4, 3, 3],
        "callsign": [None, "OB1234 ", None, None, None],
        "gs_mps": [None, None, 60.0, None, None], "track_deg": [None, None, 180.0, None, None],
        "lat": [-12.5, None, None, -12.51, -12.6], "lon": [-73.8, None, None, -73.8, -73.8],
        "alt_m": [2000.0, None, None, 2000.0, 2000.0],
    })
    pos = adsb_positions(model.conform(msgs, model.ADSB_COLUMNS), "ADSB-1")
    assert list(pos.t) == [0.0, 3.0, 30.0]
    assert set(pos.icao24) == {"e80001"}
    assert pd.isna(pos.callsign.iloc[0]) and list(pos.callsign.iloc[1:]) == ["OB1234", "OB1234"]
    assert np.isnan(pos.vn_mps.iloc[0]) and round(pos.vn_mps.iloc[1]) == -60 and abs(pos.ve_mps.iloc[1]) < 1e-6
    assert np.isnan(pos.vn_mps.iloc[2])  # a 28-s-old velocity no longer describes the aircraft
    assert (pos.sensor == "ADSB-1").all()


def test_batches_are_time_ordered_and_hold_one_scan():
    s = radar("PSR-1", clutter_per_scan=5.0)
    truth = path(300.0, east_km=30, north_km=20)
    rx = model.Sensor("ADSB-1", "adsb", s.lat, s.lon, 800.0)
    scene = scenario([s, rx], radar_plots(s, {"a": truth}, np.random.default_rng(3), t_end_s=300.0),
                     adsb_messages(truth, "e80001"))
    batches = list(measurements_from_scenario(scene))
    assert sum(map(len, batches)) == len(scene.plots) + (scene.adsb.msg_type == 3).sum()
    assert all(b.t.max() - b.t.min() < 10.0 for b in batches)
    assert all(a.t.max() <= b.t.min() for a, b in itertools.pairwise(batches))
    assert {"PSR-1", "ADSB-1"} <= set(pd.concat(batches).sensor)
