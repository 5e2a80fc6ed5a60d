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


def marked_record(alert: dict[str, Any], marks: dict[str, Any], copy_ref: str, text: str) -> dict[str, Any]:
    """The alert record with every marked field replaced by this copy's value, plus ``copy_ref`` and the
    marked ``bulletin`` text. ``eta_lo``/``eta_hi`` are the copy's window edges (wider than the alert's)."""
    # A copy of an alert that gave no site, window or ETA has no marks for them (alerts.marking): it shows none.
    site = dict(alert.get("predicted_site") or {})
    if "lat" in marks:
        site.update(lat=marks["lat"], lon=marks["lon"])
    out = {k: v for k, v in alert.items() if k not in ("indicators", "explanations")}
    out.update({
        "predicted_site": site if "lat" in marks else alert.get("predicted_site"),
        "sigma_site_m": float(marks["sigma_m"]) if "sigma_m" in marks else None,
        "t_issued": float(marks["issued"]),
        "eta": float(marks["eta"]) if "eta" in marks else None,
        "eta_lo": float(marks["lo"]) if "lo" in marks else None,
        "eta_hi": float(marks["hi"]) if "hi" in marks else None,
        "eta_window_s": float(marks["hi"] - marks["lo"]) if "lo" in marks else None,
        "indicators": [reason_wordings(k)[marks["reason_wording"][k]] for k in marks["reason_order"]],
        "copy_ref": copy_ref, "bulletin": text,
    })
    if "explanations" in alert:
        out["explanations"] = list(marks["explain_order"])
    return out


def mark_for_recipient(alert: dict[str, Any], recipient: str, existing: pd.DataFrame | None = None,
                       rng_seed: int | None = None) -> dict[str, Any]:
    """``recipient``'s marked copy of ``alert``: {"alert", "copy_ref", "text", "marks"} — the store's marker
    interface. When the ``existing`` copies of the alert (COPY_COLUMNS) hold one for ``recipient`` (it was
    dispatched with its copy), that copy; else a new one, spread away from the existing copies."""
    have = existing if existing is not None else pd.DataFrame(columns=COPY_COLUMNS)
    own = have[have["unit_id"].astype(str) == recipient]
    if len(own):
        copy = own.iloc[0]
    else:
        dispatch = pd.DataFrame({"alert_id": [str(alert["alert_id"])], "unit_id": [recipient]})
        copy = marked_copies(pd.DataFrame([alert]), dispatch, rng_seed=rng_seed, existing=have).iloc[0]
    marks = json.loads(copy["marks"])
    return {"alert": marked_record(alert, marks, str(copy["copy_ref"]), str(copy["text"])),
            "copy_ref": str(copy["copy_ref"]), "text": str(copy["text"]), "marks": str(copy["marks"])}
