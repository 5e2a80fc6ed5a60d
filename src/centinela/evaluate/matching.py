"""One-to-one matching of output points to true points inside a distance gate and, optionally, a time gate.

Pairs are candidates when they are within ``radius_m`` (great-circle distance,
:func:`centinela.geo.frames.haversine_m`) and, when times are given, within ``window_s``. Among candidates the matching is optimal: it has the largest number of pairs
and, among those, the smallest sum of normalised offsets ``distance / radius_m + |dt| / window_s``. It is
solved with the Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`) on each connected group
of candidates, so a day of events costs no more than its crowded places.

>>> m = match_points([-12.50, -12.60], [-73.80, -73.80], [-12.501, -12.70], [-73.80, -73.80], radius_m=2000.0)
>>> m.true_index.tolist(), m.output_index.tolist(), m.distance_m.round().tolist()
([0], [0], [111.0])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from centinela.geo.frames import ArrayLike, geodetic_to_ecef, haversine_m


@dataclass(frozen=True)
class Matches:
    """Matched pairs: index into the true points, index into the outputs, their distance and time offset
    (output minus truth; 0 when no times were given)."""

    true_index: np.ndarray
    output_index: np.ndarray
    distance_m: np.ndarray
    dt_s: np.ndarray

    def __len__(self) -> int:
        return len(self.true_index)


def _empty() -> Matches:
    none = np.empty(0, dtype=np.int64)
    return Matches(none, none.copy(), np.empty(0), np.empty(0))


def match_points(
    true_lat: ArrayLike,
    true_lon: ArrayLike,
    output_lat: ArrayLike,
    output_lon: ArrayLike,
    radius_m: float,
    true_t_s: ArrayLike | None = None,
    output_t_s: ArrayLike | None = None,
    window_s: float | None = None,
) -> Matches:
    """Optimal one-to-one matching of outputs to truth inside the gates (see the module docstring).

    Positions are WGS84 degrees; times (optional, with ``window_s``) epoch seconds. Points with a missing
    coordinate or time match nothing.
    """
    true_lat, true_lon = np.asarray(true_lat, float).ravel(), np.asarray(true_lon, float).ravel()
    out_lat, out_lon = np.asarray(output_lat, float).ravel(), np.asarray(output_lon, float).ravel()
    timed = window_s is not None
    true_t = np.asarray(true_t_s, float).ravel() if timed else np.zeros(len(true_lat))
    out_t = np.asarray(output_t_s, float).ravel() if timed else np.zeros(len(out_lat))
    true_idx = np.flatnonzero(np.isfinite(true_lat) & np.isfinite(true_lon) & np.isfinite(true_t))
    out_idx = np.flatnonzero(np.isfinite(out_lat) & np.isfinite(out_lon) & np.isfinite(out_t))
    if len(true_idx) == 0 or len(out_idx) == 0:
        return _empty()

    # Candidates from a KD-tree over earth-centred x, y, z and scaled time. Time is scaled so that the time
    # gate spans the distance gate's length: a pair inside both gates is within radius·√2 in these
    # coordinates, give or take the <0.5% by which the ellipsoid's chords and the sphere's arcs of
    # haversine_m differ (hence the 1% margin). The exact gates are applied afterwards.
    speed_mps = radius_m / window_s if timed else 0.0

    def coordinates(idx: np.ndarray, lat: np.ndarray, lon: np.ndarray, t: np.ndarray) -> np.ndarray:
        x, y, z = geodetic_to_ecef(lat[idx], lon[idx], np.zeros(len(idx)))
        return np.column_stack([x, y, z, (t[idx] - t_ref) * speed_mps])

    t_ref = float(np.min(true_t[true_idx]))
    a = coordinates(true_idx, true_lat, true_lon, true_t)
    b = coordinates(out_idx, out_lat, out_lon, out_t)
    reach_m = radius_m * np.sqrt(2.0) * 1.01
    pairs = cKDTree(a).sparse_distance_matrix(cKDTree(b), reach_m, output_type="ndarray")
    i, j = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
    ti, tj = true_idx[i], out_idx[j]
    dist = haversine_m(true_lat[ti], true_lon[ti], out_lat[tj], out_lon[tj])
    dt = out_t[tj] - true_t[ti]
    keep = dist <= radius_m
    if timed:
        keep &= np.abs(dt) <= window_s
    i, j, dist, dt = i[keep], j[keep], dist[keep], dt[keep]
    if len(i) == 0:
        return _empty()
    cost = dist / radius_m + (np.abs(dt) / window_s if timed else 0.0)

    # Connected groups of candidates are independent assignment problems.
    n_a, n_b = len(a), len(b)
    graph = coo_matrix((np.ones(len(i)), (i, n_a + j)), shape=(n_a + n_b, n_a + n_b))
    _, label = connected_components(graph, directed=False)
    group = label[i]
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    chosen: list[np.ndarray] = []
    for members in np.split(order, bounds):
        if len(members) == 1:
            chosen.append(members)
            continue
        rows, row_of = np.unique(i[members], return_inverse=True)
        cols, col_of = np.unique(j[members], return_inverse=True)
        # Forbidden pairs cost more than any full set of allowed ones (each allowed pair costs ≤ 2), so the
        # assignment first maximises the number of allowed pairs, then minimises their offsets.
        forbidden = 2.0 * min(len(rows), len(cols)) + 1.0
        matrix = np.full((len(rows), len(cols)), forbidden)
        matrix[row_of, col_of] = cost[members]
        lookup = np.full((len(rows), len(cols)), -1, dtype=np.int64)
        lookup[row_of, col_of] = members
        r, c = linear_sum_assignment(matrix)
        picked = lookup[r, c]
        chosen.append(picked[picked >= 0])
    sel = np.concatenate(chosen)
    sel = sel[np.argsort(i[sel], kind="stable")]
    return Matches(true_idx[i[sel]], out_idx[j[sel]], dist[sel], dt[sel])
