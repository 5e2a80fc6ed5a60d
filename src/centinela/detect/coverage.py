"""Radar coverage floor: the lowest altitude at which a sensor sees a point, given the terrain between them.

A ray from the radar is blocked by any ridge whose apparent elevation angle (4/3-earth refraction model) is
higher than the target's, and nothing below the sensor's ``mask_deg`` is seen. The floor at a point is
therefore the altitude whose apparent elevation equals the highest terrain (or mask) angle on the way.

>>> from centinela.model import Sensor
>>> radar = Sensor("PSR-1", "psr", -12.5, -73.8, 2000.0, range_max_m=150_000.0)
>>> floor = visible_floor_m([radar], None, [-12.5], [-73.3])   # flat sea-level earth, ~54 km away
>>> 100 < float(floor[0]) < 2200
True
"""
from __future__ import annotations

import numpy as np

from centinela.geo.frames import (
    REFRACTION_K,
    WGS84_A_M,
    bearing_deg,
    destination,
    elevation_4_3_earth_deg,
    haversine_m,
)

# Terrain samples along each sensor-to-point ray: one every 500 m (at least 60), half a DEM cell of the
# synthetic model and finer than VRAEM ridges (5-15 km apart), so no masking ridge slips between samples.
RAY_SPACING_M = 500.0
MIN_RAY_SAMPLES = 60
RADAR_KINDS = ("psr", "ssr")


def visible_floor_m(sensors, terrain, lat, lon, kinds: tuple[str, ...] = RADAR_KINDS) -> np.ndarray:
    """Lowest altitude (m above sea level) at which any sensor of ``kinds`` sees each point; +inf where
    none does (out of range). Without terrain the earth is a smooth sphere at sea level."""
    lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
    best = np.full(lat.shape, np.inf)
    for sensor in sensors or []:
        if sensor.kind not in kinds:
            continue
        ground_range = haversine_m(sensor.lat, sensor.lon, lat, lon)
        bearing = bearing_deg(sensor.lat, sensor.lon, lat, lon)
        n = max(MIN_RAY_SAMPLES, int(np.ceil(np.max(ground_range, initial=0.0) / RAY_SPACING_M)))
        fractions = (np.arange(1, n) / n)[None, :]
        d = ground_range[:, None] * fractions
        if terrain is not None:
            s_lat, s_lon = destination(np.full(d.shape, sensor.lat), np.full(d.shape, sensor.lon),
                                       np.broadcast_to(bearing[:, None], d.shape), d)
            h = np.asarray(terrain.elevation_m(s_lat.ravel(), s_lon.ravel()), float).reshape(d.shape)
            ground_here = np.asarray(terrain.elevation_m(lat, lon), float).reshape(lat.shape)
        else:
            h = np.zeros(d.shape)
            ground_here = np.zeros(lat.shape)
        blocking_deg = np.max(elevation_4_3_earth_deg(d, h - sensor.alt_m), axis=1, initial=-90.0)
        floor_deg = np.maximum(blocking_deg, sensor.mask_deg or 0.0)
        # Invert elevation_4_3_earth_deg: height difference that appears at floor_deg from this range.
        floor_m = sensor.alt_m + ground_range * np.tan(np.radians(floor_deg)) + ground_range**2 / (
            2.0 * REFRACTION_K * WGS84_A_M)
        floor_m = np.maximum(floor_m, ground_here)
        in_range = ground_range <= (sensor.range_max_m or np.inf)
        best = np.where(in_range, np.minimum(best, floor_m), best)
    return best
