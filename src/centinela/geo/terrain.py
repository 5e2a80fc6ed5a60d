"""Terrain: ground elevation (m above mean sea level) for any WGS84 point, and what it hides from a sensor.

- :class:`Terrain` is the protocol every elevation model follows: a vectorised ``elevation_m(lat, lon)``.
- :class:`GriddedTerrain` is a regular latitude/longitude grid with bilinear interpolation; the two models
  below are gridded.
- :class:`SyntheticVraemTerrain` is a deterministic, VRAEM-like digital elevation model built from a few
  geographic facts (``docs/simulator.md``): Pacific coast and Andes to the west (plateau ~4,000 m), NW–SE
  trending ridges, flat-floored valleys like the Apurímac–Ene, Mantaro and Satipo (floors 500–1,000 m in the
  VRAEM, ridges between them to ~4,000 m) and Amazon lowlands to the east falling to ~200 m in Bolivia.
  It is not real topography: it has the shapes that matter for radar coverage and airstrips.
- :class:`GeoTiffTerrain` reads a real DEM (e.g. an SRTM or Copernicus GLO-90 tile) from a GeoTIFF in
  geographic coordinates (EPSG:4326), with ``tifffile``.
- :func:`visible_from` tells, for many targets at once, whether terrain blocks the line of sight from a
  sensor (4/3-earth refraction); :func:`flat_sites` finds candidate airstrip sites (low, flat valley floors).

>>> t = SyntheticVraemTerrain()
>>> floor = float(t.elevation_m(-12.52, -73.83))    # Apurímac valley floor at Pichari
>>> 500 < floor < 1000
True
>>> float(t.elevation_m(-13.0, -66.0)) < 400         # Beni lowlands, Bolivia
True
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
from scipy.ndimage import map_coordinates, maximum_filter
from scipy.spatial import cKDTree

from centinela.geo.frames import elevation_4_3_earth_deg, haversine_m

# Mean metres per degree of latitude, and of longitude at the equator (WGS84 mean-earth values).
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0

# Spacing of the terrain samples along a line of sight. The synthetic grid is 0.01° (~1.1 km); sampling
# at about the grid spacing catches every ridge the grid can represent.
LOS_SAMPLE_SPACING_M = 1_000.0
# Targets per line-of-sight batch: bounds the (targets x samples) arrays to a few tens of MB.
LOS_CHUNK_TARGETS = 20_000


@runtime_checkable
class Terrain(Protocol):
    """Anything that gives ground elevation (m above mean sea level) for arrays of WGS84 points."""

    def elevation_m(self, lat: np.ndarray | float, lon: np.ndarray | float) -> np.ndarray: ...


class GriddedTerrain:
    """Elevations on a regular grid (``lats`` and ``lons`` ascending, ``elevation[i, j]`` at ``lats[i],
    lons[j]``), bilinearly interpolated; points outside the grid take the nearest edge value.

    Interpolation uses ``scipy.ndimage.map_coordinates(order=1)``: the same bilinear surface as
    ``scipy.interpolate.RegularGridInterpolator(method="linear")`` (the tests check this) but about six times
    faster, which matters because line-of-sight checks look up millions of points.

    >>> g = GriddedTerrain(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([[0.0, 100.0], [200.0, 300.0]]))
    >>> g.elevation_m(np.array([0.5, 2.0]), np.array([0.5, 0.0])).tolist()
    [150.0, 200.0]
    """

    def __init__(self, lats: np.ndarray, lons: np.ndarray, elevation: np.ndarray):
        lats, lons = np.asarray(lats, float), np.asarray(lons, float)
        elevation = np.asarray(elevation, np.float32)
        if elevation.shape != (lats.size, lons.size):
            raise ValueError(f"elevation grid is {elevation.shape}, expected {(lats.size, lons.size)}")
        if lats.size < 2 or lons.size < 2 or (np.diff(lats) <= 0).any() or (np.diff(lons) <= 0).any():
            raise ValueError("grid latitudes and longitudes must be ascending, at least two of each")
        self.lats, self.lons, self.elevation = lats, lons, elevation
        self._lat0, self._dlat = lats[0], (lats[-1] - lats[0]) / (lats.size - 1)
        self._lon0, self._dlon = lons[0], (lons[-1] - lons[0]) / (lons.size - 1)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """lat_min, lat_max, lon_min, lon_max of the grid."""
        return float(self.lats[0]), float(self.lats[-1]), float(self.lons[0]), float(self.lons[-1])

    def elevation_m(self, lat: np.ndarray | float, lon: np.ndarray | float) -> np.ndarray:
        lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
        rows = np.clip((lat - self._lat0) / self._dlat, 0.0, self.lats.size - 1)
        cols = np.clip((lon - self._lon0) / self._dlon, 0.0, self.lons.size - 1)
        z = map_coordinates(self.elevation, [rows.ravel(), cols.ravel()], order=1, mode="nearest",
                            prefilter=False)
        return z.reshape(lat.shape).astype(float)


# --- the synthetic VRAEM ----------------------------------------------------------------------------------
# Polylines are (lat, lon) vertices. Where the Andes meet the Amazon lowlands, north-west to south-east:
# the Ene/Tambo mouth near Atalaya, the Madre de Dios foothills, the Beni foothills near Rurrenabaque.
EAST_FRONT = [(-8.0, -75.9), (-10.0, -75.0), (-10.8, -74.0), (-11.0, -73.5), (-12.3, -72.6), (-13.0, -71.4),
              (-13.8, -69.8), (-14.4, -67.6), (-15.8, -66.8), (-17.8, -64.4)]
# The Pacific coast, north-west to south-east (Lima's airport lies ~10 km inland at -12.02, -77.11).
COAST = [(-8.0, -79.0), (-9.1, -78.6), (-10.8, -77.8), (-12.0, -77.2), (-13.5, -76.25), (-14.5, -75.9),
         (-15.4, -75.1), (-16.3, -73.4), (-17.2, -71.5), (-17.8, -70.6)]
# Flat-floored valleys, upstream to downstream: (lat, lon, floor elevation m, floor half-width km). Floors
# follow DESIGN.md (VRAEM floors 500-1,000 m); courses are simplified from the real rivers.
VALLEYS: dict[str, list[tuple[float, float, float, float]]] = {
    "apurimac-ene": [(-13.70, -73.20, 1150, 1.0), (-13.30, -73.45, 1000, 1.5), (-12.95, -73.60, 850, 2.0),
                     (-12.70, -73.68, 720, 2.5), (-12.52, -73.83, 620, 2.5), (-12.28, -73.96, 560, 3.0),
                     (-11.95, -74.08, 500, 2.5), (-11.60, -74.20, 450, 2.5), (-11.25, -74.28, 400, 2.5),
                     (-10.95, -74.10, 340, 2.0), (-10.75, -73.80, 280, 2.0)],
    "mantaro": [(-11.95, -75.30, 3250, 2.5), (-12.30, -75.05, 2900, 2.0), (-12.60, -74.80, 2300, 1.2),
                (-12.78, -74.60, 1800, 1.0), (-12.65, -74.40, 1200, 1.5), (-12.45, -74.18, 800, 2.0),
                (-12.28, -73.98, 560, 2.5)],
    "vizcatan": [(-12.85, -74.05, 1300, 0.8), (-12.60, -74.10, 950, 1.2), (-12.38, -74.05, 620, 1.5),
                 (-12.30, -73.97, 560, 2.0)],
    "satipo-perene": [(-11.85, -74.38, 950, 1.2), (-11.55, -74.50, 800, 2.0), (-11.30, -74.59, 660, 3.0),
                      (-11.10, -74.50, 520, 2.0), (-10.98, -74.25, 400, 2.0)],
    "urubamba-bajo": [(-12.95, -72.90, 1000, 1.2), (-12.55, -73.05, 800, 2.0), (-12.10, -73.15, 600, 2.0),
                      (-11.60, -73.25, 450, 2.0), (-11.10, -73.45, 330, 2.0), (-10.80, -73.65, 280, 2.0)],
}


@dataclass(frozen=True)
class SyntheticTerrainParams:
    """Shape of the synthetic DEM. Defaults give VRAEM-like numbers (see the module docstring)."""

    seed: int = 7  # the terrain is the same for every scenario seed; change it for another world
    resolution_deg: float = 0.01  # ~1.1 km, like a 30-arc-second DEM
    lat_min: float = -17.8
    lat_max: float = -8.0
    lon_min: float = -78.0
    lon_max: float = -63.0
    lowland_m: float = 180.0  # Beni/Pando plains, far from the mountains
    foothill_m: float = 300.0  # lowlands at the mountain front
    plateau_m: float = 3_700.0  # the Andean high plateau (puna)
    front_rise_km: float = 90.0  # mountain front to plateau
    coast_rise_km: float = 110.0  # Pacific coast to plateau
    ridge_amplitude_m: float = 550.0  # NW-SE ridges and troughs on the plateau
    ridge_strike_deg: float = 145.0  # bearing the ridges and valleys run along (NW-SE)
    massif_amplitude_m: float = 350.0  # broad highs and lows of the plateau, isotropic
    roughness_m: float = 180.0  # small-scale relief, isotropic
    valley_wall_gradient: float = 0.22  # rise of valley walls, m per m (about 12 degrees)
    meander_km: float = 0.6  # lateral amplitude of river meanders


class SyntheticVraemTerrain(GriddedTerrain):
    """A deterministic VRAEM-like DEM over lat -17.8..-8, lon -78..-63 (Lima to Santa Cruz de la Sierra).

    Built once per parameter set (about a second) and cached. ``valley_names`` lists the carved valleys.

    >>> t = SyntheticVraemTerrain()
    >>> t.bounds
    (-17.8, -8.0, -78.0, -63.0)
    """

    valley_names = tuple(VALLEYS)

    def __init__(self, params: SyntheticTerrainParams | None = None, **overrides):
        params = params or SyntheticTerrainParams(**overrides)
        self.params = params
        lats, lons, elevation = _build_synthetic(params)
        super().__init__(lats, lons, elevation)


@lru_cache(maxsize=2)
def _build_synthetic(p: SyntheticTerrainParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(p.seed)
    n_lat = round((p.lat_max - p.lat_min) / p.resolution_deg) + 1
    n_lon = round((p.lon_max - p.lon_min) / p.resolution_deg) + 1
    lats = np.linspace(p.lat_min, p.lat_max, n_lat)
    lons = np.linspace(p.lon_min, p.lon_max, n_lon)
    lat0 = 0.5 * (p.lat_min + p.lat_max)
    # A plane in km, good to ~1% over the grid: enough to shape synthetic mountains.
    kx, ky = M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat0)) / 1000.0, M_PER_DEG_LAT / 1000.0
    x = ((lons - p.lon_min) * kx).astype(np.float32)[None, :]
    y = ((lats - p.lat_min) * ky).astype(np.float32)[:, None]
    to_xy = lambda pts: np.array([((lo - p.lon_min) * kx, (la - p.lat_min) * ky) for la, lo, *_ in pts])

    # Large-scale shape: lowlands east of the front, plateau between front and coast, sea west of the coast.
    s_front = _smooth_field(x, y, lambda cx, cy: _signed_distance_km(cx, cy, to_xy(EAST_FRONT)))  # > 0 mountain side
    s_coast = _smooth_field(x, y, lambda cx, cy: -_signed_distance_km(cx, cy, to_xy(COAST)))  # > 0 inland
    east = np.where(s_front < 0,
                    p.lowland_m + (p.foothill_m - p.lowland_m) * np.exp(s_front / 150.0),
                    p.foothill_m + (p.plateau_m - p.foothill_m) * _smoothstep(s_front / p.front_rise_km))
    west = np.where(s_coast < 0, 0.0, (p.plateau_m + 300.0) * _smoothstep(s_coast / p.coast_rise_km))
    elevation = np.minimum(east, west).astype(np.float32)

    # NW-SE ridges: plane waves whose crests run along the strike (wave vectors across it, +-25 degrees),
    # wavelengths 12-60 km, sharpened into crests; massifs and basins of 80-250 km; isotropic roughness of
    # 3-15 km.
    across = np.radians(p.ridge_strike_deg - 90.0)
    ridges = _plane_waves(x, y, rng, 28, across, np.radians(25.0), (12.0, 60.0))
    ridges = np.sign(ridges) * np.abs(ridges) ** np.float32(0.8)
    massifs = _plane_waves(x, y, rng, 8, 0.0, np.pi, (80.0, 250.0))
    rough = _plane_waves(x, y, rng, 20, 0.0, np.pi, (3.0, 15.0))
    mountains = _smoothstep(s_front / 30.0) * _smoothstep(s_coast / 40.0)
    lowland_ripple = (1.0 - _smoothstep(s_front / 10.0 + 1.0)) * (s_coast > 0)
    elevation += mountains * (p.ridge_amplitude_m * ridges + p.massif_amplitude_m * massifs
                              + p.roughness_m * rough)
    elevation += lowland_ripple * 25.0 * rough  # gentle undulation of the plains, +-25 m
    elevation = np.maximum(elevation, 0.0)

    # Carve flat-floored valleys: floor elevation along the river, walls rising at valley_wall_gradient.
    for vertices in VALLEYS.values():
        _carve_valley(elevation, x, y, np.array(vertices, float), to_xy(vertices), rough, rng, p)
    _level_airfields(elevation, x, y, lats, lons, to_xy)
    return lats, lons, elevation


def _smooth_field(x: np.ndarray, y: np.ndarray, func, every: int = 5) -> np.ndarray:
    """Evaluate a smooth field ``func(x, y)`` on every ``every``-th grid point and interpolate bilinearly:
    distances to coast and mountain front vary slowly, and this is 25 times cheaper."""
    cx, cy = x[:, ::every], y[::every, :]
    coarse = func(cx, cy).astype(np.float32)
    rows = np.arange(y.shape[0], dtype=np.float32) / every
    cols = np.arange(x.shape[1], dtype=np.float32) / every
    grid_r, grid_c = np.meshgrid(rows, cols, indexing="ij")
    return map_coordinates(coarse, [grid_r, grid_c], order=1, mode="nearest")


# Registered airfields are levelled to their published elevation within this radius (their runway area),
# blending back into the synthetic terrain over the next few km: the world then agrees with the registry.
AIRFIELD_FLAT_RADIUS_KM = 2.5
AIRFIELD_BLEND_KM = 8.0


def _level_airfields(elevation, x, y, lats, lons, to_xy) -> None:
    import airportsdata

    reach = AIRFIELD_FLAT_RADIUS_KM + AIRFIELD_BLEND_KM
    for airport in airportsdata.load().values():
        lat, lon, elev_m = airport["lat"], airport["lon"], airport["elevation"] * 0.3048
        if not (lats[0] < lat < lats[-1] and lons[0] < lon < lons[-1]) or elev_m <= 0:
            continue  # outside the grid, or no published elevation (several small strips list 0 ft)
        (ax, ay), = to_xy([(lat, lon)])
        r0, r1 = np.searchsorted(y[:, 0], [ay - reach, ay + reach])
        c0, c1 = np.searchsorted(x[0], [ax - reach, ax + reach])
        d = np.hypot(x[0, c0:c1][None, :] - ax, y[r0:r1, 0][:, None] - ay)
        w = 1.0 - _smoothstep((d - AIRFIELD_FLAT_RADIUS_KM) / AIRFIELD_BLEND_KM)
        block = elevation[r0:r1, c0:c1]
        elevation[r0:r1, c0:c1] = (w * elev_m + (1.0 - w) * block).astype(np.float32)


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _plane_waves(x, y, rng, n, mean_dir, spread, wavelength_km) -> np.ndarray:
    """Sum of ``n`` random plane waves normalised to unit standard deviation (float32 grid)."""
    out = np.zeros((y.shape[0], x.shape[1]), np.float32)
    for _ in range(n):
        direction = mean_dir + rng.uniform(-spread, spread)
        k = 2.0 * np.pi / rng.uniform(*wavelength_km)
        kx, ky = np.float32(k * np.sin(direction)), np.float32(k * np.cos(direction))
        out += np.cos(kx * x + ky * y + np.float32(rng.uniform(0, 2 * np.pi)))
    return out / np.float32(np.sqrt(n / 2.0))


def _signed_distance_km(x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance (km) from grid points to a polyline, positive on its right-hand side (walking along it)."""
    best = np.full((y.shape[0], x.shape[1]), np.inf, np.float32)
    sign = np.ones_like(best)
    for (ax, ay), (bx, by) in itertools.pairwise(poly):
        dx, dy = bx - ax, by - ay
        u = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        d = np.hypot(x - (ax + u * dx), y - (ay + u * dy)).astype(np.float32)
        closer = d < best
        best = np.where(closer, d, best)
        cross = dx * (y - ay) - dy * (x - ax)  # > 0 on the left
        sign = np.where(closer, np.where(cross > 0, -1.0, 1.0), sign).astype(np.float32)
    return best * sign


def _carve_valley(elevation, x, y, vertices, xy, rough, rng, p: SyntheticTerrainParams) -> None:
    # Densify the river every 100 m and let it meander; floors and half-widths interpolate along it.
    seg = np.hypot(*np.diff(xy, axis=0).T)
    along = np.r_[0.0, np.cumsum(seg)]
    s = np.arange(0.0, along[-1], 0.1)
    cx, cy = np.interp(s, along, xy[:, 0]), np.interp(s, along, xy[:, 1])
    tx, ty = np.gradient(cx), np.gradient(cy)
    norm = np.hypot(tx, ty)
    wander = p.meander_km * np.sin(2 * np.pi * s / rng.uniform(10.0, 14.0) + rng.uniform(0, 2 * np.pi))
    cx, cy = cx - wander * ty / norm, cy + wander * tx / norm
    floor = np.interp(s, along, vertices[:, 2])
    half_width = np.interp(s, along, vertices[:, 3])
    # Only cells within reach of the walls can be lowered.
    reach = float(half_width.max() + p.plateau_m / 1000.0 / p.valley_wall_gradient)
    cols = np.nonzero((x[0] > cx.min() - reach) & (x[0] < cx.max() + reach))[0]
    rows = np.nonzero((y[:, 0] > cy.min() - reach) & (y[:, 0] < cy.max() + reach))[0]
    gx, gy = np.meshgrid(x[0, cols], y[rows, 0])
    dist, nearest = cKDTree(np.c_[cx, cy]).query(np.c_[gx.ravel(), gy.ravel()], distance_upper_bound=reach)
    inside = np.isfinite(dist)
    wall_km = np.zeros_like(dist)
    k = nearest[inside]
    wall_km[inside] = np.maximum(0.0, dist[inside] - half_width[k])
    surface = np.full(dist.shape, np.inf)
    sub_rough = rough[np.ix_(rows, cols)].ravel()
    surface[inside] = (floor[k] + 1000.0 * p.valley_wall_gradient * wall_km[inside]
                       + p.roughness_m * sub_rough[inside] * np.clip(wall_km[inside] / 3.0, 0.0, 1.0))
    block = elevation[np.ix_(rows, cols)]
    elevation[np.ix_(rows, cols)] = np.minimum(block, surface.reshape(block.shape)).astype(np.float32)


# --- GeoTIFF ------------------------------------------------------------------------------------------
# GeoTIFF tags (OGC GeoTIFF 1.1): pixel size, tie point between raster and model space, and GDAL's nodata.
_TAG_PIXEL_SCALE, _TAG_TIEPOINT, _TAG_GEOKEYS, _TAG_GDAL_NODATA = 33550, 33922, 34735, 42113
_GEOKEY_MODEL_TYPE, _MODEL_TYPE_GEOGRAPHIC = 1024, 2
_GEOKEY_RASTER_TYPE, _RASTER_PIXEL_IS_POINT = 1025, 2


class GeoTiffTerrain(GriddedTerrain):
    """A DEM read from a single-band GeoTIFF in geographic coordinates (WGS84 degrees), such as an SRTM or
    Copernicus DEM tile. Nodata cells become 0 m (sea). Projected GeoTIFFs are refused with a clear error.

    >>> import tempfile, pathlib, tifffile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dem.tif"
    >>> z = np.array([[100, 200], [300, 400]], np.int16)          # north row first, as GeoTIFFs store it
    >>> tifffile.imwrite(p, z, extratags=[(33550, 12, 3, (1.0, 1.0, 0.0)),
    ...                                   (33922, 12, 6, (0, 0, 0, -74.0, -12.0, 0))])
    >>> round(float(GeoTiffTerrain(p).elevation_m(-13.0, -73.0)), 1)   # centre of the four pixels
    250.0
    """

    def __init__(self, path: str | Path):
        import tifffile  # only needed for real DEMs

        path = Path(path)
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            tags = page.tags
            for code, name in ((_TAG_PIXEL_SCALE, "ModelPixelScaleTag"), (_TAG_TIEPOINT, "ModelTiepointTag")):
                if code not in tags:
                    raise ValueError(f"{path}: not a GeoTIFF (no {name}); expected a georeferenced DEM")
            sx, sy = tags[_TAG_PIXEL_SCALE].value[:2]
            i, j, _, x0, y0, _ = tags[_TAG_TIEPOINT].value[:6]
            keys = _geokeys(tags[_TAG_GEOKEYS].value) if _TAG_GEOKEYS in tags else {}
            if keys.get(_GEOKEY_MODEL_TYPE, _MODEL_TYPE_GEOGRAPHIC) != _MODEL_TYPE_GEOGRAPHIC:
                raise ValueError(f"{path}: projected GeoTIFF; expected geographic coordinates (EPSG:4326)")
            z = page.asarray().astype(np.float32)
            if z.ndim != 2:
                raise ValueError(f"{path}: expected a single-band DEM, got an array of shape {z.shape}")
            if _TAG_GDAL_NODATA in tags:
                nodata = float(str(tags[_TAG_GDAL_NODATA].value).strip("\x00 "))
                z[z == nodata] = np.nan
        z = np.nan_to_num(z, nan=0.0)
        # PixelIsArea (the default): the tie point is the corner of the first pixel; centres are half a pixel in.
        half = 0.0 if keys.get(_GEOKEY_RASTER_TYPE) == _RASTER_PIXEL_IS_POINT else 0.5
        lons = x0 + (np.arange(z.shape[1]) - j + half) * sx
        lats = y0 - (np.arange(z.shape[0]) - i + half) * sy
        super().__init__(lats[::-1], lons, z[::-1])


def _geokeys(values) -> dict[int, int]:
    """GeoKeyDirectory: header of 4 shorts, then (key, location, count, value) entries; short values only."""
    values = list(values)
    return {values[k]: values[k + 3] for k in range(4, 4 + 4 * values[3], 4) if values[k + 1] == 0}


# --- line of sight and sites -----------------------------------------------------------------------------
def visible_from(sensor, lat: np.ndarray, lon: np.ndarray, alt_m: np.ndarray, terrain: Terrain,
                 samples: int | None = None) -> np.ndarray:
    """True where the straight (4/3-earth refracted) ray from ``sensor`` (anything with ``lat``, ``lon``,
    ``alt_m``, e.g. :class:`centinela.model.Sensor`) to each target clears the terrain in between.

    The terrain is sampled at ``samples`` points along each ray (default: one per ``LOS_SAMPLE_SPACING_M``
    of the longest ray in a batch); a target is hidden when any sample's apparent elevation angle is at or
    above the target's. Targets below the ground are hidden. Elevation masks are the caller's business.

    >>> from centinela.model import Sensor
    >>> t = SyntheticVraemTerrain()
    >>> radar = Sensor("R", "psr", -12.52, -73.83, float(t.elevation_m(-12.52, -73.83)) + 20)
    >>> visible_from(radar, np.array([-12.45, -12.45]), np.array([-74.18, -74.18]),
    ...              np.array([6000.0, 1000.0]), t).tolist()   # over the next valley: high yes, low no
    [True, False]
    """
    lat, lon, alt_m = (np.atleast_1d(np.asarray(a, float)) for a in np.broadcast_arrays(lat, lon, alt_m))
    out = np.zeros(lat.shape, bool)
    if lat.size == 0:
        return out
    ground_m = haversine_m(sensor.lat, sensor.lon, lat, lon)
    target_el = elevation_4_3_earth_deg(ground_m, alt_m - sensor.alt_m)
    above_ground = alt_m >= terrain.elevation_m(lat, lon) - 1.0
    # Batch targets by range so that each batch samples its rays at about the same spacing.
    order = np.argsort(ground_m, kind="stable")
    for start in range(0, order.size, LOS_CHUNK_TARGETS):
        idx = order[start:start + LOS_CHUNK_TARGETS]
        n = samples or max(8, int(np.ceil(ground_m[idx].max() / LOS_SAMPLE_SPACING_M)))
        f = (np.arange(1, n) / n)[None, :]  # interior points only: the sensor and the target are excluded
        # Short rays (< 1,000 km): interpolating lat/lon linearly stays within metres of the great circle.
        plat = sensor.lat + f * (lat[idx, None] - sensor.lat)
        plon = sensor.lon + f * (lon[idx, None] - sensor.lon)
        ground = terrain.elevation_m(plat, plon)
        terrain_el = elevation_4_3_earth_deg(f * ground_m[idx, None], ground - sensor.alt_m)
        out[idx] = target_el[idx] > terrain_el.max(axis=1)
    return out & above_ground


class Viewshed:
    """What a sensor can see over the terrain, precomputed: for each azimuth sector and range step, the
    highest apparent elevation angle (4/3 earth) of the ground between the sensor and that range. A target
    is visible when its own apparent elevation is above that horizon — one table lookup per target, so
    millions of radar looks cost almost nothing. It agrees with :func:`visible_from` except for targets
    grazing a ridge within the sector's width (0.25 degrees: ~650 m at 150 km).

    >>> from centinela.model import Sensor
    >>> t = SyntheticVraemTerrain()
    >>> radar = Sensor("R", "psr", -12.52, -73.83, float(t.elevation_m(-12.52, -73.83)) + 20)
    >>> Viewshed(radar, t, 150_000.0).visible(np.array([-12.45, -12.45]), np.array([-74.18, -74.18]),
    ...                                       np.array([6000.0, 1000.0])).tolist()
    [True, False]
    """

    def __init__(self, sensor, terrain: Terrain, range_max_m: float, azimuth_step_deg: float = 0.25,
                 range_step_m: float = 500.0):
        from centinela.geo.frames import destination

        self.sensor, self.terrain = sensor, terrain
        self.azimuth_step_deg, self.range_step_m = azimuth_step_deg, range_step_m
        azimuths = np.arange(0.0, 360.0, azimuth_step_deg)
        ranges = np.arange(1, int(np.ceil(range_max_m / range_step_m)) + 2) * range_step_m
        lat, lon = destination(sensor.lat, sensor.lon, azimuths[:, None], ranges[None, :])
        ground_el = elevation_4_3_earth_deg(ranges[None, :], terrain.elevation_m(lat, lon) - sensor.alt_m)
        # horizon[a, k]: the highest ground angle strictly before range step k (index 0: nothing in between).
        self.horizon = np.concatenate([np.full((azimuths.size, 1), -90.0),
                                       np.maximum.accumulate(ground_el, axis=1)], axis=1)

    def visible(self, lat: np.ndarray, lon: np.ndarray, alt_m: np.ndarray) -> np.ndarray:
        from centinela.geo.frames import bearing_deg

        lat, lon, alt_m = (np.atleast_1d(np.asarray(a, float)) for a in np.broadcast_arrays(lat, lon, alt_m))
        ground_m = haversine_m(self.sensor.lat, self.sensor.lon, lat, lon)
        target_el = elevation_4_3_earth_deg(ground_m, alt_m - self.sensor.alt_m)
        a = np.round(bearing_deg(self.sensor.lat, self.sensor.lon, lat, lon) / self.azimuth_step_deg).astype(int)
        a %= self.horizon.shape[0]
        k = np.clip(np.floor(ground_m / self.range_step_m).astype(int), 0, self.horizon.shape[1] - 1)
        above_ground = alt_m >= self.terrain.elevation_m(lat, lon) - 1.0
        return (target_el > self.horizon[a, k]) & above_ground


def terrain_grid(terrain: Terrain, lat_min: float, lat_max: float, lon_min: float, lon_max: float,
                 step_deg: float = 0.005) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elevations of ``terrain`` sampled on a regular grid: (lats, lons, elevation[lat, lon])."""
    lats = np.arange(lat_min, lat_max + step_deg / 2, step_deg)
    lons = np.arange(lon_min, lon_max + step_deg / 2, step_deg)
    grid_lat, grid_lon = np.meshgrid(lats, lons, indexing="ij")
    return lats, lons, terrain.elevation_m(grid_lat, grid_lon)


def flat_sites(terrain: Terrain, lat_min: float, lat_max: float, lon_min: float, lon_max: float, *,
               max_elevation_m: float = 1_000.0, min_elevation_m: float = -1e9, max_slope: float = 0.03,
               min_relief_m: float = 0.0, relief_radius_m: float = 8_000.0,
               step_deg: float = 0.005) -> pd.DataFrame:
    """Candidate airstrip sites: grid points (every ``step_deg``) whose elevation is within bounds and whose
    slope (rise over run, from central differences) is at most ``max_slope``. ``min_relief_m`` > 0 keeps only
    valley floors: the terrain must rise that much within ``relief_radius_m`` (plains have no relief).

    Returns a DataFrame with ``lat, lon, elevation_m, slope, relief_m``.

    >>> sites = flat_sites(SyntheticVraemTerrain(), -13.3, -11.3, -74.6, -73.4, min_relief_m=800.0)
    >>> bool(len(sites) > 100 and sites.elevation_m.max() <= 1000 and sites.slope.max() <= 0.03)
    True
    """
    lats, lons, z = terrain_grid(terrain, lat_min, lat_max, lon_min, lon_max, step_deg)
    dy = step_deg * M_PER_DEG_LAT
    dx = step_deg * M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lats))[:, None]
    gy, gx = np.gradient(z)
    slope = np.hypot(gx / dx, gy / dy)
    radius_cells = max(1, round(relief_radius_m / dy))
    relief = maximum_filter(z, size=2 * radius_cells + 1, mode="nearest") - z
    keep = (z <= max_elevation_m) & (z >= min_elevation_m) & (slope <= max_slope) & (relief >= min_relief_m)
    # Drop the grid's outer ring, whose one-sided gradients are unreliable.
    keep[[0, -1], :] = False
    keep[:, [0, -1]] = False
    i, j = np.nonzero(keep)
    return pd.DataFrame({"lat": lats[i], "lon": lons[j], "elevation_m": z[i, j], "slope": slope[i, j],
                         "relief_m": relief[i, j]})


# The optional scenario file that carries the terrain (an extension of CONTRACT.md's inputs).
SCENARIO_TERRAIN_FILE = "terrain.tif"


def write_geotiff(terrain: GriddedTerrain, path: str | Path) -> None:
    """Write a gridded terrain as a geographic GeoTIFF (int16 metres, PixelIsPoint) that
    :class:`GeoTiffTerrain` and GIS tools read back.

    >>> import tempfile, pathlib
    >>> g = GriddedTerrain(np.array([-13.0, -12.0]), np.array([-74.0, -73.0]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.tif"
    >>> write_geotiff(g, p)
    >>> GeoTiffTerrain(p).elevation_m(-12.0, -73.0).tolist()
    4.0
    """
    import tifffile

    dlat = float(terrain.lats[1] - terrain.lats[0])
    dlon = float(terrain.lons[1] - terrain.lons[0])
    z = np.rint(terrain.elevation[::-1]).astype(np.int16)  # GeoTIFF rows run north to south
    geokeys = (1, 1, 0, 3, _GEOKEY_MODEL_TYPE, 0, 1, _MODEL_TYPE_GEOGRAPHIC,
               _GEOKEY_RASTER_TYPE, 0, 1, _RASTER_PIXEL_IS_POINT, 2048, 0, 1, 4326)
    tifffile.imwrite(Path(path), z, compression="zlib", extratags=[
        (_TAG_PIXEL_SCALE, 12, 3, (dlon, dlat, 0.0)),
        (_TAG_TIEPOINT, 12, 6, (0, 0, 0, float(terrain.lons[0]), float(terrain.lats[-1]), 0.0)),
        (_TAG_GEOKEYS, 3, len(geokeys), geokeys),
    ])


def default_terrain(scenario_path: str | Path | None) -> Terrain | None:
    """The terrain analysis uses for a scenario: its ``terrain.tif`` DEM when it has one, else None.

    Analysis never assumes the simulator's synthetic terrain: a real recording comes with a real DEM or
    with none, and the detectors then fall back to reasoning without terrain."""
    if scenario_path is None:
        return None
    path = Path(scenario_path) / SCENARIO_TERRAIN_FILE
    return GeoTiffTerrain(path) if path.exists() else None
