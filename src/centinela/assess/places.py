"""Places the indicators measure distances to: military bases and registered airfields, and a nearest-place
lookup over them.

The base list is ``centinela/data/military_bases.csv`` (documented in its header lines): public locations of
army and air-force bases in the VRAEM. Army helicopters fly between them
with no flight plan and often no transponder (DESIGN.md), so a flight that starts or ends at one is the main
legitimate explanation of a dark flight into the valley.

>>> bases = military_bases()
>>> {"name", "lat", "lon"} <= set(bases.columns) and len(bases) >= 5
True
>>> d = nearest_distance_m([-12.0], [-74.0], [-12.0, -13.0], [-74.01, -74.0])
>>> round(float(d[0]))
1088
"""
from __future__ import annotations

import io
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from centinela.geo.frames import EARTH_RADIUS_M

BASES_FILE = "military_bases.csv"


@lru_cache(maxsize=1)
def _bases_text() -> str:
    return resources.files("centinela").joinpath("data", BASES_FILE).read_text(encoding="utf-8")


def military_bases() -> pd.DataFrame:
    """The packaged military bases: ``name``, ``lat``, ``lon``."""
    return pd.read_csv(io.StringIO(_bases_text()), comment="#", skipinitialspace=True)


def nearest_distance_m(lat, lon, ref_lat, ref_lon) -> np.ndarray:
    """Great-circle distance (m) from each point to the nearest reference point (+inf without references)."""
    return nearest_place(lat, lon, ref_lat, ref_lon)[0]


def nearest_place(lat, lon, ref_lat, ref_lon) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) to, and index of, the nearest reference point for each point (index −1 when none).

    A haversine ball tree (scikit-learn) answers in O(log n) a query, so a day of track updates against a
    few hundred places stays fast.
    """
    from sklearn.neighbors import BallTree

    lat, lon = np.atleast_1d(np.asarray(lat, float)), np.atleast_1d(np.asarray(lon, float))
    ref = np.column_stack([np.asarray(ref_lat, float).ravel(), np.asarray(ref_lon, float).ravel()])
    ref_index = np.flatnonzero(np.isfinite(ref).all(axis=1))
    ref = ref[ref_index]
    dist = np.full(lat.shape, np.inf)
    index = np.full(lat.shape, -1, dtype=np.int64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if len(ref) == 0 or not ok.any():
        return dist, index
    tree = BallTree(np.radians(ref), metric="haversine")
    d, i = tree.query(np.radians(np.column_stack([lat[ok], lon[ok]])), k=1)
    dist[ok], index[ok] = d[:, 0] * EARTH_RADIUS_M, ref_index[i[:, 0]]
    return dist, index
