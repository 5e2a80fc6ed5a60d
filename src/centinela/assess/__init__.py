"""Assessment: named indicators per flight, a calibrated score per track and flight, the contribution of each
indicator, and the legitimate explanations that the facts do not rule out (docs/assessment.md).

- :func:`indicators` — one row per track with the indicators of its flight (:mod:`.indicators`);
- :func:`assess` — ``track_id, score`` (the contract's assessments.csv) plus ``flight_id``, ``flight_score``,
  ``contributions`` (JSON: indicator → log-odds term) and ``explanations``;
- :func:`train` — rebuild the shipped model from simulated scenarios (:mod:`.training`).

The reliability curve of the scores against truth is :func:`centinela.evaluate.reliability_curve` (it needs the
evaluation's track-to-truth matcher, so it lives there).
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from centinela import model
from centinela.assess.explanations import explain
from centinela.assess.indicators import FLIGHT_INDICATORS, indicators
from centinela.assess.scoring import ModelFile

MODEL_FILE = "assessment.json"

__all__ = ["FLIGHT_INDICATORS", "assess", "indicators", "load_model", "shipped_model_path", "train"]


def shipped_model_path() -> Path:
    """Where the model that ships with the package lives (``centinela/data/model/assessment.json``)."""
    return Path(str(resources.files("centinela").joinpath("data", "model", MODEL_FILE)))


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> ModelFile:
    return ModelFile.load(path)


def load_model(path: str | Path | None = None) -> ModelFile:
    """The assessment model at ``path`` (default: the shipped one), loaded once per file version."""
    p = Path(path) if path is not None else shipped_model_path()
    if not p.exists():
        raise FileNotFoundError(f"{p}: no assessment model; build it with `centinela train`")
    return _load(str(p), p.stat().st_mtime)


def assess(scenario: model.Scenario, outputs: model.Outputs, *, terrain=None,
           registered: pd.DataFrame | None = None, model_file: ModelFile | None = None) -> pd.DataFrame:
    """Score every track: the contract's ``track_id, score`` and ``flight_id, flight_score, contributions,
    explanations``.

    A track's score is its flight's: the probability that the flight it belongs to (tracks linked by the
    tracker's ``flight_id`` or by a ground stop) is an air-bridge flight, given all of the flight's indicators.
    ``contributions`` is a JSON object of each indicator's term in the log-odds (positive pushes towards the air
    bridge), largest first, terms under :data:`MIN_CONTRIBUTION` left out; ``explanations`` lists, separated by ``; ``, the legitimate explanations not ruled
    out.
    """
    m = model_file or load_model()
    table = indicators(scenario, outputs, terrain=terrain, registered=registered)
    columns = [*model.ASSESSMENT_COLUMNS, "flight_id", "flight_score", "contributions", "explanations"]
    if len(table) == 0:
        return model.conform(pd.DataFrame(columns=columns), model.ASSESSMENT_COLUMNS)
    x = table[FLIGHT_INDICATORS].astype(float)
    score = m.flight.probability(x)
    terms = m.flight.contributions(x)
    out = pd.DataFrame({
        "track_id": table["track_id"].astype("string"),
        "score": score,
        "flight_id": table["flight_id"].astype("string"),
        "flight_score": score,
        "contributions": [_contributions_json(list(terms.columns), row) for row in terms.to_numpy()],
        "explanations": ["; ".join(e) for e in explain(table)],
    })
    return model.conform(out, model.ASSESSMENT_COLUMNS)


# Terms smaller than this (in log-odds) change a probability by well under a percent: left out of the listing.
MIN_CONTRIBUTION = 0.005


def _contributions_json(names: list[str], values: np.ndarray) -> str:
    order = np.argsort(-np.abs(values), kind="stable")
    return json.dumps({names[i]: round(float(values[i]), 3) for i in order if abs(values[i]) >= MIN_CONTRIBUTION})


def train(seeds, out_model, **kwargs) -> dict:
    """Rebuild the model from simulated scenarios; see :func:`centinela.assess.training.train`."""
    from centinela.assess.training import train as run_training

    return run_training(seeds, out_model, **kwargs)
