"""Coordinate frames in one place: WGS84 geodetic, ECEF, a local east-north-up (ENU) tangent plane, and
radar polar coordinates (azimuth, elevation, slant range). All functions are vectorised over NumPy arrays.

The ECEF conversions are pyproj's (EPSG:4979 → EPSG:4978); the ENU rotation is the standard one about the
frame's origin.

>>> f = LocalFrame(-12.5, -73.8)
>>> e, n, u = f.to_enu(-12.5, -73.79, 0.0)
>>> round(float(e)), round(float(n))
(1087, 0)
>>> lat, lon, alt = f.to_geodetic(e, n, u)
>>> round(float(lon), 6)
-73.79
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import Transformer

EARTH_RADIUS_M = 6_371_008.8  # mean radius, for great-circle distances
WGS84_A_M = 6_378_137.0
# Standard atmosphere bends radar rays: treat the earth as 4/3 larger so rays are straight lines.
REFRACTION_K = 4.0 / 3.0

ArrayLike = float | np.ndarray


@lru_cache(maxsize=2)
def _transformer(to_ecef: bool) -> Transformer:
    if to_ecef:
        return Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    return Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


def geodetic_to_ecef(lat: ArrayLike, lon: ArrayLike, alt_m: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 latitude, longitude (degrees) and ellipsoidal height (m) to ECEF x, y, z (m)."""
    x, y, z = _transformer(True).transform(np.asarray(lon, float), np.asarray(lat, float), np.asarray(alt_m, float))
    return np.asarray(x), np.asarray(y), np.asarray(z)


def ecef_to_geodetic(x: ArrayLike, y: ArrayLike, z: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECEF x, y, z (m) to WGS84 latitude, longitude (degrees) and height (m)."""
    lon, lat, alt = _transformer(False).transform(np.asarray(x, float), np.asarray(y, float), np.asarray(z, float))
    return np.asarray(lat), np.asarray(lon), np.asarray(alt)


class LocalFrame:
    """An east-north-up tangent plane at (lat0, lon0, alt0_m). Metres in, degrees out, and back."""

    def __init__(self, lat0: float, lon0: float, alt0_m: float = 0.0):
        self.lat0, self.lon0, self.alt0_m = float(lat0), float(lon0), float(alt0_m)
        self.origin = np.array(geodetic_to_ecef(lat0, lon0, alt0_m), dtype=float).reshape(3)
        phi, lam = np.radians(self.lat0), np.radians(self.lon0)
        # Rows are the east, north and up unit vectors in ECEF.
        self.rotation = np.array([
            [-np.sin(lam), np.cos(lam), 0.0],
            [-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)],
            [np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)],
        ])

    def to_enu(self, lat: ArrayLike, lon: ArrayLike, alt_m: ArrayLike = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Geodetic to east, north, up metres in this frame."""
        lat, lon, alt_m = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float), np.asarray(alt_m, float))
        xyz = np.stack(geodetic_to_ecef(lat, lon, alt_m), axis=-1) - self.origin
        enu = xyz @ self.rotation.T
        return enu[..., 0], enu[..., 1], enu[..., 2]

    def to_geodetic(self, e: ArrayLike, n: ArrayLike, u: ArrayLike = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """East, north, up metres in this frame to latitude, longitude (degrees) and height (m)."""
        e, n, u = np.broadcast_arrays(np.asarray(e, float), np.asarray(n, float), np.asarray(u, float))
        xyz = np.stack([e, n, u], axis=-1) @ self.rotation + self.origin
        return ecef_to_geodetic(xyz[..., 0], xyz[..., 1], xyz[..., 2])


def geodetic_to_aer(
    sensor_lat: float, sensor_lon: float, sensor_alt_m: float, lat: ArrayLike, lon: ArrayLike, alt_m: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth (deg clockwise from true north), geometric elevation (deg) and slant range (m) of targets
    as seen from a sensor. Refraction is not applied here; see :func:`refracted_elevation_deg`."""
    e, n, u = LocalFrame(sensor_lat, sensor_lon, sensor_alt_m).to_enu(lat, lon, alt_m)
    ground = np.hypot(e, n)
    az = np.degrees(np.arctan2(e, n)) % 360.0
    el = np.degrees(np.arctan2(u, ground))
    return az, el, np.sqrt(ground**2 + u**2)


def aer_to_geodetic(
    sensor_lat: float, sensor_lon: float, sensor_alt_m: float, az_deg: ArrayLike, el_deg: ArrayLike, range_m: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`geodetic_to_aer`."""
    az, el = np.radians(np.asarray(az_deg, float)), np.radians(np.asarray(el_deg, float))
    r = np.asarray(range_m, float)
    e, n, u = r * np.cos(el) * np.sin(az), r * np.cos(el) * np.cos(az), r * np.sin(el)
    return LocalFrame(sensor_lat, sensor_lon, sensor_alt_m).to_geodetic(e, n, u)


def elevation_4_3_earth_deg(ground_range_m: ArrayLike, height_diff_m: ArrayLike) -> np.ndarray:
    """Apparent elevation angle (deg) of a point ``height_diff_m`` above the sensor at ``ground_range_m``,
    with the earth's curvature reduced by the 4/3 standard-refraction model. A ray to a target is blocked
    by terrain when some intermediate point's apparent elevation is higher than the target's."""
    d = np.asarray(ground_range_m, float)
    h = np.asarray(height_diff_m, float)
    drop = d**2 / (2.0 * REFRACTION_K * WGS84_A_M)
    return np.degrees(np.arctan2(h - drop, d))


def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Great-circle distance (m) on a sphere of the earth's mean radius; good to ~0.5% everywhere."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def bearing_deg(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Initial great-circle bearing (deg clockwise from north) from point 1 to point 2."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    x = np.sin(dl) * np.cos(p2)
    y = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(x, y)) % 360.0


def destination(lat: ArrayLike, lon: ArrayLike, bearing: ArrayLike, distance_m: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The point ``distance_m`` along the great circle from (lat, lon) at initial ``bearing`` degrees."""
    p1, l1 = np.radians(lat), np.radians(lon)
    b, d = np.radians(bearing), np.asarray(distance_m, float) / EARTH_RADIUS_M
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0
