"""The airstrip catalogue against the clandestine strips that were used in the scenario.

True clandestine strips are the distinct ``site`` values of true landings with ``clandestine == true``: a
strip nobody landed on leaves no trace in the data, so it cannot be asked for. A strip is located where the
truth's strip table puts it (``truth.strips``, from ``truth/strips.csv``, when the simulator writes one),
otherwise at the mean position of its landings. The table's rows are found by ``site``, ``strip_id`` or
``id``, whichever column it has.

Only output strips with ``registered == false`` (or unknown) take part, in both directions: a clandestine
strip catalogued as a registered airfield has not been found as clandestine. Matching is one-to-one within
``STRIP_RADIUS_M`` (see :mod:`.matching`).

>>> import pandas as pd
>>> from centinela import model
>>> truth = model.Truth(model.empty_frame(model.TRUTH_STATE_COLUMNS), model.empty_frame(model.TRUTH_FLIGHT_COLUMNS),
...     pd.DataFrame({"kind": ["landing"], "truth_id": ["N1"], "t": [0.0], "lat": [-12.5], "lon": [-73.8],
...                   "site": ["S1"], "clandestine": [True]}))
>>> strips = pd.DataFrame({"id": ["A1", "A2"], "lat": [-12.502, -12.9], "lon": [-73.8, -73.8],
...                        "registered": [False, False]})
>>> m = airstrip_metrics(truth, strips)
>>> m["clandestine_strip_recall"], m["clandestine_strip_precision"], round(m["strip_error_median_m"])
(1.0, 0.5, 222)
"""
from __future__ import annotations

import pandas as pd

from centinela import model
from centinela.evaluate.common import number, quantile, ratio
from centinela.evaluate.matching import match_points

# Strips are a few hundred metres long; a catalogue entry within 1 km is on the same strip (issue's gate).
STRIP_RADIUS_M = 1_000.0


def true_clandestine_strips(truth: model.Truth) -> pd.DataFrame:
    """One row per clandestine site that saw a landing: ``site``, ``lat``, ``lon``, ``landings``."""
    events = truth.events
    landing = events["kind"].astype("string").eq("landing").fillna(False).to_numpy(bool)
    clandestine = events["clandestine"].astype("boolean").fillna(False).to_numpy(bool)
    used = events[landing & clandestine].assign(site=lambda d: d["site"].astype("string"))
    used = used[used["site"].notna()]
    strips = (
        used.groupby("site", sort=True)
        .agg(lat=("lat", "mean"), lon=("lon", "mean"), landings=("t", "size"))
        .reset_index()
    )
    table = getattr(truth, "strips", None)
    if isinstance(table, pd.DataFrame) and len(table) and {"lat", "lon"} <= set(table.columns):
        key = next((k for k in ("site", "strip_id", "id") if k in table.columns), None)
        if key is None:
            return strips
        exact = table[[key, "lat", "lon"]].rename(columns={key: "site"}).astype({"site": "string"})
        exact = exact.drop_duplicates("site")
        strips = strips.merge(exact, on="site", how="left", suffixes=("", "_table"))
        has = strips["lat_table"].notna() & strips["lon_table"].notna()
        strips.loc[has, "lat"] = strips.loc[has, "lat_table"]
        strips.loc[has, "lon"] = strips.loc[has, "lon_table"]
        strips = strips.drop(columns=["lat_table", "lon_table"])
    return strips


def airstrip_metrics(truth: model.Truth, airstrips: pd.DataFrame | None) -> dict[str, float | int | None]:
    """The ``airstrips`` section. ``airstrips`` is the output catalogue, ``None`` when the file is missing."""
    true_strips = true_clandestine_strips(truth)
    metrics: dict[str, float | int | None] = {
        "true_clandestine_strips": len(true_strips),
        "output_strips": None,
        "output_unregistered_strips": None,
        "clandestine_strip_recall": None,
        "clandestine_strip_precision": None,
        "strip_error_median_m": None,
    }
    if airstrips is None:
        return metrics
    registered = airstrips["registered"].astype("boolean").fillna(False).to_numpy(bool)
    candidates = airstrips[~registered]
    matches = match_points(true_strips["lat"], true_strips["lon"], candidates["lat"], candidates["lon"], STRIP_RADIUS_M)
    metrics.update(
        output_strips=len(airstrips),
        output_unregistered_strips=len(candidates),
        clandestine_strip_recall=ratio(len(matches), len(true_strips)),
        clandestine_strip_precision=ratio(len(matches), len(candidates)),
        strip_error_median_m=quantile(matches.distance_m, 0.5),
    )
    return {k: number(v) for k, v in metrics.items()}
