"""Inbound warning: while a suspect flight is still in the air, where it will land and when.

At every update of every flight the airborne indicators of the track *so far* are scored by the model's inbound
(causal) score: nothing after the update is used, so a warning computed in a replay is the one a live system
would have given at that moment. When the score first reaches the model's operating threshold while the flight
is airborne, has not landed yet and is heading for a strip, one alert is raised; later updates of the same
flight refine it (``updates``) until it lands, instead of raising new alerts.

**Where.** The candidate strips at time t are the clandestine strips of the airstrip catalogue already known at t
(first seen before t: the catalogue a live system would hold, earlier runs included), each placed where the
landings before t put it. Registered airfields are not
candidates: the air bridge lands where no one sees it. A GPS-guided plane flies nearly straight at its strip, so
each candidate is weighed by how well the bearing to it agrees with the aircraft's course (a Gaussian in the angle
off the nose, wider when the strip is close because a track's course is noisy and the final turn is not yet flown;
in the simulated scenarios the course at the alert is often 15-70 degrees off the bearing to the strip, which the
site's spread below accounts for), by how far it is, and by its history: a strip already used by earlier flights is
the likeliest destination (air-bridge crews reuse strips until they are cratered). When the aircraft's height is
known (transponder, 3-D radar) and it is descending, each strip is also weighed by how well its distance fits
where the descent meets the strip's elevation in the terrain model. Only strips with that history
are candidates: a landing counts when the flight's inbound score had reached the operating threshold before it
landed (earlier runs' landings, which the catalogue keeps without saying who landed, all count). A strip that only
mission planes, helicopters or villagers used is not where the police should be sent, and pointing at one makes the
ETA wrong as well. When no known strip lies ahead the site is the dead-reckoned position at the ETA, with an
uncertainty of a third of the distance to it (at least 5 km, and widened by the spread below): an honest
"somewhere ahead", not a strip.

**When.** With a strip: ETA = now + distance / ground speed + the time the approach adds (fitted in training: the
dog-leg and the descent orbit, several minutes), and a window that grows with the time still to fly. Without one,
the flight's own timing is the best guide: the air bridge lands "just after dawn" (DESIGN.md), so the ETA is the
next time the morning sun at the aircraft reaches the elevation at which training landings happened (their
median), if that is within the next three hours; otherwise the typical time from alert to landing in training.
All widths are the model file's ``eta_window``, fitted in training so that the stated share of landings falls
inside.

**How far off.** ``sigma_site_m`` is never smaller than the model file's ``site_spread`` times the distance from
the aircraft to the predicted site: in training, a site predicted tens of km ahead was off by about as much
(from the wrong strip, or a dead reckoning of a flight that does not fly straight), whatever a strip's own
position error says. The fraction is fitted per basis so that 86 % of the training landings fall within two
sigma (the share of a circular Gaussian inside 2 sigma). ``site_share`` is the chosen strip's share of the weight
among the *known* strips ahead; ``site_probability`` is how often, in training, a prediction like it had the
landing within 2 km (calibrated on the share; for a dead-reckoned site, the training rate). It is low: the flight
may land on a strip no one has seen yet, or on a neighbour of the chosen one.

>>> from centinela.alerts.warning import EtaWindow
>>> float(EtaWindow(min_width_s=300.0, width_per_s_to_go=0.2).width_s(3000.0))
600.0
>>> SiteSpread(strip_fraction=0.6).sigma_m(["strip", "dawn"], [50_000.0, 0.0]).tolist()
[30000.0, 0.0]
>>> t = dawn_eta([1_780_308_000.0], [-12.5], [-73.8], sun_elevation_deg=-3.0)   # 05:00 local, 1 June
>>> round((float(t[0]) - 1_780_308_000.0) / 60)   # minutes until the sun is 3° below the horizon
60
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit

from centinela import model
from centinela.alerts.dispatch import finite_or_none
from centinela.assess.explanations import explain
from centinela.assess.indicators import (
    AIRBORNE_INDICATORS,
    LANDING_KINDS,
    airborne_indicators,
    event_flights,
    landings_before,
    strip_history,
    track_rows,
)
from centinela.assess.scoring import ModelFile
from centinela.geo.frames import bearing_deg, haversine_m

# --- site choice ------------------------------------------------------------------------------------------
# How far off the course a flight's strip may lie. Not a direct flight's few degrees: an air-bridge crew flies
# to a point off to one side, loses height there out of the radars' view and flies the last 15-20 km low, so at
# 20-40 km out its strip lies 25-80 degrees (median ~40) off its course (docs/assessment.md). The course gives
# the general direction; among the strips ahead, the landings each has seen decide.
SIGMA_COURSE_DEG = 40.0
# Close in, the course says less (final turns, circling to look at the strip): the angular tolerance is the one
# subtended by this cross-track distance.
SIGMA_CROSS_TRACK_M = 3_000.0
# Strips further than this are not predicted: at 70 m/s it is ~50 minutes of flight, beyond which a light plane
# can still turn anywhere. The alert waits until a strip is within reach.
MAX_SITE_DISTANCE_M = 200_000.0
# Candidates behind the wing line are not where the flight is going.
MAX_OFF_COURSE_DEG = 90.0
# Without a strip ahead, the dead-reckoned site is this uncertain: a third of the distance to it, at least 5 km.
DEAD_RECKONING_SIGMA_FRACTION = 1.0 / 3.0
DEAD_RECKONING_SIGMA_MIN_M = 5_000.0
# The dawn ETA is used when the sun reaches the landing elevation within this time; a flight further from dawn
# gets the typical time to go.
DAWN_ETA_HORIZON_S = 3 * 3600.0
# The ETA is never sooner than this after the update: a flight still airborne and inbound needs a few minutes.
MIN_TIME_TO_GO_S = 120.0
# An approach slows a light plane from ~70 to ~30 m/s over the last few km: on average it adds about a minute.
# The least the approach adds; the model file's ``EtaWindow.approach_s`` is what it added in training (a descent
# orbit, a dog-leg to an offset point), and is what strip ETAs use.
APPROACH_EXTRA_S = 60.0
# Ground speed under which a track is not heading anywhere useful to extrapolate (a helicopter hovering, or
# the last plots of a landing roll).
MIN_SPEED_MPS = 20.0
# --- descent (aircraft whose height is known: transponder, 3-D radar) -------------------------------------
# A descending aircraft touches down about (height above the strip) / (sink rate) x (ground speed) ahead: among
# strips on one course, the one at that distance is the likelier. Less sink than ~300 ft/min is level flight
# with altimeter noise.
DESCENT_MIN_SINK_MPS = 1.5
# The sink rate over the last minute of the track (causal; Mode C's 100-ft steps average out over it).
DESCENT_BASELINE_S = 60.0
# Descents are flown in steps, with level-offs and a slower final: the touch-down distance is uncertain by
# this fraction of itself, plus a base for the circuit flown at the strip.
DESCENT_SIGMA_FRACTION = 0.4
DESCENT_SIGMA_MIN_M = 2_000.0
# A predicted site is right when the landing is this close (the goal: police within reach of the strip).
# The warning's site_probability is calibrated on it and centinela.evaluate.alerts scores alerts by it.
SITE_HIT_M = 2_000.0
# Uncertainty of a catalogue strip's position when the catalogue gives none (a landing estimate's ~300 m).
STRIP_SIGMA_M = 300.0
# Catalogue strips closer than this are taken as one place: radar-blind landing estimates of one strip scatter
# by about a kilometre and may open neighbouring entries, and a ground team at one is within reach of the other.
SITE_GROUP_M = 1_500.0
# A strip this close to a military base is the base's own helipad or an outpost beside it (the 3 km scale of
# the base-proximity indicators), not an air-bridge destination.
BASE_EXCLUSION_M = 3_000.0

# An alert needs this much track: the course and speed of the first plots are noise, and a score that peaks on
# them would alert on clutter or on a confounder's first minute. Time, because several radars fusing plots give
# many updates a scan: a minute is six scans of one radar. Updates, because a track that is only a plot or two
# over that time is no track. (12 updates, the earlier gate, cost about a minute of lead time; 45 s let two
# dark mission planes through on the evaluation runs: docs/assessment.md.)
MIN_TRACK_S_TO_ALERT = 60.0
MIN_UPDATES_TO_ALERT = 4

ALERT_EXTRA_COLUMNS = ["flight_id", "updates", "sigma_site_m", "site_distance_m", "site_probability", "site_share",
                       "eta_basis", "explanations"]


@dataclass
class EtaWindow:
    """ETA parameters fitted in training. With a strip ahead, the ETA is the straight flight to it at the current
    ground speed plus ``approach_s`` (what the approach added to the straight flight in training: air-bridge crews
    fly a dog-leg to a point off to one side and lose height in an orbit there), and the window's full width is
    ``max(min_width_s, width_per_s_to_go * seconds still to fly)`` (as stated: ``eta - t``); with the dawn ETA it
    is ``dawn_width_s``;
    otherwise ``typical_width_s`` around ``typical_time_to_go_s``."""

    min_width_s: float = 600.0
    width_per_s_to_go: float = 0.5
    landing_sun_elevation_deg: float = -3.0
    dawn_width_s: float = 2_400.0
    typical_time_to_go_s: float = 1_800.0
    typical_width_s: float = 2_400.0
    approach_s: float = APPROACH_EXTRA_S

    def width_s(self, time_to_go_s):
        return np.maximum(self.min_width_s, self.width_per_s_to_go * np.asarray(time_to_go_s, float))


@dataclass
class SiteSpread:
    """How far off predicted sites are, fitted in training: the 1-sigma error as a fraction of the distance from
    the aircraft to the predicted site, per ETA basis (``strip``: a catalogue strip; ``dawn``, ``typical``: a
    dead-reckoned site). The defaults, for model files without a fit, are close to that of 23 Nov 2026 (0.61,
    0.54, 0.48).

    And how often the landing is within :data:`SITE_HIT_M` of the predicted site: for a strip, a logistic curve in
    the strip's share of the weight among the known strips ahead (``strip_hit_log_odds``: intercept, slope); for a
    dead-reckoned site, one training rate. Empty (a model file without the fit): the share itself, and nothing for
    a dead-reckoned site."""

    strip_fraction: float = 0.6
    dawn_fraction: float = 0.55
    typical_fraction: float = 0.5
    strip_hit_log_odds: list[float] = field(default_factory=list)
    dead_reckoned_hit_probability: float | None = None

    def hit_probability(self, basis: Sequence[str], share) -> np.ndarray:
        """Probability that the landing is within :data:`SITE_HIT_M` of each predicted site, from its basis and
        (for a strip) its share among the known strips ahead; NaN where the model has no fit.

        >>> SiteSpread(strip_hit_log_odds=[-3.0, 2.0], dead_reckoned_hit_probability=0.0).hit_probability(
        ...     ["strip", "strip", "dawn"], [0.5, 1.0, np.nan]).round(3).tolist()
        [0.119, 0.269, 0.0]
        """
        share = np.asarray(share, float)
        strip = np.asarray(basis, dtype=object) == "strip"
        if self.strip_hit_log_odds:
            intercept, slope = self.strip_hit_log_odds
            on_strip = expit(intercept + slope * share)
        else:
            on_strip = share
        dead = np.nan if self.dead_reckoned_hit_probability is None else self.dead_reckoned_hit_probability
        return np.where(strip, on_strip, dead)

    def sigma_m(self, basis: Sequence[str], distance_m) -> np.ndarray:
        """The 1-sigma site error (m) for each prediction's basis and distance ahead (an unknown basis takes the
        largest fraction)."""
        fraction = {"strip": self.strip_fraction, "dawn": self.dawn_fraction, "typical": self.typical_fraction}
        f = np.array([fraction.get(str(b), max(fraction.values())) for b in basis], float)
        return f * np.nan_to_num(np.asarray(distance_m, float), nan=0.0)


def dawn_eta(t_s, lat, lon, *, sun_elevation_deg: float, horizon_s: float = DAWN_ETA_HORIZON_S) -> np.ndarray:
    """For each time and place, the next time within ``horizon_s`` at which the rising sun reaches
    ``sun_elevation_deg`` (to the minute); NaN when it does not."""
    from centinela.assess.solar import sun_elevation_deg as elevation

    t = np.asarray(t_s, float)
    steps = np.arange(0.0, horizon_s + 60.0, 60.0)
    grid = t[:, None] + steps[None, :]
    sun = elevation(grid, np.asarray(lat, float)[:, None], np.asarray(lon, float)[:, None])
    rising = np.diff(sun, axis=1) > 0
    crossed = (sun[:, :-1] < sun_elevation_deg) & (sun[:, 1:] >= sun_elevation_deg) & rising
    has = crossed.any(axis=1)
    first = np.argmax(crossed, axis=1)
    return np.where(has, t + steps[first + 1], np.nan)


def track_so_far(rows: pd.DataFrame) -> pd.DataFrame:
    """Per row (``alert_key``, ``t``): ``updates``, the alert key's updates so far (this one included), and
    ``track_s``, the time since its first.

    >>> track_so_far(pd.DataFrame({"alert_key": ["a", "a", "b", "a"], "t": [0.0, 10.0, 12.0, 50.0]}))
       updates  track_s
    0        1      0.0
    1        2     10.0
    2        1      0.0
    3        3     50.0
    """
    key = rows.groupby("alert_key", sort=False)
    return pd.DataFrame({"updates": key.cumcount().to_numpy() + 1,
                         "track_s": (rows["t"] - key["t"].transform("min")).to_numpy(float)}, index=rows.index)


def may_alert(states: pd.DataFrame) -> np.ndarray:
    """Whether each state (``updates``, ``track_s``: :func:`track_so_far`) has track enough to raise an alert on."""
    return ((states["updates"].to_numpy(int) >= MIN_UPDATES_TO_ALERT)
            & (states["track_s"].to_numpy(float) >= MIN_TRACK_S_TO_ALERT))


def candidate_sites(airstrips: pd.DataFrame | None, bases: pd.DataFrame | None = None) -> pd.DataFrame:
    """The clandestine strips of the catalogue that an air-bridge flight could be heading for:
    ``airstrip_id, lat, lon, first_seen, sigma_m, group``.

    Strips at a military base (``bases``, default the packaged list) are left out: the catalogue holds them
    because army helicopters land there, and no air-bridge crew lands at a base. ``group`` numbers the places:
    catalogue strips closer than :data:`SITE_GROUP_M` are one place seen through scattered landing estimates.
    """
    columns = {"airstrip_id": str, "lat": float, "lon": float, "first_seen": float, "sigma_m": float, "group": int}
    empty = pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})
    if airstrips is None or len(airstrips) == 0:
        return empty
    a = airstrips.dropna(subset=["lat", "lon"])
    a = a[~a["registered"].astype("boolean").fillna(False).to_numpy(bool)]
    if bases is None:
        from centinela.assess.places import military_bases

        bases = military_bases()
    from centinela.assess.places import nearest_distance_m

    a = a[nearest_distance_m(a["lat"], a["lon"], bases["lat"], bases["lon"]) > BASE_EXCLUSION_M]
    if len(a) == 0:
        return empty
    sites = pd.DataFrame({
        "airstrip_id": a["id"].astype(str).to_numpy(), "lat": a["lat"].to_numpy(float),
        "lon": a["lon"].to_numpy(float),
        "first_seen": a["first_seen"].fillna(-np.inf).to_numpy(float) if "first_seen" in a else -np.inf,
        "sigma_m": a["sigma_m"].fillna(STRIP_SIGMA_M).to_numpy(float) if "sigma_m" in a else STRIP_SIGMA_M,
    }).drop_duplicates("airstrip_id").reset_index(drop=True)
    from sklearn.cluster import DBSCAN

    from centinela.geo.frames import EARTH_RADIUS_M

    sites["group"] = DBSCAN(eps=SITE_GROUP_M / EARTH_RADIUS_M, min_samples=1, metric="haversine",
                            algorithm="ball_tree").fit_predict(np.radians(sites[["lat", "lon"]].to_numpy(float)))
    return sites


def prior_uses(sites: pd.DataFrame, airstrips: pd.DataFrame | None, events: pd.DataFrame | None,
               t: np.ndarray, counted: pd.DataFrame | None = None) -> np.ndarray:
    """(len(t), len(sites)) number of landings at each site before each time, earlier runs' included;
    ``counted``: the landing events of this run that count (default: all)."""
    history = strip_history(airstrips, events, counted)
    counts = np.zeros((len(t), len(sites)))
    for j, sid in enumerate(sites["airstrip_id"].astype(str)):
        if sid in history:
            counts[:, j] = landings_before(history, sid, t)
    return counts


def site_positions(sites: pd.DataFrame, airstrips: pd.DataFrame | None, events: pd.DataFrame | None,
                   t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(len(t), len(sites)) latitude and longitude of each site as known at each time: the weighted mean of this
    run's landing estimates on it before then (the catalogue's final position uses later landings too, which a
    live system did not have). A strip that earlier runs already placed keeps the catalogue's position."""
    from centinela.detect.airstrips import strip_estimates

    t = np.asarray(t, float)
    lat = np.broadcast_to(sites["lat"].to_numpy(float), (len(t), len(sites))).copy()
    lon = np.broadcast_to(sites["lon"].to_numpy(float), (len(t), len(sites))).copy()
    estimates = strip_estimates(events)
    if len(estimates) == 0:
        return lat, lon
    history = strip_history(airstrips, events)
    by_strip = {str(k): g.sort_values("t") for k, g in estimates.groupby(estimates["airstrip_id"].astype(str))}
    for j, sid in enumerate(sites["airstrip_id"].astype(str)):
        mine = by_strip.get(sid)
        if mine is None or history.get(sid, (0, None))[0] > 0:
            continue
        w = mine["weight"].to_numpy(float)
        cum_w = np.concatenate([[0.0], np.cumsum(w)])
        cum_lat = np.concatenate([[0.0], np.cumsum(w * mine["lat"].to_numpy(float))])
        cum_lon = np.concatenate([[0.0], np.cumsum(w * mine["lon"].to_numpy(float))])
        k = np.searchsorted(mine["t"].to_numpy(float), t, side="right")
        seen = cum_w[k] > 0
        lat[seen, j] = cum_lat[k][seen] / cum_w[k][seen]
        lon[seen, j] = cum_lon[k][seen] / cum_w[k][seen]
    return lat, lon


def _places_at(t: np.ndarray, sites: pd.DataFrame, uses: np.ndarray,
               positions: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, ...]:
    """The candidate places as known at each time: per (row, group) the position (the members known then,
    weighted by their landings), the landings so far, the earliest member's id and whether any member is
    known. ``positions``: the sites' positions per row (:func:`site_positions`; default: the catalogue's).
    Returns ``lat, lon, uses, known, member`` arrays of shape (len(t), n_groups)."""
    group = sites["group"].to_numpy(int) if "group" in sites else np.arange(len(sites))
    n_groups = int(group.max()) + 1
    membership = np.zeros((len(sites), n_groups))
    membership[np.arange(len(sites)), group] = 1.0
    known = (sites["first_seen"].to_numpy(float)[None, :] <= t[:, None]).astype(float)
    weight = known * (1.0 + uses)
    total = weight @ membership
    site_lat, site_lon = positions if positions is not None else (sites["lat"].to_numpy(float),
                                                                  sites["lon"].to_numpy(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        lat = (weight * site_lat) @ membership / total
        lon = (weight * site_lon) @ membership / total
    # The id a place is reported under: its member with the most landings so far (the earliest on ties).
    score = np.where(known > 0, uses - 1e-9 * np.argsort(np.argsort(sites["first_seen"].to_numpy(float))), -np.inf)
    member = np.full((len(t), n_groups), -1)
    for g in range(n_groups):
        cols = np.flatnonzero(group == g)
        member[:, g] = cols[np.argmax(score[:, cols], axis=1)]
    return lat, lon, (known * uses) @ membership, total > 0, member


def sink_rate_mps(rows: pd.DataFrame, baseline_s: float = DESCENT_BASELINE_S) -> np.ndarray:
    """Rate of descent (m/s, positive down) of each row over the last ``baseline_s`` of its track, from ``alt_m``
    (``t``, ``track_id``): causal, NaN without altitude or without a row that far back.

    >>> rows = pd.DataFrame({"track_id": ["a"] * 4, "t": [0.0, 30.0, 60.0, 90.0], "alt_m": [900.0, 800, 700, 600]})
    >>> sink_rate_mps(rows).tolist()
    [nan, nan, 3.3333333333333335, 3.3333333333333335]
    """
    t = rows["t"].to_numpy(float)
    alt = rows["alt_m"].to_numpy(float) if "alt_m" in rows else np.full(len(rows), np.nan)
    code = pd.factorize(rows["track_id"])[0].astype(float)
    order = np.lexsort((t, code))
    span = (t.max() - t.min() + 2.0 * baseline_s + 1.0) if len(t) else 1.0
    key = code[order] * span + (t[order] - (t.min() if len(t) else 0.0))
    back = np.searchsorted(key, key - baseline_s, side="right") - 1
    sink = np.full(len(rows), np.nan)
    ok = (back >= 0) & (code[order][np.maximum(back, 0)] == code[order])
    i, j = order[ok], order[back[ok]]
    with np.errstate(invalid="ignore", divide="ignore"):
        sink[i] = (alt[j] - alt[i]) / (t[i] - t[j])
    return sink


def _descent_log_weight(d: np.ndarray, p_lat: np.ndarray, p_lon: np.ndarray, alt_m: np.ndarray, sink: np.ndarray,
                        speed: np.ndarray, terrain) -> np.ndarray:
    """(n, places) log-weight of each place by how well its distance ``d`` fits the touch-down distance of a
    descending aircraft (0 where the height or the descent is unknown)."""
    out = np.zeros_like(d)
    descending = np.isfinite(alt_m) & (np.nan_to_num(sink) >= DESCENT_MIN_SINK_MPS) & (speed >= MIN_SPEED_MPS)
    if terrain is None or not descending.any():
        return out
    rows = np.flatnonzero(descending)
    elevation = np.asarray(terrain.elevation_m(p_lat[rows].ravel(), p_lon[rows].ravel()), float).reshape(len(rows), -1)
    height = alt_m[rows, None] - elevation
    touchdown = height / sink[rows, None] * speed[rows, None]
    sigma = DESCENT_SIGMA_FRACTION * np.abs(touchdown) + DESCENT_SIGMA_MIN_M
    with np.errstate(invalid="ignore"):
        term = -0.5 * ((d[rows] - touchdown) / sigma) ** 2
    # A strip above the aircraft says nothing about where the descent ends: no weight either way.
    out[rows] = np.where((height > 0) & np.isfinite(term), term, 0.0)
    return out


def predict_sites(lat, lon, course_deg, speed_mps, t, sites: pd.DataFrame, uses: np.ndarray, *,
                  min_uses: float = 0.0, alt_m=None, sink_mps=None, terrain=None,
                  positions: tuple[np.ndarray, np.ndarray] | None = None,
                  approach_s: float = APPROACH_EXTRA_S) -> pd.DataFrame:
    """For each aircraft state, the likeliest place ahead among ``sites`` known at ``t``, with its share of the
    weight among the candidates (``site_share``), its distance, an ETA and a position uncertainty. Rows without a
    candidate have NaN. Places with fewer than ``min_uses`` landings so far are not candidates. Given the
    aircraft's altitude, its sink rate (:func:`sink_rate_mps`) and the terrain, a descending aircraft's places are
    also weighed by how well their distance fits where the descent meets the strip's elevation. ``positions``:
    the sites' positions as known at each row (:func:`site_positions`; default: the catalogue's). The ETA is the
    straight flight to the place at the current ground speed plus ``approach_s``."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    course, speed, t = np.asarray(course_deg, float), np.asarray(speed_mps, float), np.asarray(t, float)
    n = len(lat)
    out = pd.DataFrame({"airstrip_id": pd.Series([pd.NA] * n, dtype="string"), "site_lat": np.nan,
                        "site_lon": np.nan, "distance_m": np.nan, "site_share": np.nan, "eta": np.nan,
                        "sigma_site_m": np.nan})
    if n == 0 or len(sites) == 0:
        return out
    p_lat, p_lon, p_uses, known, member = _places_at(t, sites, np.asarray(uses, float).reshape(n, len(sites)),
                                                     positions)
    d = haversine_m(lat[:, None], lon[:, None], p_lat, p_lon)
    off = np.abs((bearing_deg(lat[:, None], lon[:, None], p_lat, p_lon) - course[:, None] + 180.0) % 360.0 - 180.0)
    sigma = np.maximum(SIGMA_COURSE_DEG, np.degrees(np.arctan2(SIGMA_CROSS_TRACK_M, np.maximum(d, 1.0))))
    ok = (known & (p_uses >= min_uses) & (d <= MAX_SITE_DISTANCE_M) & (off <= MAX_OFF_COURSE_DEG)
          & (speed[:, None] >= MIN_SPEED_MPS))
    # Farther places are less likely destinations at equal angle (a longer flight has more room to turn).
    with np.errstate(invalid="ignore"):
        log_w = -0.5 * (off / sigma) ** 2 + np.log1p(p_uses) - d / MAX_SITE_DISTANCE_M
    if alt_m is not None and sink_mps is not None:
        log_w = log_w + _descent_log_weight(d, p_lat, p_lon, np.asarray(alt_m, float), np.asarray(sink_mps, float),
                                            speed, terrain)
    log_w = np.where(ok, log_w, -np.inf)
    has = np.isfinite(log_w).any(axis=1)
    if not has.any():
        return out
    rows = np.flatnonzero(has)
    w = np.exp(log_w[has] - log_w[has].max(axis=1, keepdims=True))
    p = w / w.sum(axis=1, keepdims=True)
    b = np.argmax(p, axis=1)
    chosen_lat, chosen_lon = p_lat[rows, b], p_lon[rows, b]
    chosen_d = d[rows, b]
    # Position uncertainty: the spread of the candidates' positions around the chosen one, plus the strip's own.
    spread = haversine_m(chosen_lat[:, None], chosen_lon[:, None], p_lat[rows], p_lon[rows])
    spread = np.where(p > 0, spread, 0.0)
    strip_sigma = sites["sigma_m"].to_numpy(float)[member[rows, b]]
    out.loc[rows, "airstrip_id"] = sites["airstrip_id"].to_numpy(str)[member[rows, b]]
    out.loc[rows, "site_lat"] = chosen_lat
    out.loc[rows, "site_lon"] = chosen_lon
    out.loc[rows, "distance_m"] = chosen_d
    out.loc[rows, "site_share"] = p[np.arange(len(rows)), b]
    out.loc[rows, "eta"] = t[rows] + chosen_d / np.maximum(speed[rows], MIN_SPEED_MPS) + approach_s
    out.loc[rows, "sigma_site_m"] = np.sqrt((p * spread**2).sum(axis=1) + strip_sigma**2)
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
    rows["alert_key"] = alert_keys(rows)
    rows[["updates", "track_s"]] = track_so_far(rows)
    rows["landed"] = alert_landed(rows, outputs.events)
    sites = candidate_sites(outputs.airstrips)
    suspect = suspect_landings(rows, outputs.events, m.alert_threshold)
    uses = prior_uses(sites, outputs.airstrips, outputs.events, rows["t"].to_numpy(float), counted=suspect)
    course = np.degrees(np.arctan2(rows["ve_mps"].to_numpy(float), rows["vn_mps"].to_numpy(float)))
    positions = site_positions(sites, outputs.airstrips, outputs.events, rows["t"].to_numpy(float))
    predicted = predict_sites(rows["lat"], rows["lon"], course, rows["speed_mps"], rows["t"], sites, uses,
                              min_uses=1.0, alt_m=rows["alt_m"], sink_mps=sink_rate_mps(rows), terrain=terrain,
                              positions=positions, approach_s=EtaWindow(**m.eta_window).approach_s)
    for c in predicted.columns:
        rows[c] = predicted[c].to_numpy()
    rows["indicators"] = _indicator_lists(air[AIRBORNE_INDICATORS], m.inbound.contributions(air[AIRBORNE_INDICATORS]))
    for name in AIRBORNE_INDICATORS:
        rows[name] = air[name].to_numpy(float)
    return rows


def suspect_landings(rows: pd.DataFrame, events: pd.DataFrame | None, threshold_log_odds: float) -> pd.DataFrame:
    """This run's landing events of flights whose inbound log-odds (``rows["inbound_log_odds"]``) had reached
    ``threshold_log_odds`` before they landed: strips the air bridge is known to use. A strip that only mission
    planes, helicopters or community flights used is no destination to send the police to."""
    if events is None or len(events) == 0:
        return pd.DataFrame(columns=["kind", "t", "airstrip_id"])
    landings = events[events["kind"].astype("string").eq("landing").fillna(False).to_numpy(bool)]
    per_event = event_flights(rows, landings, ("landing",))
    suspect = np.zeros(len(landings), bool)
    by_flight = {str(f): g for f, g in rows.groupby(rows["flight"].astype(str), sort=False)}
    for position, flight, t in zip(per_event["event"], per_event["flight"].astype(str), per_event["t"]):
        mine = by_flight.get(flight)
        if mine is not None:
            before = mine["inbound_log_odds"].to_numpy(float)[mine["t"].to_numpy(float) <= float(t)]
            suspect[int(position)] |= bool(before.size) and float(before.max()) >= threshold_log_odds
    return landings[suspect]


def landed_by(rows: pd.DataFrame, events: pd.DataFrame | None, key: str = "flight") -> np.ndarray:
    """Whether the flight (``rows[key]``) of each update had landed (a landing or ground stop began) at or before
    it."""
    return rows["t"].to_numpy(float) >= _first_landing_t(rows, events, key)


def _first_landing_t(rows: pd.DataFrame, events: pd.DataFrame | None, key: str) -> np.ndarray:
    """For each update, when its flight (``rows[key]``) first landed or began a ground stop (inf: never)."""
    never = np.full(len(rows), np.inf)
    if events is None or len(events) == 0:
        return never
    ev = event_flights(rows.assign(flight=rows[key]), events, LANDING_KINDS)
    if len(ev) == 0:
        return never
    first = ev.groupby(ev["flight"].astype(str))["t"].min()
    return first.reindex(rows[key].astype(str)).fillna(np.inf).to_numpy(float)


def alert_keys(rows: pd.DataFrame) -> np.ndarray:
    """What an alert is raised for: the tracker's flight (``flight_id``, else the track).

    The assessment's ``flight`` also joins tracker flights through events (a ground stop's arriving and departing
    tracks), but such a join is known only once the stop has happened, and two aircraft flying together may be
    joined by a stop that one of them makes later: an alert per joined flight would silence the second aircraft's
    warning with the first one's."""
    track = rows["track_id"].astype(str)
    if "flight_id" not in rows:
        return track.to_numpy(object)
    return rows["flight_id"].astype("string").fillna(track).astype(str).to_numpy(object)


def alert_landed(rows: pd.DataFrame, events: pd.DataFrame | None) -> np.ndarray:
    """Whether each update comes after a landing that ends its warning: its own tracker flight's (``alert_key``),
    or its joined flight's when the update's track began after that landing (the departure after a stop)."""
    t = rows["t"].to_numpy(float)
    joined_t = _first_landing_t(rows, events, "flight")
    track_start = rows.groupby(rows["track_id"].astype(str))["t"].transform("min").to_numpy(float)
    return landed_by(rows, events, "alert_key") | ((t >= joined_t) & (track_start >= joined_t))


# An indicator is named in an alert when it adds at least this much to the log-odds (a factor of ~1.2 in odds).
MIN_ALERT_CONTRIBUTION = 0.2


def _indicator_lists(values: pd.DataFrame, contributions: pd.DataFrame) -> list[list[str]]:
    """Per update, the indicators present (> 0) that raise the inbound score, largest first: why the alert was
    raised. (An absent legitimate indicator also raises the score a little; it is not a reason to name.)"""
    terms = np.where(values[contributions.columns].to_numpy(float) > 0, contributions.to_numpy(float), 0.0)
    names = np.asarray(contributions.columns)
    order = np.argsort(-terms, axis=1, kind="stable")
    return [[str(names[j]) for j in row if terms[i, j] >= MIN_ALERT_CONTRIBUTION] for i, row in enumerate(order)]


def fill_without_site(states: pd.DataFrame, window: EtaWindow, spread: SiteSpread | None = None) -> pd.DataFrame:
    """ETA, its window and a dead-reckoned site for the updates that have no known strip ahead; the window of
    those that have one. Adds ``eta_window_s``, ``eta_basis`` (``strip``, ``dawn`` or ``typical``) and
    ``site_distance_m`` (aircraft to site), widens ``sigma_site_m`` to ``spread`` (default :class:`SiteSpread`),
    keeps the strip's share of the weight as ``site_share`` and calibrates ``site_probability`` with ``spread``."""
    spread = spread or SiteSpread()
    out = states.copy()
    t = out["t"].to_numpy(float)
    has_site = out["eta"].notna().to_numpy()
    basis = np.where(has_site, "strip", "typical").astype(object)
    eta = out["eta"].to_numpy(float).copy()
    width = np.where(has_site, window.width_s(eta - t), window.typical_width_s)
    missing = ~has_site
    if missing.any():
        dawn = dawn_eta(t[missing], out["lat"].to_numpy(float)[missing], out["lon"].to_numpy(float)[missing],
                        sun_elevation_deg=window.landing_sun_elevation_deg)
        use_dawn = np.isfinite(dawn) & (dawn - t[missing] >= MIN_TIME_TO_GO_S)
        guess = np.where(use_dawn, dawn, t[missing] + window.typical_time_to_go_s)
        eta[missing] = guess
        width[missing] = np.where(use_dawn, window.dawn_width_s, window.typical_width_s)
        basis[np.flatnonzero(missing)[use_dawn]] = "dawn"
        from centinela.geo.frames import destination

        speed = np.maximum(out["speed_mps"].to_numpy(float)[missing], MIN_SPEED_MPS)
        course = np.degrees(np.arctan2(out["ve_mps"].to_numpy(float)[missing], out["vn_mps"].to_numpy(float)[missing]))
        ahead_m = speed * np.maximum(guess - t[missing] - APPROACH_EXTRA_S, 0.0)
        lat, lon = destination(out["lat"].to_numpy(float)[missing], out["lon"].to_numpy(float)[missing], course, ahead_m)
        out.loc[missing, "site_lat"] = lat
        out.loc[missing, "site_lon"] = lon
        out.loc[missing, "sigma_site_m"] = np.maximum(DEAD_RECKONING_SIGMA_MIN_M, DEAD_RECKONING_SIGMA_FRACTION * ahead_m)
        out.loc[missing, "site_share"] = np.nan
    out["site_probability"] = spread.hit_probability(basis, out["site_share"].to_numpy(float))
    out["eta"] = eta
    out["eta_window_s"] = width
    out["eta_basis"] = basis
    out["site_distance_m"] = haversine_m(out["lat"].to_numpy(float), out["lon"].to_numpy(float),
                                         out["site_lat"].to_numpy(float), out["site_lon"].to_numpy(float))
    floor = spread.sigma_m(basis, out["site_distance_m"].to_numpy(float))
    out["sigma_site_m"] = np.fmax(out["sigma_site_m"].to_numpy(float), floor)
    return out


def _rounded(value) -> float | None:
    """A probability for JSON, to 4 decimals; None when missing."""
    number = finite_or_none(value)
    return None if number is None else round(number, 4)


def warn(scenario: model.Scenario, outputs: model.Outputs, *, terrain=None, registered: pd.DataFrame | None = None,
         model_file: ModelFile | None = None) -> pd.DataFrame:
    """The alerts (``ALERT_COLUMNS`` plus ``flight_id``, ``updates``, ``sigma_site_m``, ``site_distance_m`` (from
    the aircraft to the predicted site), ``site_probability`` (landing within 2 km of it, calibrated),
    ``site_share``, ``eta_basis`` and ``explanations``: the legitimate explanations the track so far does not rule
    out).

    One alert per tracker flight (:func:`alert_keys`), raised at the first update at which the flight is airborne,
    has not landed, has track enough (:func:`may_alert`) and reaches the model's ``alert_threshold``
    (inbound log-odds) on its track so far. ``predicted_site`` (``airstrip_id`` null when no known strip is
    ahead), ``eta`` and ``eta_window_s`` (full width, centred on ``eta``) are those at ``t_issued``; ``updates`` lists the refined
    prediction at every later update until the flight lands: ``{t, score, eta, eta_window_s, lat, lon,
    airstrip_id, sigma_site_m, site_distance_m, site_probability, site_share, eta_basis}``.
    """
    from centinela.assess import load_model

    m = model_file or load_model()
    window = EtaWindow(**m.eta_window)
    spread = SiteSpread(**m.site_spread)
    states = inbound_states(scenario, outputs, terrain=terrain, registered=registered, model_file=m)
    columns = [*model.ALERT_COLUMNS, *ALERT_EXTRA_COLUMNS]
    if len(states) == 0:
        return model.conform(pd.DataFrame(columns=columns), model.ALERT_COLUMNS)
    states = states[~states["landed"].to_numpy(bool) & ~states["on_ground"].to_numpy(bool)]
    states = states.sort_values(["alert_key", "t"], kind="stable")
    trigger = (states["inbound_log_odds"].to_numpy(float) >= m.alert_threshold) & may_alert(states)
    first_t = states[trigger].groupby("alert_key")["t"].min()
    by_key = {key: group for key, group in states.groupby("alert_key", sort=False) if key in first_t.index}
    alerts = []
    for k, (flight, t_issued) in enumerate(first_t.sort_values().items()):
        flight_states = by_key[flight]
        mine = fill_without_site(flight_states[flight_states["t"].to_numpy(float) >= t_issued], window, spread)
        head = mine.iloc[0]
        updates = [{"t": float(r.t), "score": round(float(r.inbound_score), 4), "eta": float(r.eta),
                    "eta_window_s": float(r.eta_window_s), "lat": float(r.site_lat), "lon": float(r.site_lon),
                    "airstrip_id": None if pd.isna(r.airstrip_id) else str(r.airstrip_id),
                    "sigma_site_m": round(float(r.sigma_site_m), 1),
                    "site_distance_m": round(float(r.site_distance_m), 1),
                    "site_probability": _rounded(r.site_probability), "site_share": _rounded(r.site_share),
                    "eta_basis": str(r.eta_basis)}
                   for r in mine.iloc[1:].itertuples()]
        track_ids = list(dict.fromkeys(flight_states["track_id"].astype(str)))
        alerts.append({
            "alert_id": f"A{k + 1:04d}-{flight}",
            "track_ids": track_ids,
            "score": float(head["inbound_score"]),
            "t_issued": float(t_issued),
            "indicators": list(head["indicators"]),
            "predicted_site": {"lat": float(head["site_lat"]), "lon": float(head["site_lon"]),
                               "airstrip_id": None if pd.isna(head["airstrip_id"]) else str(head["airstrip_id"])},
            "eta": float(head["eta"]),
            "eta_window_s": float(head["eta_window_s"]),
            "flight_id": str(flight),
            "updates": updates,
            "sigma_site_m": float(head["sigma_site_m"]),
            "site_distance_m": float(head["site_distance_m"]),
            "site_probability": _rounded(head["site_probability"]),
            "site_share": _rounded(head["site_share"]),
            "eta_basis": str(head["eta_basis"]),
            "explanations": explain(mine.iloc[[0]])[0],
        })
    if not alerts:
        return model.conform(pd.DataFrame(columns=columns), model.ALERT_COLUMNS)
    return model.conform(pd.DataFrame(alerts), model.ALERT_COLUMNS)
