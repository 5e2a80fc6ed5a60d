"""The airstrip catalogue: landings clustered into strips, matched to registered airfields, kept across runs,
and linked when a cratered strip is replaced by a new one nearby.

1. A landing within :data:`REGISTERED_MATCH_M` of a registered airfield belongs to that airfield (id = its
   ICAO code).
2. Else it joins the nearest strip of the previous catalogue within :data:`STRIP_RADIUS_M`.
3. The rest are clustered (DBSCAN, haversine metric, eps = :data:`STRIP_RADIUS_M`, one landing is enough)
   into new strips, placed at the mean of their landings weighted by confidence / variance.
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
from sklearn.cluster import DBSCAN
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
    if clandestine:
        idx, dist = _nearest(lat, lon, np.array([s["lat"] for s in clandestine]), np.array([s["lon"] for s in clandestine]))
        for i in np.flatnonzero(free & (dist <= strip_radius_m)):
            assigned[i] = clandestine[idx[i]]["id"]

    # 3. new strips from the rest
    precise = ~(_sigmas(events) > MAX_STRIP_SIGMA_M)  # an unknown sigma counts as precise
    strong = np.nan_to_num(events["confidence"].to_numpy(float)) >= min_confidence
    free = landing & pd.isna(assigned) & strong & precise
    if free.any():
        points = np.radians(np.column_stack([lat[free], lon[free]]))
        labels = DBSCAN(eps=strip_radius_m / EARTH_RADIUS_M, min_samples=1, metric="haversine",
                        algorithm="ball_tree").fit_predict(points)
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
    allowance = np.minimum(np.nan_to_num(_sigmas(events), nan=0.0), REGISTERED_SIGMA_ALLOWANCE_M)
    for is_registered, reach in ((True, registered_match_m + allowance), (False, np.full(len(events), strip_radius_m))):
        pool = catalogue[catalogue["registered"].astype(bool) == is_registered]
        todo = np.flatnonzero(other & pd.isna(assigned))
        if not len(todo) or pool.empty:
            continue
        idx, dist = _nearest(lat[todo], lon[todo], pool["lat"].to_numpy(float), pool["lon"].to_numpy(float))
        near = dist <= reach[todo]
        assigned[todo[near]] = pool["id"].to_numpy(object)[idx[near]]
    events["airstrip_id"] = pd.array([None if a is None else a for a in assigned], dtype="string")
    catalogue = catalogue.sort_values(["registered", "first_seen", "id"], ascending=[False, True, True])
    return catalogue.reset_index(drop=True), events


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
