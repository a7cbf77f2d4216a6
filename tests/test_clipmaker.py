"""benchmarks.clipmaker: the ground truth is exactly the warped joints; the clip is deterministic."""
import cv2
import numpy as np

from pose_track.benchmarks.clipmaker import camera_path, frame_at, make_clip, synthetic_person
from pose_track.tracker.sinks import read_pose_csv


def _marker_still(w=64, h=48):
    joints = np.full((14, 2), np.nan)
    joints[0] = (22.0, 30.0)
    joints[13] = (40.0, 14.0)
    return joints


def _centroid(img, near, r=6):
    x0, y0 = int(round(near[0])), int(round(near[1]))
    g = img[max(0, y0 - r): y0 + r + 1, max(0, x0 - r): x0 + r + 1].astype(np.float64)
    g = g.mean(axis=2) if g.ndim == 3 else g
    ys, xs = np.mgrid[max(0, y0 - r): y0 + r + 1, max(0, x0 - r): x0 + r + 1]
    return np.array([(g * xs).sum() / g.sum(), (g * ys).sum() / g.sum()])


def test_ground_truth_matches_warped_joints(tmp_path):
    w, h, n = 64, 48, 30
    joints = _marker_still(w, h)
    still = np.zeros((h * 8, w * 8), np.float32)  # draw the markers at 8x and shrink: sub-pixel accurate blobs
    for p in joints[[0, 13]]:
        cv2.circle(still, (int(p[0] * 8 + 3.5), int(p[1] * 8 + 3.5)), 12, 255.0, -1)
    still = cv2.resize(still, (w, h), interpolation=cv2.INTER_AREA)
    still = cv2.cvtColor(np.clip(still, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    info = make_clip(still, joints, tmp_path / "clip.mp4", tmp_path / "gt.csv", n_frames=n, fps=20, seed=3,
                     translate=0.08, rotate_deg=8)
    assert info.joints.shape == (n, 14, 2) and np.isnan(info.joints[:, 1]).all()
    for t in (0, 11, 29):
        frame = frame_at(still, info.matrices[t], info.size)
        for j in (0, 13):
            assert np.linalg.norm(_centroid(frame, info.joints[t, j]) - info.joints[t, j]) < 0.5
    cap = cv2.VideoCapture(str(tmp_path / "clip.mp4"))
    decoded = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        decoded.append(img)
    assert len(decoded) == n
    assert np.linalg.norm(_centroid(decoded[11], info.joints[11, 0]) - info.joints[11, 0]) < 1.0
    gt = read_pose_csv(tmp_path / "gt.csv")[str(tmp_path / "clip.mp4")]
    assert list(gt["frame"]) == list(range(n)) and np.allclose(gt["time_s"], np.arange(n) / 20)
    assert np.allclose(gt["joints"][:, 0], info.joints[:, 0], atol=1e-3)
    assert np.isnan(gt["joints"][:, 1]).all() and (gt["conf"][:, 0] == 1).all()


def test_camera_path_deterministic_and_moving():
    a = camera_path(100, (64, 48), (32, 24), seed=5)
    b = camera_path(100, (64, 48), (32, 24), seed=5)
    c = camera_path(100, (64, 48), (32, 24), seed=6)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    speed = np.linalg.norm(np.diff(a[:, :, 2], axis=0), axis=1)
    assert speed.max() > 3 * np.median(speed)  # fast segments stand out


def test_synthetic_person_is_a_person():
    from pose_track.engines.joints import J, SKELETON

    img, joints = synthetic_person(64, 48)
    assert img.shape == (48, 64, 3) and joints.shape == (14, 2)
    assert (joints >= 0).all() and (joints[:, 0] < 64).all() and (joints[:, 1] < 48).all()
    grey = img.mean(2)
    for a, b in SKELETON:                      # every limb drawn bright on the darker background (40-90)
        x, y = np.round((joints[a] + joints[b]) / 2).astype(int)
        assert grey[y - 1:y + 2, x - 1:x + 2].max() > 150, (a, b)
    assert np.median(grey) < 100
    y = {name: joints[J[name], 1] for name in J}
    assert y["head_top"] < y["neck"] < y["r_hip"] < y["r_knee"] < y["r_ankle"]       # upright
    assert joints[J["r_hip"], 0] < joints[J["l_hip"], 0]       # facing the camera: the right side on the left
