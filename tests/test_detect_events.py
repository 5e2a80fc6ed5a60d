"""Events from tracks built from known trajectories (centinela.detect.synthetic): radar-blind ground stops,
hovering helicopters, touch-and-goes, border crossings and transponders switched off and on."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from centinela.detect import detect_events, flight_phases
from centinela.detect.synthetic import (
    T0,
    ValleyTerrain,
    air_bridge_stop,
    radar_tracks,
    straight_track,
    trajectory,
    transponder_tracks,
)
from centinela.geo.borders import Borders
from centinela.geo.frames import haversine_m
from centinela.model import EVENT_COLUMNS, Sensor

SITE = (-12.60, -73.90)  # a valley-floor strip in the VRAEM
TERRAIN = ValleyTerrain(*SITE, floor_m=600.0, axis_deg=0.0)
# A primary radar on a spur 28 km up the valley, looking slightly down into it.
RADAR = Sensor("PSR-1", "psr", -12.35, -73.90, 1_200.0, scan_s=10.0, range_max_m=200_000.0, mask_deg=-1.0)
ADSB = Sensor("ADSB-1", "adsb", -12.45, -73.85, 700.0, range_max_m=300_000.0)


def _kinds(events: pd.DataFrame) -> list[str]:
    return sorted(events["kind"].tolist())


@pytest.mark.parametrize("approach_from, depart_to", [(180.0, 180.0), (180.0, 0.0), (0.0, 0.0)])
def test_radar_blind_ground_stop_is_located_near_the_strip(approach_from, depart_to):
    truth = air_bridge_stop(*SITE, approach_from_deg=approach_from, depart_to_deg=depart_to, ground_s=600.0)
    tracks = radar_tracks(truth, RADAR, TERRAIN, seed=3)
    assert tracks["track_id"].nunique() == 2  # the radar lost it in the valley and found it again

    events = detect_events(tracks, sensors=[RADAR], terrain=TERRAIN)

    assert list(events.columns)[:len(EVENT_COLUMNS)] == list(EVENT_COLUMNS)
    stops = events[events["kind"] == "ground_stop"]
    assert len(stops) == 1
    stop = stops.iloc[0]
    error_m = float(haversine_m(stop["lat"], stop["lon"], *SITE))
    assert error_m < 300.0
    assert error_m < 3 * stop["sigma_major_m"]  # the ellipse is honest about it
    assert sorted(stop["track_ids"]) == sorted(tracks["track_id"].unique())
    ground_s = stop["t_end"] - stop["t"]
    assert 300.0 < ground_s < 1_200.0  # truth: 600 s on the ground
    assert stop["evidence"]["method"] == "radar_blind"
    assert 0.5 < stop["confidence"] <= 1.0
    # The same stop is also told as a landing and a take-off at the same place.
    assert {"landing", "takeoff"} <= set(events["kind"])


def test_ground_stop_without_terrain_still_pairs_the_tracks_with_a_wider_ellipse():
    truth = air_bridge_stop(*SITE, approach_from_deg=180.0, depart_to_deg=0.0)
    tracks = radar_tracks(truth, RADAR, TERRAIN, seed=4)
    events = detect_events(tracks)  # no sensors, no terrain: kinematics only
    stop = events[events["kind"] == "ground_stop"].iloc[0]
    assert haversine_m(stop["lat"], stop["lon"], *SITE) < 2_000.0
    assert stop["sigma_major_m"] > 300.0


def test_tracker_flight_id_link_gives_the_same_stop():
    truth = air_bridge_stop(*SITE, approach_from_deg=180.0, depart_to_deg=180.0)
    tracks = radar_tracks(truth, RADAR, TERRAIN, seed=5).assign(flight_id="F1")
    events = detect_events(tracks, sensors=[RADAR], terrain=TERRAIN)
    stop = events[events["kind"] == "ground_stop"].iloc[0]
    assert stop["evidence"]["flight_linked"] is True
    assert stop["flight_id"] == "F1"
    assert haversine_m(stop["lat"], stop["lon"], *SITE) < 300.0


def test_airborne_coverage_hole_is_not_a_stop():
    # A level flight at cruise speed through a 2-minute radar hole: two tracks, no landing.
    a = straight_track(heading_deg=0.0, duration_s=600.0, track_id="P1")
    b = straight_track(heading_deg=0.0, duration_s=600.0, track_id="P2", t0=T0 + 720.0,
                       lat0=float(a["lat"].iloc[-1]) + 70.0 * 120.0 / 111_000.0, lon0=float(a["lon"].iloc[-1]))
    events = detect_events(pd.concat([a, b], ignore_index=True))
    assert not set(events["kind"]) & {"landing", "takeoff", "ground_stop"}


def test_hovering_helicopter_is_not_a_landing():
    # A helicopter (ADS-B, with altitude) stops 300 m above the valley floor for 5 minutes and flies on.
    floor = 600.0
    hover_alt = floor + 300.0
    waypoints = [(0.0, 0.0, -20_000.0, hover_alt, False), (400.0, 0.0, 0.0, hover_alt, False),
                 (700.0, 0.0, 0.0, hover_alt, False), (1_100.0, 0.0, 20_000.0, hover_alt, False)]
    truth = trajectory(waypoints, *SITE)
    tracks = transponder_tracks(truth, icao24="e80123", callsign="EP-123")
    events = detect_events(tracks, terrain=TERRAIN)
    assert not set(events["kind"]) & {"landing", "takeoff", "ground_stop"}
    phases = flight_phases(tracks, terrain=TERRAIN)
    hovering = phases[(tracks["t"] > T0 + 420.0) & (tracks["t"] < T0 + 680.0)]["phase"]
    assert (hovering == "hover").all()
    assert phases.index.equals(tracks.index)


def test_touch_and_go_is_a_landing_and_a_takeoff_but_no_stop():
    floor = 600.0
    waypoints = [(0.0, 0.0, -15_000.0, floor + 800.0, False), (300.0, 0.0, -3_000.0, floor + 200.0, False),
                 (380.0, 0.0, 0.0, floor, True), (392.0, 0.0, 400.0, floor, True),
                 (480.0, 0.0, 3_500.0, floor + 300.0, False), (700.0, 0.0, 12_000.0, floor + 1_200.0, False)]
    truth = trajectory(waypoints, *SITE)
    tracks = transponder_tracks(truth, icao24="e80456", update_s=2.0)
    events = detect_events(tracks, terrain=TERRAIN)
    assert _kinds(events) == ["landing", "takeoff"]
    landing = events[events["kind"] == "landing"].iloc[0]
    assert landing["evidence"]["touch_and_go"] is True
    assert haversine_m(landing["lat"], landing["lon"], *SITE) < 200.0
    phases = flight_phases(tracks, terrain=TERRAIN)
    assert {"ground", "descent", "climb"} <= set(phases["phase"])


def test_cooperative_ground_stop_is_observed_directly():
    truth = air_bridge_stop(*SITE, approach_from_deg=180.0, depart_to_deg=0.0, ground_s=900.0)
    tracks = transponder_tracks(truth, icao24="e80789", update_s=5.0)
    events = detect_events(tracks, terrain=TERRAIN)
    stop = events[events["kind"] == "ground_stop"].iloc[0]
    assert stop["evidence"]["method"] == "observed"
    assert stop["t_end"] - stop["t"] == pytest.approx(900.0, abs=60.0)
    assert haversine_m(stop["lat"], stop["lon"], *SITE) < 300.0


def test_border_crossing_peru_to_bolivia():
    # East along 12.8 S from Peru's Madre de Dios into Bolivia's Pando.
    tracks = straight_track(lat0=-12.8, lon0=-69.6, heading_deg=90.0, speed_mps=70.0, duration_s=1_800.0)
    tracks["sigma_pos_m"] = 150.0
    events = detect_events(tracks)
    crossings = events[events["kind"] == "border_crossing"]
    assert len(crossings) == 1
    crossing = crossings.iloc[0]
    assert (crossing["evidence"]["from"], crossing["evidence"]["to"]) == ("PER", "BOL")
    border = Borders.default().border("PER", "BOL")
    assert border.distance(Point(crossing["lon"], crossing["lat"])) < 0.001  # on the line (~100 m)
    assert tracks["t"].min() < crossing["t"] < tracks["t"].max()
    assert crossing["confidence"] > 0.8


def test_noisy_track_along_the_border_does_not_cross_back_and_forth():
    rng = np.random.default_rng(1)
    tracks = straight_track(lat0=-12.8, lon0=-69.6, heading_deg=90.0, speed_mps=70.0, duration_s=1_800.0)
    tracks["lat"] += rng.normal(0, 0.004, len(tracks))  # ~450 m plot noise
    tracks["lon"] += rng.normal(0, 0.004, len(tracks))
    events = detect_events(tracks)
    assert (events["kind"] == "border_crossing").sum() == 1


def _fused_track_with_dark_middle() -> pd.DataFrame:
    """One fused track: ADS-B+PSR for 10 min, PSR only for 10 min, ADS-B+PSR again."""
    tracks = straight_track(heading_deg=45.0, duration_s=1_800.0, track_id="T7")
    dark = (tracks["t"] >= T0 + 600.0) & (tracks["t"] < T0 + 1_200.0)
    tracks["icao24"] = pd.array(np.where(dark, None, "e8abcd"), dtype="string")
    tracks["sensors"] = np.where(dark, "PSR-1", "PSR-1,ADSB-1")
    tracks.loc[dark, "alt_m"] = np.nan
    return tracks


def test_transponder_off_and_on_within_one_track():
    events = detect_events(_fused_track_with_dark_middle(), sensors=[RADAR, ADSB])
    assert _kinds(events) == ["transponder_off", "transponder_on"]
    off = events[events["kind"] == "transponder_off"].iloc[0]
    on = events[events["kind"] == "transponder_on"].iloc[0]
    assert off["t"] == pytest.approx(T0 + 590.0) and on["t_end"] == pytest.approx(T0 + 1_200.0)
    assert off["evidence"]["identity"]["icao24"] == "e8abcd"
    assert off["confidence"] > 0.8  # inside ADS-B range: the transponder went quiet, not out of reach


def test_transponder_off_across_two_tracks():
    # The ADS-B track ends in flight; a primary-only track goes on from where it was, 10 s later.
    coop = straight_track(heading_deg=90.0, duration_s=600.0, track_id="A1").assign(icao24="e8beef")
    end = coop.iloc[-1]
    dark = straight_track(heading_deg=90.0, duration_s=900.0, track_id="P9", t0=float(end["t"]) + 10.0,
                          lat0=float(end["lat"]), lon0=float(end["lon"]) + 700.0 / 108_600.0)
    dark["alt_m"] = np.nan
    events = detect_events(pd.concat([coop, dark], ignore_index=True), sensors=[RADAR, ADSB])
    off = events[events["kind"] == "transponder_off"]
    assert len(off) == 1
    assert off.iloc[0]["track_ids"] == ["A1", "P9"]
    assert not (events["kind"] == "transponder_on").any()


def test_events_are_empty_with_the_contract_columns_for_no_tracks():
    from centinela.model import TRACK_COLUMNS, empty_frame

    events = detect_events(empty_frame(TRACK_COLUMNS))
    assert events.empty and list(events.columns)[:len(EVENT_COLUMNS)] == list(EVENT_COLUMNS)


def _slowing_radar_track(east_m: float, final_mps: float = 35.0) -> pd.DataFrame:
    """A primary-radar track flying east at 70 m/s that slows to ``final_mps`` and ends ``east_m`` east of the
    valley axis (no altitude, 10 s updates)."""
    waypoints = [(0.0, east_m - 30_000.0, 0.0, 2_000.0, False), (300.0, east_m - 9_000.0, 0.0, 1_500.0, False),
                 (480.0, east_m - 2_700.0, 0.0, 1_000.0, False),
                 (480.0 + 2_700.0 / final_mps, east_m, 0.0, 800.0, False)]
    truth = trajectory(waypoints, *SITE, step_s=10.0)
    truth["track_id"], truth["sigma_pos_m"], truth["alt_m"] = "P1", 30.0, np.nan
    return truth[["t", "track_id", "lat", "lon", "alt_m", "vn_mps", "ve_mps", "sigma_pos_m"]]


def test_a_track_ending_toward_steep_ground_is_not_a_landing():
    # Slowing down toward the valley floor: a landing somewhere ahead. Toward the valley wall (slope 25%),
    # there is nowhere to land: the aircraft went on out of sight.
    into_valley = detect_events(_slowing_radar_track(east_m=-1_000.0), terrain=TERRAIN)
    into_wall = detect_events(_slowing_radar_track(east_m=2_500.0), terrain=TERRAIN)
    assert (into_valley["kind"] == "landing").sum() == 1
    assert not (into_wall["kind"] == "landing").any()
    # Without a terrain model nothing rules the wall out.
    assert (detect_events(_slowing_radar_track(east_m=2_500.0))["kind"] == "landing").sum() == 1


def test_a_track_lost_faster_than_approach_speed_is_not_a_landing():
    # Slowed from cruise to 48 m/s: still flying (a light single approaches at ~35 m/s), and it may land
    # kilometres on in any direction. Without a terrain model nothing else could rule the landing out.
    for terrain in (TERRAIN, None):
        assert not (detect_events(_slowing_radar_track(-1_000.0, final_mps=48.0), terrain=terrain)["kind"]
                    == "landing").any()
    assert (detect_events(_slowing_radar_track(-1_000.0, final_mps=48.0), max_unpaired_mps=60.0)["kind"]
            == "landing").sum() == 1, "the motion alone does suggest a landing"


def test_identity_lost_out_of_receiver_range_is_not_a_switch_off():
    # The only cooperative sensor is an ADS-B receiver 400 km away with a 250 km range: silence says nothing.
    far_receiver = Sensor("ADSB-FAR", "adsb", -9.0, -73.8, 500.0, range_max_m=250_000.0)
    events = detect_events(_fused_track_with_dark_middle().assign(
        sensors=lambda d: d["sensors"].str.replace("ADSB-1", "ADSB-FAR")), sensors=[RADAR, far_receiver])
    assert not events["kind"].str.startswith("transponder").any()


def test_departure_first_seen_circling_still_pairs_with_the_arrival():
    # The plane lands, and the radar first sees it again climbing in an orbit 1.5 km north of the strip
    # (a circling climb out of a valley): its heading says nothing, but the stop is still found.
    arrival = air_bridge_stop(*SITE, approach_from_deg=180.0, depart_to_deg=0.0)
    touchdown_t = float(arrival.loc[arrival["on_ground"], "t"].iloc[0])
    arrival_tracks = radar_tracks(arrival[arrival["t"] < touchdown_t], RADAR, TERRAIN, seed=6)
    angles = np.radians(np.arange(0, 361, 30))
    t_start = touchdown_t + 700.0 - T0
    orbit = [(t_start + 7.0 * k, 400.0 * np.sin(a), 1_500.0 + 400.0 * np.cos(a), 1_500.0, False)
             for k, a in enumerate(angles)]
    orbit.append((orbit[-1][0] + 300.0, 0.0, 1_900.0 + 12_000.0, 2_500.0, False))
    departure = trajectory(orbit, *SITE, step_s=10.0)
    departure["track_id"], departure["sigma_pos_m"], departure["alt_m"] = "P9", 40.0, np.nan
    tracks = pd.concat([arrival_tracks, departure[arrival_tracks.columns.drop("sensors")]], ignore_index=True)
    events = detect_events(tracks, sensors=[RADAR], terrain=TERRAIN)
    stop = events[events["kind"] == "ground_stop"].iloc[0]
    assert "circling" in stop["evidence"]["departure"]["method"]
    assert haversine_m(stop["lat"], stop["lon"], *SITE) < 1_000.0


def _orbit(t0_s: float, duration_s: float, centre_north_m: float, track_id: str) -> pd.DataFrame:
    """A light plane circling (radius 450 m, ~45 m/s: one turn a minute) 1,500 m above the valley floor."""
    times = np.arange(0.0, duration_s + 1.0, 5.0)
    angles = 2 * np.pi * times / 63.0
    waypoints = [(t0_s + t, 450.0 * np.sin(a), centre_north_m + 450.0 * np.cos(a), 2_100.0, False)
                 for t, a in zip(times, angles)]
    rows = trajectory(waypoints, *SITE, step_s=10.0)
    rows["track_id"], rows["sigma_pos_m"], rows["alt_m"], rows["flight_id"] = track_id, 40.0, np.nan, "F1"
    return rows[["t", "track_id", "lat", "lon", "alt_m", "vn_mps", "ve_mps", "sigma_pos_m", "flight_id"]]


def test_an_orbit_that_drops_out_of_sight_for_four_minutes_is_not_a_stop():
    # Circling to gain height out of a valley, the plane is lost for 4 minutes (a terrain shadow on one side
    # of the orbit) and found again circling at the same place: manoeuvring unseen, not a landing.
    before = _orbit(0.0, 400.0, 2_000.0, "P1")
    after = _orbit(640.0, 400.0, 2_000.0, "P2")
    events = detect_events(pd.concat([before, after], ignore_index=True), sensors=[RADAR], terrain=TERRAIN)
    assert not (events["kind"] == "ground_stop").any()


def test_a_track_start_known_only_to_kilometres_does_not_confirm_a_stop():
    # An arrival that vanishes on final, and 20 min later an unrelated track whose first updates are known to
    # ~30 km (a target right over a radar, where the unknown altitude blurs the ground range): its vague
    # ellipse "agrees" with any strip, so it cannot make the arrival a ground stop.
    truth = air_bridge_stop(*SITE, approach_from_deg=180.0, depart_to_deg=0.0)
    touchdown_t = float(truth.loc[truth["on_ground"], "t"].iloc[0])
    arrival = radar_tracks(truth[truth["t"] < touchdown_t], RADAR, TERRAIN, seed=4)
    vague = straight_track(lat0=SITE[0] + 0.09, lon0=SITE[1], heading_deg=0.0, speed_mps=60.0,
                           duration_s=300.0, track_id="P7", t0=touchdown_t + 1_200.0)
    vague["sigma_pos_m"] = 30_000.0
    events = detect_events(pd.concat([arrival, vague[arrival.columns.drop("sensors")]], ignore_index=True),
                           sensors=[RADAR], terrain=TERRAIN)
    assert not (events["kind"] == "ground_stop").any()
    landings = events[events["kind"] == "landing"]
    assert len(landings) == 1 and haversine_m(landings["lat"].iloc[0], landings["lon"].iloc[0], *SITE) < 1_000.0


# A primary radar on the ridge 20 km east of the valley: over the valley it sees nothing below ~2,500 m, so a
# plane coming down to the strip is lost far out, and one leaving it is first seen in its climbing orbit.
RIDGE_RADAR = Sensor("PSR-R", "psr", -12.60, -73.7158, 3_500.0, scan_s=10.0, range_max_m=200_000.0, mask_deg=-3.0)


def _orbit_waypoints(t0_s: float, turns: float, centre_north_m: float, alt_from_m: float, alt_to_m: float,
                     radius_m: float = 450.0, speed_mps: float = 45.0) -> list[tuple]:
    """A light plane orbiting over the valley axis while it climbs or descends."""
    period_s = 2 * np.pi * radius_m / speed_mps
    times = np.arange(5.0, turns * period_s, 5.0)
    angles = 2 * np.pi * times / period_s
    return [(t0_s + t, radius_m * np.sin(a), centre_north_m + radius_m * np.cos(a),
             alt_from_m + (alt_to_m - alt_from_m) * t / times[-1], False) for t, a in zip(times, angles)]


def _arrival_lost_far_out(descent_end_north_m: float = -8_000.0) -> list[tuple]:
    """Cruise at 3,000 m from the south, then a 4-degree descent to 150 m above the valley floor."""
    descent_m = (3_000.0 - 750.0) / np.tan(np.radians(4.0))
    top_north_m = descent_end_north_m - descent_m
    return [(0.0, 0.0, top_north_m - 40_000.0, 3_000.0, False), (40_000.0 / 70.0, 0.0, top_north_m, 3_000.0, False),
            (40_000.0 / 70.0 + descent_m / 65.0, 0.0, descent_end_north_m, 750.0, False)]


def test_a_climbing_orbit_places_the_stop_of_an_arrival_lost_far_out():
    # The radar loses the plane 30 km south of the strip, on its way down into the valley: where it landed is
    # known only to ~15 km. It is seen again 25 minutes later climbing in an orbit 1.5 km north of the strip.
    # The orbit places the strip on its own, however long the climb to the radar's floor took.
    waypoints = _arrival_lost_far_out()
    t = waypoints[-1][0]
    waypoints += [(t + 130.0, 0.0, -300.0, 650.0, False), (t + 140.0, 0.0, -50.0, 600.0, True),
                  (t + 150.0, 0.0, 0.0, 600.0, True), (t + 750.0, 0.0, 0.0, 600.0, True),
                  (t + 770.0, 0.0, 300.0, 600.0, True), (t + 790.0, 0.0, 1_050.0, 700.0, False)]
    waypoints += _orbit_waypoints(t + 790.0, 6, 1_500.0, 700.0, 3_200.0)
    waypoints.append((waypoints[-1][0] + 600.0, 0.0, 41_500.0, 3_200.0, False))
    tracks = radar_tracks(trajectory(waypoints, *SITE), RIDGE_RADAR, TERRAIN, seed=5)
    assert tracks["track_id"].nunique() == 2 and haversine_m(*tracks.iloc[0][["lat", "lon"]], *SITE) > 40_000.0
    lost = tracks.groupby("track_id")["lat"].last().min()
    assert haversine_m(lost, SITE[1], *SITE) > 25_000.0

    events = detect_events(tracks, sensors=[RIDGE_RADAR], terrain=TERRAIN)

    stop = events[events["kind"] == "ground_stop"]
    assert len(stop) == 1
    assert haversine_m(stop["lat"].iloc[0], stop["lon"].iloc[0], *SITE) < 1_500.0
    assert "circling" in stop["evidence"].iloc[0]["departure"]["method"]
    landing = events[events["kind"] == "landing"].iloc[0]
    assert abs(landing["t"] - (T0 + t + 140.0)) < 600.0


def test_a_descending_orbit_cut_into_tracks_is_no_take_off():
    # A plane is lost far out on its way down into the valley. 25 minutes later another comes in from the
    # north and circles down over the valley; the tracker cuts its orbit into three tracks of one flight (lost
    # for 50 s twice, nearly a full turn each time). The starts of those tracks are no take-offs, and the first
    # plane's arrival must not be paired with them.
    lost = radar_tracks(trajectory(_arrival_lost_far_out(), *SITE), RIDGE_RADAR, TERRAIN, seed=1, prefix="A")
    lost["flight_id"] = "FA"
    t_in = float(lost["t"].max() - T0) + 1_500.0
    waypoints = [(t_in - 400.0, 0.0, 30_450.0, 3_200.0, False), (t_in, 0.0, 2_450.0, 3_200.0, False)]
    waypoints += _orbit_waypoints(t_in, 5, 2_000.0, 3_200.0, 2_700.0)
    circling = radar_tracks(trajectory(waypoints, *SITE), RIDGE_RADAR, TERRAIN, seed=2, prefix="B")
    gaps = [(T0 + t_in + 70.0, T0 + t_in + 120.0), (T0 + t_in + 200.0, T0 + t_in + 250.0)]
    circling["track_id"] = [f"B{sum(t >= end for _, end in gaps)}" for t in circling["t"]]
    circling = circling[[not any(start <= t < end for start, end in gaps) for t in circling["t"]]]
    circling["flight_id"] = "FB"
    assert circling["track_id"].nunique() == 3

    events = detect_events(pd.concat([lost, circling], ignore_index=True), sensors=[RIDGE_RADAR], terrain=TERRAIN)

    assert events.empty, events[["kind", "track_ids"]]
