"""The camera's motion between frames (tracker.camera_motion) and the seeded box that follows it."""
import cv2
import numpy as np

from fakes import FakeCascade
from pose_track.tracker.camera_motion import CameraMotion
from pose_track.tracker.capture import Frame
from pose_track.tracker.loop import Tracker
from pose_track.tracker.proposer import BoxProposer
from pose_track.tracker.smoothing import make_smoother

W, H = 320, 240


def _world(seed=0, width=900, height=H + 20):
    """A textured scene wider than the frame: the camera pans across it."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2.0)


def test_the_shift_of_a_panned_picture_is_measured():
    world = _world()
    motion = CameraMotion()
    assert np.array_equal(motion.shift(world[:H, 100:100 + W]), [0, 0])       # nothing to compare with yet
    shift = motion.shift(world[:H, 80:80 + W])         # the camera moved 20 px left: the picture moves right
    assert np.allclose(shift, [20, 0], atol=1.0)
    shift = motion.shift(world[10:10 + H, 120:120 + W])     # 40 px right and 10 down: the picture moves back
    assert np.allclose(shift, [-40, -10], atol=1.5)


def test_a_strip_far_higher_than_wide_is_shrunk_not_stretched():
    """A 60 x 3000 strip: its small frame is at most SMALL_MAX_HEIGHT high (160 across would make it 8,000), and
    a pan along it is still measured."""
    from pose_track.tracker.camera_motion import SMALL_MAX_HEIGHT

    world = _world(width=60, height=3100)
    motion = CameraMotion()
    assert motion.small(world[:3000]).shape[0] <= SMALL_MAX_HEIGHT
    motion.shift(world[50:3050])
    assert np.allclose(motion.shift(world[30:3030]), [0, 20], atol=3.0)   # the camera moved 20 px up


def test_after_a_reset_or_another_frame_size_there_is_no_shift():
    world = _world()
    motion = CameraMotion()
    motion.shift(world[:H, :W])
    motion.reset()
    assert np.array_equal(motion.shift(world[:H, 30:30 + W]), [0, 0])
    assert np.array_equal(motion.shift(world[:200, 60:60 + 200]), [0, 0])
    half = cv2.resize(world[:H, 60:60 + W], (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    assert np.array_equal(motion.shift(half), [0, 0])             # the same shape at another size


def test_a_flat_frame_measures_no_shift():
    world = _world(0)
    motion = CameraMotion()
    motion.shift(world[:H, :W])
    assert np.array_equal(motion.shift(np.zeros((H, W, 3), np.uint8)), [0, 0])      # a black frame
    assert np.array_equal(motion.shift(np.zeros((H, W, 3), np.uint8)), [0, 0])      # and another: no peak
    assert np.array_equal(motion.shift(world[:H, 10:10 + W]), [0, 0])               # back from black


def _whip_pan(n_before=10, n_pan=5, step=36, n_after=8):
    """Frames of a still person filmed by a camera that stands, whips right by `step` px a frame, and stands."""
    world = _world(1)
    person = np.array([[x, y] for x, y in [(440, 60), (440, 80), (420, 90), (460, 90), (410, 120), (470, 120),
                                           (405, 150), (475, 150), (428, 150), (452, 150), (425, 185),
                                           (455, 185), (425, 220), (455, 220)]], np.float32)
    for x, y in person.astype(int):
        cv2.circle(world, (int(x), int(y)), 4, (255, 255, 255), -1)
    offsets = [200] * n_before + [200 + step * (k + 1) for k in range(n_pan)] + [200 + step * n_pan] * n_after
    frames = [Frame(i, i / 30.0, np.ascontiguousarray(world[:H, x:x + W]), "pan") for i, x in enumerate(offsets)]
    for i, frame in enumerate(frames):
        frame.image[0, 0] = i       # the fake cascade tells frames apart by their pixels
    gt = np.stack([person - [x, 0] for x in offsets])
    return frames, gt, n_before, n_pan


class _NoMotion(CameraMotion):
    def shift(self, image_bgr):         # as if the camera had not moved: the filters alone
        return np.zeros(2)


def _track(frames, gt, follow: bool, noise: float = 0.0):
    """(box centre error, mean raw joint error, mean smoothed joint error) per frame, in box sides."""
    tracker = Tracker(FakeCascade(gt, noise=noise), smoother=make_smoother("kalman"), finder=None,
                      refine_reacquire=False, proposer=BoxProposer(finder=None))
    if not follow:
        tracker.camera = _NoMotion()
    results = [tracker.step(f) for f in frames]
    sides = np.array([r.box[2] for r in results])
    box = np.array([np.hypot(*(np.array(r.box[:2]) - c)) for r, c in zip(results, gt.mean(1))]) / sides
    raw, smoothed = (np.array([np.linalg.norm(getattr(r, which) - g, axis=1).mean() for r, g in zip(results, gt)])
                     / sides for which in ("raw", "smoothed"))
    return box, raw, smoothed


def test_the_seeded_box_keeps_up_with_a_whip_pan():
    frames, gt, start, length = _whip_pan()
    pan = slice(start, start + length + 3)              # the pan and the frames after it stops
    assert _track(frames, gt, follow=True)[0][pan].max() < 0.05        # on the person, in box sides
    assert _track(frames, gt, follow=False)[0][pan].max() > 0.15       # the filter alone falls behind, overshoots


def test_the_smoothed_joints_keep_up_with_a_whip_pan():
    frames, gt, start, length = _whip_pan()
    pan = slice(start, start + length + 3)
    _, raw, smoothed = _track(frames, gt, follow=True, noise=0.02)
    _, raw_alone, smoothed_alone = _track(frames, gt, follow=False, noise=0.02)
    assert smoothed[pan].mean() < 0.8 * raw[pan].mean()        # smoothing still takes noise out during the pan
    assert smoothed_alone[pan].mean() > 0.95 * raw_alone[pan].mean()    # the filter alone lags as much
