"""tracker.smoothing: the Kalman filter cuts acceleration error with <= 1 frame of lag; RTS is smoother."""
import numpy as np
import pytest

from pose_track.engines.geometry import box_from_joints, torso_diameters
from pose_track.tracker.clipmaker import camera_path, synthetic_person, transform_joints
from pose_track.tracker.smoothing import (KalmanParams, KalmanSmoother, PassThrough, acceleration_error, lag_frames,
                               make_smoother, rts_smooth)

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
