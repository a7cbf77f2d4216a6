"""training.motion_fit: the process noise fitted to trajectories follows how much they accelerate."""
import json
import os

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

from conftest import SHARED_DATA
from pose_track.training.motion_fit import MotionTrack, fit_on_tracks, fit_process_noise, load_tracks, main, \
    noisy_measurements

PENN_LABELS = os.path.join(SHARED_DATA, "penn_action", "labels")
BODY = np.array([[0.0, 0.0], [0.0, 77.0], [40.0, 40.0]])  # three joints: the box side is 1.3 x 77 = 100 px


def _track(positions_of_time, n=150, fps=30.0, seed=0, hidden=0.0, train=True) -> MotionTrack:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    joints = BODY[None] + 200.0 + positions_of_time(t)[:, None, :]
    return MotionTrack(f"synthetic{seed}", joints, rng.uniform(size=(n, len(BODY))) >= hidden, train)


def _constant_velocity(seed):
    v = np.random.default_rng(seed).normal(size=2) * 60.0  # px / s
    return _track(lambda t: t[:, None] * v, seed=seed)


def _accelerating(seed):
    # 0.3 box sides at 1.5 Hz: peak acceleration ~27 box sides / s^2
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi)
    return _track(lambda t: 30.0 * np.stack([np.sin(3 * np.pi * t + phase), np.cos(3 * np.pi * t + phase)], 1),
                  seed=seed)


GRID = (0.05, 0.35, 3.0)


def test_constant_velocity_prefers_small_process_noise():
    result = fit_on_tracks([_constant_velocity(s) for s in range(3)], [_constant_velocity(9)], grid=GRID,
                           compare=(3.0,))
    assert result["fitted_process"] == 0.05
    errors = [r["position_error"] for r in result["train"]["grid"]]
    assert errors == sorted(errors)  # the less process noise the better on straight lines
    held = result["held_out"]["by_process"]
    assert held["0.05"]["position_error"] < held["3"]["position_error"]
    assert held["0.05"]["jitter_reduction"] > held["3"]["jitter_reduction"]


def test_accelerating_motion_prefers_larger_process_noise():
    result = fit_on_tracks([_accelerating(s) for s in range(3)], [_accelerating(9)], grid=GRID, compare=(0.05,))
    assert result["fitted_process"] > 0.05
    small = result["held_out"]["by_process"]["0.05"]
    fitted = result["held_out"]["by_process"][f"{result['fitted_process']:g}"]
    assert small["lag_frames"] > fitted["lag_frames"]  # too little process noise trails the motion
    assert fitted["lag_frames"] <= 1.0


def test_lag_constraint_excludes_laggy_values():
    # on the circle 0.05 trails by more than a frame; with a 0.1-frame limit only the largest value qualifies
    result = fit_on_tracks([_accelerating(0)], [_accelerating(1)], grid=GRID, max_lag=0.1)
    by_q = {r["process"]: r for r in result["train"]["grid"]}
    assert by_q[0.05]["lag_frames"] > 1.0
    assert result["fitted_process"] == 3.0 and by_q[3.0]["lag_frames"] <= 0.1


def test_noise_model():
    track = _track(lambda t: np.zeros((len(t), 2)), n=4000, hidden=0.2)
    rng = np.random.default_rng(0)
    noisy = noisy_measurements(track, rng, std=0.02)
    assert np.isnan(noisy[~track.visible]).all() and np.isfinite(noisy[track.visible]).all()
    err = (noisy - track.joints)[track.visible] / 100.0  # box side 100 px
    assert err.std() == pytest.approx(0.02, rel=0.05)
    heavy = (noisy_measurements(track, rng, std=0.02, outlier_rate=0.1, outlier_scale=5.0) - track.joints)
    heavy = np.abs(heavy[track.visible]) / 100.0
    assert (np.abs(err) > 0.06).mean() < 0.01  # beyond 3 std: ~0.3 % of Gaussian noise
    assert (heavy > 0.06).mean() > 0.04         # ~5.7 % with 10 % outliers of 5 std


def _write_penn_like(folder, n_seq=4, n=60):
    """Penn Action layout: NNNN.mat with x, y, visibility, train (1 or -1); coordinates as uint16 in one file."""
    os.makedirs(folder, exist_ok=True)
    for i in range(n_seq):
        track = (_accelerating if i % 2 else _constant_velocity)(i)
        x, y = track.joints[:n, :, 0], track.joints[:n, :, 1]
        if i == 0:
            x, y = np.round(x).astype(np.uint16), np.round(y).astype(np.uint16)
        scipy.io.savemat(os.path.join(folder, f"{i + 1:04d}.mat"),
                         {"x": x, "y": y, "visibility": track.visible[:n].astype(np.uint8),
                          "train": np.array([[1 if i < 2 else -1]], np.int32)})
    return folder


def test_load_tracks_split_and_integer_coordinates(tmp_path):
    folder = _write_penn_like(str(tmp_path / "labels"))
    train, test = load_tracks(folder, "train"), load_tracks(folder, "test")
    assert [t.name for t in train] == ["0001", "0002"] and [t.name for t in test] == ["0003", "0004"]
    assert train[0].joints.dtype == np.float64  # differences of unsigned integers would wrap around
    np.testing.assert_array_equal(train[0].joints, np.round(_constant_velocity(0).joints[:60]))
    assert len(load_tracks(folder, every=2)) == 2
    with pytest.raises(FileNotFoundError):
        load_tracks(str(tmp_path))


def test_command_line(tmp_path):
    folder = _write_penn_like(str(tmp_path / "labels"))
    out = tmp_path / "fit.json"
    r = CliRunner().invoke(main, ["--labels", folder, "--json", str(out), "--train-every", "1"])
    assert r.exit_code == 0, r.output
    result = json.loads(out.read_text())
    assert result["train"]["sequences"] == 2 and result["held_out"]["sequences"] == 2
    assert "fitted process noise" in r.output and not os.path.exists(f"{out}.tmp")
    bad = CliRunner().invoke(main, ["--labels", str(tmp_path / "missing")])
    assert bad.exit_code != 0
    assert bad.output.strip().count("\n") == 0 and "missing" in bad.output


@pytest.mark.skipif(not os.path.isdir(PENN_LABELS), reason=f"Penn Action labels not present at {PENN_LABELS}")
def test_real_penn_action_labels():
    result = fit_process_noise(PENN_LABELS, train_every=100, test_every=100, grid=(0.1, 0.5, 3.0), compare=())
    assert result["train"]["sequences"] >= 10 and result["held_out"]["sequences"] >= 10
    rows = {r["process"]: r for r in result["train"]["grid"]}
    # real motion: the smallest value lags most, the largest smooths least; the fitted value sits between
    assert rows[0.1]["lag_frames"] > rows[3.0]["lag_frames"]
    assert rows[0.1]["jitter_reduction"] > rows[3.0]["jitter_reduction"]
    held = result["held_out"]["by_process"][f"{result['fitted_process']:g}"]
    assert held["position_error"] < held["measurement_error"]
    assert held["jitter_reduction"] > 0.3 and held["lag_frames"] <= 1.5
