"""benchmarks.hard_clips and hard_tracking: exact ground truth under roll, cuts and walk-outs; figures of the
runner with fake cascades whose answers are known."""
import cv2
import numpy as np
import pytest

from pose_track.benchmarks.clipmaker import synthetic_person, transform_joints
from pose_track.benchmarks.hard_clips import ClipTruth, plan_clip, render_frame, write_clip
from pose_track.benchmarks.hard_tracking import benchmark_hard_clips, cut_recovery, reentry_recovery
from pose_track.engines.cascade import CascadeResult

from fakes import FakeCascade, NobodyThere

SIZE = (160, 120)
MARKED = (0, 13)        # joints with a bright disk on the still


def _marked_person(seed):
    """A dark still whose ankle and head top carry bright disks (drawn at 8x and shrunk: sub-pixel centres)."""
    _, joints = synthetic_person(64, 96, seed)
    joints = joints + np.random.default_rng(seed).uniform(-3, 3, joints.shape).astype(np.float32)
    big = np.zeros((96 * 8, 64 * 8), np.float32)
    for j in MARKED:
        cv2.circle(big, (int(joints[j, 0] * 8 + 3.5), int(joints[j, 1] * 8 + 3.5)), 14, 255.0, -1)
    still = cv2.resize(big, (64, 96), interpolation=cv2.INTER_AREA)
    still = np.clip(still + np.random.default_rng(seed).uniform(10, 40, still.shape), 0, 255).astype(np.uint8)
    return cv2.cvtColor(still, cv2.COLOR_GRAY2BGR), joints, f"p{seed}"


def _centroid(img, near, r=5):
    x0, y0 = int(round(near[0])), int(round(near[1]))
    ys, xs = np.mgrid[y0 - r: y0 + r + 1, x0 - r: x0 + r + 1]
    g = np.maximum(img[y0 - r: y0 + r + 1, x0 - r: x0 + r + 1, 0].astype(np.float64) - 60.0, 0.0)
    return np.array([(g * xs).sum() / g.sum(), (g * ys).sum() / g.sum()])


@pytest.fixture(scope="module")
def plan():
    people = [_marked_person(s) for s in (1, 2, 3)]
    street = np.full((300, 400, 3), 30, np.uint8)
    return plan_clip(people, street, n_frames=90, size=SIZE, seed=4), people


def test_truth_is_the_transformed_still_under_roll_and_cuts(plan):
    plan, people = plan
    truth = plan.truth
    starts = np.flatnonzero(np.diff(truth.shot, prepend=-1))
    assert list(np.flatnonzero(truth.cut)) == list(starts[1:])
    checked, rolls, shots = 0, [], set()
    for t in range(len(truth.shot)):
        scene = plan.scenes[truth.shot[t]]
        if truth.nobody[t]:
            continue
        expected = transform_joints(plan.person[t][None], scene.joints)[0]
        inside = (expected >= 0).all(1) & (expected[:, 0] <= SIZE[0] - 1) & (expected[:, 1] <= SIZE[1] - 1)
        assert np.allclose(truth.joints[t][inside], expected[inside], atol=1e-3)
        assert np.isnan(truth.joints[t][~inside]).all()
        margin = ((expected[list(MARKED)] > 8) & (expected[list(MARKED)] < np.array(SIZE) - 9)).all()
        if t % 3 == 0 and margin:
            frame = render_frame(plan, t)
            for j in MARKED:
                assert np.linalg.norm(_centroid(frame, truth.joints[t, j]) - truth.joints[t, j]) < 0.6
            rolls.append(abs(np.degrees(np.arctan2(plan.person[t][1, 0], plan.person[t][0, 0]))))
            shots.add(int(truth.shot[t]))
            checked += 1
    assert checked >= 10 and max(rolls) > 15 and len(shots) >= 3
    names = [truth.people[s] for s in truth.shot[~truth.nobody]]
    assert set(names) == {"p1", "p2", "p3"}       # the truth switches person at the cuts


def test_nobody_frames_have_no_truth_and_no_person(plan):
    plan, _ = plan
    truth = plan.truth
    empty_shot = [i for i, name in enumerate(truth.people) if name == ""]
    assert len(empty_shot) == 1 and truth.nobody[truth.shot == empty_shot[0]].all()
    walked_out = truth.nobody & (truth.shot == 0)
    assert walked_out.sum() >= 5
    assert np.isnan(truth.joints[truth.nobody]).all() and np.isnan(truth.torso[truth.nobody]).all()
    for t in np.flatnonzero(truth.nobody)[::4]:
        assert render_frame(plan, t).max() < 120      # no bright marker anywhere: the person is not there
    assert truth.fast.any() and not (truth.fast & truth.cut).any()


def test_recovery_counts_frames_to_found():
    n = 12
    truth = ClipTruth(np.zeros((n, 14, 2), np.float32), np.ones(n), np.zeros(n, bool), np.zeros(n, bool),
                      np.zeros(n, bool), np.array([0] * 4 + [1] * 8), ["a", "b"])
    truth.cut[4] = True
    truth.nobody[6:8] = True
    truth.joints[6:8] = np.nan
    fpck = np.array([1, 1, 1, 1, 0, 0, np.nan, np.nan, 0, 0.6, 1, 1])
    assert cut_recovery(fpck, truth) == [5]
    assert reentry_recovery(fpck, truth) == [1]
    assert cut_recovery(np.zeros(n), truth) == [None]


class _AlwaysSomeone(FakeCascade):
    def predict(self, image_bgr, boxes):
        r = super().predict(image_bgr, boxes)
        box = np.asarray(boxes, np.float32).reshape(len(r.joints), -1)[:, None, :2]
        joints = np.where(np.isfinite(r.joints), r.joints, box + np.linspace(-5, 5, 28).reshape(14, 2))
        return CascadeResult(joints, np.full(r.confidence.shape, 0.9, np.float32), [joints] * 3)


@pytest.fixture(scope="module")
def written(plan, tmp_path_factory):
    plan, _ = plan
    folder = tmp_path_factory.mktemp("hard")
    truth = write_clip(plan, str(folder / "hard.mp4"), str(folder / "hard.npz"), seed=1)
    return str(folder / "hard.mp4"), str(folder / "hard.npz"), truth


def test_written_clip_and_truth_round_trip(written):
    video, npz, truth = written
    loaded = ClipTruth.load(npz)
    assert np.array_equal(loaded.joints, truth.joints, equal_nan=True) and loaded.people == truth.people
    assert np.array_equal(loaded.fast, truth.fast) and loaded.fps == truth.fps
    cap = cv2.VideoCapture(video)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(truth.shot)


def test_runner_with_a_truthful_fake(written):
    video, npz, truth = written
    rows, summary = benchmark_hard_clips(lambda t: FakeCascade(t.joints, noise=0.005), [(video, npz)], finder=None)
    row = rows[0]
    assert row["pck_tracking"] > 0.9 and row["pck_single"] > 0.9 and row["pck_kalman"] > 0.85
    assert row["nobody_reported_tracking"] == 0.0 and row["nobody_reported_single"] == 0.0
    assert row["cut_recovery_single"] == [0] * len(row["cut_recovery_single"]) and row["cut_recovery_single"]
    assert all(v is not None and v <= 3 for v in row["cut_recovery_tracking"])
    assert summary["cut_recovery_tracking"]["events"] == len(row["cut_recovery_tracking"])
    assert row["fast_frames"] == int(truth.fast.sum()) and np.isfinite(row["accel_reduction_kalman"])


def test_runner_counts_nobody_answers(written):
    video, npz, truth = written
    rows, _ = benchmark_hard_clips(lambda t: NobodyThere(t.joints), [(video, npz)], finder=None)
    row = rows[0]
    assert row["pck_tracking"] == 0.0 and row["pck_single"] == 0.0
    assert row["nobody_reported_tracking"] == 0.0 and row["nobody_reported_single"] == 0.0
    assert all(v is None for v in row["cut_recovery_tracking"])
    rows, _ = benchmark_hard_clips(lambda t: _AlwaysSomeone(t.joints), [(video, npz)], finder=None)
    assert rows[0]["nobody_reported_tracking"] == 1.0 and rows[0]["nobody_reported_single"] == 1.0
