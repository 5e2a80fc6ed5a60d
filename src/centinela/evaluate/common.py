"""Small helpers every metric section shares: which output files are missing, safe ratios and quantiles
that give ``None`` when undefined, the scenario's time span, and its local frame.

>>> ratio(3, 4), ratio(0, 0)
(0.75, None)
>>> quantile([], 0.5) is None
True
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from centinela import model
from centinela.geo.frames import LocalFrame

SECONDS_PER_DAY = 86_400.0

# Output frame name -> the keys of ``Outputs.stages`` that can say it is missing: the frame itself, the
# file analyze writes it to (CONTRACT.md) and the pipeline stage that produces it (centinela.pipeline).
OUTPUT_STAGE_KEYS = {
    "tracks": ("tracks", "tracks.parquet", "track"),
    "events": ("events", "events.jsonl", "detect"),
    "airstrips": ("airstrips", "airstrips.geojson"),
    "assessments": ("assessments", "assessments.csv", "assess"),
    "alerts": ("alerts", "alerts.jsonl", "alert"),
}


def output_missing(outputs: model.Outputs, name: str) -> bool:
    """True when ``outputs.stages`` says the frame ``name`` was not produced (its file is missing, or its
    stage did not run): any status other than ``"ran"`` under one of its keys.

    Frames with no entry in ``stages`` count as present: an empty frame then scores zero, not ``None``.
    """
    for key in OUTPUT_STAGE_KEYS.get(name, (name,)):
        status = outputs.stages.get(key)
        if status is not None and status != "ran":
            return True
    return False


def number(value: object) -> float | int | None:
    """A JSON-friendly number: Python int or float, ``None`` for missing or non-finite values."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is zero (the metric is undefined)."""
    return None if denominator == 0 else float(numerator) / float(denominator)


def quantile(values: Iterable[float], q: float) -> float | None:
    """The ``q`` quantile (linear interpolation) of the finite values, ``None`` when there are none."""
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(np.quantile(arr, q)) if len(arr) else None


def truth_time_span_s(truth: model.Truth) -> tuple[float, float] | None:
    """First and last time of the truth (states, else events); ``None`` when the truth has no times."""
    t = truth.states["t"].to_numpy(float) if len(truth.states) else truth.events["t"].to_numpy(float)
    t = t[np.isfinite(t)]
    return (float(t.min()), float(t.max())) if len(t) else None


def scenario_days(truth: model.Truth) -> float | None:
    """Length of the scenario in days, from the first to the last truth time; ``None`` when zero."""
    span = truth_time_span_s(truth)
    if span is None or span[1] <= span[0]:
        return None
    return (span[1] - span[0]) / SECONDS_PER_DAY


def scenario_frame(truth: model.Truth) -> LocalFrame:
    """An ENU frame at the centre of the truth's positions (states, else events, else the VRAEM)."""
    for df in (truth.states, truth.events):
        lat, lon = df["lat"].to_numpy(float), df["lon"].to_numpy(float)
        ok = np.isfinite(lat) & np.isfinite(lon)
        if ok.any():
            # Centre of the bounding box: robust to where most states happen to be sampled.
            return LocalFrame(
                (lat[ok].min() + lat[ok].max()) / 2.0, (lon[ok].min() + lon[ok].max()) / 2.0
            )
    return LocalFrame(-12.3, -74.0)  # VRAEM centre (DESIGN.md: lat −11.3…−13.3, lon −73.4…−74.6)


def horizontal_xy(frame: LocalFrame, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, 2) east, north metres of points on the ellipsoid (altitude 0) in ``frame``.

    Distances are horizontal because primary-radar tracks have no altitude.
    """
    e, n, _ = frame.to_enu(np.asarray(lat, float), np.asarray(lon, float), 0.0)
    return np.column_stack([np.atleast_1d(e), np.atleast_1d(n)])
