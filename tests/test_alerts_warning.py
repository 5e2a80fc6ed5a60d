"""The inbound warning on hand-made flights, with the shipped model."""
from __future__ import annotations

import pandas as pd

from centinela.alerts import warn
from centinela.alerts.warning import EtaWindow, SiteSpread, predict_sites
from centinela.assess import load_model
from centinela.assess.examples import (
    DAWN_T0,
    STRIP_LAT,
    STRIP_LON,
    airliner_with_plan,
    dark_dawn_stop,
    helicopter_hop,
    mission_dawn_trip,
)
from centinela.geo.frames import haversine_m


def landing_time(case) -> float:
    return float(case.truth.loc[case.truth["on_ground"].to_numpy(bool), "t"].min())


def test_inbound_air_bridge_flight_is_alerted_once_with_site_and_eta_window():
    case = dark_dawn_stop(known_strip=True)
    alerts = warn(case.scenario, case.outputs, registered=case.registered)
    assert len(alerts) == 1, "one alert per flight, updated rather than repeated"
    alert = alerts.iloc[0]
    t_land = landing_time(case)
    assert alert["t_issued"] < t_land - 5 * 60, "raised at least five minutes before the landing"
    site = alert["predicted_site"]
    assert site["airstrip_id"] == "S1"
    assert haversine_m(site["lat"], site["lon"], STRIP_LAT, STRIP_LON) < 2_000.0
    assert abs(alert["eta"] - t_land) <= alert["eta_window_s"] / 2, "the landing falls inside the ETA window"
    assert 0.0 <= alert["score"] <= 1.0
    assert "no_transponder" in alert["indicators"], "the alert says why it was raised"
    updates = alert["updates"]
    assert updates and all(u["t"] > alert["t_issued"] for u in updates)
    assert max(u["t"] for u in updates) < t_land, "updates stop when the flight lands"


def test_an_alert_waits_for_a_minute_and_four_updates_of_track():
    from centinela.alerts.warning import may_alert, track_so_far

    # Fused radars: five plots in 50 s are no velocity yet; a track of two plots over 100 s is no track.
    rows = pd.DataFrame({"alert_key": ["fused"] * 6 + ["sparse"] * 2, "t": [0.0, 5, 10, 15, 50, 60, 0, 100]})
    assert may_alert(track_so_far(rows)).tolist() == [False, False, False, False, False, True, False, False]


def test_two_aircraft_joined_later_by_an_event_each_get_their_alert():
    # Two dark planes inbound ten minutes apart, two tracker flights. Later, a ground stop pairs the first one's
    # track with the second one's (as the detector may, when both vanish near one strip): the assessment joins them
    # into one flight, but at the second plane's inbound nothing joined them yet, so it gets its own alert.
    first, second = dark_dawn_stop(known_strip=True), dark_dawn_stop(known_strip=True, t0=DAWN_T0 + 600.0,
                                                                     approach_from_deg=80.0)
    tracks_b = second.outputs.tracks.assign(track_id="B" + second.outputs.tracks["track_id"].astype(str),
                                            flight_id="F2")
    tracks = pd.concat([first.outputs.tracks, tracks_b], ignore_index=True)
    join = first.outputs.events.assign(t=float(tracks["t"].max()) - 60.0, t_end=float(tracks["t"].max()),
                                       track_ids=[[str(first.outputs.tracks["track_id"].iloc[-1]),
                                                   str(tracks_b["track_id"].iloc[0])]])
    first.outputs.tracks = tracks
    first.outputs.events = pd.concat([first.outputs.events, join], ignore_index=True)
    alerts = warn(first.scenario, first.outputs, registered=first.registered)
    assert sorted(alerts["flight_id"]) == ["F1", "F2"]
    tracks = first.outputs.tracks
    assert all(set(ids) <= set(tracks.loc[tracks["flight_id"] == f, "track_id"])
               for ids, f in zip(alerts["track_ids"], alerts["flight_id"])), "each alert names its own plane's tracks"


def test_site_uncertainty_is_the_fitted_spread_of_the_distance_ahead_at_least():
    case = dark_dawn_stop(known_strip=True)
    alert = warn(case.scenario, case.outputs, registered=case.registered).iloc[0]
    spread = SiteSpread(**load_model().site_spread)  # the shipped model's fit
    assert alert["site_distance_m"] > 5_000.0, "the alert is raised while the strip is still well ahead"
    floor = float(spread.sigma_m([alert["eta_basis"]], [alert["site_distance_m"]])[0])
    assert alert["sigma_site_m"] >= floor > 0.3 * alert["site_distance_m"], \
        "a strip tens of km ahead is not announced with its own few-hundred-metre position error"
    for update in alert["updates"]:
        floor = float(spread.sigma_m([update["eta_basis"]], [update["site_distance_m"]])[0])
        assert update["sigma_site_m"] >= 0.99 * floor
    # The last update, close to the strip, is much tighter than the one at issue.
    assert alert["updates"][-1]["sigma_site_m"] < alert["sigma_site_m"]


def test_warning_is_causal_the_same_alert_from_the_track_cut_at_issue_time():
    case = dark_dawn_stop(known_strip=True)
    full = warn(case.scenario, case.outputs, registered=case.registered).iloc[0]
    cut = case.outputs.tracks["t"] <= full["t_issued"]
    case.outputs.tracks = case.outputs.tracks[cut]
    case.outputs.events = case.outputs.events[case.outputs.events["t"] <= full["t_issued"]]
    live = warn(case.scenario, case.outputs, registered=case.registered).iloc[0]
    assert live["t_issued"] == full["t_issued"]
    assert live["predicted_site"] == full["predicted_site"]
    assert abs(live["eta"] - full["eta"]) < 1e-6


def test_army_helicopter_dawn_hop_without_transponder_raises_no_alert():
    case = helicopter_hop()
    assert len(warn(case.scenario, case.outputs, registered=case.registered)) == 0


def test_airliner_with_plan_raises_no_alert():
    case = airliner_with_plan()
    assert len(warn(case.scenario, case.outputs, registered=case.registered)) == 0


def test_site_prediction_prefers_the_strip_on_the_nose_and_the_used_one():
    sites = pd.DataFrame({"airstrip_id": ["AHEAD", "ABEAM", "USED"], "lat": [-12.5, -12.0, -12.52],
                          "lon": [-74.0, -73.5, -74.0], "registered": False, "first_seen": 0.0, "sigma_m": 300.0})
    # At (-12.5, -73.5) flying west (270°): AHEAD and USED are both on the nose; USED has landings before.
    import numpy as np

    uses = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    p = predict_sites([-12.5, -12.5], [-73.5, -73.5], [270.0, 270.0], [70.0, 70.0], [100.0, 100.0], sites, uses)
    assert p["airstrip_id"].tolist() == ["AHEAD", "USED"]
    distance = haversine_m(-12.5, -73.5, -12.5, -74.0)
    assert abs(p["eta"].iloc[0] - (100.0 + distance / 70.0)) < 120.0


def test_the_strip_in_use_wins_over_one_nearer_the_nose_within_the_approach_offset():
    import numpy as np

    from centinela.geo.frames import destination

    # Air-bridge crews fly to a point off to one side of their strip and come in low from there: 30 km out their
    # strip may lie 35 degrees off the course. A strip used four times there beats one used once dead ahead; a
    # lone strip 70 degrees off is still where the flight may be going (ahead of the wing line).
    (habit_lat, ahead_lat, side_lat), (habit_lon, ahead_lon, side_lon) = destination(
        np.full(3, -12.5), np.full(3, -73.5), np.array([305.0, 270.0, 200.0]), np.full(3, 30_000.0))
    sites = pd.DataFrame({"airstrip_id": ["HABIT", "AHEAD", "SIDE"], "lat": [habit_lat, ahead_lat, side_lat],
                          "lon": [habit_lon, ahead_lon, side_lon], "first_seen": 0.0, "sigma_m": 300.0})
    uses = np.array([[4.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    p = predict_sites([-12.5] * 2, [-73.5] * 2, [270.0] * 2, [70.0] * 2, [100.0] * 2, sites, uses, min_uses=1.0)
    assert p["airstrip_id"].tolist() == ["HABIT", "SIDE"]


def test_a_descending_aircraft_is_sent_to_the_strip_where_its_descent_ends():
    import numpy as np

    from centinela.geo.frames import destination
    from centinela.geo.terrain import GriddedTerrain

    # Two used strips on the nose of a plane flying west at 70 m/s: 10 km and 25 km ahead, on ground at 500 m.
    (near_lat, far_lat), (near_lon, far_lon) = destination(np.full(2, -12.5), np.full(2, -73.5), 270.0,
                                                           np.array([10_000.0, 25_000.0]))
    sites = pd.DataFrame({"airstrip_id": ["NEAR", "FAR"], "lat": [near_lat, far_lat], "lon": [near_lon, far_lon],
                          "first_seen": 0.0, "sigma_m": 300.0})
    flat = GriddedTerrain(np.array([-13.0, -12.0]), np.array([-74.5, -73.0]), np.full((2, 2), 500.0))
    uses = np.ones((3, 2))
    # 1,500 m above the strips, sinking 4 m/s: the descent meets the ground 1500 / 4 * 70 = 26 km ahead.
    p = predict_sites([-12.5] * 3, [-73.5] * 3, [270.0] * 3, [70.0] * 3, [100.0] * 3, sites, uses,
                      alt_m=[2_000.0, 2_000.0, np.nan], sink_mps=[4.0, 0.0, np.nan], terrain=flat)
    assert p["airstrip_id"].tolist() == ["FAR", "NEAR", "NEAR"], "level or unknown height: the nearer strip"
    assert p["site_share"].iloc[0] > 0.6, "the descent weighs, within its 40 % uncertainty"


def test_eta_window_grows_with_time_to_go():
    window = EtaWindow(min_width_s=300.0, width_per_s_to_go=0.25)
    assert window.width_s(60.0) == 300.0
    assert window.width_s(3600.0) == 900.0


def test_dark_mission_plane_at_dawn_from_a_registered_airfield_raises_no_alert():
    case = mission_dawn_trip()
    assert case.outputs.tracks["t"].max() - case.outputs.tracks["t"].min() > 10 * 60, "a real flight, not a blip"
    assert len(warn(case.scenario, case.outputs, registered=case.registered)) == 0


def test_only_strips_used_by_suspect_flights_are_destinations():
    from centinela.alerts.warning import prior_uses, suspect_landings

    # Two flights land on strip S at t=1000: the mission plane never looked suspect, the other did before landing.
    rows = pd.DataFrame({"track_id": ["M", "M", "N", "N"], "flight": ["m", "m", "n", "n"],
                         "t": [900.0, 990.0, 900.0, 990.0], "inbound_log_odds": [-3.0, -2.0, 2.0, 5.0]})
    events = pd.DataFrame({"kind": ["landing", "landing", "takeoff"], "t": [1000.0, 1000.0, 1500.0],
                           "airstrip_id": ["S", "S", "S"], "track_ids": [["M"], ["N"], ["N"]]})
    suspect = suspect_landings(rows, events, threshold_log_odds=4.0)
    assert suspect["track_ids"].tolist() == [["N"]]
    assert len(suspect_landings(rows, events, threshold_log_odds=6.0)) == 0
    # The catalogue says S has 5 landings: 3 from earlier runs and this run's two. Only the suspect one counts.
    airstrips = pd.DataFrame({"id": ["S"], "landings": [5], "registered": [False]})
    sites = pd.DataFrame({"airstrip_id": ["S"]})
    uses = prior_uses(sites, airstrips, events, [999.0, 1001.0], counted=suspect)
    assert uses[:, 0].tolist() == [3.0, 4.0]


def test_a_strip_is_placed_where_the_landings_known_at_the_time_put_it():
    import numpy as np

    from centinela.alerts.warning import site_positions

    # Strip S: a landing estimate at t=100 1 km north of where a better one at t=200 puts it.
    events = pd.DataFrame({"kind": ["landing", "landing", "takeoff"], "t": [100.0, 200.0, 300.0],
                           "lat": [-12.491, -12.5, -12.4], "lon": [-74.0, -74.0, -74.0],
                           "airstrip_id": ["S", "S", "S"], "confidence": [0.8, 0.8, 0.8],
                           "sigma_major_m": [1_000.0, 300.0, 300.0]})
    airstrips = pd.DataFrame({"id": ["S"], "landings": [2], "registered": [False], "lat": [-12.4993],
                              "lon": [-74.0]})
    sites = pd.DataFrame({"airstrip_id": ["S"], "lat": [-12.4993], "lon": [-74.0]})
    lat, lon = site_positions(sites, airstrips, events, np.array([150.0, 250.0]))
    assert lat[0, 0] == -12.491, "at t=150 only the first landing was known"
    expected = (-12.491 / 1_000.0**2 + -12.5 / 300.0**2) / (1 / 1_000.0**2 + 1 / 300.0**2)
    assert abs(lat[1, 0] - expected) < 1e-9, "then the precision-weighted mean of both; take-offs do not place it"
    assert lon.tolist() == [[-74.0], [-74.0]]
    # A strip that earlier runs placed keeps the catalogue's position.
    lat, _ = site_positions(sites, airstrips.assign(landings=5), events, np.array([150.0]))
    assert lat[0, 0] == -12.4993


def test_the_strip_eta_adds_the_model_files_approach_time():
    from dataclasses import replace

    case = dark_dawn_stop(known_strip=True)
    shipped = load_model()
    approach_s = EtaWindow(**shipped.eta_window).approach_s
    longer = replace(shipped, eta_window={**shipped.eta_window, "approach_s": approach_s + 600.0})
    a, b = (warn(case.scenario, case.outputs, registered=case.registered, model_file=m).iloc[0]
            for m in (shipped, longer))
    assert a["eta_basis"] == b["eta_basis"] == "strip"
    assert abs((b["eta"] - a["eta"]) - 600.0) < 1.0, "ten more minutes of approach, ten minutes later"
    assert b["eta_window_s"] > a["eta_window_s"], "the window grows with the stated time to go"
