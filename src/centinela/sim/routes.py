"""Routes that follow the terrain: the way a pilot flies into and out of a valley strip.

A low approach to a valley strip follows the valley floor, not a straight line over the ridges. We find the
valley from the terrain alone (so it works on a real DEM too): from the strip, the two directions in which
the ground stays lowest are the valley's axis; :func:`valley_walk` then follows the floor step by step,
each step choosing, within a bank-sized turn, the heading whose ground ahead is lowest.

>>> from centinela.geo.terrain import SyntheticVraemTerrain
>>> t = SyntheticVraemTerrain()
>>> valley_axis_deg(t, -12.28, -73.96)     # where the Ene begins: down it (NW), or up the Vizcatan (S)
(325.0, 180.0)
>>> h1 = 325.0
>>> lat, lon = valley_walk(t, -12.28, -73.96, h1, 20_000.0)
>>> bool(t.elevation_m(lat, lon).max() < 1_000)      # 20 km along the floor, never over the walls
True
"""
from __future__ import annotations

import numpy as np

from centinela.geo.frames import destination
from centinela.geo.terrain import Terrain

# Steps of the walk, m, and how far ahead each step looks at the ground, m.
WALK_STEP_M = 500.0
WALK_LOOKAHEAD_M = 1_500.0
# Largest heading change per step: a 30-degree bank turn at 70 m/s changes heading ~15 deg/s, so 35 degrees
# in a 500 m (7 s) step is comfortably flyable.
WALK_MAX_TURN_DEG = 35.0
# Cost of turning, in metres of terrain per degree: prefer straight when the floor is level.
WALK_TURN_COST_M_PER_DEG = 2.0
# The valley axis: the two low directions must differ by at least this much.
AXIS_MIN_SEPARATION_DEG = 120.0


def valley_axis_deg(terrain: Terrain, lat: float, lon: float) -> tuple[float, float]:
    """The two headings (degrees) from (lat, lon) along which the ground stays lowest over 1-3 km."""
    headings = np.arange(0.0, 360.0, 5.0)
    cost = np.zeros(headings.size)
    for distance_m in (1_000.0, 2_000.0, 3_000.0):
        plat, plon = destination(lat, lon, headings, distance_m)
        cost += terrain.elevation_m(plat, plon)
    best = int(np.argmin(cost))
    apart = np.abs((headings - headings[best] + 180.0) % 360.0 - 180.0) >= AXIS_MIN_SEPARATION_DEG
    second = int(np.flatnonzero(apart)[np.argmin(cost[apart])])
    return float(headings[best]), float(headings[second])


def valley_walk(terrain: Terrain, lat: float, lon: float, heading_deg: float, length_m: float,
                step_m: float = WALK_STEP_M) -> tuple[np.ndarray, np.ndarray]:
    """Follow the valley floor from (lat, lon), starting on ``heading_deg``, for ``length_m``. Returns the
    points (including the start), ``step_m`` apart."""
    offsets = np.arange(-WALK_MAX_TURN_DEG, WALK_MAX_TURN_DEG + 1e-9, 5.0)
    lats, lons = [float(lat)], [float(lon)]
    heading = float(heading_deg)
    for _ in range(int(np.ceil(length_m / step_m))):
        candidates = heading + offsets
        near_lat, near_lon = destination(lats[-1], lons[-1], candidates, step_m)
        far_lat, far_lon = destination(lats[-1], lons[-1], candidates, WALK_LOOKAHEAD_M)
        cost = (terrain.elevation_m(near_lat, near_lon) + terrain.elevation_m(far_lat, far_lon)
                + WALK_TURN_COST_M_PER_DEG * np.abs(offsets))
        k = int(np.argmin(cost))
        heading = float(candidates[k]) % 360.0
        lats.append(float(near_lat[k]))
        lons.append(float(near_lon[k]))
    return np.array(lats), np.array(lons)
