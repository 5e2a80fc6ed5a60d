"""Flight linking: a landing and take-off out of radar sight, a hover, a hole in the cover, a Mode S address."""
from __future__ import annotations

import numpy as np
import pandas as pd
from test_track_synth import adsb_messages, path, radar, radar_plots, scenario

from centinela import model
from centinela.track import track


def plots_of(sensor: model.Sensor, truths: dict[str, pd.DataFrame], seed: int) -> pd.DataFrame:
    return radar_plots(sensor, truths, np.random.default_rng(seed))


def test_landing_and_take_off_nearby_is_one_flight_with_the_gap_kept():
    s = radar("PSR-1", pd=0.9, clutter_per_scan=10.0)
    # inbound: 8 min heading east, last seen 1.5 km short of the strip at (40 km, 10 km) ...
    inbound = path(480.0, east_km=40 - 0.48 * 55 - 1.5, north_km=10, speed_mps=55.0, alt_m=1500.0)
    # ... on the ground 12 min out of sight; outbound: first seen 2 km past the strip, heading north-west
    outbound = path(480.0, east_km=40 - 1.4, north_km=10 + 1.4, speed_mps=55.0, heading_deg=315.0,
                    alt_m=1500.0, t_start_s=480.0 + 720.0)
    tracks = track(scenario([s], plots_of(s, {"in": inbound, "out": outbound}, 11)))
    assert tracks.track_id.nunique() == 2
    assert tracks.flight_id.nunique() == 1
    first, second = (g for _, g in tracks.sort_values("t").groupby("track_id", sort=False))
    assert first.t.max() < inbound.t.max() + 1 and second.t.min() > outbound.t.min() - 1
    # the gap stays a gap: no row between the last of one track and the first of the next
    in_gap = tracks[(tracks.t > first.t.max()) & (tracks.t < second.t.min())]
    assert len(in_gap) == 0 and second.t.min() - first.t.max() > 700.0
    # the flight is named after its first track
    assert tracks.flight_id.iloc[0] == "F" + first.track_id.iloc[0][1:]


def test_a_different_aircraft_appearing_far_away_is_another_flight():
    s = radar("PSR-1", pd=0.9)
    inbound = path(480.0, east_km=10, north_km=10, speed_mps=55.0)
    elsewhere = path(480.0, east_km=-50, north_km=-40, speed_mps=55.0, heading_deg=0.0, t_start_s=480.0 + 600.0)
    tracks = track(scenario([s], plots_of(s, {"a": inbound, "b": elsewhere}, 12)))
    assert tracks.track_id.nunique() == 2
    assert tracks.flight_id.nunique() == 2


def test_a_new_aircraft_after_the_link_window_is_another_flight():
    s = radar("PSR-1", pd=0.9)
    inbound = path(300.0, east_km=10, north_km=10)
    same_place_much_later = path(300.0, east_km=10 + 21, north_km=10, t_start_s=300.0 + 2400.0)
    tracks = track(scenario([s], plots_of(s, {"a": inbound, "b": same_place_much_later}, 13)))
    assert tracks.track_id.nunique() == 2 and tracks.flight_id.nunique() == 2


def test_hovering_helicopter_lost_by_primary_radar_stays_one_flight():
    s = radar("PSR-1", pd=0.9)
    # 40 m/s north, hovers 5 min (a primary radar sees nothing below ~15 m/s), then goes on north
    before = path(300.0, east_km=-20, north_km=5, speed_mps=40.0, heading_deg=0.0, alt_m=2000.0)
    after = path(300.0, east_km=-20, north_km=5 + 12.0, speed_mps=40.0, heading_deg=0.0, alt_m=2000.0,
                 t_start_s=300.0 + 300.0)
    tracks = track(scenario([s], plots_of(s, {"a": before, "b": after}, 14)))
    assert tracks.track_id.nunique() == 2
    assert tracks.flight_id.nunique() == 1


def test_hole_in_radar_cover_is_bridged_by_dead_reckoning():
    s = radar("PSR-1", pd=0.9)
    full = path(1200.0, east_km=-40, north_km=-20, speed_mps=70.0, heading_deg=60.0)
    plots = plots_of(s, {"a": full}, 15)
    t_rel = plots.t - full.t.iloc[0]
    plots = plots[(t_rel < 400) | (t_rel > 700)]  # 5 min behind a ridge: 21 km flown unseen
    tracks = track(scenario([s], plots))
    assert tracks.track_id.nunique() == 2
    assert tracks.flight_id.nunique() == 1


def test_same_mode_s_address_links_and_a_different_one_does_not():
    rx = model.Sensor("ADSB-1", "adsb", -12.5, -73.8, 800.0)
    leg1 = path(300.0, east_km=0, north_km=0)
    # transponder off for 10 min, back on 45 km further on: the address makes it one flight
    leg2 = path(300.0, east_km=21 + 42, north_km=0, t_start_s=300.0 + 600.0)
    # another aircraft appears where leg1 ended, with its own address: not the same flight
    other = path(300.0, east_km=21.5, north_km=0.5, heading_deg=180.0, t_start_s=300.0 + 300.0)
    adsb = pd.concat([adsb_messages(leg1, "e80001"), adsb_messages(leg2, "e80001"),
                      adsb_messages(other, "e80999")]).sort_values("t", ignore_index=True)
    tracks = track(scenario([rx], adsb=adsb))
    assert tracks.track_id.nunique() == 3
    flights = {icao: set(rows) for icao, rows in tracks.groupby("icao24").flight_id}
    assert len(flights["e80001"]) == 1
    assert flights["e80999"].isdisjoint(flights["e80001"])


def test_one_address_on_two_legs_or_in_two_places_is_two_flights():
    rx = model.Sensor("ADSB-1", "adsb", -12.5, -73.8, 800.0)
    first = path(300.0, east_km=0, north_km=0)
    # The same airframe's next leg: back on 10 minutes later nearby, under a new callsign.
    next_leg = path(300.0, east_km=25, north_km=0, t_start_s=300.0 + 600.0)
    # The same (reused or garbled) address 400 km away two minutes after the first track ended.
    elsewhere = path(300.0, east_km=0, north_km=400, t_start_s=300.0 + 120.0)
    adsb = pd.concat([adsb_messages(first, "e80001", "SKU101"), adsb_messages(next_leg, "e80001", "SKU102")])
    tracks = track(scenario([rx], adsb=adsb.sort_values("t", ignore_index=True)))
    assert tracks.groupby("callsign").flight_id.first().nunique() == 2, "a new callsign is a new flight"
    adsb = pd.concat([adsb_messages(first, "e80002"), adsb_messages(elsewhere, "e80002")])
    tracks = track(scenario([rx], adsb=adsb.sort_values("t", ignore_index=True)))
    assert tracks.track_id.nunique() == 2 and tracks.flight_id.nunique() == 2, "no aircraft flies 400 km in 2 min"


def test_a_slow_plane_where_an_airliner_would_be_by_now_is_another_flight():
    s = radar("PSR-1", pd=0.9)
    # An airliner at 230 m/s seen for 2 minutes, then out of cover; 9 minutes later a light plane climbs out at
    # 45 m/s from the very place the airliner's dead reckoning points to (124 km on).
    airliner = path(120.0, east_km=-100, north_km=-10, speed_mps=230.0, alt_m=9000.0)
    light = path(300.0, east_km=-100 + 0.23 * 120 + 0.23 * 540, north_km=-10, speed_mps=45.0, heading_deg=0.0,
                 alt_m=1500.0, t_start_s=120.0 + 540.0)
    tracks = track(scenario([s], plots_of(s, {"a": airliner, "b": light}, 16)))
    assert tracks.track_id.nunique() == 2
    assert tracks.flight_id.nunique() == 2
