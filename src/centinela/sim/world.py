"""The places aircraft fly between: registered airfields, military bases and outposts, community strips,
the air bridge's clandestine strips in the VRAEM and its origin strips in the Bolivian lowlands.

Strips and outposts come from the terrain (:func:`centinela.geo.terrain.flat_sites`), not from a list: a
clandestine strip is a flat patch of valley floor. The clandestine pool lives: a strip the state craters
goes out of use and, days later, a successor opens a few km away (:class:`StripPool`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from centinela.geo.frames import haversine_m
from centinela.geo.terrain import Terrain, flat_sites

FT_M = 0.3048
DAY_S = 86_400.0
# Where the community strips and outposts are searched: a grid this fine, degrees (~550 m).
SITE_GRID_DEG = 0.005


@dataclass
class Site:
    """A place to take off from or land on."""

    id: str
    lat: float
    lon: float
    elevation_m: float
    kind: str  # airfield, base, outpost, community, narco, bolivia
    clandestine: bool = False
    icao: str | None = None
    active_from: float = -np.inf
    active_until: float = np.inf  # cratered
    successor_of: str | None = None
    uses: int = 0


@lru_cache(maxsize=1)
def airport_registry() -> dict:
    """The ``airportsdata`` registry (ICAO code -> record), loaded once."""
    import airportsdata

    return airportsdata.load()


def airfield_sites(codes: list[str], terrain: Terrain) -> dict[str, Site]:
    """Registered airfields from the ``airportsdata`` package (elevation from the terrain, which is levelled
    to the published one)."""
    registry = airport_registry()
    out = {}
    for code in codes:
        if code not in registry:
            raise ValueError(f"simulator: airfield {code!r} is not in the airportsdata registry")
        a = registry[code]
        out[code] = Site(code, a["lat"], a["lon"], float(terrain.elevation_m(a["lat"], a["lon"])), "airfield",
                         icao=code)
    return out


def spread_pick(candidates: pd.DataFrame, n: int, min_separation_m: float, rng: np.random.Generator,
                avoid: list[tuple[float, float]] | None = None, avoid_m: float = 0.0) -> pd.DataFrame:
    """Up to ``n`` random candidate rows at least ``min_separation_m`` apart and ``avoid_m`` from ``avoid``."""
    if candidates.empty or n <= 0:
        return candidates.iloc[:0]
    order = rng.permutation(len(candidates))
    lat, lon = candidates["lat"].to_numpy(), candidates["lon"].to_numpy()
    ok = np.ones(len(candidates), bool)
    if avoid:
        a = np.array(avoid)
        d = haversine_m(lat[:, None], lon[:, None], a[None, :, 0], a[None, :, 1])
        ok = (d >= avoid_m).all(axis=1)
    chosen: list[int] = []
    for i in order:
        if not ok[i]:
            continue
        if chosen and haversine_m(lat[i], lon[i], lat[chosen], lon[chosen]).min() < min_separation_m:
            continue
        chosen.append(int(i))
        if len(chosen) == n:
            break
    return candidates.iloc[chosen].reset_index(drop=True)


class StripPool:
    """The air bridge's clandestine strips: which are in use when, cratering and successors.

    Strips are created lazily as the days are simulated in order; ``all_strips`` keeps every one ever used
    (for ``truth/strips.csv``)."""

    def __init__(self, candidates: pd.DataFrame, cfg: dict, t0_s: float, rng: np.random.Generator):
        self.candidates = candidates.reset_index(drop=True)
        self.cfg = cfg
        self.rng = rng
        self.all_strips: list[Site] = []
        history = cfg["history_days"]
        initial = spread_pick(self.candidates, cfg["pool_size"], cfg["min_separation_km"] * 1000.0, rng)
        for row in initial.itertuples():
            self._new_strip(row.lat, row.lon, row.elevation_m, t0_s - rng.uniform(*history) * DAY_S)

    def _new_strip(self, lat: float, lon: float, elevation_m: float, active_from: float,
                   successor_of: str | None = None) -> Site:
        site = Site(f"VR-{len(self.all_strips) + 1:03d}", float(lat), float(lon), float(elevation_m), "narco",
                    clandestine=True, active_from=float(active_from), successor_of=successor_of)
        self.all_strips.append(site)
        return site

    def active(self, t_s: float) -> list[Site]:
        return [s for s in self.all_strips if s.active_from <= t_s < s.active_until]

    def choose(self, t_s: float) -> Site:
        """A strip in use at ``t_s``: well-used strips are favoured (the ground crews know them)."""
        active = self.active(t_s)
        if not active:  # everything cratered and no successor yet: a crew opens a new strip
            row = self.candidates.iloc[int(self.rng.integers(len(self.candidates)))]
            return self._new_strip(row.lat, row.lon, row.elevation_m, t_s - DAY_S)
        weights = np.array([1.0 + s.uses for s in active])
        return active[int(self.rng.choice(len(active), p=weights / weights.sum()))]

    def record_landing(self, site: Site, t_s: float) -> None:
        """A landing on ``site``: the state may crater it some days later; a successor opens nearby later."""
        site.uses += 1
        if site.active_until < np.inf or self.rng.random() >= self.cfg["crater_probability_per_use"]:
            return
        site.active_until = t_s + self.rng.uniform(*self.cfg["crater_delay_days"]) * DAY_S
        lo, hi = (1000.0 * v for v in self.cfg["successor_distance_km"])
        d = haversine_m(site.lat, site.lon, self.candidates["lat"].to_numpy(), self.candidates["lon"].to_numpy())
        near = np.flatnonzero((d >= lo) & (d <= hi))
        if near.size == 0:
            return
        row = self.candidates.iloc[int(self.rng.choice(near))]
        opens = site.active_until + self.rng.uniform(*self.cfg["successor_delay_days"]) * DAY_S
        self._new_strip(row.lat, row.lon, row.elevation_m, opens, successor_of=site.id)


@dataclass
class World:
    terrain: Terrain
    sites: dict[str, Site]  # every fixed site by id: airfields, bases, outposts, community, bolivia
    strips: StripPool
    narco_candidates: pd.DataFrame

    def site(self, site_id: str) -> Site:
        return self.sites[site_id]

    def of_kind(self, kind: str) -> list[Site]:
        return [s for s in self.sites.values() if s.kind == kind]

    def strips_frame(self) -> pd.DataFrame:
        """Every strip and landing site of the world, for ``truth/strips.csv``."""
        rows = [s for s in self.sites.values() if s.kind != "airfield"] + self.strips.all_strips
        return pd.DataFrame({
            "strip_id": [s.id for s in rows],
            "kind": [s.kind for s in rows],
            "lat": [round(s.lat, 6) for s in rows],
            "lon": [round(s.lon, 6) for s in rows],
            "elevation_m": [round(s.elevation_m, 1) for s in rows],
            "clandestine": ["true" if s.clandestine else "false" for s in rows],
            "active_from": [round(s.active_from, 1) if np.isfinite(s.active_from) else np.nan for s in rows],
            "cratered_t": [round(s.active_until, 1) if np.isfinite(s.active_until) else np.nan for s in rows],
            "successor_of": [s.successor_of or "" for s in rows],
        })


def build_world(cfg: dict, terrain: Terrain, t0_s: float, rng: np.random.Generator) -> World:
    """All sites of the scenario, drawn deterministically from ``rng`` and the terrain."""
    region = cfg["region"]
    box = (region["lat_min"], region["lat_max"], region["lon_min"], region["lon_max"])
    codes = sorted({*cfg["mission"]["home_airfields"], *cfg["general"]["airfields"],
                    *[c for r in cfg["airline"]["routes"] for c in r[:2]]})
    sites: dict[str, Site] = dict(airfield_sites(codes, terrain))
    for base_id, (lat, lon) in cfg["military"]["bases"].items():
        sites[base_id] = Site(base_id, lat, lon, float(terrain.elevation_m(lat, lon)), "base")
    fixed = [(s.lat, s.lon) for s in sites.values()]
    registered = [(a["lat"], a["lon"]) for a in airport_registry().values()
                  if box[0] - 1 < a["lat"] < box[1] + 1 and box[2] - 1 < a["lon"] < box[3] + 1]

    m = cfg["military"]
    landing_zones = flat_sites(terrain, *box, max_elevation_m=m["outpost_max_elevation_m"], min_elevation_m=300.0,
                               max_slope=m["outpost_max_slope"], step_deg=SITE_GRID_DEG)
    outposts = spread_pick(landing_zones, m["outposts"], m["outpost_min_separation_km"] * 1000.0, rng,
                           avoid=fixed, avoid_m=3_000.0)
    for k, row in enumerate(outposts.itertuples(), 1):
        sites[f"OUT-{k:02d}"] = Site(f"OUT-{k:02d}", row.lat, row.lon, row.elevation_m, "outpost")

    st = cfg["strips"]
    floor_kw = {"max_elevation_m": st["max_elevation_m"], "min_elevation_m": st["min_elevation_m"],
                    "max_slope": st["max_slope"], "min_relief_m": st["min_relief_m"], "step_deg": SITE_GRID_DEG}
    mi = cfg["mission"]
    community = spread_pick(flat_sites(terrain, *mi["community_box"], **floor_kw), mi["community_strips"],
                            st["min_separation_km"] * 1000.0, rng, avoid=registered + fixed,
                            avoid_m=st["airfield_exclusion_km"] * 1000.0)
    for k, row in enumerate(community.itertuples(), 1):
        sites[f"COM-{k:02d}"] = Site(f"COM-{k:02d}", row.lat, row.lon, row.elevation_m, "community")

    bo = cfg["narco"]["bolivia_box"]
    for k in range(1, cfg["narco"]["bolivia_strips"] + 1):
        lat, lon = rng.uniform(bo[0], bo[1]), rng.uniform(bo[2], bo[3])
        sites[f"BOL-{k:02d}"] = Site(f"BOL-{k:02d}", lat, lon, float(terrain.elevation_m(lat, lon)), "bolivia",
                                     clandestine=True)

    # Clandestine candidates: valley floors in the VRAEM, away from airfields, bases and community strips.
    candidates = flat_sites(terrain, *box, **floor_kw)
    taken = registered + fixed + [(s.lat, s.lon) for s in sites.values() if s.kind in ("community", "outpost")]
    a = np.array(taken)
    d = haversine_m(candidates["lat"].to_numpy()[:, None], candidates["lon"].to_numpy()[:, None],
                    a[None, :, 0], a[None, :, 1])
    candidates = candidates[(d >= st["airfield_exclusion_km"] * 1000.0).all(axis=1)].reset_index(drop=True)
    if candidates.empty:
        raise ValueError("simulator: no valley-floor site satisfies the strips.* parameters inside region")
    pool = StripPool(candidates, st, t0_s, rng)
    return World(terrain, sites, pool, candidates)
