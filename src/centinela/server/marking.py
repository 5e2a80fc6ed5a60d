"""Each recipient's own marked copy of an alert, as the API serves it (the store's ``marker``).

:func:`centinela.alerts.marking.marked_copies` draws the marks and writes the bulletin; :func:`marked_record`
puts the same marked values into the alert record the API, the live stream and the dossier return, so the JSON a
recipient could leak is as traceable as the bulletin: site, ETA, window edges, issue time, the wording and order
of the reasons and explanations, and the copy's reference all come from the marks. Nothing of the unmarked alert
goes out beside them (the score and track ids are the same for every recipient and identify nobody).

>>> from centinela.server.sample import sample_outputs
>>> record = sample_outputs().alerts.to_dict("records")[0]
>>> copy = mark_for_recipient(record, "VRAEM-OPS", rng_seed=3)
>>> a = copy["alert"]
>>> a["copy_ref"] == copy["copy_ref"], a["predicted_site"]["airstrip_id"], a["eta_lo"] < a["eta"] < a["eta_hi"]
(True, 'AS-0001', True)
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from centinela.alerts.marking import COPY_COLUMNS, marked_copies, reason_wordings

# A dirt strip is 500-800 m long. An alert that states no site uncertainty is marked as if it were this:
# marking moves the site by at most a tenth of it (100 m), which keeps every copy on the strip.
FALLBACK_SIGMA_SITE_M = 1000.0


def marked_record(alert: dict[str, Any], marks: dict[str, Any], copy_ref: str, text: str) -> dict[str, Any]:
    """The alert record with every marked field replaced by this copy's value, plus ``copy_ref`` and the
    marked ``bulletin`` text. ``eta_lo``/``eta_hi`` are the copy's window edges (wider than the alert's)."""
    site = dict(alert.get("predicted_site") or {})
    site.update(lat=marks["lat"], lon=marks["lon"])
    out = {k: v for k, v in alert.items() if k not in ("indicators", "explanations")}
    out.update({
        "predicted_site": site, "sigma_site_m": float(marks["sigma_m"]), "t_issued": float(marks["issued"]),
        "eta": float(marks["eta"]), "eta_lo": float(marks["lo"]), "eta_hi": float(marks["hi"]),
        "eta_window_s": float(marks["hi"] - marks["lo"]),
        "indicators": [reason_wordings(k)[marks["reason_wording"][k]] for k in marks["reason_order"]],
        "copy_ref": copy_ref, "bulletin": text,
    })
    if "explanations" in alert:
        out["explanations"] = list(marks["explain_order"])
    return out


def mark_for_recipient(alert: dict[str, Any], recipient: str, existing: pd.DataFrame | None = None,
                       rng_seed: int | None = None) -> dict[str, Any]:
    """A new marked copy of ``alert`` for ``recipient``, spread away from the ``existing`` copies of the same
    alert (COPY_COLUMNS): {"alert", "copy_ref", "text", "marks"} — the store's marker interface."""
    record = dict(alert)
    sigma = record.get("sigma_site_m")
    if sigma is None or not pd.notna(sigma) or float(sigma) <= 0:
        record["sigma_site_m"] = FALLBACK_SIGMA_SITE_M
    alert_id = str(record["alert_id"])
    dispatch = pd.DataFrame({"alert_id": [alert_id], "unit_id": [recipient]})
    have = existing if existing is not None else pd.DataFrame(columns=COPY_COLUMNS)
    copy = marked_copies(pd.DataFrame([record]), dispatch, rng_seed=rng_seed, existing=have).iloc[0]
    marks = json.loads(copy["marks"])
    return {"alert": marked_record(alert, marks, str(copy["copy_ref"]), str(copy["text"])),
            "copy_ref": str(copy["copy_ref"]), "text": str(copy["text"]), "marks": str(copy["marks"])}
