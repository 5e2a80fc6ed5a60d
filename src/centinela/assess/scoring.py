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
(1.0, 0.601)
>>> m.contributions(x).round(2).to_dict("records")
[{'a': 2.0, 'b': -0.0}]
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# Share of the logistic probability blended into the isotonic one to keep scores strictly ordered.
TIE_BREAK_WEIGHT = 0.01


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
        """The isotonic probability, blended with :data:`TIE_BREAK_WEIGHT` of the logistic one: isotonic steps
        would give many flights the same score and hide the regression's ranking from the analyst (and the AUC);
        the blend keeps the order and moves no probability by more than a percent."""
        x = np.asarray(log_odds, float)
        isotonic = np.interp(x, self.calibration_x, self.calibration_y)
        return (1.0 - TIE_BREAK_WEIGHT) * isotonic + TIE_BREAK_WEIGHT / (1.0 + np.exp(-x))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LinearScore:
        return cls(**data)


@dataclass
class ModelFile:
    """The shipped model: a flight-level score, an airborne (inbound, causal) score, the alert threshold (on the
    inbound score's log-odds), the ETA window, the spread of predicted sites and the training record."""

    flight: LinearScore
    inbound: LinearScore
    alert_threshold: float
    eta_window: dict  # see centinela.alerts.warning.EtaWindow
    info: dict = field(default_factory=dict)
    site_spread: dict = field(default_factory=dict)  # see centinela.alerts.warning.SiteSpread (empty: defaults)

    def save(self, path: str | Path) -> None:
        data = {"format": "centinela-assess-model/1", "flight": self.flight.to_dict(),
                "inbound": self.inbound.to_dict(), "alert_threshold": self.alert_threshold,
                "eta_window": self.eta_window, "site_spread": self.site_spread, "info": self.info}
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=True, default=_plain) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ModelFile:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != "centinela-assess-model/1":
            raise ValueError(f"{path}: not a centinela assessment model (format {data.get('format')!r})")
        return cls(LinearScore.from_dict(data["flight"]), LinearScore.from_dict(data["inbound"]),
                   float(data["alert_threshold"]), dict(data["eta_window"]), dict(data.get("info", {})),
                   dict(data.get("site_spread", {})))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in the model file")


class SignedLogisticRegression:
    """L2-regularised logistic regression whose coefficients may be held to a sign.

    An indicator that the domain says points to the air bridge (no transponder) may only add to the score, one
    that points to a legitimate flight (starts at a military base) may only take from it. Without the bounds, a
    coincidence of the training scenarios (say, air-bridge tracks that happen to begin near a base) would teach
    the model that a base is suspicious, and its explanations would say so. Fitted by L-BFGS-B (SciPy) on the
    weighted log-loss; ``class_weight="balanced"`` as in scikit-learn.
    """

    def __init__(self, c: float = 1.0, signs: np.ndarray | None = None):
        self.c, self.signs = c, signs

    def fit(self, z: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None):
        from scipy.optimize import minimize
        from scipy.special import expit

        n, k = z.shape
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
        # Balanced classes: each class carries half the total weight.
        pos = y == 1
        w = np.where(pos, w * 0.5 * w.sum() / max(w[pos].sum(), 1e-12), w * 0.5 * w.sum() / max(w[~pos].sum(), 1e-12))
        sign = np.zeros(k) if self.signs is None else np.asarray(self.signs, float)
        bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in sign] + [(None, None)]

        def loss(theta):
            beta, b0 = theta[:k], theta[k]
            margin = z @ beta + b0
            # log(1 + exp(-y*m)) computed stably; y in {-1, +1}
            ys = np.where(pos, 1.0, -1.0)
            value = np.logaddexp(0.0, -ys * margin)
            grad_m = -ys * expit(-ys * margin)
            f = (w * value).sum() + 0.5 * (beta @ beta) / self.c
            g = np.r_[z.T @ (w * grad_m) + beta / self.c, (w * grad_m).sum()]
            return f, g

        res = minimize(loss, np.zeros(k + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 2000, "gtol": 1e-8})
        self.coef_, self.intercept_ = res.x[:k].reshape(1, -1), res.x[k:]
        return self

    def decision_function(self, z: np.ndarray) -> np.ndarray:
        return z @ self.coef_[0] + self.intercept_[0]


def fit_linear_score(x: pd.DataFrame, y: np.ndarray, *, weight: np.ndarray | None = None,
                     groups: np.ndarray | None = None, c: float = 1.0, folds: int = 5,
                     seed: int = 0, signs: dict[str, int] | None = None) -> tuple[LinearScore, np.ndarray]:
    """Fit the regression on all rows and the isotonic calibration on out-of-fold log-odds. ``signs`` holds
    indicators to a sign (+1: may only raise the score, −1: may only lower it; see
    :class:`SignedLogisticRegression`).

    ``groups`` keeps rows of one group (e.g. one scenario or flight) in the same fold, so the calibration never
    sees a prediction made with its own flight in the training set. Returns the model and the out-of-fold
    log-odds (for honest training metrics; ``model.calibrate`` turns them into probabilities).
    """
    from sklearn.isotonic import IsotonicRegression
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

    sign_vector = np.array([(signs or {}).get(f, 0) for f in features], float)

    def regression() -> SignedLogisticRegression:
        return SignedLogisticRegression(c=c, signs=sign_vector)

    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority == 0:
        raise ValueError("training data hold only one class: simulate more or longer scenarios")
    if groups is not None and len(np.unique(groups)) >= folds:
        splits = list(GroupKFold(n_splits=folds).split(z, y, groups))
    elif minority >= 2:
        splits = list(StratifiedKFold(n_splits=min(folds, minority), shuffle=True, random_state=seed).split(z, y))
    else:  # too little data to hold any out: calibrate in-sample (tiny settings, tests)
        splits = [(np.arange(len(y)), np.arange(len(y)))]
    oof = np.zeros(len(y))
    for train_idx, test_idx in splits:
        if len(np.unique(y[train_idx])) < 2:  # a fold without one class: predict with the full fit instead
            train_idx = np.arange(len(y))
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
