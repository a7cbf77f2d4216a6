"""tracker.smoothing: the Kalman filter cuts acceleration error with <= 1 frame of lag; RTS is smoother."""
import numpy as np
import pytest
from filterpy.common import Q_continuous_white_noise
from filterpy.kalman import KalmanFilter

from pose_track.engines.geometry import box_from_joints, torso_diameters
from pose_track.benchmarks.clipmaker import camera_path, synthetic_person, transform_joints
from dataclasses import dataclass

from pose_track.tracker.smoothing import (KalmanParams, KalmanSmoother, Lookahead, PassThrough, make_smoother,
                                          rts_smooth)
from pose_track.training.metrics import acceleration_error, lag_frames

FPS = 30.0


def _noisy_track(seed=0, n=120, noise=0.05):
    _, joints = synthetic_person(320, 240, seed)
    gt = transform_joints(camera_path(n, (320, 240), joints.mean(0), seed=seed), joints)
    torso = torso_diameters(gt)
    rng = np.random.default_rng(seed + 1)
    raw = gt + rng.normal(size=gt.shape) * noise * torso[:, None, None]
    conf = np.full(gt.shape[:2], 0.9)
    scales = np.array([box_from_joints(g, 1.3)[2] for g in gt])
    return gt, raw, conf, torso, scales


def _online(smoother, raw, conf, scales):
    return np.array([smoother.update(raw[t], conf[t], t / FPS, scales[t]) for t in range(len(raw))])


def test_metrics_helpers():
    _, joints = synthetic_person(320, 240, 0)
    gt = transform_joints(camera_path(80, (320, 240), joints.mean(0), seed=0), joints)
    assert acceleration_error(gt, gt, 10.0) == 0.0
    delayed = np.concatenate([gt[:2], gt[:-2]])  # pred(t) = gt(t - 2)
    assert lag_frames(delayed, gt) == pytest.approx(2.0, abs=0.05)
    assert lag_frames(gt, gt) == pytest.approx(0.0, abs=0.05)


def test_kalman_cuts_acceleration_error_with_small_lag():
    gt, raw, conf, torso, scales = _noisy_track()
    sm = _online(make_smoother("kalman"), raw, conf, scales)
    a_raw = acceleration_error(raw, gt, torso)
    a_k = acceleration_error(sm, gt, torso)
    assert a_k < 0.4 * a_raw, (a_raw, a_k)  # >= 60 % lower
    assert lag_frames(sm, gt) <= 1.0
    err = lambda p: np.nanmean(np.linalg.norm(p - gt, axis=-1) / torso[:, None])  # noqa: E731
    assert err(sm) < err(raw)


def test_rts_is_smoother_than_online():
    gt, raw, conf, torso, scales = _noisy_track(seed=1)
    online = _online(KalmanSmoother(), raw, conf, scales)
    offline = rts_smooth(raw, conf, np.arange(len(raw)) / FPS, scales)
    assert acceleration_error(offline, gt, torso) < 0.5 * acceleration_error(online, gt, torso)
    assert abs(lag_frames(offline, gt)) <= 0.25


@dataclass
class _Result:
    smoothed: np.ndarray


def _lookahead(raw, conf, scales, resets=()):
    """(T, J, 2) as `--smooth lookahead` writes them: the filter, each frame revised with the next."""
    ks = KalmanSmoother()
    ahead = Lookahead(ks)
    out = []
    for t in range(len(raw)):
        if t in resets:
            ks.reset()
        released = ahead.push(t, _Result(ks.update(raw[t], conf[t], t / FPS, scales[t])))
        if released is not None:
            assert released[0] == len(out)      # frames come out in order, one behind
            out.append(released[1].smoothed)
    out.append(ahead.flush()[1].smoothed)
    assert ahead.flush() is None
    return np.array(out)


def test_lookahead_is_the_rts_smoother_one_frame_behind():
    gt, raw, conf, torso, scales = _noisy_track(seed=2, n=40)
    conf[::7, 3] = 0.1                                      # some joints predicted, not measured
    ahead = _lookahead(raw, conf, scales)
    times = np.arange(len(raw)) / FPS
    for t in (1, 10, 21, 38):      # RTS over frames 0..t+1, read at t: one backward step from the last filtered
        assert np.allclose(ahead[t], rts_smooth(raw[:t + 2], conf[:t + 2], times[:t + 2], scales[:t + 2])[t],
                           atol=1e-3)
    online = _online(KalmanSmoother(), raw, conf, scales)
    assert np.allclose(ahead[-1], online[-1])               # the last frame has nothing after it
    assert acceleration_error(ahead, gt, torso) < 0.8 * acceleration_error(online, gt, torso)
    assert lag_frames(ahead, gt) <= lag_frames(online, gt)


def test_lookahead_does_not_reach_across_a_new_track():
    _, raw, conf, _, scales = _noisy_track(seed=3, n=20)
    raw[10:] += 200.0                                       # re-acquired elsewhere at frame 10
    online = _online_with_reset(raw, conf, scales, reset_at=10)
    ahead = _lookahead(raw, conf, scales, resets=(10,))
    assert np.allclose(ahead[9], online[9])                 # the frame before the new track: as filtered
    assert not np.allclose(ahead[8], online[8])             # inside a track: revised


def test_a_camera_shift_is_taken_out_and_put_back():
    """Joints less the camera's shift smoothed, plus it after: a whip pan the camera made is followed exactly, and
    the person's own motion smoothed as without it."""
    gt, raw, conf, torso, scales = _noisy_track(seed=4, n=50)
    camera = np.zeros((50, 2))
    camera[20:26, 0] = np.arange(1, 7) * 30.0           # a whip pan: 30 px a frame, then the view stays there
    camera[26:, 0] = 180.0
    times = np.arange(50) / FPS
    plain = rts_smooth(raw, conf, times, scales)
    panned = rts_smooth(raw + camera[:, None], conf, times, scales, camera=camera)
    assert np.allclose(panned, plain + camera[:, None], atol=1e-3)
    ks = KalmanSmoother()
    ahead, out = Lookahead(ks), []
    for t in range(50):
        result = _Camera(ks.update(raw[t], conf[t], times[t], scales[t]) + camera[t], tuple(camera[t]))
        released = ahead.push(t, result)
        if released is not None:
            out.append(released[1].smoothed)
    out.append(ahead.flush()[1].smoothed)
    assert np.allclose(np.array(out), _lookahead(raw, conf, scales) + camera[:, None], atol=1e-3)


@dataclass
class _Camera:
    smoothed: np.ndarray
    camera: tuple


def _online_with_reset(raw, conf, scales, reset_at):
    ks = KalmanSmoother()
    out = []
    for t in range(len(raw)):
        if t == reset_at:
            ks.reset()
        out.append(ks.update(raw[t], conf[t], t / FPS, scales[t]))
    return np.array(out)


def test_low_confidence_joint_is_predicted_not_updated():
    ks = KalmanSmoother(KalmanParams(max_coast=3))
    pts = np.zeros((14, 2))
    for t in range(10):  # joint moving right at 30 px/s
        out = ks.update(pts + [t, 0.0], np.ones(14), t / FPS, 100.0)
    assert out[0, 0] == pytest.approx(9.0, abs=0.2)
    junk = pts + [9.0, 0.0]
    junk[0] = (500.0, 500.0)
    conf = np.ones(14)
    conf[0] = 0.05
    out = ks.update(junk, conf, 10 / FPS, 100.0)
    assert out[0] == pytest.approx([10.0, 0.0], abs=0.3)  # predicted along its velocity, outlier ignored
    for t in range(11, 15):
        out = ks.update(junk, conf, t / FPS, 100.0)
    assert np.isnan(out[0]).all() and np.isfinite(out[1:]).all()  # coasted too long -> not found


def test_dropped_frames_and_prediction():
    ks = KalmanSmoother()
    pts = np.zeros((14, 2))
    for t in range(10):
        ks.update(pts + [t * 2.0, 0.0], np.ones(14), t / FPS, 100.0)
    ahead = ks.predict_at(12 / FPS)  # three frames later
    assert ahead[:, 0] == pytest.approx(np.full(14, 24.0), abs=1.0)
    out = ks.update(pts + [24.0, 0.0], np.ones(14), 12 / FPS, 100.0)  # dt = 3 frames
    assert out[:, 0] == pytest.approx(np.full(14, 24.0), abs=0.5)


def test_none_mode_and_reset():
    p = make_smoother("none")
    assert isinstance(p, PassThrough)
    j = np.random.default_rng(0).normal(size=(14, 2))
    assert np.array_equal(p.update(j, np.ones(14), 0.0), j.astype(np.float32))
    ks = make_smoother("kalman")
    ks.update(j, np.ones(14), 0.0, 10.0)
    ks.reset()
    assert ks.predict_at(1.0) is None
    with pytest.raises(ValueError):
        make_smoother("wobbly")


def test_rts_respects_resets_and_missing():
    gt, raw, conf, torso, scales = _noisy_track(seed=2, n=60)
    conf = conf.copy()
    conf[:5, 3] = 0.0  # joint 3 not seen in the first frames
    resets = np.zeros(60, bool)
    resets[30] = True
    raw[30:] += 40.0  # a jump at the reset must not be smoothed across
    out = rts_smooth(raw, conf, np.arange(60) / FPS, scales, resets)
    assert np.isnan(out[:5, 3]).all() and np.isfinite(out[5:, 3]).all()
    noise = np.linalg.norm(raw[25:35] - gt[25:35] - (np.arange(25, 35) >= 30)[:, None, None] * 40.0, axis=-1).mean()
    # no blending across the reset: each side stays within the noise of its own track (a blend would be ~20 px)
    assert np.linalg.norm(out[29] - gt[29], axis=-1).mean() < 1.5 * noise
    assert np.linalg.norm(out[30] - (gt[30] + 40.0), axis=-1).mean() < 1.5 * noise


# ------------------------------------------------------------------------------ filterpy reference (per joint)

class _FilterpyReference:
    """The filter of smoothing.py written the plain way: one filterpy KalmanFilter per joint, the manoeuvre
    inflation as documented there, filterpy's rts_smoother per joint."""

    def __init__(self, params: KalmanParams, n_joints: int):
        self.p, self.n = params, n_joints
        self.filters = [KalmanFilter(dim_x=4, dim_z=2) for _ in range(n_joints)]
        for kf in self.filters:
            kf.H = np.hstack([np.eye(2), np.zeros((2, 2))])
        self.started = np.zeros(n_joints, bool)
        self.coast = np.zeros(n_joints, int)
        self.t, self.dt, self.level = None, 1.0 / 30.0, 2.0 * np.log(2.0)
        self.inflations = 0
        self.suspect = [0] * n_joints
        self.outlier_updates = 0

    def step(self, joints, conf, t, scale):
        p = self.p
        self.dt = self.dt if self.t is None else float(np.clip(t - self.t, 1e-3, p.max_dt))
        self.t = t
        F = np.eye(4)
        F[0, 2] = F[1, 3] = self.dt
        Q = Q_continuous_white_noise(dim=2, dt=self.dt, spectral_density=(p.process * scale) ** 2, block_size=2,
                                     order_by_dim=False)
        good = [bool(np.isfinite(joints[j]).all() and np.isfinite(conf[j]) and conf[j] >= p.conf_threshold)
                for j in range(self.n)]
        r_var = [(p.measurement * scale / min(max(conf[j], p.min_conf), 1.0)) ** 2 if good[j] else None
                 for j in range(self.n)]
        Qs = [Q.copy() for _ in range(self.n)]
        update_var = list(r_var)
        nis = {}
        for j, kf in enumerate(self.filters):
            if self.started[j]:
                kf.predict(F=F, Q=Q)
                if good[j]:
                    y = joints[j] - kf.x[:2, 0]
                    nis[j] = float(y @ np.linalg.inv(kf.P[:2, :2] + np.eye(2) * r_var[j]) @ y)
        level = self.level
        if p.manoeuvre_gate > 0 and nis:
            med = float(np.median(list(nis.values())))
            pooled = med / (p.manoeuvre_gate * self.level)
            self.level = (1 - p.nis_adapt) * self.level + p.nis_adapt * min(med, 3.0 * self.level)
            for j, v in nis.items():
                f = min(max(max(v / p.manoeuvre_gate, pooled) if p.per_joint_manoeuvre else pooled, 1.0),
                        p.max_inflation)
                kf = self.filters[j]
                self.inflations += f > 1.0
                fpf = kf.P - Q
                kf.P = kf.P * f
                Qs[j] = kf.P - fpf
        restart = [False] * self.n
        for j in range(self.n):
            far = False
            if p.outlier_gate > 0 and j in nis:
                kf = self.filters[j]
                y = joints[j] - kf.x[:2, 0]
                v = float(y @ np.linalg.inv(kf.P[:2, :2] + np.eye(2) * r_var[j]) @ y)
                far = v > p.outlier_gate * level
                if far:
                    self.outlier_updates += 1
                    update_var[j] = r_var[j] * v / (p.outlier_gate * level)
            self.suspect[j] = self.suspect[j] + 1 if far else 0
            if self.suspect[j] >= p.outlier_frames:
                restart[j], self.suspect[j] = True, 0
        out = np.full((self.n, 2), np.nan)
        for j, kf in enumerate(self.filters):
            if good[j] and self.started[j] and not restart[j]:
                kf.update(joints[j], R=np.eye(2) * update_var[j])
            elif good[j]:
                v = (p.init_velocity * scale) ** 2
                kf.x = np.array([[joints[j, 0]], [joints[j, 1]], [0.0], [0.0]])
                kf.P = np.diag([r_var[j], r_var[j], v, v])
                self.started[j] = True
            self.coast[j] = 0 if good[j] else self.coast[j] + self.started[j]
            if self.started[j]:
                out[j] = kf.x[:2, 0]
        valid = self.started & (self.coast <= p.max_coast)
        self.restart = restart
        return np.where(valid[:, None], out, np.nan), F, np.array(Qs), good

    def predict_at(self, t):
        dt = float(np.clip(t - self.t, 0.0, self.p.max_dt))
        return np.array([kf.x[:2, 0] + kf.x[2:, 0] * dt if s and c <= self.p.max_coast else [np.nan, np.nan]
                         for kf, s, c in zip(self.filters, self.started, self.coast)])


def _reference_rts(joints, conf, times, scales, params):
    T, J = joints.shape[:2]
    ref = _FilterpyReference(params, J)
    xs, ps, fs, qs, started, good, restart = [], [], [], [], [], [], []
    for k in range(T):
        _, F, Qs, g = ref.step(joints[k], conf[k], times[k], scales[k])
        xs.append([kf.x.copy() for kf in ref.filters])
        ps.append([kf.P.copy() for kf in ref.filters])
        fs.append(F), qs.append(Qs), started.append(ref.started.copy()), good.append(g), restart.append(ref.restart)
    xs, ps, qs, started, good, restart = map(np.array, (xs, ps, qs, started, good, restart))
    out = np.full((T, J, 2), np.nan)
    for j in range(J):
        if not started[:, j].any():
            continue
        k0 = int(np.argmax(started[:, j]))
        # a joint the outlier gate restarted moved at the first frame of its run of outliers: the pieces on
        # either side of that frame are smoothed on their own
        starts = [k - params.outlier_frames + 1 for k in np.flatnonzero(restart[:, j])]
        cuts = [k0] + [k for k in starts if k > k0] + [T]
        for a, b in zip(cuts[:-1], cuts[1:]):
            xsm = ref.filters[j].rts_smoother(xs[a:b, j], ps[a:b, j], fs[a:b], qs[a:b, j])[0]
            for k in range(a, b):
                if np.abs(np.flatnonzero(good[:, j]) - k).min() <= params.max_coast:
                    out[k, j] = xsm[k - a, :2, 0]
    return out


def _hard_sequence(seed, T=120, J=5):
    """Random walks with dropouts (NaN), low and NaN confidences, a jump, uneven time steps and box sides."""
    rng = np.random.default_rng(seed)
    joints = 100.0 + np.cumsum(rng.normal(size=(T, J, 2)) * 3.0, axis=0)
    joints[40:44] += 60.0
    joints[100:, 1] += 200.0    # one joint jumps and stays: the outlier gate restarts it
    joints[rng.uniform(size=(T, J)) < 0.1] = np.nan
    joints[:6, 2] = np.nan  # joint 2 appears late
    joints[50:90, 4] = np.nan  # joint 4 coasts past max_coast, then comes back
    conf = rng.uniform(0.0, 1.0, size=(T, J))
    conf[rng.uniform(size=(T, J)) < 0.03] = np.nan
    times = np.cumsum(rng.choice([1, 1, 1, 2, 3], size=T)) / FPS
    scales = rng.uniform(60.0, 140.0, size=T)
    return joints, conf, times, scales


REFERENCE_PARAMS = [KalmanParams(manoeuvre_gate=0.0), KalmanParams(), KalmanParams(per_joint_manoeuvre=True),
                    KalmanParams(process=2.0, max_coast=5), KalmanParams(outlier_gate=0.0),
                    KalmanParams(outlier_gate=4.0, outlier_frames=3)]


@pytest.mark.parametrize("params", REFERENCE_PARAMS)
@pytest.mark.parametrize("seed", [0, 1])
def test_vectorised_filter_matches_filterpy(params, seed):
    joints, conf, times, scales = _hard_sequence(seed)
    J = joints.shape[1]
    ours, ref = KalmanSmoother(params, J), _FilterpyReference(params, J)
    for k in range(len(joints)):
        expected, F_ref, Qs_ref, _ = ref.step(joints[k], conf[k], times[k], scales[k])
        got, valid, F, Qs = ours.step(joints[k], conf[k], times[k], scales[k])
        got[~valid] = np.nan
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
        np.testing.assert_allclose(Qs, Qs_ref, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(F, F_ref)
        t_ahead = times[k] + 0.05
        np.testing.assert_allclose(ours.predict_at(t_ahead), ref.predict_at(t_ahead), rtol=1e-6, atol=1e-6)
        if k == 80:
            assert np.isnan(got[4]).all() and np.isfinite(got[:4]).any()  # coasted past max_coast
    assert np.isfinite(got[4]).all()  # measured again
    if params.manoeuvre_gate > 0:  # the sequences make the inflation fire, so it is compared too
        assert ref.inflations > 0
    if params.outlier_gate > 0 and not params.per_joint_manoeuvre:   # and the outlier gate (a joint's own
        assert ref.outlier_updates > 0                                 # inflation keeps it under the gate)


@pytest.mark.parametrize("params", REFERENCE_PARAMS)
def test_vectorised_rts_matches_filterpy(params):
    joints, conf, times, scales = _hard_sequence(7)
    expected = _reference_rts(joints, conf, times, scales, params)
    got = rts_smooth(joints, conf, times, scales, params=params)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert np.isnan(expected[:6, 2]).all() and np.isnan(expected[70, 4]).all() and np.isfinite(expected[95:, 4]).all()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)  # rts_smooth returns float32
    if params.outlier_gate > 0 and not params.per_joint_manoeuvre:     # the gate restarts a joint, so the
        ours, restarts = KalmanSmoother(params, joints.shape[1]), 0      # pieces on either side are compared
        for k in range(len(joints)):
            ours.step(joints[k], conf[k], times[k], scales[k])
            restarts += int(ours.restarted.sum())
        assert restarts > 0


def _still_joints_with(spike_frames, T=60, J=5, seed=3):
    """J still joints measured with 1 px noise; joint 0 is 40 px off on `spike_frames`."""
    rng = np.random.default_rng(seed)
    truth = np.full((T, J, 2), 100.0)
    raw = truth + rng.normal(0, 1.0, truth.shape)
    raw[spike_frames, 0, 0] += 40.0
    return truth, raw


def _filtered(raw, params):
    k = KalmanSmoother(params, raw.shape[1])
    return np.array([k.update(raw[t], np.ones(raw.shape[1]), t / FPS, 100.0) for t in range(len(raw))])


def test_outlier_gate_keeps_a_one_frame_spike_from_dragging_the_joint():
    truth, raw = _still_joints_with([30])
    gated = _filtered(raw, KalmanParams())
    plain = _filtered(raw, KalmanParams(outlier_gate=0.0))
    err = lambda out, t: float(np.abs(out[t, 0] - truth[t, 0]).max())
    assert err(plain, 30) > 10.0 and err(plain, 31) > 5.0          # the spike drags the plain filter off
    assert err(gated, 30) < 4.0 and err(gated, 31) < 4.0           # the gated one hardly moves


def test_a_joint_the_gate_restarts_is_not_smoothed_back_into_the_frames_before():
    """The offline smoother and the look-ahead place a joint the gate restarted at its new place from the frame it
    moved, and not in the frames before."""
    rng = np.random.default_rng(0)
    n = 60
    joints = np.tile(np.array([[100.0 + 10 * k, 200.0] for k in range(14)]), (n, 1, 1)) + rng.normal(0, 0.3, (n, 14, 2))
    joints[30:, 0, 0] += 40.0                           # one joint moves and stays; the body does not
    conf, times, scales = np.full((n, 14), 0.9), np.arange(n) / FPS, np.full(n, 200.0)
    offline = rts_smooth(joints, conf, times, scales)
    ahead = _lookahead(joints, conf, scales)
    for track in (offline, ahead):
        assert abs(track[29, 0, 0] - 100.0) < 5.0       # before the move: where the joint was
        assert abs(track[30, 0, 0] - 140.0) < 5.0       # from the frame it moved: where it went
        assert abs(track[35, 0, 0] - 140.0) < 5.0


def test_outlier_gate_follows_a_real_move_after_outlier_frames():
    truth, raw = _still_joints_with(list(range(30, 60)))          # joint 0 really moves at frame 30
    gated = _filtered(raw, KalmanParams(outlier_frames=2))
    assert abs(gated[30, 0, 0] - 100.0) < 4.0                      # one frame off: held
    assert abs(gated[31, 0, 0] - raw[31, 0, 0]) < 1e-3             # the second: restarted at the measurement
    assert np.abs(gated[40:, 0, 0] - 140.0).max() < 4.0


@pytest.mark.parametrize("dt", [1 / 30, 0.1, 1.0])
def test_process_noise_is_filterpys_white_noise_acceleration(dt):
    from pose_track.tracker.kalman import process_noise

    expected = Q_continuous_white_noise(dim=2, dt=dt, spectral_density=2.5, block_size=2, order_by_dim=False)
    np.testing.assert_allclose(process_noise(dt, 2.5), expected, rtol=1e-12, atol=0)


def test_a_long_still_stretch_leaves_the_filter_ready_for_motion():
    """A minute of identical measurements (a person standing still, frames repeated exactly), then a walk: the
    filter's running innovation level has a floor, so the outlier gate does not flag and restart every moving
    joint (which left it noisier than the raw joints)."""
    rng = np.random.default_rng(0)
    base, conf = rng.uniform(200, 400, (14, 2)), np.full(14, 0.9)
    k, t = KalmanSmoother(), 0.0
    for _ in range(1800):
        k.update(base, conf, t, 250.0)
        t += 1 / 30
    errors, restarts = [], 0
    for i in range(90):                                  # 4 px a frame, 1 px of measurement noise
        truth = base + [4.0 * i, 0.0]
        out = k.update(truth + rng.normal(0, 1, (14, 2)), conf, t, 250.0)
        t += 1 / 30
        restarts += int(k.restarted.sum())
        errors.append(np.abs(out - truth).mean())
    assert restarts <= 2 and np.mean(errors[30:]) < 0.6          # smoother than the raw joints (0.8 px)
