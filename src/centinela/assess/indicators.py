"""Indicators: the named, documented facts about a flight that the score weighs.

Every indicator is a number per flight, 0 for "not present" and larger for "present" (most are 0/1 flags or
shares 0..1). They are physics and behaviour that hold for real aircraft, not constants of the simulator. Two
families:

**Airborne indicators** are computed on the flight's track so far, update by update, and only ever use data up
to that update: the inbound warning reads them at each scan (:func:`airborne_indicators`), and the flight
assessment reads their value at the flight's last update.

============================ ==================================================================================
``no_transponder``           share of updates without a transponder (no SSR or ADS-B contribution)
``transponder_switched_off`` a ``transponder_off`` event: the transponder went dark during the flight
``no_flight_plan``           no filed flight plan matches the flight (by callsign or ICAO address, or by route
                             and time for a track without identity)
``from_bolivia``             a ``border_crossing`` event from Bolivia into Peru
``near_bolivia``             how close to Bolivia the track was first seen: 1 − distance / 500 km (0 beyond):
                             a flight first seen nearer the border is likelier to have come across it
``arrives_from_bolivia``     the track appeared airborne (not at an airfield) flying away from Bolivia: cosine
                             of the angle between its first course and the direction from Bolivia (−1..1)
``low_level``                share of updates with altitude that are under 500 m above the terrain away from
                             any airfield: terrain-following flight under radar cover
``contact_gaps``             share of the flight's time in gaps of radar contact (track lost and regained): a
                             low flight in the valleys drops in and out of cover
``light_plane_speed``        share of airborne updates at 60–95 m/s, the cruise of a light single-engine plane
``helicopter_speed``         share of airborne updates at 28–60 m/s: a helicopter's cruise (or a plane's climb
                             and approach)
``slow_flight``              share of airborne updates under 28 m/s: slower than a light plane can fly, so a
                             helicopter (or a fragment of clutter)
``course_from_bolivia``      mean over the updates so far of the cosine between the course and the direction
                             away from Bolivia (−1..1): a flight heading into Peru from the Bolivian side
``straight_flight``          distance from the first position over the distance flown (0..1): a direct
                             transit, not a local hop, orbit or pattern
``fast_flight``              share of updates over 110 m/s, or above 6,000 m: airliners and turboprops
``airfield_behind``         a registered airfield or a military base lies on the track's first course, behind
                             it (within 200 km, 7° or 3 km of the line): a plausible legal origin
``airfield_ahead``           a registered airfield or a military base lies ahead on the current course (same
                             cone): a plausible legal destination
``appears_at_cruise``        the mean speed of the track's first updates is a light plane's cruise (≥ 60 m/s):
                             it flew in from beyond radar cover rather than climbing out of a strip in view
``starts_at_strip``          the track begins within 5 km of a catalogue strip known by then (a take-off from a
                             strip that is not a registered airfield)
``starts_at_airfield``       the track begins within 5 km of a registered airfield
``starts_at_base``           the track begins within 3 km of a military base
``night``                    share of updates so far flown in the dark (sun below −6°, before civil dawn or
                             after civil dusk): visual flights to jungle strips wait for light; the air bridge
                             flies in the dark to land at first light (see :mod:`.solar`)
``dawn``                     the update is between civil dawn and a 20° morning sun
``short_track``              1 / number of updates: few updates mean a fragment or clutter, weak evidence
============================ ==================================================================================

**Landing indicators** need the flight's landings and ground stops (``events``), so they exist only for the
whole flight:

============================ ==================================================================================
``unregistered_landing``     a landing or ground stop on a strip that is not a registered airfield
``ground_time_5_20min``      a ground stop of 5 to 20 minutes: loading 300+ kg by a dozen backpackers
``dawn_landing``             a landing or ground stop at dawn: from civil dawn (sun −6°) to a 20° sun
``strip_prior_landings``     log(1 + landings on the same clandestine strip before this flight's, earlier runs'
                             included: the catalogue's history)
``strip_successor``          the catalogue links the strip to an earlier one nearby that fell silent before it
                             (``successor_of``): the refill or replacement of a cratered strip
``lands_at_base``            a landing within 3 km of a military base
``ends_at_airfield``         the flight's last update is within 5 km of a registered airfield
``to_bolivia``               a ``border_crossing`` event from Peru into Bolivia
``leaves_toward_bolivia``    the track ended airborne away from airfields and strips (it flew out of cover)
                             heading for Bolivia: cosine of the angle between its last course and the
                             direction to Bolivia (−1..1)
============================ ==================================================================================

>>> from centinela.assess.indicators import AIRBORNE_INDICATORS, LANDING_INDICATORS
>>> len(AIRBORNE_INDICATORS), len(LANDING_INDICATORS)
(23, 9)
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from centinela import model
from centinela.assess.places import military_bases, nearest_distance_m
from centinela.assess.solar import CIVIL_DAWN_ELEVATION_DEG, is_dawn, sun_elevation_deg
from centinela.geo.frames import bearing_deg
from centinela.model import track_id_list

AIRBORNE_INDICATORS = [
    "no_transponder", "transponder_switched_off", "no_flight_plan", "from_bolivia", "near_bolivia",
    "arrives_from_bolivia",
    "low_level", "contact_gaps", "light_plane_speed", "helicopter_speed", "slow_flight", "fast_flight",
    "course_from_bolivia", "straight_flight", "airfield_behind", "airfield_ahead", "appears_at_cruise",
    "starts_at_strip", "starts_at_airfield",
    "starts_at_base", "night", "dawn", "short_track",
]
LANDING_INDICATORS = [
    "unregistered_landing", "ground_time_5_20min", "dawn_landing", "strip_prior_landings", "strip_successor",
    "lands_at_base", "ends_at_airfield", "to_bolivia", "leaves_toward_bolivia",
]
FLIGHT_INDICATORS = AIRBORNE_INDICATORS + LANDING_INDICATORS

# Which way each indicator may push the score (+1 towards the air bridge, −1 towards a legitimate flight, 0 either
# way): the domain's reading of each indicator, which the trained weights must respect (see
# :class:`centinela.assess.scoring.SignedLogisticRegression`).
INDICATOR_SIGNS: dict[str, int] = {
    "no_transponder": 1, "transponder_switched_off": 1, "no_flight_plan": 1, "from_bolivia": 1, "near_bolivia": 1,
    "arrives_from_bolivia": 1, "low_level": 1, "contact_gaps": 0, "light_plane_speed": 1, "helicopter_speed": -1,
    "slow_flight": -1, "fast_flight": -1, "course_from_bolivia": 1, "straight_flight": 0, "airfield_behind": -1,
    "airfield_ahead": -1, "appears_at_cruise": 0, "starts_at_strip": 0, "starts_at_airfield": -1,
    "starts_at_base": -1, "night": 1, "dawn": 1, "short_track": 0,
    "unregistered_landing": 1, "ground_time_5_20min": 1, "dawn_landing": 1, "strip_prior_landings": 1,
    "strip_successor": 1, "lands_at_base": -1, "ends_at_airfield": -1, "to_bolivia": 1, "leaves_toward_bolivia": 1,
}

# --- thresholds, with where they come from ------------------------------------------------------------------
# Terrain-following: a VFR pilot hiding from radar flies a few hundred metres over the ridges; cruise over the
# Andes is thousands of metres up. 500 m AGL separates the two with margin for terrain-model error.
LOW_LEVEL_AGL_M = 500.0
# Within this distance of an airfield a low altitude is an approach or a climb-out, not terrain following.
AIRFIELD_RADIUS_M = 5_000.0
# A base's helipad or airfield and its outposts lie within a couple of km of the town (coordinates are to ~1 km).
BASE_RADIUS_M = 3_000.0
# Light single-engine cruise: a Cessna 206 cruises at ~70 m/s (DESIGN.md), piston singles and light turboprops
# (C210, PA-32, C208) at 65–90 m/s. Helicopters cruise below 60 m/s (Mi-17 ~60, UH-1 ~55), and so does a plane
# in its climb and approach.
LIGHT_PLANE_MIN_MPS, LIGHT_PLANE_MAX_MPS = 60.0, 95.0
# A Cessna 206 stalls at ~28 m/s (55 kt) with flaps; anything airborne and slower is a rotorcraft.
SLOW_FLIGHT_MAX_MPS = 28.0
# A primary radar does not see aircraft below ~15 m/s (CONTRACT.md): slower updates are not airborne movement.
AIRBORNE_MIN_MPS = 15.0
# Above the fastest piston single (~100 m/s), or above the 6,000 m an unpressurised plane can reach.
FAST_FLIGHT_MIN_MPS = 110.0
HIGH_ALTITUDE_M = 6_000.0
# A place is on a course line when it is within this angle of it, or this cross-track distance when close:
# GPS-direct light planes hold their course to a few degrees; the cone allows for the track's course noise.
LINE_HALF_ANGLE_DEG = 7.0
LINE_MIN_CROSS_M = 3_000.0
# How far along the line a place can be: about 45 minutes at a light plane's cruise.
LINE_MAX_ALONG_M = 200_000.0
# A gap longer than three update periods is lost contact, not a missed plot (per-scan detection is 0.8–0.95).
GAP_FACTOR = 3.0
# The VRAEM lies 400–550 km from the Bolivian border: "near" is graded over this distance.
NEAR_BOLIVIA_SCALE_M = 500_000.0
# The first course of a track is averaged over its first updates so that one noisy velocity does not set it.
FIRST_COURSE_UPDATES = 6
# A track that begins within this distance of a registered airfield or known strip began with a take-off.
TAKEOFF_RADIUS_M = 5_000.0
# Loading 300+ kg by a dozen backpackers takes ~10 minutes, spread 5–20 (DESIGN.md); refuelling or passengers
# at a registered field take longer, a touch-and-go shorter.
GROUND_TIME_MIN_S, GROUND_TIME_MAX_S = 5 * 60.0, 20 * 60.0
# Flight plans: a flight is matched to a plan whose times overlap it within this margin (departure delays,
# holding). A route match without identity needs the track to start near the origin within the margin.
PLAN_TIME_MARGIN_S = 45 * 60.0
PLAN_ROUTE_RADIUS_M = 10_000.0

LANDING_KINDS = ("landing", "ground_stop")
BOLIVIA, PERU = "BOL", "PER"


# --- flights ------------------------------------------------------------------------------------------------
def flight_keys(tracks: pd.DataFrame, events: pd.DataFrame | None = None) -> pd.Series:
    """The flight each track belongs to (index: track_id).

    Tracks are one flight when the tracker gave them the same ``flight_id`` or when one event joins them (a
    ground stop or a landing whose ``track_ids`` name the arriving and the departing track). The key is the
    first ``flight_id`` (else ``track_id``) of the group, in sorted order, so it is stable.

    >>> tracks = pd.DataFrame({"track_id": ["a", "b", "c"], "flight_id": ["F1", "F1", pd.NA]})
    >>> events = pd.DataFrame({"kind": ["ground_stop"], "track_ids": [["b", "c"]]})
    >>> flight_keys(tracks, events).to_dict()
    {'a': 'F1', 'b': 'F1', 'c': 'F1'}
    """
    per_track = tracks.drop_duplicates("track_id")
    track_ids = per_track["track_id"].astype(str).to_numpy()
    if "flight_id" in per_track:
        own = per_track["flight_id"].astype("string").fillna(pd.Series(track_ids, index=per_track.index))
    else:
        own = pd.Series(track_ids, index=per_track.index, dtype="string")
    own = own.astype(str).to_numpy()
    position = {t: i for i, t in enumerate(track_ids)}
    rows, cols = [], []
    # Same flight_id: chain each track to the first of its flight.
    codes, _ = pd.factorize(own)
    first_of_code = pd.Series(np.arange(len(codes))).groupby(codes).transform("first").to_numpy()
    rows.extend(range(len(codes)))
    cols.extend(first_of_code.tolist())
    if events is not None and len(events) and "track_ids" in events:
        for ids in events["track_ids"]:
            members = [position[t] for t in track_id_list(ids) if t in position]
            rows.extend(members[:1] * len(members))
            cols.extend(members)
    n = len(track_ids)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    key = pd.Series(own).groupby(label).transform("min").to_numpy()
    return pd.Series(key, index=pd.Index(track_ids, name="track_id"), name="flight", dtype="string")


# --- per-update table ---------------------------------------------------------------------------------------
def track_rows(scenario: model.Scenario, outputs: model.Outputs, *, terrain=None,
               registered: pd.DataFrame | None = None) -> pd.DataFrame:
    """The track updates sorted by (flight, t) with the motion columns of :func:`centinela.detect.kinematics.motion`
    (speed, height above terrain, cooperative, on_ground) and ``flight``."""
    from centinela.detect.kinematics import motion

    tracks = outputs.tracks
    if len(tracks) == 0:
        return pd.DataFrame(columns=["t", "track_id", "flight", "lat", "lon"])
    sensor_kinds = {s.id: s.kind for s in scenario.sensors} if scenario is not None else None
    rows = motion(tracks, terrain=terrain, registered=nearby(registered, tracks), sensor_kinds=sensor_kinds or None)
    keys = flight_keys(tracks, outputs.events)
    rows["flight"] = keys.reindex(rows["track_id"].astype(str)).to_numpy()
    return rows.sort_values(["flight", "t"], kind="stable").reset_index(drop=True)


def airborne_indicators(rows: pd.DataFrame, *, events: pd.DataFrame | None, flightplans: pd.DataFrame | None,
                        registered: pd.DataFrame | None, airstrips: pd.DataFrame | None = None) -> pd.DataFrame:
    """The airborne indicators at every update of ``rows`` (from :func:`track_rows`), each computed from the
    flight's updates up to and including that one, and events that happened by then.

    Returns a frame aligned with ``rows`` with the :data:`AIRBORNE_INDICATORS` columns.
    """
    n = len(rows)
    out = pd.DataFrame(index=rows.index)
    if n == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in AIRBORNE_INDICATORS})
    registered = nearby(registered, rows)
    flight = rows["flight"].astype(str).to_numpy()
    g = rows.groupby("flight", sort=False)
    count = g.cumcount().to_numpy() + 1
    t = rows["t"].to_numpy(float)
    lat, lon = rows["lat"].to_numpy(float), rows["lon"].to_numpy(float)
    speed = rows["speed_mps"].to_numpy(float)
    alt = rows["alt_m"].to_numpy(float)
    airborne = ~rows["on_ground"].to_numpy(bool) & (np.nan_to_num(speed) >= AIRBORNE_MIN_MPS)

    def cumulative_share(flag: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
        num = pd.Series(flag.astype(float)).groupby(flight).cumsum().to_numpy()
        den = count if among is None else pd.Series(among.astype(float)).groupby(flight).cumsum().to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, 0.0)

    out["no_transponder"] = 1.0 - cumulative_share(rows["cooperative"].to_numpy(bool))
    out["transponder_switched_off"] = _event_seen(rows, events, "transponder_off")
    out["no_flight_plan"] = 1.0 - (t >= _plan_match_time(rows, flightplans, registered)).astype(float)
    out["from_bolivia"] = _event_seen(rows, events, "border_crossing", direction=(BOLIVIA, PERU))
    out["near_bolivia"] = _near_bolivia(rows)
    out["arrives_from_bolivia"] = _arrives_from_bolivia(rows, registered, airstrips)

    near_field = _near(lat, lon, registered, AIRFIELD_RADIUS_M)
    agl = rows["agl_m"].to_numpy(float)
    has_agl = np.isfinite(agl) & airborne & ~near_field
    out["low_level"] = cumulative_share(has_agl & (agl < LOW_LEVEL_AGL_M), has_agl)

    dt = np.diff(t, prepend=np.nan)
    dt[count == 1] = np.nan
    # The feed's update period (the radars' scan): a property of the sensors, constant over a run.
    update_period = float(np.nanmedian(dt)) if np.isfinite(dt).any() else 10.0
    gap_s = np.where(dt > GAP_FACTOR * update_period, dt - update_period, 0.0)
    gap_s[_stopped_in_gap(rows, events, t - np.nan_to_num(dt))] = 0.0  # time on the ground is not lost contact
    cum_gap = pd.Series(np.nan_to_num(gap_s)).groupby(flight).cumsum().to_numpy()
    span = t - g["t"].transform("first").to_numpy(float)
    out["contact_gaps"] = np.where(span > 0, cum_gap / np.maximum(span, 1.0), 0.0)

    moving = airborne & np.isfinite(speed)
    out["light_plane_speed"] = cumulative_share(
        moving & (speed >= LIGHT_PLANE_MIN_MPS) & (speed <= LIGHT_PLANE_MAX_MPS), moving)
    out["helicopter_speed"] = cumulative_share(
        moving & (speed >= SLOW_FLIGHT_MAX_MPS) & (speed < LIGHT_PLANE_MIN_MPS), moving)
    out["slow_flight"] = cumulative_share(moving & (speed < SLOW_FLIGHT_MAX_MPS), moving)
    fast = (np.nan_to_num(speed) > FAST_FLIGHT_MIN_MPS) | (np.nan_to_num(alt) > HIGH_ALTITUDE_M)
    out["fast_flight"] = cumulative_share(fast)

    first = g.cumcount().to_numpy() == 0
    start_lat = pd.Series(np.where(first, lat, np.nan)).groupby(flight).transform("first").to_numpy()
    start_lon = pd.Series(np.where(first, lon, np.nan)).groupby(flight).transform("first").to_numpy()
    out["appears_at_cruise"] = (_first_speed_mps(rows) >= LIGHT_PLANE_MIN_MPS).astype(float)
    start_t = g["t"].transform("first").to_numpy(float)
    clandestine = airstrips[~airstrips["registered"].astype("boolean").fillna(False).to_numpy(bool)] \
        if airstrips is not None and len(airstrips) else None
    out["starts_at_strip"] = _begins_at_known_place(start_lat, start_lon, start_t, None, clandestine,
                                                    with_bases=False).astype(float)
    out["starts_at_airfield"] = _near(start_lat, start_lon, registered, TAKEOFF_RADIUS_M).astype(float)
    bases = military_bases()
    out["starts_at_base"] = (nearest_distance_m(start_lat, start_lon, bases["lat"], bases["lon"])
                             <= BASE_RADIUS_M).astype(float)
    away = _away_from_bolivia_deg(rows)
    course = np.degrees(np.arctan2(rows["ve_mps"].to_numpy(float), rows["vn_mps"].to_numpy(float)))
    heading_in = np.cos(np.radians(course - away))
    out["course_from_bolivia"] = cumulative_share(np.nan_to_num(heading_in) * moving, moving)
    out["straight_flight"] = _straightness(rows)
    places = _legal_places(registered)
    first_course = _first_course_deg(rows)
    behind = _on_line(start_lat, start_lon, (first_course + 180.0) % 360.0, places)
    out["airfield_behind"] = behind.astype(float)
    out["airfield_ahead"] = _on_line(lat, lon, course, places).astype(float)
    out["night"] = cumulative_share(sun_elevation_deg(t, lat, lon) < CIVIL_DAWN_ELEVATION_DEG)
    out["dawn"] = is_dawn(t, lat, lon).astype(float)
    out["short_track"] = 1.0 / count
    return out[AIRBORNE_INDICATORS]


def _legal_places(registered: pd.DataFrame | None) -> pd.DataFrame:
    """Registered airfields and military bases: where a legitimate flight starts and ends."""
    bases = military_bases()[["lat", "lon"]]
    if registered is None or len(registered) == 0:
        return bases.reset_index(drop=True)
    return pd.concat([registered[["lat", "lon"]], bases], ignore_index=True)


def _first_speed_mps(rows: pd.DataFrame) -> np.ndarray:
    """Per update, the mean ground speed of the flight's first :data:`FIRST_COURSE_UPDATES` updates up to that
    one (causal)."""
    flight = rows["flight"].astype(str).to_numpy()
    k = rows.groupby("flight", sort=False).cumcount().to_numpy()
    early = k < FIRST_COURSE_UPDATES
    total = pd.Series(np.where(early, rows["speed_mps"].to_numpy(float), 0.0)).fillna(0.0).groupby(flight).cumsum()
    return total.to_numpy() / np.minimum(k + 1, FIRST_COURSE_UPDATES)


def _first_course_deg(rows: pd.DataFrame) -> np.ndarray:
    """Per update, the course (deg) of the mean velocity of the flight's first :data:`FIRST_COURSE_UPDATES`
    updates up to that one (causal)."""
    flight = rows["flight"].astype(str).to_numpy()
    k = rows.groupby("flight", sort=False).cumcount().to_numpy()
    early = k < FIRST_COURSE_UPDATES
    vn = pd.Series(np.where(early, rows["vn_mps"].to_numpy(float), 0.0)).fillna(0.0).groupby(flight).cumsum()
    ve = pd.Series(np.where(early, rows["ve_mps"].to_numpy(float), 0.0)).fillna(0.0).groupby(flight).cumsum()
    return np.degrees(np.arctan2(ve.to_numpy(), vn.to_numpy())) % 360.0


def _on_line(lat: np.ndarray, lon: np.ndarray, course_deg: np.ndarray, places: pd.DataFrame,
             chunk: int = 20_000) -> np.ndarray:
    """Whether some place lies ahead of each point on its course line (see :data:`LINE_HALF_ANGLE_DEG`)."""
    lat, lon, course = (np.asarray(v, float) for v in (lat, lon, course_deg))
    out = np.zeros(len(lat), bool)
    if len(places) == 0 or len(lat) == 0:
        return out
    p_lat, p_lon = places["lat"].to_numpy(float), places["lon"].to_numpy(float)
    sin_c, cos_c = np.sin(np.radians(course)), np.cos(np.radians(course))
    for a in range(0, len(lat), chunk):
        b = slice(a, a + chunk)
        # Local flat-earth offsets: good to a fraction of a percent over 200 km at these latitudes.
        east = (p_lon[None, :] - lon[b, None]) * np.cos(np.radians(lat[b, None])) * 111_320.0
        north = (p_lat[None, :] - lat[b, None]) * 110_574.0
        along = east * sin_c[b, None] + north * cos_c[b, None]
        cross = np.abs(east * cos_c[b, None] - north * sin_c[b, None])
        tolerance = np.maximum(LINE_MIN_CROSS_M, along * np.tan(np.radians(LINE_HALF_ANGLE_DEG)))
        out[b] = ((along > 0) & (along <= LINE_MAX_ALONG_M) & (cross <= tolerance)).any(axis=1)
    return out & np.isfinite(course)


def _near_bolivia(rows: pd.DataFrame) -> np.ndarray:
    """Per update: 1 − (distance from the flight's first position to Bolivia) / :data:`NEAR_BOLIVIA_SCALE_M`."""
    from shapely import distance as shapely_distance
    from shapely import points

    from centinela.geo.borders import Borders

    bolivia = Borders.default().countries.get(BOLIVIA)
    first = rows.groupby(rows["flight"].astype(str), sort=False)[["lat", "lon"]].first()
    if bolivia is None or len(first) == 0:
        return np.zeros(len(rows))
    # Degrees to metres at the region's latitude: east-west degrees shrink by cos(lat) (~0.97 here).
    lat = first["lat"].to_numpy(float)
    scale_m = 111_000.0 * np.sqrt(np.cos(np.radians(lat)))
    d_m = shapely_distance(bolivia, points(first["lon"].to_numpy(float), lat)) * scale_m
    value = np.clip(1.0 - d_m / NEAR_BOLIVIA_SCALE_M, 0.0, 1.0)
    return pd.Series(value, index=first.index).reindex(rows["flight"].astype(str)).to_numpy(float)


def _away_from_bolivia_deg(rows: pd.DataFrame) -> np.ndarray:
    """Per update, the bearing pointing away from the nearest point of Bolivia, taken at the flight's first
    position (across the VRAEM that direction changes by a few degrees only)."""
    first = rows.groupby(rows["flight"].astype(str), sort=False).first()
    away = (_bearing_to_bolivia_deg(first["lat"].to_numpy(float), first["lon"].to_numpy(float)) + 180.0) % 360.0
    return pd.Series(away, index=first.index).reindex(rows["flight"].astype(str)).to_numpy(float)


def _straightness(rows: pd.DataFrame) -> np.ndarray:
    """Displacement from the flight's first position over the path length flown, update by update."""
    from centinela.geo.frames import haversine_m

    flight = rows["flight"].astype(str).to_numpy()
    lat, lon = rows["lat"].to_numpy(float), rows["lon"].to_numpy(float)
    same = np.r_[False, flight[1:] == flight[:-1]]
    step = np.where(same, haversine_m(np.roll(lat, 1), np.roll(lon, 1), lat, lon), 0.0)
    path = pd.Series(step).groupby(flight).cumsum().to_numpy()
    first = rows.groupby(flight, sort=False)[["lat", "lon"]].transform("first")
    displacement = haversine_m(first["lat"].to_numpy(float), first["lon"].to_numpy(float), lat, lon)
    # Until the flight has gone a few plot errors the ratio is noise: count it as straight (neutral-ish).
    return np.where(path > 2_000.0, np.clip(displacement / np.maximum(path, 1.0), 0.0, 1.0), 1.0)


def _stopped_in_gap(rows: pd.DataFrame, events: pd.DataFrame | None, t_before: np.ndarray) -> np.ndarray:
    """Whether the flight landed (a landing or ground stop began) between the previous update and this one."""
    stops = event_flights(rows, events, LANDING_KINDS)
    if len(stops) == 0:
        return np.zeros(len(rows), bool)
    right = pd.DataFrame({"flight": stops["flight"].astype(str).to_numpy(), "t_stop": stops["t"].to_numpy(float)})
    left = pd.DataFrame({"flight": rows["flight"].astype(str).to_numpy(), "t": rows["t"].to_numpy(float),
                         "i": np.arange(len(rows))})
    merged = pd.merge_asof(left.sort_values("t"), right.dropna().sort_values("t_stop"), left_on="t",
                           right_on="t_stop", by="flight", direction="backward").sort_values("i")
    return (merged["t_stop"].to_numpy(float) > t_before) & np.isfinite(merged["t_stop"].to_numpy(float))


def nearby(places: pd.DataFrame | None, rows: pd.DataFrame, margin_deg: float = 2.0) -> pd.DataFrame | None:
    """The places (airfields) inside the tracks' bounding box widened by ``margin_deg`` (~220 km): the world
    registry has ~28,000 airfields, and only the nearby ones can be where a flight starts or ends."""
    if places is None or len(places) == 0 or len(rows) == 0:
        return places
    lat, lon = rows["lat"].to_numpy(float), rows["lon"].to_numpy(float)
    keep = ((places["lat"] >= np.nanmin(lat) - margin_deg) & (places["lat"] <= np.nanmax(lat) + margin_deg)
            & (places["lon"] >= np.nanmin(lon) - margin_deg) & (places["lon"] <= np.nanmax(lon) + margin_deg))
    return places[keep.to_numpy(bool)]


def _near(lat, lon, places: pd.DataFrame | None, radius_m: float) -> np.ndarray:
    lat = np.atleast_1d(np.asarray(lat, float))
    if places is None or len(places) == 0:
        return np.zeros(lat.shape, bool)
    return nearest_distance_m(lat, lon, places["lat"], places["lon"]) <= radius_m


def event_flights(rows: pd.DataFrame, events: pd.DataFrame | None, kinds) -> pd.DataFrame:
    """Events of ``kinds`` with the flight they concern (one row per event and flight)."""
    columns = ["flight", "t", "t_end", "lat", "lon", "airstrip_id", "event"]
    if events is None or len(events) == 0 or len(rows) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    ev = events[events["kind"].astype("string").isin(kinds).fillna(False).to_numpy(bool)].copy()
    ev["event"] = np.arange(len(ev))
    ev["track_id"] = [track_id_list(v) for v in ev["track_ids"]]
    ev = ev.explode("track_id").dropna(subset=["track_id"])
    track_flight = rows.drop_duplicates("track_id").set_index(rows.drop_duplicates("track_id")["track_id"].astype(str))
    ev["flight"] = track_flight["flight"].reindex(ev["track_id"]).to_numpy()
    ev = ev.dropna(subset=["flight"]).drop_duplicates(["event", "flight"])
    for c in columns:
        if c not in ev:
            ev[c] = np.nan
    return ev


def _crossing_direction(events: pd.DataFrame) -> pd.Series:
    """``"FROM>TO"`` for border crossings, read from the event's optional ``evidence`` (``from``/``to`` or
    ``from_country``/``to_country``) or ``from``/``to`` columns; empty when unknown."""
    def pick(row, names):
        evidence = row.get("evidence") if isinstance(row.get("evidence"), dict) else {}
        for name in names:
            for source in (evidence, row):
                value = source.get(name) if hasattr(source, "get") else None
                if isinstance(value, str) and value:
                    return value.upper()
        return ""

    return pd.Series([f"{pick(r, ('from', 'from_country'))}>{pick(r, ('to', 'to_country'))}"
                      for r in events.to_dict("records")], index=events.index, dtype=object)


def _event_seen(rows: pd.DataFrame, events: pd.DataFrame | None, kind: str,
                direction: tuple[str, str] | None = None) -> np.ndarray:
    """1.0 at the updates of a flight at or after the time of its first ``kind`` event, else 0.0."""
    ev = event_flights(rows, events, (kind,))
    if direction is not None and len(ev):
        ev = ev[_crossing_direction(ev).eq(f"{direction[0]}>{direction[1]}").to_numpy(bool)]
    if len(ev) == 0:
        return np.zeros(len(rows))
    first = ev.groupby("flight")["t"].min()
    when = first.reindex(rows["flight"].astype(str)).to_numpy(float)
    return (rows["t"].to_numpy(float) >= when).astype(float)


def _bearing_to_bolivia_deg(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Initial bearing from each point to the nearest point of Bolivia (NaN inside Bolivia or without data)."""
    from shapely.geometry import Point
    from shapely.ops import nearest_points

    from centinela.geo.borders import Borders

    bolivia = Borders.default().countries.get(BOLIVIA)
    out = np.full(len(lat), np.nan)
    if bolivia is None:
        return out
    for i, (la, lo) in enumerate(zip(lat, lon)):  # one shapely query per flight, not per update
        if np.isfinite(la) and np.isfinite(lo):
            near = nearest_points(bolivia, Point(lo, la))[0]
            if near.distance(Point(lo, la)) > 0:
                out[i] = float(bearing_deg(la, lo, near.y, near.x))
    return out


def _begins_at_known_place(lat, lon, t, registered: pd.DataFrame | None, airstrips: pd.DataFrame | None, *,
                           with_bases: bool = True) -> np.ndarray:
    """Whether each point is within :data:`TAKEOFF_RADIUS_M` of a registered airfield or of a catalogue strip
    already known at time ``t`` (first seen before it), or within :data:`BASE_RADIUS_M` of a military base."""
    lat, lon, t = (np.atleast_1d(np.asarray(v, float)) for v in (lat, lon, t))
    near = _near(lat, lon, registered, TAKEOFF_RADIUS_M)
    if with_bases:
        near |= _near(lat, lon, military_bases(), BASE_RADIUS_M)
    if airstrips is not None and len(airstrips):
        first_seen = airstrips["first_seen"].to_numpy(float) if "first_seen" in airstrips else np.zeros(len(airstrips))
        from centinela.geo.frames import haversine_m

        d = haversine_m(lat[:, None], lon[:, None], airstrips["lat"].to_numpy(float)[None, :],
                        airstrips["lon"].to_numpy(float)[None, :])
        known = ~(first_seen[None, :] > t[:, None])  # NaN first_seen counts as known
        near |= ((d <= TAKEOFF_RADIUS_M) & known).any(axis=1)
    return near


def _arrives_from_bolivia(rows: pd.DataFrame, registered: pd.DataFrame | None,
                          airstrips: pd.DataFrame | None) -> np.ndarray:
    """Cosine between the track's first course and the direction away from Bolivia, for tracks that begin
    airborne away from airfields and known strips (0 otherwise). Causal: at update k the course is the mean
    velocity of the first min(k + 1, :data:`FIRST_COURSE_UPDATES`) updates."""
    flight = rows["flight"].astype(str).to_numpy()
    k = rows.groupby("flight", sort=False).cumcount().to_numpy()
    course = _first_course_deg(rows)
    starts = rows[k == 0]
    lat, lon = starts["lat"].to_numpy(float), starts["lon"].to_numpy(float)
    away = (_bearing_to_bolivia_deg(lat, lon) + 180.0) % 360.0
    away[_begins_at_known_place(lat, lon, starts["t"].to_numpy(float), registered, airstrips)] = np.nan
    away_by_flight = pd.Series(away, index=starts["flight"].astype(str).to_numpy())
    value = np.cos(np.radians(course - away_by_flight.reindex(flight).to_numpy(float)))
    return np.where(np.isfinite(value), value, 0.0)


def _leaves_toward_bolivia(rows: pd.DataFrame, registered: pd.DataFrame | None,
                           airstrips: pd.DataFrame | None) -> pd.Series:
    """Per flight: cosine between the course of its last updates and the direction to Bolivia, for flights
    whose track ends airborne away from airfields and strips (it flew out of cover); 0 otherwise."""
    flight = rows["flight"].astype(str)
    k_from_end = rows.groupby(flight, sort=False).cumcount(ascending=False).to_numpy()
    late = rows[k_from_end < FIRST_COURSE_UPDATES]
    velocity = late.groupby(late["flight"].astype(str))[["vn_mps", "ve_mps"]].mean()
    ends = rows[k_from_end == 0].set_index(rows[k_from_end == 0]["flight"].astype(str))
    velocity = velocity.reindex(ends.index)
    course = np.degrees(np.arctan2(velocity["ve_mps"].to_numpy(float), velocity["vn_mps"].to_numpy(float)))
    lat, lon = ends["lat"].to_numpy(float), ends["lon"].to_numpy(float)
    toward = _bearing_to_bolivia_deg(lat, lon)
    toward[_begins_at_known_place(lat, lon, np.full(len(lat), np.inf), registered, airstrips)] = np.nan
    value = np.cos(np.radians(course - toward))
    return pd.Series(np.where(np.isfinite(value), value, 0.0), index=ends.index)


def _flight_identity(rows: pd.DataFrame) -> pd.DataFrame:
    """Per flight: the first callsign and icao24 seen, and when each was first seen."""
    out = pd.DataFrame(index=pd.Index(rows["flight"].astype(str).unique(), name="flight"))
    for column in ("callsign", "icao24"):
        if column not in rows:
            out[column], out[f"{column}_t"] = pd.NA, np.nan
            continue
        values = rows[column].astype("string").str.strip().str.upper()
        seen = rows.assign(_v=values)[values.notna() & values.ne("")]
        first = seen.groupby(seen["flight"].astype(str)).agg(v=("_v", "first"), t=("t", "min"))
        out[column] = first["v"].reindex(out.index)
        out[f"{column}_t"] = first["t"].reindex(out.index)
    return out


def _plan_match_time(rows: pd.DataFrame, flightplans: pd.DataFrame | None,
                     registered: pd.DataFrame | None) -> np.ndarray:
    """Per update, the time from which the flight is known to match a filed plan (+inf when it never does).

    A plan matches when its times overlap the flight's (± :data:`PLAN_TIME_MARGIN_S`) and either its callsign or
    ICAO address is the flight's (known from when the identity is first received), or the flight's track begins
    within :data:`PLAN_ROUTE_RADIUS_M` of the plan's origin within the time margin of its off-block time (known
    from the first update).
    """
    when = pd.Series(np.inf, index=pd.Index(rows["flight"].astype(str).unique(), name="flight"))
    if flightplans is None or len(flightplans) == 0 or len(rows) == 0:
        return np.full(len(rows), np.inf)
    plans = flightplans.reset_index(drop=True).copy()
    plans["callsign"] = plans["callsign"].astype("string").str.strip().str.upper()
    plans["icao24"] = plans["icao24"].astype("string").str.strip().str.upper()
    off = plans["off_block"].to_numpy(float)
    eta = plans["eta"].to_numpy(float)
    eta = np.where(np.isfinite(eta), eta, off + 6 * 3600.0)  # a plan without ETA covers the next hours
    span = rows.groupby(rows["flight"].astype(str))["t"].agg(["min", "max"])
    ident = _flight_identity(rows)
    flights = span.join(ident)
    f_ids = flights.index.to_numpy()
    overlap = ((flights["min"].to_numpy()[:, None] <= eta[None, :] + PLAN_TIME_MARGIN_S)
               & (flights["max"].to_numpy()[:, None] >= off[None, :] - PLAN_TIME_MARGIN_S))
    best = np.full(len(f_ids), np.inf)
    for column in ("callsign", "icao24"):
        mine = flights[column].astype("string").fillna("").to_numpy(dtype=str)
        theirs = plans[column].astype("string").fillna("").to_numpy(dtype=str)
        same = (mine[:, None] == theirs[None, :]) & (mine[:, None] != "")
        hit = (same & overlap).any(axis=1)
        best = np.where(hit, np.minimum(best, flights[f"{column}_t"].to_numpy(float)), best)
    if registered is not None and len(registered):
        fields = registered.assign(icao=registered["icao"].astype("string").str.upper()).drop_duplicates("icao")
        origin = plans[["origin"]].astype("string").apply(lambda s: s.str.upper()).merge(
            fields[["icao", "lat", "lon"]], left_on="origin", right_on="icao", how="left")
        first_rows = rows.groupby(rows["flight"].astype(str)).first().reindex(f_ids)
        from centinela.geo.frames import haversine_m
        d = haversine_m(first_rows["lat"].to_numpy(float)[:, None], first_rows["lon"].to_numpy(float)[:, None],
                        origin["lat"].to_numpy(float)[None, :], origin["lon"].to_numpy(float)[None, :])
        on_time = np.abs(flights["min"].to_numpy()[:, None] - off[None, :]) <= PLAN_TIME_MARGIN_S
        route = ((d <= PLAN_ROUTE_RADIUS_M) & on_time).any(axis=1)
        best = np.where(route, np.minimum(best, flights["min"].to_numpy(float)), best)
    when[:] = best
    return when.reindex(rows["flight"].astype(str)).to_numpy(float)


# --- landing indicators ---------------------------------------------------------------------------------------
def landing_indicators(rows: pd.DataFrame, *, events: pd.DataFrame | None, airstrips: pd.DataFrame | None,
                       registered: pd.DataFrame | None) -> pd.DataFrame:
    """The :data:`LANDING_INDICATORS` per flight (index: flight), from the flight's landing and ground-stop
    events and the airstrip catalogue."""
    flights = pd.Index(rows["flight"].astype(str).unique(), name="flight") if len(rows) else pd.Index([], name="flight")
    out = pd.DataFrame(0.0, index=flights, columns=LANDING_INDICATORS)
    if len(flights) == 0:
        return out
    registered = nearby(registered, rows)
    last = rows.groupby(rows["flight"].astype(str)).last().reindex(flights)
    out["ends_at_airfield"] = _near(last["lat"], last["lon"], registered, TAKEOFF_RADIUS_M).astype(float)
    out["leaves_toward_bolivia"] = _leaves_toward_bolivia(rows, registered, airstrips).reindex(flights).to_numpy()
    crossings = event_flights(rows, events, ("border_crossing",))
    if len(crossings):
        to_bol = crossings[_crossing_direction(crossings).eq(f"{PERU}>{BOLIVIA}").to_numpy(bool)]
        out.loc[out.index.isin(to_bol["flight"].astype(str)), "to_bolivia"] = 1.0

    landings = event_flights(rows, events, LANDING_KINDS)
    if len(landings) == 0:
        return out
    landings = landings.reset_index(drop=True)
    landings["flight"] = landings["flight"].astype(str)
    lat, lon = landings["lat"].to_numpy(float), landings["lon"].to_numpy(float)
    strips = _strip_table(airstrips)
    strip = strips.reindex(landings["airstrip_id"].astype("string").fillna("").to_numpy())
    registered_strip = strip["registered"].fillna(False).to_numpy(bool) | _near(lat, lon, registered, 3_000.0)
    landings["unregistered"] = ~registered_strip
    t_start = landings["t"].to_numpy(float)
    t_end = landings["t_end"].to_numpy(float)
    ground_s = t_end - t_start
    is_stop = landings["kind"].astype("string").eq("ground_stop").fillna(False).to_numpy(bool) \
        if "kind" in landings else np.zeros(len(landings), bool)
    landings["band"] = is_stop & (ground_s >= GROUND_TIME_MIN_S) & (ground_s <= GROUND_TIME_MAX_S)
    landings["dawn"] = is_dawn(t_start, lat, lon)
    bases = military_bases()
    landings["base"] = nearest_distance_m(lat, lon, bases["lat"], bases["lon"]) <= BASE_RADIUS_M
    history = strip_history(airstrips, events)
    prior = [landings_before(history, sid, t) for sid, t in
             zip(landings["airstrip_id"].astype("string").fillna("").to_numpy(), t_start)]
    landings["prior"] = np.log1p(np.asarray(prior, float)) * landings["unregistered"]
    landings["successor"] = strip["successor"].fillna(False).to_numpy(bool) & landings["unregistered"]

    per_flight = landings.groupby("flight").agg(
        unregistered_landing=("unregistered", "max"), ground_time_5_20min=("band", "max"),
        dawn_landing=("dawn", "max"), strip_prior_landings=("prior", "max"),
        strip_successor=("successor", "max"), lands_at_base=("base", "max"))
    out.update(per_flight.astype(float))
    return out


def _strip_table(airstrips: pd.DataFrame | None) -> pd.DataFrame:
    """Airstrips by id with ``registered`` and ``successor`` (the catalogue's ``successor_of`` is set: the
    strip replaced a strip that fell silent nearby, see :mod:`centinela.detect.airstrips`)."""
    if airstrips is None or len(airstrips) == 0:
        return pd.DataFrame({"registered": pd.Series(dtype=bool), "successor": pd.Series(dtype=bool)})
    s = airstrips.drop_duplicates("id").reset_index(drop=True)
    successor = s["successor_of"].astype("string").fillna("").str.len().to_numpy() > 0 \
        if "successor_of" in s else np.zeros(len(s), bool)
    return pd.DataFrame({"registered": s["registered"].astype("boolean").fillna(False).to_numpy(bool),
                         "successor": successor}, index=pd.Index(s["id"].astype(str).to_numpy(), name="id"))


def strip_history(airstrips: pd.DataFrame | None, events: pd.DataFrame | None,
                  counted: pd.DataFrame | None = None) -> dict[str, tuple[int, np.ndarray]]:
    """Per strip id: (landings known from earlier runs, sorted times of this run's landing events there).

    The catalogue's ``landings`` counts every landing, earlier runs' included; this run's landing events are
    subtracted from it to leave the earlier ones, which all happened before this run. ``counted``: the subset
    of this run's events whose times are listed (default: all of ``events``)."""
    def landing_times(frame: pd.DataFrame | None) -> dict[str, np.ndarray]:
        if frame is None or len(frame) == 0:
            return {}
        ev = frame[frame["kind"].astype("string").eq("landing").fillna(False).to_numpy(bool)]
        ev = ev.dropna(subset=["airstrip_id"])
        return {str(k): np.sort(v["t"].to_numpy(float)) for k, v in ev.groupby(ev["airstrip_id"].astype(str))}

    every = landing_times(events)
    times = every if counted is None else landing_times(counted)
    history: dict[str, tuple[int, np.ndarray]] = {}
    if airstrips is not None and len(airstrips) and "landings" in airstrips:
        for sid, total in zip(airstrips["id"].astype(str), airstrips["landings"].fillna(0).to_numpy(float)):
            this_run = len(every.get(sid, ()))
            history[sid] = (max(int(total) - this_run, 0), times.get(sid, np.empty(0)))
    for sid, mine in times.items():
        history.setdefault(sid, (0, mine))
    return history


def landings_before(history: dict[str, tuple[int, np.ndarray]], strip_id: str, t) -> np.ndarray:
    """Number of landings on ``strip_id`` before each time ``t`` (see :func:`strip_history`)."""
    earlier, times = history.get(str(strip_id), (0, np.empty(0)))
    return earlier + np.searchsorted(times, np.asarray(t, float), side="left")


# --- public entry -------------------------------------------------------------------------------------------
def flight_indicators(rows: pd.DataFrame, *, events, flightplans, airstrips, registered) -> pd.DataFrame:
    """All :data:`FLIGHT_INDICATORS` per flight (index: flight): airborne indicators at the flight's last
    update, landing indicators from its events."""
    if len(rows) == 0:
        return pd.DataFrame(columns=FLIGHT_INDICATORS, index=pd.Index([], name="flight"), dtype=float)
    air = airborne_indicators(rows, events=events, flightplans=flightplans, registered=registered,
                              airstrips=airstrips)
    air["flight"] = rows["flight"].astype(str).to_numpy()
    at_end = air.groupby("flight").last()
    # Dawn for a whole flight means it was flying at dawn at some time.
    at_end["dawn"] = air.groupby("flight")["dawn"].max()
    land = landing_indicators(rows, events=events, airstrips=airstrips, registered=registered)
    return at_end.join(land)[FLIGHT_INDICATORS]


def indicators(scenario: model.Scenario, outputs: model.Outputs, *, terrain=None,
               registered: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per track: ``track_id``, ``flight_id`` (the flight it belongs to, see :func:`flight_keys`) and
    one column per indicator of :data:`FLIGHT_INDICATORS`, computed over the whole flight."""
    rows = track_rows(scenario, outputs, terrain=terrain, registered=registered)
    flightplans = scenario.flightplans if scenario is not None else None
    per_flight = flight_indicators(rows, events=outputs.events, flightplans=flightplans,
                                   airstrips=outputs.airstrips, registered=registered)
    if len(rows) == 0:
        return pd.DataFrame(columns=["track_id", "flight_id", *FLIGHT_INDICATORS])
    tracks = rows.drop_duplicates("track_id")[["track_id", "flight"]]
    table = tracks.merge(per_flight, left_on="flight", right_index=True, how="left")
    table = table.rename(columns={"flight": "flight_id"})
    table["track_id"] = table["track_id"].astype("string")
    table["flight_id"] = table["flight_id"].astype("string")
    return table.reset_index(drop=True)

