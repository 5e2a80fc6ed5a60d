"""Border crossings: a flight whose consecutive positions lie in two different countries crossed the land
border between them (Natural Earth borders, :mod:`centinela.geo.borders`).

Each update is placed in a country (vectorised point-in-polygon); a change of country between consecutive
updates of one flight is a crossing, timed and placed where the straight segment between the two updates
meets the border line. Plot noise near the border can flip the country back and forth: a crossing counts
only if the flight then stays on the new side for :data:`MIN_DWELL_S`.

>>> from centinela.detect.synthetic import straight_track
>>> tracks = straight_track(lat0=-12.8, lon0=-69.2, heading_deg=90.0, duration_s=1200.0)
>>> events = border_crossings(tracks)
>>> events[["kind", "confidence"]].assign(confidence=lambda d: d.confidence.round(2)).values.tolist()
[['border_crossing', 0.95]]
>>> events["evidence"].iloc[0]["from"], events["evidence"].iloc[0]["to"]
('PER', 'BOL')
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from centinela.geo.borders import Borders
from centinela.geo.frames import haversine_m

# The flight must stay in the new country this long (6 radar scans) for the crossing to count, so that
# noisy plots straddling the border do not make a string of crossings.
MIN_DWELL_S = 60.0
# A crossing inside a gap longer than this (no update for 5 minutes) is placed on a straight line that the
# aircraft may not have flown: confidence falls with the gap.
LONG_GAP_S = 300.0


def flight_key(tracks: pd.DataFrame) -> np.ndarray:
    """The flight each update belongs to: its ``flight_id`` when the tracker linked it, else its track."""
    track = tracks["track_id"].astype(str)
    if "flight_id" not in tracks:
        return track.to_numpy(object)
    flight = tracks["flight_id"].astype("string")
    return ("F:" + flight).fillna("T:" + track).astype(str).to_numpy(object)


def _clear_of_border(borders: Borders, a: str, b: str, df: pd.DataFrame, i: int, group: np.ndarray,
                     t: np.ndarray) -> float:
    """The smaller, over the two sides, of the largest distance (m) from the border of the flight's updates
    within MIN_DWELL_S before and after the crossing between updates i-1 and i."""
    line = borders.border(a, b)
    if line is None:
        return 0.0
    near = np.flatnonzero((group == group[i]) & (np.abs(t - 0.5 * (t[i - 1] + t[i])) <= MIN_DWELL_S + 0.5 * (t[i] - t[i - 1])))
    lat, lon = df["lat"].to_numpy(float)[near], df["lon"].to_numpy(float)[near]
    nearest = shapely.shortest_line(line, shapely.points(lon, lat))
    ends = shapely.get_coordinates(nearest).reshape(-1, 2, 2)
    distance = haversine_m(ends[:, 0, 1], ends[:, 0, 0], ends[:, 1, 1], ends[:, 1, 0])
    before, after = near < i, near >= i
    if not before.any() or not after.any():
        return 0.0
    return float(min(distance[before].max(), distance[after].max()))


def _flight_id(df: pd.DataFrame, i: int) -> str | None:
    if "flight_id" not in df or pd.isna(df.at[i, "flight_id"]):
        return None
    return str(df.at[i, "flight_id"])


def _drop_short_visits(country: np.ndarray, group: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Relabel stays in a country shorter than MIN_DWELL_S (not at a flight's start or end) with the
    country before them: plot noise straddling the border, not a crossing and a crossing back."""
    labels = pd.Series(country, dtype=object)
    first = np.r_[True, group[1:] != group[:-1]]
    run = np.cumsum(first | np.r_[True, labels.to_numpy()[1:] != labels.to_numpy()[:-1]])
    frame = pd.DataFrame({"run": run, "t": t, "group": group})
    runs = frame.groupby("run").agg(t0=("t", "min"), t1=("t", "max"), group=("group", "first"))
    runs["first"] = runs["group"] != runs["group"].shift(1)
    runs["last"] = runs["group"] != runs["group"].shift(-1)
    short = (runs["t1"] - runs["t0"] < MIN_DWELL_S) & ~runs["first"] & ~runs["last"]
    labels[short.reindex(run).to_numpy()] = None
    return labels.groupby(group).ffill().to_numpy(object)


def border_crossings(tracks: pd.DataFrame, borders: Borders | None = None) -> pd.DataFrame:
    """``border_crossing`` events of ``tracks`` (grouped by ``flight_id`` when present, else ``track_id``).

    Evidence holds ``from`` and ``to`` (ISO alpha-3), the updates either side and the gap between them.
    """
    borders = borders or Borders.default()
    if tracks.empty:
        return pd.DataFrame()
    df = tracks.assign(_flight=flight_key(tracks)).sort_values(["_flight", "t"], kind="stable").reset_index(drop=True)
    df["country"] = borders.country_of(df["lat"].to_numpy(float), df["lon"].to_numpy(float))
    group = df["_flight"].to_numpy()
    country = df["country"].to_numpy(object)
    t = df["t"].to_numpy(float)
    # Carry the last known country over updates outside every kept polygon (at sea, far away).
    known = pd.Series(np.where(country == "", None, country)).groupby(group).ffill().to_numpy(object)
    known = _drop_short_visits(known, group, t)
    prev = np.roll(known, 1)
    same_group = group == np.roll(group, 1)
    same_group[0] = False
    change = same_group & (known != prev) & pd.notna(known) & pd.notna(prev)
    events = []
    for i in np.flatnonzero(change):
        a, b = str(prev[i]), str(known[i])
        hit = borders.crossing_point(a, b, df.at[i - 1, "lat"], df.at[i - 1, "lon"], df.at[i, "lat"], df.at[i, "lon"])
        gap = t[i] - t[i - 1]
        if hit is None:  # the segment meets a third country or the countries do not touch: use the midpoint
            fraction, lat, lon = 0.5, 0.5 * (df.at[i - 1, "lat"] + df.at[i, "lat"]), 0.5 * (df.at[i - 1, "lon"] + df.at[i, "lon"])
        else:
            fraction, lat, lon = hit
        sigma = float(np.nan_to_num(df.at[i, "sigma_pos_m"])) if "sigma_pos_m" in df else 0.0
        # Confidence: high when the flight was clearly on each side (some update within MIN_DWELL_S of the
        # crossing is farther than 3 sigma of position error from the border) and the gap was short.
        side_ok = 1.0 if _clear_of_border(borders, a, b, df, i, group, t) > 3 * sigma else 0.6
        gap_factor = 1.0 if gap <= LONG_GAP_S else float(np.clip(LONG_GAP_S / gap, 0.3, 1.0))
        confidence = (0.95 if hit is not None else 0.6) * side_ok * gap_factor
        track_ids = list(dict.fromkeys([str(df.at[i - 1, "track_id"]), str(df.at[i, "track_id"])]))
        events.append({
            "kind": "border_crossing", "t": float(t[i - 1] + fraction * gap), "t_end": float(t[i - 1] + fraction * gap),
            "lat": float(lat), "lon": float(lon), "track_ids": track_ids, "airstrip_id": pd.NA,
            "confidence": float(confidence),
            "evidence": {"from": a, "to": b, "t_before": float(t[i - 1]), "t_after": float(t[i]),
                         "gap_s": round(float(gap), 1), "border": "Natural Earth 1:10m admin-0 v4.1.0"},
            "flight_id": _flight_id(df, i),
        })
    return pd.DataFrame(events)
