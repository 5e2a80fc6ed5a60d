"""Alerts against the air-bridge flights: how many were warned, how early, how many false alarms, and
whether the predicted strip and landing time were right.

- An alert *concerns* the narco flight that most of its ``track_ids`` follow (:mod:`.association`; ties go
  to the track listed first). An alert that concerns no narco flight is a **false alert**.
- The alert's **target landing** is the first true landing of that flight at or after ``t_issued``. An
  alert with no target landing came too late (the flight had already landed for the last time) and is
  counted as late, neither useful nor false.
- A narco flight is **alerted** when at least one alert has a target landing on it. The fraction is over
  the narco flights that land at least once in the truth.
- **Lead time** of an alerted flight: its target landing's time minus ``t_issued`` of its earliest such
  alert.
- An alert's **site is right** when ``predicted_site`` is within ``SITE_HIT_M`` of the target landing;
  its **ETA is right** when the landing falls inside ``[eta − eta_window_s/2, eta + eta_window_s/2]``
  (``eta_window_s`` is the window's full width, centred on ``eta``).
- Whether the stated uncertainty is honest: the share of alerts whose target landing lies within two
  ``sigma_site_m`` of ``predicted_site`` (86 % for a circular Gaussian error of that sigma); null when the alerts
  state no sigma.

>>> import pandas as pd
>>> from centinela import model
>>> truth = model.Truth(model.empty_frame(model.TRUTH_STATE_COLUMNS),
...     pd.DataFrame({"truth_id": ["N1"], "kind": ["narco"], "callsign": [None], "icao24": [None]}),
...     pd.DataFrame({"kind": ["landing"], "truth_id": ["N1"], "t": [3600.0], "lat": [-12.5], "lon": [-73.8],
...                   "site": ["S1"], "clandestine": [True]}))
>>> alerts = pd.DataFrame({"alert_id": ["A1"], "track_ids": [["T1"]], "score": [0.9], "t_issued": [3000.0],
...     "indicators": [[]], "predicted_site": [{"lat": -12.5, "lon": -73.8, "airstrip_id": "S1"}],
...     "eta": [3500.0], "eta_window_s": [600.0]})
>>> assoc = pd.DataFrame({"track_id": ["T1"], "truth_id": ["N1"], "kind": ["narco"]})
>>> m = alert_metrics(truth, alerts, assoc, scenario_days=1.0)
>>> m["narco_flights_alerted_fraction"], m["alert_lead_time_median_s"], m["alert_site_and_eta_fraction"]
(1.0, 600.0, 1.0)
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from centinela import model
from centinela.alerts.warning import SITE_HIT_M
from centinela.evaluate.common import number, quantile, ratio
from centinela.evaluate.landings import true_landings
from centinela.geo.frames import haversine_m
from centinela.model import track_id_list


def _site_coordinate(site: object, key: str) -> float:
    if isinstance(site, Mapping) and site.get(key) is not None:
        return float(site[key])
    return np.nan


def concerned_flights(alerts: pd.DataFrame, association: pd.DataFrame) -> pd.Series:
    """For each alert (by position), the narco truth_id it concerns, or <NA>."""
    rows = pd.DataFrame({"alert": np.arange(len(alerts)), "track_id": [track_id_list(v) for v in alerts["track_ids"]]})
    rows = rows.explode("track_id").dropna(subset=["track_id"]).astype({"track_id": str})
    rows["order"] = np.arange(len(rows))
    narco = association[association["kind"].astype("string").eq("narco").fillna(False).to_numpy(bool)]
    linked = rows.merge(narco[["track_id", "truth_id"]].astype(str), on="track_id")
    votes = (
        linked.groupby(["alert", "truth_id"], as_index=False)
        .agg(n=("order", "size"), first=("order", "min"))
        .sort_values(["alert", "n", "first"], ascending=[True, False, True])
        .drop_duplicates("alert")
    )
    out = pd.Series(pd.NA, index=np.arange(len(alerts)), dtype="string")
    out.loc[votes["alert"].to_numpy()] = votes["truth_id"].to_numpy()
    return out


def alert_metrics(
    truth: model.Truth,
    alerts: pd.DataFrame | None,
    association: pd.DataFrame | None,
    scenario_days: float | None,
) -> dict[str, float | int | None]:
    """The ``alerts`` section. ``alerts`` is ``None`` when alerts.jsonl is missing; ``association`` is
    ``None`` when tracks.parquet is (alerts then cannot be tied to flights)."""
    landings = true_landings(truth)
    narco_landings = landings[landings["narco"].to_numpy(bool)].astype({"truth_id": str})
    n_landed = narco_landings["truth_id"].nunique()
    metrics: dict[str, float | int | None] = {
        "alerts": None,
        "narco_flights_landed": n_landed,
        "narco_flights_alerted": None,
        "narco_flights_alerted_fraction": None,
        "false_alerts": None,
        "false_alerts_per_day": None,
        "late_alerts": None,
        "alert_lead_time_median_s": None,
        "alert_site_within_2km_fraction": None,
        "alert_eta_in_window_fraction": None,
        "alert_site_and_eta_fraction": None,
        "alert_site_error_median_m": None,
        "alert_eta_error_median_s": None,
        "alert_site_within_2sigma_fraction": None,
        "alert_site_probability_mean": None,
    }
    if alerts is None:
        return metrics
    metrics["alerts"] = len(alerts)
    if association is None:
        return metrics

    flight = concerned_flights(alerts, association)
    table = pd.DataFrame({
        "alert": np.arange(len(alerts)),
        "truth_id": flight.to_numpy(),
        "t_issued": alerts["t_issued"].to_numpy(float),
        "eta": alerts["eta"].to_numpy(float),
        "eta_window_s": alerts["eta_window_s"].to_numpy(float),
        "site_lat": [_site_coordinate(s, "lat") for s in alerts["predicted_site"]],
        "site_lon": [_site_coordinate(s, "lon") for s in alerts["predicted_site"]],
        "sigma_m": _optional_column(alerts, "sigma_site_m"),
        "site_probability": _optional_column(alerts, "site_probability"),
    })
    n_false = int(table["truth_id"].isna().sum())
    linked = table.dropna(subset=["truth_id", "t_issued"]).astype({"truth_id": str}).sort_values("t_issued")
    targets = pd.merge_asof(
        linked,
        narco_landings[["truth_id", "t", "lat", "lon"]].sort_values("t"),
        left_on="t_issued", right_on="t", by="truth_id", direction="forward",
    )
    timely = targets.dropna(subset=["t"])
    first = timely.sort_values("t_issued").drop_duplicates("truth_id")
    site_error_m = haversine_m(timely["site_lat"], timely["site_lon"], timely["lat"], timely["lon"])
    site_ok = np.asarray(site_error_m <= SITE_HIT_M)
    eta_error_s = np.abs(timely["t"].to_numpy(float) - timely["eta"].to_numpy(float))
    eta_ok = eta_error_s <= timely["eta_window_s"].to_numpy(float) / 2.0
    metrics.update(
        narco_flights_alerted=len(first),
        narco_flights_alerted_fraction=ratio(len(first), n_landed),
        false_alerts=n_false,
        false_alerts_per_day=None if not scenario_days else n_false / scenario_days,
        late_alerts=len(targets) - len(timely),
        alert_lead_time_median_s=quantile(first["t"] - first["t_issued"], 0.5),
        alert_site_within_2km_fraction=ratio(site_ok.sum(), len(timely)),
        alert_eta_in_window_fraction=ratio(eta_ok.sum(), len(timely)),
        alert_site_and_eta_fraction=ratio((site_ok & eta_ok).sum(), len(timely)),
        alert_site_error_median_m=quantile(np.asarray(site_error_m), 0.5),
        alert_eta_error_median_s=quantile(eta_error_s, 0.5),
    )
    stated = np.isfinite(timely["sigma_m"].to_numpy(float))
    if stated.any():
        inside = np.asarray(site_error_m)[stated] <= 2.0 * timely["sigma_m"].to_numpy(float)[stated]
        metrics["alert_site_within_2sigma_fraction"] = ratio(inside.sum(), int(stated.sum()))
    # The stated chance of the site being right, to set beside alert_site_within_2km_fraction.
    probability = timely["site_probability"].to_numpy(float)
    if np.isfinite(probability).any():
        metrics["alert_site_probability_mean"] = float(np.nanmean(probability))
    return {k: number(v) for k, v in metrics.items()}


def _optional_column(alerts: pd.DataFrame, name: str) -> np.ndarray:
    """An optional numeric alert column as floats (NaN where absent or null)."""
    if name not in alerts:
        return np.full(len(alerts), np.nan)
    return pd.to_numeric(alerts[name], errors="coerce").to_numpy(float)
