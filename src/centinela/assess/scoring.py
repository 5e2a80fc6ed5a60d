"""The score: a logistic regression over the indicators, calibrated by isotonic regression, stored as JSON.

Why this model: a logistic regression's log-odds is a sum of one term per indicator, so the contribution of
each indicator to a score is exact and readable ("no transponder: +2.1"), which an analyst and a court need
more than the last point of AUC. The logistic output is then mapped to a probability by an isotonic
regression fitted on out-of-fold predictions (calibration on data the regression did not see). Both parts
are plain numbers, so the shipped model is a JSON file: safe to load (no pickle) and readable in a diff.

>>> m = LinearScore(["a", "b"], mean=[0.0, 0.0], scale=[1.0, 1.0], coef=[2.0, -1.0], intercept=-1.0,
...                 calibration_x=[-5.0, 5.0], calibration_y=[0.0, 1.0])
>>> import pandas as pd
>>> x = pd.DataFrame({"a": [1.0], "b": [0.0]})
>>> float(m.log_odds(x)[0]), round(float(m.probability(x)[0]), 3)
(1.0, 0.6)
>>> m.contributions(x).round(2).to_dict("records")
[{'a': 2.0, 'b': -0.0}]
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class LinearScore:
    """Standardised logistic regression + isotonic calibration over named features."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    # Isotonic calibration: log-odds breakpoints and the probabilities there (linear in between).
    calibration_x: list[float]
    calibration_y: list[float]
    info: dict = field(default_factory=dict)

    def _standardised(self, x: pd.DataFrame) -> np.ndarray:
        values = x.reindex(columns=self.features).to_numpy(float)
        values = np.where(np.isnan(values), np.asarray(self.mean), values)  # a missing indicator is neutral
        return (values - np.asarray(self.mean)) / np.asarray(self.scale)

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        """Each indicator's additive term of the log-odds, relative to the average training flight."""
        return pd.DataFrame(self._standardised(x) * np.asarray(self.coef), columns=self.features, index=x.index)

    def log_odds(self, x: pd.DataFrame) -> np.ndarray:
        """Uncalibrated log-odds: intercept plus the sum of the contributions."""
        return self.intercept + (self._standardised(x) * np.asarray(self.coef)).sum(axis=1)

    def probability(self, x: pd.DataFrame) -> np.ndarray:
        """Calibrated probability (0..1) of an air-bridge flight."""
        return self.calibrate(self.log_odds(x))

    def calibrate(self, log_odds: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(log_odds, float), self.calibration_x, self.calibration_y)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LinearScore:
        return cls(**data)


@dataclass
class ModelFile:
    """The shipped model: a flight-level score, an airborne (inbound, causal) score, the alert threshold (on the
    inbound score's log-odds), the ETA window and the training record."""

    flight: LinearScore
    inbound: LinearScore
    alert_threshold: float
    eta_window: dict  # see centinela.alerts.warning.EtaWindow
    info: dict = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        data = {"format": "centinela-assess-model/1", "flight": self.flight.to_dict(),
                "inbound": self.inbound.to_dict(), "alert_threshold": self.alert_threshold,
                "eta_window": self.eta_window, "info": self.info}
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=True, default=_plain) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ModelFile:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != "centinela-assess-model/1":
            raise ValueError(f"{path}: not a centinela assessment model (format {data.get('format')!r})")
        return cls(LinearScore.from_dict(data["flight"]), LinearScore.from_dict(data["inbound"]),
                   float(data["alert_threshold"]), dict(data["eta_window"]), dict(data.get("info", {})))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in the model file")


def fit_linear_score(x: pd.DataFrame, y: np.ndarray, *, weight: np.ndarray | None = None,
                     groups: np.ndarray | None = None, c: float = 1.0, folds: int = 5,
                     seed: int = 0) -> tuple[LinearScore, np.ndarray]:
    """Fit the regression on all rows and the isotonic calibration on out-of-fold log-odds.

    ``groups`` keeps rows of one group (e.g. one scenario or flight) in the same fold, so the calibration never
    sees a prediction made with its own flight in the training set. Returns the model and the out-of-fold
    log-odds (for honest training metrics; ``model.calibrate`` turns them into probabilities).
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    features = list(x.columns)
    values = x.to_numpy(float)
    mean = np.nanmean(values, axis=0)
    values = np.where(np.isnan(values), mean, values)
    scale = values.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)  # a constant feature gets weight 0 anyway
    z = (values - mean) / scale
    y = np.asarray(y, int)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, float)

    def regression() -> LogisticRegression:
        return LogisticRegression(C=c, max_iter=2000, class_weight="balanced")

    if groups is not None and len(np.unique(groups)) >= folds:
        splits = GroupKFold(n_splits=folds).split(z, y, groups)
    else:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(z, y)
    oof = np.zeros(len(y))
    for train_idx, test_idx in splits:
        fold = regression().fit(z[train_idx], y[train_idx], sample_weight=w[train_idx])
        oof[test_idx] = fold.decision_function(z[test_idx])
    final = regression().fit(z, y, sample_weight=w)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(oof, y, sample_weight=w)
    model = LinearScore(
        features=features, mean=mean.tolist(), scale=scale.tolist(), coef=final.coef_[0].tolist(),
        intercept=float(final.intercept_[0]),
        calibration_x=iso.X_thresholds_.tolist(), calibration_y=iso.y_thresholds_.tolist(),
    )
    return model, oof
