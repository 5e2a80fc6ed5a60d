"""How well ``assessments.csv`` ranks air-bridge flights above the rest: ROC AUC against truth kinds.

Each assessed track takes the kind of the truth flight it follows (:mod:`.association`); positive means
``narco``. Tracks that follow no truth flight (false tracks) have no kind and are left out; their number is
reported. Two AUCs:

- ``assessment_auc_tracks``: one sample per assessed, matched track (a track listed twice keeps its highest
  score);
- ``assessment_auc_flights``: one sample per truth flight that has at least one assessed track, scored by the
  highest score among its tracks — what an analyst sees when a flight is tracked in pieces.

Each is ``None`` when its samples lack either class (the AUC is undefined). Calibration: the Brier score
of the track scores (``assessment_brier_tracks``, mean squared difference between score and outcome; 0 is
perfect) and :func:`reliability_curve` (observed narco fraction per score bin).

>>> import pandas as pd
>>> assoc = pd.DataFrame({"track_id": ["a", "b", "c"], "truth_id": ["F1", "F2", "F3"],
...                       "kind": ["narco", "airline", "military"]})
>>> scores = pd.DataFrame({"track_id": ["a", "b", "c", "x"], "score": [0.9, 0.2, 0.4, 0.99]})
>>> m = assessment_metrics(scores, assoc)
>>> m["assessment_auc_tracks"], m["assessed_tracks"], m["assessed_tracks_matched"]
(1.0, 4, 3)
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from centinela.evaluate.common import number

POSITIVE_KIND = "narco"
# Ten equal-width score bins: the usual reliability diagram; enough tracks per bin on a day of data.
RELIABILITY_BINS = 10


def _auc(is_positive: np.ndarray, score: np.ndarray) -> float | None:
    if len(np.unique(is_positive)) < 2:
        return None
    return float(roc_auc_score(is_positive, score))


def labelled_scores(assessments: pd.DataFrame, association: pd.DataFrame) -> pd.DataFrame:
    """Assessed tracks that follow a truth flight: ``track_id``, ``score`` (highest if listed twice),
    ``truth_id`` and ``positive`` (the flight is narco)."""
    scores = (
        assessments[["track_id", "score"]]
        .dropna()
        .astype({"track_id": str, "score": float})
        .groupby("track_id", as_index=False)["score"]
        .max()
    )
    labelled = scores.merge(
        association[["track_id", "truth_id", "kind"]].astype({"track_id": str, "truth_id": str}), on="track_id"
    )
    labelled["positive"] = labelled["kind"].astype("string").eq(POSITIVE_KIND).fillna(False).to_numpy(bool)
    return labelled.drop(columns="kind")


def reliability_table(labelled: pd.DataFrame, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """Per non-empty score bin: mean ``predicted`` score, ``observed`` narco fraction and ``tracks``."""
    score = labelled["score"].to_numpy(float).clip(0.0, 1.0)
    bin_index = np.minimum((score * bins).astype(int), bins - 1)
    table = (
        pd.DataFrame({"bin": bin_index, "score": score, "positive": labelled["positive"].to_numpy(float)})
        .groupby("bin")
        .agg(predicted=("score", "mean"), observed=("positive", "mean"), tracks=("score", "size"))
        .reset_index(drop=True)
    )
    return table


def assessment_metrics(
    assessments: pd.DataFrame | None, association: pd.DataFrame | None
) -> dict[str, float | int | None]:
    """The ``assessment`` section. ``assessments`` is ``None`` when assessments.csv is missing;
    ``association`` (from :func:`.association.associate_tracks`) is ``None`` when tracks.parquet is."""
    metrics: dict[str, float | int | None] = {
        "assessed_tracks": None,
        "assessed_tracks_matched": None,
        "assessment_auc_tracks": None,
        "assessment_brier_tracks": None,
        "assessed_flights": None,
        "assessment_auc_flights": None,
    }
    if assessments is None:
        return metrics
    metrics["assessed_tracks"] = int(assessments["track_id"].dropna().nunique())
    if association is None:
        return metrics
    labelled = labelled_scores(assessments, association)
    flights = labelled.groupby("truth_id").agg(score=("score", "max"), positive=("positive", "first"))
    metrics.update(
        assessed_tracks_matched=len(labelled),
        assessment_auc_tracks=_auc(labelled["positive"].to_numpy(bool), labelled["score"].to_numpy(float)),
        assessment_brier_tracks=(
            float(brier_score_loss(labelled["positive"], labelled["score"].clip(0.0, 1.0)))
            if len(labelled) else None
        ),
        assessed_flights=len(flights),
        assessment_auc_flights=_auc(flights["positive"].to_numpy(bool), flights["score"].to_numpy(float)),
    )
    return {k: number(v) for k, v in metrics.items()}
