"""Measurements into the tracker's plane, and track states back to WGS84.

The tracker's horizontal state is the east and north coordinate, in one :class:`~centinela.geo.frames.LocalFrame`,
of the aircraft's 3-D position. A radar plot (slant range, azimuth) becomes a point of that plane with the
*unbiased converted measurement* of Longbin, Xiaoquan, Yiyu, Kang and Bar-Shalom (IEEE T-AES 34(4), 1998):
the polar-to-Cartesian mean is de-biased by ``exp(σθ²/2)`` and its covariance is the exact second moment,
which stays right where the cross-range error ``ρσθ`` dwarfs the range error. Slant range becomes ground
range through the target's altitude on a sphere of the local Gaussian radius; when the altitude is only
assumed (a primary-radar plot of a track with no mode C or ADS-B), its uncertainty is added to the
covariance along the line of sight, so the gate and the update know how little a close plot says about range.

Each sensor's plots are first computed in the sensor's own east-north-up frame (the one in which azimuths are
measured) and then moved into the tracker's frame by a fixed rotation and offset, so a radar 300 km from the
frame origin is handled exactly, meridian convergence included.

>>> from centinela.model import Sensor
>>> radar = Sensor("R", "psr", -12.5, -73.8, 1000.0, sigma_range_m=50.0, sigma_azimuth_deg=0.15)
>>> geometry = SensorGeometry(LocalFrame(-12.5, -73.8), [radar])
>>> z, cov = geometry.polar_to_local(np.array([0]), np.array([50_000.0]), np.array([90.0]),
...                                   np.array([2000.0]), np.array([30.0]))
>>> round(float(z[0, 0])), round(float(z[0, 1]))    # due east, ground range just under 50 km
(49994, 0)
>>> round(float(np.sqrt(cov[0, 1, 1])))             # north error: 50 km x 0.15 deg
131
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from centinela.geo.frames import LocalFrame
from centinela.model import Sensor

WGS84_E2 = 6.694379990141e-3  # first eccentricity squared


def gaussian_radius_m(lat_deg: float) -> float:
    """Radius of the sphere that best fits the WGS84 ellipsoid around a latitude: √(M·N)."""
    s2 = np.sin(np.radians(lat_deg)) ** 2
    a = 6_378_137.0
    meridian = a * (1 - WGS84_E2) / (1 - WGS84_E2 * s2) ** 1.5
    normal = a / np.sqrt(1 - WGS84_E2 * s2)
    return float(np.sqrt(meridian * normal))


class SensorGeometry:
    """Where each sensor is in the tracker's frame and how its azimuths are oriented there.

    Sensors are addressed by their position in ``sensors`` (an integer array ``sensor_index``), so the
    conversions are single NumPy expressions over all plots of a batch.
    """

    def __init__(self, frame: LocalFrame, sensors: Sequence[Sensor]):
        self.frame = frame
        self.sensors = list(sensors)
        n = len(self.sensors)
        self.origin_m = np.zeros((n, 3))
        self.rotation = np.zeros((n, 3, 3))  # sensor ENU → frame ENU
        self.alt_m = np.zeros(n)
        self.radius_m = np.zeros(n)
        for i, s in enumerate(self.sensors):
            self.origin_m[i] = np.array(frame.to_enu(s.lat, s.lon, s.alt_m), dtype=float).reshape(3)
            self.rotation[i] = frame.rotation @ LocalFrame(s.lat, s.lon, s.alt_m).rotation.T
            self.alt_m[i] = s.alt_m
            self.radius_m[i] = gaussian_radius_m(s.lat)
        self.sigma_range_m = np.array([s.sigma_range_m or 0.0 for s in self.sensors], dtype=float)
        self.sigma_azimuth_rad = np.radians([s.sigma_azimuth_deg or 0.0 for s in self.sensors]).astype(float)
        self.frame_radius_m = gaussian_radius_m(frame.lat0)

    def polar_to_local(
        self,
        sensor_index: np.ndarray,
        range_m: np.ndarray,
        azimuth_deg: np.ndarray,
        target_alt_m: np.ndarray,
        target_alt_sigma_m: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Plots (slant range, azimuth) of targets at a given altitude (± sigma) → positions (n, 2) and
        covariances (n, 2, 2) in the tracker's east-north plane."""
        k = np.asarray(sensor_index, dtype=np.intp)
        r = np.asarray(range_m, float)
        theta = np.radians(np.asarray(azimuth_deg, float))
        h = np.asarray(target_alt_m, float)
        sigma_h = np.asarray(target_alt_sigma_m, float)
        radius, h_s = self.radius_m[k], self.alt_m[k]
        sigma_r, sigma_theta = self.sigma_range_m[k], self.sigma_azimuth_rad[k]

        # Height of the target above the sensor's tangent plane, from the sphere through the target and the
        # triangle (earth centre, sensor, target): exact on the sphere, no small-angle approximation.
        base = radius + h_s
        up = ((radius + h) ** 2 - base**2 - r**2) / (2.0 * base)
        dup_dh = (radius + h) / base
        # An assumed altitude that does not fit the slant range (a target overhead): keep a ground range of
        # a tenth of the slant range; the altitude term below then makes the plot nearly uninformative in range.
        # The metre floor keeps a zero-range plot (a garbled record) finite instead of dividing by zero.
        rho = np.sqrt(np.maximum(r**2 - up**2, np.maximum((0.1 * r) ** 2, 1.0)))
        drho_dr = r * (1.0 + up / base) / rho
        drho_dh = -up * dup_dh / rho
        var_rho = (drho_dr * sigma_r) ** 2

        # Unbiased converted measurement (Longbin et al. 1998) with azimuth from north, x east, y north.
        lam = np.exp(-(sigma_theta**2) / 2.0)
        lam2 = np.exp(-2.0 * sigma_theta**2)
        sin_t, cos_t = np.sin(theta), np.cos(theta)
        cos_2t, sin_2t = np.cos(2 * theta), np.sin(2 * theta)
        east_s, north_s = rho * sin_t / lam, rho * cos_t / lam
        a = lam**-2 - 2.0
        b = 0.5 * (rho**2 + var_rho)
        cov_s = np.empty((len(r), 2, 2))
        cov_s[:, 0, 0] = a * rho**2 * sin_t**2 + b * (1.0 - lam2 * cos_2t)
        cov_s[:, 1, 1] = a * rho**2 * cos_t**2 + b * (1.0 + lam2 * cos_2t)
        cov_s[:, 0, 1] = cov_s[:, 1, 0] = a * rho**2 * sin_t * cos_t + b * lam2 * sin_2t

        rot = self.rotation[k]  # (n, 3, 3)
        local = self.origin_m[k] + np.einsum("nij,nj->ni", rot, np.stack([east_s, north_s, up], axis=1))
        horizontal = rot[:, :2, :2]
        cov = horizontal @ cov_s @ horizontal.transpose(0, 2, 1)
        # How the position in the tracker's plane moves when the target's altitude changes.
        d_dh = np.einsum("nij,nj->ni", rot[:, :2, :], np.stack([drho_dh * sin_t, drho_dh * cos_t, dup_dh], axis=1))
        cov += (sigma_h**2)[:, None, None] * d_dh[:, :, None] * d_dh[:, None, :]
        return local[:, :2], cov

    def geodetic_to_local(self, lat: np.ndarray, lon: np.ndarray, alt_m: np.ndarray) -> np.ndarray:
        """WGS84 positions (ADS-B) → (n, 2) east, north in the tracker's plane."""
        e, n, _ = self.frame.to_enu(lat, lon, alt_m)
        return np.stack([np.asarray(e, float).reshape(-1), np.asarray(n, float).reshape(-1)], axis=1)

    def local_to_geodetic(self, east_m: np.ndarray, north_m: np.ndarray, alt_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points of the tracker's plane at a given altitude → latitude, longitude (degrees).

        The plane coordinates of a point depend on its altitude (the frame's 'up' is not the local vertical
        far from the origin), so the 'up' coordinate that puts the point at ``alt_m`` is found first: the
        sphere's drop as a start, then one correction by the altitude it actually gives (error < 1 m).
        """
        e, n, h = (np.asarray(v, float) for v in (east_m, north_m, alt_m))
        if e.size == 0:
            return np.empty(0), np.empty(0)
        up = h - self.frame.alt0_m - (e**2 + n**2) / (2.0 * self.frame_radius_m)
        _, _, got = self.frame.to_geodetic(e, n, up)
        lat, lon, _ = self.frame.to_geodetic(e, n, up + (h - got))
        return np.asarray(lat), np.asarray(lon)

    def local_velocity_to_north_east(
        self, lat: np.ndarray, lon: np.ndarray, v_east_mps: np.ndarray, v_north_mps: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Velocity along the frame's east and north → along the local north and east at each point."""
        v_ecef = np.stack([v_east_mps, v_north_mps, np.zeros_like(v_east_mps)], axis=1) @ self.frame.rotation
        phi, lam = np.radians(lat), np.radians(lon)
        east = -np.sin(lam) * v_ecef[:, 0] + np.cos(lam) * v_ecef[:, 1]
        north = (
            -np.sin(phi) * np.cos(lam) * v_ecef[:, 0] - np.sin(phi) * np.sin(lam) * v_ecef[:, 1]
            + np.cos(phi) * v_ecef[:, 2]
        )
        return north, east
