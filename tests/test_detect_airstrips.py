"""The airstrip catalogue: clustering landings, registered-airfield matching, successors of cratered strips,
and persistence across runs through the real airstrips.geojson writer and reader."""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela.detect import detect_events, update_airstrips
from centinela.detect.synthetic import trajectory, transponder_tracks
from centinela.geo.frames import destination, haversine_m
from centinela.io.airfields import registered_airfields
from centinela.io.outputs import read_airstrips_geojson, write_airstrips_geojson

DAY = 86_400.0
T0 = 1_748_500_000.0
STRIP_A = (-12.60, -73.90)
STRIP_B = destination(-12.60, -73.90, 120.0, 4_000.0)  # the replacement, 4 km away
STRIP_B = (float(STRIP_B[0]), float(STRIP_B[1]))


def _landings(site, days, *, scatter_m=200.0, seed=0, per_day=2, confidence=0.8) -> pd.DataFrame:
    """Landing events scattered around a site the way radar-blind estimates are (sigma ``scatter_m``)."""
    rng = np.random.default_rng(seed)
    t = np.array([T0 + d * DAY + 3_600.0 * k for d in days for k in range(per_day)])
    lat, lon = destination(np.full(len(t), site[0]), np.full(len(t), site[1]), rng.uniform(0, 360, len(t)),
                           np.abs(rng.normal(0, scatter_m, len(t))))
    return pd.DataFrame({"kind": "landing", "t": t, "t_end": t, "lat": lat, "lon": lon,
                         "track_ids": [[f"P{i}"] for i in range(len(t))], "airstrip_id": pd.NA,
                         "confidence": confidence, "sigma_major_m": scatter_m})


def test_landings_cluster_into_one_strip_near_the_site():
    strips, events = update_airstrips(_landings(STRIP_A, days=[0, 1, 2]), registered=None)
    assert len(strips) == 1
    strip = strips.iloc[0]
    assert haversine_m(strip["lat"], strip["lon"], *STRIP_A) < 150.0
    assert strip["landings"] == 6 and not strip["registered"] and pd.isna(strip["icao"])
    assert strip["first_seen"] == T0 and strip["last_seen"] == T0 + 2 * DAY + 3_600.0
    assert 0.99 < strip["confidence"] <= 1.0  # six independent landings at 0.8
    assert (events["airstrip_id"] == strip["id"]).all()


def test_vague_estimates_on_either_side_of_a_strip_make_one_strip_between_them():
    # A radar-blind stop is placed from the approach's last plot on one side of the strip and the departure's
    # first on the other: estimates ~1.3 km either side, each with a 1.4 km sigma.
    east = destination(*STRIP_A, 60.0, 1_300.0)
    west = destination(*STRIP_A, 240.0, 1_300.0)
    sides = [_landings((float(p[0]), float(p[1])), days=[d], scatter_m=1_400.0, per_day=1).assign(
        lat=float(p[0]), lon=float(p[1])) for d, p in enumerate([east, west, east, west])]
    strips, events = update_airstrips(pd.concat(sides, ignore_index=True), registered=None)
    assert len(strips) == 1, "2.6 km apart, but within their combined uncertainty"
    assert haversine_m(strips["lat"].iloc[0], strips["lon"].iloc[0], *STRIP_A) < 100.0
    assert events["airstrip_id"].nunique() == 1


def test_precise_estimates_of_nearby_strips_stay_apart_and_vague_ones_do_not_chain():
    two_km = destination(*STRIP_A, 90.0, 2_000.0)
    precise = pd.concat([_landings(STRIP_A, days=[0], scatter_m=150.0, seed=3),
                         _landings((float(two_km[0]), float(two_km[1])), days=[1], scatter_m=150.0, seed=4)],
                        ignore_index=True)
    strips, _ = update_airstrips(precise, registered=None)
    assert len(strips) == 2, "precise estimates 2 km apart are two strips"
    # Vague estimates every 3 km along a valley: each agrees with its neighbours, but not all with each other.
    lat, lon = destination(np.full(6, STRIP_A[0]), np.full(6, STRIP_A[1]), 0.0, np.arange(6) * 3_000.0)
    chain = _landings(STRIP_A, days=range(6), scatter_m=1_400.0, per_day=1).assign(lat=lat, lon=lon)
    strips, _ = update_airstrips(chain, registered=None)
    assert len(strips) >= 3, "15 km of valley is not one strip"
    assert (strips["landings"] <= 2).all()


def test_cratered_strip_is_replaced_by_a_successor():
    # Strip A used on days 0-2, then cratered; strip B, 4 km away, in use from day 5 to day 8.
    events = pd.concat([_landings(STRIP_A, days=[0, 1, 2], seed=1), _landings(STRIP_B, days=[5, 6, 7, 8], seed=2)],
                       ignore_index=True)
    strips, _ = update_airstrips(events, registered=None)
    assert len(strips) == 2
    a = strips.loc[strips["lat"].sub(STRIP_A[0]).abs().idxmin()]
    b = strips.drop(index=a.name).iloc[0]
    assert b["successor_of"] == a["id"]
    assert pd.isna(a["successor_of"])


def test_strips_in_use_at_the_same_time_are_not_successors():
    events = pd.concat([_landings(STRIP_A, days=[0, 1], seed=1), _landings(STRIP_B, days=[1, 2], seed=2)],
                       ignore_index=True)
    strips, _ = update_airstrips(events, registered=None)
    assert strips["successor_of"].isna().all()


def test_catalogue_persists_across_two_runs(tmp_path):
    run1 = _landings(STRIP_A, days=[0, 1], seed=3)
    strips1, _ = update_airstrips(run1, registered=None)
    path = tmp_path / "airstrips.geojson"
    write_airstrips_geojson(strips1, path)
    previous = read_airstrips_geojson(path)

    # The next run sees two more days at A and a new strip 4 km away.
    run2 = pd.concat([_landings(STRIP_A, days=[2, 3], seed=4), _landings(STRIP_B, days=[3], seed=5)],
                     ignore_index=True)
    strips2, events2 = update_airstrips(run2, registered=None, previous=previous)
    a_id = strips1.iloc[0]["id"]
    assert a_id in set(strips2["id"])
    a = strips2.set_index("id").loc[a_id]
    assert a["landings"] == 8
    assert a["first_seen"] == strips1.iloc[0]["first_seen"]
    assert a["last_seen"] == run2[run2["lat"].sub(STRIP_A[0]).abs() < 0.01]["t"].max()
    assert haversine_m(a["lat"], a["lon"], *STRIP_A) < 150.0
    assert len(strips2) == 2
    assert set(events2["airstrip_id"]) == set(strips2["id"])

    # Running the second batch again does not count its landings twice.
    strips3, _ = update_airstrips(run2, registered=None, previous=strips2)
    assert strips3.set_index("id").loc[a_id, "landings"] == 8
    assert list(strips3["id"]) == list(strips2["id"])


def test_landings_on_registered_airfields_match_the_right_icao_code():
    registered = registered_airfields(None)
    fields = registered.set_index("icao")
    # Landing estimates 1.2 km off the reference points of Lima and Cusco, and one at a clandestine strip.
    lima = destination(fields.at["SPJC", "lat"], fields.at["SPJC", "lon"], 45.0, 1_200.0)
    cusco = destination(fields.at["SPZO", "lat"], fields.at["SPZO", "lon"], 250.0, 1_200.0)
    events = pd.DataFrame({"kind": ["landing", "landing", "landing", "takeoff"],
                           "t": [T0, T0 + 100, T0 + 200, T0 + 900], "t_end": [T0, T0 + 100, T0 + 200, T0 + 900],
                           "lat": [float(lima[0]), float(cusco[0]), STRIP_A[0], float(cusco[0])],
                           "lon": [float(lima[1]), float(cusco[1]), STRIP_A[1], float(cusco[1])],
                           "track_ids": [["A"], ["B"], ["C"], ["B"]], "airstrip_id": pd.NA, "confidence": 0.9})
    strips, events = update_airstrips(events, registered)
    assert events["airstrip_id"].tolist()[:2] == ["SPJC", "SPZO"]
    assert events["airstrip_id"].iloc[3] == "SPZO"  # the take-off goes to the same field
    registered_strips = strips[strips["registered"]].set_index("id")
    assert registered_strips.loc["SPJC", "icao"] == "SPJC"
    assert registered_strips.loc["SPZO", "landings"] == 1
    assert not strips.set_index("id").loc[events["airstrip_id"].iloc[2], "registered"]


def test_cooperative_landing_at_a_registered_field_end_to_end():
    # An airliner (ADS-B) lands at Cusco with no terrain model: the field's elevation stands for the ground.
    registered = registered_airfields(None)
    field = registered.set_index("icao").loc["SPZO"]
    elev = float(field["elevation_m"])
    waypoints = [(0.0, 0.0, -20_000.0, elev + 1_000.0, False), (300.0, 0.0, -1_000.0, elev + 50.0, False),
                 (320.0, 0.0, 0.0, elev, True), (380.0, 0.0, 1_200.0, elev, True), (900.0, 0.0, 1_300.0, elev, True)]
    truth = trajectory(waypoints, float(field["lat"]), float(field["lon"]))
    tracks = transponder_tracks(truth, icao24="e80001", callsign="LPE2041")
    events = detect_events(tracks, registered=registered)
    assert "landing" in set(events["kind"])
    strips, events = update_airstrips(events, registered)
    landing = events[events["kind"] == "landing"].iloc[0]
    assert landing["airstrip_id"] == "SPZO"
    assert strips.set_index("id").loc["SPZO", "registered"]
