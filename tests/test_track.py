"""The tracker on small synthetic scenes: accuracy, clutter, fusion, identity, crossing targets, empty input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_track_synth import adsb_messages, path, radar, radar_plots, scenario, truth_at

from centinela import model
from centinela.geo.frames import LocalFrame, haversine_m
from centinela.track import MEASUREMENT_COLUMNS, Tracker, track

TRACK_OUTPUT = list(model.TRACK_COLUMNS) + list(model.TRACK_OPTIONAL_COLUMNS)


def errors_m(tracks: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    lat, lon = truth_at(truth, tracks.t.to_numpy())
    return haversine_m(lat, lon, tracks.lat.to_numpy(), tracks.lon.to_numpy())


def cross_range_sigma_m(sensor: model.Sensor, truth: pd.DataFrame) -> float:
    """RMS of the plot error the radar makes along this path (range and cross-range combined)."""
    e, n, _ = LocalFrame(sensor.lat, sensor.lon).to_enu(truth.lat, truth.lon, truth.alt_m)
    cross = np.hypot(e, n) * np.radians(sensor.sigma_azimuth_deg)
    return float(np.sqrt(np.mean(cross**2 + sensor.sigma_range_m**2)))


def test_straight_target_is_one_track_more_accurate_than_its_plots():
    s = radar("PSR-1", pd=0.9)
    truth = path(900.0, east_km=30, north_km=20)
    tracks = track(scenario([s], radar_plots(s, {"a": truth}, np.random.default_rng(1))))
    assert tracks.track_id.nunique() == 1
    settled = tracks.iloc[5:]
    rmse = np.sqrt(np.mean(errors_m(settled, truth) ** 2))
    assert rmse < 0.9 * cross_range_sigma_m(s, truth)
    speed_error = np.hypot(settled.ve_mps - 70.0, settled.vn_mps)
    assert np.sqrt(np.mean(speed_error**2)) < 8.0
    # sigma_pos_m is honest: the errors are of its size, neither far above nor far below
    assert 0.5 < rmse / settled.sigma_pos_m.mean() < 2.0


def test_turning_target_is_followed_through_turns():
    s = radar("PSR-1", pd=0.9)
    truth = path(900.0, east_km=-40, north_km=-30, heading_deg=0.0, turns=((200, 320, 3.0), (500, 560, -3.0)))
    tracks = track(scenario([s], radar_plots(s, {"a": truth}, np.random.default_rng(2))))
    assert tracks.track_id.nunique() == 1
    err = errors_m(tracks.iloc[5:], truth)
    in_turn = np.interp(tracks.t.iloc[5:], truth.t, truth.turning.astype(float)) > 0.5
    noise = cross_range_sigma_m(s, truth)
    assert np.sqrt(np.mean(err[in_turn] ** 2)) < 1.5 * noise
    assert np.sqrt(np.mean(err**2)) < noise
    # +360° then −180° of turning: the path ends heading 180°, and so does the track
    end = tracks.iloc[-5:]
    assert np.all(np.abs(np.degrees(np.arctan2(end.ve_mps, end.vn_mps)) % 360 - 180.0) < 10.0)


def test_clutter_alone_confirms_no_track():
    s = radar("PSR-1", pd=0.9, clutter_per_scan=40.0)
    rng = np.random.default_rng(3)
    far_away = path(10.0, east_km=5000, north_km=0)  # out of range: clutter only
    plots = radar_plots(s, {"x": far_away}, rng, t_end_s=1800.0)
    assert len(plots) > 6000
    tracks = track(scenario([s], plots))
    assert tracks.track_id.nunique() == 0
    assert list(tracks.columns)[: len(TRACK_OUTPUT)] == TRACK_OUTPUT


def test_targets_in_clutter_are_tracked_and_false_tracks_are_rare():
    s = radar("PSR-1", pd=0.85, clutter_per_scan=30.0)
    truths = {f"a{i}": path(900.0, east_km=-60 + 20 * i, north_km=-50 + 15 * i, heading_deg=40 * i) for i in range(6)}
    tracks = track(scenario([s], radar_plots(s, truths, np.random.default_rng(4), t_end_s=900.0)))
    found, false = set(), 0
    for _, rows in tracks.groupby("track_id"):
        near = [name for name, truth in truths.items() if np.median(errors_m(rows, truth)) < 1000.0]
        false += not near
        found.update(near)
    assert found == set(truths)
    assert false == 0


def test_two_radars_seeing_one_plane_make_one_track():
    a, b = radar("PSR-1", pd=0.9), radar("PSR-2", 60.0, 10.0, pd=0.9)
    truth = path(600.0, east_km=20, north_km=30)
    rng = np.random.default_rng(5)
    plots = pd.concat([radar_plots(a, {"x": truth}, rng), radar_plots(b, {"x": truth}, rng)]).sort_values("t")
    tracks = track(scenario([a, b], plots))
    assert tracks.track_id.nunique() == 1
    assert (tracks.sensors == "PSR-1,PSR-2").mean() > 0.6  # most updates fuse both radars
    both = np.sqrt(np.mean(errors_m(tracks.iloc[5:], truth) ** 2))
    one = track(scenario([a], plots[plots.sensor == "PSR-1"]))
    assert both < np.sqrt(np.mean(errors_m(one.iloc[5:], truth) ** 2))


def test_identity_from_ssr_and_adsb_reaches_the_fused_track():
    psr = radar("PSR-1", pd=0.9)
    ssr = radar("SSR-1", kind="ssr", pd=0.95)
    adsb_rx = model.Sensor("ADSB-1", "adsb", psr.lat, psr.lon, 800.0)
    plane, other = path(600.0, east_km=30, north_km=0), path(600.0, east_km=-30, north_km=20, heading_deg=200)
    rng = np.random.default_rng(6)
    plots = pd.concat([
        radar_plots(psr, {"p": plane, "o": other}, rng),
        radar_plots(ssr, {"o": other}, rng, identity={"o": {"icao24": "E80AB1", "squawk": "7000"}}),
    ]).sort_values("t")
    adsb = adsb_messages(plane, "e8012f", callsign="OB1402", rng=rng)
    tracks = track(scenario([psr, ssr, adsb_rx], plots, adsb))
    assert tracks.track_id.nunique() == 2
    by_icao = tracks.groupby("track_id").icao24.agg(lambda s: set(s.dropna()))
    assert sorted(map(frozenset, by_icao)) == sorted([frozenset({"e8012f"}), frozenset({"e80ab1"})])
    plane_rows = tracks[tracks.icao24 == "e8012f"]
    assert set(plane_rows.callsign) == {"OB1402"}
    assert plane_rows.sensors.str.contains("PSR-1").mean() > 0.8  # PSR plots feed the ADS-B aircraft's track
    other_rows = tracks[tracks.icao24 == "e80ab1"]
    assert set(other_rows.squawk) == {"7000"}
    assert other_rows.alt_m.notna().all() and (other_rows.alt_m - 2500.0).abs().max() < 60.0
    assert other_rows.sensors.str.contains("SSR-1").mean() > 0.85


def test_crossing_targets_keep_their_tracks():
    s = radar("PSR-1", pd=0.95)
    # two planes cross at 60° at the same moment, 40 km from the radar
    a = path(600.0, east_km=40 - 21.0, north_km=0.0, heading_deg=90.0)
    b = path(600.0, east_km=40 - 21.0 * np.cos(np.radians(60)), north_km=-21.0 * np.sin(np.radians(60)),
             heading_deg=30.0)
    truths = {"a": a, "b": b}
    tracks = track(scenario([s], radar_plots(s, truths, np.random.default_rng(7))))
    assert tracks.track_id.nunique() == 2
    for _, rows in tracks.groupby("track_id"):
        closest = np.argmin([errors_m(rows, truth) for truth in truths.values()], axis=0)
        assert len(set(closest[3:])) == 1  # the track stays on one plane, before and after the crossing
        assert np.all(np.min([errors_m(rows, truth) for truth in truths.values()], axis=0)[3:] < 600)


def test_empty_input_gives_an_empty_frame_with_the_columns():
    tracks = track(scenario([radar("PSR-1")]))
    assert len(tracks) == 0
    assert list(tracks.columns) == TRACK_OUTPUT
    assert str(tracks.track_id.dtype) == "string"
    tracker = Tracker([radar("PSR-1")])
    assert list(tracker.update(model.empty_frame(MEASUREMENT_COLUMNS)).columns) == TRACK_OUTPUT
    assert len(tracker.finish()) == 0
    assert len(track(scenario([]))) == 0


def test_streaming_and_batch_give_the_same_tracks():
    s = radar("PSR-1", pd=0.9, clutter_per_scan=10.0)
    truth = path(300.0, east_km=30, north_km=20)
    scene = scenario([s], radar_plots(s, {"x": truth}, np.random.default_rng(8), t_end_s=300.0))
    tracker = Tracker(scene.sensors)
    from centinela.track import measurements_from_scenario
    streamed = pd.concat([tracker.update(b) for b in measurements_from_scenario(scene)] + [tracker.finish()])
    batch = track(scene)
    assert len(streamed) == len(batch)
    assert np.allclose(streamed.sort_values(["t", "track_id"]).lat, batch.lat)
    assert streamed.t.is_monotonic_increasing or len(streamed.track_id.unique()) == 1


def test_unknown_sensor_is_an_input_error():
    from centinela.errors import InputError
    tracker = Tracker([radar("PSR-1")])
    with pytest.raises(InputError, match="PSR-9"):
        tracker.update(pd.DataFrame({"t": [0.0], "sensor": ["PSR-9"], "range_m": [1e4], "azimuth_deg": [10.0]}))


def test_unknown_parameter_is_refused():
    with pytest.raises(TypeError):
        Tracker([radar("PSR-1")], max_coast_minutes=3)
