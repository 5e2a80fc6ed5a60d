"""Events and airstrips: flight phases, take-offs, landings and ground stops (also where the radar only saw a
track vanish and reappear), border crossings, transponders switched off and on, and the airstrip catalogue.

>>> from centinela.detect.synthetic import straight_track
>>> events = detect_events(straight_track(lat0=-12.8, lon0=-69.2, heading_deg=90.0, duration_s=1200.0))
>>> events["kind"].tolist()
['border_crossing']
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela import model
from centinela.detect.airstrips import update_airstrips
from centinela.detect.crossings import border_crossings
from centinela.detect.kinematics import motion
from centinela.detect.landings import StopParams, stop_events
from centinela.detect.phases import flight_phases
from centinela.detect.transponder import transponder_events

__all__ = ["EVENT_EXTRA_COLUMNS", "detect_events", "flight_phases", "update_airstrips"]

# Optional event columns added to model.EVENT_COLUMNS.
EVENT_EXTRA_COLUMNS: dict[str, str] = {
    "evidence": "object",
    "sigma_major_m": "float64",
    "sigma_minor_m": "float64",
    "orientation_deg": "float64",
    "flight_id": "string",
}


def detect_events(tracks: pd.DataFrame, *, sensors: list[model.Sensor] | None = None, terrain=None,
                  registered: pd.DataFrame | None = None, **params) -> pd.DataFrame:
    """All events of ``tracks`` (TRACK_COLUMNS, optional flight_id / icao24 / squawk / sensors), in time order.

    Returns EVENT_COLUMNS plus ``evidence`` (dict: which tracks, gaps and sensors), ``sigma_major_m``,
    ``sigma_minor_m``, ``orientation_deg`` (the location's 1-sigma error ellipse; NaN where it does not apply)
    and ``flight_id``. ``airstrip_id`` is filled later by :func:`update_airstrips`. ``params`` override the
    fields of :class:`centinela.detect.landings.StopParams`.
    """
    columns = {**model.EVENT_COLUMNS, **EVENT_EXTRA_COLUMNS}
    if tracks is None or tracks.empty:
        return model.empty_frame(columns)
    stop_params = StopParams(**params)
    kinds = {s.id: s.kind for s in sensors} if sensors else None
    m = motion(tracks, terrain=terrain, registered=registered, sensor_kinds=kinds)
    parts = [
        stop_events(m, sensors=sensors, terrain=terrain, params=stop_params),
        border_crossings(m),
        transponder_events(m, sensors=sensors, terrain=terrain),
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return model.empty_frame(columns)
    events = pd.concat(parts, ignore_index=True)
    events = model.conform(events, model.EVENT_COLUMNS, EVENT_EXTRA_COLUMNS)
    for column, dtype in EVENT_EXTRA_COLUMNS.items():
        if column not in events:
            events[column] = pd.Series(np.nan if dtype == "float64" else None, index=events.index, dtype=dtype)
    events["confidence"] = events["confidence"].clip(0.0, 1.0)
    return events.sort_values(["t", "kind"], kind="stable").reset_index(drop=True)
