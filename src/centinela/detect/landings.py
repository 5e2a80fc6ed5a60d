"""Take-offs, landings and ground stops: seen directly (a transponder track on the ground) or inferred where
the radar only sees a track vanish and another appear.

The tracks are cut into *segments* (a track's updates with no gap longer than :data:`SEGMENT_GAP_S`). Every
segment has an arriving edge (its end) and a departing edge (its start); a segment that ends or starts on
the ground gives its position directly, an airborne edge gives an extrapolated strip (``sites``). A
landing-edge is then linked to a later departing edge of another segment when both point at the same strip
and the time between them leaves room for a stop on the ground (one assignment over all candidates, so each
edge is used once): that is a ground stop, the air-bridge signature. Edges left alone become single landings
or take-offs when their motion says so (slowing to approach speed, descending near the ground).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from centinela.detect import sites
from centinela.detect.coverage import visible_floor_m
from centinela.detect.crossings import flight_key
from centinela.geo.frames import EARTH_RADIUS_M, bearing_deg, destination, haversine_m

# A track with no update for longer than this (6 scans of a 10 s radar) has lost the aircraft.
SEGMENT_GAP_S = 60.0
# Motion at an edge is averaged over this window: ~6 radar scans, enough to damp plot noise, short enough
# that the final approach is not mixed with the pattern before it.
EDGE_WINDOW_S = 60.0
# Orbits are also looked for over this longer window: a light plane's climbing or descending orbit (radius
# ~0.3-0.6 km at 40-50 m/s) takes 40-80 s a turn, so 150 s holds two turns; a straight final, none.
ORBIT_WINDOW_S = 150.0
# Fewer updates than this give no reliable speed or heading: false tracks from clutter are this short.
MIN_SEGMENT_UPDATES = 3
# Below this displacement / path length an edge window is an orbit (straight flight with plot noise reads
# ~0.8-1; a full circle reads ~0).
MIN_STRAIGHTNESS = 0.6
# A lone landing needs this chance that flat ground lies where it points (sites.refine_with_terrain).
MIN_LANDABLE = 0.2
# Below this an on-ground aircraft is taxiing slowly or parked: where it stood.
STANDING_MPS = 5.0
# Within this height of the ground an aircraft about to land has touched down (ADS-B steps are 7.6 m).
TOUCHDOWN_AGL_M = 15.0
# A lone track end (start) is reported as a landing (take-off) only when the strip it points at is within
# this distance: ~3 min of a light plane's approach; farther, it may turn anywhere.
MAX_UNPAIRED_DISTANCE_M = 8_000.0
# A gap up to this long is a typical stop (a 10-20 min ground time plus the unseen approach and climb-out);
# longer unlinked gaps pay for the growing chance that another aircraft's departure matches by coincidence.
COINCIDENCE_SCALE_S = 1_800.0
# An edge flown in circles is an orbit to gain or lose height (a light plane's turn takes ~60-70 s and gains
# or loses ~250 m at 4 m/s): five such turns in a terrain shadow explain a gap as well as a stop does.
CIRCLING_BLIND_STOP_S = 360.0
# A track that ends where the coverage floor rises by more than this over the next scans of its path flew
# into a terrain shadow: the floor is sampled every ~500 m along rays over a ~1 km DEM (tens of metres of
# error), and a plane flying level at any height between the two floors would vanish just the same.
SHADOW_MARGIN_M = 150.0
SHADOW_SCANS = 4  # the segment gap is 6 scans; it was unseen at least that long
# A strip estimate vaguer than this (1 sigma) cannot corroborate a stop: two such ellipses "agree" with
# anything within ~20 km, the distance between several valley strips.
MAX_PAIRING_SIGMA_M = 6_000.0
# An aircraft flying on through a coverage hole reappears roughly ahead: a turn of up to this much while unseen
# (a dog-leg round a ridge) is still flying on; a start behind or abeam the end is another aircraft or a stop.
CONTINUATION_MAX_TURN_DEG = 60.0
# Paired with a precise take-off that places the strip by itself, the arrival may be this vague.
MAX_ANCHORED_SIGMA_M = 12_000.0


@dataclass(frozen=True)
class StopParams:
    """Thresholds of the stop and landing logic (see docs/detect.md for where each number comes from)."""

    min_stop_s: float = 60.0  # shortest ground stop: turning a plane round on a strip takes a minute
    # Shortest stop inferred from a gap alone: an unseen orbit or procedure turn (a light plane's 360 degree
    # turn at 45 m/s and 30 degrees of bank takes ~50 s; losing a few hundred metres takes 2-3 of them)
    # explains a shorter gap as well as a landing does.
    min_blind_stop_s: float = 180.0
    max_stop_s: float = 3 * 3600.0  # longer stops are reported as separate landing and take-off
    max_pair_distance_m: float = 25_000.0  # coarse gate before the statistical one
    gate_d2: float = 13.8  # chi-square, 2 d.o.f., 99.9%: the two strip estimates agree
    min_landing_cue: float = 0.5  # unpaired edge reported as a landing / take-off above this cue
    fixed_wing_min_mps: float = 25.0  # slower than a light plane's stall: a helicopter (it may hover)
    # A radar-only track that ends (starts) faster than a light plane's approach speed (1.3 x stall, ~36-40 m/s
    # for the singles of the region) is no touch-down (lift-off) point on its own: the plane still had to slow
    # down and line up, or had long left the strip, kilometres away in an unknown direction.
    max_unpaired_mps: float = 40.0
    touch_and_go_max_s: float = 60.0  # a landing followed by a take-off within this is a touch-and-go
    max_sigma_m: float = 3_000.0  # landings, take-offs and stops placed less precisely are not reported


def _segments(m: pd.DataFrame) -> pd.DataFrame:
    new = (m["track_id"] != m["track_id"].shift()) | (m["t"].diff() > SEGMENT_GAP_S)
    m = m.copy()
    m["segment"] = np.cumsum(new.to_numpy())
    ground = m["on_ground"].to_numpy(bool)
    change = new.to_numpy() | (ground != np.roll(ground, 1))
    m["run"] = np.cumsum(change)
    return m


def _slope(sel: pd.DataFrame, key: str, y: str) -> pd.Series:
    """Least-squares slope dy/dt per group (NaN with fewer than 2 finite points)."""
    d = sel[[key, "t", y]].dropna()
    g = d.groupby(key)
    tc = d["t"] - g["t"].transform("mean")
    yc = d[y] - g[y].transform("mean")
    num = (tc * yc).groupby(d[key]).sum()
    den = (tc * tc).groupby(d[key]).sum()
    return (num / den.where(den > 0)).astype(float)


def _edge_velocity(sel: pd.DataFrame, gs) -> tuple[pd.Series, pd.Series]:
    """North and east velocity (m/s) over each edge window: the least-squares slope of the positions when
    the window has 3 updates or more (a tracker's velocity is not settled in a track's first updates, and
    plots are), else the mean of the tracker's velocities."""
    lat_rate = _slope(sel, "segment", "lat")  # degrees per second
    lon_rate = _slope(sel, "segment", "lon")
    cos_lat = np.cos(np.radians(gs["lat"].mean()))
    metres_per_degree = np.radians(1.0) * EARTH_RADIUS_M
    vn = lat_rate * metres_per_degree
    ve = lon_rate * metres_per_degree * cos_lat
    enough = gs.size() >= MIN_SEGMENT_UPDATES
    vn = vn.where(enough & vn.notna(), gs["vn_mps"].mean())
    ve = ve.where(enough & ve.notna(), gs["ve_mps"].mean())
    return vn, ve


def _path_speed(sel: pd.DataFrame) -> pd.Series:
    """Path length over time in each edge window: the speed flown, whether straight or in circles."""
    same = sel["segment"].to_numpy() == np.roll(sel["segment"].to_numpy(), 1)
    same[:1] = False
    step = haversine_m(np.roll(sel["lat"].to_numpy(float), 1), np.roll(sel["lon"].to_numpy(float), 1),
                       sel["lat"].to_numpy(float), sel["lon"].to_numpy(float))
    path = pd.Series(np.where(same, step, 0.0), index=sel.index).groupby(sel["segment"]).sum()
    span = sel.groupby("segment")["t"].agg(lambda t: t.max() - t.min())
    return path / span.where(span > 0)


def _edges(m: pd.DataFrame, last: bool) -> pd.DataFrame:
    """One row per segment: its last (``last``) or first update and the motion averaged over the window."""
    g = m.groupby("segment", sort=True)
    edge = g.tail(1) if last else g.head(1)
    edge = edge.assign(_row=edge.index).set_index("segment")
    t_edge = m["segment"].map(edge["t"])
    sel = m[(m["t"] - t_edge).abs() <= EDGE_WINDOW_S]
    gs = sel.groupby("segment")
    vn, ve = _edge_velocity(sel, gs)
    out = pd.DataFrame({
        "segment": edge.index,
        "track_id": edge["track_id"].to_numpy(),
        "t": edge["t"].to_numpy(float),
        "lat": edge["lat"].to_numpy(float),
        "lon": edge["lon"].to_numpy(float),
        "alt_m": edge["alt_m"].to_numpy(float),
        "agl_m": edge["agl_m"].to_numpy(float),
        # The window's median: a track's first rows (and rows right over a radar, where the unknown altitude
        # blurs the ground range) carry a sigma of kilometres that the next few updates remove.
        "sigma_pos_m": gs["sigma_pos_m"].median().reindex(edge.index).to_numpy(float),
        "on_ground": edge["on_ground"].to_numpy(bool),
        "cooperative": gs["cooperative"].any().reindex(edge.index).to_numpy(bool),
    })
    displacement_speed = np.hypot(vn, ve)
    path_speed = _path_speed(sel)
    # Displacement over path length: ~1 flying straight (less a little for plot noise), near 0 circling (a
    # climbing or descending orbit), where the heading says nothing about the strip. Checked over the edge
    # window and over a longer one: a wide orbit is only half a turn in the edge window.
    circling = (displacement_speed / path_speed < MIN_STRAIGHTNESS).reindex(edge.index).fillna(False)
    wide = m[(m["t"] - t_edge).abs() <= ORBIT_WINDOW_S]
    gw = wide.groupby("segment")
    w_start, w_end = wide.loc[gw["t"].idxmin()], wide.loc[gw["t"].idxmax()]
    displacement = pd.Series(haversine_m(w_start["lat"].to_numpy(float), w_start["lon"].to_numpy(float),
                                         w_end["lat"].to_numpy(float), w_end["lon"].to_numpy(float)),
                             index=w_start["segment"].to_numpy())
    span = gw["t"].max() - gw["t"].min()
    wide_straightness = displacement / (_path_speed(wide) * span).where(span > 0)
    circling |= (wide_straightness < MIN_STRAIGHTNESS).reindex(edge.index).fillna(False)
    out["circling"] = circling.to_numpy(bool)
    # In an orbit the displacement speed is near zero; the aircraft still flies at its path speed (plot
    # noise adds a little, a fraction of the ~60 m plot sigma per scan).
    speed = displacement_speed.where(~circling.reindex(displacement_speed.index, fill_value=False),
                                     path_speed.reindex(displacement_speed.index))
    out["speed_mps"] = speed.reindex(edge.index).to_numpy(float)
    out["heading_deg"] = (np.degrees(np.arctan2(ve, vn)) % 360.0).reindex(edge.index).to_numpy(float)
    out["accel_mps2"] = _slope(sel, "segment", "speed_mps").reindex(edge.index).to_numpy(float)
    out["vz_mps"] = _slope(sel, "segment", "alt_m").reindex(edge.index).to_numpy(float)
    # Cruise speed is the flight's (all its tracks), not one fragment's: a short final-approach fragment
    # must still read as slow.
    flight = pd.Series(flight_key(m), index=m.index)
    cruise = m["speed_mps"].groupby(flight).quantile(0.9)
    out["cruise_mps"] = flight.loc[edge["_row"]].map(cruise).to_numpy(float)
    out["window_lat"] = gs["lat"].mean().reindex(edge.index).to_numpy(float)
    out["window_lon"] = gs["lon"].mean().reindex(edge.index).to_numpy(float)
    step = m["t"].diff().where(m["segment"] == m["segment"].shift())
    out["scan_s"] = step.groupby(m["segment"]).median().reindex(edge.index).fillna(10.0).to_numpy(float)
    out["n_updates"] = g.size().reindex(edge.index).to_numpy(int)
    for column in ("flight_id", "icao24", "sensors"):
        values = edge[column] if column in edge else pd.Series(pd.NA, index=edge.index)
        values = values.astype("string")
        out[column] = np.where(values.notna().to_numpy(bool), values.fillna("").to_numpy(object), None)
    if "sensors" in m:
        out["sensors"] = gs["sensors"].agg(lambda s: ",".join(sorted({x.strip() for v in s.dropna()
                                                                        for x in str(v).split(",")}))
                                            ).reindex(edge.index).to_numpy()
    return out.reset_index(drop=True)


def _tracker_breaks(ends: pd.DataFrame, starts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which airborne ends and starts are only the tracker cutting one flight into tracks: a track of a flight
    ends and another track of the same flight starts within :data:`SEGMENT_GAP_S`. The aircraft never left
    the radar's view there (a descending orbit, say, cut into fragments), so neither edge is a landing or a
    take-off."""
    end_break, start_break = np.zeros(len(ends), bool), np.zeros(len(starts), bool)
    e = ends[~ends["on_ground"].to_numpy(bool) & pd.notna(ends["flight_id"]).to_numpy(bool)]
    s = starts[~starts["on_ground"].to_numpy(bool) & pd.notna(starts["flight_id"]).to_numpy(bool)]
    pairs = (e[["flight_id", "t"]].reset_index(names="end")
             .merge(s[["flight_id", "t"]].reset_index(names="start"), on="flight_id", suffixes=("_end", "_start")))
    gap = pairs["t_start"] - pairs["t_end"]
    pairs = pairs[(gap > 0) & (gap <= SEGMENT_GAP_S)]
    end_break[ends.index.get_indexer(pairs["end"])] = True
    start_break[starts.index.get_indexer(pairs["start"])] = True
    return end_break, start_break


def _reliable(edges: pd.DataFrame) -> pd.DataFrame:
    """Edges of segments with enough updates to have a speed and a heading (clutter makes short tracks)."""
    return edges[edges["n_updates"] >= MIN_SEGMENT_UPDATES].reset_index(drop=True)


def _site_frame(edges: pd.DataFrame, arriving: bool, sensors, terrain) -> pd.DataFrame:
    """Strip estimate for every edge: the edge itself when on the ground, else extrapolated."""
    est = pd.DataFrame(index=edges.index, columns=["site_lat", "site_lon", "cov_ee", "cov_en", "cov_nn",
                                                   "distance_m", "unseen_s", "method"])
    ground = edges["on_ground"].to_numpy(bool)
    if ground.any():
        sigma2 = (np.nan_to_num(edges.loc[ground, "sigma_pos_m"].to_numpy(float)) + 50.0) ** 2
        est.loc[ground, ["site_lat", "site_lon"]] = edges.loc[ground, ["lat", "lon"]].to_numpy()
        est.loc[ground, "cov_ee"], est.loc[ground, "cov_nn"], est.loc[ground, "cov_en"] = sigma2, sigma2, 0.0
        est.loc[ground, "distance_m"], est.loc[ground, "unseen_s"], est.loc[ground, "method"] = 0.0, 0.0, "ground"
    if (~ground).any():
        est.loc[~ground] = sites.extrapolate(edges.loc[~ground], arriving=arriving, sensors=sensors, terrain=terrain)
    for c in ("site_lat", "site_lon", "cov_ee", "cov_en", "cov_nn", "distance_m", "unseen_s"):
        est[c] = est[c].astype(float)
    return pd.concat([edges, est], axis=1)


def _cue(edges: pd.DataFrame, arriving: bool, sensors) -> np.ndarray:
    """How strongly an edge's own motion says "on the ground here" (0..1): on the ground; low or heading
    for the ground (altitude known); slowed well below its cruise speed or slowing (radar only)."""
    v = edges["speed_mps"].to_numpy(float)
    cruise = np.fmax(edges["cruise_mps"].to_numpy(float), 1.0)
    slow = np.clip((0.85 - v / cruise) / 0.35, 0.0, 1.0)
    a = edges["accel_mps2"].to_numpy(float) * (-1.0 if arriving else 1.0)
    changing = np.clip(np.nan_to_num(a) / 0.3, 0.0, 1.0)
    cue = np.maximum(slow, changing)
    agl = edges["agl_m"].to_numpy(float)
    vz = edges["vz_mps"].to_numpy(float) * (-1.0 if arriving else 1.0)  # toward the ground, as positive
    known = np.isfinite(agl)
    near_ground = known & ((agl < sites.LOW_AGL_M) | ((vz > 0.5) & (agl / np.fmax(vz, 0.5) < 300.0)))
    cue = np.where(known, np.where(near_ground, 0.9, 0.1), cue)
    # An edge whose strip estimate is many kilometres away says little about a strip being there: the
    # aircraft can still turn anywhere (on its own it is not reported; paired, it can still be a stop).
    far = np.nan_to_num(edges["distance_m"].to_numpy(float), nan=np.inf) > MAX_UNPAIRED_DISTANCE_M
    cue = np.where(far, 0.0, cue)
    cue = np.where(edges["on_ground"].to_numpy(bool), 1.0, cue)
    # An edge at the rim of every radar's range is the aircraft leaving coverage, not landing.
    radars = [s for s in (sensors or []) if s.kind in ("psr", "ssr") and s.range_max_m]
    if radars:
        lat, lon = edges["lat"].to_numpy(float), edges["lon"].to_numpy(float)
        rim = np.ones(len(edges), bool)
        for s in radars:
            rim &= haversine_m(s.lat, s.lon, lat, lon) > 0.9 * s.range_max_m
        cue = np.where(rim & ~known, 0.2 * cue, cue)
    return cue


def _evidence_edge(e: pd.Series) -> dict:
    return {
        "track_id": str(e["track_id"]), "t_seen": float(e["t"]), "lat": round(float(e["lat"]), 6),
        "lon": round(float(e["lon"]), 6), "speed_mps": round(float(e["speed_mps"]), 1),
        "on_ground": bool(e["on_ground"]), "method": str(e["method"]),
        "extrapolated_m": round(float(e["distance_m"]), 0),
        "sensors": None if pd.isna(e["sensors"]) else str(e["sensors"]),
    }


def _event(kind: str, t: float, t_end: float, lat: float, lon: float, track_ids: list[str], confidence: float,
           cov: np.ndarray, evidence: dict, flight_id) -> dict:
    major, minor, orientation = sites.ellipse(cov)
    return {"kind": kind, "t": float(t), "t_end": float(t_end), "lat": float(lat), "lon": float(lon),
            "track_ids": list(dict.fromkeys(track_ids)), "airstrip_id": pd.NA, "confidence": float(confidence),
            "evidence": evidence, "sigma_major_m": major, "sigma_minor_m": minor, "orientation_deg": orientation,
            "flight_id": None if pd.isna(flight_id) else str(flight_id)}


def _covs(edges: pd.DataFrame) -> np.ndarray:
    """(n, 2, 2) covariances of the edges' strip estimates."""
    ee, en, nn = (edges[c].to_numpy(float) for c in ("cov_ee", "cov_en", "cov_nn"))
    return np.stack([np.stack([ee, en], -1), np.stack([en, nn], -1)], -2)


def _major_sigma(covs: np.ndarray) -> np.ndarray:
    """1-sigma semi-major axis of each (2, 2) covariance, m."""
    return np.sqrt(np.maximum(np.linalg.eigvalsh(covs)[..., -1], 0.0))


def _assign(ei: np.ndarray, si: np.ndarray, costs: np.ndarray) -> list[int]:
    """Indices of the candidate pairs kept by a minimum-cost one-to-one assignment. Candidates form small
    independent groups (nearby in time and space): each connected group is solved on its own."""
    ok = np.flatnonzero(np.isfinite(costs))
    if not len(ok):
        return []
    ue, ie = np.unique(ei[ok], return_inverse=True)
    us, is_ = np.unique(si[ok], return_inverse=True)
    graph = coo_matrix((np.ones(len(ok)), (ie, len(ue) + is_)), shape=(len(ue) + len(us),) * 2)
    _, component = connected_components(graph, directed=False)
    chosen = []
    for c in np.unique(component[ie]):
        members = ok[component[ie] == c]
        rows, r_idx = np.unique(ei[members], return_inverse=True)
        cols, c_idx = np.unique(si[members], return_inverse=True)
        matrix = np.full((len(rows), len(cols)), np.inf)
        best = np.full((len(rows), len(cols)), -1)
        for k, r, q in zip(members, r_idx, c_idx):  # the few candidates of one group
            if costs[k] < matrix[r, q]:
                matrix[r, q], best[r, q] = costs[k], k
        finite = np.where(np.isfinite(matrix), matrix, 1e6)
        for r, q in zip(*linear_sum_assignment(finite)):
            if best[r, q] >= 0 and np.isfinite(matrix[r, q]):
                chosen.append(int(best[r, q]))
    return chosen


def _cov(e: pd.Series) -> np.ndarray:
    return np.array([[e["cov_ee"], e["cov_en"]], [e["cov_en"], e["cov_nn"]]], float)


def _observed_events(m: pd.DataFrame, p: StopParams) -> list[dict]:
    """Landings, take-offs and stops seen inside a segment: ground runs with flight on both sides."""
    m = m.reset_index(drop=True)
    runs = m.groupby("run", sort=True).agg(
        segment=("segment", "first"), track_id=("track_id", "first"), on_ground=("on_ground", "first"),
        first=("t", "idxmin"), last=("t", "idxmax"), sigma=("sigma_pos_m", "median"))
    runs["flight_id"] = m.groupby("run")["flight_id"].first() if "flight_id" in m else None
    # The aircraft stood where its slow updates are (taxi and parking), else between both ends of the run.
    slow = m[m["on_ground"] & (m["speed_mps"] < STANDING_MPS)].groupby("run")[["lat", "lon"]].median()
    touchdown, liftoff = _touchdown_rows(m)
    same_before = runs["segment"].shift(1) == runs["segment"]
    same_after = runs["segment"].shift(-1) == runs["segment"]
    events = []
    for run_id, r in runs[runs["on_ground"] & (same_before | same_after)].iterrows():
        sigma = (0.0 if pd.isna(r["sigma"]) else float(r["sigma"])) + 30.0
        cov = np.diag([sigma**2, sigma**2])
        ids = [str(r["track_id"])]
        landed, departed = bool(same_before[run_id]), bool(same_after[run_id])
        down, up = m.loc[touchdown[r["first"]]], m.loc[liftoff[r["last"]]]
        duration = float(up["t"] - down["t"])
        evidence = {"method": "observed", "ground_s": round(duration, 1), "track_id": ids[0]}
        if landed:
            events.append(_event("landing", down["t"], down["t"], down["lat"], down["lon"], ids, 0.97, cov,
                                 {**evidence, "touch_and_go": departed and duration <= p.touch_and_go_max_s},
                                 r["flight_id"]))
        if departed:
            events.append(_event("takeoff", up["t"], up["t"], up["lat"], up["lon"], ids, 0.97, cov,
                                 {**evidence, "touch_and_go": landed and duration <= p.touch_and_go_max_s},
                                 r["flight_id"]))
        if landed and departed and duration >= p.min_stop_s:
            if run_id in slow.index:
                lat, lon = float(slow.at[run_id, "lat"]), float(slow.at[run_id, "lon"])
            else:
                lat, lon = 0.5 * (down["lat"] + up["lat"]), 0.5 * (down["lon"] + up["lon"])
            events.append(_event("ground_stop", down["t"], up["t"], lat, lon, ids, 0.97, cov, evidence,
                                 r["flight_id"]))
    return events


def _touchdown_rows(m: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For every row, the first (``touchdown``) and last (``liftoff``) row of the block of updates within
    TOUCHDOWN_AGL_M of the ground around it, inside its segment: the on-ground test also waits for the
    vertical rate to settle, so its first on-ground row is a few seconds after the wheels touched."""
    low = (m["agl_m"] < TOUCHDOWN_AGL_M).to_numpy(bool) | m["on_ground"].to_numpy(bool)
    segment = m["segment"].to_numpy()
    block = np.cumsum(np.r_[True, (low[1:] != low[:-1]) | (segment[1:] != segment[:-1])])
    index = pd.Series(np.arange(len(m)))
    first = index.groupby(block).transform("min").to_numpy()
    last = index.groupby(block).transform("max").to_numpy()
    return np.where(low, first, index), np.where(low, last, index)


def _candidate_pairs(ends: pd.DataFrame, starts: pd.DataFrame, p: StopParams) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (end, start) with the start later than the end within max_stop_s and the two strip
    estimates within max_pair_distance_m of each other. Vectorised with a sorted time index."""
    order = np.argsort(starts["t"].to_numpy(float), kind="stable")
    t_sorted = starts["t"].to_numpy(float)[order]
    t_end = ends["t"].to_numpy(float)
    lo = np.searchsorted(t_sorted, t_end, side="right")
    hi = np.searchsorted(t_sorted, t_end + p.max_stop_s, side="right")
    counts = hi - lo
    ei = np.repeat(np.arange(len(ends)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    si = order[np.repeat(lo, counts) + offsets]
    d = haversine_m(ends["site_lat"].to_numpy(float)[ei], ends["site_lon"].to_numpy(float)[ei],
                    starts["site_lat"].to_numpy(float)[si], starts["site_lon"].to_numpy(float)[si])
    keep = (d <= p.max_pair_distance_m) & (ends["segment"].to_numpy()[ei] != starts["segment"].to_numpy()[si])
    e_icao, s_icao = ends["icao24"].to_numpy()[ei], starts["icao24"].to_numpy()[si]
    both = ~pd.isna(e_icao) & ~pd.isna(s_icao)
    keep &= ~(both & (e_icao != s_icao))  # two different transponders are two aircraft
    return ei[keep], si[keep]


def _unseen_flight_s(distance_m: np.ndarray, speed_mps: np.ndarray) -> np.ndarray:
    """Time to fly ``distance_m`` unseen between a plot at ``speed_mps`` and the strip: the speed falls (or
    builds) linearly to touch-down (lift-off) speed, so the mean is half of both."""
    v = np.nan_to_num(np.asarray(speed_mps, float), nan=sites.TOUCHDOWN_MPS)
    return np.asarray(distance_m, float) / np.fmax(0.5 * (v + sites.TOUCHDOWN_MPS), 10.0)


def _unseen_to_site_s(edges: pd.DataFrame, index: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Unseen flying time between each edge (``edges`` rows ``index``) and the fused strip at (lat, lon). An orbit
    to lose or gain height takes the time of its path (the edge's own ``unseen_s``), however near the strip it
    stays."""
    e = edges.iloc[index]
    straight = _unseen_flight_s(haversine_m(e["lat"].to_numpy(float), e["lon"].to_numpy(float), lat, lon),
                                e["speed_mps"].to_numpy(float))
    return np.where(e["circling"].to_numpy(bool), np.fmax(straight, e["unseen_s"].to_numpy(float)), straight)


def _airborne_continuation(ends: pd.DataFrame, starts: pd.DataFrame, ei: np.ndarray, si: np.ndarray) -> np.ndarray:
    """Whether the start continues the end's flight through a coverage hole: it lies where the aircraft
    would be had it kept flying (implied speed between half the slower and twice the faster edge speed),
    ahead of it (within :data:`CONTINUATION_MAX_TURN_DEG` of its course; any way from an orbit)."""
    dt = starts["t"].to_numpy(float)[si] - ends["t"].to_numpy(float)[ei]
    lat_e, lon_e = ends["lat"].to_numpy(float)[ei], ends["lon"].to_numpy(float)[ei]
    lat_s, lon_s = starts["lat"].to_numpy(float)[si], starts["lon"].to_numpy(float)[si]
    d = haversine_m(lat_e, lon_e, lat_s, lon_s)
    v_end, v_start = ends["speed_mps"].to_numpy(float)[ei], starts["speed_mps"].to_numpy(float)[si]
    implied = d / np.fmax(dt, 1.0)
    # Between half the slower and twice the faster of the two speeds: the aircraft may be slowing down.
    plausible = (implied >= 0.5 * np.fmin(v_end, v_start)) & (implied <= 2.0 * np.fmax(v_end, v_start) + 20.0)
    turn = np.abs((bearing_deg(lat_e, lon_e, lat_s, lon_s) - ends["heading_deg"].to_numpy(float)[ei] + 180.0)
                  % 360.0 - 180.0)
    ahead = (turn <= CONTINUATION_MAX_TURN_DEG) | ends["circling"].to_numpy(bool)[ei]
    return plausible & ahead


def stop_events(m: pd.DataFrame, *, sensors=None, terrain=None, params: StopParams | None = None) -> pd.DataFrame:
    """Landing, takeoff and ground_stop events of a motion frame (``kinematics.motion``)."""
    p = params or StopParams()
    if m.empty:
        return pd.DataFrame()
    m = _segments(m)
    events = _observed_events(m, p)
    ends, starts = _edges(m, last=True), _edges(m, last=False)
    end_break, start_break = _tracker_breaks(ends, starts)
    ends = _site_frame(_reliable(ends[~end_break]), True, sensors, terrain)
    starts = _site_frame(_reliable(starts[~start_break]), False, sensors, terrain)
    ends["cue"], starts["cue"] = _cue(ends, True, sensors), _cue(starts, False, sensors)

    ei, si = _candidate_pairs(ends, starts, p)
    continuation = _airborne_continuation(ends, starts, ei, si)
    lat, lon, cov, d2 = sites.fuse_many(
        ends["site_lat"].to_numpy(float)[ei], ends["site_lon"].to_numpy(float)[ei], _covs(ends)[ei],
        starts["site_lat"].to_numpy(float)[si], starts["site_lon"].to_numpy(float)[si], _covs(starts)[si])
    # Time on the ground: the gap less the unseen flying from the last plot to the fused strip and from it to
    # the first plot (each edge's own extrapolation would ignore how far apart the two really are).
    to_site_s = _unseen_to_site_s(ends, ei, lat, lon)
    from_site_s = _unseen_to_site_s(starts, si, lat, lon)
    gap_s = starts["t"].to_numpy(float)[si] - ends["t"].to_numpy(float)[ei]
    slack = gap_s - to_site_s - from_site_s
    seen_down = ends["on_ground"].to_numpy(bool)[ei] | starts["on_ground"].to_numpy(bool)[si]
    circling = ends["circling"].to_numpy(bool)[ei] | starts["circling"].to_numpy(bool)[si]
    min_stop = np.where(seen_down, p.min_stop_s, np.where(circling, CIRCLING_BLIND_STOP_S, p.min_blind_stop_s))
    e_flight, s_flight = ends["flight_id"].to_numpy(object)[ei], starts["flight_id"].to_numpy(object)[si]
    linked = np.array([a is not None and a == b for a, b in zip(e_flight, s_flight)], bool)
    # A stop needs the two strip estimates to agree, time on the ground, and some sign of a landing or a
    # take-off at one end at least (or the tracker's word that it is one flight).
    strong = np.maximum(ends["cue"].to_numpy(float)[ei], starts["cue"].to_numpy(float)[si]) >= p.min_landing_cue
    # An estimate known no better than this says nothing about where it agrees with the other one.
    sigma_end, sigma_start = _major_sigma(_covs(ends))[ei], _major_sigma(_covs(starts))[si]
    informative = (sigma_end <= MAX_PAIRING_SIGMA_M) & (sigma_start <= MAX_PAIRING_SIGMA_M)
    # A precise take-off (a climb out of a strip in view, or a climbing orbit over it) places the strip on its
    # own: a plane that takes off from a bush strip landed there first. The vaguer arrival then only has to
    # agree, which the gates below still check. (Not the other way round: a precise landing paired with a
    # vague start would turn any aircraft appearing nearby, an inbound one too, into its departure.)
    anchored = (sigma_start <= p.max_sigma_m) & (starts["cue"].to_numpy(float)[si] >= p.min_landing_cue)
    informative |= anchored & (sigma_end <= MAX_ANCHORED_SIGMA_M)
    # Beyond a typical stop, an unlinked pair needs a landing cue at both ends: the longer the gap, the more
    # unrelated arrivals and departures share a valley.
    both = np.minimum(ends["cue"].to_numpy(float)[ei], starts["cue"].to_numpy(float)[si]) >= p.min_landing_cue
    corroborated = linked | (gap_s <= COINCIDENCE_SCALE_S) | both
    stop = (d2 <= p.gate_d2) & (slack >= min_stop) & (strong | linked) & informative & corroborated
    cue_sum = ends["cue"].to_numpy(float)[ei] + starts["cue"].to_numpy(float)[si]
    # The longer the gap, the likelier an unrelated aircraft's departure falls in the gate by chance (their
    # count grows with the window): unlinked long gaps cost log(gap / typical stop).
    coincidence = np.where(linked, 0.0, np.log(np.fmax(gap_s / COINCIDENCE_SCALE_S, 1.0)))
    # A stop costs its disagreement, less for linked tracks and strong landing cues; a flight on through a
    # hole in coverage uses the pair up and reports nothing.
    costs = np.where(stop, d2 - 2.0 * linked - cue_sum + coincidence, np.where(continuation, 0.5 - linked, np.inf))

    used_ends, used_starts = set(), set()
    for k in _assign(ei, si, costs):
        i, j = int(ei[k]), int(si[k])
        used_ends.add(i)
        used_starts.add(j)
        if stop[k]:
            t_land = float(ends["t"].iloc[i] + to_site_s[k])
            t_off = float(starts["t"].iloc[j] - from_site_s[k])
            events.extend(_stop_from_pair(ends.iloc[i], starts.iloc[j], float(lat[k]), float(lon[k]), cov[k],
                                          float(d2[k]), (t_land, t_off), bool(linked[k]), terrain, p))

    ends["shadowed"] = _vanished_into_shadow(ends, True, sensors, terrain)
    starts["shadowed"] = _vanished_into_shadow(starts, False, sensors, terrain)
    events += _lone_events("landing", ends, used_ends, terrain, p)
    events += _lone_events("takeoff", starts, used_starts, terrain, p)
    # A place known no better than this is no landing report: its 1-sigma ellipse alone covers ~30 km2 of
    # valley, several strips, more than a ground team can search.
    return pd.DataFrame([e for e in events if not e["sigma_major_m"] > p.max_sigma_m])


def _vanished_into_shadow(edges: pd.DataFrame, arriving: bool, sensors, terrain) -> np.ndarray:
    """Whether a primary-radar edge is explained by the aircraft flying, at any height it could have had,
    into (or out of) ground the radars cannot see: the lowest visible altitude along its path over the next
    (previous) scans lies well above the one where it was last (first) seen, which it was at or above. Then
    its vanishing says nothing about a landing."""
    out = np.zeros(len(edges), bool)
    blind = ~np.isfinite(edges["alt_m"].to_numpy(float)) & ~edges["on_ground"].to_numpy(bool)
    if not (sensors and terrain is not None and blind.any()):
        return out
    e = edges[blind]
    lat, lon = e["lat"].to_numpy(float), e["lon"].to_numpy(float)
    bearing = e["heading_deg"].to_numpy(float) + (0.0 if arriving else 180.0)
    step_m = np.nan_to_num(e["speed_mps"].to_numpy(float) * e["scan_s"].to_numpy(float), nan=500.0)
    here = visible_floor_m(sensors, terrain, lat, lon, kinds=("psr",))
    ahead = []
    for k in range(1, SHADOW_SCANS + 1):
        a_lat, a_lon = destination(lat, lon, bearing % 360.0, k * step_m)
        ahead.append(visible_floor_m(sensors, terrain, a_lat, a_lon, kinds=("psr",)))
    lowest_ahead = np.min(np.vstack(ahead), axis=0)
    circling = e["circling"].to_numpy(bool)  # no straight path to follow: no shadow argument either
    out[np.flatnonzero(blind)] = (lowest_ahead > here + SHADOW_MARGIN_M) & ~circling
    return out


def _lone_events(kind: str, edges: pd.DataFrame, used: set[int], terrain, p: StopParams) -> list[dict]:
    """Landings (take-offs) at the edges no pairing explained, where their own motion says so."""
    out = []
    for i in sorted(set(range(len(edges))) - used):
        e = edges.iloc[i]
        # An edge on the ground was reported by _observed_events when the aircraft landed in view.
        if e["on_ground"] or e["cue"] < p.min_landing_cue or e["shadowed"]:
            continue
        if not np.isfinite(e["agl_m"]) and float(e["speed_mps"]) > p.max_unpaired_mps:
            continue
        event = _single_event(kind, e, terrain, p)
        if event is not None:
            out.append(event)
    return out


def _edge_confidence(e: pd.Series) -> float:
    base = 0.9 if e["method"] in ("altitude", "ground") else 0.3
    return float(np.clip(base + (0.4 if base < 0.5 else 0.05) * float(e["cue"]), 0.0, 0.97))


def _single_event(kind: str, e: pd.Series, terrain, p: StopParams) -> dict | None:
    lat, lon, cov, landable = sites.refine_with_terrain(float(e["site_lat"]), float(e["site_lon"]), _cov(e), terrain)
    if landable < MIN_LANDABLE:
        return None  # no ground to land on where the motion points: the aircraft went on, out of sight
    t = e["t"] + e["unseen_s"] if kind == "landing" else e["t"] - e["unseen_s"]
    evidence = {"method": f"extrapolated ({e['method']})", "edge": _evidence_edge(e), "landable": round(landable, 2)}
    confidence = _edge_confidence(e) * (0.5 + 0.5 * landable)
    if float(e["speed_mps"]) < p.fixed_wing_min_mps and not np.isfinite(e["agl_m"]):
        evidence["rotorcraft"] = "slower than a light plane can fly: a helicopter, which may have hovered"
        confidence *= 0.6
    evidence["strip"] = {"lat": round(lat, 6), "lon": round(lon, 6)}
    lat, lon = _roll_end(lat, lon, e, arriving=kind == "landing")
    return _event(kind, t, t, lat, lon, [str(e["track_id"])], confidence, cov, evidence, e["flight_id"])


def _roll_end(lat: float, lon: float, e: pd.Series, *, arriving: bool) -> tuple[float, float]:
    """Touch-down (``arriving``) or lift-off point of an aircraft that stood at (lat, lon): one ground roll
    back along its arrival heading, or forward along its departure heading."""
    if e["on_ground"]:
        return lat, lon
    if arriving:
        roll_m, bearing = sites.landing_roll_m(float(e["speed_mps"])), float(e["heading_deg"]) + 180.0
    else:
        roll_m, bearing = sites.takeoff_roll_m(float(e["speed_mps"])), float(e["heading_deg"])
    r_lat, r_lon = destination(lat, lon, bearing % 360.0, roll_m)
    return float(r_lat), float(r_lon)


def _stop_from_pair(e: pd.Series, s: pd.Series, lat: float, lon: float, cov: np.ndarray, d2: float,
                    times: tuple[float, float], linked: bool, terrain, p: StopParams) -> list[dict]:
    lat, lon, cov, landable = sites.refine_with_terrain(lat, lon, cov, terrain)
    t_land = times[0]
    t_off = max(times[1], t_land)
    slack = t_off - t_land
    consistency = float(np.exp(-d2 / 8.0))
    confidence = 0.5 + 0.2 * consistency + 0.15 * 0.5 * (float(e["cue"]) + float(s["cue"])) + (0.1 if linked else 0)
    confidence *= 0.5 + 0.5 * landable
    both_seen = e["on_ground"] and s["on_ground"]
    evidence = {
        "method": "observed" if both_seen else "radar_blind",
        "gap_s": round(float(s["t"] - e["t"]), 1), "ground_s_estimate": round(slack, 1),
        "mahalanobis_d2": round(d2, 2), "flight_linked": bool(linked), "landable": round(landable, 2),
        "arrival": _evidence_edge(e), "departure": _evidence_edge(s),
    }
    slowest = min(float(e["speed_mps"]), float(s["speed_mps"]))
    if slowest < p.fixed_wing_min_mps and not (np.isfinite(e["agl_m"]) or np.isfinite(s["agl_m"])):
        evidence["rotorcraft"] = "slower than a light plane can fly: a helicopter, which may have hovered"
        confidence *= 0.6
    confidence = float(np.clip(confidence, 0.0, 0.97))
    ids = [str(e["track_id"]), str(s["track_id"])]
    flight = e["flight_id"] if not pd.isna(e["flight_id"]) else s["flight_id"]
    out = [_event("ground_stop", t_land, t_off, lat, lon, ids, confidence, cov, evidence, flight)]
    evidence["strip"] = {"lat": round(lat, 6), "lon": round(lon, 6)}
    if not e["on_ground"]:  # a landing seen on the ground was reported when it happened
        out.append(_event("landing", t_land, t_land, *_roll_end(lat, lon, e, arriving=True), ids, confidence, cov,
                          evidence, flight))
    if not s["on_ground"]:
        out.append(_event("takeoff", t_off, t_off, *_roll_end(lat, lon, s, arriving=False), ids, confidence, cov,
                          evidence, flight))
    return out
