"""Flight linking: which track, ended earlier, a newly confirmed track continues.

A light aircraft that lands on a strip disappears from the primary radar (it no longer moves, and the
valley hides it); when it takes off again a new track starts near the same place. A helicopter that hovers
does the same. A plane that crosses a hole in the radar cover reappears further along its way. Both
continuations are one *flight*, kept as separate tracks with the gap visible, and share a ``flight_id``.

A candidate old track qualifies when the gap is short enough and the new track starts either

- near where the old one was last measured (``stop``: it stopped, landed or hovered), or
- near where the old one would be by dead reckoning (``flight``: it flew on unseen through a hole in the
  cover; the allowed miss grows with the distance flown) at about the old one's speed (a light plane taking
  off where an airliner's dead reckoning points is not the airliner),

and the two tracks' identities (Mode S address, callsign) do not conflict; the same Mode S address links
regardless of place. The cost of a pair is its distance over the allowed distance; new tracks and old ones are
matched one-to-one at least total cost.

>>> old = LinkEnds(t_s=np.array([0.0]), xy_m=np.array([[0.0, 0.0]]), v_mps=np.array([[40.0, 0.0]]),
...                icao24=np.array([None], object), callsign=np.array([None], object))
>>> new = LinkEnds(t_s=np.array([600.0, 600.0]), xy_m=np.array([[1500.0, 800.0], [90_000.0, 0.0]]),
...                v_mps=np.zeros((2, 2)), icao24=np.array([None, None], object),
...                callsign=np.array([None, None], object))
>>> link_cost(old, new, max_gap_s=1800.0, radius_m=5000.0, dead_reckoning_miss_m=2000.0,
...           speed_fraction=0.2)[0].round(2).tolist()
[0.34, inf]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from centinela.geo.frames import haversine_m

# No aircraft in this airspace flies faster over the ground than this (an airliner at Mach 0.85 with a 100 kt
# tailwind is ~300 m/s): two tracks further apart than it could fly in their gap are two aircraft.
MAX_GROUND_SPEED_MPS = 350.0
# Positions at a track's ends may be off by a few kilometres (a track's first plots, a radar's range bias).
LINK_POSITION_SLACK_M = 10_000.0
# A new track's first velocity comes from a handful of plots: its speed may be off by a few tens of m/s (the
# tracker's confirmation after 3-4 scans of range and azimuth noise). A continuation through a hole in the cover
# must fly on at the old speed within this plus ``speed_fraction`` of it.
LINK_SPEED_SLACK_MPS = 40.0


@dataclass
class LinkEnds:
    """One end of each of several tracks: time, position and velocity in the tracker's plane, identity."""

    t_s: np.ndarray  # (n,)
    xy_m: np.ndarray  # (n, 2)
    v_mps: np.ndarray  # (n, 2)
    icao24: np.ndarray  # (n,) object, None when unknown
    callsign: np.ndarray  # (n,) object, None when unknown


def _differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where both identities are known and differ (element by element, broadcast)."""
    return pd.notna(a) & pd.notna(b) & (a != b)


def _conflict(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) :func:`_differ` of every pair."""
    return _differ(a[:, None], b[None, :])


def _reachable(distance_m: np.ndarray, gap_s: np.ndarray) -> np.ndarray:
    """Whether one aircraft could have covered ``distance_m`` in ``gap_s`` (:data:`MAX_GROUND_SPEED_MPS`, with
    :data:`LINK_POSITION_SLACK_M` for the ends' position errors)."""
    return distance_m <= MAX_GROUND_SPEED_MPS * np.maximum(gap_s, 0.0) + LINK_POSITION_SLACK_M


def link_cost(
    old_last: LinkEnds, new_first: LinkEnds, *, max_gap_s: float, radius_m: float, dead_reckoning_miss_m: float,
    speed_fraction: float,
) -> np.ndarray:
    """(n_old, n_new) cost of each continuation; ``inf`` where it is not plausible."""
    gap = new_first.t_s[None, :] - old_last.t_s[:, None]
    delta = new_first.xy_m[None, :, :] - old_last.xy_m[:, None, :]
    stop_cost = np.hypot(delta[..., 0], delta[..., 1]) / radius_m
    dead_reckoned = old_last.xy_m[:, None, :] + old_last.v_mps[:, None, :] * gap[..., None]
    miss = np.hypot(*(new_first.xy_m[None, :, :] - dead_reckoned).transpose(2, 0, 1))
    old_speed = np.hypot(old_last.v_mps[:, 0], old_last.v_mps[:, 1])[:, None]
    new_speed = np.hypot(new_first.v_mps[:, 0], new_first.v_mps[:, 1])[None, :]
    flight_cost = miss / (dead_reckoning_miss_m + speed_fraction * old_speed * gap)
    same_speed = np.abs(new_speed - old_speed) <= LINK_SPEED_SLACK_MPS + speed_fraction * old_speed
    flight_cost = np.where(same_speed, flight_cost, np.inf)
    cost = np.minimum(stop_cost, flight_cost)
    same_address = (old_last.icao24[:, None] == new_first.icao24[None, :]) & ~_conflict(old_last.icao24, new_first.icao24)
    same_address &= pd.notna(old_last.icao24)[:, None]
    # ... unless no aircraft could have flown that far in the gap: a garbled or reused address.
    same_address &= _reachable(np.hypot(delta[..., 0], delta[..., 1]), gap)
    cost = np.where(same_address, 0.0, cost)
    plausible = (gap >= 0.0) & (gap <= max_gap_s) & (cost <= 1.0)
    plausible &= ~_conflict(old_last.icao24, new_first.icao24) & ~_conflict(old_last.callsign, new_first.callsign)
    return np.where(plausible, cost, np.inf)


def match_links(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one (old, new) links of least total cost among the finite entries of ``cost``."""
    if cost.size == 0 or not np.isfinite(cost).any():
        return np.empty(0, np.intp), np.empty(0, np.intp)
    big = 1e6  # stands in for inf; any finite cost is ≤ 1
    rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, big))
    ok = np.isfinite(cost[rows, cols])
    return rows[ok], cols[ok]


def flight_numbers(
    track_no: np.ndarray, first_t: np.ndarray, last_t: np.ndarray, icao24: np.ndarray,
    links: list[tuple[int, int]], *, max_gap_s: float, callsign: np.ndarray | None = None,
    first_latlon: np.ndarray | None = None, last_latlon: np.ndarray | None = None,
) -> np.ndarray:
    """The flight of each track: tracks joined by a link, or by the same Mode S address with a gap of at most
    ``max_gap_s`` between one's end and the next's start, form one flight, numbered by its first track.

    Two tracks with the same address are still two flights when their callsigns differ (an airframe's next leg
    after a quick turn-round) or, given the tracks' ``first_latlon`` / ``last_latlon`` ((n, 2) degrees), when no
    aircraft could have flown from one's end to the next's start in the gap (:data:`MAX_GROUND_SPEED_MPS`): a
    garbled or reused address, not one aircraft.

    >>> flight_numbers(np.array([1, 2, 3, 4]), np.array([0.0, 100.0, 5000.0, 20.0]),
    ...                np.array([50.0, 200.0, 6000.0, 90.0]), np.array(["a", "a", "a", None], object),
    ...                [(2, 4)], max_gap_s=1800.0).tolist()
    [1, 1, 3, 1]
    >>> far = np.array([[-12.0, -74.0], [-14.5, -74.0]])   # 278 km apart, 100 s later: two aircraft
    >>> flight_numbers(np.array([1, 2]), np.array([0.0, 150.0]), np.array([50.0, 200.0]),
    ...                np.array(["a", "a"], object), [], max_gap_s=1800.0, first_latlon=far, last_latlon=far).tolist()
    [1, 2]
    """
    n = len(track_no)
    if n == 0:
        return np.empty(0, np.int64)
    position = pd.Series(np.arange(n), index=track_no)
    edges = [np.asarray(links, dtype=np.int64).reshape(-1, 2)]
    known = np.flatnonzero(pd.notna(icao24))
    if len(known) > 1:
        order = known[np.lexsort((first_t[known], icao24[known].astype(str)))]
        same = icao24[order[1:]] == icao24[order[:-1]]
        gap = first_t[order[1:]] - last_t[order[:-1]]
        chain = same & (gap <= max_gap_s)
        if callsign is not None:
            chain &= ~_differ(callsign[order[1:]], callsign[order[:-1]])
        if first_latlon is not None and last_latlon is not None:
            a, b = last_latlon[order[:-1]], first_latlon[order[1:]]
            chain &= _reachable(haversine_m(a[:, 0], a[:, 1], b[:, 0], b[:, 1]), gap)
        edges.append(np.stack([track_no[order[:-1]][chain], track_no[order[1:]][chain]], axis=1))
    pairs = np.concatenate(edges)
    pairs = pairs[np.isin(pairs, track_no).all(axis=1)]
    a = position.reindex(pairs[:, 0]).to_numpy()
    b = position.reindex(pairs[:, 1]).to_numpy()
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    first_of = pd.Series(track_no).groupby(component).transform("min")
    return first_of.to_numpy(np.int64)
