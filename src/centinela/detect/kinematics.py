"""Per-row motion quantities of tracks: speed, heading, turn rate, along-track acceleration, vertical rate,
height above the ground, and whether the row looks on the ground. Everything is vectorised over the whole
tracks frame; rates are centred differences within a track so that one noisy update does not flip them.

>>> from centinela.detect.synthetic import straight_track
>>> k = motion(straight_track(speed_mps=60.0, alt_m=1500.0))
>>> round(float(k["speed_mps"].median()))
60
>>> bool(k["on_ground"].any())
False
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from centinela.geo.frames import bearing_deg, haversine_m

# Rates are differences over +-RATE_HALF_WINDOW rows (+-20 s at a 10 s update): long enough to average out
# 25 ft (7.6 m) altitude quantisation to ~0.2 m/s, short enough to resolve a 30 s flare or turn.
RATE_HALF_WINDOW = 2
# Below this height above the ground a cooperative aircraft is taken as on the ground: ADS-B altitude
# steps are 7.6 m and a good DEM (SRTM-class) is within ~16 m (LE90) of the true ground.
GROUND_AGL_M = 30.0
# On the ground the altitude hardly changes; on final approach it falls at 2-4 m/s. 25 ft steps read over a
# +-2 update window stay below ~1 m/s of apparent rate.
GROUND_MAX_VZ_MPS = 1.5
# A row on the ground moves slower than any take-off or landing roll (jets rotate at ~80 m/s).
GROUND_SPEED_MAX_MPS = 90.0
# When no terrain model is given, a registered airfield's elevation stands for the ground within this radius
# (a runway and its approach path).
AIRFIELD_VICINITY_M = 5_000.0


def _centred_rate(df: pd.DataFrame, column: str, key: str = "track_id", k: int = RATE_HALF_WINDOW) -> np.ndarray:
    """d(column)/dt by a centred difference over +-k rows inside each track (one-sided at the ends)."""
    g = df.groupby(key, sort=False)
    y, t = df[column].to_numpy(float), df["t"].to_numpy(float)
    y_f, t_f = g[column].shift(-k).to_numpy(float, copy=True), g["t"].shift(-k).to_numpy(float, copy=True)
    y_b, t_b = g[column].shift(k).to_numpy(float, copy=True), g["t"].shift(k).to_numpy(float, copy=True)
    # Near a track's ends fall back to the nearest row that exists (one row at most k away).
    for j in range(k - 1, 0, -1):
        miss_f, miss_b = np.isnan(t_f), np.isnan(t_b)
        if miss_f.any():
            y_f[miss_f] = g[column].shift(-j).to_numpy(float)[miss_f]
            t_f[miss_f] = g["t"].shift(-j).to_numpy(float)[miss_f]
        if miss_b.any():
            y_b[miss_b] = g[column].shift(j).to_numpy(float)[miss_b]
            t_b[miss_b] = g["t"].shift(j).to_numpy(float)[miss_b]
    miss_f, miss_b = np.isnan(t_f), np.isnan(t_b)
    y_f[miss_f], t_f[miss_f] = y[miss_f], t[miss_f]
    y_b[miss_b], t_b[miss_b] = y[miss_b], t[miss_b]
    dt = t_f - t_b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(dt > 0, (y_f - y_b) / dt, np.nan)


def ground_elevation_m(lat: np.ndarray, lon: np.ndarray, terrain=None, registered: pd.DataFrame | None = None
                       ) -> np.ndarray:
    """Ground elevation under each point: the terrain model's, else the elevation of a registered airfield
    within :data:`AIRFIELD_VICINITY_M`, else NaN."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    if terrain is not None and len(lat):
        return np.asarray(terrain.elevation_m(lat, lon), float).reshape(lat.shape)
    out = np.full(lat.shape, np.nan)
    if registered is None or registered.empty or not len(lat):
        return out
    from sklearn.neighbors import BallTree

    fields = registered.dropna(subset=["lat", "lon", "elevation_m"])
    if fields.empty:
        return out
    tree = BallTree(np.radians(fields[["lat", "lon"]].to_numpy(float)), metric="haversine")
    dist, idx = tree.query(np.radians(np.column_stack([lat, lon])), k=1)
    near = dist[:, 0] * 6_371_008.8 <= AIRFIELD_VICINITY_M
    out[near] = fields["elevation_m"].to_numpy(float)[idx[near, 0]]
    return out


def motion(tracks: pd.DataFrame, terrain=None, registered: pd.DataFrame | None = None,
           sensor_kinds: dict[str, str] | None = None) -> pd.DataFrame:
    """The tracks frame sorted by (track_id, t) with motion columns added:

    ``speed_mps``, ``heading_deg``, ``turn_rate_dps``, ``accel_mps2`` (along track), ``vz_mps`` (NaN without
    altitude), ``ground_m`` (ground elevation, NaN when unknown), ``agl_m``, ``on_ground`` (bool; an
    ``on_ground`` column from the tracker wins), ``cooperative`` (the row carries an identity).
    """
    df = tracks.sort_values(["track_id", "t"], kind="stable").copy()
    df["track_id"] = df["track_id"].astype(str)
    same = df["track_id"].to_numpy() == np.roll(df["track_id"].to_numpy(), 1)
    if len(df):
        same[0] = False
    lat, lon = df["lat"].to_numpy(float), df["lon"].to_numpy(float)

    vn, ve = df["vn_mps"].to_numpy(float), df["ve_mps"].to_numpy(float)
    # Without filter velocities, fall back to position differences.
    if np.isnan(vn).any() or np.isnan(ve).any():
        dt = np.diff(df["t"].to_numpy(float), prepend=np.nan)
        d = haversine_m(np.roll(lat, 1), np.roll(lon, 1), lat, lon)
        b = np.radians(bearing_deg(np.roll(lat, 1), np.roll(lon, 1), lat, lon))
        with np.errstate(invalid="ignore", divide="ignore"):
            vn_fd, ve_fd = np.where(same, d * np.cos(b) / dt, np.nan), np.where(same, d * np.sin(b) / dt, np.nan)
        vn, ve = np.where(np.isnan(vn), vn_fd, vn), np.where(np.isnan(ve), ve_fd, ve)
    df["speed_mps"] = np.hypot(vn, ve)
    df["heading_deg"] = np.degrees(np.arctan2(ve, vn)) % 360.0
    # Unwrap heading inside each track so that the centred difference of a turn through north is right.
    heading_unwrapped = np.degrees(np.unwrap(np.radians(df["heading_deg"].fillna(0.0).to_numpy())))
    df["_heading_u"] = heading_unwrapped
    # np.unwrap ran across track boundaries: re-anchor each track so only within-track steps matter.
    df["_heading_u"] -= df.groupby("track_id", sort=False)["_heading_u"].transform("first")
    df["turn_rate_dps"] = _centred_rate(df, "_heading_u")
    df["accel_mps2"] = _centred_rate(df, "speed_mps")
    alt = df["alt_m"].to_numpy(float) if "alt_m" in df else np.full(len(df), np.nan)
    df["alt_m"] = alt
    df["vz_mps"] = _centred_rate(df, "alt_m")
    df["ground_m"] = ground_elevation_m(lat, lon, terrain, registered)
    df["agl_m"] = alt - df["ground_m"].to_numpy(float)

    level = ~(df["vz_mps"].abs() > GROUND_MAX_VZ_MPS)  # NaN vertical rate does not veto
    near_ground = (df["agl_m"] < GROUND_AGL_M) & (df["speed_mps"] < GROUND_SPEED_MAX_MPS) & level
    if "on_ground" in df:
        flag = df["on_ground"].astype("boolean")
        df["on_ground"] = flag.fillna(near_ground).astype(bool)
    else:
        df["on_ground"] = near_ground.fillna(False).astype(bool)
    df["cooperative"] = cooperative_rows(df, sensor_kinds)
    return df.drop(columns=["_heading_u"])


def cooperative_rows(tracks: pd.DataFrame, sensor_kinds: dict[str, str] | None = None) -> np.ndarray:
    """Whether each row was updated by a transponder: a row whose ``sensors`` include an SSR or ADS-B
    sensor when their kinds are known, else a row that carries an icao24 or a squawk."""
    if sensor_kinds and "sensors" in tracks:
        coop_ids = {sid for sid, kind in sensor_kinds.items() if kind in ("ssr", "adsb")}
        alternatives = "|".join(re.escape(s) for s in sorted(coop_ids, key=len, reverse=True))
        pattern = f"(?:^|,)\\s*(?:{alternatives})\\s*(?:,|$)" if alternatives else ""
        if pattern:
            return tracks["sensors"].astype("string").str.contains(pattern, regex=True).fillna(False).to_numpy(bool)
        return np.zeros(len(tracks), bool)
    flag = np.zeros(len(tracks), bool)
    for column in ("icao24", "squawk"):
        if column in tracks:
            values = tracks[column].astype("string")
            flag |= (values.notna() & (values.str.strip() != "")).fillna(False).to_numpy(bool)
    return flag
