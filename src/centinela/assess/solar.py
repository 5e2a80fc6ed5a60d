"""Where the sun stands: its elevation and whether it is morning, for the dawn indicator.

Air-bridge landings happen "just after dawn" (DESIGN.md): light enough for a pilot flying by sight and GPS to
find an unlit dirt strip, early enough to be gone before the day's patrols. Dawn is a matter of the sun, not of
the clock: in the VRAEM sunrise moves by about 40 minutes over the year and by more between places, so a fixed
local-time window (UTC−5) would be too wide in one season and miss in another. The indicator therefore uses
the sun's elevation, from NOAA's low-precision solar position equations (Spencer's Fourier series for the
declination and the equation of time; good to about 0.1°, far finer than "dawn" needs).

>>> t = 1780297200.0  # 2026-06-01 07:00 UTC = 02:00 local time in the VRAEM: night
>>> float(sun_elevation_deg(t, -12.5, -73.8)) < -30
True
>>> dawn = 1780297200.0 + 4.25 * 3600  # 06:15 local, a few minutes after sunrise in June
>>> bool(is_dawn(dawn, -12.5, -73.8))
True
"""
from __future__ import annotations

import numpy as np

from centinela.geo.frames import ArrayLike

SECONDS_PER_DAY = 86_400.0
# The sun's centre is 0.833° below the horizon at sunrise (refraction + its half-width); civil dawn, when a
# pilot can see the ground without lights, begins at −6°.
CIVIL_DAWN_ELEVATION_DEG = -6.0
# "Just after dawn": until the sun is 20° up, about 1.3 h after sunrise at the VRAEM's latitude (the sun
# climbs ~15° an hour there). Later landings are daytime ones.
DAWN_END_ELEVATION_DEG = 20.0


def sun_elevation_deg(t_s: ArrayLike, lat: ArrayLike, lon: ArrayLike) -> np.ndarray:
    """Elevation of the sun's centre above the horizon (degrees, no refraction) at UTC epoch ``t_s``."""
    t = np.asarray(t_s, float)
    hours = (t % SECONDS_PER_DAY) / 3600.0
    g = _year_angle(t)
    eq_time_min = 229.18 * (0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g)
                            - 0.014615 * np.cos(2 * g) - 0.040849 * np.sin(2 * g))
    decl = (0.006918 - 0.399912 * np.cos(g) + 0.070257 * np.sin(g) - 0.006758 * np.cos(2 * g)
            + 0.000907 * np.sin(2 * g) - 0.002697 * np.cos(3 * g) + 0.00148 * np.sin(3 * g))
    solar_time_min = hours * 60.0 + eq_time_min + 4.0 * np.asarray(lon, float)
    hour_angle = np.radians(solar_time_min / 4.0 - 180.0)
    phi = np.radians(np.asarray(lat, float))
    cos_zenith = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(hour_angle)
    return 90.0 - np.degrees(np.arccos(np.clip(cos_zenith, -1.0, 1.0)))


def _year_angle(t: np.ndarray) -> np.ndarray:
    """The fractional year γ (radians) of NOAA's equations: 2π/365 · (day of year − 1 + (hour − 12)/24)."""
    whole_s = np.floor(t).astype("int64").astype("datetime64[s]")
    year_start = whole_s.astype("datetime64[Y]").astype("datetime64[s]")
    days_since_new_year = (t - year_start.astype("int64")) / SECONDS_PER_DAY
    # days_since_new_year = (day of year − 1) + hour/24, so subtract the half day NOAA's form carries.
    return 2 * np.pi / 365.0 * (days_since_new_year - 0.5)


def is_morning(t_s: ArrayLike, lon: ArrayLike) -> np.ndarray:
    """True before local solar noon (the sun is rising)."""
    t = np.asarray(t_s, float)
    solar_hours = ((t % SECONDS_PER_DAY) / 3600.0 + np.asarray(lon, float) / 15.0) % 24.0
    return solar_hours < 12.0


def is_dawn(t_s: ArrayLike, lat: ArrayLike, lon: ArrayLike) -> np.ndarray:
    """True from civil dawn until the morning sun is :data:`DAWN_END_ELEVATION_DEG` up."""
    elevation = sun_elevation_deg(t_s, lat, lon)
    return (elevation >= CIVIL_DAWN_ELEVATION_DEG) & (elevation <= DAWN_END_ELEVATION_DEG) & is_morning(t_s, lon)
