"""Inbound warning: while a suspect flight is still in the air, where it will land and when.

At every update of every flight the airborne indicators of the track *so far* are scored by the model's inbound
(causal) score: nothing after the update is used, so a warning computed in a replay is the one a live system
would have given at that moment. When the score first reaches the model's operating threshold while the flight
is airborne, has not landed yet and is heading for a strip, one alert is raised; later updates of the same
flight refine it (``updates``) until it lands, instead of raising new alerts.

**Where.** The candidate strips at time t are the strips of the airstrip catalogue already known at t (first
seen before t; the catalogue a live system would hold) and the registered airfields. A GPS-guided plane flies
nearly straight at its strip, so each candidate is weighed by how well the bearing to it agrees with the
aircraft's course (a Gaussian in the angle off the nose, wider when the strip is close because a track's course
is noisy and the final turn is not yet flown), by how far it is (a strip beyond the reach of the remaining
flight is unlikely), and by its history: a clandestine strip already used by earlier flights is the likeliest
destination (air-bridge pilots reuse strips until they are cratered). Registered airfields count for little in
a suspect flight's choice: the air bridge lands where there is no one to see it.

**When.** ETA = now + distance to the strip / ground speed + the slow-down of the approach. The window around
it grows with the time still to fly (course changes, speed changes, holding before landing); its width is the
model file's ``eta_window`` (fitted in training so that the stated share of landings falls inside).

>>> from centinela.alerts.warning import EtaWindow
>>> EtaWindow(min_width_s=300.0, width_per_s_to_go=0.2).width_s(3000.0)
600.0
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from centinela import model
from centinela.assess.indicators import (
    AIRBORNE_INDICATORS,
    LANDING_KINDS,
    airborne_indicators,
    landings_before,
    strip_history,
    track_rows,
)
from centinela.assess.scoring import ModelFile
from centinela.geo.frames import bearing_deg, haversine_m

# --- site choice ------------------------------------------------------------------------------------------
# Course error of a GPS-guided direct flight: a few degrees of track noise plus dog-legs around ridges.
SIGMA_COURSE_DEG = 10.0
# Close in, the course says less (final turns, circling to look at the strip): the angular tolerance is the one
# subtended by this cross-track distance.
SIGMA_CROSS_TRACK_M = 3_000.0
# Strips further than this are not predicted: at 70 m/s it is ~50 minutes of flight, beyond which a light plane
# can still turn anywhere. The alert waits until a strip is within reach.
MAX_SITE_DISTANCE_M = 200_000.0
# Candidates more than this far off the nose are not where the flight is going.
MAX_OFF_COURSE_DEG = 60.0
# Prior weight of a registered airfield relative to a never-used clandestine strip, for a suspect flight.
REGISTERED_PRIOR = 0.2
# An approach slows a light plane from ~70 to ~30 m/s over the last few km: on average it adds about a minute.
APPROACH_EXTRA_S = 60.0
# Ground speed under which a track is not heading anywhere useful to extrapolate (a helicopter hovering, or
# the last plots of a landing roll).
MIN_SPEED_MPS = 20.0
# Uncertainty of a catalogue strip's position when the catalogue gives none (a landing estimate's ~300 m).
STRIP_SIGMA_M = 300.0

# An alert needs two minutes of track (12 updates at a 10 s scan): the course and speed of the first few plots
# are noise, and a score that peaks on them would alert on clutter.
MIN_UPDATES_TO_ALERT = 12

ALERT_EXTRA_COLUMNS = ["flight_id", "updates", "sigma_site_m", "site_probability"]


@dataclass
class EtaWindow:
    """Full width of the ETA window: ``max(min_width_s, width_per_s_to_go * seconds still to fly)``."""

    min_width_s: float = 600.0
    width_per_s_to_go: float = 0.5

    def width_s(self, time_to_go_s):
        return np.maximum(self.min_width_s, self.width_per_s_to_go * np.asarray(time_to_go_s, float))


def candidate_sites(airstrips: pd.DataFrame | None, registered: pd.DataFrame | None, near_lat: np.ndarray,
                    near_lon: np.ndarray) -> pd.DataFrame:
    """Strips the flights may use: catalogue strips and registered airfields within reach of the given points.
    Columns: ``airstrip_id, lat, lon, registered, first_seen, sigma_m``."""
    frames = []
    if airstrips is not None and len(airstrips):
        a = airstrips.dropna(subset=["lat", "lon"])
        frames.append(pd.DataFrame({
            "airstrip_id": a["id"].astype(str).to_numpy(), "lat": a["lat"].to_numpy(float),
            "lon": a["lon"].to_numpy(float), "registered": a["registered"].astype("boolean").fillna(False).to_numpy(bool),
            "first_seen": a["first_seen"].to_numpy(float) if "first_seen" in a else np.full(len(a), -np.inf),
            "sigma_m": a["sigma_m"].fillna(STRIP_SIGMA_M).to_numpy(float) if "sigma_m" in a else STRIP_SIGMA_M}))
    if registered is not None and len(registered) and len(near_lat):
        lat0, lon0 = float(np.nanmean(near_lat)), float(np.nanmean(near_lon))
        reach = float(np.nanmax(haversine_m(lat0, lon0, near_lat, near_lon))) + MAX_SITE_DISTANCE_M
        r = registered.dropna(subset=["lat", "lon"])
        r = r[haversine_m(lat0, lon0, r["lat"].to_numpy(float), r["lon"].to_numpy(float)) <= reach]
        known = set(frames[0]["airstrip_id"]) if frames else set()
        icao = r["icao"].astype(str).to_numpy()
        keep = np.array([code not in known for code in icao], bool)
        frames.append(pd.DataFrame({
            "airstrip_id": icao[keep], "lat": r["lat"].to_numpy(float)[keep], "lon": r["lon"].to_numpy(float)[keep],
            "registered": True, "first_seen": -np.inf, "sigma_m": 100.0}))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in
                             [("airstrip_id", str), ("lat", float), ("lon", float), ("registered", bool),
                              ("first_seen", float), ("sigma_m", float)]})
    # Catalogue strips that are registered airfields are already listed once (the catalogue's id wins).
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates("airstrip_id").reset_index(drop=True)


def prior_uses(sites: pd.DataFrame, airstrips: pd.DataFrame | None, events: pd.DataFrame | None,
               t: np.ndarray) -> np.ndarray:
    """(len(t), len(sites)) number of landings at each site before each time, earlier runs' included."""
    history = strip_history(airstrips, events)
    counts = np.zeros((len(t), len(sites)))
    for j, sid in enumerate(sites["airstrip_id"].astype(str)):
        if sid in history:
            counts[:, j] = landings_before(history, sid, t)
    return counts


def predict_sites(lat, lon, course_deg, speed_mps, t, sites: pd.DataFrame, uses: np.ndarray) -> pd.DataFrame:
    """For each aircraft state, the likeliest strip ahead among ``sites`` known at ``t``, with its probability
    among the candidates, its distance, an ETA and a position uncertainty. Rows without a candidate have NaN."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    course, speed, t = np.asarray(course_deg, float), np.asarray(speed_mps, float), np.asarray(t, float)
    n = len(lat)
    out = pd.DataFrame({"airstrip_id": pd.Series([pd.NA] * n, dtype="string"), "site_lat": np.nan,
                        "site_lon": np.nan, "distance_m": np.nan, "site_probability": np.nan, "eta": np.nan,
                        "sigma_site_m": np.nan})
    if n == 0 or len(sites) == 0:
        return out
    s_lat, s_lon = sites["lat"].to_numpy(float), sites["lon"].to_numpy(float)
    d = haversine_m(lat[:, None], lon[:, None], s_lat[None, :], s_lon[None, :])
    off = np.abs((bearing_deg(lat[:, None], lon[:, None], s_lat[None, :], s_lon[None, :]) - course[:, None]
                  + 180.0) % 360.0 - 180.0)
    sigma = np.maximum(SIGMA_COURSE_DEG, np.degrees(np.arctan2(SIGMA_CROSS_TRACK_M, np.maximum(d, 1.0))))
    known = sites["first_seen"].to_numpy(float)[None, :] <= t[:, None]
    ok = known & (d <= MAX_SITE_DISTANCE_M) & (off <= MAX_OFF_COURSE_DEG) & (speed[:, None] >= MIN_SPEED_MPS)
    prior = np.where(sites["registered"].to_numpy(bool)[None, :], REGISTERED_PRIOR, 1.0) * (1.0 + uses)
    # Farther strips are less likely destinations at equal angle (a longer flight has more room to turn).
    log_w = -0.5 * (off / sigma) ** 2 + np.log(prior) - d / MAX_SITE_DISTANCE_M
    log_w = np.where(ok, log_w, -np.inf)
    has = np.isfinite(log_w).any(axis=1)
    if not has.any():
        return out
    best = np.argmax(np.where(has[:, None], log_w, 0.0), axis=1)
    w = np.exp(log_w[has] - log_w[has].max(axis=1, keepdims=True))
    p = w / w.sum(axis=1, keepdims=True)
    rows = np.flatnonzero(has)
    b = best[has]
    chosen_d = d[rows, b]
    # Position uncertainty: the spread of the candidates' positions around the chosen one, plus the strip's own.
    spread = haversine_m(s_lat[b][:, None], s_lon[b][:, None], s_lat[None, :], s_lon[None, :])
    sigma_site = np.sqrt((p * spread**2).sum(axis=1) + sites["sigma_m"].to_numpy(float)[b] ** 2)
    out.loc[rows, "airstrip_id"] = sites["airstrip_id"].to_numpy(str)[b]
    out.loc[rows, "site_lat"] = s_lat[b]
    out.loc[rows, "site_lon"] = s_lon[b]
    out.loc[rows, "distance_m"] = chosen_d
    out.loc[rows, "site_probability"] = p[np.arange(len(rows)), b]
    out.loc[rows, "eta"] = t[rows] + chosen_d / np.maximum(speed[rows], MIN_SPEED_MPS) + APPROACH_EXTRA_S
    out.loc[rows, "sigma_site_m"] = sigma_site
    return out


def inbound_states(scenario: model.Scenario, outputs: model.Outputs, *, terrain=None,
                   registered: pd.DataFrame | None = None, model_file: ModelFile | None = None) -> pd.DataFrame:
    """Every track update with the causal inbound score, whether the flight had landed by then, and the
    predicted strip and ETA (the material :func:`warn` raises alerts from, and training fits the ETA window on).
    """
    from centinela.assess import load_model

    m = model_file or load_model()
    if registered is None:
        from centinela.io.airfields import registered_airfields

        registered = registered_airfields(scenario.airfields if scenario is not None else None)
    rows = track_rows(scenario, outputs, terrain=terrain, registered=registered)
    if len(rows) == 0:
        return rows
    air = airborne_indicators(rows, events=outputs.events, flightplans=scenario.flightplans if scenario else None,
                              registered=registered, airstrips=outputs.airstrips)
    rows["inbound_log_odds"] = m.inbound.log_odds(air[AIRBORNE_INDICATORS])
    rows["inbound_score"] = m.inbound.calibrate(rows["inbound_log_odds"].to_numpy(float))
    rows["updates"] = rows.groupby("flight", sort=False).cumcount().to_numpy() + 1
    rows["landed"] = landed_by(rows, outputs.events)
    sites = candidate_sites(outputs.airstrips, registered, rows["lat"].to_numpy(float), rows["lon"].to_numpy(float))
    uses = prior_uses(sites, outputs.airstrips, outputs.events, rows["t"].to_numpy(float))
    course = np.degrees(np.arctan2(rows["ve_mps"].to_numpy(float), rows["vn_mps"].to_numpy(float)))
    predicted = predict_sites(rows["lat"], rows["lon"], course, rows["speed_mps"], rows["t"], sites, uses)
    for c in predicted.columns:
        rows[c] = predicted[c].to_numpy()
    rows["indicators"] = _indicator_lists(air)
    return rows


def landed_by(rows: pd.DataFrame, events: pd.DataFrame | None) -> np.ndarray:
    """Whether the flight of each update had landed (a landing or ground stop began) at or before it."""
    if events is None or len(events) == 0:
        return np.zeros(len(rows), bool)
    from centinela.assess.indicators import event_flights

    ev = event_flights(rows, events, LANDING_KINDS)
    if len(ev) == 0:
        return np.zeros(len(rows), bool)
    first = ev.groupby(ev["flight"].astype(str))["t"].min()
    return rows["t"].to_numpy(float) >= first.reindex(rows["flight"].astype(str)).to_numpy(float)


def _indicator_lists(air: pd.DataFrame) -> list[list[str]]:
    """Names of the indicators present (> 0.5) at each update: what the alert tells the analyst."""
    flags = air[AIRBORNE_INDICATORS].to_numpy(float) > 0.5
    names = np.asarray(AIRBORNE_INDICATORS)
    return [names[f].tolist() for f in flags]


def warn(scenario: model.Scenario, outputs: model.Outputs, *, terrain=None, registered: pd.DataFrame | None = None,
         model_file: ModelFile | None = None) -> pd.DataFrame:
    """The alerts (``ALERT_COLUMNS`` plus ``flight_id``, ``updates``, ``sigma_site_m``, ``site_probability``).

    One alert per flight, raised at the first update at which the flight is airborne, has not landed, has at
    least :data:`MIN_UPDATES_TO_ALERT` updates, reaches the model's ``alert_threshold`` (inbound log-odds) on its
    track so far, and has a predicted strip ahead. ``predicted_site``,
    ``eta`` and ``eta_window_s`` (full width, centred on ``eta``) are those at ``t_issued``; ``updates`` lists the
    refined prediction at every later update until the flight lands: ``{t, score, eta, eta_window_s, lat, lon,
    airstrip_id, sigma_site_m}``.
    """
    from centinela.assess import load_model

    m = model_file or load_model()
    window = EtaWindow(**m.eta_window)
    states = inbound_states(scenario, outputs, terrain=terrain, registered=registered, model_file=m)
    columns = [*model.ALERT_COLUMNS, *ALERT_EXTRA_COLUMNS]
    if len(states) == 0:
        return model.conform(pd.DataFrame(columns=columns), model.ALERT_COLUMNS)
    states = states[~states["landed"].to_numpy(bool) & ~states["on_ground"].to_numpy(bool)]
    states = states.sort_values(["flight", "t"], kind="stable")
    trigger = ((states["inbound_log_odds"].to_numpy(float) >= m.alert_threshold)
               & (states["updates"].to_numpy(int) >= MIN_UPDATES_TO_ALERT) & states["eta"].notna().to_numpy())
    states = states.assign(_trigger=trigger)
    first_t = states[trigger].groupby("flight")["t"].min()
    alerts = []
    for k, (flight, t_issued) in enumerate(first_t.sort_values().items()):
        mine = states[(states["flight"] == flight) & (states["t"].to_numpy(float) >= t_issued)]
        mine = mine[mine["eta"].notna()]
        head = mine.iloc[0]
        time_to_go = mine["eta"].to_numpy(float) - mine["t"].to_numpy(float)
        widths = window.width_s(time_to_go)
        updates = [{"t": float(r.t), "score": round(float(r.inbound_score), 4), "eta": float(r.eta),
                    "eta_window_s": float(w), "lat": float(r.site_lat), "lon": float(r.site_lon),
                    "airstrip_id": str(r.airstrip_id), "sigma_site_m": round(float(r.sigma_site_m), 1)}
                   for r, w in zip(mine.iloc[1:].itertuples(), widths[1:])]
        track_ids = list(dict.fromkeys(states.loc[states["flight"] == flight, "track_id"].astype(str)))
        alerts.append({
            "alert_id": f"A{k + 1:04d}-{flight}",
            "track_ids": track_ids,
            "score": float(head["inbound_score"]),
            "t_issued": float(t_issued),
            "indicators": list(head["indicators"]),
            "predicted_site": {"lat": float(head["site_lat"]), "lon": float(head["site_lon"]),
                               "airstrip_id": str(head["airstrip_id"])},
            "eta": float(head["eta"]),
            "eta_window_s": float(widths[0]),
            "flight_id": str(flight),
            "updates": updates,
            "sigma_site_m": float(head["sigma_site_m"]),
            "site_probability": float(head["site_probability"]),
        })
    if not alerts:
        return model.conform(pd.DataFrame(columns=columns), model.ALERT_COLUMNS)
    return model.conform(pd.DataFrame(alerts), model.ALERT_COLUMNS)


def eta_window_dict(window: EtaWindow) -> dict:
    return asdict(window)

