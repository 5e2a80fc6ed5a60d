"""The terrain the simulator flies over: VRAEM-like statistics, NW-SE grain, interpolation, GeoTIFF DEMs,
line of sight and valley-floor sites."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

from centinela.geo.terrain import (
    GeoTiffTerrain,
    SyntheticVraemTerrain,
    Terrain,
    Viewshed,
    flat_sites,
    terrain_grid,
    visible_from,
)
from centinela.model import Sensor

TERRAIN = SyntheticVraemTerrain()
# DESIGN.md: the VRAEM spans roughly latitude -11.3 to -13.3 and longitude -73.4 to -74.6.
VRAEM = (-13.3, -11.3, -74.6, -73.4)


def test_vraem_has_valley_floors_and_high_ridges():
    _, _, z = terrain_grid(TERRAIN, *VRAEM, step_deg=0.01)
    floors, ridges = np.percentile(z, 3), np.percentile(z, 99)
    assert 400 <= floors <= 1_000, "valley floors 500-1,000 m (DESIGN.md)"
    assert 3_500 <= ridges <= 5_500, "ridges to ~4,000 m (DESIGN.md)"
    assert (z < 1_000).mean() > 0.03  # the valleys are a real part of the area


def test_andes_to_the_west_lowlands_to_the_east():
    assert float(TERRAIN.elevation_m(-14.5, -72.0)) > 2_500  # Andean plateau
    for lat, lon in [(-11.5, -66.0), (-13.0, -66.5), (-14.0, -65.5)]:  # Beni and Pando
        assert 100 <= float(TERRAIN.elevation_m(lat, lon)) <= 350
    assert float(TERRAIN.elevation_m(-12.5, -78.0)) == 0.0  # the Pacific
    # Registered airfields sit at their published elevation (airportsdata): Cusco 3,310 m, Lima 34 m.
    assert float(TERRAIN.elevation_m(-13.5357, -71.9388)) == pytest.approx(3_310, abs=30)
    assert float(TERRAIN.elevation_m(-12.0219, -77.1143)) == pytest.approx(34, abs=5)


def test_ridges_and_valleys_run_north_west_to_south_east():
    *_, z = terrain_grid(TERRAIN, -14.0, -11.0, -75.5, -72.5, step_deg=0.01)
    dy, dx = np.gradient(z, 0.01 * 110_574.0, 0.01 * 108_600.0)  # north, east gradients (m/m)
    # Slope across the grain (towards the north-east, bearing 55) vs along it (towards the north-west, 325).
    across = np.abs(dx * np.sin(np.radians(55)) + dy * np.cos(np.radians(55)))
    along = np.abs(dx * np.sin(np.radians(325)) + dy * np.cos(np.radians(325)))
    assert across.mean() > 1.3 * along.mean()


def test_synthetic_terrain_is_deterministic():
    from centinela.geo.terrain import SyntheticTerrainParams, _build_synthetic

    fresh = _build_synthetic.__wrapped__(SyntheticTerrainParams())[2]
    assert np.array_equal(fresh, TERRAIN.elevation)
    assert isinstance(TERRAIN, Terrain)


def test_bilinear_interpolation_matches_scipy_regular_grid_interpolator():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-17.7, -8.1, 5_000), rng.uniform(-77.9, -63.1, 5_000)
    reference = RegularGridInterpolator((TERRAIN.lats, TERRAIN.lons), TERRAIN.elevation.astype(float))
    assert np.allclose(TERRAIN.elevation_m(lat, lon), reference(np.c_[lat, lon]), atol=0.05)
    assert TERRAIN.elevation_m(np.zeros((2, 3)) - 12.0, np.zeros((2, 3)) - 74.0).shape == (2, 3)


def test_geotiff_dem_is_read_with_its_georeferencing(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    z = np.arange(12, dtype=np.int16).reshape(3, 4) * 100  # north row first
    path = tmp_path / "dem.tif"
    tifffile.imwrite(path, z, extratags=[(33550, 12, 3, (0.5, 0.25, 0.0)),
                                         (33922, 12, 6, (0, 0, 0, -75.0, -12.0, 0.0)),
                                         (42113, 2, 6, "-9999")])
    dem = GeoTiffTerrain(path)
    # Pixel (row 1, column 2) covers lon -74.0..-73.5, lat -12.25..-12.5: its centre holds 600 m.
    assert float(dem.elevation_m(-12.375, -73.75)) == pytest.approx(600.0)
    assert dem.bounds == pytest.approx((-12.625, -12.125, -74.75, -73.25))
    bad = tmp_path / "plain.tif"
    tifffile.imwrite(bad, z)
    with pytest.raises(ValueError, match="not a GeoTIFF"):
        GeoTiffTerrain(bad)


def test_line_of_sight_is_blocked_by_ridges_and_the_horizon():
    radar = Sensor("R", "psr", -13.0, -66.0, float(TERRAIN.elevation_m(-13.0, -66.0)) + 30.0)  # Beni plains
    # Flat plains: a target 1,000 m up is in sight at 100 km, hidden by the earth's curvature at 250 km
    # (4/3-earth horizon of 1,000 m is ~130 km, plus ~23 km for the 30 m mast).
    lat, lon = np.array([-13.0, -13.0]), np.array([-66.0 - 100 / 108.6, -66.0 - 250 / 108.6])
    assert visible_from(radar, lat, lon, np.full(2, 1_200.0), TERRAIN).tolist() == [True, False]
    # In the VRAEM: a radar on the Apurimac floor cannot see the next valley's floor over the ridge.
    floor = Sensor("F", "psr", -12.52, -73.83, float(TERRAIN.elevation_m(-12.52, -73.83)) + 20.0)
    assert not visible_from(floor, -12.45, -74.18, 1_000.0, TERRAIN)[0]
    assert visible_from(floor, -12.45, -74.18, 7_000.0, TERRAIN)[0]


def test_viewshed_agrees_with_exact_line_of_sight():
    radar = Sensor("R", "psr", -12.628, -73.911, 3_628.0)
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(-13.8, -11.4, 20_000), rng.uniform(-75.0, -72.8, 20_000)
    alt = TERRAIN.elevation_m(lat, lon) + rng.uniform(0.0, 3_000.0, lat.size)
    exact = visible_from(radar, lat, lon, alt, TERRAIN)
    fast = Viewshed(radar, TERRAIN, 150_000.0).visible(lat, lon, alt)
    assert 0.1 < exact.mean() < 0.9
    assert (exact == fast).mean() > 0.98


def test_flat_sites_are_low_flat_valley_floors():
    sites = flat_sites(TERRAIN, *VRAEM, min_relief_m=800.0)
    assert len(sites) > 100
    assert sites["elevation_m"].max() <= 1_000 and sites["slope"].max() <= 0.03
    assert sites["relief_m"].min() >= 800
    assert sites["lat"].between(VRAEM[0], VRAEM[1]).all() and sites["lon"].between(VRAEM[2], VRAEM[3]).all()
    plains = flat_sites(TERRAIN, -14.0, -12.0, -67.0, -65.0, min_relief_m=800.0)
    assert plains.empty, "the Bolivian plains have no valley walls"
