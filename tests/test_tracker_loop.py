"""tracker.loop and tracker.run with a fake cascade: follows a synthetic clip, re-acquires after a forced loss,
writes every sink, keeps what was processed when a fault hits mid-file."""
import numpy as np
import pytest

from pose_track.engines.geometry import torso_diameters
from pose_track.tracker.capture import Frame
from pose_track.benchmarks.clipmaker import camera_path, frame_at, make_clip, synthetic_person, transform_joints
from fakes import FakeCascade, NobodyThere
from pose_track.engines.estimator import PoseEstimator, stage_agreement_confidence
from pose_track.tracker.loop import Tracker
from pose_track.tracker.loss import LossCheck
from pose_track.tracker.proposer import BoxProposer
from pose_track.tracker.run import process_source
from pose_track.tracker.sinks import CsvSink, NdjsonSink, StopRequested, read_pose_csv
from pose_track.tracker.smoothing import make_smoother

W, H, N = 64, 48, 40


def _clip(seed=0, n=N):
    img, joints = synthetic_person(W, H, seed)
    mats = camera_path(n, (W, H), joints.mean(0), seed=seed, translate=0.08)
    gt = transform_joints(mats, joints).astype(np.float32)
    frames = [Frame(i, i / 30.0, frame_at(img, mats[i], (W, H)), "clip") for i in range(n)]
    return frames, gt


def _inside(gt, box):
    from pose_track.engines.geometry import rotation

    cx, cy, side, angle = box
    return (np.abs((gt - [cx, cy]) @ rotation(angle).T) <= side / 2).all(axis=1)     # in the turned crop


def test_tracker_follows_a_clip():
    frames, gt = _clip()
    cascade = FakeCascade(gt, noise=0.01)
    tracker = Tracker(cascade, smoother=make_smoother("kalman"), finder=None)
    results = [tracker.step(f) for f in frames]
    assert [r.reacquired for r in results] == [True] + [False] * (N - 1)
    assert all(r.lost is None for r in results)
    assert np.mean([_inside(g, r.box).all() for g, r in zip(gt, results)]) >= 0.95
    torso = torso_diameters(gt)
    sm = np.array([r.smoothed for r in results])
    assert np.nanmean(np.linalg.norm(sm - gt, axis=-1) / torso[:, None]) < 0.15
    assert results[5].box[2] < 0.8 * max(W, H)  # a person box, not the whole frame
    # + the refinement pass of the first frame + one drift check (frame 30) that finds no drift
    assert tracker.cascade_calls == N + 2 and tracker.reacquisitions == 1


def test_tracker_reacquires_after_forced_loss():
    frames, gt = _clip(seed=1)
    cascade = FakeCascade(gt, noise=0.01, fail_frames={15})
    tracker = Tracker(cascade, finder=None)
    results = [tracker.step(f) for f in frames]
    assert results[15].lost is not None and "confidence" in results[15].lost
    assert results[16].reacquired and not results[17].reacquired
    assert sum(r.reacquired for r in results) == 2
    assert np.isfinite(results[15].smoothed).all()  # low-confidence frame: predicted, not updated
    err = np.linalg.norm(results[15].smoothed - gt[15], axis=-1).mean()
    assert err < 3.0
    assert all(_inside(gt[i], results[i].box).all() for i in range(17, N))


def test_reacquire_uses_the_finders_box_and_independent_mode():
    frames, gt = _clip(seed=2, n=5)
    boxes = []

    def finder(image, near=None):
        boxes.append(image.shape)
        return (W / 2, H / 2, 40.0)

    tracker = Tracker(FakeCascade(gt), finder=finder, refine_reacquire=False)
    r = tracker.step(frames[0])
    assert r.box == (W / 2, H / 2, 40.0, 0.0) and len(boxes) == 1
    still = Tracker(FakeCascade(gt), track=False, finder=finder, refine_reacquire=False)
    rs = [still.step(f) for f in frames]
    assert all(x.box == (31.5, 23.5, 64.0, 0.0) for x in rs) and len(boxes) == 1  # whole image, no finder
    recropping = Tracker(FakeCascade(gt), track=False, finder=finder)
    rs = [recropping.step(f) for f in frames]
    assert len(boxes) == 1 and all(x.reacquired for x in rs)
    assert all(x.box[2] < 64.0 for x in rs)   # the person is smaller than the frame: later passes crop closer


def test_at_first_sight_a_finders_box_that_cuts_the_person_loses_to_the_still_image_answer():
    frames, gt = _clip(seed=2, n=3)
    centre = gt[0].mean(0)

    def finder(image, near=None):      # a box on the upper half of the person: the legs are cut off
        return (float(centre[0]), float(gt[0][:, 1].min()), 14.0)

    still = PoseEstimator(cascade=FakeCascade(gt, noise=0.0))
    expected = still(frames[0].image)
    cascade = FakeCascade(gt, noise=0.0)
    r = Tracker(cascade, finder=finder).step(frames[0])
    assert r.reacquired and r.box == expected.box          # the still-image answer's last, closer box
    np.testing.assert_allclose(r.raw, expected.joints)
    assert cascade.calls == 1 + still.calls                # the finder's box, the still answer, no second look


class LockedOnWrongPose(FakeCascade):
    """From frame `lock_from` on, every crop smaller than the frame answers a confident pose one torso to the
    right of the person; the whole-frame box still answers the truth."""

    def __init__(self, gt, lock_from: int, wrong_conf: float = 0.9, **kw):
        super().__init__(gt, **kw)
        self.lock_from = lock_from
        self.wrong_conf = wrong_conf
        self.shift = float(np.median(torso_diameters(np.asarray(gt))))

    def predict(self, image_bgr, boxes):
        res = super().predict(image_bgr, boxes)
        if self.frame >= self.lock_from:
            small = np.asarray(boxes, np.float32).reshape(len(boxes), -1)[:, 2] < max(W, H)
            res.joints[small, :, 0] += self.shift
            res.confidence[small] = self.wrong_conf
        return res


class WorseFromTheWholeFrame(FakeCascade):
    """Seeded crops answer the truth; the whole-frame box (the drift check's) a pose one torso to the side
    that is no better: confidence `fresh_conf`."""

    def __init__(self, gt, fresh_conf: float, **kw):
        super().__init__(gt, **kw)
        self.fresh_conf = fresh_conf
        self.shift = float(np.median(torso_diameters(np.asarray(gt))))

    def predict(self, image_bgr, boxes):
        res = super().predict(image_bgr, boxes)
        whole = np.asarray(boxes, np.float32).reshape(len(boxes), -1)[:, 2] >= max(W, H)
        if self.frame > 0:
            res.joints[whole, :, 0] += self.shift
            res.confidence[whole] = self.fresh_conf
        return res


@pytest.mark.parametrize("fresh_conf", [0.5, 0.9, 0.93])
def test_drift_check_never_trades_a_good_track_for_a_worse_or_equal_one(fresh_conf):
    frames, gt = _clip(seed=4)
    tracker = Tracker(WorseFromTheWholeFrame(gt, fresh_conf, noise=0.0), refine_reacquire=False,
                      proposer=BoxProposer(finder=None, check_every=5))
    results = [tracker.step(f) for f in frames]
    torso = torso_diameters(gt)
    err = [np.linalg.norm(r.raw - g, axis=-1).mean() / t for r, g, t in zip(results, gt, torso)]
    assert [i for i, r in enumerate(results) if r.reacquired] == [0] and max(err) < 0.2


@pytest.mark.parametrize("check_every", [0, 5])
def test_drift_check_reacquires_a_confident_wrong_track(check_every):
    frames, gt = _clip(seed=4)
    cascade = LockedOnWrongPose(gt, lock_from=10, noise=0.0, wrong_conf=0.7)     # the fresh estimate reads 0.9
    tracker = Tracker(cascade, refine_reacquire=False, proposer=BoxProposer(finder=None, check_every=check_every))
    results = [tracker.step(f) for f in frames]
    torso = torso_diameters(gt)
    err = [np.linalg.norm(r.raw - g, axis=-1).mean() / t for r, g, t in zip(results, gt, torso)]
    assert all(r.lost is None for r in results)          # confident and plausible: the loss checks see nothing
    assert max(err[:10]) < 0.2 and min(err[11:15]) > 0.5     # between checks the crop locks on again
    if check_every:
        assert results[10].reacquired and err[10] < 0.2   # the check on frame 10 finds the person again
        assert [i for i, r in enumerate(results) if r.reacquired] == [0, 10, 15, 20, 25, 30, 35]
    else:
        assert [i for i, r in enumerate(results) if r.reacquired] == [0] and err[15] > 0.5


def test_drifted_compares_with_the_fresh_torso():
    t = BoxProposer(finder=None, drift_torso=0.5)
    pose = synthetic_person(W, H)[1].astype(np.float32)
    diam = torso_diameters(pose[None])[0]
    assert not t.drifted(pose + [0.4 * diam, 0.0], pose)
    assert t.drifted(pose + [0.6 * diam, 0.0], pose)
    assert not t.drifted(np.full_like(pose, np.nan), pose)


def test_outside_and_implausible_poses_are_lost():
    lost = LossCheck()
    conf = np.full(14, 0.9, np.float32)
    pose = synthetic_person(W, H)[1]
    assert lost(pose, conf, (32, 24, 40), (H, W)) is None
    assert "outside" in lost(pose + 200, conf, (32, 24, 40), (H, W))
    assert "implausible" in lost((pose - pose.mean(0)) * 0.01 + 30, conf, (32, 24, 40), (H, W))


def test_fallback_confidence_from_stage_agreement():
    a = np.zeros((14, 2))
    b = a.copy()
    b[0] = (10.0, 0.0)
    c = stage_agreement_confidence([a, b], torso=20.0)
    assert c[1] == 1.0 and c[0] < 0.05


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("clip")
    img, joints = synthetic_person(W, H, 3)
    info = make_clip(img, joints, d / "clip.mp4", d / "gt.csv", n_frames=30, fps=30, seed=3, translate=0.08)
    return d / "clip.mp4", info


@pytest.mark.parametrize("smooth", ["kalman", "lookahead", "rts", "none"])
def test_process_source_writes_every_frame(tmp_path, clip_file, smooth):
    video, info = clip_file
    csv_path, nd = tmp_path / "out.csv", tmp_path / "out.ndjson"
    sinks = [CsvSink(csv_path), CsvSink(tmp_path / "raw.csv", which="raw"), NdjsonSink(nd)]
    seen = []
    stats = process_source(str(video), FakeCascade(info.joints, noise=0.01), sinks, smooth=smooth,
                           progress=lambda s: seen.append(s.frames), finder=None)
    for s in sinks:
        s.close()
    assert stats.frames == 30 and seen == list(range(1, 31)) and stats.dropped == 0
    assert stats.model_s > 0 and stats.total_s >= stats.model_s and stats.decode_s > 0
    out = read_pose_csv(csv_path)[str(video)]
    raw = read_pose_csv(tmp_path / "raw.csv")[str(video)]
    assert list(out["frame"]) == list(range(30)) and np.allclose(out["time_s"], info.times, atol=1e-3)
    assert np.nanmean(np.linalg.norm(out["joints"] - info.joints, axis=-1)) < 2.0
    if smooth == "none":
        assert np.allclose(out["joints"], raw["joints"], atol=1e-3)
    else:
        assert not np.allclose(out["joints"], raw["joints"], atol=1e-3)
    assert len(nd.read_text().splitlines()) == 30


def _smoothed_rows(video, info, path, smooth, sinks_before=(), **kw):
    sink = CsvSink(path)
    stats = process_source(str(video), FakeCascade(info.joints, noise=0.01), [*sinks_before, sink], smooth=smooth,
                           finder=None, **kw)
    sink.close()
    return stats, read_pose_csv(path)[str(video)]


def test_lookahead_revises_each_frame_with_the_next_and_writes_the_last_as_filtered(tmp_path, clip_file):
    video, info = clip_file
    _, kalman = _smoothed_rows(video, info, tmp_path / "k.csv", "kalman")
    _, ahead = _smoothed_rows(video, info, tmp_path / "a.csv", "lookahead")
    assert list(ahead["frame"]) == list(kalman["frame"]) == list(range(30))
    earlier = np.abs(ahead["joints"][:-1] - kalman["joints"][:-1]).max(axis=(1, 2))
    assert (earlier > 1e-3).mean() > 0.9                                      # revised with the next frame
    assert np.allclose(ahead["joints"][-1], kalman["joints"][-1], atol=1e-3)  # nothing after the last one


class StopAt:
    """A sink that asks to stop (as the window's q does) when given frame `at`."""

    def __init__(self, at):
        self.at = at

    def write(self, frame, result):
        if result.index == self.at:
            raise StopRequested()


@pytest.mark.parametrize("smooth", ["kalman", "lookahead"])
def test_a_stop_mid_write_leaves_no_gap(tmp_path, clip_file, smooth):
    video, info = clip_file
    stats, rows = _smoothed_rows(video, info, tmp_path / "out.csv", smooth, sinks_before=[StopAt(8)])
    assert stats.stopped == "stop requested" and list(rows["frame"]) == list(range(8))
    stats, rows = _smoothed_rows(video, info, tmp_path / "max.csv", smooth, max_frames=12)
    assert stats.stopped == "max 12 frames" and list(rows["frame"]) == list(range(12))


class ExplodingCascade(FakeCascade):
    def __init__(self, gt, at):
        super().__init__(gt)
        self.at = at

    def predict(self, image, boxes):
        res = super().predict(image, boxes)
        if self.frame == self.at:
            raise RuntimeError("model fault")
        return res


@pytest.mark.parametrize("smooth", ["kalman", "lookahead", "rts"])
def test_fault_mid_file_keeps_earlier_frames(tmp_path, clip_file, smooth):
    video, info = clip_file
    path = tmp_path / "out.csv"
    sink = CsvSink(path)
    with pytest.raises(RuntimeError, match="model fault"):
        process_source(str(video), ExplodingCascade(info.joints, at=12), [sink], smooth=smooth, finder=None)
    (partial,) = [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    rows = partial.read_text().splitlines()  # read before close: flushed per frame
    assert len(rows) == 1 + 12 and rows[-1].split(",")[1] == "11"
    sink.close()
    assert path.read_text().splitlines() == rows and not partial.exists()


class NobodyOn(FakeCascade):
    """The person, except on frames `gone`: presence 0 there."""

    def __init__(self, gt, gone):
        super().__init__(gt)
        self.gone = set(gone)

    def predict(self, image, boxes):
        res = super().predict(image, boxes)
        res.presence = np.full(len(res.joints), 0.0 if self.frame in self.gone else 1.0, np.float32)
        return res


@pytest.mark.parametrize("smooth", ["kalman", "lookahead", "rts"])
def test_no_smoother_fills_a_frame_where_nobody_was_found(tmp_path, clip_file, smooth):
    video, info = clip_file
    path = tmp_path / "out.csv"
    sink = CsvSink(path)
    process_source(str(video), NobodyOn(info.joints, gone={12}), [sink], smooth=smooth, finder=None)
    sink.close()
    rows = read_pose_csv(path)[str(video)]
    assert np.isnan(rows["joints"][12]).all()
    assert np.isfinite(rows["joints"][[11, 13]]).all()


def test_a_video_where_nobody_is_ever_found_writes_empty_rows_and_says_so(tmp_path):
    img, joints = synthetic_person(W, H, 3)
    info = make_clip(img, joints, tmp_path / "clip.avi", n_frames=12, fps=30.0, seed=3)
    out = tmp_path / "out.csv"
    sink = CsvSink(out)
    stats = process_source(str(tmp_path / "clip.avi"), NobodyThere(info.joints), [sink], finder=None)
    sink.close()
    rows = next(iter(read_pose_csv(out).values()))
    assert stats.frames == 12 and np.isnan(rows["joints"]).all()
    assert any("nobody was found" in w for w in stats.warnings)


def test_image_folder_is_independent_stills(tmp_path):
    import cv2
    frames, gt = _clip(seed=4, n=4)
    for f in frames:
        cv2.imwrite(str(tmp_path / f"im{f.index + 1}.png"), f.image)
    out = tmp_path / "out.csv"
    sink = CsvSink(out)
    cascade = FakeCascade(gt)
    stats = process_source(str(tmp_path), cascade, [sink], smooth="kalman")
    sink.close()
    data = read_pose_csv(out)
    assert stats.frames == 4 and stats.reacquired == 4 and list(data) == [f"im{i}.png" for i in range(1, 5)]
    assert 4 < cascade.calls <= 4 * 3  # the whole image, then the estimator's closer passes


def test_stills_are_written_as_the_estimator_answers_them_in_every_smoothing_mode(tmp_path):
    """A folder of pictures is not a track: `--smooth rts` too writes each picture's joints, even those of a
    confidence a filter would only predict (under its conf_threshold)."""
    import cv2
    from pose_track.tracker.smoothing import MODES
    frames, gt = _clip(seed=4, n=3)
    for f in frames:
        cv2.imwrite(str(tmp_path / f"im{f.index + 1}.png"), f.image)
    written = {}
    for mode in MODES:
        out = tmp_path / f"{mode}.csv"
        sink = CsvSink(out)
        process_source(str(tmp_path), FakeCascade(gt, conf=0.15), [sink], smooth=mode)
        sink.close()
        written[mode] = np.stack([d["joints"] for d in read_pose_csv(out).values()])
    assert np.isfinite(written["none"]).all()
    for mode in MODES:
        np.testing.assert_array_equal(written[mode], written["none"], err_msg=mode)


def test_a_frame_of_another_size_is_a_first_sight():
    """A stream that changes its resolution: the track's boxes are in the old picture's pixels."""
    import cv2
    frames, gt = _clip(seed=1, n=8)
    tracker = Tracker(FakeCascade(gt), finder=None)
    results = [tracker.step(f) for f in frames[:4]]
    assert results[0].reacquired and not any(r.reacquired for r in results[1:])
    bigger = Frame(4, 4 / 30.0, cv2.resize(frames[4].image, (2 * W, 2 * H)), "clip")
    assert tracker.step(bigger).reacquired
    assert not tracker.step(Frame(5, 5 / 30.0, cv2.resize(frames[5].image, (2 * W, 2 * H)), "clip")).reacquired


class _Looks:
    """A stand-in for tracker.appearance.Appearance that says whether every candidate looks like the tracked one."""

    def __init__(self, same: bool):
        self.same, self.asked = same, 0

    def saw_cut(self, image):
        return False

    def learn(self, image, joints):
        pass

    def forget(self):
        pass

    def same_person(self, image, joints):
        self.asked += 1
        return self.same


@pytest.mark.parametrize("same", [False, True])
def test_soon_after_a_loss_the_whole_frame_is_taken_only_for_the_same_looking_person(same):
    from pose_track.tracker.proposer import NEAR_FOR

    frames, gt = _clip(seed=2, n=NEAR_FOR + 7)
    cascade = FakeCascade(gt, fail_frames={4})          # frame 4: garbage at low confidence, the track is lost
    nears = []

    def finder(image, near=None):
        nears.append(near)
        return None

    looks = _Looks(same)
    tracker = Tracker(cascade, finder=finder, refine_reacquire=False, appearance=looks)
    results = [tracker.step(f) for f in frames]
    assert results[0].box == (31.5, 23.5, 64.0, 0.0) and results[0].lost is None and nears[0] is None
    assert results[4].lost is not None
    assert nears[1] is not None and looks.asked >= 1     # the finder looked around the last box first
    if same:                                             # a whip pan moved the person: taken from the whole frame
        assert np.isfinite(results[5].raw).all() and results[5].reacquired
    else:                                                # another person: nobody while the finder keeps looking
        after = results[5:5 + NEAR_FOR - 1]
        assert all(np.isnan(r.raw).all() and r.lost == "no person" for r in after)
        assert all(n is not None for n in nears[1:NEAR_FOR])
        assert np.isfinite(results[-1].raw).any()         # then the whole frame backs the finder up again


def test_stills_are_not_smoothed():
    frames, gt = _clip(seed=2, n=3)
    tracker = Tracker(FakeCascade(gt, conf=0.1), track=False, finder=None)     # below the smoother's threshold
    r = tracker.step(frames[0])
    np.testing.assert_array_equal(r.smoothed, r.raw)


def test_benchmark_on_a_tiny_clip(tmp_path):
    from pose_track.benchmarks.tracking import benchmark_clips
    img, joints = synthetic_person(W, H, 5)
    rows, means = benchmark_clips(lambda info: FakeCascade(info.joints, noise=0.02), [(img, joints)], tmp_path,
                                  n_frames=40, finder=None)
    assert len(rows) == 1 and rows[0]["frames"] == 40
    assert means["pck_tracking"] > 0.9 and means["pck_tracking"] >= means["pck_single"] - 0.05
    assert means["accel_reduction_kalman"] > 0.5 and means["accel_reduction_rts"] > means["accel_reduction_kalman"]
    assert means["lag_kalman"] <= 1.0 and np.isfinite(means["tracking_fps"])


def test_a_cut_makes_the_next_frame_a_first_sight():
    frames, gt = _clip(seed=3, n=8)
    nears = []

    def finder(image, near=None):
        nears.append(near)
        return None

    class CutAtFive(_Looks):
        def __init__(self):
            super().__init__(same=True)
            self.frame = -1

        def saw_cut(self, image):
            self.frame += 1
            return self.frame == 5

    tracker = Tracker(FakeCascade(gt), finder=finder, refine_reacquire=False, appearance=CutAtFive())
    results = [tracker.step(f) for f in frames]
    assert [r.reacquired for r in results] == [True, False, False, False, False, True, False, False]
    assert nears == [None, None]                          # anywhere in the picture, not around the last box


def test_the_tracker_prepares_every_batch_size_it_uses_before_the_first_frame():
    """A backend that prepares per input shape (torch on CUDA: seconds) does it at the tracker's start."""
    from pose_track.engines.backends import load_cascade

    cascade = load_cascade(None)        # the shipped video bundle: a person head, so a finder of 3 windows a call
    seen = []
    run = cascade.backend.run
    cascade.backend.run = lambda stage, batch: seen.append((stage, len(batch))) or run(stage, batch)
    tracker = Tracker(PoseEstimator(cascade=cascade))
    assert sorted(set(seen)) == [(0, 1), (0, 3), (1, 14)]
    seen.clear()
    pytest.importorskip("skimage")
    import cv2

    from pose_track.commands.demo import sample_photo_path

    photo = cv2.imread(sample_photo_path())
    results = [tracker(photo, i / 30.0) for i in range(4)]
    assert all(np.isfinite(r.raw).any() for r in results)       # a person followed: looks and the refiner ran
    assert (0, 1) in seen and (1, 14) in seen and set(seen) <= {(0, 1), (0, 3), (1, 14)}


class _PersonFrom(FakeCascade):
    """Nobody (presence 0) before frame `start`, the person after; frames are told apart by their pixels
    through a table, so that frames the tracker never shows the cascade do not shift the count."""

    def __init__(self, gt, frames, start):
        super().__init__(gt)
        self.index = {f.image.tobytes(): f.index for f in frames}
        self.start = start
        self.looked = []

    def _frame_of(self, image):
        return self.index[np.ascontiguousarray(image).tobytes()]

    def predict(self, image_bgr, boxes):
        res = super().predict(image_bgr, boxes)
        f = self._frame_of(image_bgr)
        self.looked.append(f)
        res.presence = np.full(len(res.joints), 1.0 if f >= self.start else 0.0, np.float32)
        return res


@pytest.mark.parametrize("cut_at", [None, 16])
def test_a_long_search_looks_on_one_frame_in_three_and_finds_a_person_walking_in(cut_at):
    frames, gt = _clip(seed=3, n=40)
    cascade = _PersonFrom(gt, frames, start=25)
    looks = _Looks(True)
    looks.saw_cut = lambda image: cut_at is not None and cascade.index[image.tobytes()] == cut_at
    tracker = Tracker(cascade, finder=None, refine_reacquire=False, appearance=looks, search_every=3,
                      search_every_after=10)
    results = [tracker.step(f) for f in frames]
    looked = sorted(set(cascade.looked))
    assert all(np.isnan(r.raw).all() for r in results[:25])
    assert looked[:10] == list(range(10))                  # the first frames with nobody: a look on each
    if cut_at is None:
        assert [f for f in looked if 10 <= f < 25] == [12, 15, 18, 21, 24]
    else:                                                   # a shot change looks at once, then every frame again
        assert [f for f in looked if 10 <= f < 25] == [12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]
    skipped = [r for r in results[:25] if r.index not in looked]
    assert skipped and all("not looked" in r.lost for r in skipped)
    first = next(r.index for r in results if np.isfinite(r.raw).any())
    assert 25 <= first <= 27 and all(np.isfinite(r.raw).all() for r in results[first:])


def test_searching_on_every_frame_when_asked():
    frames, gt = _clip(seed=3, n=30)
    cascade = _PersonFrom(gt, frames, start=25)
    tracker = Tracker(cascade, finder=None, refine_reacquire=False, search_every=1, search_every_after=0)
    results = [tracker.step(f) for f in frames]
    assert sorted(set(cascade.looked)) == list(range(30)) and np.isfinite(results[25].raw).all()
    with pytest.raises(ValueError):
        Tracker(cascade, finder=None, search_every=0)


def test_only_a_track_that_held_a_few_frames_holds_the_search_near_its_last_place():
    from pose_track.engines.estimator import Pose
    from pose_track.tracker.proposer import NEAR_AFTER

    def person(k):
        joints = np.tile(np.array([[20.0 + k, 20.0]], np.float32), (14, 1)) + np.arange(28, dtype=np.float32).reshape(14, 2)
        return Pose(joints, np.full(14, 0.9, np.float32), np.ones(14, bool), 0.95, True, (30.0 + k, 30.0, 40.0, 0.0))

    nobody = Pose.nobody((32.0, 24.0, 64.0))
    for held in (NEAR_AFTER - 1, NEAR_AFTER):
        proposer = BoxProposer(finder=None)
        for k in range(held):
            proposer.observe(person(k), k / 30.0)
        proposer.observe(nobody, held / 30.0)
        if held < NEAR_AFTER:           # maybe a wrong first pose: the next search looks everywhere
            assert proposer.near() is None
        else:
            assert proposer.near() == person(held - 1).box
    rejected = BoxProposer(finder=None)             # found, but each answer failed the loss checks
    for k in range(2 * NEAR_AFTER):
        rejected.observe(person(k), k / 30.0, tracked=False)
    rejected.observe(nobody, 1.0)
    assert rejected.near() is None


def test_a_person_found_again_near_the_last_place_keeps_the_search_near_when_lost_again_at_once():
    from pose_track.engines.estimator import Pose
    from pose_track.tracker.proposer import NEAR_AFTER

    def person(k):
        joints = np.tile(np.array([[20.0 + k, 20.0]], np.float32), (14, 1)) + np.arange(28, dtype=np.float32).reshape(14, 2)
        return Pose(joints, np.full(14, 0.9, np.float32), np.ones(14, bool), 0.95, True, (30.0 + k, 30.0, 40.0, 0.0))

    nobody = Pose.nobody((32.0, 24.0, 64.0))
    proposer = BoxProposer(finder=None)
    for k in range(NEAR_AFTER):                     # a track that held
        proposer.observe(person(k), k / 30.0)
    for k in range(NEAR_AFTER, NEAR_AFTER + 5):     # lost for a while: the search stays near it
        proposer.observe(nobody, k / 30.0)
    proposer.observe(person(9), 0.5)                # found again near (one frame), and lost again
    proposer.observe(nobody, 0.6)
    assert proposer.near() == person(9).box
    elsewhere = BoxProposer(finder=None)            # found far from the last place: another person, a new track
    for k in range(NEAR_AFTER):
        elsewhere.observe(person(k), k / 30.0)
    elsewhere.observe(nobody, 0.2)
    elsewhere.observe(person(200), 0.5)
    elsewhere.observe(nobody, 0.6)
    assert elsewhere.near() is None
    fresh = BoxProposer(finder=None)                # a first find that is lost at once still holds nothing
    fresh.observe(person(0), 0.0)
    fresh.observe(nobody, 0.1)
    assert fresh.near() is None


def test_a_body_framed_from_the_chest_up_gets_the_chest_up_box_except_on_a_second_look():
    from pose_track.engines.geometry import CHEST_UP_BOX_SCALE, CUT_BODY_BOX_SCALE
    from pose_track.engines.joints import J

    joints = np.zeros((14, 2), np.float32)
    upper = [J[k] for k in ("head_top", "neck", "r_shoulder", "l_shoulder", "r_elbow", "l_elbow")]
    joints[upper] = [(100, 40), (100, 60), (80, 70), (120, 70), (75, 100), (125, 100)]   # extent 60 px
    valid = np.zeros(14, bool)
    valid[upper] = True
    proposer = BoxProposer(None)
    assert proposer.box_around(joints, valid, 1000, 1000)[2] == pytest.approx(60 * CHEST_UP_BOX_SCALE)
    assert proposer.box_around(joints, valid, 1000, 1000, chest_up=False)[2] == pytest.approx(60 * CUT_BODY_BOX_SCALE)
    valid[J["r_hip"]] = True                                  # a hip in the picture: a waist-up body
    joints[J["r_hip"]] = (90, 100)
    assert proposer.box_around(joints, valid, 1000, 1000)[2] == pytest.approx(60 * CUT_BODY_BOX_SCALE)
