"""Transponder switched off or on in flight: a cooperative aircraft (ADS-B, SSR: icao24 or squawk) goes on
without identity, or an aircraft seen only by primary radar starts answering.

Two shapes of evidence:

- **one flight** (the tracker fused the sensors, or linked the tracks by ``flight_id``): its updates switch
  from cooperative to primary-only (or back) and stay so for :data:`MIN_DARK_S`;
- **two tracks** (the tracker did not link them): a cooperative track ends while a primary-only track is,
  or appears within :data:`HANDOVER_S`, where the aircraft would be and flying like it.

A flight that leaves every SSR's and ADS-B receiver's range while primary radar still sees it also loses its
identity; such events get a low confidence (the evidence says so).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela.detect.crossings import flight_key
from centinela.geo.frames import destination, haversine_m

# Dark (or lit) for 6 radar scans: a few missed replies or garbled squitters are common and mean nothing.
MIN_DARK_S = 60.0
# The two tracks of one aircraft are at most a few scans apart in time...
HANDOVER_S = 45.0
# ...and their positions agree to the plot accuracy of a primary radar at long range (~1 km) plus the
# distance a 25 m/s speed error makes over the handover time.
HANDOVER_DISTANCE_M = 1_500.0
HANDOVER_HEADING_DEG = 45.0
# Light aircraft switch transponders off after landing: an identity lost this close to the ground is not
# an in-flight switch-off.
LOW_AGL_M = 150.0


def _coverage_note(sensors, lat: float, lon: float) -> tuple[bool, str]:
    """Whether some SSR or ADS-B receiver should have seen a transponder here (range only; no terrain)."""
    coop = [s for s in (sensors or []) if s.kind in ("ssr", "adsb") and s.range_max_m]
    inside = [s.id for s in coop if haversine_m(s.lat, s.lon, lat, lon) <= s.range_max_m]
    if inside:
        return True, f"inside the range of {', '.join(inside)}"
    if coop:
        return False, "outside every SSR / ADS-B receiver's range: the identity may simply be out of reach"
    return True, "no SSR / ADS-B sensor list given"


def _event(kind: str, t: float, t_end: float, lat: float, lon: float, track_ids, confidence: float,
           evidence: dict, flight_id) -> dict:
    return {"kind": kind, "t": float(t), "t_end": float(t_end), "lat": float(lat), "lon": float(lon),
            "track_ids": list(dict.fromkeys(map(str, track_ids))), "airstrip_id": pd.NA,
            "confidence": float(confidence), "evidence": evidence,
            "flight_id": None if flight_id is None or pd.isna(flight_id) else str(flight_id)}


def transponder_events(m: pd.DataFrame, *, sensors=None) -> pd.DataFrame:
    """``transponder_off`` / ``transponder_on`` events of a motion frame (``kinematics.motion``)."""
    if m.empty or not m["cooperative"].any() or m["cooperative"].all():
        return pd.DataFrame()
    df = m.assign(_flight=flight_key(m)).sort_values(["_flight", "t"], kind="stable").reset_index(drop=True)
    events = _within_flights(df, sensors)
    events += _across_tracks(df, sensors)
    return pd.DataFrame(events)


def _identity(df: pd.DataFrame, i: int) -> dict:
    out = {}
    for column in ("icao24", "squawk", "callsign"):
        if column in df and not pd.isna(df.at[i, column]):
            out[column] = str(df.at[i, column])
    return out


def _within_flights(df: pd.DataFrame, sensors) -> list[dict]:
    group = df["_flight"].to_numpy()
    coop = df["cooperative"].to_numpy(bool)
    t = df["t"].to_numpy(float)
    first = np.r_[True, group[1:] != group[:-1]]
    run = np.cumsum(first | np.r_[True, coop[1:] != coop[:-1]])
    runs = pd.DataFrame({"run": run, "t": t, "group": group, "coop": coop, "i": np.arange(len(df))}).groupby(
        "run").agg(t0=("t", "min"), t1=("t", "max"), group=("group", "first"), coop=("coop", "first"),
                   i0=("i", "min"), i1=("i", "max"))
    prev = runs.shift(1)
    events = []
    switches = runs[(runs["group"] == prev["group"]) & (runs["coop"] != prev["coop"])]
    for run_id, r in switches.iterrows():
        before = runs.loc[run_id - 1]
        lasts_to_end = run_id + 1 not in runs.index or runs.at[run_id + 1, "group"] != r["group"]
        if r["t1"] - r["t0"] < MIN_DARK_S and not lasts_to_end:
            continue
        i_before, i_after = int(before["i1"]), int(r["i0"])
        going_dark = bool(before["coop"])
        i_coop = i_before if going_dark else i_after
        agl = df.at[i_coop, "agl_m"]
        if np.isfinite(agl) and agl < LOW_AGL_M:
            continue  # switched at the strip, not in flight
        covered, note = _coverage_note(sensors, df.at[i_after, "lat"], df.at[i_after, "lon"])
        confidence = 0.9 if covered else 0.4
        if r["t1"] - r["t0"] < MIN_DARK_S:  # the flight ended soon after: less to go on
            confidence *= 0.7
        evidence = {"method": "one flight", "identity": _identity(df, i_coop), "coverage": note,
                    "last_cooperative_t" if going_dark else "first_cooperative_t": float(df.at[i_coop, "t"]),
                    "dark_s" if going_dark else "dark_before_s": round(
                        float((r["t1"] - r["t0"]) if going_dark else (before["t1"] - before["t0"])), 1)}
        ids = [df.at[i_before, "track_id"], df.at[i_after, "track_id"]]
        flight = df.at[i_after, "flight_id"] if "flight_id" in df else None
        events.append(_event("transponder_off" if going_dark else "transponder_on", df.at[i_before, "t"],
                             df.at[i_after, "t"], df.at[i_coop, "lat"], df.at[i_coop, "lon"], ids, confidence,
                             evidence, flight))
    return events


def _track_edges(df: pd.DataFrame, last: bool) -> pd.DataFrame:
    g = df.groupby("track_id", sort=False)
    edge = (g.tail(1) if last else g.head(1)).set_index("track_id")
    edge["all_coop"] = g["cooperative"].all()
    edge["any_coop"] = g["cooperative"].any()
    edge["duration_s"] = g["t"].max() - g["t"].min()
    return edge


def _across_tracks(df: pd.DataFrame, sensors) -> list[dict]:
    """Cooperative track ends with a primary-only track going on from there (off), and the reverse (on)."""
    ends, starts = _track_edges(df, last=True), _track_edges(df, last=False)
    dark = df[~df["cooperative"].to_numpy(bool)]
    dark_t = dark["t"].to_numpy(float)
    order = np.argsort(dark_t, kind="stable")
    dark, dark_t = dark.iloc[order], dark_t[order]
    track_span = df.groupby("track_id")["t"].agg(["min", "max"])
    events = []
    for going_dark, edges in ((True, ends), (False, starts)):
        for track_id, e in edges[edges["all_coop"]].iterrows():
            if np.isfinite(e["agl_m"]) and e["agl_m"] < LOW_AGL_M:
                continue
            lo, hi = ((e["t"] - HANDOVER_S / 3, e["t"] + HANDOVER_S) if going_dark
                      else (e["t"] - HANDOVER_S, e["t"] + HANDOVER_S / 3))
            a, b = np.searchsorted(dark_t, [lo, hi])
            near = dark.iloc[a:b]
            near = near[(near["track_id"] != track_id) & (near["_flight"] != e["_flight"])]
            if near.empty:
                continue
            dt = near["t"].to_numpy(float) - e["t"]
            p_lat, p_lon = destination(np.full(len(near), e["lat"]), np.full(len(near), e["lon"]),
                                       np.full(len(near), e["heading_deg"]), e["speed_mps"] * dt)
            d = haversine_m(p_lat, p_lon, near["lat"].to_numpy(float), near["lon"].to_numpy(float))
            dh = np.abs((near["heading_deg"].to_numpy(float) - e["heading_deg"] + 180.0) % 360.0 - 180.0)
            ok = (d <= HANDOVER_DISTANCE_M) & (dh <= HANDOVER_HEADING_DEG)
            if not ok.any():
                continue
            k = int(np.argmin(np.where(ok, d, np.inf)))
            other = str(near["track_id"].iloc[k])
            span = track_span.loc[other]
            dark_s = (span["max"] - e["t"]) if going_dark else (e["t"] - span["min"])
            if dark_s < MIN_DARK_S:
                continue
            covered, note = _coverage_note(sensors, e["lat"], e["lon"])
            confidence = (0.8 if covered else 0.35) * float(np.clip(1.0 - d[k] / (2 * HANDOVER_DISTANCE_M), 0.5, 1.0))
            i_edge = int(df.index[(df["track_id"] == track_id) & (df["t"] == e["t"])][0])
            evidence = {"method": "two tracks", "identity": _identity(df, i_edge), "coverage": note,
                        "cooperative_track": str(track_id), "primary_track": other,
                        "handover_distance_m": round(float(d[k]), 0), "handover_s": round(float(dt[k]), 1),
                        "dark_s": round(float(dark_s), 1)}
            ids = [track_id, other] if going_dark else [other, track_id]
            t0, t1 = (e["t"], e["t"] + max(dt[k], 0.0)) if going_dark else (e["t"] + min(dt[k], 0.0), e["t"])
            events.append(_event("transponder_off" if going_dark else "transponder_on", t0, t1, e["lat"], e["lon"],
                                 ids, confidence, evidence, e.get("flight_id")))
    return events
