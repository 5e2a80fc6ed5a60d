"""Where an aircraft that vanished (or appeared) landed (or took off): extrapolation of the last seen motion,
back-projection of the first, their fusion, a terrain prior, and the uncertainty ellipse.

An estimate is a point and a 2x2 covariance in metres (east, north) in the tangent plane at that point.

Distance from the last plot to the strip, in order of preference:

1. **altitude** (transponder tracks with terrain below): time to reach the ground at the current vertical
   rate, times the speed, plus the landing roll;
2. **coverage floor** (primary-radar tracks, given the sensors and a terrain model): the aircraft vanished
   when it sank below the lowest altitude the radars see there; from that altitude down to a strip on the
   ground ahead takes a glide path of 3-7 degrees (plus the landing roll);
3. **kinematics** (nothing else known): the distance needed to slow from the last speed to touchdown speed at
   a light aircraft's approach deceleration, plus the landing roll.

>>> import numpy as np
>>> lat, lon, cov, d2 = fuse(-12.5, -73.8, np.diag([1e6, 1e4]), -12.5, -73.8, np.diag([1e4, 1e6]))
>>> [round(float(s)) for s in ellipse(cov)[:2]]
[100, 100]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela.detect.coverage import visible_floor_m
from centinela.geo.frames import LocalFrame, bearing_deg, destination, haversine_m

# --- aircraft performance (light single, Cessna 206 class; most general-aviation types are close) --------
TOUCHDOWN_MPS = 30.0  # ~1.15 x stall speed in landing configuration (C206: 54 kt stall)
LIFTOFF_MPS = 30.0
APPROACH_DECEL_MPS2 = 0.5  # cruise (70 m/s) to touchdown speed within the last ~1.5 min of flight
CLIMB_ACCEL_MPS2 = 0.3  # after lift-off, speed builds slowly while the aircraft climbs at Vy
BRAKE_DECEL_MPS2 = 1.8  # braking on a dirt strip (friction ~0.3 g at best, ~0.2 g typical)
TAKEOFF_ACCEL_MPS2 = 2.0  # full power ground roll, loaded (C206: ~250-300 m roll)
FINAL_TO_TOUCHDOWN = 0.9  # final approach at ~1.3 stall speed, touch-down at ~1.15
GLIDE_DEG = (3.0, 4.5, 7.0)  # low, typical, steep approach path into a valley strip
CLIMB_DEG = (3.0, 5.0, 8.0)  # loaded, hot and high ... light and cold climb gradient
# Heading change that goes unseen between the last plot and the strip: a base-to-final turn is up to
# ~90 degrees, but the last straight kilometres point at the strip; 8 degrees covers a dog-leg final.
SIGMA_HEADING_DEG = 8.0
SIGMA_ALONG_MIN_M = 150.0
# Below this height above the ground a transponder track is on its last approach or first climb: the strip
# is one ground roll (plus the half scan before it vanished) away.
LOW_AGL_M = 100.0
MAX_EXTRAPOLATION_M = 15_000.0
COVERAGE_SIGMA_FRACTION = 0.35
MISSED_SCAN_FRACTION = 0.5  # rms of where within a scan it vanished and of a missed last scan, in scans
SIGMA_CIRCLING_MIN_M = 1_000.0  # an orbit is ~0.5-1 km across; the strip is at least that uncertain
# A loaded light plane leaving a strip walled in by ridges climbs in orbits near it until it clears them: the
# first plots of a climbing orbit lie within an orbit or two (plus a short climb-out) of the strip, however far
# a straight climb to the coverage floor would have taken it. (An arriving orbit is no such guide: a plane may
# spiral down anywhere and fly the last kilometres low and unseen.)
SIGMA_CLIMBING_ORBIT_M = 1_500.0
# --- terrain prior ----------------------------------------------------------------------------------------
# A strip needs ~600 m of usable length; slope is measured over that baseline.
STRIP_HALF_LENGTH_M = 300.0
# Bush strips in the Andes reach 8-10% gradient; steeper ground cannot take a loaded light plane.
MAX_STRIP_SLOPE = 0.08
TERRAIN_GRID_N = 31  # cells a side of the search grid (+-3 sigma): ~3% of sigma resolution at 31


def _roll_m(speed_mps: float, decel_mps2: float) -> float:
    return speed_mps**2 / (2.0 * decel_mps2)


def landing_roll_m(speed_mps: float) -> float:
    """Ground roll from touch-down to rest of an aircraft last seen at ``speed_mps``."""
    return _roll_m(min(speed_mps, TOUCHDOWN_MPS), BRAKE_DECEL_MPS2)


def takeoff_roll_m(speed_mps: float) -> float:
    """Ground roll from rest to lift-off of an aircraft first seen at ``speed_mps``."""
    return _roll_m(min(speed_mps, LIFTOFF_MPS), TAKEOFF_ACCEL_MPS2)


def _solve_distance(h_start_m: float, lat: float, lon: float, bearing: float, angles_deg, level_m: float,
                    terrain) -> np.ndarray:
    """Distance along ``bearing`` from (lat, lon) to where a path that stays at ``h_start_m`` for ``level_m``
    (until the aircraft sank out of sight, half a scan on average) and then descends at each angle meets
    the ground. Without terrain the ground is level with the start point."""
    xs = np.arange(0.0, MAX_EXTRAPOLATION_M, 50.0)
    if terrain is not None:
        p_lat, p_lon = destination(np.full(xs.shape, lat), np.full(xs.shape, lon), np.full(xs.shape, bearing), xs)
        ground = np.asarray(terrain.elevation_m(p_lat, p_lon), float)
    else:
        ground = np.full(xs.shape, h_start_m)
    out = []
    for angle in angles_deg:
        height_on_path = h_start_m - np.maximum(xs - level_m, 0.0) * np.tan(np.radians(angle))
        hit = np.flatnonzero(height_on_path <= ground + 1.0)
        out.append(xs[hit[0]] if len(hit) else MAX_EXTRAPOLATION_M)
    return np.asarray(out, float)


def extrapolate(items: pd.DataFrame, *, arriving: bool, sensors=None, terrain=None) -> pd.DataFrame:
    """Site estimates for track ends (``arriving``: where it landed) or track starts (where it took off).

    ``items`` columns: lat, lon, speed_mps, heading_deg, accel_mps2, agl_m, vz_mps, alt_m, sigma_pos_m,
    scan_s. Returns site_lat, site_lon, cov_ee, cov_en, cov_nn, distance_m, unseen_s, method.
    """
    rows = []
    floors = np.full(len(items), np.nan)
    no_alt = ~np.isfinite(items["alt_m"].to_numpy(float))
    if sensors and terrain is not None and no_alt.any():
        floors[no_alt] = visible_floor_m(sensors, terrain, items["lat"].to_numpy(float)[no_alt],
                                         items["lon"].to_numpy(float)[no_alt], kinds=("psr",))
    for r, floor in zip(items.itertuples(index=False), floors):
        v = float(r.speed_mps) if np.isfinite(r.speed_mps) else 40.0
        scan_gap_m = 0.5 * float(r.scan_s) * v  # the aircraft vanished somewhere before the next scan
        if arriving:
            bearing = float(r.heading_deg)
            stop_speed, ground_roll = TOUCHDOWN_MPS, landing_roll_m(v)
            angles, accel_default = GLIDE_DEG, APPROACH_DECEL_MPS2
        else:
            bearing = (float(r.heading_deg) + 180.0) % 360.0
            stop_speed, ground_roll = LIFTOFF_MPS, takeoff_roll_m(v)
            angles, accel_default = CLIMB_DEG, CLIMB_ACCEL_MPS2
        # Vertical speed toward the ground in the direction we extrapolate (down on arrival; on departure,
        # going back in time, a climbing aircraft comes down to the strip).
        to_ground_mps = (-float(r.vz_mps) if arriving else float(r.vz_mps)) if np.isfinite(r.vz_mps) else np.nan
        if np.isfinite(r.agl_m) and np.isfinite(to_ground_mps) and to_ground_mps > 0.5:
            airborne_m = max(float(r.agl_m), 0.0) / to_ground_mps * max(v, stop_speed)
            x, sigma_along, method = airborne_m + ground_roll, 0.25 * airborne_m + SIGMA_ALONG_MIN_M, "altitude"
        elif np.isfinite(r.agl_m) and float(r.agl_m) < LOW_AGL_M:
            # On short final the speed is about the touch-down speed, whatever the type (airliners ~70 m/s).
            roll = _roll_m(FINAL_TO_TOUCHDOWN * v, BRAKE_DECEL_MPS2 if arriving else TAKEOFF_ACCEL_MPS2)
            x, sigma_along, method = roll + scan_gap_m, SIGMA_ALONG_MIN_M + scan_gap_m + 0.3 * roll, "altitude"
        elif np.isfinite(floor):
            xs = _solve_distance(floor, float(r.lat), float(r.lon), bearing, angles, scan_gap_m, terrain)
            # The shallow and steep paths bound ~90% of approaches: +-1.65 sigma.
            x = float(xs[1]) + ground_roll
            # Beyond the glide-angle spread: the floor itself is uncertain (terrain sampled every ~1 km,
            # ~50 m of height is ~600 m along a glide) on the airborne descent below it; the aircraft sank
            # out of sight anywhere within a scan (uniform: v * scan / sqrt(12)) and the radar may have
            # missed the last scan it could have seen (pd ~0.9: ~0.3 scans rms); together ~half a scan.
            gliding_m = max(float(xs[1]) - scan_gap_m, 0.0)
            sigma_along = (abs(float(xs[0]) - float(xs[2])) / 3.3 + COVERAGE_SIGMA_FRACTION * gliding_m
                           + MISSED_SCAN_FRACTION * float(r.scan_s) * v + SIGMA_ALONG_MIN_M)
            method = "coverage"
        else:
            a = float(r.accel_mps2) if np.isfinite(r.accel_mps2) else 0.0
            a = -a if arriving else a  # deceleration on arrival, acceleration on departure, as positive
            a = float(np.clip(a, accel_default, 1.5)) if a > accel_default else accel_default
            airborne_m = max(v**2 - stop_speed**2, 0.0) / (2.0 * a)
            x = scan_gap_m + airborne_m + ground_roll
            # Where the aircraft really sank out of sight is unknown: the distance is uncertain by as much.
            sigma_along = 0.8 * (airborne_m + scan_gap_m) + SIGMA_ALONG_MIN_M
            method = "kinematics"
        x = float(min(x, MAX_EXTRAPOLATION_M))
        sigma_cross = float(np.hypot(SIGMA_ALONG_MIN_M, x * np.sin(np.radians(SIGMA_HEADING_DEG))))
        sigma_pos = float(r.sigma_pos_m) if np.isfinite(r.sigma_pos_m) else 0.0
        # The unseen flying takes as long whether it was straight or in orbits.
        unseen_s = x / max(0.5 * (v + stop_speed), 10.0)
        if getattr(r, "circling", False):
            # An orbit to lose or gain height: no heading to follow. The strip is somewhere around the orbit:
            # about as far as the estimated path on arrival, near it on departure.
            radius = max(x, SIGMA_CIRCLING_MIN_M) if arriving else SIGMA_CLIMBING_ORBIT_M
            x = min(x, radius)
            cov = _rotated_cov(0.0, np.hypot(radius, sigma_pos), np.hypot(radius, sigma_pos))
            s_lat, s_lon, method = float(r.window_lat), float(r.window_lon), method + ", circling"
        else:
            cov = _rotated_cov(bearing, np.hypot(sigma_along, sigma_pos), np.hypot(sigma_cross, sigma_pos))
            s_lat, s_lon = destination(float(r.lat), float(r.lon), bearing, x)
        rows.append((float(s_lat), float(s_lon), cov[0, 0], cov[0, 1], cov[1, 1], x, unseen_s, method))
    return pd.DataFrame(rows, columns=["site_lat", "site_lon", "cov_ee", "cov_en", "cov_nn", "distance_m",
                                       "unseen_s", "method"], index=items.index)


def _rotated_cov(bearing_deg: float, sigma_along_m: float, sigma_cross_m: float) -> np.ndarray:
    """Covariance (east, north) of an error ellipse whose long axis points along ``bearing_deg``."""
    b = np.radians(bearing_deg)
    along, cross = np.array([np.sin(b), np.cos(b)]), np.array([np.cos(b), -np.sin(b)])
    return sigma_along_m**2 * np.outer(along, along) + sigma_cross_m**2 * np.outer(cross, cross)


def fuse(lat_a: float, lon_a: float, cov_a: np.ndarray, lat_b: float, lon_b: float, cov_b: np.ndarray
         ) -> tuple[float, float, np.ndarray, float]:
    """Inverse-covariance fusion of two site estimates: (lat, lon, cov, d2) where d2 is the squared
    Mahalanobis distance between them (chi-square, 2 degrees of freedom, when they are the same site)."""
    frame = LocalFrame(lat_a, lon_a)
    e_b, n_b, _ = frame.to_enu(lat_b, lon_b, 0.0)
    mu_b = np.array([float(e_b), float(n_b)])
    info_a, info_b = np.linalg.inv(cov_a), np.linalg.inv(cov_b)
    cov = np.linalg.inv(info_a + info_b)
    mu = cov @ (info_b @ mu_b)
    d2 = float(mu_b @ np.linalg.solve(cov_a + cov_b, mu_b))
    lat, lon, _ = frame.to_geodetic(mu[0], mu[1], 0.0)
    return float(lat), float(lon), cov, d2


def fuse_many(lat_a: np.ndarray, lon_a: np.ndarray, cov_a: np.ndarray, lat_b: np.ndarray, lon_b: np.ndarray,
              cov_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`fuse` for K pairs at once (covariances shaped (K, 2, 2)); offsets between the two estimates
    are taken on the great circle, which is exact enough at the tens of km where fusing makes sense."""
    d = haversine_m(lat_a, lon_a, lat_b, lon_b)
    b = np.radians(bearing_deg(lat_a, lon_a, lat_b, lon_b))
    mu_b = np.stack([d * np.sin(b), d * np.cos(b)], axis=-1)[..., None]  # (K, 2, 1) east, north
    info_a, info_b = np.linalg.inv(cov_a), np.linalg.inv(cov_b)
    cov = np.linalg.inv(info_a + info_b)
    mu = (cov @ (info_b @ mu_b))[..., 0]
    d2 = (mu_b[..., 0] * np.linalg.solve(cov_a + cov_b, mu_b)[..., 0]).sum(axis=-1)
    lat, lon = destination(lat_a, lon_a, np.degrees(np.arctan2(mu[:, 0], mu[:, 1])) % 360.0, np.hypot(mu[:, 0], mu[:, 1]))
    return np.asarray(lat, float), np.asarray(lon, float), cov, d2


def refine_with_terrain(lat: float, lon: float, cov: np.ndarray, terrain
                        ) -> tuple[float, float, np.ndarray, float]:
    """Multiply the Gaussian estimate by a prior that a strip lies on ground flat enough to land on, and
    return the posterior mean and covariance, and how likely the estimate is to hold landable ground at all
    (the prior's mean under the Gaussian, 0..1). Without terrain nothing changes (landable 1); where no cell
    is flat the estimate is kept as it is."""
    if terrain is None:
        return lat, lon, cov, 1.0
    values, vectors = np.linalg.eigh(cov)
    sigmas = np.sqrt(np.maximum(values, 1.0))
    u = np.linspace(-3.0, 3.0, TERRAIN_GRID_N)
    a, b = np.meshgrid(u, u)
    offsets = (np.stack([a.ravel() * sigmas[0], b.ravel() * sigmas[1]], axis=1)) @ vectors.T
    frame = LocalFrame(lat, lon)
    e, n = offsets[:, 0], offsets[:, 1]
    h = STRIP_HALF_LENGTH_M
    es = np.concatenate([e, e + h, e - h, e, e])
    ns = np.concatenate([n, n, n, n + h, n - h])
    g_lat, g_lon, _ = frame.to_geodetic(es, ns, 0.0)
    z = np.asarray(terrain.elevation_m(g_lat, g_lon), float).reshape(5, -1)
    slope = np.hypot(z[1] - z[2], z[3] - z[4]) / (2.0 * h)
    flat = 1.0 / (1.0 + (slope / MAX_STRIP_SLOPE) ** 4)
    gauss = np.exp(-0.5 * (a.ravel() ** 2 + b.ravel() ** 2))
    landable = float(np.sum(gauss * flat) / np.sum(gauss))
    if flat.max() < 0.5:
        return lat, lon, cov, landable
    weights = gauss * flat
    weights /= weights.sum()
    mean = weights @ offsets
    centred = offsets - mean
    post = (centred * weights[:, None]).T @ centred
    # The grid cannot resolve below its spacing; keep at least that much uncertainty.
    spacing = 6.0 * sigmas / (TERRAIN_GRID_N - 1)
    post = post + np.diag(np.full(2, (spacing.min() / 2) ** 2))
    new_lat, new_lon, _ = frame.to_geodetic(mean[0], mean[1], 0.0)
    return float(new_lat), float(new_lon), post, landable


def ellipse(cov: np.ndarray) -> tuple[float, float, float]:
    """(sigma_major_m, sigma_minor_m, orientation_deg) of a 2x2 (east, north) covariance; the orientation
    is the major axis's bearing, degrees clockwise from north in [0, 180)."""
    values, vectors = np.linalg.eigh(np.asarray(cov, float))
    major = vectors[:, 1]
    orientation = float(np.degrees(np.arctan2(major[0], major[1])) % 180.0)
    return float(np.sqrt(max(values[1], 0.0))), float(np.sqrt(max(values[0], 0.0))), orientation
