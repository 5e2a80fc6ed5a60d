"""What the sensors report about the simulated traffic: radar plots, ADS-B messages, observer reports.

All models work on :class:`StateTable` — every flight's 1 s states in flat NumPy arrays — and are vectorised
over (flight, scan) or (flight, message) pairs; nothing loops per plot.

- Primary radar (psr): one look per scan, at the moment the beam sweeps the target's azimuth; Gaussian
  range and azimuth noise; detection with probability pd (raised for bigger targets); nothing for aircraft
  on the ground, slower than the MTI's minimum speed (hovering) or with almost no radial speed (tangential
  fading); nothing below the elevation mask or behind terrain (4/3-earth line of sight, via a precomputed
  :class:`~centinela.geo.terrain.Viewshed`); Poisson clutter
  uniform over the coverage disc. No identity, no altitude.
- Secondary radar (ssr): the same geometry, only for aircraft whose transponder is on (also on the ground
  if in sight); Mode A squawk and Mode C altitude (100 ft steps), Mode S address and callsign (25 ft) for
  Mode S transponders; a few false replies.
- ADS-B: the receivers' merged feed (as from an aggregator): a message is kept when some receiver within
  range and in line of sight hears it; thinned to one position and one velocity every few seconds and an
  identity every 30 s.
- Observer posts: bearing-only "sound" and "sighting" reports of aircraft within a few km, often missed,
  with large bearing and time errors and some false reports; sightings need daylight and line of sight.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from centinela.assess.solar import sun_elevation_deg
from centinela.geo.frames import bearing_deg, elevation_4_3_earth_deg, geodetic_to_aer, haversine_m
from centinela.geo.terrain import Terrain, Viewshed, visible_from
from centinela.model import ADSB_COLUMNS, OBSERVATION_COLUMNS, PLOT_COLUMNS, Sensor, empty_frame

FT_M = 0.3048
# ADS-B vertical rate is encoded in 64 ft/min steps (DO-260B).
VERTICAL_RATE_STEP_FPM = 64.0


@dataclass
class StateTable:
    """All flights' 1 s states, flight after flight (``start[f]`` is flight f's first row)."""

    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt_m: np.ndarray
    on_ground: np.ndarray
    gs_mps: np.ndarray
    track_deg: np.ndarray
    vr_mps: np.ndarray
    vn_mps: np.ndarray
    ve_mps: np.ndarray
    transponder: np.ndarray
    start: np.ndarray  # per flight
    count: np.ndarray  # per flight

    @classmethod
    def from_flights(cls, flights) -> StateTable:
        trajs = [f.traj for f in flights]
        cat = lambda name: np.concatenate([getattr(tr, name) for tr in trajs]) if trajs else np.zeros(0)
        count = np.array([tr.t_s.size for tr in trajs], dtype=np.int64)
        start = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64) if trajs else np.zeros(0, np.int64)
        transponder = np.concatenate([f.transponder_on for f in flights]) if trajs else np.zeros(0, bool)
        return cls(cat("t_s"), cat("lat"), cat("lon"), cat("alt_m"), cat("on_ground").astype(bool), cat("gs_mps"),
                   cat("track_deg"), cat("vr_mps"), cat("vn_mps"), cat("ve_mps"), transponder.astype(bool),
                   start, count)

    @property
    def t_first(self) -> np.ndarray:
        return self.t[self.start] if self.start.size else np.zeros(0)

    @property
    def t_last(self) -> np.ndarray:
        return self.t[self.start + self.count - 1] if self.start.size else np.zeros(0)

    def at(self, flight: np.ndarray, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """States of ``flight`` (indices) at times ``t_s`` (clipped to each flight's span), interpolated."""
        first = self.t_first[flight]
        rel = np.clip(t_s - first, 0.0, self.count[flight] - 1.0)
        i0 = np.minimum(np.floor(rel).astype(np.int64), np.maximum(self.count[flight] - 2, 0))
        w = np.clip(rel - i0, 0.0, 1.0)
        lo = self.start[flight] + i0
        hi = np.minimum(lo + 1, self.start[flight] + self.count[flight] - 1)
        lerp = lambda a: a[lo] * (1.0 - w) + a[hi] * w
        nearest = np.where(w < 0.5, lo, hi)
        lon_hi = self.lon[lo] + ((self.lon[hi] - self.lon[lo] + 180.0) % 360.0 - 180.0)
        track = (self.track_deg[lo] + w * ((self.track_deg[hi] - self.track_deg[lo] + 180.0) % 360.0 - 180.0)) % 360.0
        return {"t": t_s, "lat": lerp(self.lat), "lon": self.lon[lo] * (1.0 - w) + lon_hi * w,
                "alt_m": lerp(self.alt_m), "gs_mps": lerp(self.gs_mps), "vn_mps": lerp(self.vn_mps),
                "ve_mps": lerp(self.ve_mps), "vr_mps": lerp(self.vr_mps), "track_deg": track,
                "on_ground": self.on_ground[nearest], "transponder": self.transponder[nearest]}


def _pairs(first: np.ndarray, last: np.ndarray, t0: float, period_s: float) -> tuple[np.ndarray, np.ndarray]:
    """All (flight, tick) pairs with ticks t0 + k*period_s inside each flight's [first, last]."""
    k0 = np.ceil((first - t0) / period_s).astype(np.int64)
    k1 = np.floor((last - t0) / period_s).astype(np.int64)
    n = np.maximum(k1 - k0 + 1, 0)
    flight = np.repeat(np.arange(first.size), n)
    offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return flight, t0 + (np.repeat(k0, n) + offsets) * period_s


def _in_window(first, last, t0_s, t1_s):
    return np.maximum(first, t0_s), np.minimum(last, t1_s)


# --- radars -------------------------------------------------------------------------------------------------
def radar_plots(sensor: Sensor, states: StateTable, flights: list, cfg: dict, terrain: Terrain, t0_s: float,
                t1_s: float, rng: np.random.Generator) -> pd.DataFrame:
    """Plots of one primary or secondary radar over [t0_s, t1_s), sorted by time (PLOT_COLUMNS)."""
    scan = float(sensor.scan_s)
    scan0 = t0_s + rng.uniform(0.0, scan)  # the antenna's phase
    first, last = _in_window(states.t_first, states.t_last, t0_s, t1_s)
    flight, t_scan = _pairs(first, last, scan0, scan)
    # Cheap range gate first (ground range at scan start, with margin for one scan of flight).
    s0 = states.at(flight, t_scan)
    near = haversine_m(sensor.lat, sensor.lon, s0["lat"], s0["lon"]) < sensor.range_max_m + 300.0 * scan
    flight, t_scan, s0 = flight[near], t_scan[near], {k: v[near] for k, v in s0.items()}
    if sensor.kind == "ssr":
        keep = s0["transponder"]
        flight, t_scan, s0 = flight[keep], t_scan[keep], {k: v[keep] for k, v in s0.items()}
    # The beam reaches the target's azimuth az/360 of a scan after north (two passes converge well).
    az, _, _ = geodetic_to_aer(sensor.lat, sensor.lon, sensor.alt_m, s0["lat"], s0["lon"], s0["alt_m"])
    t_hit = np.clip(t_scan + az / 360.0 * scan, first[flight], last[flight])
    s = states.at(flight, t_hit)
    az, _, slant = geodetic_to_aer(sensor.lat, sensor.lon, sensor.alt_m, s["lat"], s["lon"], s["alt_m"])
    t_hit = np.clip(t_scan + az / 360.0 * scan, first[flight], last[flight])
    ground_m = haversine_m(sensor.lat, sensor.lon, s["lat"], s["lon"])
    apparent_el = elevation_4_3_earth_deg(ground_m, s["alt_m"] - sensor.alt_m)
    seen = (slant <= sensor.range_max_m) & (apparent_el >= sensor.mask_deg)
    kinds = np.array([f.kind for f in flights])[flight]
    if sensor.kind == "psr":
        r = cfg["radar"]
        el = np.radians(apparent_el)
        azr = np.radians(az)
        radial = (s["ve_mps"] * np.sin(azr) + s["vn_mps"] * np.cos(azr)) * np.cos(el) + s["vr_mps"] * np.sin(el)
        seen &= ~s["on_ground"] & (s["gs_mps"] >= r["min_speed_mps"]) & (np.abs(radial) >= r["mti_notch_mps"])
        factor = np.array([r["rcs_factor"].get(k, 1.0) for k in kinds]) if kinds.size else np.zeros(0)
    else:
        seen &= s["transponder"]
        factor = np.ones(kinds.size)
    idx = np.flatnonzero(seen)
    idx = idx[Viewshed(sensor, terrain, sensor.range_max_m).visible(s["lat"][idx], s["lon"][idx], s["alt_m"][idx])]
    pd_eff = 1.0 - (1.0 - float(sensor.pd)) ** factor[idx]
    idx = idx[rng.random(idx.size) < pd_eff]
    n = idx.size
    plots = pd.DataFrame({
        "t": np.round(t_hit[idx], 3),
        "sensor": sensor.id,
        "range_m": np.round(np.maximum(slant[idx] + rng.normal(0.0, sensor.sigma_range_m, n), 0.0), 1),
        "azimuth_deg": np.round((az[idx] + rng.normal(0.0, sensor.sigma_azimuth_deg, n)) % 360.0, 4),
    })
    if sensor.kind == "ssr":
        _add_transponder_replies(plots, flights, flight[idx], s["alt_m"][idx], cfg)
    plots = pd.concat([plots, _clutter(sensor, scan0, t0_s, t1_s, rng)], ignore_index=True)
    return plots_frame([plots[(plots["t"] >= t0_s) & (plots["t"] < t1_s)]])


def _add_transponder_replies(plots: pd.DataFrame, flights: list, flight_idx: np.ndarray, alt_m: np.ndarray,
                             cfg: dict) -> None:
    """Mode A/C (squawk, altitude in 100 ft) and, for Mode S transponders, address, callsign, 25 ft."""
    icao = np.array([f.spoof_icao24 or f.aircraft.icao24 for f in flights], dtype=object)[flight_idx]
    callsign = np.array([f.callsign if f.aircraft.icao24 else None for f in flights], dtype=object)[flight_idx]
    squawk = np.array([f.squawk for f in flights], dtype=object)[flight_idx]
    mode_s = np.array([x is not None for x in icao], bool)
    step_ft = np.where(mode_s, cfg["ssr"]["mode_s_step_ft"], cfg["ssr"]["mode_c_step_ft"])
    plots["alt_m"] = np.round(np.round(alt_m / FT_M / step_ft) * step_ft * FT_M, 1)
    plots["squawk"] = pd.array(squawk, dtype="string")
    plots["icao24"] = pd.array(icao, dtype="string")
    plots["callsign"] = pd.array(callsign, dtype="string")


def _clutter(sensor: Sensor, scan0: float, t0_s: float, t1_s: float, rng: np.random.Generator) -> pd.DataFrame:
    """False plots: Poisson per scan, uniform over the coverage disc; SSR false replies carry junk codes."""
    n_scans = int(np.ceil((t1_s - scan0) / sensor.scan_s))
    counts = rng.poisson(sensor.clutter_per_scan, max(n_scans, 0))
    total = int(counts.sum())
    scan_t = scan0 + np.repeat(np.arange(counts.size), counts) * sensor.scan_s
    az = rng.uniform(0.0, 360.0, total)
    out = pd.DataFrame({
        "t": np.round(scan_t + az / 360.0 * sensor.scan_s, 3),
        "sensor": sensor.id,
        "range_m": np.round(sensor.range_max_m * np.sqrt(rng.uniform(0.0, 1.0, total)), 1),
        "azimuth_deg": np.round(az, 4),
    })
    if sensor.kind == "ssr":
        out["alt_m"] = np.round(rng.integers(20, 400, total) * 100 * FT_M, 1)
        out["squawk"] = pd.array(["".join(map(str, d)) for d in rng.integers(0, 8, (total, 4))], dtype="string")
    return out


# --- ADS-B --------------------------------------------------------------------------------------------------
def adsb_messages(receivers: list[Sensor], states: StateTable, flights: list, cfg: dict, terrain: Terrain,
                  t0_s: float, t1_s: float, rng: np.random.Generator) -> pd.DataFrame:
    """The merged SBS feed of ``receivers`` (ADSB_COLUMNS, SI units, sorted by time)."""
    a = cfg["adsb"]
    equipped = np.array([f.aircraft.adsb for f in flights], bool)
    if not receivers or not equipped.any():
        return empty_frame(ADSB_COLUMNS)
    first, last = _in_window(states.t_first, states.t_last, t0_s, t1_s)
    equipped = np.flatnonzero(equipped)
    views = [Viewshed(rx, terrain, rx.range_max_m) for rx in receivers]
    frames = []
    for msg_type, period in ((3, a["position_interval_s"]), (4, a["velocity_interval_s"]),
                             (1, a["identity_interval_s"])):
        phase = rng.uniform(0.0, period, equipped.size)  # each aircraft's own transmission phase
        local, t = _pairs(first[equipped] - phase, last[equipped] - phase, t0_s, period)
        flight, t = equipped[local], t + phase[local]
        s = states.at(flight, t)
        keep = s["transponder"] & _heard(receivers, views, s, a["message_loss"], rng)
        flight, s = flight[keep], {k: v[keep] for k, v in s.items()}
        n = flight.size
        icao = np.array([f.aircraft.icao24 for f in flights], dtype=object)[flight]
        df = pd.DataFrame({"t": np.round(s["t"], 3), "icao24": pd.array(icao, dtype="string"),
                           "msg_type": np.full(n, msg_type, np.int64)})
        if msg_type == 3:
            north, east = rng.normal(0.0, a["position_sigma_m"], (2, n))
            step = a["altitude_step_ft"]
            df["alt_m"] = np.round(np.round(s["alt_m"] / FT_M / step) * step * FT_M, 2)
            df["lat"] = np.round(s["lat"] + north / 111_320.0, 6)
            df["lon"] = np.round(s["lon"] + east / (111_320.0 * np.cos(np.radians(s["lat"]))), 6)
            df["on_ground"] = pd.array(s["on_ground"], dtype="boolean")
        elif msg_type == 4:
            df["gs_mps"] = np.round(s["gs_mps"], 2)
            df["track_deg"] = np.round(s["track_deg"], 1)
            fpm = np.round(s["vr_mps"] / FT_M * 60.0 / VERTICAL_RATE_STEP_FPM) * VERTICAL_RATE_STEP_FPM
            df["vr_mps"] = np.round(fpm * FT_M / 60.0, 3)
        else:
            callsign = np.array([f.callsign for f in flights], dtype=object)[flight]
            df["callsign"] = pd.array(callsign, dtype="string")
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out = out[(out["t"] >= t0_s) & (out["t"] < t1_s)]
    return out.sort_values(["t", "msg_type"], kind="stable").reset_index(drop=True)


def _heard(receivers: list[Sensor], views: list[Viewshed], s: dict, loss: float,
           rng: np.random.Generator) -> np.ndarray:
    heard = np.zeros(s["lat"].size, bool)
    for rx, view in zip(receivers, views):
        todo = np.flatnonzero(~heard)
        near = haversine_m(rx.lat, rx.lon, s["lat"][todo], s["lon"][todo]) <= rx.range_max_m
        todo = todo[near]
        todo = todo[view.visible(s["lat"][todo], s["lon"][todo], s["alt_m"][todo])]
        heard[todo[rng.random(todo.size) >= loss]] = True
    return heard


# --- observer posts -----------------------------------------------------------------------------------------
def observer_reports(post: Sensor, states: StateTable, cfg: dict, terrain: Terrain, t0_s: float, t1_s: float,
                     rng: np.random.Generator) -> pd.DataFrame:
    """Bearing-only reports of one ground post (OBSERVATION_COLUMNS)."""
    o = cfg["observers"]
    first, last = _in_window(states.t_first, states.t_last, t0_s, t1_s)
    flight, t = _pairs(first, last, t0_s + rng.uniform(0.0, 60.0), 60.0)
    s = states.at(flight, t)
    d = haversine_m(post.lat, post.lon, s["lat"], s["lon"])
    airborne = ~s["on_ground"]
    audible = airborne & (d <= post.range_max_m) & (rng.random(d.size) < o["p_sound_per_min"])
    candidates = np.flatnonzero(airborne & (d <= o["sighting_range_m"]))
    daylight = sun_elevation_deg(s["t"][candidates], post.lat, post.lon) >= o["daylight_sun_elevation_deg"]
    candidates = candidates[daylight]
    candidates = candidates[visible_from(post, s["lat"][candidates], s["lon"][candidates],
                                         s["alt_m"][candidates], terrain)]
    sighted = np.zeros(d.size, bool)
    sighted[candidates[rng.random(candidates.size) < o["p_sighting_per_min"]]] = True
    true_bearing = bearing_deg(post.lat, post.lon, s["lat"], s["lon"])
    sigma = float(post.sigma_azimuth_deg)
    frames = []
    for kind, mask, spread in (("sighting", sighted, sigma), ("sound", audible & ~sighted, sigma * o["sound_sigma_factor"])):
        n = int(mask.sum())
        frames.append(pd.DataFrame({
            "t": np.round(s["t"][mask] + rng.normal(0.0, o["time_sigma_s"], n), 1),
            "sensor": post.id,
            "azimuth_deg": np.round((true_bearing[mask] + rng.normal(0.0, spread, n)) % 360.0, 1),
            "kind": kind,
        }))
    n_false = int(rng.poisson(o["false_reports_per_day"] * (t1_s - t0_s) / 86_400.0))
    frames.append(pd.DataFrame({"t": np.round(rng.uniform(t0_s, t1_s, n_false), 1), "sensor": post.id,
                                "azimuth_deg": np.round(rng.uniform(0.0, 360.0, n_false), 1),
                                "kind": rng.choice(["sighting", "sound"], n_false)}))
    out = pd.concat(frames, ignore_index=True)
    out = out[(out["t"] >= t0_s) & (out["t"] < t1_s)]
    return out[list(OBSERVATION_COLUMNS)].sort_values("t", kind="stable").reset_index(drop=True)


def plots_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """All radars' plots in one frame with PLOT_COLUMNS, sorted by time (then sensor, stable)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame(PLOT_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    for name, dtype in PLOT_COLUMNS.items():
        if name not in df.columns:
            df[name] = pd.Series(pd.NA if dtype == "string" else np.nan, index=df.index, dtype=dtype)
        else:
            df[name] = df[name].astype(dtype)
    return df[list(PLOT_COLUMNS)].sort_values(["t", "sensor"], kind="stable").reset_index(drop=True)
