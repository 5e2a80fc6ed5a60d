"""Reliability of the scores: does a score of 0.8 mean that 8 in 10 such tracks are air-bridge flights?

Tracks take the kind of the truth flight they follow (:func:`centinela.evaluate.association.associate_tracks`,
the evaluation's own matcher); tracks that follow no truth flight are left out, as in the AUC. Scores are put
in equal-width bins; each bin gives the mean score (``predicted``), the fraction of its tracks that are air-bridge
flights (``observed``) and its size ``n``. A calibrated score lies on the diagonal.

>>> import pandas as pd
>>> scores = pd.DataFrame({"track_id": list("abcd"), "score": [0.05, 0.1, 0.9, 0.95]})
>>> assoc = pd.DataFrame({"track_id": list("abcd"), "kind": ["airline", "military", "narco", "narco"]})
>>> binned_reliability(scores, assoc, bins=2).round(3).to_dict("list")
{'predicted': [0.075, 0.925], 'observed': [0.0, 1.0], 'n': [2, 2]}
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from centinela import model

RELIABILITY_BINS = 10


def binned_reliability(assessments: pd.DataFrame, association: pd.DataFrame, *,
                       bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """The reliability table from scores (``track_id, score``) and the track→kind association."""
    scores = assessments[["track_id", "score"]].dropna().astype({"track_id": str, "score": float})
    scores = scores.groupby("track_id", as_index=False)["score"].max()
    labelled = scores.merge(association[["track_id", "kind"]].astype({"track_id": str}), on="track_id")
    if len(labelled) == 0:
        return pd.DataFrame({"predicted": pd.Series(dtype=float), "observed": pd.Series(dtype=float),
                             "n": pd.Series(dtype="int64")})
    positive = labelled["kind"].astype("string").eq("narco").fillna(False).to_numpy(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(labelled["score"].to_numpy(float), edges[1:-1]), 0, bins - 1)
    table = pd.DataFrame({"bin": which, "score": labelled["score"].to_numpy(float), "positive": positive})
    out = table.groupby("bin").agg(predicted=("score", "mean"), observed=("positive", "mean"), n=("score", "size"))
    return out.reset_index(drop=True).astype({"n": "int64"})


def reliability_curve(truth: model.Truth, outputs: model.Outputs, *, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """``predicted, observed, n`` per score bin, for the assessments of ``outputs`` against ``truth``."""
    from centinela.evaluate.association import associate_tracks
    from centinela.evaluate.common import scenario_frame

    association = associate_tracks(truth, outputs.tracks, scenario_frame(truth))
    return binned_reliability(outputs.assessments, association, bins=bins)
