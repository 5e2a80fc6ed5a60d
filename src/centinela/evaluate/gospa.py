"""GOSPA of the output tracks against the airborne truth, with its localisation, missed and false parts.

Generalised optimal sub-pattern assignment (Rahmathullah, García-Fernández and Svensson, 2017) with
cut-off ``c = GOSPA_CUTOFF_M``, order ``p = 1`` and ``α = 2``. At one time, with truth set X and track set
Y (horizontal east, north positions in a local ENU frame, metres)::

    GOSPA = min over assignments γ of  Σ_(x,y)∈γ d(x, y)  +  c/2 · (|X| − |γ|)  +  c/2 · (|Y| − |γ|)

where only pairs with ``d < c`` may be assigned; the three terms are the localisation, missed and false
parts. With ``p = 1`` the assignment minimising ``Σ min(d, c)`` gives the optimum (Hungarian algorithm,
:func:`scipy.optimize.linear_sum_assignment`); pairs it assigns at ``d ≥ c`` are counted as one missed
target and one false track.

Sampling: the metric is evaluated every ``SAMPLE_INTERVAL_S`` from the first to the last truth state time.
At each sample time:

- a truth flight is present when the two states around that time (or a state at exactly that time) are both
  airborne (``on_ground == false``) and at most ``MAX_GAP_S`` apart; its position is interpolated linearly;
- a track is present when two of its updates bracket that time at most ``MAX_GAP_S`` apart (or it has an
  update at exactly that time); its position is interpolated linearly between them.

Reported values are means over the sample times, plus the sample counts behind them.

>>> import numpy as np
>>> g = gospa_at_one_time(np.array([[0.0, 0.0], [10_000.0, 0.0]]), np.array([[300.0, 400.0]]))
>>> g.localisation_m, g.missed, g.false
(500.0, 1, 0)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from centinela import model
from centinela.evaluate.common import horizontal_xy, number, ratio, truth_time_span_s
from centinela.geo.frames import LocalFrame

# The issue fixes c = 2 km: a track further than that from a flight is no help to an interceptor or a
# ground team, so it counts as a missed target plus a false track.
GOSPA_CUTOFF_M = 2_000.0
# About one primary-radar scan (4–12 s): finer sampling adds cost, not information.
SAMPLE_INTERVAL_S = 10.0
# Updates further apart than this do not vouch for the object in between: several scans with no
# detection (a track coasting that long has lost its target) or a hole in the truth's record.
MAX_GAP_S = 60.0


@dataclass(frozen=True)
class GospaParts:
    """GOSPA at one time: the localisation part (m) and the number of missed targets and false tracks."""

    localisation_m: float
    missed: int
    false: int

    @property
    def total_m(self) -> float:
        return self.localisation_m + GOSPA_CUTOFF_M / 2.0 * (self.missed + self.false)


def gospa_at_one_time(truth_xy_m: np.ndarray, track_xy_m: np.ndarray, cutoff_m: float = GOSPA_CUTOFF_M) -> GospaParts:
    """GOSPA (p = 1, α = 2) between two (n, 2) arrays of horizontal positions in metres."""
    n, m = len(truth_xy_m), len(track_xy_m)
    if n == 0 or m == 0:
        return GospaParts(0.0, n, m)
    dist = cdist(truth_xy_m, track_xy_m)
    rows, cols = linear_sum_assignment(np.minimum(dist, cutoff_m))
    d = dist[rows, cols]
    assigned = d < cutoff_m
    k = int(assigned.sum())
    return GospaParts(float(d[assigned].sum()), n - k, m - k)


def sample_positions(
    object_id: np.ndarray,
    t: np.ndarray,
    xy_m: np.ndarray,
    sample_t: np.ndarray,
    valid: np.ndarray | None = None,
    max_gap_s: float = MAX_GAP_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of each object at the regular ``sample_t`` grid, interpolated between its records.

    Returns ``(sample_index, xy)``: for every (object, sample time) where the object is present (see the
    module docstring), the index into ``sample_t`` and the interpolated (east, north). ``valid`` marks the
    records that may vouch for presence (airborne truth states); all records count when it is ``None``.
    """
    none = (np.empty(0, dtype=np.int64), np.empty((0, 2)))
    if len(t) == 0 or len(sample_t) == 0:
        return none
    t0, dt = float(sample_t[0]), float(sample_t[1] - sample_t[0]) if len(sample_t) > 1 else 1.0
    code = pd.factorize(pd.Series(object_id))[0]
    order = np.lexsort((t, code))
    code, t, xy = code[order], np.asarray(t, float)[order], np.asarray(xy_m, float)[order]
    valid = np.ones(len(t), bool) if valid is None else np.asarray(valid, bool)[order]

    # A searchable key that sorts by object, then time; the offset keeps it positive and the width keeps
    # objects apart (float64 resolves it to well under a millisecond over years).
    offset = t.min() - 1.0
    width = t.max() - offset + 1.0
    key = code * width + (t - offset)

    starts = np.flatnonzero(np.r_[True, np.diff(code) != 0])
    ends = np.r_[starts[1:], len(code)] - 1
    k_lo = np.maximum(np.ceil((t[starts] - t0) / dt), 0).astype(np.int64)
    k_hi = np.minimum(np.floor((t[ends] - t0) / dt), len(sample_t) - 1).astype(np.int64)
    counts = np.maximum(k_hi - k_lo + 1, 0)
    obj = np.repeat(np.arange(len(starts)), counts)
    k = np.repeat(k_lo, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    if len(k) == 0:
        return none
    tau = sample_t[k]
    obj_code = code[starts][obj]
    before = np.searchsorted(key, obj_code * width + (tau - offset), side="right") - 1
    exact = t[before] == tau
    after = np.where(exact, before, np.minimum(before + 1, len(t) - 1))
    gap = t[after] - t[before]
    present = (gap <= max_gap_s) & valid[before] & valid[after] & (code[after] == code[before])
    w = np.where(gap > 0, (tau - t[before]) / np.where(gap > 0, gap, 1.0), 0.0)[:, None]
    pos = xy[before] * (1.0 - w) + xy[after] * w
    return k[present], pos[present]


def gospa_metrics(truth: model.Truth, tracks: pd.DataFrame | None, frame: LocalFrame) -> dict[str, float | int | None]:
    """The ``tracking`` section: mean GOSPA and its parts over the sample times (``None`` without tracks
    output or without truth states)."""
    metrics: dict[str, float | int | None] = {
        "gospa_mean_m": None,
        "gospa_localisation_mean_m": None,
        "gospa_missed_mean_m": None,
        "gospa_false_mean_m": None,
        "missed_targets_mean": None,
        "false_tracks_mean": None,
        "position_error_mean_m": None,
        "truth_coverage_fraction": None,
        "gospa_sample_times": None,
        "gospa_sample_interval_s": SAMPLE_INTERVAL_S,
    }
    span = truth_time_span_s(truth)
    if tracks is None or span is None or len(truth.states) == 0:
        return metrics
    sample_t = span[0] + SAMPLE_INTERVAL_S * np.arange(int(np.floor((span[1] - span[0]) / SAMPLE_INTERVAL_S)) + 1)

    states = truth.states.dropna(subset=["t", "truth_id", "lat", "lon"])
    airborne = ~states["on_ground"].astype("boolean").fillna(False).to_numpy(bool)
    truth_k, truth_xy = sample_positions(
        states["truth_id"].astype(str).to_numpy(), states["t"].to_numpy(float),
        horizontal_xy(frame, states["lat"].to_numpy(), states["lon"].to_numpy()), sample_t, airborne,
    )
    tr = tracks.dropna(subset=["t", "track_id", "lat", "lon"])
    tr = tr[(tr["t"] >= span[0] - MAX_GAP_S) & (tr["t"] <= span[1] + MAX_GAP_S)]
    track_k, track_xy = sample_positions(
        tr["track_id"].astype(str).to_numpy(), tr["t"].to_numpy(float),
        horizontal_xy(frame, tr["lat"].to_numpy(), tr["lon"].to_numpy()), sample_t,
    )

    n_times = len(sample_t)
    localisation = np.zeros(n_times)
    missed = np.bincount(truth_k, minlength=n_times)
    false = np.bincount(track_k, minlength=n_times)
    # Hungarian only where both sets are non-empty; elsewhere every object is missed or false.
    t_order, k_order = np.argsort(truth_k, kind="stable"), np.argsort(track_k, kind="stable")
    truth_xy, truth_k = truth_xy[t_order], truth_k[t_order]
    track_xy, track_k = track_xy[k_order], track_k[k_order]
    truth_bounds = np.searchsorted(truth_k, np.arange(n_times + 1))
    track_bounds = np.searchsorted(track_k, np.arange(n_times + 1))
    for i in np.flatnonzero((missed > 0) & (false > 0)):
        parts = gospa_at_one_time(
            truth_xy[truth_bounds[i]:truth_bounds[i + 1]], track_xy[track_bounds[i]:track_bounds[i + 1]]
        )
        localisation[i], missed[i], false[i] = parts.localisation_m, parts.missed, parts.false

    half_c = GOSPA_CUTOFF_M / 2.0
    assigned = np.bincount(truth_k, minlength=n_times) - missed
    metrics.update(
        gospa_mean_m=float(np.mean(localisation + half_c * (missed + false))),
        gospa_localisation_mean_m=float(localisation.mean()),
        gospa_missed_mean_m=float(half_c * missed.mean()),
        gospa_false_mean_m=float(half_c * false.mean()),
        missed_targets_mean=float(missed.mean()),
        false_tracks_mean=float(false.mean()),
        position_error_mean_m=ratio(localisation.sum(), assigned.sum()),
        truth_coverage_fraction=ratio(assigned.sum(), len(truth_k)),
        gospa_sample_times=n_times,
    )
    return {k: number(v) for k, v in metrics.items()}
