"""A flight's dossier: its track, events, score and the reasons behind it, in one JSON-ready dict.

The facts (times, transponder, sensors, speeds) are read off the stored track; the score and its indicators are
the assessment's and the alerts' own words. Alerts appear only when the reader is cleared for them, and each
one shown is audited by the store.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from centinela.store import Store, User

DOSSIER_ENDPOINT = "GET /api/flights/{track_id}"


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as strict-JSON dicts (NaN and NA become null)."""
    return json.loads(df.to_json(orient="records", double_precision=6)) if len(df) else []


def _parsed(value: Any) -> Any:
    """A JSON object or list that reached us as text (assessments.csv cells) as the value itself."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _distinct(series: pd.Series) -> list[str]:
    return sorted({str(v) for v in series.dropna()})


def track_summary(history: pd.DataFrame) -> dict[str, Any]:
    """What the track itself says: when, where, how fast, which sensors, whether it answered a transponder."""
    speed_mps = np.hypot(history["vn_mps"].to_numpy(float), history["ve_mps"].to_numpy(float))
    sensors = sorted({s for cell in history["sensors"].dropna() for s in str(cell).split(",") if s})
    cooperative = history["icao24"].notna() | history["squawk"].notna()
    first, last = history.iloc[0], history.iloc[-1]
    alt = history["alt_m"].dropna()
    return {
        "first_seen": float(first["t"]), "last_seen": float(last["t"]),
        "duration_s": float(last["t"] - first["t"]), "updates": len(history),
        "start": {"lat": float(first["lat"]), "lon": float(first["lon"])},
        "end": {"lat": float(last["lat"]), "lon": float(last["lon"])},
        "callsigns": _distinct(history["callsign"]), "icao24": _distinct(history["icao24"]),
        "squawks": _distinct(history["squawk"]),
        # share of updates with a transponder reply (mode S address or squawk): 0 means never seen by one
        "transponder_share": float(cooperative.mean()),
        "sensors": sensors,
        "max_speed_mps": None if np.isnan(speed_mps).all() else float(np.nanmax(speed_mps)),
        "alt_m": None if alt.empty else {"min": float(alt.min()), "max": float(alt.max())},
    }


def flight_dossier(store: Store, user: User, track_id: str, *, run_id: str | None = None,
                   until_s: float | None = None) -> dict[str, Any] | None:
    """The dossier of ``track_id`` (and the tracks linked to it by flight_id), or None when unknown.

    ``until_s`` hides what happened after that time (a replay's clock).
    """
    history = store.track_history(track_id, run_id=run_id)
    if until_s is not None:
        history = history[history["t"] <= until_s]
    if history.empty:
        return None
    run = str(history["run_id"].iloc[0])
    track_ids = _distinct(history["track_id"])
    assessments = store.assessments(run_id=run, track_ids=track_ids)
    events = store.events(run_id=run, track_ids=track_ids, t1_s=until_s)
    alerts = store.read_alerts(user, DOSSIER_ENDPOINT, run_id=run, track_ids=track_ids, t1_s=until_s)
    own = assessments[assessments["track_id"] == track_id]
    score = float(own["score"].iloc[0]) if len(own) else None
    explanation = {k: _parsed(v) for k, v in (_records(own)[0].items() if len(own) else [])
                   if k not in ("run_id", "track_id", "score")}
    return {
        "track_id": track_id,
        "run_id": run,
        "flight_id": None if history["flight_id"].isna().all() else str(history["flight_id"].dropna().iloc[0]),
        "track_ids": track_ids,
        "summary": track_summary(history),
        "score": score,
        # whatever the assessment wrote beyond the score (indicators, legitimate explanations, ...)
        "assessment": explanation,
        "assessments": _records(assessments),
        "events": _records(events),
        "alerts": _records(alerts),
        "track": {
            "track_id": history["track_id"].astype(object).tolist(),
            "t": history["t"].round(2).tolist(),
            "lat": history["lat"].round(5).tolist(),
            "lon": history["lon"].round(5).tolist(),
            "alt_m": [None if np.isnan(v) else round(v) for v in history["alt_m"].astype(float).tolist()],
        },
    }
