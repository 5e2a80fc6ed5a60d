"""Transponder switched off or on in flight: a cooperative aircraft (ADS-B, SSR: icao24 or squawk) goes on
without identity, or an aircraft seen only by primary radar starts answering.

Two shapes of evidence:

- **one flight** (the tracker fused the sensors, or linked the tracks by ``flight_id``): its updates switch
  from cooperative to primary-only (or back) and stay so for :data:`MIN_DARK_S`;
- **two tracks** (the tracker did not link them): a cooperative track ends while a primary-only track is,
  or appears within :data:`HANDOVER_S`, where the aircraft would be and flying like it.

A flight that leaves every SSR's and ADS-B receiver's coverage (range, elevation mask, line of sight at its
last reported altitude) while primary radar still sees it also loses its identity: that silence says
nothing, and no event is reported.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela.detect.crossings import flight_key
from centinela.geo.frames import destination, geodetic_to_aer, haversine_m
from centinela.geo.terrain import visible_from

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
# Cooperative updates on the lit side of a switch (an SSR scans every 4-12 s, ADS-B positions every 0.5-5 s).
MIN_LIT_UPDATES = 3


def _coverage_note(sensors, terrain, lat, lon, alt_m) -> tuple[bool, str]:
    """Whether some SSR or ADS-B receiver should have heard a transponder at most of these positions, flying
    at ``alt_m`` (each position's altitude extrapolated from the last reported one): in range, above an SSR's elevation mask, and, with a terrain
    model, in line of sight (``geo.terrain.visible_from``, the same 4/3-earth test the sensors obey)."""
    coop = [s for s in (sensors or []) if s.kind in ("ssr", "adsb") and s.range_max_m]
    if not coop:
        return True, "no SSR / ADS-B sensor list given"
    lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
    alt = np.broadcast_to(np.asarray(alt_m, float), lat.shape)
    known_alt = bool(np.isfinite(alt).all())
    heard_by = []
    for s in coop:
        seen = haversine_m(s.lat, s.lon, lat, lon) <= s.range_max_m
        if known_alt:
            if s.kind == "ssr":  # an ADS-B receiver has no elevation mask
                seen &= geodetic_to_aer(s.lat, s.lon, s.alt_m, lat, lon, alt)[1] >= (s.mask_deg or 0.0)
            if terrain is not None and seen.any():
                seen &= visible_from(s, lat, lon, alt, terrain)
        # Most of the dark positions, not only the edge where coverage itself may have ended.
        if seen.mean() >= 0.5:
            heard_by.append(s.id)
    if heard_by:
        return True, f"in the coverage of {', '.join(heard_by)}"
    return False, "outside every SSR's and ADS-B receiver's coverage: the identity may simply be out of reach"


def _event(kind: str, t: float, t_end: float, lat: float, lon: float, track_ids, confidence: float,
           evidence: dict, flight_id) -> dict:
    return {"kind": kind, "t": float(t), "t_end": float(t_end), "lat": float(lat), "lon": float(lon),
            "track_ids": list(dict.fromkeys(map(str, track_ids))), "airstrip_id": pd.NA,
            "confidence": float(confidence), "evidence": evidence,
            "flight_id": None if flight_id is None or pd.isna(flight_id) else str(flight_id)}


def transponder_events(m: pd.DataFrame, *, sensors=None, terrain=None) -> pd.DataFrame:
    """``transponder_off`` / ``transponder_on`` events of a motion frame (``kinematics.motion``)."""
    if m.empty or not m["cooperative"].any() or m["cooperative"].all():
        return pd.DataFrame()
    df = m.assign(_flight=flight_key(m)).sort_values(["_flight", "t"], kind="stable").reset_index(drop=True)
    events = _within_flights(df, sensors, terrain)
    events += _across_tracks(df, sensors, terrain)
    return pd.DataFrame(events)


def _identity(df: pd.DataFrame, i: int) -> dict:
    out = {}
    for column in ("icao24", "squawk", "callsign"):
        if column in df and not pd.isna(df.at[i, column]):
            out[column] = str(df.at[i, column])
    return out


def _within_flights(df: pd.DataFrame, sensors, terrain) -> list[dict]:
    """Dark episodes of one flight: stretches between two cooperative updates (or before the first, after
    the last) longer than MIN_DARK_S in which primary radar kept updating the flight for MIN_DARK_S."""
    group = df["_flight"].to_numpy()
    coop = df["cooperative"].to_numpy(bool)
    t = df["t"].to_numpy(float)
    # Epoch k of a flight: the updates after its k-th cooperative update (0: before the first).
    n_coop = pd.Series(coop.astype(int)).groupby(group).cumsum().to_numpy()
    dark = pd.DataFrame({"group": group, "epoch": n_coop, "t": t, "i": np.arange(len(df))})[~coop]
    episodes = dark.groupby(["group", "epoch"]).agg(first=("t", "min"), last=("t", "max"), i_first=("i", "min"),
                                                   i_last=("i", "max"))
    coop_rows = pd.DataFrame({"group": group, "t": t, "i": np.arange(len(df))})[coop]
    coop_rows["epoch"] = coop_rows.groupby("group").cumcount() + 1
    lit = coop_rows.set_index(["group", "epoch"])
    events = []
    for (g, epoch), e in episodes.iterrows():
        if e["last"] - e["first"] < MIN_DARK_S:
            continue
        before = lit.loc[(g, epoch)] if epoch > 0 and (g, epoch) in lit.index else None
        after = lit.loc[(g, epoch + 1)] if (g, epoch + 1) in lit.index else None
        dark_from = before["t"] if before is not None else e["first"]
        dark_to = after["t"] if after is not None else e["last"]
        if dark_to - dark_from < MIN_DARK_S:
            continue
        for going_dark, edge in ((True, before), (False, after)):
            if edge is None or not _steady(coop_rows, g, edge["t"], going_dark):
                continue
            i_coop = int(edge["i"])
            i_dark = int(e["i_first"] if going_dark else e["i_last"])
            agl = df.at[i_coop, "agl_m"]
            if np.isfinite(agl) and agl < LOW_AGL_M:
                continue  # switched at the strip, not in flight
            dark_rows = np.arange(int(e["i_first"]), int(e["i_last"]) + 1)
            dark_rows = dark_rows[~coop[dark_rows]]
            sample = dark_rows[:: max(1, len(dark_rows) // 5)]  # a few dark positions are enough
            covered, note = _coverage_note(sensors, terrain, df["lat"].to_numpy(float)[sample],
                                           df["lon"].to_numpy(float)[sample],
                                           _altitude_then(df, g, edge["t"], df["t"].to_numpy(float)[sample]))
            if not covered:
                continue  # no transponder could have been heard there: silence says nothing
            handover_s = abs(float(df.at[i_dark, "t"] - df.at[i_coop, "t"]))
            evidence = {"method": "one flight", "identity": _identity(df, i_coop), "coverage": note,
                        "dark_s": round(float(dark_to - dark_from), 1), "handover_s": round(handover_s, 1),
                        "primary_updates_while_dark": len(dark_rows)}
            # Seen lit and dark within a few scans: the same aircraft for sure. Across a longer blank the
            # tracker's link could join two aircraft.
            confidence = 0.9 if handover_s <= HANDOVER_S else 0.5
            ids = [df.at[i_coop, "track_id"], df.at[i_dark, "track_id"]]
            if not going_dark:
                ids = ids[::-1]
            flight = df.at[i_dark, "flight_id"] if "flight_id" in df else None
            t0, t1 = (df.at[i_coop, "t"], df.at[i_dark, "t"]) if going_dark else (df.at[i_dark, "t"], df.at[i_coop, "t"])
            events.append(_event("transponder_off" if going_dark else "transponder_on", t0, t1, df.at[i_coop, "lat"],
                                 df.at[i_coop, "lon"], ids, confidence, evidence, flight))
    return events


def _steady(coop_rows: pd.DataFrame, group, t: float, going_dark: bool) -> bool:
    """The transponder answered steadily on the lit side: MIN_LIT_UPDATES cooperative updates within
    MIN_DARK_S before it went dark (after it lit up), not one stray reply."""
    rows = coop_rows[coop_rows["group"] == group]["t"].to_numpy(float)
    window = (rows <= t) & (rows >= t - MIN_DARK_S) if going_dark else (rows >= t) & (rows <= t + MIN_DARK_S)
    return int(window.sum()) >= MIN_LIT_UPDATES


def _altitude_then(df: pd.DataFrame, group, t_known: float, t: np.ndarray) -> np.ndarray:
    """The flight's altitude at times ``t``, carried on from its reported altitude nearest ``t_known`` at its
    vertical rate then (a descending airliner sinks below an SSR's mask as it goes dark), never below the
    ground under it."""
    rows = df[(df["_flight"] == group) & df["alt_m"].notna()]
    if rows.empty:
        return np.full(len(t), np.nan)
    k = int(np.argmin(np.abs(rows["t"].to_numpy(float) - t_known)))
    last = rows.iloc[k]
    vz = float(last["vz_mps"]) if np.isfinite(last["vz_mps"]) else 0.0
    alt = float(last["alt_m"]) + vz * (np.asarray(t, float) - float(last["t"]))
    return np.maximum(alt, np.nan_to_num(float(last["ground_m"]), nan=-np.inf))


def _track_edges(df: pd.DataFrame, last: bool) -> pd.DataFrame:
    g = df.groupby("track_id", sort=False)
    edge = (g.tail(1) if last else g.head(1)).set_index("track_id")
    edge["all_coop"] = g["cooperative"].all()
    edge["any_coop"] = g["cooperative"].any()
    edge["duration_s"] = g["t"].max() - g["t"].min()
    return edge


def _across_tracks(df: pd.DataFrame, sensors, terrain) -> list[dict]:
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
            other_rows = dark[dark["track_id"] == other]
            sample = other_rows.iloc[::5]
            covered, note = _coverage_note(sensors, terrain, sample["lat"].to_numpy(float),
                                           sample["lon"].to_numpy(float),
                                           _altitude_then(df, e["_flight"], e["t"], sample["t"].to_numpy(float)))
            if not covered:
                continue
            confidence = 0.8 * float(np.clip(1.0 - d[k] / (2 * HANDOVER_DISTANCE_M), 0.5, 1.0))
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
