"""Constant-velocity Kalman filter equations for N independent 2-D points at once, on numpy arrays: state
(N, 4) = (x, y, vx, vy), covariance (N, 4, 4), a position measurement per point with isotropic noise variance.

The equations are filterpy's: `KalmanFilter.predict`, `KalmanFilter.update` (Joseph form) and
`KalmanFilter.rts_smoother`, with the process noise of `Q_continuous_white_noise`; filterpy stays the reference
(tests/test_tracker_smoothing.py compares both). Only the batching is ours: the 2x2 innovation covariance is
inverted in closed form, and the measurement matrix H = [I 0] is applied by slicing. filterpy is not imported
here: its package imports scipy.stats, which took 0.6 of the 1 s that `pose-track video` needs to start
(docs/experiments.md, "Tracker throughput").
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

_EYE4 = np.eye(4)


def transition(dt: float) -> np.ndarray:
    """F (4, 4): position += velocity * dt."""
    F = np.eye(4)
    F[0, 2] = F[1, 3] = dt
    return F


@lru_cache(maxsize=16)
def _unit_process_noise(dt: float) -> np.ndarray:
    """filterpy's Q_continuous_white_noise(dim=2, dt, spectral_density=1, block_size=2, order_by_dim=False):
    [[dt^3/3, dt^2/2], [dt^2/2, dt]] for each axis, in the state order (x, y, vx, vy)."""
    Q = np.zeros((4, 4))
    for axis in (0, 1):
        position, velocity = axis, axis + 2
        Q[position, position] = dt ** 3 / 3.0
        Q[position, velocity] = Q[velocity, position] = dt ** 2 / 2.0
        Q[velocity, velocity] = dt
    Q.setflags(write=False)
    return Q


def process_noise(dt: float, spectral_density: float) -> np.ndarray:
    """Q (4, 4) of white-noise acceleration with this spectral density over dt (Q is linear in it, so the unit
    matrix is cached per dt: the time step rarely changes, the person box side does every frame)."""
    return _unit_process_noise(float(dt)) * spectral_density


def predict(x: np.ndarray, P: np.ndarray, F: np.ndarray, Q: np.ndarray):
    """x (N, 4), P (N, 4, 4) -> the predicted (x, P); Q (4, 4) or (N, 4, 4)."""
    return x @ F.T, F @ P @ F.T + Q


def innovation(x: np.ndarray, P: np.ndarray, z: np.ndarray, r_var: np.ndarray):
    """Residual y = z - Hx (N, 2), the inverse of its covariance S = HPH' + R (N, 2, 2), and the normalised
    innovation squared y' S^-1 y (N,)."""
    y = z - x[:, :2]
    a = P[:, 0, 0] + r_var
    b = P[:, 0, 1]
    c = P[:, 1, 0]
    d = P[:, 1, 1] + r_var
    det = a * d - b * c
    SI = np.empty((len(x), 2, 2))
    SI[:, 0, 0] = d / det
    SI[:, 0, 1] = -b / det
    SI[:, 1, 0] = -c / det
    SI[:, 1, 1] = a / det
    nis = np.einsum("ni,nij,nj->n", y, SI, y)
    return y, SI, nis


def update(x: np.ndarray, P: np.ndarray, z: np.ndarray, r_var: np.ndarray, innov=None):
    """Measure positions z (N, 2) with noise variance r_var (N,) -> the updated (x, P); Joseph-form covariance
    (I - KH) P (I - KH)' + K R K', as filterpy. innov: `innovation(x, P, z, r_var)` when already computed."""
    y, SI, _ = innovation(x, P, z, r_var) if innov is None else innov
    K = P[:, :, :2] @ SI                           # P H' S^-1, (N, 4, 2)
    x_new = x + np.einsum("nij,nj->ni", K, y)
    I_KH = np.empty_like(P)
    I_KH[:] = _EYE4
    I_KH[:, :, :2] -= K                            # K H puts K in the first two columns
    P_new = I_KH @ P @ I_KH.transpose(0, 2, 1) + r_var[:, None, None] * (K @ K.transpose(0, 2, 1))
    return x_new, P_new


def rts_backward(xs: np.ndarray, Ps: np.ndarray, Fs: np.ndarray, Qs: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Rauch-Tung-Striebel smoothing of the filtered states xs (T, N, 4), Ps (T, N, 4, 4), where step k was
    predicted with Fs[k] (T, 4, 4) and Qs[k] (T, N, 4, 4). active (T, N) bool: the point has a state at step k
    that step k + 1 continues (False before its first state, and where a new piece of its track begins at step
    k + 1). Returns the smoothed states (T, N, 4); inactive entries are left as given."""
    x = xs.copy()
    P = Ps.copy()
    for k in range(len(xs) - 2, -1, -1):
        on = np.flatnonzero(active[k])
        if on.size == 0:
            continue
        F = Fs[k + 1]
        Pk = P[k, on]
        Pp = F @ Pk @ F.T + Qs[k + 1, on]
        K = Pk @ F.T @ np.linalg.inv(Pp)
        x[k, on] += np.einsum("nij,nj->ni", K, x[k + 1, on] - x[k, on] @ F.T)
        P[k, on] = Pk + K @ (P[k + 1, on] - Pp) @ K.transpose(0, 2, 1)
    return x
