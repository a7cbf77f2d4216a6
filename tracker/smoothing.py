"""Temporal smoothing of the joints: a constant-velocity Kalman filter of each joint, all joints at once on numpy
arrays (the batched equations are in kalman.py; tests/test_tracker_smoothing.py checks them against one filterpy
`KalmanFilter` per joint), and the offline Rauch-Tung-Striebel smoother over a whole file.

Model, per joint: state (x, y, vx, vy) in pixels; x and y move with constant velocity disturbed by continuous
white-noise acceleration (`Q_continuous_white_noise`, so the process noise follows the real time step dt between
frames: a dropped frame simply means a larger dt). Both noises are relative to a per-frame `scale` in pixels
(the tracker passes the person box side), which makes the tuning independent of resolution and person size:

- process noise spectral density  (process * scale)^2          [px^2 / s^3]
- measurement std                  measurement * scale / conf   [px], conf clipped to [min_conf, 1]

Manoeuvres: a constant-velocity filter smooth enough to cut jitter lags when the motion changes quickly (a
fast camera pan, a sudden move). Each frame, the median over joints of the normalised innovation squared
(NIS = y' S^-1 y) is compared with its running level (an exponential average, starting at the chi-square(2)
median, and never below a quarter of it: `NIS_LEVEL_FLOOR`); when it exceeds `manoeuvre_gate` times that level,
every joint's predicted covariance is inflated by the ratio, so the filter follows the measurements more for that
frame. The median ignores a few outlier joints, and the running level makes this independent of how noisy the
model really is. The RTS pass reuses the inflated covariances (as an effective process noise per joint and step).

Process noise: `process` is checked against real human motion by training/motion_fit.py,
`python -m pose_track.training.motion_fit --labels ../shared/data/penn_action/labels --json results/motion_fit.json`:
Penn Action's joint labels (30 fps assumed) plus Gaussian noise of 0.02 box sides, the online filter over 420
training sequences for 13 values from 0.1 to 5, the lowest position error with at most 1 frame of lag. On the
1,068 held-out sequences, 0.4 gives a position error of 0.0177 box sides (noisy input 0.0249), 0.5 frame of lag
and 67 % less acceleration error than the input; 0.35 gives the same error and lag and
68 % less. The optimum is flat (0.3-0.5 within 0.6 % on the training sequences), and with 5 % of the
measurements 5x noisier it moves to 0.3: 0.35 (the default) lies inside the fitted band. The tracker's figures
with these settings: docs/experiments.md, "Tracking and smoothing" and the sections after it.

Outliers: a single joint far off its prediction while the body as a whole is not (its NIS above `outlier_gate`
times the running level, after the manoeuvre test) is more often one bad measurement than a move: a wrist placed on
the other arm for a frame, a knee swapped with its twin. Unchecked, such a frame drags the joint and its velocity off
for the frames around it (and the look-ahead step pulls the frame before it too), which is where smoothing lost
PCK to the raw joints: on joints that hardly moved. Its measurement variance is scaled by NIS / (gate x level), so
it moves the joint about as far as a gate-sized innovation would; a joint that fails the gate `outlier_frames`
frames in a row has really moved and restarts at its measurement. On Penn Action's held-out sequences with 5 % of
the measurements 5x noisier, position error 0.0219 -> 0.0200 box sides, lag 0.50 -> 0.45 frame, and no loss
without outliers (0.0178 -> 0.0176); see docs/experiments.md, "Outlier gate".

A joint whose confidence is below `conf_threshold` (or that is NaN) is predicted, not updated. A joint that has
been predicted for more than `max_coast` frames in a row, or never measured since the last reset, is reported
as NaN ("not found").

Modes: `none` (raw joints), `kalman` (online, causal), `lookahead` (the online filter, and each frame smoothed
once more with the next frame's measurement: one RTS step, `KalmanSmoother.revise_previous`, applied by
`Lookahead`, which holds every frame back by one; for files and live sources alike, one frame of latency), `rts`
(offline: the forward Kalman pass followed by the RTS backward pass over the whole sequence,
`kalman.rts_backward`; needs the whole file).

One frame of look-ahead on the hard clips (`bench-tracking --hard`, same raw joints): acceleration error -66 %
against -54 % for the causal filter, PCK@0.2 0.007 below the raw joints against 0.015 (docs/experiments.md).

"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import kalman

MODES = ("none", "kalman", "lookahead", "rts")

_CHI2_2_MEDIAN = 2.0 * np.log(2.0)  # median normalised innovation squared of a well-modelled 2-D measurement
# The running level never falls below this: on a still person (or frames repeated exactly) the innovations shrink
# towards zero, and with them a level without a floor (1e-27 after a minute of identical frames); once the person
# moves, the outlier gate would then flag every joint and restart it at its raw measurement, every other frame.
NIS_LEVEL_FLOOR = _CHI2_2_MEDIAN / 4


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
    outlier_gate: float = 9.0   # a joint whose NIS exceeds this x the running level is down-weighted (0 = off)
    outlier_frames: int = 2     # this many such frames in a row: the joint restarts at its measurement

    def harder(self, factor: float = 4.0) -> "KalmanParams":
        """The same filter with `factor` times less process noise: smoother, more lag (used to seed crops)."""
        return replace(self, process=self.process / factor)


DEFAULT_PARAMS = KalmanParams()


def _measurement_var(conf: np.ndarray, good: np.ndarray, params: KalmanParams, scale: float) -> np.ndarray:
    """Measurement variance per joint, NaN where there is no measurement."""
    c = np.clip(np.where(good, conf, 1.0), params.min_conf, 1.0)
    return np.where(good, (params.measurement * scale / c) ** 2, np.nan)


def _valid_measurements(joints: np.ndarray, conf: np.ndarray, params: KalmanParams) -> np.ndarray:
    return np.isfinite(joints).all(axis=-1) & np.isfinite(conf) & (conf >= params.conf_threshold)


def _median(v: np.ndarray) -> float:
    """np.median of a short 1-D array, without its overhead (this runs every frame)."""
    s = np.sort(v)
    m = len(s) // 2
    return float(s[m]) if len(s) % 2 else float((s[m - 1] + s[m]) / 2.0)


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
    """Online constant-velocity Kalman filter of all joints at once: state `x` (J, 4) = (x, y, vx, vy) in pixels,
    covariance `P` (J, 4, 4); the batched equations are in tracker/kalman.py."""

    mode = "kalman"

    def __init__(self, params: KalmanParams = DEFAULT_PARAMS, n_joints: int = 14):
        self.params = params
        self.n_joints = n_joints
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new track begins)."""
        self.x = np.zeros((self.n_joints, 4))
        self.P = np.tile(np.eye(4), (self.n_joints, 1, 1))
        self.started = np.zeros(self.n_joints, bool)
        self.coast = np.zeros(self.n_joints, int)
        self.t: float | None = None
        self._dt = 1.0 / 30.0
        self._nis_level = _CHI2_2_MEDIAN
        self._valid = np.zeros(self.n_joints, bool)
        self._suspect = np.zeros(self.n_joints, int)   # frames in a row a joint's measurement failed the gate
        self._previous = None   # (x, P, started, valid) before the last step; None on the first step of a track
        self._last_step = None  # (F, Qs) of the last step
        self.restarted = np.zeros(self.n_joints, bool)     # joints the last step restarted (outlier gate)

    def _manoeuvre_factors(self, nis: np.ndarray) -> np.ndarray:
        """Covariance inflation (1 = none) for the measured joints, from their normalised innovations squared."""
        p = self.params
        med = _median(nis)
        pooled = med / (p.manoeuvre_gate * self._nis_level)
        a = p.nis_adapt
        self._nis_level = max((1 - a) * self._nis_level + a * min(med, 3.0 * self._nis_level), NIS_LEVEL_FLOOR)
        factors = np.maximum(nis / p.manoeuvre_gate, pooled) if p.per_joint_manoeuvre else np.full(len(nis), pooled)
        return np.clip(factors, 1.0, p.max_inflation)

    def _gate_outliers(self, rows, xu, Pu, zu, ru, innov, level: float):
        """Outliers: a joint far off its prediction while the body as a whole is not (the manoeuvre test has
        already run) is one bad measurement more often than a move, such as a wrist placed on the other arm for a
        frame. Its measurement variance is scaled by NIS / (gate x level), so it moves the joint only about as far
        as a gate-sized innovation would, instead of dragging it (and its velocity) off for the frames around it.
        A joint that fails the gate `outlier_frames` times in a row has really moved: it restarts at its
        measurement. Returns (measurement variances, innovation, restart (J,) bool)."""
        p = self.params
        limit = p.outlier_gate * level
        far = innov[2] > limit
        suspect = np.zeros(self.n_joints, bool)
        suspect[rows[far]] = True
        self._suspect = np.where(suspect, self._suspect + 1, 0)
        restart = self._suspect >= p.outlier_frames
        self._suspect[restart] = 0
        if far.any():
            ru = ru.copy()
            ru[far] *= innov[2][far] / limit
            innov = kalman.innovation(xu, Pu, zu, ru)
        return ru, innov, restart

    def step(self, joints, conf, t: float, scale: float = 1.0):
        """One filter step. Returns (positions (J,2) float64, valid (J,) bool, F, Qs (J,4,4)) where Qs is the
        process noise each joint effectively got (after manoeuvre inflation) -- what rts needs."""
        joints = np.asarray(joints, np.float64)
        conf = np.asarray(conf, np.float64)
        p = self.params
        first = self.t is None
        dt = self._dt if first else min(max(float(t) - self.t, 1e-3), p.max_dt)
        self._dt = dt
        self.t = float(t)
        F = kalman.transition(dt)
        Q = kalman.process_noise(dt, (p.process * scale) ** 2)
        good = _valid_measurements(joints, conf, p)
        r_var = _measurement_var(conf, good, p, scale)
        started = self.started
        self._previous = None if first else (self.x, self.P, started, self._valid)
        # joints not started yet are predicted too (cheaper than selecting); their state is set when first measured
        x, P = kalman.predict(self.x, self.P, F, Q)
        Qs = np.empty_like(P)
        Qs[:] = Q
        rows = np.flatnonzero(good & started)
        restart = np.zeros(self.n_joints, bool)
        if rows.size:
            xu, Pu, zu, ru = x[rows], P[rows], joints[rows], r_var[rows]
            innov = kalman.innovation(xu, Pu, zu, ru)
            level = self._nis_level
            if p.manoeuvre_gate > 0:
                # manoeuvre: innovations larger than usual -> inflate the predicted covariance
                factors = self._manoeuvre_factors(innov[2])
                inflated = factors > 1.0
                if inflated.any():
                    fpf = Pu[inflated] - Q
                    Pu[inflated] *= factors[inflated, None, None]
                    Qs[rows[inflated]] = Pu[inflated] - fpf
                    innov = kalman.innovation(xu, Pu, zu, ru)
            if p.outlier_gate > 0:
                ru, innov, restart = self._gate_outliers(rows, xu, Pu, zu, ru, innov, level)
            x[rows], P[rows] = kalman.update(xu, Pu, zu, ru, innov)
        else:
            self._suspect[:] = 0
        new = (good & ~started) | restart
        if new.any():
            v = (p.init_velocity * scale) ** 2
            x[new] = 0.0
            x[new, :2] = joints[new]
            P[new] = 0.0
            P[new, 0, 0] = P[new, 1, 1] = r_var[new]
            P[new, 2, 2] = P[new, 3, 3] = v
        self.x, self.P = x, P
        self.started = started | good
        self.coast = np.where(good, 0, self.coast + started)
        out = np.where(self.started[:, None], x[:, :2], np.nan)
        valid = self.started & (self.coast <= p.max_coast)
        self._valid, self._last_step, self.restarted = valid, (F, Qs), restart
        return out, valid, F, Qs

    def update(self, joints, conf, t: float, scale: float = 1.0) -> np.ndarray:
        """Filter one frame; returns the smoothed joints (J, 2) float32, NaN where not found."""
        out, valid, _, _ = self.step(joints, conf, t, scale)
        out[~valid] = np.nan
        return out.astype(np.float32)

    def revise_previous(self) -> np.ndarray | None:
        """The previous frame's joints (J, 2) float32, smoothed once more with the last frame's measurement (one
        RTS step); NaN where they were not found. None when the last step began a track (nothing before it)."""
        if self._previous is None:
            return None
        x0, P0, started0, valid0 = self._previous
        F, Qs = self._last_step
        smoothed = kalman.rts_backward(np.stack([x0, self.x]), np.stack([P0, self.P]), np.stack([F, F]),
                                       np.stack([Qs, Qs]), np.stack([started0, self.started]))[0]
        return np.where(valid0[:, None], smoothed[:, :2], np.nan).astype(np.float32)

    def predict_at(self, t: float) -> np.ndarray | None:
        """Where the joints will be at time t (position + velocity * (t - last t)); NaN where not found.

        Does not change the filter. None before the first update."""
        if self.t is None:
            return None
        dt = float(np.clip(t - self.t, 0.0, self.params.max_dt))
        valid = self.started & (self.coast <= self.params.max_coast)
        ahead = self.x[:, :2] + self.x[:, 2:] * dt
        return np.where(valid[:, None], ahead, np.nan).astype(np.float32)


class Lookahead:
    """`--smooth lookahead`: holds each tracked frame back by one. When the next frame has been tracked, the held
    frame's joints are smoothed once more with it (`KalmanSmoother.revise_previous`) and the held frame is
    released; a frame that began a track (re-acquisition) ends nothing before it, so the frame before it keeps
    its filtered joints. Works on (frame, TrackResult) pairs; `flush` releases the last one."""

    def __init__(self, smoother: KalmanSmoother):
        self.smoother = smoother
        self._held = None

    def take(self):
        """The held pair, revised with the frame the tracker has just filtered, or None. Call before `hold`."""
        return self._release(revise=True)

    def hold(self, frame, result) -> None:
        """Hold the frame the tracker has just filtered until the next one (or `flush`)."""
        self._held = (frame, result)

    def push(self, frame, result):
        """`take`, then `hold` (frame, result): the previous pair, revised, or None."""
        out = self.take()
        self.hold(frame, result)
        return out

    def flush(self):
        """The held pair as filtered (no later frame), or None."""
        return self._release(revise=False)

    def _release(self, revise: bool):
        if self._held is None:
            return None
        frame, result = self._held
        self._held = None
        revised = self.smoother.revise_previous() if revise else None
        if revised is not None:     # the smoother works on the joints less the camera's shift (TrackResult.camera)
            revised = revised + np.asarray(getattr(result, "camera", (0.0, 0.0)), np.float32)
            result = replace(result, smoothed=where_measured(revised, result.smoothed))
        return frame, result


def make_smoother(mode: str, params: KalmanParams = DEFAULT_PARAMS, n_joints: int = 14):
    """The online smoother for a mode (`lookahead` and `rts` run the online Kalman filter while tracking;
    `Lookahead` revises each frame with the next, `rts_smooth` replaces everything at the end of the file)."""
    if mode == "none":
        return PassThrough(n_joints)
    if mode in ("kalman", "lookahead", "rts"):
        return KalmanSmoother(params, n_joints)
    raise ValueError(f"unknown smoothing mode {mode!r}; choose one of {', '.join(MODES)}")


def _segments(resets: np.ndarray, n: int):
    starts = [0] + [i for i in range(1, n) if resets[i]]
    ends = starts[1:] + [n]
    return list(zip(starts, ends))


def _frames_to_nearest(good: np.ndarray) -> np.ndarray:
    """(T, J) bool -> (T, J) frames to the nearest True in the same column (huge where the column has none)."""
    far = 1 << 40
    idx = np.arange(len(good))[:, None]
    last = np.maximum.accumulate(np.where(good, idx, -far), axis=0)
    nxt = np.minimum.accumulate(np.where(good, idx, far)[::-1], axis=0)[::-1]
    return np.minimum(idx - last, nxt - idx)


def where_measured(smoothed, raw) -> np.ndarray:
    """The smoothed joints where the raw ones are given, NaN elsewhere: a joint not in the picture, or nobody
    there, is an empty cell in every output, whatever a smoother coasts to."""
    return np.where(np.isfinite(raw), smoothed, np.float32(np.nan)).astype(np.float32)


def rts_smooth(joints, conf, times, scales=None, resets=None, params: KalmanParams = DEFAULT_PARAMS,
               camera=None) -> np.ndarray:
    """Offline smoothing of a whole sequence.

    joints (T, J, 2), conf (T, J), times (T,), scales (T,) person box sides (default 1), resets (T,) bool: a new
    track starts at that frame (re-acquisition), the smoother does not cross it; camera (T, 2): the camera's
    total shift at each frame (TrackResult.camera), taken out before smoothing and put back after. Returns
    (T, J, 2) float32 with NaN where a joint was not found (never measured yet in its segment, or more than
    `max_coast` frames from the nearest measurement)."""
    shift = None if camera is None else np.asarray(camera, np.float64)[:, None, :]
    joints = np.asarray(joints, np.float64) - (0.0 if shift is None else shift)
    conf = np.asarray(conf, np.float64)
    times = np.asarray(times, np.float64)
    T, J = joints.shape[:2]
    scales = np.ones(T) if scales is None else np.asarray(scales, np.float64)
    resets = np.zeros(T, bool) if resets is None else np.asarray(resets, bool)
    out = np.full((T, J, 2), np.nan, np.float32)
    for a, b in _segments(resets, T) if T else []:
        online = KalmanSmoother(params, J)
        n = b - a
        xs = np.zeros((n, J, 4))
        ps = np.zeros((n, J, 4, 4))
        fs = np.zeros((n, 4, 4))
        qs = np.zeros((n, J, 4, 4))
        started = np.zeros((n, J), bool)
        restarted = np.zeros((n, J), bool)
        for k in range(n):
            _, _, fs[k], qs[k] = online.step(joints[a + k], conf[a + k], times[a + k], scales[a + k])
            xs[k], ps[k], started[k], restarted[k] = online.x, online.P, online.started, online.restarted
        # A joint the gate restarted moved at the first frame of its run of outliers: its new place is smoothed
        # back to that frame, not into the frames before it.
        linked = started.copy()
        for k, j in zip(*np.nonzero(restarted)):
            first = k - params.outlier_frames + 1
            if first >= 1:
                linked[first - 1, j] = False
        smoothed = kalman.rts_backward(xs, ps, fs, qs, linked)
        good = _valid_measurements(joints[a:b], conf[a:b], params)
        found = started & (_frames_to_nearest(good) <= params.max_coast)
        out[a:b] = np.where(found[..., None], smoothed[..., :2], np.nan)
    return out if shift is None else (out + shift).astype(np.float32)
