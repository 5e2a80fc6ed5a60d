"""Flight phase of every track update: ``ground``, ``hover``, ``low_slow``, ``climb``, ``descent``, ``cruise``.

With altitude (SSR mode C, ADS-B) the vertical rate and the height above the terrain decide; a primary-radar
track has no altitude, so its phase comes from speed, along-track acceleration and turn rate: light aircraft
speed up as they climb away and slow down as they descend to land, and the tight turns of a pattern or of a
search are flown slow and low.

>>> from centinela.detect.synthetic import straight_track
>>> flight_phases(straight_track(speed_mps=70.0))["phase"].unique().tolist()
['cruise']
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela.detect.kinematics import motion

PHASES = ("ground", "hover", "low_slow", "climb", "descent", "cruise")
# Climb/descent when the vertical rate passes 2 m/s (~400 ft/min): light aircraft climb at 3-5 m/s and
# descend at 2-4 m/s, while level flight through 25 ft altitude steps reads at most ~0.4 m/s.
VERTICAL_RATE_MPS = 2.0
# Below 5 m/s an airborne aircraft is hovering: only rotorcraft (and balloons) can.
HOVER_SPEED_MPS = 5.0
# Approach and pattern speeds of light aircraft are 30-45 m/s and helicopters work below ~45 m/s close to
# the ground; 300 m above the terrain is pattern altitude.
LOW_SLOW_SPEED_MPS = 45.0
LOW_AGL_M = 300.0
# Without altitude: a sustained speed change of 0.25 m/s^2 (15 m/s a minute) is an aircraft changing
# regime (climbing away after take-off, slowing to land), not wind or plot noise after filtering.
ACCEL_MPS2 = 0.25
# A standard-rate turn is 3 deg/s; sustained faster turns are flown slow, in a pattern or a search.
TURN_RATE_DPS = 3.0


def flight_phases(tracks: pd.DataFrame, terrain=None, registered: pd.DataFrame | None = None) -> pd.DataFrame:
    """Phase label per update, aligned with ``tracks`` (same index).

    Columns: ``track_id``, ``t``, ``phase`` (one of :data:`PHASES`), ``phase_source`` (``altitude`` or
    ``kinematics``), ``speed_mps``, ``vz_mps``, ``agl_m``, ``turn_rate_dps``, ``accel_mps2``.
    """
    m = motion(tracks, terrain=terrain, registered=registered)
    return _label(m).reindex(tracks.index)


def _label(m: pd.DataFrame) -> pd.DataFrame:
    speed = m["speed_mps"].to_numpy(float)
    vz = m["vz_mps"].to_numpy(float)
    agl = m["agl_m"].to_numpy(float)
    accel = m["accel_mps2"].to_numpy(float)
    turn = np.abs(m["turn_rate_dps"].to_numpy(float))
    has_alt = np.isfinite(m["alt_m"].to_numpy(float))
    low = np.where(np.isfinite(agl), agl < LOW_AGL_M, True)  # unknown height: speed alone decides

    by_altitude = np.select(
        [vz > VERTICAL_RATE_MPS, vz < -VERTICAL_RATE_MPS, (speed < LOW_SLOW_SPEED_MPS) & low],
        ["climb", "descent", "low_slow"], "cruise")
    by_kinematics = np.select(
        [(speed < LOW_SLOW_SPEED_MPS) | ((turn > TURN_RATE_DPS) & (speed < 1.5 * LOW_SLOW_SPEED_MPS)),
         accel > ACCEL_MPS2, accel < -ACCEL_MPS2],
        ["low_slow", "climb", "descent"], "cruise")
    phase = np.where(has_alt, by_altitude, by_kinematics)
    # Only with altitude: a primary radar's MTI drops targets this slow, so a primary-only track reading
    # under 5 m/s is a filter transient, not a hover.
    phase = np.where((speed < HOVER_SPEED_MPS) & has_alt, "hover", phase)
    phase = np.where(m["on_ground"].to_numpy(bool), "ground", phase)
    return pd.DataFrame({
        "track_id": m["track_id"], "t": m["t"], "phase": phase,
        "phase_source": np.where(has_alt, "altitude", "kinematics"),
        "speed_mps": speed, "vz_mps": vz, "agl_m": agl, "turn_rate_dps": m["turn_rate_dps"], "accel_mps2": accel,
    }, index=m.index)
