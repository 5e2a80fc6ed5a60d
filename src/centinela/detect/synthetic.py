"""Small hand-made flights for examples and tests of the detectors: a truth-like trajectory sampled every
second, and the tracks a primary radar or a transponder receiver would give of it (sampled every scan, blind
on the ground, below 15 m/s and below the terrain-masked coverage floor, noisy, split into tracks at gaps).

These are not the simulator (``centinela.sim``); they exist so that the detectors can be exercised on small,
fully known geometry.

>>> truth = air_bridge_stop(-12.6, -73.9, approach_from_deg=90.0, depart_to_deg=90.0)
>>> bool(truth["on_ground"].any())
True
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela.detect.coverage import visible_floor_m
from centinela.geo.frames import LocalFrame
from centinela.model import TRACK_COLUMNS, Sensor, conform

T0 = 1_748_500_000.0  # 2025-05-29 06:26:40 UTC, just after dawn in the VRAEM
CRUISE_MPS = 70.0  # Cessna 206 class cruise (DESIGN.md)
APPROACH_MPS = 35.0  # final approach speed of a light single
PSR_MIN_SPEED_MPS = 15.0  # CONTRACT.md: a primary radar does not see aircraft below ~15 m/s


class ValleyTerrain:
    """A straight valley: a flat floor ``floor_m`` high and ``2 * half_width_m`` wide along ``axis_deg``
    through (lat0, lon0), walls rising at ``wall_slope`` up to ridges of ``ridge_m``."""

    def __init__(self, lat0: float, lon0: float, *, floor_m: float = 600.0, axis_deg: float = 0.0,
                 half_width_m: float = 1_500.0, wall_slope: float = 0.25, ridge_m: float = 3_000.0):
        self.frame = LocalFrame(lat0, lon0)
        self.floor_m, self.half_width_m, self.wall_slope, self.ridge_m = floor_m, half_width_m, wall_slope, ridge_m
        self.axis = np.radians(axis_deg)

    def elevation_m(self, lat, lon) -> np.ndarray:
        e, n, _ = self.frame.to_enu(lat, lon, 0.0)
        across = np.abs(e * np.cos(self.axis) - n * np.sin(self.axis))
        rise = np.clip((across - self.half_width_m) * self.wall_slope, 0.0, self.ridge_m - self.floor_m)
        return self.floor_m + rise


def trajectory(waypoints: list[tuple[float, float, float, float, bool]], lat0: float, lon0: float,
               *, t0: float = T0, step_s: float = 1.0) -> pd.DataFrame:
    """Truth-like states by linear interpolation of waypoints ``(t_s, east_m, north_m, alt_m, on_ground)``
    relative to (lat0, lon0). Columns: t, lat, lon, alt_m, on_ground, speed_mps, vn_mps, ve_mps."""
    w = np.asarray([p[:4] for p in waypoints], float)
    ground_flags = np.asarray([p[4] for p in waypoints], bool)
    t = np.arange(w[0, 0], w[-1, 0] + 1e-9, step_s)
    e, n, alt = (np.interp(t, w[:, 0], w[:, k]) for k in (1, 2, 3))
    # A state is on the ground while it is between two on-ground waypoints.
    seg = np.clip(np.searchsorted(w[:, 0], t, side="right") - 1, 0, len(w) - 1)
    nxt = np.clip(seg + 1, 0, len(w) - 1)
    on_ground = ground_flags[seg] & ground_flags[nxt]
    ve, vn = np.gradient(e, t), np.gradient(n, t)
    lat, lon, _ = LocalFrame(lat0, lon0).to_geodetic(e, n, 0.0)
    return pd.DataFrame({"t": t0 + t, "lat": lat, "lon": lon, "alt_m": alt, "on_ground": on_ground,
                         "speed_mps": np.hypot(vn, ve), "vn_mps": vn, "ve_mps": ve})


def _unit(deg: float) -> np.ndarray:
    return np.array([np.sin(np.radians(deg)), np.cos(np.radians(deg))])


def air_bridge_stop(site_lat: float, site_lon: float, *, approach_from_deg: float, depart_to_deg: float,
                    site_elev_m: float = 600.0, ground_s: float = 600.0, glide_deg: float = 4.5,
                    climb_deg: float = 5.0, t0: float = T0, cruise_agl_m: float = 2_500.0) -> pd.DataFrame:
    """A light plane that comes in from bearing ``approach_from_deg`` (as seen from the strip), lands on a
    strip at (site_lat, site_lon), stays ``ground_s`` on the ground and leaves towards ``depart_to_deg``.
    The strip point is where the plane stops after its landing roll and where it starts its take-off roll."""
    u_in, u_out = _unit(approach_from_deg), _unit(depart_to_deg)
    roll_m = 250.0  # ~30 m/s to rest at ~1.8 m/s^2 on dirt
    pattern_agl_m = 300.0
    final_m = pattern_agl_m / np.tan(np.radians(glide_deg))
    slow_m = 3_000.0  # level at pattern height while slowing from descent to approach speed
    descent_m = (cruise_agl_m - pattern_agl_m) / np.tan(np.radians(3.0))
    far_m = 40_000.0
    pts, t = [], 0.0

    def add(dist_m, u, alt, ground, speed):
        nonlocal t
        pos = u * dist_m
        if pts:
            prev = np.array(pts[-1][1:3])
            t += np.linalg.norm(pos - prev) / speed
        pts.append((t, pos[0], pos[1], alt, ground))

    top, pattern = site_elev_m + cruise_agl_m, site_elev_m + pattern_agl_m
    near_m = roll_m + final_m + slow_m
    add(near_m + descent_m + far_m, u_in, top, False, CRUISE_MPS)
    add(near_m + descent_m, u_in, top, False, CRUISE_MPS)  # top of descent
    add(near_m, u_in, pattern, False, 60.0)
    add(roll_m + final_m, u_in, pattern, False, (60.0 + APPROACH_MPS) / 2)
    add(roll_m, u_in, site_elev_m, True, APPROACH_MPS)  # touchdown
    add(0.0, u_in, site_elev_m, True, 15.0)  # rolled out at the strip point
    t += ground_s
    pts.append((t, 0.0, 0.0, site_elev_m, True))
    climb_m = cruise_agl_m / np.tan(np.radians(climb_deg))
    add(300.0, u_out, site_elev_m, True, 15.0)  # lift-off after the take-off roll
    add(300.0 + climb_m, u_out, top, False, 42.0)
    add(300.0 + climb_m + far_m, u_out, top, False, CRUISE_MPS)
    return trajectory(pts, site_lat, site_lon, t0=t0)


def straight_track(*, lat0: float = -12.5, lon0: float = -73.8, heading_deg: float = 90.0, speed_mps: float = 70.0,
                   alt_m: float = 2_000.0, duration_s: float = 600.0, track_id: str = "T1", t0: float = T0,
                   scan_s: float = 10.0) -> pd.DataFrame:
    """A noiseless straight, level track in TRACK_COLUMNS."""
    u = _unit(heading_deg) * speed_mps * duration_s
    truth = trajectory([(0.0, 0.0, 0.0, alt_m, False), (duration_s, u[0], u[1], alt_m, False)], lat0, lon0,
                       t0=t0, step_s=scan_s)
    truth["track_id"] = track_id
    truth["sigma_pos_m"] = 0.0
    return conform(truth, TRACK_COLUMNS)[list(TRACK_COLUMNS)]


def _split_tracks(rows: pd.DataFrame, gap_s: float, prefix: str) -> pd.DataFrame:
    new = rows["t"].diff().fillna(np.inf) > gap_s
    rows = rows.copy()
    rows["track_id"] = [f"{prefix}{k}" for k in np.cumsum(new.to_numpy())]
    return rows


def radar_tracks(truth: pd.DataFrame, sensor: Sensor, terrain=None, *, noise_m: float = 40.0, seed: int = 0,
                 prefix: str = "P", phase_s: float = 0.0) -> pd.DataFrame:
    """What one primary radar's tracker would give of ``truth``: one update a scan while the aircraft is
    airborne, faster than 15 m/s and above the coverage floor; positions with ``noise_m`` error; a new
    track id after a gap of more than 2.5 scans. No altitude, no identity."""
    rng = np.random.default_rng(seed)
    scan = sensor.scan_s or 10.0
    sampled = truth[((truth["t"] - truth["t"].iloc[0] - phase_s) % scan) < 1e-6].copy()
    floor = visible_floor_m([sensor], terrain, sampled["lat"], sampled["lon"])
    seen = (~sampled["on_ground"]) & (sampled["speed_mps"] >= PSR_MIN_SPEED_MPS) & (sampled["alt_m"] >= floor)
    rows = sampled[seen.to_numpy()].copy()
    frame = LocalFrame(float(truth["lat"].iloc[0]), float(truth["lon"].iloc[0]))
    e, n, _ = frame.to_enu(rows["lat"], rows["lon"], 0.0)
    e, n = e + rng.normal(0, noise_m, len(rows)), n + rng.normal(0, noise_m, len(rows))
    rows["lat"], rows["lon"], _ = frame.to_geodetic(e, n, 0.0)
    rows["vn_mps"] += rng.normal(0, 2.0, len(rows))
    rows["ve_mps"] += rng.normal(0, 2.0, len(rows))
    rows["alt_m"] = np.nan
    rows["sigma_pos_m"] = noise_m
    rows["sensors"] = sensor.id
    rows = _split_tracks(rows, 2.5 * scan, prefix)
    return conform(rows, TRACK_COLUMNS)[list(TRACK_COLUMNS) + ["sensors"]].reset_index(drop=True)


def transponder_tracks(truth: pd.DataFrame, *, icao24: str, callsign: str | None = None, update_s: float = 5.0,
                       noise_m: float = 15.0, seed: int = 0, prefix: str = "A", sensor_id: str = "ADSB-1",
                       min_agl_m: float | None = None, ground_m: float = 0.0) -> pd.DataFrame:
    """What an ADS-B receiver's tracker would give of ``truth``: positions, altitude and identity while the
    transponder is on (a ``transponder`` column in ``truth``, default on) and, when ``min_agl_m`` is given,
    while the aircraft is at least that high above ``ground_m`` (the receiver's line of sight)."""
    rng = np.random.default_rng(seed)
    sampled = truth[((truth["t"] - truth["t"].iloc[0]) % update_s) < 1e-6].copy()
    on = sampled["transponder"] if "transponder" in sampled else pd.Series(True, index=sampled.index)
    keep = on.to_numpy(bool)
    if min_agl_m is not None:
        keep &= (sampled["alt_m"] - ground_m).to_numpy() >= min_agl_m
    rows = sampled[keep].copy()
    frame = LocalFrame(float(truth["lat"].iloc[0]), float(truth["lon"].iloc[0]))
    e, n, _ = frame.to_enu(rows["lat"], rows["lon"], 0.0)
    rows["lat"], rows["lon"], _ = frame.to_geodetic(e + rng.normal(0, noise_m, len(rows)),
                                                    n + rng.normal(0, noise_m, len(rows)), 0.0)
    rows["alt_m"] = np.round(rows["alt_m"] / 7.62) * 7.62  # 25 ft steps
    rows["sigma_pos_m"] = noise_m
    rows["icao24"], rows["callsign"], rows["sensors"] = icao24, callsign, sensor_id
    rows = _split_tracks(rows, 3.0 * update_s, prefix)
    return conform(rows, TRACK_COLUMNS)[list(TRACK_COLUMNS) + ["icao24", "callsign", "sensors"]].reset_index(
        drop=True)
