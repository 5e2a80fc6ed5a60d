"""Landing detection against the true landings: recall, precision and location error.

An output ``landing`` or ``ground_stop`` event (a ground stop starts with a landing; its ``t`` is when the
stop began) matches a true landing when it is within ``LANDING_RADIUS_M`` and ``LANDING_WINDOW_S`` of it.
Outputs are matched one-to-one against *all* true landings at once (see :mod:`.matching`), so each output
stands for one landing (a ``landing`` event told again as the start of a ``ground_stop`` of the same track
counts once). The narco metrics then read that single matching:

- ``narco_landing_recall`` = true narco landings matched / true narco landings;
- ``narco_landing_precision`` = outputs matched to a narco landing / (those + outputs that match no true
  landing at all). An output matched to a legitimate landing is a correct landing detection, not a false
  narco landing: telling narco from legitimate flights is the assessment's job, scored by its AUC.

>>> import pandas as pd
>>> from centinela import model
>>> truth = model.Truth(
...     states=model.empty_frame(model.TRUTH_STATE_COLUMNS),
...     flights=pd.DataFrame({"truth_id": ["N1"], "kind": ["narco"], "callsign": [None], "icao24": [None]}),
...     events=pd.DataFrame({"kind": ["landing"], "truth_id": ["N1"], "t": [1000.0], "lat": [-12.5],
...                          "lon": [-73.8], "site": ["S1"], "clandestine": [True]}))
>>> out = pd.DataFrame({"kind": ["ground_stop"], "t": [1100.0], "t_end": [1700.0], "lat": [-12.501],
...                     "lon": [-73.8], "track_ids": [["T1"]], "airstrip_id": ["A1"], "confidence": [0.9]})
>>> m = landing_metrics(truth, out)
>>> m["narco_landing_recall"], round(m["narco_landing_error_median_m"])
(1.0, 111)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela import model
from centinela.evaluate.common import number, quantile, ratio
from centinela.evaluate.matching import match_points
from centinela.model import track_id_list

# The issue fixes both gates: 2 km puts a ground team on the right strip, and ...
LANDING_RADIUS_M = 2_000.0
# ... 15 min allows for a track that vanishes into a valley and is declared landed only when it fails to
# reappear.
LANDING_WINDOW_S = 15 * 60.0


def true_landings(truth: model.Truth) -> pd.DataFrame:
    """The truth's landing events with a boolean ``narco`` column (the flight's kind is ``narco``)."""
    events = truth.events
    landings = events[events["kind"].astype("string").eq("landing").fillna(False).to_numpy(bool)].copy()
    narco_ids = set(narco_flight_ids(truth))
    landings["narco"] = landings["truth_id"].astype("string").isin(narco_ids).fillna(False).to_numpy(bool)
    return landings.reset_index(drop=True)


def narco_flight_ids(truth: model.Truth) -> list[str]:
    """truth_ids of the air-bridge flights."""
    flights = truth.flights
    is_narco = flights["kind"].astype("string").eq("narco").fillna(False).to_numpy(bool)
    return flights.loc[is_narco, "truth_id"].astype(str).tolist()


def output_landings(events: pd.DataFrame) -> pd.DataFrame:
    """Output events that assert a landing (``landing`` and ``ground_stop``), one per stop: a ``landing``
    that shares a track with a ``ground_stop`` starting within the matching gates is the same landing told
    twice, and is dropped in favour of the ground stop."""
    kind = events["kind"].astype("string")
    stops = events[kind.eq("ground_stop").fillna(False).to_numpy(bool)]
    landings = events[kind.eq("landing").fillna(False).to_numpy(bool)]
    same = match_points(stops["lat"], stops["lon"], landings["lat"], landings["lon"], LANDING_RADIUS_M,
                        stops["t"], landings["t"], LANDING_WINDOW_S)
    duplicate = [
        landings.index[j] for i, j in zip(same.true_index, same.output_index)
        if set(track_id_list(stops["track_ids"].iloc[i])) & set(track_id_list(landings["track_ids"].iloc[j]))
    ]  # a loop over matched pairs only: a few per stop
    return pd.concat([stops, landings.drop(index=duplicate)]).sort_values("t", kind="stable").reset_index(drop=True)


def landing_metrics(truth: model.Truth, events: pd.DataFrame | None) -> dict[str, float | int | None]:
    """The ``landings`` section. ``events`` is the output events frame, or ``None`` when events.jsonl is
    missing (then every metric that needs it is ``None``)."""
    truth_landings = true_landings(truth)
    n_true, n_narco = len(truth_landings), int(truth_landings["narco"].sum())
    metrics: dict[str, float | int | None] = {
        "true_landings": n_true,
        "true_narco_landings": n_narco,
        "output_landings": None,
        "landing_recall_all": None,
        "landing_precision_all": None,
        "narco_landing_recall": None,
        "narco_landing_precision": None,
        "narco_landing_error_median_m": None,
        "narco_landing_error_p90_m": None,
        "narco_landing_time_error_median_s": None,
    }
    if events is None:
        return metrics

    outputs = output_landings(events)
    matches = match_points(
        truth_landings["lat"], truth_landings["lon"], outputs["lat"], outputs["lon"], LANDING_RADIUS_M,
        truth_landings["t"], outputs["t"], LANDING_WINDOW_S,
    )
    matched_narco = truth_landings["narco"].to_numpy(bool)[matches.true_index]
    n_out, n_matched = len(outputs), len(matches)
    n_unmatched_out = n_out - n_matched
    n_narco_matched = int(matched_narco.sum())
    metrics.update(
        output_landings=n_out,
        landing_recall_all=ratio(n_matched, n_true),
        landing_precision_all=ratio(n_matched, n_out),
        narco_landing_recall=ratio(n_narco_matched, n_narco),
        narco_landing_precision=ratio(n_narco_matched, n_narco_matched + n_unmatched_out),
        narco_landing_error_median_m=quantile(matches.distance_m[matched_narco], 0.5),
        narco_landing_error_p90_m=quantile(matches.distance_m[matched_narco], 0.9),
        narco_landing_time_error_median_s=quantile(np.abs(matches.dt_s[matched_narco]), 0.5),
    )
    return {k: number(v) for k, v in metrics.items()}
