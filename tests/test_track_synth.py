"""A tiny scene generator for the tracker's tests: sensors, flight paths, radar plots with polar noise and
clutter, ADS-B messages. Paths are built in a tangent plane at the first sensor and seen by each radar through
``geo.frames.geodetic_to_aer``, the same geometry a real radar (and the simulator) has.

Imported by the other ``test_track*`` files; the tests at the bottom check the generator itself.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela import model
from centinela.geo.frames import LocalFrame, geodetic_to_aer

ORIGIN = (-12.5, -73.8)
T0 = 1_780_000_000.0  # an epoch time in 2026


def radar(sensor_id: str, east_km: float = 0.0, north_km: float = 0.0, *, kind: str = "psr", pd: float = 1.0,
          clutter_per_scan: float = 0.0, scan_s: float = 10.0) -> model.Sensor:
    lat, lon, _ = LocalFrame(*ORIGIN).to_geodetic(east_km * 1e3, north_km * 1e3, 0.0)
    return model.Sensor(sensor_id, kind, float(lat), float(lon), 800.0, scan_s=scan_s, range_max_m=150_000.0,
                        sigma_range_m=50.0, sigma_azimuth_deg=0.15, pd=pd, clutter_per_scan=clutter_per_scan)


def path(duration_s: float, *, east_km: float, north_km: float, speed_mps: float = 70.0,
         heading_deg: float = 90.0, alt_m: float = 2500.0, turns: tuple = (), t_start_s: float = 0.0) -> pd.DataFrame:
    """A flight sampled every second: constant speed, straight except for ``turns`` = ((start_s, end_s,
    rate_dps), ...) measured from the path's start. Columns t, lat, lon, alt_m, turning."""
    t = np.arange(0.0, duration_s + 1.0, 1.0)
    rate = np.zeros_like(t)
    for start, end, dps in turns:
        rate[(t >= start) & (t < end)] = dps
    heading = np.radians(heading_deg + np.concatenate([[0.0], np.cumsum(rate[:-1])]))
    east = east_km * 1e3 + np.concatenate([[0.0], np.cumsum(speed_mps * np.sin(heading[:-1]))])
    north = north_km * 1e3 + np.concatenate([[0.0], np.cumsum(speed_mps * np.cos(heading[:-1]))])
    lat, lon, _ = LocalFrame(*ORIGIN).to_geodetic(east, north, 0.0)
    return pd.DataFrame({"t": T0 + t_start_s + t, "lat": lat, "lon": lon, "alt_m": alt_m, "turning": rate != 0})


def radar_plots(sensor: model.Sensor, truths: dict[str, pd.DataFrame], rng: np.random.Generator, *,
                identity: dict[str, dict] | None = None, t_end_s: float | None = None) -> pd.DataFrame:
    """One plot per target per scan (with probability pd), noisy in range and azimuth, plus clutter. A target
    is seen when the beam passes its azimuth; ``identity`` adds SSR fields per target."""
    rows = []
    for target, truth in truths.items():
        az, _, rng_m = geodetic_to_aer(sensor.lat, sensor.lon, sensor.alt_m, truth.lat, truth.lon, truth.alt_m)
        scan = np.floor((truth.t.to_numpy() - T0) / sensor.scan_s)
        beam_t = T0 + (scan + az / 360.0) * sensor.scan_s  # when the beam points at the target
        # the truth sample (1 s) closest to the beam passing, once per scan
        close = np.abs(truth.t.to_numpy() - beam_t) <= 0.5
        first = close & ~pd.Series(scan).where(close).duplicated().to_numpy()
        seen = first & (rng.random(len(truth)) < sensor.pd) & (rng_m <= sensor.range_max_m)
        n = int(seen.sum())
        # the target where it is when the beam passes (between the 1-s truth samples)
        lat, lon = truth_at(truth, beam_t[seen])
        az_s, _, r_s = geodetic_to_aer(sensor.lat, sensor.lon, sensor.alt_m, lat, lon, truth.alt_m.to_numpy()[seen])
        plot = pd.DataFrame({
            "t": beam_t[seen], "sensor": sensor.id,
            "range_m": r_s + rng.normal(0, sensor.sigma_range_m, n),
            "azimuth_deg": (az_s + rng.normal(0, sensor.sigma_azimuth_deg, n)) % 360.0,
            "target": target,
        })
        for name, value in (identity or {}).get(target, {}).items():
            plot[name] = value
        if identity and target in identity:
            plot["alt_m"] = truth.alt_m.to_numpy()[seen] + rng.normal(0, 10.0, n)
        rows.append(plot)
    if sensor.clutter_per_scan:
        end = t_end_s if t_end_s is not None else max(float(tr.t.max() - T0) for tr in truths.values())
        scans = int(end // sensor.scan_s)
        count = rng.poisson(sensor.clutter_per_scan, scans)
        k = np.repeat(np.arange(scans), count)
        az = rng.uniform(0, 360, len(k))
        rows.append(pd.DataFrame({
            "t": T0 + (k + az / 360.0) * sensor.scan_s, "sensor": sensor.id,
            # uniform over the coverage area: range density grows with range
            "range_m": sensor.range_max_m * np.sqrt(rng.uniform(0.01, 1.0, len(k))), "azimuth_deg": az,
            "target": "clutter",
        }))
    plots = pd.concat(rows, ignore_index=True).sort_values("t", kind="stable", ignore_index=True)
    return model.conform(plots, model.PLOT_COLUMNS)


def adsb_messages(truth: pd.DataFrame, icao24: str, callsign: str | None = None, every_s: float = 2.0,
                  rng: np.random.Generator | None = None) -> pd.DataFrame:
    """SBS rows: an identity message first, then airborne positions every ``every_s`` (noise 20 m)."""
    rng = rng or np.random.default_rng(0)
    pos = truth[(truth.t - truth.t.iloc[0]) % every_s == 0]
    noise_deg = 20.0 / 111_000.0
    rows = pd.DataFrame({
        "t": pos.t.to_numpy(), "icao24": icao24, "msg_type": 3, "alt_m": pos.alt_m.to_numpy(),
        "lat": pos.lat.to_numpy() + rng.normal(0, noise_deg, len(pos)),
        "lon": pos.lon.to_numpy() + rng.normal(0, noise_deg, len(pos)),
    })
    if callsign:
        ident = pd.DataFrame({"t": [truth.t.iloc[0] - 0.5], "icao24": [icao24], "msg_type": [1], "callsign": [callsign]})
        rows = pd.concat([ident, rows], ignore_index=True)
    return model.conform(rows, model.ADSB_COLUMNS)


def scenario(sensors: list[model.Sensor], plots: pd.DataFrame | None = None,
             adsb: pd.DataFrame | None = None) -> model.Scenario:
    return model.Scenario(
        path=".", sensors=sensors,
        plots=model.empty_frame(model.PLOT_COLUMNS) if plots is None else model.conform(plots, model.PLOT_COLUMNS),
        adsb=model.empty_frame(model.ADSB_COLUMNS) if adsb is None else adsb,
        observations=model.empty_frame(model.OBSERVATION_COLUMNS),
        flightplans=model.empty_frame(model.FLIGHTPLAN_COLUMNS), airfields=None,
    )


def truth_at(truth: pd.DataFrame, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Truth latitude, longitude interpolated at times ``t``."""
    return np.interp(t, truth.t, truth.lat), np.interp(t, truth.t, truth.lon)


# --- the generator itself ---------------------------------------------------------------------------------
def test_path_turns_by_the_requested_angle():
    p = path(200.0, east_km=0, north_km=0, heading_deg=0.0, turns=((50, 80, 3.0),))
    lat, lon = p.lat.to_numpy(), p.lon.to_numpy()
    from centinela.geo.frames import bearing_deg
    assert abs(float(bearing_deg(lat[0], lon[0], lat[40], lon[40])) - 0.0) < 0.5
    assert abs(float(bearing_deg(lat[150], lon[150], lat[190], lon[190])) - 90.0) < 0.5


def test_radar_plots_once_per_scan_with_the_sensor_noise():
    s = radar("PSR-1")
    truth = path(600.0, east_km=40, north_km=10)
    plots = radar_plots(s, {"a": truth}, np.random.default_rng(1))
    assert len(plots) == 60
    assert np.all(np.diff(plots.t) > 9.0)
    _, _, r = geodetic_to_aer(s.lat, s.lon, s.alt_m, *truth_at(truth, plots.t.to_numpy()), 2500.0)
    assert 30.0 < np.std(plots.range_m - r) < 75.0
