"""Which truth flight each output track follows.

A track follows the truth flight that is nearest to it in space-time: for each flight, the flight's
position is linearly interpolated (horizontal, local ENU) at the times of the track's updates that fall
within the flight's airborne span (its first to its last ``on_ground == false`` state); the track's
distance to the flight is the median over those updates. The flight qualifies when that span covers at
least ``MIN_OVERLAP_FRACTION`` of the track's updates and the median distance is at most
``MATCH_RADIUS_M``; the track follows the qualifying flight with the smallest median. Many tracks may follow
one flight (a flight tracked in pieces); a track follows at most one flight, or none (a false track).

>>> import pandas as pd
>>> from centinela import model
>>> from centinela.geo.frames import LocalFrame
>>> states = pd.DataFrame({"t": [0.0, 100.0], "truth_id": ["F1", "F1"], "lat": [-12.5, -12.5],
...     "lon": [-73.8, -73.7], "alt_m": [1000.0, 1000.0], "on_ground": [False, False], "transponder": [False, False]})
>>> flights = pd.DataFrame({"truth_id": ["F1"], "kind": ["narco"], "callsign": [None], "icao24": [None]})
>>> tracks = pd.DataFrame({"t": [10.0, 50.0, 90.0], "track_id": ["T1"] * 3, "lat": [-12.5] * 3,
...     "lon": [-73.79, -73.75, -73.71]})
>>> a = associate_tracks(model.Truth(states, flights, model.empty_frame(model.TRUTH_EVENT_COLUMNS)), tracks,
...                      LocalFrame(-12.5, -73.8))
>>> a[["track_id", "truth_id", "kind"]].values.tolist(), a["median_distance_m"].round().tolist()
([['T1', 'F1', 'narco']], [0.0])
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela import model
from centinela.evaluate.common import horizontal_xy
from centinela.geo.frames import LocalFrame

# A track within 3 km (median) of a flight follows it: several times a primary radar's cross-range error at
# 100 km (1.5 km at 0.9°), yet less than the spacing of two aircraft that a tracker should keep apart.
MATCH_RADIUS_M = 3_000.0
# A track must spend at least half its life alongside the flight, so that a false track that briefly
# crosses a flight's path does not inherit the flight's kind.
MIN_OVERLAP_FRACTION = 0.5

ASSOCIATION_COLUMNS = ["track_id", "truth_id", "kind", "median_distance_m", "overlap_fraction"]


def associate_tracks(truth: model.Truth, tracks: pd.DataFrame, frame: LocalFrame) -> pd.DataFrame:
    """One row per track that follows a truth flight: ``track_id``, ``truth_id``, ``kind``,
    ``median_distance_m`` and ``overlap_fraction`` (share of the track's updates inside the flight's span)."""
    tr = tracks[["t", "track_id", "lat", "lon"]].dropna().sort_values("t", kind="stable")
    states = truth.states[["t", "truth_id", "lat", "lon", "on_ground"]].dropna(subset=["t", "truth_id", "lat", "lon"])
    if len(tr) == 0 or len(states) == 0:
        return _empty_association()

    track_t = tr["t"].to_numpy(float)
    track_xy = horizontal_xy(frame, tr["lat"].to_numpy(), tr["lon"].to_numpy())
    track_code, track_ids = pd.factorize(tr["track_id"].astype(str))
    updates_per_track = np.bincount(track_code, minlength=len(track_ids))

    states = states.sort_values(["truth_id", "t"], kind="stable")
    state_xy = horizontal_xy(frame, states["lat"].to_numpy(), states["lon"].to_numpy())
    state_t = states["t"].to_numpy(float)
    airborne = ~states["on_ground"].astype("boolean").fillna(False).to_numpy(bool)
    flight_code, flight_ids = pd.factorize(states["truth_id"].astype(str), sort=False)
    starts = np.flatnonzero(np.r_[True, np.diff(flight_code) != 0])
    ends = np.r_[starts[1:], len(flight_code)]

    candidates: list[pd.DataFrame] = []
    for f, (s, e) in enumerate(zip(starts, ends)):  # one pass per truth flight (hundreds a day)
        air_t = state_t[s:e][airborne[s:e]]
        if len(air_t) == 0:
            continue
        lo = np.searchsorted(track_t, air_t.min(), side="left")
        hi = np.searchsorted(track_t, air_t.max(), side="right")
        if hi <= lo:
            continue
        t = track_t[lo:hi]
        fe = np.interp(t, state_t[s:e], state_xy[s:e, 0])
        fn = np.interp(t, state_t[s:e], state_xy[s:e, 1])
        dist = np.hypot(track_xy[lo:hi, 0] - fe, track_xy[lo:hi, 1] - fn)
        codes = track_code[lo:hi]
        overlap = np.bincount(codes, minlength=len(track_ids))
        close = np.bincount(codes[dist <= MATCH_RADIUS_M], minlength=len(track_ids))
        # The median is within the radius exactly when at least half the overlapping updates are.
        ok = (overlap >= MIN_OVERLAP_FRACTION * updates_per_track) & (2 * close >= overlap) & (overlap > 0)
        if not ok.any():
            continue
        keep = ok[codes]
        med = pd.Series(dist[keep]).groupby(codes[keep]).median()
        candidates.append(pd.DataFrame({
            "code": med.index.to_numpy(),
            "truth_id": flight_ids[f],
            "median_distance_m": med.to_numpy(),
            "overlap_fraction": overlap[med.index.to_numpy()] / updates_per_track[med.index.to_numpy()],
        }))
    if not candidates:
        return _empty_association()

    best = (
        pd.concat(candidates, ignore_index=True)
        .sort_values(["code", "median_distance_m"], kind="stable")
        .drop_duplicates("code")
    )
    best["track_id"] = np.asarray(track_ids)[best["code"].to_numpy()]
    kinds = truth.flights[["truth_id", "kind"]].astype({"truth_id": str}).drop_duplicates("truth_id")
    best = best.merge(kinds, on="truth_id", how="left")
    best = best[ASSOCIATION_COLUMNS].reset_index(drop=True)
    return best.astype({"track_id": "string", "truth_id": "string", "kind": "string"})


def _empty_association() -> pd.DataFrame:
    dtypes = ["string", "string", "string", "float64", "float64"]
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in zip(ASSOCIATION_COLUMNS, dtypes)})
