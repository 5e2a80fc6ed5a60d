"""Motion models and the interacting multiple model (IMM) filter, vectorised over tracks.

State per model: ``[east_m, north_m, v_east_mps, v_north_mps]`` in the tracker's plane. The model set is a
near-constant-velocity model (cruise, and a hovering helicopter, which is a CV target at zero speed) and two
coordinated turns of fixed rate, left and right (Bar-Shalom, Li and Kirubarajan, *Estimation with Applications
to Tracking and Navigation*, §11.6–11.7). With a common state and fixed turn rates every model is linear, so a
batch of tracks is filtered with stacked matrix products and the measurement update is an exact Kalman update.

Arrays: ``x`` (n, M, 4), ``P`` (n, M, 4, 4), ``mu`` (n, M) for n tracks and M models; ``dt`` (n,) seconds.
Time steps may be negative (a plot a few seconds older than the track's last update, from another sensor of
the same batch): the mean is propagated backwards exactly and the covariance grows by the noise of ``|dt|``,
a conservative stand-in for an out-of-sequence update.

>>> models = ImmModels.standard(cv_accel_psd_m2ps3=0.25, ct_accel_psd_m2ps3=2.25, turn_rate_dps=3.0,
...                             cv_sojourn_s=120.0, ct_sojourn_s=40.0)
>>> x = np.array([[[0.0, 0.0, 70.0, 0.0]] * 3])
>>> P = np.tile(np.diag([100.0**2, 100.0**2, 10.0**2, 10.0**2]), (1, 3, 1, 1))
>>> mu = np.array([[0.8, 0.1, 0.1]])
>>> xp, Pp, c = imm_predict(x, P, mu, np.array([10.0]), models)
>>> xp[0, 0, :2].round(1).tolist()           # the CV model flies 700 m east
[700.0, 0.0]
>>> bool(xp[0, 1, 1] > 0 > xp[0, 2, 1])      # the turn models curve left and right
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATE_DIM = 4
# The models' measurement matrix: radar plots and ADS-B positions measure east and north.
H = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])


@dataclass(frozen=True)
class ImmModels:
    """The model set: turn rate (rad/s, 0 for CV), noise PSD (m²/s³) and mean sojourn time (s) per model."""

    turn_rate_rps: np.ndarray
    accel_psd_m2ps3: np.ndarray
    sojourn_s: np.ndarray
    initial_mu: np.ndarray

    @classmethod
    def standard(
        cls, *, cv_accel_psd_m2ps3: float, ct_accel_psd_m2ps3: float, turn_rate_dps: float,
        cv_sojourn_s: float, ct_sojourn_s: float,
    ) -> ImmModels:
        omega = np.radians(turn_rate_dps)
        return cls(
            turn_rate_rps=np.array([0.0, omega, -omega]),
            accel_psd_m2ps3=np.array([cv_accel_psd_m2ps3, ct_accel_psd_m2ps3, ct_accel_psd_m2ps3]),
            sojourn_s=np.array([cv_sojourn_s, ct_sojourn_s, ct_sojourn_s]),
            initial_mu=np.array([0.8, 0.1, 0.1]),
        )

    @property
    def count(self) -> int:
        return len(self.turn_rate_rps)

    def transition(self, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """State transition F (n, M, 4, 4) and process noise Q (n, M, 4, 4) over steps ``dt`` (n,)."""
        dt = np.asarray(dt, float)[:, None]  # (n, 1)
        w = self.turn_rate_rps[None, :]  # (1, M)
        wt = w * dt
        turning = w != 0.0
        safe_w = np.where(turning, w, 1.0)
        sin_wt, cos_wt = np.sin(wt), np.cos(wt)
        # Limits for w → 0 give the constant-velocity matrix.
        a = np.where(turning, sin_wt / safe_w, dt)  # ∫cos
        b = np.where(turning, (1.0 - cos_wt) / safe_w, 0.0)  # ∫sin
        n, m = dt.shape[0], w.shape[1]
        F = np.zeros((n, m, 4, 4))
        F[..., 0, 0] = F[..., 1, 1] = 1.0
        F[..., 0, 2], F[..., 0, 3] = a, -b
        F[..., 1, 2], F[..., 1, 3] = b, a
        F[..., 2, 2], F[..., 2, 3] = cos_wt, -sin_wt
        F[..., 3, 2], F[..., 3, 3] = sin_wt, cos_wt
        # Continuous white-noise acceleration, per axis; |dt| so that a backward step adds uncertainty too.
        T = np.abs(dt)
        q = self.accel_psd_m2ps3[None, :]
        Q = np.zeros((n, m, 4, 4))
        Q[..., 0, 0] = Q[..., 1, 1] = q * T**3 / 3.0
        Q[..., 0, 2] = Q[..., 2, 0] = Q[..., 1, 3] = Q[..., 3, 1] = q * T**2 / 2.0 * np.sign(dt)
        Q[..., 2, 2] = Q[..., 3, 3] = q * T
        return F, Q

    def switching(self, dt: np.ndarray) -> np.ndarray:
        """Mode transition probabilities Π (n, M, M) over ``dt``: stay with probability exp(-|dt|/sojourn),
        otherwise switch to any other model with equal probability."""
        T = np.abs(np.asarray(dt, float))[:, None]
        stay = np.exp(-T / self.sojourn_s[None, :])  # (n, M)
        m = self.count
        pi = np.repeat(((1.0 - stay) / (m - 1))[:, :, None], m, axis=2)
        idx = np.arange(m)
        pi[:, idx, idx] = stay
        return pi


def predict_models(x: np.ndarray, P: np.ndarray, dt: np.ndarray, models: ImmModels) -> tuple[np.ndarray, np.ndarray]:
    """Each model's own estimate predicted by its own dynamics, without mixing (used for gating)."""
    F, Q = models.transition(dt)
    xp = np.einsum("nmij,nmj->nmi", F, x)
    Pp = F @ P @ F.swapaxes(-1, -2) + Q
    return xp, Pp


def imm_predict(
    x: np.ndarray, P: np.ndarray, mu: np.ndarray, dt: np.ndarray, models: ImmModels
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IMM interaction (mixing) and prediction. Returns predicted x, P and predicted mode probabilities."""
    pi = models.switching(dt)  # (n, i, j)
    joint = pi * mu[:, :, None]
    c = joint.sum(axis=1)  # (n, j)
    w = joint / np.maximum(c[:, None, :], 1e-300)  # μ(i|j)
    x0 = np.einsum("nij,nik->njk", w, x)
    dx = x[:, :, None, :] - x0[:, None, :, :]  # (n, i, j, 4)
    P0 = np.einsum("nij,nikl->njkl", w, P) + np.einsum("nij,nijk,nijl->njkl", w, dx, dx)
    xp, Pp = predict_models(x0, P0, dt, models)
    return xp, Pp, c


def innovation(xp: np.ndarray, Pp: np.ndarray, z: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-model innovation ν (n, M, 2), its covariance S (n, M, 2, 2) and Mahalanobis distance² (n, M)."""
    nu = z[:, None, :] - xp[..., :2]
    S = Pp[..., :2, :2] + R[:, None, :, :]
    det = S[..., 0, 0] * S[..., 1, 1] - S[..., 0, 1] * S[..., 1, 0]
    d2 = (S[..., 1, 1] * nu[..., 0] ** 2 - 2.0 * S[..., 0, 1] * nu[..., 0] * nu[..., 1]
          + S[..., 0, 0] * nu[..., 1] ** 2) / det
    return nu, S, d2


def log_gaussian_2d(d2: np.ndarray, S: np.ndarray) -> np.ndarray:
    """log N(ν; 0, S) from the Mahalanobis distance² and S."""
    det = S[..., 0, 0] * S[..., 1, 1] - S[..., 0, 1] * S[..., 1, 0]
    return -0.5 * d2 - np.log(2.0 * np.pi) - 0.5 * np.log(det)


def imm_update(
    xp: np.ndarray, Pp: np.ndarray, c: np.ndarray, z: np.ndarray, R: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kalman update of every model with a position measurement z (n, 2), covariance R (n, 2, 2); the mode
    probabilities are re-weighted by each model's measurement likelihood."""
    nu, S, d2 = innovation(xp, Pp, z, R)
    det = S[..., 0, 0] * S[..., 1, 1] - S[..., 0, 1] * S[..., 1, 0]
    S_inv = np.empty_like(S)
    S_inv[..., 0, 0], S_inv[..., 1, 1] = S[..., 1, 1] / det, S[..., 0, 0] / det
    S_inv[..., 0, 1] = S_inv[..., 1, 0] = -S[..., 0, 1] / det
    PHt = Pp[..., :, :2]  # P Hᵀ
    K = PHt @ S_inv  # (n, M, 4, 2)
    x = xp + np.einsum("nmij,nmj->nmi", K, nu)
    # Joseph form keeps P symmetric and positive definite in float arithmetic.
    IKH = np.eye(STATE_DIM) - K @ H
    P = IKH @ Pp @ IKH.swapaxes(-1, -2) + K @ R[:, None, :, :] @ K.swapaxes(-1, -2)
    log_lik = log_gaussian_2d(d2, S)
    log_w = log_lik + np.log(np.maximum(c, 1e-300))
    log_w -= log_w.max(axis=1, keepdims=True)
    mu = np.exp(log_w)
    mu /= mu.sum(axis=1, keepdims=True)
    return x, P, mu


def combine(x: np.ndarray, P: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The IMM's overall estimate: the moment-matched mixture of the models' estimates."""
    xc = np.einsum("nm,nmi->ni", mu, x)
    dx = x - xc[:, None, :]
    Pc = np.einsum("nm,nmij->nij", mu, P) + np.einsum("nm,nmi,nmj->nij", mu, dx, dx)
    return xc, Pc


def vertical_predict(h: np.ndarray, P: np.ndarray, dt: np.ndarray, accel_psd_m2ps3: float) -> tuple[np.ndarray, np.ndarray]:
    """Altitude filter prediction: state (altitude m, climb rate m/s) per track, (n, 2) and (n, 2, 2)."""
    n = len(dt)
    F = np.zeros((n, 2, 2))
    F[:, 0, 0] = F[:, 1, 1] = 1.0
    F[:, 0, 1] = dt
    T = np.abs(dt)
    Q = np.empty((n, 2, 2))
    Q[:, 0, 0] = accel_psd_m2ps3 * T**3 / 3.0
    Q[:, 0, 1] = Q[:, 1, 0] = accel_psd_m2ps3 * T**2 / 2.0 * np.sign(dt)
    Q[:, 1, 1] = accel_psd_m2ps3 * T
    return np.einsum("nij,nj->ni", F, h), F @ P @ F.transpose(0, 2, 1) + Q


def vertical_update(h: np.ndarray, P: np.ndarray, z: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Altitude filter update with measured altitudes ``z`` (n,) of variance ``var`` (n,)."""
    s = P[:, 0, 0] + var
    k = P[:, :, 0] / s[:, None]  # (n, 2)
    h = h + k * (z - h[:, 0])[:, None]
    P = P - k[:, :, None] * P[:, None, 0, :]
    return h, 0.5 * (P + P.transpose(0, 2, 1))
