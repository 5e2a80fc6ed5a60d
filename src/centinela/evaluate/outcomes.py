"""The outcome labels of :mod:`centinela.alerts.outcomes` against the truth.

Leak statistics count an alert as a failure when its flight was labelled ``aborted`` or ``diverted``, so a
wrong failure is evidence against the units that received the alert. The labels come from the outputs alone;
here each alert that concerns an air-bridge flight (:func:`~centinela.evaluate.alerts.concerned_flights`) gets
the label the truth gives with the same rule (:class:`~centinela.alerts.outcomes.ArrivalTest`): its first true
landing at or after ``t_issued`` (landings outside radar range, such as at home in Bolivia, are left out by the
caller) decides ``arrived`` (it passes the test), ``diverted`` (elsewhere or later), or ``aborted`` (none).

Metrics (section ``outcomes``): ``alert_outcomes_labelled`` (alerts with an output label other than
``unknown`` and a truth label), ``alert_outcome_agreement_fraction`` (the share of those whose labels agree) and
``alert_outcome_false_failures`` (labelled a failure while the truth says the plane arrived).

>>> import pandas as pd
>>> from centinela import model
>>> truth = model.Truth(model.empty_frame(model.TRUTH_STATE_COLUMNS),
...     pd.DataFrame({"truth_id": ["N1"], "kind": ["narco"], "callsign": [None], "icao24": [None]}),
...     pd.DataFrame({"kind": ["landing"], "truth_id": ["N1"], "t": [3600.0], "lat": [-12.5], "lon": [-73.8],
...                   "site": ["S1"], "clandestine": [True]}))
>>> alerts = pd.DataFrame({"alert_id": ["A1"], "track_ids": [["T1"]], "t_issued": [3000.0], "eta": [3500.0],
...     "eta_window_s": [600.0], "sigma_site_m": [20_000.0],
...     "predicted_site": [{"lat": -12.8, "lon": -73.8, "airstrip_id": None}]})
>>> assoc = pd.DataFrame({"track_id": ["T1"], "truth_id": ["N1"], "kind": ["narco"]})
>>> truth_outcomes(truth, alerts, assoc).tolist()   # 33 km off, within 3 sigma of 20 km: the police were there
['arrived']
>>> labels = pd.DataFrame({"alert_id": ["A1"], "outcome": ["diverted"]})
>>> outcome_metrics(truth, alerts, assoc, labels)["alert_outcome_false_failures"]
1
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela import model
from centinela.alerts.outcomes import FAILURES, ArrivalTest
from centinela.evaluate.alerts import concerned_flights
from centinela.evaluate.common import number, ratio
from centinela.evaluate.landings import true_landings


def truth_outcomes(truth: model.Truth, alerts: pd.DataFrame, association: pd.DataFrame) -> pd.Series:
    """Per alert (by position), the outcome the truth gives (``arrived``, ``diverted``, ``aborted``), or <NA>
    for an alert that concerns no air-bridge flight."""
    flight = concerned_flights(alerts, association)
    landings = true_landings(truth)
    landings = landings[landings["narco"].to_numpy(bool)].sort_values("t")
    out = pd.Series(pd.NA, index=np.arange(len(alerts)), dtype="string")
    for i, alert in enumerate(alerts.to_dict("records")):
        if pd.isna(flight.iloc[i]):
            continue
        mine = landings[(landings["truth_id"].astype(str) == str(flight.iloc[i]))
                        & (landings["t"].to_numpy(float) >= float(alert["t_issued"]))]
        if len(mine) == 0:
            out.iloc[i] = "aborted"
            continue
        land = mine.iloc[0]
        out.iloc[i] = "arrived" if ArrivalTest.of(alert).arrived(land["lat"], land["lon"], land["t"]) else "diverted"
    return out


def outcome_metrics(truth: model.Truth, alerts: pd.DataFrame | None, association: pd.DataFrame | None,
                    labels: pd.DataFrame | None) -> dict[str, float | int | None]:
    """The ``outcomes`` section: ``labels`` are :func:`centinela.alerts.outcomes.alert_outcomes` of the alerts
    (None when alerts, tracks or events are missing)."""
    metrics: dict[str, float | int | None] = {"alert_outcomes_labelled": None, "alert_outcome_agreement_fraction": None,
                                              "alert_outcome_false_failures": None}
    if alerts is None or association is None or labels is None or len(alerts) == 0:
        return metrics
    said = labels.set_index(labels["alert_id"].astype(str))["outcome"].astype("string")
    said = said.reindex(alerts["alert_id"].astype(str)).fillna("unknown").to_numpy(str)
    true = truth_outcomes(truth, alerts.reset_index(drop=True), association).fillna("").to_numpy(str)
    judged = (said != "unknown") & (true != "")
    false_failures = judged & np.isin(said, FAILURES) & (true == "arrived")
    metrics.update(alert_outcomes_labelled=int(judged.sum()),
                   alert_outcome_agreement_fraction=ratio((judged & (said == true)).sum(), judged.sum()),
                   alert_outcome_false_failures=int(false_failures.sum()))
    return {k: number(v) for k, v in metrics.items()}
