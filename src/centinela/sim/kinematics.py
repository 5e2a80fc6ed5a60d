"""Flying a planned route: coordinated turns, speed, climb and descent limits, terrain clearance, ground
rolls, hovers and ground stops, sampled every second.

A :class:`Plan` is a list of segments — :class:`Leg` (from one site to the next through waypoints, with an
optional hover before a helicopter lands) and :class:`Stop` (on the ground) — flown by one aircraft of a given
:class:`Performance`. :func:`fly` turns it into a :class:`Trajectory` of 1 s states.

How a leg is flown (all vectorised over the path samples):

- the waypoint polyline is filleted with circular arcs of radius v² / (g·tan(bank)) — a coordinated turn
  at the bank limit — in an azimuthal-equidistant plane centred on the region (pyproj);
- speed is the least of cruise speed, the take-off acceleration from rest, the deceleration to the
  approach speed and to rest at the end (constant accelerations);
- altitude is the least of the cruise altitude and the climb and descent cones from both ends, raised to
  the terrain clearance ahead, then rate-limited in both directions (climb early enough for the ridge ahead,
  descend no steeper than the descent rate after it). Where the cones cannot meet the terrain clearance —
  a strip deep in a valley — a fixed-wing aircraft flies climbing or descending orbits, a helicopter climbs
  or descends vertically.

>>> from centinela.geo.terrain import SyntheticVraemTerrain
>>> perf = Performance(cruise_mps=70, approach_mps=35, rotate_mps=28, climb_mps=4, descent_mps=6,
...                    bank_deg=30, accel_mps2=1.5, vtol=False)
>>> leg = Leg(waypoints=np.array([[-13.0, -66.0], [-13.2, -66.5]]), clearance_m=500.0)
>>> tr = fly(Plan([Stop(60.0), leg, Stop(60.0)], perf), SyntheticVraemTerrain())
>>> round(float(tr.gs_mps.max())), bool(tr.on_ground[0] and tr.on_ground[-1]), len(tr.takeoffs), len(tr.landings)
(70, True, 1, 1)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from pyproj import Transformer
from scipy.ndimage import maximum_filter1d

from centinela.geo.terrain import Terrain

G_MPS2 = 9.80665
# The plane paths are planned in: an azimuthal equidistant projection centred between the VRAEM and the
# Bolivian lowlands; distance errors stay below ~0.3% within 800 km of the centre.
PLANE_CRS = "+proj=aeqd +lat_0=-12.5 +lon_0=-70.0 +datum=WGS84 +units=m +no_defs"
# Glide slope of a visual final approach (~3.5 degrees).
GLIDE_GRADIENT = 0.06
# Distance flown on the glide slope before touch-down, m.
GLIDE_DISTANCE_M = 3_000.0
# Final approach at approach speed over this distance, m (helicopters: a third of it).
APPROACH_DISTANCE_M = 4_000.0
# Terrain clearance is checked against the highest ground this far ahead and behind, m (en route / low).
LOOKAHEAD_M, LOW_LOOKAHEAD_M = 8_000.0, 600.0
# Near each end the aircraft flies its departure or approach, not en-route clearance, m.
TERRAIN_EXEMPT_M = 1_500.0
# Helicopters lift off to, and hover at, this height before moving or landing, m; vertical speed, m/s.
HOVER_HEIGHT_M = 15.0
VERTICAL_SPEED_MPS = 4.0
# Fixed-wing orbits to lose or gain height: radius factor over the minimum turn radius.
ORBIT_RADIUS_FACTOR = 1.3
MAX_PROFILE_ATTEMPTS = 6
# Where an orbit is flown when the leg has no inner waypoint: this far from the end, m.
ORBIT_ANCHOR_M = 3_000.0
# Orbits keep at least this height over the ground right below them, m.
ORBIT_MIN_AGL_M = 150.0


@dataclass(frozen=True)
class Performance:
    cruise_mps: float
    approach_mps: float
    rotate_mps: float
    climb_mps: float
    descent_mps: float
    bank_deg: float
    accel_mps2: float
    vtol: bool
    climb_speed_mps: float = 0.0  # best-rate-of-climb speed (0: cruise speed)

    def __post_init__(self):
        if self.climb_speed_mps <= 0:
            object.__setattr__(self, "climb_speed_mps", self.cruise_mps)

    @property
    def turn_radius_m(self) -> float:
        return self.cruise_mps**2 / (G_MPS2 * np.tan(np.radians(self.bank_deg)))


@dataclass
class Leg:
    """From ``waypoints[0]`` (a site, on the ground) to ``waypoints[-1]`` (a site) through the others.

    ``cruise_msl_m`` None means terrain-following at ``clearance_m`` above the highest terrain ahead; from
    waypoint ``low_from`` on, the aircraft hugs the terrain at ``low_agl_m``. Orbits, when needed, are flown
    at waypoints ``orbit_dep`` (climbing) and ``orbit_arr`` (descending; default: the one before the last, or
    ``low_from``)."""

    waypoints: np.ndarray  # (n, 2) lat, lon degrees
    cruise_msl_m: float | None = None
    clearance_m: float = 500.0
    low_from: int | None = None
    low_agl_m: float = 250.0
    speed_mps: float | None = None
    terrain_exempt_m: float = TERRAIN_EXEMPT_M
    orbit_dep: int = 0  # 0: a point ORBIT_ANCHOR_M after the departure
    orbit_arr: int | None = None
    hover_s: float = 0.0  # helicopters: hover over the landing point this long before settling
    dep_site: str = ""
    arr_site: str = ""


@dataclass
class Stop:
    """On the ground where the previous leg ended (or where the first leg starts)."""

    duration_s: float


@dataclass
class Plan:
    segments: list
    perf: Performance


@dataclass
class Trajectory:
    """1 s states of one flight, times relative to its first sample (``t_s``) until shifted."""

    t_s: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt_m: np.ndarray
    on_ground: np.ndarray
    gs_mps: np.ndarray
    track_deg: np.ndarray
    vr_mps: np.ndarray
    vn_mps: np.ndarray
    ve_mps: np.ndarray
    takeoffs: list = field(default_factory=list)  # [(t, lat, lon, site)]
    landings: list = field(default_factory=list)
    orbits: int = 0
    steep_profiles: int = 0  # legs whose climb or descent had to exceed the aircraft's rates

    def shifted(self, dt_s: float) -> Trajectory:
        dt_s = float(dt_s)
        self.t_s = self.t_s + dt_s
        self.takeoffs = [(t + dt_s, *rest) for t, *rest in self.takeoffs]
        self.landings = [(t + dt_s, *rest) for t, *rest in self.landings]
        return self


@lru_cache(maxsize=1)
def _transformers() -> tuple[Transformer, Transformer]:
    return (Transformer.from_crs("EPSG:4326", PLANE_CRS, always_xy=True),
            Transformer.from_crs(PLANE_CRS, "EPSG:4326", always_xy=True))


def to_plane(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = _transformers()[0].transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)


def from_plane(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _transformers()[1].transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lat), np.asarray(lon)


# --- geometry -----------------------------------------------------------------------------------------
def fillet_path(xy: np.ndarray, radius_m: float, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample the polyline ``xy`` (n, 2) every ``step_m`` or less, its corners replaced by arcs of
    ``radius_m`` (smaller where segments are too short). Returns the samples (m, 2) and, for each input
    vertex, the index of the sample nearest to it along the path."""
    xy = _dedupe(np.asarray(xy, float))
    pieces = [xy[:1]]
    consumed = 0.0  # length of the current segment already used by the previous fillet
    for i in range(1, len(xy) - 1):
        a, b, c = xy[i - 1], xy[i], xy[i + 1]
        l1, l2 = np.linalg.norm(b - a), np.linalg.norm(c - b)
        d1, d2 = (b - a) / l1, (c - b) / l2
        turn = np.arctan2(d1[0] * d2[1] - d1[1] * d2[0], d1 @ d2)
        if abs(turn) < 1e-3:
            pieces.append(b[None])
            consumed = 0.0
            continue
        half = min(abs(turn), np.radians(175.0)) / 2.0
        tangent = min(radius_m * np.tan(half), 0.49 * (l1 - consumed), 0.49 * l2)
        tangent = max(tangent, 0.0)
        r = tangent / np.tan(half)
        p1 = b - d1 * tangent
        left = np.array([-d1[1], d1[0]])
        centre = p1 + np.sign(turn) * r * left
        a0 = np.arctan2(*(p1 - centre)[::-1])
        n_arc = max(2, int(np.ceil(r * abs(turn) / step_m)) + 1)
        ang = a0 + np.linspace(0.0, turn, n_arc)
        pieces.append(centre + r * np.c_[np.cos(ang), np.sin(ang)])
        consumed = tangent
    pieces.append(xy[-1:])
    coarse = np.vstack(pieces)
    # The coarse point that stands for each vertex: the middle of its arc (or the vertex itself).
    sizes = np.array([len(p) for p in pieces])
    marks = np.cumsum(sizes) - sizes + sizes // 2
    coarse_seg = np.hypot(*np.diff(coarse, axis=0).T)
    s_coarse = np.r_[0.0, np.cumsum(coarse_seg)]
    total = s_coarse[-1]
    s = np.unique(np.r_[np.linspace(0.0, total, max(2, int(np.ceil(total / step_m)) + 1)), s_coarse])
    path = np.c_[np.interp(s, s_coarse, coarse[:, 0]), np.interp(s, s_coarse, coarse[:, 1])]
    vertex_index = np.searchsorted(s, s_coarse[marks])
    return path, np.clip(vertex_index, 0, len(s) - 1)


def _dedupe(xy: np.ndarray) -> np.ndarray:
    keep = np.r_[True, np.hypot(*np.diff(xy, axis=0).T) > 1.0]
    out = xy[keep]
    if len(out) < 2:
        out = np.vstack([xy[0], xy[-1] + [1.0, 0.0]])
    return out


def orbit_waypoints(xy: np.ndarray, k: int, radius_m: float, turns: int) -> np.ndarray:
    """``turns`` full circles of ``radius_m`` flown from waypoint ``k`` back to it (left turns), as
    waypoints to insert after ``k``."""
    p = xy[k]
    prev = xy[k - 1] if k > 0 else xy[k] - (xy[k + 1] - xy[k])
    d = (p - prev) / max(np.linalg.norm(p - prev), 1e-9)
    centre = p + radius_m * np.array([-d[1], d[0]])
    a0 = np.arctan2(*(p - centre)[::-1])
    ang = a0 + np.radians(30.0) * np.arange(1, 12 * turns + 1)
    return centre + radius_m * np.c_[np.cos(ang), np.sin(ang)]


# --- profiles -------------------------------------------------------------------------------------------
def rate_limited(target_m: np.ndarray, climb_budget_m: np.ndarray, descent_budget_m: np.ndarray) -> np.ndarray:
    """The lowest profile at or above ``target_m`` that never climbs faster than ``climb_budget_m`` nor
    descends faster than ``descent_budget_m`` allow. Budgets are cumulative along the path: the most height
    that can be gained (lost) from the start to each sample, e.g. climb gradient x distance. Two running
    maxima do it: backward for climbs (start climbing early enough for the ridge ahead), forward for
    descents (after a ridge, come down no faster than allowed).

    >>> s = np.arange(5) * 100.0
    >>> rate_limited(np.array([0.0, 0.0, 100.0, 0.0, 0.0]), 0.5 * s, 0.25 * s).tolist()
    [0.0, 50.0, 100.0, 75.0, 50.0]
    """
    back = np.maximum.accumulate((target_m - climb_budget_m)[::-1])[::-1] + climb_budget_m
    return np.maximum.accumulate(back + descent_budget_m) - descent_budget_m


def accel_limited(v_cap_mps: np.ndarray, s_m: np.ndarray, accel_mps2: float) -> np.ndarray:
    """The fastest speed profile under ``v_cap_mps`` whose speed changes no faster than ``accel_mps2``
    (v^2 changes by at most 2 a ds), by two running minima.

    >>> accel_limited(np.array([0.0, 50.0, 50.0, 50.0, 0.0]), np.arange(5) * 100.0, 2.0).round(1).tolist()
    [0.0, 20.0, 28.3, 20.0, 0.0]
    """
    v2 = v_cap_mps**2
    k = 2.0 * accel_mps2 * s_m
    v2 = np.minimum.accumulate(v2 - k) + k
    v2 = np.minimum.accumulate((v2 + k)[::-1])[::-1] - k
    return np.sqrt(np.maximum(v2, 0.0))


def _base_speed(s: np.ndarray, perf: Performance, cruise_mps: float) -> np.ndarray:
    """Cruise, slowing to the approach speed over the final approach, from and to rest at the ends."""
    to_go = s[-1] - s
    approach_m = APPROACH_DISTANCE_M / 3.0 if perf.vtol else APPROACH_DISTANCE_M
    cap = np.where(to_go < approach_m, min(perf.approach_mps, cruise_mps), cruise_mps)
    cap[0] = cap[-1] = 0.0
    return accel_limited(cap, s, perf.accel_mps2)


@dataclass
class _Profile:
    """A leg's path samples, its altitude and speed profiles (see the module docstring)."""

    path: np.ndarray  # (n, 2) plane metres
    s: np.ndarray  # distance along the path, m
    ground: np.ndarray  # terrain under each sample, m
    alt: np.ndarray
    speed: np.ndarray
    s_roll: float  # ground roll at each end (0 for helicopters), m
    climb_budget: np.ndarray
    descent_budget: np.ndarray
    excess_dep_m: float  # how far above the departure the profile starts (must climb in place)
    excess_arr_m: float  # how far above the arrival it ends (must descend in place)
    dep_obstacle_wp: int  # the last waypoint before the ground that forces the climb
    arr_obstacle_wp: int  # the first waypoint after the ground that delays the descent


def _leg_profile(leg: Leg, perf: Performance, terrain: Terrain, xy: np.ndarray, low_from: int | None,
                 orbit_wp: np.ndarray, step_m: float) -> _Profile:
    path, vertex_index = fillet_path(xy, perf.turn_radius_m if not perf.vtol else 300.0, step_m)
    s = np.r_[0.0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))]
    lat, lon = from_plane(path[:, 0], path[:, 1])
    ground = terrain.elevation_m(lat, lon)
    total = s[-1]
    cruise = leg.speed_mps or perf.cruise_mps
    base_speed = _base_speed(s, perf, cruise)
    # Climbs are flown at the best-rate-of-climb speed, descents at the speed of the moment.
    climb_speed = min(perf.climb_speed_mps, cruise)
    climb_gradient = perf.climb_mps / climb_speed
    climb_budget = climb_gradient * s
    descent_g = perf.descent_mps / np.maximum(base_speed, 0.5 * perf.approach_mps)
    descent_budget = np.r_[0.0, np.cumsum(0.5 * (descent_g[1:] + descent_g[:-1]) * np.diff(s))]
    dep_elev, arr_elev = float(ground[0]), float(ground[-1])
    end_h = HOVER_HEIGHT_M if perf.vtol else 0.0
    s_roll = 0.0 if perf.vtol else perf.rotate_mps**2 / (2.0 * perf.accel_mps2)
    d_dep = np.maximum(0.0, s - s_roll)
    d_arr = np.maximum(0.0, total - s - s_roll)

    # Height that can be lost from each sample down to the arrival: the glide slope over the last
    # kilometres (fixed wing), the descent budget before that.
    to_arrival = descent_budget[-1] - descent_budget
    if not perf.vtol:
        glide_start = np.interp(total - s_roll - GLIDE_DISTANCE_M, s, descent_budget)
        to_arrival = np.where(d_arr < GLIDE_DISTANCE_M, GLIDE_GRADIENT * d_arr,
                              GLIDE_GRADIENT * GLIDE_DISTANCE_M + np.maximum(glide_start - descent_budget, 0.0))
    cone = np.minimum(dep_elev + end_h + climb_gradient * d_dep, arr_elev + end_h + to_arrival)

    look_low = maximum_filter1d(ground, size=2 * int(LOW_LOOKAHEAD_M / step_m) + 1, mode="nearest")
    look = maximum_filter1d(ground, size=2 * int(LOOKAHEAD_M / step_m) + 1, mode="nearest")
    # Near the ends, only the ground close by matters: the climb-out and approach see it coming.
    look = np.where(np.minimum(d_dep, d_arr) < 2.0 * LOOKAHEAD_M, look_low, look)
    low = np.zeros(s.size, bool)
    if low_from is not None:
        low[vertex_index[min(low_from, len(vertex_index) - 1)]:] = True
    # The clearance builds up after departure and winds down before arrival (half the cone's height), so
    # flat surroundings never force a climb in place; rising ground does.
    ramp = 0.5 * np.minimum(climb_gradient * d_dep, to_arrival)
    clearance = np.where(low, look_low + np.minimum(leg.low_agl_m, ramp), look + np.minimum(leg.clearance_m, ramp))
    desired = clearance if leg.cruise_msl_m is None else np.where(low, clearance, leg.cruise_msl_m)
    # Orbits (climbing or descending in place) keep a minimum height over the ground right below them.
    before = np.clip(np.searchsorted(vertex_index, np.arange(s.size), side="right") - 1, 0, len(orbit_wp) - 1)
    orbiting = orbit_wp[before] | orbit_wp[np.minimum(before + 1, len(orbit_wp) - 1)]
    clearance = np.where(orbiting, ground + np.minimum(ORBIT_MIN_AGL_M, ramp), clearance)
    floor = np.where((d_dep < leg.terrain_exempt_m) | (d_arr < leg.terrain_exempt_m), -np.inf, clearance)
    target = np.maximum(np.minimum(desired, cone), floor)
    alt = rate_limited(target, climb_budget, descent_budget)
    i_dep = min(int(np.searchsorted(s, s_roll)), s.size - 1)
    i_arr = max(int(np.searchsorted(s, total - s_roll, side="right")) - 1, 0)
    # Slow to the climb speed while climbing, within the aircraft's acceleration.
    climbing = np.r_[np.diff(alt) / np.maximum(np.diff(s), 1e-9), 0.0] > 0.3 * climb_gradient
    cap = np.where((climbing | orbiting) & (s > s_roll), np.minimum(base_speed, climb_speed), base_speed)
    speed = accel_limited(cap, s, perf.accel_mps2)
    # The samples whose height requirement props up each end (the sources of the two running maxima).
    j_dep = i_dep + int(np.argmax((target - climb_budget)[i_dep:]))
    j_arr = int(np.argmax((target + descent_budget)[:i_arr + 1]))
    dep_wp = int(np.searchsorted(vertex_index, j_dep, side="right")) - 1
    arr_wp = int(np.searchsorted(vertex_index, j_arr, side="left"))
    return _Profile(path, s, ground, alt, speed, s_roll, climb_budget, descent_budget,
                    float(alt[i_dep] - cone[i_dep]), float(alt[i_arr] - cone[i_arr]),
                    max(dep_wp, 0), min(arr_wp, len(xy) - 1))


def _anchor(xy: np.ndarray, k: int, from_end: bool, distance_m: float) -> tuple[np.ndarray, int]:
    """Make sure waypoint ``k`` can hold an orbit (is not an end point): if it is one, insert a waypoint
    ``distance_m`` along the first (or last) segment and return its index."""
    if 0 < k < len(xy) - 1:
        return xy, k
    if from_end:
        a, b = xy[-2], xy[-1]
        length = np.linalg.norm(b - a)
        p = b + (a - b) * min(distance_m, 0.5 * length) / max(length, 1e-9)
        return np.vstack([xy[:-1], p, xy[-1:]]), len(xy) - 1
    a, b = xy[0], xy[1]
    length = np.linalg.norm(b - a)
    p = a + (b - a) * min(distance_m, 0.5 * length) / max(length, 1e-9)
    return np.vstack([xy[:1], p, xy[1:]]), 1


def _fly_leg(leg: Leg, perf: Performance, terrain: Terrain, step_m: float):
    """Knots (t, x, y, alt, ground) of one leg relative to its start, orbits flown, and 1 if the profile
    had to be steepened."""
    xy = np.c_[to_plane(leg.waypoints[:, 0], leg.waypoints[:, 1])]
    low_from = leg.low_from
    orbit_arr = leg.orbit_arr if leg.orbit_arr is not None else (low_from if low_from is not None else len(xy) - 2)
    orbit_dep = leg.orbit_dep
    orbits = 0
    orbit_wp = np.zeros(len(xy), bool)  # which waypoints belong to orbits
    # Orbits are flown at the climb speed, which makes them tight enough to stay over a valley or airfield.
    radius = ORBIT_RADIUS_FACTOR * min(perf.climb_speed_mps, perf.cruise_mps) ** 2 / (
        G_MPS2 * np.tan(np.radians(perf.bank_deg)))
    circumference = 2.0 * np.pi * radius
    for attempt in range(MAX_PROFILE_ATTEMPTS):
        prof = _leg_profile(leg, perf, terrain, xy, low_from, orbit_wp, step_m)
        too_high = prof.excess_dep_m > 5.0 or prof.excess_arr_m > 5.0
        if perf.vtol or not too_high or attempt == MAX_PROFILE_ATTEMPTS - 1:
            break
        # Descending orbits before the approach, climbing orbits after departure; indices shift as we insert.
        if prof.excess_arr_m > 5.0:
            if attempt > 0 or leg.orbit_arr is None:
                orbit_arr = prof.arr_obstacle_wp  # descend in circles right after the obstacle
            n_before = len(xy)
            xy, orbit_arr = _anchor(xy, orbit_arr, True, ORBIT_ANCHOR_M)
            orbit_wp = np.r_[orbit_wp[:orbit_arr], False, orbit_wp[orbit_arr:]] if len(xy) > n_before else orbit_wp
            if low_from is not None and len(xy) > n_before and low_from >= orbit_arr:
                low_from += 1
            gradient = prof.descent_budget[-1] / max(prof.s[-1], 1.0)
            n = int(np.ceil(prof.excess_arr_m / (0.8 * gradient * circumference)))
            extra = orbit_waypoints(xy, orbit_arr, radius, n)
            xy = np.vstack([xy[:orbit_arr + 1], extra, xy[orbit_arr + 1:]])
            orbit_wp = np.r_[orbit_wp[:orbit_arr + 1], np.ones(len(extra), bool), orbit_wp[orbit_arr + 1:]]
            if low_from is not None and low_from >= orbit_arr:
                low_from += len(extra)
            orbits += n
        if prof.excess_dep_m > 5.0:
            if attempt > 0:
                orbit_dep = prof.dep_obstacle_wp  # climb in circles right before the obstacle
            n_before = len(xy)
            xy, orbit_dep = _anchor(xy, orbit_dep, False, ORBIT_ANCHOR_M)
            if len(xy) > n_before:
                orbit_wp = np.r_[orbit_wp[:orbit_dep], False, orbit_wp[orbit_dep:]]
                low_from = None if low_from is None else low_from + 1
                orbit_arr += 1
            gradient = prof.climb_budget[-1] / max(prof.s[-1], 1.0)
            n = int(np.ceil(prof.excess_dep_m / (0.8 * gradient * circumference)))
            extra = orbit_waypoints(xy, orbit_dep, radius, n)
            xy = np.vstack([xy[:orbit_dep + 1], extra, xy[orbit_dep + 1:]])
            orbit_wp = np.r_[orbit_wp[:orbit_dep + 1], np.ones(len(extra), bool), orbit_wp[orbit_dep + 1:]]
            if low_from is not None and low_from > orbit_dep:
                low_from += len(extra)
            orbit_arr += len(extra) if orbit_arr > orbit_dep else 0
            orbits += n
    s, alt, ground, s_roll, total = prof.s, prof.alt, prof.ground, prof.s_roll, prof.s[-1]
    steep = 0
    if not perf.vtol and (prof.excess_dep_m > 5.0 or prof.excess_arr_m > 5.0):
        # Out of attempts: climb or dive at up to three times the normal rates rather than fly into the
        # ground (rare, counted in the summary).
        steep = 1
        d_dep, d_arr = np.maximum(0.0, s - s_roll), np.maximum(0.0, total - s - s_roll)
        alt = np.minimum(alt, np.minimum(ground[0] + 3 * prof.climb_budget[-1] / total * d_dep,
                                         ground[-1] + 3 * prof.descent_budget[-1] / total * d_arr))
    on_ground = np.zeros(s.size, bool)
    if not perf.vtol:
        on_ground = (s <= s_roll) | (s >= total - s_roll)
        alt = np.where(s <= s_roll, ground[0], np.where(s >= total - s_roll, ground[-1], alt))
    v = prof.speed
    t = np.r_[0.0, np.cumsum(2.0 * np.diff(s) / np.maximum(v[:-1] + v[1:], 1e-3))]
    x, y = prof.path[:, 0], prof.path[:, 1]
    if not perf.vtol:
        return [(t, x, y, alt, on_ground)], orbits, steep
    # Helicopters lift off vertically to the path's first altitude, hover over the landing point if the
    # leg says so, and settle vertically.
    lift_s = (alt[0] - ground[0]) / VERTICAL_SPEED_MPS
    t_end = t[-1] + lift_s
    settle_s = (alt[-1] - ground[-1]) / VERTICAL_SPEED_MPS
    one = lambda v: np.array([v])
    return [(one(0.0), x[:1], y[:1], ground[:1], one(True)),
            (t + lift_s, x, y, alt, on_ground),
            (one(t_end + leg.hover_s), x[-1:], y[-1:], alt[-1:], one(False)),
            (one(t_end + leg.hover_s + max(settle_s, 1.0)), x[-1:], y[-1:], ground[-1:], one(True))], orbits, steep


def fly(plan: Plan, terrain: Terrain, step_m: float | None = None) -> Trajectory:
    """Fly ``plan`` from its first segment at t = 0; returns 1 s states and the take-offs and landings.

    A Stop happens where the previous Leg ended (or where the first Leg starts)."""
    perf = plan.perf
    step_m = step_m or float(np.clip(perf.cruise_mps * 0.7, 20.0, 150.0))
    t_now = 0.0
    knots: list[tuple] = []
    legs = [seg for seg in plan.segments if isinstance(seg, Leg)]
    if not legs:
        raise ValueError("a flight plan needs at least one Leg")
    orbits = steep = 0
    # Where the aircraft is (x, y, alt, on the ground) when a Stop begins.
    first = legs[0].waypoints[0]
    x0, y0 = to_plane(first[:1], first[1:2])
    position = (float(x0[0]), float(y0[0]), float(terrain.elevation_m(first[0], first[1])), True)
    for seg in plan.segments:
        if isinstance(seg, Leg):
            leg_knots, n_orbits, n_steep = _fly_leg(seg, perf, terrain, step_m)
            orbits += n_orbits
            steep += n_steep
            for t, x, y, alt, ground in leg_knots:
                knots.append((t + t_now, x, y, alt, ground))
            t_now = knots[-1][0][-1]
            position = (knots[-1][1][-1], knots[-1][2][-1], knots[-1][3][-1], bool(knots[-1][4][-1]))
        else:
            x, y, alt, ground = position
            t_end = t_now + max(float(seg.duration_s), 1.0)
            knots.append((np.array([t_end]), np.array([x]), np.array([y]), np.array([alt]), np.array([ground])))
            t_now = t_end
    t = np.concatenate([k[0] for k in knots])
    x = np.concatenate([k[1] for k in knots])
    y = np.concatenate([k[2] for k in knots])
    alt = np.concatenate([k[3] for k in knots])
    ground = np.concatenate([k[4] for k in knots])
    # Knots may repeat a time where one segment ends and the next starts: keep time strictly increasing.
    t = np.maximum.accumulate(t + np.arange(t.size) * 1e-6)
    grid = np.arange(0.0, np.floor(t[-1]) + 1.0)
    gx, gy, galt = np.interp(grid, t, x), np.interp(grid, t, y), np.interp(grid, t, alt)
    # A second is on the ground when the knot it follows is (a stop holds until the next segment starts).
    gground = ground[np.clip(np.searchsorted(t, grid, side="right") - 1, 0, t.size - 1)]
    ve, vn, vr = np.gradient(gx), np.gradient(gy), np.gradient(galt)
    vr[gground] = 0.0
    lat, lon = from_plane(gx, gy)
    gs = np.hypot(ve, vn)
    track = np.degrees(np.arctan2(ve, vn)) % 360.0
    tr = Trajectory(grid, lat, lon, galt, gground, gs, track, vr, vn, ve, orbits=orbits, steep_profiles=steep)
    _label_events(tr, legs)
    return tr


def _label_events(tr: Trajectory, legs: list[Leg]) -> None:
    """Take-offs and landings where on_ground changes; the k-th of each belongs to the k-th leg."""
    g = tr.on_ground.astype(np.int8)
    change = np.diff(g)
    ups = np.nonzero(change == -1)[0] + 1  # first airborne second
    downs = np.nonzero(change == 1)[0] + 1  # first second on the ground
    for k, i in enumerate(ups):
        site = legs[k].dep_site if k < len(legs) else ""
        tr.takeoffs.append((float(tr.t_s[i]), float(tr.lat[i]), float(tr.lon[i]), site))
    for k, i in enumerate(downs):
        site = legs[k].arr_site if k < len(legs) else ""
        tr.landings.append((float(tr.t_s[i]), float(tr.lat[i]), float(tr.lon[i]), site))
