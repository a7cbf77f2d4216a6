"""Temporal smoothing of the joints: a constant-velocity Kalman filter per joint (filterpy), and the offline
Rauch-Tung-Striebel smoother over a whole file.

Model, per joint: state (x, y, vx, vy) in pixels; x and y move with constant velocity disturbed by continuous
white-noise acceleration (`Q_continuous_white_noise`, so the process noise follows the real time step dt between
frames: a dropped frame simply means a larger dt). Both noises are relative to a per-frame `scale` in pixels
(the tracker passes the person box side), which makes the tuning independent of resolution and person size:

- process noise spectral density  (process * scale)^2          [px^2 / s^3]
- measurement std                  measurement * scale / conf   [px], conf clipped to [min_conf, 1]

Manoeuvres: a constant-velocity filter smooth enough to cut jitter lags when the motion changes quickly (a
fast camera pan, a sudden move). Each frame, the median over joints of the normalised innovation squared
(NIS = y' S^-1 y) is compared with its running level (an exponential average, starting at the chi-square(2)
median); when it exceeds `manoeuvre_gate` times that level, every joint's predicted covariance is inflated by
the ratio, so the filter follows the measurements more for that frame. The median ignores a few outlier joints,
and the running level makes this independent of how noisy the model really is. The RTS pass reuses the
inflated covariances (as an effective process noise per joint and step).

Tuning (clipmaker camera paths, 300 frames at 30 fps, Gaussian jitter of 0.02-0.2 torso, also with 5 %
gross outliers and with temporally correlated jitter): acceleration error 69-75 % lower than raw, lag
0.1-0.55 frame at jitter <= 0.1 torso (<= 0.9 frame at 0.2 torso); RTS: ~95 % lower, no lag.

A joint whose confidence is below `conf_threshold` (or that is NaN) is predicted, not updated. A joint that has
been predicted for more than `max_coast` frames in a row, or never measured since the last reset, is reported
as NaN ("not found").

Modes: `none` (raw joints), `kalman` (online, causal), `rts` (offline: the forward Kalman pass followed by
filterpy's `KalmanFilter.rts_smoother` over the whole sequence; needs the whole file).

Benchmark helpers: `acceleration_error` and `lag_frames`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from filterpy.common import Q_continuous_white_noise
from filterpy.kalman import KalmanFilter

MODES = ("none", "kalman", "rts")

_CHI2_2_MEDIAN = 2.0 * np.log(2.0)  # median normalised innovation squared of a well-modelled 2-D measurement
_H = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])


@dataclass(frozen=True)
class KalmanParams:
    process: float = 0.35       # sqrt of the acceleration spectral density, in person-box sides / s^1.5
    measurement: float = 0.02   # measurement std at confidence 1, in person-box sides
    conf_threshold: float = 0.2  # below: predict only
    min_conf: float = 0.05      # floor of the confidence used to scale the measurement noise
    max_coast: int = 15         # frames a joint may be predicted without a measurement before it reads NaN
    init_velocity: float = 2.0  # prior std of a new joint's velocity, in box sides / s
    max_dt: float = 1.0         # longer gaps are clipped (seconds)
    manoeuvre_gate: float = 1.5  # inflate when the median NIS exceeds this x its running level (0 = off)
    per_joint_manoeuvre: bool = False  # also inflate single joints (follows limbs faster, but also outliers)
    nis_adapt: float = 1.0 / 30.0  # rate of the running NIS level (per frame)
    max_inflation: float = 100.0

    def harder(self, factor: float = 4.0) -> "KalmanParams":
        """The same filter with `factor` times less process noise: smoother, more lag (used to seed crops)."""
        return replace(self, process=self.process / factor)


DEFAULT_PARAMS = KalmanParams()


def _transition(dt: float, params: KalmanParams, scale: float):
    F = np.array([[1.0, 0.0, dt, 0.0], [0.0, 1.0, 0.0, dt], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    q = (params.process * scale) ** 2
    Q = Q_continuous_white_noise(dim=2, dt=dt, spectral_density=q, block_size=2, order_by_dim=False)
    return F, Q


def _measurement_var(conf: float, params: KalmanParams, scale: float) -> float:
    c = min(max(float(conf), params.min_conf), 1.0)
    return (params.measurement * scale / c) ** 2


def _valid_measurements(joints: np.ndarray, conf: np.ndarray, params: KalmanParams) -> np.ndarray:
    return np.isfinite(joints).all(axis=1) & np.isfinite(conf) & (conf >= params.conf_threshold)


class PassThrough:
    """`--smooth none`: the raw joints, unchanged."""

    mode = "none"

    def __init__(self, n_joints: int = 14):
        self.n_joints = n_joints
        self.reset()

    def reset(self) -> None:
        self._last = None

    def update(self, joints, conf, t: float, scale: float = 1.0) -> np.ndarray:
        self._last = np.asarray(joints, np.float32).copy()
        return self._last.copy()

    def predict_at(self, t: float) -> np.ndarray | None:
        return None if self._last is None else self._last.copy()


class KalmanSmoother:
    """Online constant-velocity Kalman filter, one filterpy `KalmanFilter` (dim_x=4, dim_z=2) per joint."""

    mode = "kalman"

    def __init__(self, params: KalmanParams = DEFAULT_PARAMS, n_joints: int = 14):
        self.params = params
        self.n_joints = n_joints
        self.filters = []
        for _ in range(n_joints):
            kf = KalmanFilter(dim_x=4, dim_z=2)
            kf.H = _H.copy()
            self.filters.append(kf)
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new track begins)."""
        self.started = np.zeros(self.n_joints, bool)
        self.coast = np.zeros(self.n_joints, int)
        self.t: float | None = None
        self._dt = 1.0 / 30.0
        self._nis_level = _CHI2_2_MEDIAN

    def _init_joint(self, kf: KalmanFilter, z: np.ndarray, r_var: float, scale: float) -> None:
        v = (self.params.init_velocity * scale) ** 2
        kf.x = np.array([[z[0]], [z[1]], [0.0], [0.0]])
        kf.P = np.diag([r_var, r_var, v, v])

    def step(self, joints, conf, t: float, scale: float = 1.0):
        """One filter step. Returns (positions (J,2) float64, valid (J,) bool, F, Qs (J,4,4)) where Qs is the
        process noise each joint effectively got (after manoeuvre inflation) -- what rts needs."""
        joints = np.asarray(joints, np.float64)
        conf = np.asarray(conf, np.float64)
        p = self.params
        dt = self._dt if self.t is None else float(np.clip(t - self.t, 1e-3, p.max_dt))
        self._dt = dt
        self.t = float(t)
        F, Q = _transition(dt, p, scale)
        good = _valid_measurements(joints, conf, p)
        Qs = np.repeat(Q[None], self.n_joints, axis=0)
        r_var = np.array([_measurement_var(c, p, scale) if g else np.nan for c, g in zip(conf, good)])
        upd = good & self.started
        nis = np.zeros(self.n_joints)
        for j, kf in enumerate(self.filters):
            if self.started[j]:
                kf.predict(F=F, Q=Q)
                if upd[j]:  # normalised innovation squared, closed-form 2x2
                    y0, y1 = joints[j, 0] - kf.x[0, 0], joints[j, 1] - kf.x[1, 0]
                    a, b, d = kf.P[0, 0] + r_var[j], kf.P[0, 1], kf.P[1, 1] + r_var[j]
                    nis[j] = (d * y0 * y0 - 2.0 * b * y0 * y1 + a * y1 * y1) / (a * d - b * b)
        if p.manoeuvre_gate > 0 and upd.any():
            # manoeuvre: innovations larger than usual -> inflate the predicted covariance
            med = float(np.median(nis[upd]))
            pooled = med / (p.manoeuvre_gate * self._nis_level)
            a = p.nis_adapt
            self._nis_level = (1 - a) * self._nis_level + a * min(med, 3.0 * self._nis_level)
            factors = np.maximum(nis / p.manoeuvre_gate, pooled) if p.per_joint_manoeuvre else np.full_like(nis, pooled)
            factors = np.clip(factors, 1.0, p.max_inflation)
            for j in np.flatnonzero(upd & (factors > 1.0)):
                kf = self.filters[j]
                fpf = kf.P - Q
                kf.P = kf.P * factors[j]
                Qs[j] = kf.P - fpf
        out = np.full((self.n_joints, 2), np.nan)
        for j, kf in enumerate(self.filters):
            if good[j]:
                if self.started[j]:
                    kf.update(joints[j], R=np.eye(2) * r_var[j])
                else:
                    self._init_joint(kf, joints[j], r_var[j], scale)
                    self.started[j] = True
                self.coast[j] = 0
            elif self.started[j]:
                self.coast[j] += 1
            if self.started[j]:
                out[j] = kf.x[:2, 0]
        valid = self.started & (self.coast <= p.max_coast)
        return out, valid, F, Qs

    def update(self, joints, conf, t: float, scale: float = 1.0) -> np.ndarray:
        """Filter one frame; returns the smoothed joints (J, 2) float32, NaN where not found."""
        out, valid, _, _ = self.step(joints, conf, t, scale)
        out[~valid] = np.nan
        return out.astype(np.float32)

    def predict_at(self, t: float) -> np.ndarray | None:
        """Where the joints will be at time t (position + velocity * (t - last t)); NaN where not found.

        Does not change the filter. None before the first update."""
        if self.t is None:
            return None
        dt = float(np.clip(t - self.t, 0.0, self.params.max_dt))
        out = np.full((self.n_joints, 2), np.nan, np.float32)
        valid = self.started & (self.coast <= self.params.max_coast)
        for j in np.flatnonzero(valid):
            x = self.filters[j].x[:, 0]
            out[j] = (x[0] + x[2] * dt, x[1] + x[3] * dt)
        return out


def make_smoother(mode: str, params: KalmanParams = DEFAULT_PARAMS, n_joints: int = 14):
    """The online smoother for a mode (`rts` runs the online Kalman filter while tracking; `rts_smooth`
    replaces its output at the end of the file)."""
    if mode == "none":
        return PassThrough(n_joints)
    if mode in ("kalman", "rts"):
        return KalmanSmoother(params, n_joints)
    raise ValueError(f"unknown smoothing mode {mode!r}; choose one of {', '.join(MODES)}")


def _segments(resets: np.ndarray, n: int):
    starts = [0] + [i for i in range(1, n) if resets[i]]
    ends = starts[1:] + [n]
    return list(zip(starts, ends))


def rts_smooth(joints, conf, times, scales=None, resets=None, params: KalmanParams = DEFAULT_PARAMS) -> np.ndarray:
    """Offline smoothing of a whole sequence.

    joints (T, J, 2), conf (T, J), times (T,), scales (T,) person box sides (default 1), resets (T,) bool: a new
    track starts at that frame (re-acquisition), the smoother does not cross it. Returns (T, J, 2) float32 with
    NaN where a joint was not found (never measured yet in its segment, or more than `max_coast` frames from
    the nearest measurement)."""
    joints = np.asarray(joints, np.float64)
    conf = np.asarray(conf, np.float64)
    times = np.asarray(times, np.float64)
    T, J = joints.shape[:2]
    scales = np.ones(T) if scales is None else np.asarray(scales, np.float64)
    resets = np.zeros(T, bool) if resets is None else np.asarray(resets, bool)
    out = np.full((T, J, 2), np.nan, np.float32)
    if T == 0:
        return out
    helper = KalmanFilter(dim_x=4, dim_z=2)
    for a, b in _segments(resets, T):
        online = KalmanSmoother(params, J)
        n = b - a
        xs = np.zeros((n, J, 4, 1))
        ps = np.zeros((n, J, 4, 4))
        fs = np.zeros((n, 4, 4))
        qs = np.zeros((n, J, 4, 4))
        started = np.zeros((n, J), bool)
        for k in range(n):
            _, _, F, Qj = online.step(joints[a + k], conf[a + k], times[a + k], scales[a + k])
            fs[k], qs[k] = F, Qj
            started[k] = online.started
            for j, kf in enumerate(online.filters):
                if online.started[j]:
                    xs[k, j] = kf.x
                    ps[k, j] = kf.P
        good = _valid_measurements(joints[a:b].reshape(n * J, 2), conf[a:b].reshape(n * J), params).reshape(n, J)
        idx = np.arange(n)
        for j in range(J):
            first = np.flatnonzero(started[:, j])
            if first.size == 0:
                continue
            k0 = first[0]
            xsm, _, _, _ = helper.rts_smoother(xs[k0:, j], ps[k0:, j], fs[k0:], qs[k0:, j])
            # distance (in frames) to the nearest measurement
            meas = np.flatnonzero(good[:, j])
            dist = np.min(np.abs(idx[:, None] - meas[None, :]), axis=1)
            ok = (idx >= k0) & (dist <= params.max_coast)
            pos = np.full((n, 2), np.nan)
            pos[k0:] = xsm[:, :2, 0]
            pos[~ok] = np.nan
            out[a:b, j] = pos
    return out


# ----------------------------------------------------------------------------------------------- benchmarks

def acceleration_error(pred, gt, torso=None) -> float:
    """Mean norm of (second difference of pred - second difference of gt), divided by the torso diameter.

    pred, gt (T, J, 2); torso: scalar or (T,) (default 1 = pixels). NaN frames/joints are ignored."""
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    acc = (pred[2:] - 2 * pred[1:-1] + pred[:-2]) - (gt[2:] - 2 * gt[1:-1] + gt[:-2])
    err = np.linalg.norm(acc, axis=-1)  # (T-2, J)
    if torso is not None:
        tor = np.asarray(torso, np.float64)
        if tor.ndim:
            tor = tor[1:-1, None]
        err = err / tor
    return float(np.nanmean(err))


def lag_frames(pred, gt, max_lag: float = 5.0, step: float = 0.05) -> float:
    """The time shift (frames) of gt that best matches pred: positive = pred lags behind the truth.

    Minimises the mean position error between pred(t) and gt(t - k) (gt linearly interpolated) over k in
    [-max_lag, max_lag]."""
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    T = len(gt)
    m = int(np.ceil(max_lag)) + 1
    if T <= 2 * m + 1:
        raise ValueError("sequence too short for lag_frames")
    t = np.arange(m, T - m, dtype=np.float64)
    flat_gt = gt.reshape(T, -1)
    best_k, best_e = 0.0, np.inf
    for k in np.arange(-max_lag, max_lag + step / 2, step):
        tt = t - k
        i0 = np.floor(tt).astype(int)
        w = (tt - i0)[:, None]
        g = flat_gt[i0] * (1 - w) + flat_gt[np.minimum(i0 + 1, T - 1)] * w
        diff = pred[m:T - m].reshape(len(t), -1) - g
        e = np.nanmean(np.linalg.norm(diff.reshape(len(t), -1, 2), axis=-1))
        if e < best_e:
            best_k, best_e = float(k), e
    return round(best_k, 6)
