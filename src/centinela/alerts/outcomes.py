"""What became of each alerted flight, read from the analysis outputs alone (never the truth).

For every alert the first landing or ground stop of the alert's flight after the alert was issued decides:

- ``arrived`` — it came down near the site the alert predicted (within :data:`SITE_SIGMAS` times the alert's
  site uncertainty, at least :data:`ARRIVAL_RADIUS_MIN_M`) no later than the end of the ETA window plus
  :data:`ETA_MARGIN_S`. An early landing at the site still counts as arrived: the plane came, our ETA was off.
- ``diverted`` — it came down somewhere else, or at the site but well after the window (it waited the
  police out).
- ``aborted`` — no landing at all after the alert: it crossed the border, turned back, or vanished.
- ``unknown`` — the data cannot say: they end before the ETA window closed, or the flight vanished close
  to the site while still heading for it (it may have landed where no sensor saw it).

The alert's flight is its ``track_ids`` and the tracks of its ``flight_id`` (the tracker's flight, the key
:func:`centinela.alerts.warning.alert_keys` gives, linking tracks across gaps). Failure for the leak statistics is ``aborted`` or
``diverted``; ``unknown`` carries no evidence either way.

>>> import pandas as pd
>>> alerts = pd.DataFrame({"alert_id": ["A1", "A2"], "track_ids": [["T1"], ["T2"]], "flight_id": ["T1", "T2"],
...     "t_issued": [0.0, 0.0], "eta": [1800.0, 1800.0], "eta_window_s": [600.0, 600.0],
...     "sigma_site_m": [500.0, 500.0],
...     "predicted_site": [{"lat": -12.5, "lon": -73.8, "airstrip_id": "S1"}] * 2})
>>> events = pd.DataFrame({"kind": ["landing", "landing"], "t": [1750.0, 1700.0], "lat": [-12.5, -12.9],
...     "lon": [-73.8, -73.8], "track_ids": [["T1"], ["T2"]]})
>>> alert_outcomes(alerts, events)[["alert_id", "outcome"]].values.tolist()
[['A1', 'arrived'], ['A2', 'diverted']]
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from centinela.assess.indicators import LANDING_KINDS
from centinela.geo.frames import bearing_deg, haversine_m
from centinela.model import track_id_list

OUTCOMES = ("arrived", "diverted", "aborted", "unknown")
FAILURES = ("aborted", "diverted")
OUTCOME_COLUMNS = ["alert_id", "outcome", "detail", "t_outcome"]

# A landing this close to the predicted site is "there": a police unit waiting at a strip sees or hears a
# light plane land within a few km, and a landing further away is at another strip, hours away by VRAEM road.
ARRIVAL_RADIUS_MIN_M = 5_000.0
# ... or within this many times the alert's own site uncertainty (a vague site is a wide circle).
SITE_SIGMAS = 3.0
# Slack after the ETA window closes: a crew circling while the strip is cleared, or a slow final approach.
ETA_MARGIN_S = 900.0
# A flight last seen this far off the bearing to the site was not going there any more: it turned back.
TURNED_BACK_OFF_COURSE_DEG = 90.0
# Below this speed a track's course says nothing (the last plots of a landing roll, or noise).
MIN_COURSE_SPEED_MPS = 15.0


@dataclass(frozen=True)
class ArrivalTest:
    """Where and until when a landing counts as the alerted flight arriving: within ``radius_m`` of the predicted
    site (:data:`SITE_SIGMAS` times the alert's site uncertainty, at least :data:`ARRIVAL_RADIUS_MIN_M`) and no
    later than ``window_end`` (the ETA window's end plus :data:`ETA_MARGIN_S`)."""

    lat: float
    lon: float
    radius_m: float
    window_end: float

    @classmethod
    def of(cls, alert: Mapping) -> ArrivalTest:
        site = alert.get("predicted_site") if isinstance(alert.get("predicted_site"), Mapping) else {}
        sigma = float(np.nan_to_num(pd.to_numeric(alert.get("sigma_site_m"), errors="coerce"), nan=0.0))
        return cls(float(site.get("lat", np.nan) or np.nan), float(site.get("lon", np.nan) or np.nan),
                   max(ARRIVAL_RADIUS_MIN_M, SITE_SIGMAS * sigma),
                   float(alert["eta"]) + 0.5 * float(alert["eta_window_s"]) + ETA_MARGIN_S)

    def distance_m(self, lat: float, lon: float) -> float:
        return float(haversine_m(self.lat, self.lon, float(lat), float(lon)))

    def arrived(self, lat: float, lon: float, t: float) -> bool:
        return self.distance_m(lat, lon) <= self.radius_m and float(t) <= self.window_end


def alert_outcomes(alerts: pd.DataFrame, events: pd.DataFrame | None,
                   tracks: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per alert: ``alert_id``, ``outcome`` (arrived | diverted | aborted | unknown), ``detail`` (a
    sentence saying why) and ``t_outcome`` (the time of the landing or of the last sighting, NaN if none).

    ``alerts`` as read from ``alerts.jsonl`` (needs alert_id, t_issued, predicted_site, eta, eta_window_s;
    uses flight_id, track_ids and sigma_site_m when present); ``events`` from ``events.jsonl``; ``tracks``
    (``tracks.parquet``, optional) tell turning back from vanishing and where the data end.
    """
    if alerts is None or len(alerts) == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "t_outcome" else "string") for c in OUTCOME_COLUMNS})
    events = _usable_events(events)
    track_flight = _track_flights(tracks)
    data_end = _data_end(tracks, events)
    last_updates = _last_updates(tracks)  # once: the loop below is per alert, the tracks may be millions of rows
    rows = []
    for alert in alerts.to_dict("records"):  # alerts are few (a handful a day)
        members = _flight_tracks(alert, track_flight)
        rows.append({"alert_id": str(alert["alert_id"]),
                     **_outcome(alert, members, events, last_updates, data_end)})
    out = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    for c in ("alert_id", "outcome", "detail"):
        out[c] = out[c].astype("string")
    out["t_outcome"] = out["t_outcome"].astype(float)
    return out


def _usable_events(events: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["kind", "t", "lat", "lon", "track_ids", "flight_id", "evidence"]
    if events is None or len(events) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    ev = events.copy()
    for c in columns:
        if c not in ev:
            ev[c] = None
    ev["track_ids"] = [track_id_list(v) for v in ev["track_ids"]]
    return ev.sort_values("t", kind="stable").reset_index(drop=True)


def _track_flights(tracks: pd.DataFrame | None) -> pd.Series | None:
    """track_id -> the tracker's flight, the key the warning gives an alert's ``flight_id``."""
    if tracks is None or len(tracks) == 0:
        return None
    from centinela.alerts.warning import alert_keys

    per_track = tracks.drop_duplicates("track_id")
    return pd.Series(alert_keys(per_track), index=per_track["track_id"].astype(str).to_numpy())


def _data_end(tracks: pd.DataFrame | None, events: pd.DataFrame) -> float:
    """The last time the outputs cover: nothing can be said about what happens after it."""
    ends = [float(np.nanmax(tracks["t"].to_numpy(float)))] if tracks is not None and len(tracks) else []
    if len(events):
        ends.append(float(np.nanmax(pd.to_numeric(events["t"], errors="coerce").to_numpy(float))))
    return max(ends) if ends else -np.inf


def _flight_tracks(alert: dict, track_flight: pd.Series | None) -> set[str]:
    members = set(track_id_list(alert.get("track_ids")))
    flight = alert.get("flight_id")
    if track_flight is not None and isinstance(flight, str):
        members |= set(track_flight.index[track_flight.to_numpy() == flight])
    return members


def _belongs(events: pd.DataFrame, alert: dict, members: set[str]) -> np.ndarray:
    flight = alert.get("flight_id")
    by_track = np.array([bool(members.intersection(ids)) for ids in events["track_ids"]], bool)
    by_flight = events["flight_id"].astype(object).to_numpy() == flight if isinstance(flight, str) else False
    return by_track | by_flight


def _outcome(alert: dict, members: set[str], events: pd.DataFrame, last_updates: pd.DataFrame | None,
             data_end: float) -> dict:
    test = ArrivalTest.of(alert)
    site_lat, site_lon, radius_m, window_end = test.lat, test.lon, test.radius_m, test.window_end
    t_issued = float(alert["t_issued"])
    mine = events[_belongs(events, alert, members)] if len(events) else events
    after = mine[pd.to_numeric(mine["t"], errors="coerce").to_numpy(float) >= t_issued] if len(mine) else mine

    landings = after[after["kind"].astype(str).isin(LANDING_KINDS).to_numpy(bool)] if len(after) else after
    if len(landings):
        first = landings.iloc[0]
        d_m = test.distance_m(first["lat"], first["lon"])
        t = float(first["t"])
        where = f"{first['kind']} {d_m / 1000:.1f} km from the predicted site"
        if d_m > radius_m:
            return {"outcome": "diverted", "detail": f"{where} (beyond {radius_m / 1000:.1f} km)", "t_outcome": t}
        if t > window_end:
            late_min = (t - window_end + ETA_MARGIN_S) / 60.0
            return {"outcome": "diverted", "detail": f"{where}, {late_min:.0f} min after the ETA window",
                    "t_outcome": t}
        return {"outcome": "arrived", "detail": where, "t_outcome": t}

    crossings = after[after["kind"].astype(str).eq("border_crossing").to_numpy(bool)] if len(after) else after
    if len(crossings):
        first = crossings.iloc[0]
        evidence = first["evidence"] if isinstance(first["evidence"], dict) else {}
        direction = f" ({evidence.get('from', '?')} to {evidence.get('to', '?')})" if evidence else ""
        return {"outcome": "aborted", "detail": f"crossed the border{direction} with no landing",
                "t_outcome": float(first["t"])}

    last = _last_update(last_updates, members, t_issued)
    if last is not None:
        d_m = float(haversine_m(last["lat"], last["lon"], site_lat, site_lon))
        speed = float(np.hypot(last["vn_mps"], last["ve_mps"]))
        course = float(np.degrees(np.arctan2(last["ve_mps"], last["vn_mps"])))
        off = abs((float(bearing_deg(last["lat"], last["lon"], site_lat, site_lon)) - course + 180.0) % 360.0 - 180.0)
        seen = f"last seen {d_m / 1000:.0f} km from the predicted site"
        if speed >= MIN_COURSE_SPEED_MPS and off > TURNED_BACK_OFF_COURSE_DEG and d_m > radius_m:
            return {"outcome": "aborted", "detail": f"turned back: {seen}, {off:.0f} deg off the bearing to it",
                    "t_outcome": float(last["t"])}
        if data_end < window_end:
            return {"outcome": "unknown", "detail": f"{seen}; the data end before the ETA window closed",
                    "t_outcome": float(last["t"])}
        if d_m <= radius_m:
            return {"outcome": "unknown", "detail": f"{seen}, heading for it: may have landed unseen",
                    "t_outcome": float(last["t"])}
        return {"outcome": "aborted", "detail": f"vanished with no landing: {seen}", "t_outcome": float(last["t"])}
    if data_end < window_end:
        return {"outcome": "unknown", "detail": "the data end before the ETA window closed", "t_outcome": np.nan}
    return {"outcome": "aborted", "detail": "no landing or ground stop of the flight after the alert",
            "t_outcome": np.nan}


def _last_updates(tracks: pd.DataFrame | None) -> pd.DataFrame | None:
    """Each track's last update (t, lat, lon, vn_mps, ve_mps), indexed by track id as a string."""
    if tracks is None or len(tracks) == 0:
        return None
    tracks = tracks.reset_index(drop=True)  # idxmax labels must name one row each
    last = tracks.loc[tracks.groupby(tracks["track_id"].astype(str), sort=False)["t"].idxmax()]
    return last.set_index(last["track_id"].astype(str))[["t", "lat", "lon", "vn_mps", "ve_mps"]]


def _last_update(last_updates: pd.DataFrame | None, members: set[str], t_issued: float) -> dict | None:
    """The latest update of the flight's tracks, if it came at or after ``t_issued``."""
    if last_updates is None or not members:
        return None
    mine = last_updates[last_updates.index.isin(members)]
    mine = mine[mine["t"].to_numpy(float) >= t_issued]
    if len(mine) == 0:
        return None
    row = mine.loc[mine["t"].astype(float).idxmax()]
    return {"t": float(row["t"]), "lat": float(row["lat"]), "lon": float(row["lon"]),
            "vn_mps": float(row["vn_mps"]) if pd.notna(row["vn_mps"]) else 0.0,
            "ve_mps": float(row["ve_mps"]) if pd.notna(row["ve_mps"]) else 0.0}
