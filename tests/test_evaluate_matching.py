"""The building blocks of evaluation on hand-computed cases: one-to-one matching, GOSPA at one time, sampling
of positions between updates, and which truth flight a track follows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from centinela import model
from centinela.evaluate.association import associate_tracks
from centinela.evaluate.gospa import GOSPA_CUTOFF_M, MAX_GAP_S, gospa_at_one_time, sample_positions
from centinela.evaluate.matching import match_points
from centinela.geo.frames import LocalFrame, destination

LAT0, LON0 = -12.5, -73.8


def _north_of(distance_m: float) -> tuple[float, float]:
    lat, lon = destination(LAT0, LON0, 0.0, distance_m)
    return float(lat), float(lon)


def test_matching_is_one_to_one_and_maximises_the_number_of_pairs():
    # The closest pair is truth 0 – output 0, but taking it would leave truth 1 with nothing in reach
    # (a greedy nearest-first matching makes one pair here, the optimal one two).
    t0, t1 = (LAT0, LON0), _north_of(3_000.0)
    o0, o1 = _north_of(1_400.0), _north_of(-1_900.0)
    m = match_points([t0[0], t1[0]], [t0[1], t1[1]], [o0[0], o1[0]], [o0[1], o1[1]], radius_m=2_000.0)
    assert sorted(zip(m.true_index.tolist(), m.output_index.tolist())) == [(0, 1), (1, 0)]
    assert m.distance_m.round().tolist() == [1_900.0, 1_600.0]


def test_matching_prefers_the_closer_pair_in_space_time():
    lat, lon = _north_of(100.0)
    m = match_points([LAT0], [LON0], [lat, LAT0], [lon, LON0], 2_000.0, [0.0], [10.0, 800.0], 900.0)
    assert m.output_index.tolist() == [0] and m.dt_s.tolist() == [10.0]


def test_matching_applies_both_gates_exactly():
    inside, outside = _north_of(1_990.0), _north_of(2_010.0)
    m = match_points([LAT0, LAT0], [LON0, LON0], [inside[0], outside[0]], [inside[1], outside[1]], 2_000.0,
                     [0.0, 5_000.0], [899.0, 5_000.0], 900.0)
    assert m.true_index.tolist() == [0] and m.output_index.tolist() == [0]
    late = match_points([LAT0], [LON0], [LAT0], [LON0], 2_000.0, [0.0], [901.0], 900.0)
    assert len(late) == 0


def test_matching_ignores_points_with_missing_coordinates_and_handles_empty_input():
    m = match_points([LAT0, np.nan], [LON0, LON0], [np.nan, LAT0], [LON0, LON0], 2_000.0)
    assert m.true_index.tolist() == [0] and m.output_index.tolist() == [1]
    assert len(match_points([], [], [LAT0], [LON0], 2_000.0)) == 0


def test_gospa_at_one_time_splits_into_localisation_missed_and_false():
    truth = np.array([[0.0, 0.0], [10_000.0, 0.0], [20_000.0, 0.0]])
    tracks = np.array([[0.0, 100.0], [10_000.0, 2_500.0], [50_000.0, 0.0]])
    g = gospa_at_one_time(truth, tracks)
    # 100 m localisation; the 2.5 km pair is beyond the cut-off: a missed target and a false track.
    assert (g.localisation_m, g.missed, g.false) == (100.0, 2, 2)
    assert g.total_m == pytest.approx(100.0 + GOSPA_CUTOFF_M / 2 * 4)
    assert gospa_at_one_time(truth, np.empty((0, 2))).total_m == pytest.approx(3 * GOSPA_CUTOFF_M / 2)


def test_sample_positions_interpolates_between_updates_and_skips_long_gaps():
    t = np.array([0.0, 20.0, 20.0 + MAX_GAP_S + 10.0, 100.0])
    xy = np.array([[0.0, 0.0], [200.0, 0.0], [900.0, 0.0], [1_000.0, 0.0]])
    grid = np.arange(0.0, 101.0, 10.0)
    k, pos = sample_positions(np.array(["a"] * 4), t, xy, grid)
    # Present at 0, 10, 20 (before the gap) and 90, 100 (after it), absent inside the gap.
    assert grid[k].tolist() == [0.0, 10.0, 20.0, 90.0, 100.0]
    assert pos[:, 0].tolist() == pytest.approx([0.0, 100.0, 200.0, 900.0, 1_000.0])


def test_sample_positions_keeps_objects_apart_and_honours_validity():
    ids = np.array(["a", "b", "a", "b"])
    t = np.array([0.0, 0.0, 20.0, 20.0])
    xy = np.array([[0.0, 0.0], [5_000.0, 0.0], [200.0, 0.0], [5_000.0, 0.0]])
    k, pos = sample_positions(ids, t, xy, np.array([0.0, 10.0, 20.0]), valid=np.array([True, True, True, False]))
    # b's second record is on the ground: b is present only at its first, airborne record.
    assert sorted(zip(k.tolist(), pos[:, 0].tolist())) == [(0, 0.0), (0, 5_000.0), (1, 100.0), (2, 200.0)]


def _states(truth_id: str, lat: float, t: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"t": t, "truth_id": truth_id, "lat": lat, "lon": np.linspace(-74.0, -73.5, len(t)),
                         "alt_m": 1_000.0, "on_ground": False, "transponder": False})


def test_track_follows_the_nearest_flight_only_when_close_and_overlapping():
    t = np.arange(0.0, 1_001.0, 10.0)
    states = pd.concat([_states("near", -12.50, t), _states("far", -12.60, t)], ignore_index=True)
    flights = pd.DataFrame({"truth_id": ["near", "far"], "kind": ["narco", "airline"], "callsign": None, "icao24": None})
    truth = model.Truth(states, flights, model.empty_frame(model.TRUTH_EVENT_COLUMNS))
    track_t = np.arange(100.0, 600.0, 10.0)
    lon = np.interp(track_t, t, np.linspace(-74.0, -73.5, len(t)))
    tracks = pd.concat([
        pd.DataFrame({"t": track_t, "track_id": "on-near", "lat": -12.51, "lon": lon}),  # ~1.1 km off "near"
        pd.DataFrame({"t": track_t, "track_id": "between", "lat": -12.55, "lon": lon}),  # ~5.5 km from both
        # Half its life after the flights ended: overlaps only 1 update in 50.
        pd.DataFrame({"t": track_t + 990.0, "track_id": "after", "lat": -12.50, "lon": lon}),
    ], ignore_index=True)
    a = associate_tracks(truth, tracks, LocalFrame(LAT0, LON0))
    assert a["track_id"].tolist() == ["on-near"]
    assert a["truth_id"].tolist() == ["near"] and a["kind"].tolist() == ["narco"]
    assert a["median_distance_m"].iloc[0] == pytest.approx(1_106.0, abs=5.0)
    assert a["overlap_fraction"].iloc[0] == 1.0
