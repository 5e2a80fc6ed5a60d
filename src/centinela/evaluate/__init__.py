"""Metrics of a run's outputs against a simulated scenario's truth. Definitions: ``docs/metrics.md``.

Every metric is computed from the output files and the truth alone. A metric whose output file is missing
is ``None``; an output file that is present but empty scores zero where a rate is defined (recall 0) and
``None`` where it is not (precision of nothing).

>>> import pandas as pd
>>> from centinela import model
>>> truth = model.Truth(model.empty_frame(model.TRUTH_STATE_COLUMNS),
...     pd.DataFrame({"truth_id": ["N1"], "kind": ["narco"], "callsign": [None], "icao24": [None]}),
...     pd.DataFrame({"kind": ["landing"], "truth_id": ["N1"], "t": [0.0], "lat": [-12.5], "lon": [-73.8],
...                   "site": ["S1"], "clandestine": [True]}))
>>> m = evaluate_frames(truth, model.Outputs())
>>> m["landings"]["narco_landing_recall"], m["landings"]["narco_landing_precision"]
(0.0, None)
>>> ("landings", "narco_landing_recall", "0.000") in metrics_table(m)
True
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from centinela import model
from centinela.evaluate.airstrips import airstrip_metrics
from centinela.evaluate.alerts import alert_metrics
from centinela.evaluate.assessment import assessment_metrics, labelled_scores, reliability_table
from centinela.evaluate.association import associate_tracks
from centinela.evaluate.common import output_missing, scenario_days, scenario_frame
from centinela.evaluate.gospa import gospa_metrics
from centinela.evaluate.landings import landing_metrics
from centinela.evaluate.outcomes import outcome_metrics

__all__ = ["evaluate", "evaluate_frames", "metrics_table", "reliability_curve"]

Metrics = dict[str, dict[str, float | int | None]]


def evaluate(scenario_dir: str | Path, out_dir: str | Path) -> Metrics:
    """Read a scenario's truth and a run's outputs from disk and compute every metric.

    Missing output files give ``None`` metrics; a scenario with no truth raises the reader's InputError.
    """
    from centinela.evaluate.leaks import score_flags_against_truth
    from centinela.io.outputs import read_outputs
    from centinela.io.sensors import read_sensors_toml
    from centinela.io.truth import read_truth
    from centinela.report import read_leak_table

    sensors_file = Path(scenario_dir) / "sensors.toml"
    sensors = read_sensors_toml(sensors_file)[0] if sensors_file.exists() else None
    metrics = evaluate_frames(read_truth(scenario_dir), read_outputs(out_dir), sensors=sensors)
    # Leak flags (``centinela leaks``) against the simulator's leaky recipients, when both exist.
    leaks = read_leak_table(out_dir)
    scored = score_flags_against_truth(leaks, scenario_dir) if leaks is not None else None
    if scored is not None:
        metrics["leaks"] = scored
    return metrics


def evaluate_frames(
    truth: model.Truth, outputs: model.Outputs, *, sensors: list[model.Sensor] | None = None
) -> Metrics:
    """Every metric, by section, from in-memory truth and outputs (JSON-serialisable: numbers or None).

    With ``sensors``, true landings and take-offs outside every radar's range (e.g. at the Bolivian end
    of the air bridge) are left out of the event and airstrip metrics: no output could see them.
    """
    truth, uncovered = events_in_radar_coverage(truth, sensors)

    def present(name: str) -> pd.DataFrame | None:
        return None if output_missing(outputs, name) else getattr(outputs, name)

    frame = scenario_frame(truth)
    days = scenario_days(truth)
    tracks = present("tracks")
    association = None if tracks is None else associate_tracks(truth, tracks, frame)
    return {
        "summary": {**_summary(truth, tracks, association, days), "true_events_outside_radar_range": uncovered},
        "landings": landing_metrics(truth, present("events")),
        "airstrips": airstrip_metrics(truth, present("airstrips")),
        "assessment": assessment_metrics(present("assessments"), association),
        "alerts": alert_metrics(truth, present("alerts"), association, days),
        "outcomes": outcome_metrics(truth, present("alerts"), association,
                                    _outcome_labels(present("alerts"), present("events"), tracks)),
        "tracking": gospa_metrics(truth, tracks, frame),
    }


def _outcome_labels(alerts: pd.DataFrame | None, events: pd.DataFrame | None,
                    tracks: pd.DataFrame | None) -> pd.DataFrame | None:
    """What :func:`centinela.alerts.outcomes.alert_outcomes` says became of each alert (None without alerts,
    events or tracks)."""
    if alerts is None or events is None or tracks is None:
        return None
    from centinela.alerts.outcomes import alert_outcomes

    return alert_outcomes(alerts, events, tracks)


def reliability_curve(truth: model.Truth, outputs: model.Outputs) -> pd.DataFrame | None:
    """Reliability of the assessment scores: per score bin, the mean ``predicted`` score, the ``observed``
    fraction of air-bridge tracks and the number of ``tracks``; ``None`` when tracks or assessments are
    missing. Tracks are labelled as in ``evaluate_frames`` (the truth flight they follow)."""
    if output_missing(outputs, "tracks") or output_missing(outputs, "assessments"):
        return None
    association = associate_tracks(truth, outputs.tracks, scenario_frame(truth))
    return reliability_table(labelled_scores(outputs.assessments, association))


def events_in_radar_coverage(
    truth: model.Truth, sensors: list[model.Sensor] | None
) -> tuple[model.Truth, int | None]:
    """``truth`` with only the events within ``range_max_m`` of some primary or secondary radar, and the
    number left out; unchanged (and ``None``) without sensors or without radars."""
    from dataclasses import replace

    import numpy as np

    from centinela.geo.frames import haversine_m

    radars = [s for s in sensors or [] if s.kind in ("psr", "ssr") and s.range_max_m]
    if not radars:
        return truth, None
    events = truth.events
    lat, lon = events["lat"].to_numpy(float), events["lon"].to_numpy(float)
    covered = np.zeros(len(events), bool)
    for radar in radars:
        covered |= haversine_m(radar.lat, radar.lon, lat, lon) <= radar.range_max_m
    return replace(truth, events=events[covered].reset_index(drop=True)), int((~covered).sum())


def _summary(
    truth: model.Truth, tracks: pd.DataFrame | None, association: pd.DataFrame | None, days: float | None
) -> dict[str, float | int | None]:
    kinds = truth.flights["kind"].astype("string").fillna("unknown").value_counts().sort_index()
    summary: dict[str, float | int | None] = {
        "scenario_days": days,
        "truth_flights": len(truth.flights),
        **{f"truth_flights_{kind}": int(n) for kind, n in kinds.items()},
        "tracks": None if tracks is None else int(tracks["track_id"].nunique()),
        "tracks_matched_to_truth": None if association is None else len(association),
        "truth_flights_tracked": None if association is None else int(association["truth_id"].nunique()),
    }
    return summary


def format_value(value: float | None) -> str:
    """A metric value for a table: ``—`` for None, integers as they are, large values without decimals.

    >>> [format_value(v) for v in (None, 12, 0.8766, 3.14159, 1234.5)]
    ['—', '12', '0.877', '3.14', '1,234']
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, str):
        return value or "—"
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def metrics_table(metrics: Metrics) -> list[tuple[str, str, str]]:
    """Rows ``(section, metric, formatted value)`` in section order, for the CLI's table."""
    return [
        (section, name, format_value(value))
        for section, values in metrics.items()
        for name, value in values.items()
    ]
