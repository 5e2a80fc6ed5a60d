"""The airstrip catalogue: landings clustered into strips, matched to registered airfields, kept across runs,
and linked when a cratered strip is replaced by a new one nearby.

1. A landing within :data:`REGISTERED_MATCH_M` of a registered airfield belongs to that airfield (id = its
   ICAO code).
2. Else it joins the nearest strip of the previous catalogue that it agrees with (:func:`join_radius_m`).
3. The rest are clustered into new strips, every two landings of a strip agreeing with each other (complete
   linkage; one landing is enough), placed at the mean of their landings weighted by confidence / variance.

Two estimates agree when they lie within :data:`JOIN_SIGMAS` combined sigmas of each other, never less than
:data:`STRIP_RADIUS_M` apart and never more than :data:`MAX_JOIN_M`. Precise landings (a few hundred metres)
thus join within the strip radius, while radar-blind stops, placed to a kilometre or more and often on either
side of the strip (the approach's last plot on one side, the departure's first on the other), join into one
strip whose mean is closer to the real one than any of them.
4. A strip silent for :data:`SILENT_S` whose last landing came before a new strip's first, within
   :data:`SUCCESSOR_MAX_GAP_S` and :data:`SUCCESSOR_MAX_M`, is that new strip's predecessor
   (``successor_of``): traffickers refill cratered strips or clear new ones a few km away within days.

Ids never change: a registered airfield's is its ICAO code, a clandestine strip's is made from where it was
first seen (``AS12.3456S073.9012W``); ``previous`` strips keep theirs.

>>> import pandas as pd
>>> events = pd.DataFrame({"kind": ["landing", "landing"], "t": [0.0, 86400.0], "t_end": [0.0, 86400.0],
...     "lat": [-12.6001, -12.6003], "lon": [-73.9002, -73.8998], "track_ids": [["a"], ["b"]],
...     "airstrip_id": [pd.NA, pd.NA], "confidence": [0.8, 0.7]})
>>> strips, events = update_airstrips(events, registered=None)
>>> strips[["id", "landings", "registered"]].values.tolist()
[['AS12.6001S073.9002W', 2, False]]
>>> events["airstrip_id"].tolist()
['AS12.6001S073.9002W', 'AS12.6001S073.9002W']
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, AgglomerativeClustering
from sklearn.neighbors import BallTree

from centinela.geo.frames import EARTH_RADIUS_M, haversine_m
from centinela.model import AIRSTRIP_COLUMNS, EVENT_COLUMNS, conform

# A landing this close to a registered airfield's reference point is on it: the reference point is near
# the middle of the runway, runways of the region are up to ~3 km long, and touchdown is in the first third.
REGISTERED_MATCH_M = 2_000.0
# Landing estimates of one strip scatter by a few hundred metres (median error target 300 m); strips are
# 600-800 m long. 800 m joins the landings of one strip and keeps strips 2 km apart distinct.
STRIP_RADIUS_M = 800.0
# A strip is silent when nothing landed on it for two days (the air bridge flies ~4 times a day).
SILENT_S = 2 * 86_400.0
# "The state cratered 550+ strips; traffickers refill them within days" (DESIGN.md): a replacement opens
# within ten days and a few km away.
SUCCESSOR_MAX_GAP_S = 10 * 86_400.0
SUCCESSOR_MAX_M = 10_000.0
# Two landing estimates agree when they are within this many combined 1-sigma of each other: the distance between
# two estimates of one point is Rayleigh-distributed, 86 % within 2 combined sigma.
JOIN_SIGMAS = 2.0
# ... but never farther apart than this: two radar-blind estimates (~1.4 km sigma) on either side of one strip
# lie up to ~3 km apart, while strips a few km apart are different places (a cratered strip's successor is
# cleared 1-3 km away and is joined to it only when its estimates cannot tell them apart).
MAX_JOIN_M = 3_500.0
# Events weaker than this, or placed less precisely, do not create a strip (they may still join one): a
# strip is a place a ground team can search, not a 5 km ellipse.
MIN_CONFIDENCE = 0.5
MAX_STRIP_SIGMA_M = 1_500.0
# A landing estimate's own uncertainty widens the registered-airfield match, up to this much.
REGISTERED_SIGMA_ALLOWANCE_M = 1_000.0
LANDING_KINDS = ("landing",)
ASSIGNED_KINDS = ("landing", "takeoff", "ground_stop")
CATALOGUE_COLUMNS = {**AIRSTRIP_COLUMNS, "successor_of": "string", "name": "string", "sigma_m": "float64"}


def strip_id(lat: float, lon: float) -> str:
    """A stable, readable id from a strip's first position (about 10 m resolution)."""
    return f"AS{abs(lat):07.4f}{'S' if lat < 0 else 'N'}{abs(lon):08.4f}{'W' if lon < 0 else 'E'}"


def _nearest(lat: np.ndarray, lon: np.ndarray, ref_lat: np.ndarray, ref_lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of and distance (m) to the nearest reference point for every point."""
    if len(ref_lat) == 0 or len(lat) == 0:
        return np.full(len(lat), -1), np.full(len(lat), np.inf)
    tree = BallTree(np.radians(np.column_stack([ref_lat, ref_lon])), metric="haversine")
    dist, idx = tree.query(np.radians(np.column_stack([lat, lon])), k=1)
    return idx[:, 0], dist[:, 0] * EARTH_RADIUS_M


def _strip_positions(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Where each event's aircraft stood on the strip: ``evidence["strip"]`` when the detector inferred it
    (a landing's own position is its touch-down, a ground roll away), else the event's position."""
    lat, lon = events["lat"].to_numpy(float).copy(), events["lon"].to_numpy(float).copy()
    if "evidence" in events:
        for i, evidence in enumerate(events["evidence"]):
            strip = evidence.get("strip") if isinstance(evidence, dict) else None
            if strip:
                lat[i], lon[i] = float(strip["lat"]), float(strip["lon"])
    return lat, lon


def _sigmas(events: pd.DataFrame) -> np.ndarray:
    return events["sigma_major_m"].to_numpy(float) if "sigma_major_m" in events else np.full(len(events), np.nan)


def _weights(events: pd.DataFrame) -> np.ndarray:
    sigma = _sigmas(events)
    sigma = np.where(np.isfinite(sigma), np.maximum(sigma, 50.0), 300.0)
    return np.nan_to_num(events["confidence"].to_numpy(float), nan=0.5) / sigma**2


def join_radius_m(sigma_a, sigma_b, strip_radius_m: float = STRIP_RADIUS_M) -> np.ndarray:
    """How far apart two estimates with these 1-sigma errors (m; NaN: a precise one) may lie and still be of one
    strip.

    >>> join_radius_m([100.0, 1_400.0, 3_000.0], [200.0, 1_000.0, 3_000.0]).round().tolist()
    [800.0, 3441.0, 3500.0]
    """
    a = np.nan_to_num(np.asarray(sigma_a, float), nan=0.0)
    b = np.nan_to_num(np.asarray(sigma_b, float), nan=0.0)
    return np.clip(JOIN_SIGMAS * np.hypot(a, b), strip_radius_m, max(MAX_JOIN_M, strip_radius_m))


def _cluster(lat: np.ndarray, lon: np.ndarray, sigma: np.ndarray, strip_radius_m: float) -> np.ndarray:
    """Cluster labels of landing estimates: complete linkage, so every two members agree (single linkage
    would chain a valley's worth of vague estimates into one strip)."""
    labels = np.zeros(len(lat), int)
    if len(lat) < 2:
        return labels
    # Estimates farther apart than any join radius never share a strip: cluster each group of neighbours on
    # its own (a pairwise matrix over a whole month's landings would not fit in memory).
    reach = max(MAX_JOIN_M, strip_radius_m)
    neighbourhoods = DBSCAN(eps=reach / EARTH_RADIUS_M, min_samples=1, metric="haversine",
                            algorithm="ball_tree").fit_predict(np.radians(np.column_stack([lat, lon])))
    next_label = 0
    for hood in np.unique(neighbourhoods):
        rows = np.flatnonzero(neighbourhoods == hood)
        if len(rows) == 1:
            labels[rows] = next_label
            next_label += 1
            continue
        d = haversine_m(lat[rows, None], lon[rows, None], lat[None, rows], lon[None, rows])
        scaled = d / join_radius_m(sigma[rows, None], sigma[None, rows], strip_radius_m)
        # Merges happen below the threshold; a pair exactly at its join radius still agrees.
        local = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="complete",
                                        distance_threshold=1.0 + 1e-9).fit_predict(scaled)
        labels[rows] = next_label + local
        next_label += int(local.max()) + 1
    return labels


def strip_estimates(events: pd.DataFrame) -> pd.DataFrame:
    """The landing estimates the catalogue placed its strips from: one row per landing event with an
    ``airstrip_id``: ``airstrip_id, t, lat, lon, weight`` (where the aircraft stood on the strip, and the
    confidence / variance weight of :func:`update_airstrips`' mean). A live system knew a strip's position at
    time t from the estimates before t only."""
    columns = {"airstrip_id": "string", "t": "float64", "lat": "float64", "lon": "float64", "weight": "float64"}
    if events is None or len(events) == 0 or "airstrip_id" not in events:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})
    ev = events[events["kind"].isin(LANDING_KINDS).to_numpy(bool) & events["airstrip_id"].notna().to_numpy(bool)]
    ev = ev.reset_index(drop=True)
    lat, lon = _strip_positions(ev)
    out = pd.DataFrame({"airstrip_id": ev["airstrip_id"].astype("string"), "t": ev["t"].to_numpy(float),
                        "lat": lat, "lon": lon, "weight": _weights(ev)})
    return out.dropna(subset=["lat", "lon"]).astype(columns).reset_index(drop=True)


def _noisy_or(confidences) -> float:
    c = np.clip(np.asarray(confidences, float), 0.0, 0.999)
    return float(1.0 - np.prod(1.0 - c)) if len(c) else 0.0


def update_airstrips(events: pd.DataFrame, registered: pd.DataFrame | None = None,
                     previous: pd.DataFrame | None = None, *, strip_radius_m: float = STRIP_RADIUS_M,
                     registered_match_m: float = REGISTERED_MATCH_M, min_confidence: float = MIN_CONFIDENCE,
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The updated catalogue (AIRSTRIP_COLUMNS + successor_of, name, sigma_m) and ``events`` with
    ``airstrip_id`` filled for landings, take-offs and ground stops on a strip."""
    events = conform(events if events is not None else pd.DataFrame(), EVENT_COLUMNS).reset_index(drop=True)
    prev = conform(previous if previous is not None else pd.DataFrame(), CATALOGUE_COLUMNS).reset_index(drop=True)
    strips = {r["id"]: dict(r) for r in prev.to_dict("records")}
    for s in strips.values():
        s["_new"] = []  # (event index) landings added in this run

    landing = events["kind"].isin(LANDING_KINDS).to_numpy() & events["lat"].notna().to_numpy()
    lat, lon = _strip_positions(events)
    assigned = np.full(len(events), None, dtype=object)

    # 1. registered airfields
    if registered is not None and len(registered):
        reg = registered.dropna(subset=["lat", "lon"]).reset_index(drop=True)
        idx, dist = _nearest(lat, lon, reg["lat"].to_numpy(float), reg["lon"].to_numpy(float))
        allowance = np.minimum(np.nan_to_num(_sigmas(events), nan=0.0), REGISTERED_SIGMA_ALLOWANCE_M)
        for i in np.flatnonzero(landing & (dist <= registered_match_m + allowance)):
            field = reg.iloc[idx[i]]
            sid = str(field["icao"])
            if sid not in strips:
                strips[sid] = {"id": sid, "lat": float(field["lat"]), "lon": float(field["lon"]), "registered": True,
                               "icao": sid, "landings": 0, "first_seen": np.nan, "last_seen": np.nan,
                               "confidence": 1.0, "successor_of": pd.NA, "name": field.get("name", pd.NA),
                               "sigma_m": 0.0, "_new": []}
            assigned[i] = sid

    # 2. strips of the previous catalogue
    free = landing & pd.isna(assigned)
    clandestine = [s for s in strips.values() if not s["registered"]]
    sigma = _sigmas(events)
    for i, sid in _agreeing_strips(free, lat, lon, sigma, clandestine, strip_radius_m):
        assigned[i] = sid

    # 3. new strips from the rest
    precise = ~(sigma > MAX_STRIP_SIGMA_M)  # an unknown sigma counts as precise
    strong = np.nan_to_num(events["confidence"].to_numpy(float)) >= min_confidence
    free = landing & pd.isna(assigned) & strong & precise
    if free.any():
        labels = _cluster(lat[free], lon[free], sigma[free], strip_radius_m)
        members = np.flatnonzero(free)
        for label in np.unique(labels):
            rows = members[labels == label]
            first = rows[np.argmin(events["t"].to_numpy(float)[rows])]
            sid = strip_id(lat[first], lon[first])
            while sid in strips:
                sid += "b"
            strips[sid] = {"id": sid, "lat": np.nan, "lon": np.nan, "registered": False, "icao": pd.NA,
                           "landings": 0, "first_seen": np.nan, "last_seen": np.nan, "confidence": 0.0,
                           "successor_of": pd.NA, "name": pd.NA, "sigma_m": np.nan, "_new": []}
            assigned[rows] = sid

    # Update every strip that received landings.
    weights = _weights(events)
    t = events["t"].to_numpy(float)
    for i in np.flatnonzero(~pd.isna(assigned)):
        strips[assigned[i]]["_new"].append(i)
    for s in strips.values():
        rows = np.asarray(s["_new"], int)
        if not len(rows):
            continue
        seen = np.isfinite(s["first_seen"]) and np.isfinite(s["last_seen"])
        fresh = rows if not seen else rows[(t[rows] < s["first_seen"]) | (t[rows] > s["last_seen"])]
        s["landings"] = int(0 if pd.isna(s["landings"]) else s["landings"]) + len(fresh)
        s["first_seen"] = float(np.nanmin([s["first_seen"], *t[rows]]))
        s["last_seen"] = float(np.nanmax([s["last_seen"], *t[rows]]))
        if not s["registered"]:
            w = weights[rows]
            new_lat, new_lon = float(np.sum(w * lat[rows]) / w.sum()), float(np.sum(w * lon[rows]) / w.sum())
            if seen and np.isfinite(s["lat"]):
                # The previous position stands for the landings it was made from.
                k = (s["landings"] - len(fresh)) / (s["landings"] - len(fresh) + len(rows))
                new_lat, new_lon = k * s["lat"] + (1 - k) * new_lat, k * s["lon"] + (1 - k) * new_lon
            spread = haversine_m(lat[rows], lon[rows], new_lat, new_lon)
            s["lat"], s["lon"] = new_lat, new_lon
            single_sigma = float(np.sqrt(np.nan_to_num(events["confidence"].to_numpy(float)[rows][0], nan=0.5)
                                         / weights[rows][0]))
            s["sigma_m"] = float(np.sqrt(np.mean(spread**2) / len(rows))) if len(rows) > 1 else single_sigma
            prior = 0.0 if pd.isna(s["confidence"]) else float(s["confidence"])
            s["confidence"] = _noisy_or([prior, *np.nan_to_num(events["confidence"].to_numpy(float)[rows], nan=0.5)])

    catalogue = pd.DataFrame([{k: v for k, v in s.items() if not k.startswith("_")} for s in strips.values()])
    catalogue = conform(catalogue if len(catalogue) else pd.DataFrame(), CATALOGUE_COLUMNS)
    catalogue = _link_successors(catalogue, now=float(np.nanmax([*t, *catalogue["last_seen"].to_numpy(float), -np.inf])))

    # Take-offs and ground stops (and landings that made no strip) go to the nearest strip in reach, a
    # registered airfield first (as landings do).
    other = events["kind"].isin(ASSIGNED_KINDS).to_numpy() & pd.isna(assigned) & events["lat"].notna().to_numpy()
    allowance = np.minimum(np.nan_to_num(sigma, nan=0.0), REGISTERED_SIGMA_ALLOWANCE_M)
    airfields = catalogue[catalogue["registered"].astype(bool)]
    todo = np.flatnonzero(other)
    if len(todo) and not airfields.empty:
        idx, dist = _nearest(lat[todo], lon[todo], airfields["lat"].to_numpy(float), airfields["lon"].to_numpy(float))
        near = dist <= registered_match_m + allowance[todo]
        assigned[todo[near]] = airfields["id"].to_numpy(object)[idx[near]]
    unregistered = catalogue[~catalogue["registered"].astype(bool)].to_dict("records")
    for i, sid in _agreeing_strips(other & pd.isna(assigned), lat, lon, sigma, unregistered, strip_radius_m):
        assigned[i] = sid
    events["airstrip_id"] = pd.array([None if a is None else a for a in assigned], dtype="string")
    catalogue = catalogue.sort_values(["registered", "first_seen", "id"], ascending=[False, True, True])
    return catalogue.reset_index(drop=True), events


def _agreeing_strips(todo: np.ndarray, lat: np.ndarray, lon: np.ndarray, sigma: np.ndarray, strips: list[dict],
                     strip_radius_m: float) -> list[tuple[int, str]]:
    """(event index, strip id) for each event in ``todo`` (mask) that agrees with a strip: the one it is closest
    to in units of the join radius."""
    rows = np.flatnonzero(todo)
    if not len(rows) or not strips:
        return []
    s_lat, s_lon = np.array([s["lat"] for s in strips], float), np.array([s["lon"] for s in strips], float)
    s_sigma = np.array([np.nan if pd.isna(s["sigma_m"]) else s["sigma_m"] for s in strips], float)
    d = haversine_m(lat[rows, None], lon[rows, None], s_lat[None, :], s_lon[None, :])
    scaled = d / join_radius_m(sigma[rows, None], s_sigma[None, :], strip_radius_m)
    best = np.argmin(scaled, axis=1)
    ok = scaled[np.arange(len(rows)), best] <= 1.0
    return [(int(i), str(strips[j]["id"])) for i, j in zip(rows[ok], best[ok])]


def _link_successors(catalogue: pd.DataFrame, now: float) -> pd.DataFrame:
    """Set ``successor_of`` on a new clandestine strip that replaced one that fell silent nearby."""
    cat = catalogue.copy()
    clandestine = cat[~cat["registered"].astype(bool)].sort_values("first_seen")
    taken = set(cat["successor_of"].dropna())
    for i, b in clandestine.iterrows():
        if not pd.isna(b["successor_of"]):
            continue
        before = clandestine[(clandestine["last_seen"] < b["first_seen"])
                             & (b["first_seen"] - clandestine["last_seen"] <= SUCCESSOR_MAX_GAP_S)
                             & (now - clandestine["last_seen"] >= SILENT_S)
                             & ~clandestine["id"].isin(taken) & (clandestine["id"] != b["id"])]
        if before.empty:
            continue
        d = haversine_m(before["lat"].to_numpy(float), before["lon"].to_numpy(float), b["lat"], b["lon"])
        ok = (d <= SUCCESSOR_MAX_M) & (d > STRIP_RADIUS_M)
        if not ok.any():
            continue
        a = before.iloc[int(np.argmin(np.where(ok, d, np.inf)))]
        cat.at[i, "successor_of"] = a["id"]
        taken.add(a["id"])
    return cat
