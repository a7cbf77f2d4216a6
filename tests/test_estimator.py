"""engines.estimator: the Pose as users get it, and further passes on the box around the answer, stopping once
the box settles."""
import os

import numpy as np
import pytest

from pose_track.engines.geometry import box_from_joints
from pose_track.engines.cascade import CascadeResult
from pose_track.engines.estimator import PoseEstimator, box_change
from conftest import SHARED_DATA
from fakes import FakeCascade
from pose_track.benchmarks.clipmaker import synthetic_person


def test_box_change_is_relative():
    assert box_change((10, 10, 100), (10, 10, 100)) == 0.0
    assert box_change((10, 10, 100), (20, 10, 100)) == pytest.approx(0.1)
    assert box_change((10, 10, 100), (10, 10, 50)) == pytest.approx(np.log(2))
    assert box_change((0, 0, 50), (0, 0, 100)) == pytest.approx(np.log(2))


def test_small_person_is_found_closer_and_more_precisely():
    # A regressor whose error grows with the box side: a whole-frame box is the worst crop for a small person.
    w, h = 400, 300
    _, joints = synthetic_person(64, 96, seed=1)
    gt = (joints + [200, 120]).astype(np.float32)[None]
    image = np.zeros((h, w, 3), np.uint8)
    errors = []
    for passes in (1, 3):
        cascade = FakeCascade(gt, noise=0.02, seed=0)
        pose = PoseEstimator(cascade=cascade, max_passes=passes)(image)
        assert pose.passes == cascade.calls == passes
        errors.append(np.linalg.norm(pose.joints - gt[0], axis=1).mean())
    assert pose.box[2] < 0.5 * w                        # the final crop is around the person, not the frame
    assert errors[1] < 0.5 * errors[0]


class Answers:
    """A cascade that always answers the same joints (presence and in-picture optional), counting its calls."""

    def __init__(self, joints, presence=None, inside=None):
        self.joints, self.presence, self.inside = np.asarray(joints, np.float32), presence, inside
        self.boxes = []

    def predict(self, image, boxes):
        self.boxes.append(tuple(np.asarray(boxes, np.float32).reshape(-1)))
        j = self.joints[None]
        presence = None if self.presence is None else np.array([self.presence(len(self.boxes))], np.float32)
        inside = self.inside(len(self.boxes)) if callable(self.inside) else self.inside
        in_picture = None if inside is None else np.asarray(inside, bool)[None]
        return CascadeResult(j, np.full(j.shape[:2], 0.8, np.float32), [j, j], presence=presence,
                             in_picture=in_picture)


def test_stops_when_the_box_settles():
    target = np.tile([[50.0, 40.0], [70.0, 90.0]], (7, 1))
    settled = box_from_joints(target, 1.3)
    cascade = Answers(target)
    pose = PoseEstimator(cascade=cascade)(np.zeros((100, 120, 3), np.uint8), box=settled)
    assert pose.passes == 1 and pose.box[:3] == pytest.approx(settled)
    cascade = Answers(target)
    pose = PoseEstimator(cascade=cascade)(np.zeros((100, 120, 3), np.uint8), box=(60.0, 65.0, 400.0))
    assert pose.passes == 2 and pose.box[:3] == pytest.approx(settled)    # one move, then it is where it wants


def test_nobody_placed_stops_the_passes():
    cascade = Answers(np.zeros((14, 2)), inside=np.zeros(14, bool))
    pose = PoseEstimator(cascade=cascade)(np.zeros((10, 10, 3), np.uint8))
    assert pose.passes == 1 and np.isnan(pose.joints).all() and (pose.confidence == 0).all()


def test_a_person_only_the_closer_look_finds_must_be_clearly_there():
    joints = np.tile([[50.0, 40.0], [70.0, 90.0]], (7, 1))
    image = np.zeros((400, 400, 3), np.uint8)
    for second, found in ((0.8, False), (0.95, True)):        # the model's second-look threshold is 0.9
        cascade = Answers(joints, presence=lambda call: 0.2 if call == 1 else second)
        pose = PoseEstimator(cascade=cascade)(image)
        assert pose.passes >= 2 and pose.found == found
        assert np.isfinite(pose.joints).all() == found and all(np.isfinite(s).all() == found for s in pose.stages)
    cascade = Answers(joints, presence=lambda call: 0.6)       # found at the first look: the plain threshold
    assert PoseEstimator(cascade=cascade)(image).found


def test_joints_out_of_the_picture_are_empty_with_zero_confidence():
    inside = np.ones(14, bool)
    inside[:2] = False
    pose = PoseEstimator(cascade=Answers(np.full((14, 2), 5.0), presence=lambda c: 0.9, inside=inside),
                         max_passes=1)(np.zeros((10, 10, 3), np.uint8))
    assert np.isnan(pose.joints[:2]).all() and (pose.confidence[:2] == 0).all()
    assert np.isfinite(pose.joints[2:]).all() and pose.presence == pytest.approx(0.9)
    assert pose.box == (4.5, 4.5, 10.0, 0.0)


def test_padded_image_keeps_the_original_at_its_offset():
    from pose_track.training.evaluate import pad_image
    image = np.random.default_rng(0).integers(0, 255, (30, 20, 3), dtype=np.uint8)
    canvas, offset = pad_image(image, 2.0)
    assert canvas.shape == (60, 40, 3) and tuple(offset) == (10.0, 15.0)
    x, y = int(offset[0]), int(offset[1])
    np.testing.assert_array_equal(canvas[y:y + 30, x:x + 20], image)
    assert canvas[:y].max() == 0 and canvas[:, :x].max() == 0


def test_the_closer_box_is_wider_around_a_body_cut_by_the_picture():
    _, joints = synthetic_person(64, 96, seed=2)
    joints = (joints + [150, 40]).astype(np.float32)
    whole = Answers(joints)
    PoseEstimator(cascade=whole)(np.zeros((300, 400, 3), np.uint8))
    assert whole.boxes[1][:3] == pytest.approx(box_from_joints(joints, 1.3), abs=1e-3)
    legs_out = np.ones(14, bool)
    legs_out[[0, 1, 4, 5]] = False                              # knees and ankles out of the picture
    cut = Answers(joints, inside=legs_out)
    PoseEstimator(cascade=cut)(np.zeros((300, 400, 3), np.uint8))
    kept = box_from_joints(joints, 1.85, valid=legs_out)
    assert cut.boxes[1][:3] == pytest.approx(kept, abs=1e-3)    # the kept joints' box, 1.85 times their extent
    assert kept[2] > 1.4 * box_from_joints(joints, 1.3, valid=legs_out)[2]


def _inside_but(*out):
    inside = np.ones(14, bool)
    inside[list(out)] = False
    return inside


def test_knees_a_tight_look_calls_out_of_the_picture_are_empty():
    # Looks 1 and 2 (the whole picture, then the wider closer box) place the knees inside and the ankles out; the
    # look tight around the joints in the picture calls the knees out too: they are reported empty.
    _, joints = synthetic_person(64, 96, seed=2)
    joints = (joints + [150, 40]).astype(np.float32)
    image = np.zeros((300, 400, 3), np.uint8)
    ankles_out, legs_out = _inside_but(0, 5), _inside_but(0, 1, 4, 5)
    cascade = Answers(joints, presence=lambda call: 0.9, inside=lambda call: ankles_out if call < 3 else legs_out)
    pose = PoseEstimator(cascade=cascade, max_passes=2)(image)
    assert len(cascade.boxes) == 3
    assert cascade.boxes[2][:3] == pytest.approx(box_from_joints(joints, 1.5, valid=ankles_out), abs=1e-3)
    assert np.isnan(pose.joints[[0, 1, 4, 5]]).all() and (pose.confidence[[0, 1, 4, 5]] == 0).all()
    assert not pose.in_picture[[1, 4]].any() and np.isnan(pose.stages[-1][[1, 4]]).all()
    np.testing.assert_array_equal(pose.joints[legs_out], joints[legs_out])


def test_the_tight_look_removes_only_legs_and_only_when_it_sees_the_person():
    _, joints = synthetic_person(64, 96, seed=2)
    joints = (joints + [150, 40]).astype(np.float32)
    image = np.zeros((300, 400, 3), np.uint8)
    ankles_out = _inside_but(0, 5)
    wrists_out = _inside_but(0, 5, 6, 11)                      # the tight look also cuts the wrists off
    cascade = Answers(joints, presence=lambda call: 0.9, inside=lambda call: ankles_out if call < 3 else wrists_out)
    pose = PoseEstimator(cascade=cascade, max_passes=2)(image)
    assert np.isfinite(pose.joints[[6, 11, 1, 4]]).all()       # only knees and ankles take its word
    nobody = Answers(joints, presence=lambda call: 0.9 if call < 3 else 0.1,
                     inside=lambda call: ankles_out if call < 3 else _inside_but(0, 1, 4, 5))
    assert np.isfinite(PoseEstimator(cascade=nobody, max_passes=2)(image).joints[[1, 4]]).all()
    whole = Answers(joints, presence=lambda call: 0.9)         # every joint in the picture: no extra look
    PoseEstimator(cascade=whole, max_passes=2)(image)
    assert len(whole.boxes) == 2


def test_a_look_past_a_crop_that_cut_the_legs_inside_the_picture():
    _, joints = synthetic_person(64, 96, seed=2)
    joints = (joints + [150, 40]).astype(np.float32)
    image = np.zeros((300, 400, 3), np.uint8)
    legs_out = _inside_but(0, 1, 4, 5)
    # Every look but the one past the crop (the third) leaves the legs out: that look places them, and is kept.
    cascade = Answers(joints, presence=lambda call: 0.9, inside=lambda call: _inside_but() if call == 3 else legs_out)
    pose = PoseEstimator(cascade=cascade, max_passes=2, look_past_crop=True)(image)
    assert np.isfinite(pose.joints).all()
    side = cascade.boxes[1][2]
    assert cascade.boxes[2][2] == pytest.approx(2.2 * side) and cascade.boxes[2][1] > cascade.boxes[1][1]
    # The picture ends below the body: the legs are out of it, no look past the crop.
    cut = np.zeros((int(joints[[2, 3], 1].max()) + 8, 400, 3), np.uint8)
    cascade = Answers(joints, presence=lambda call: 0.9, inside=lambda call: legs_out)
    pose = PoseEstimator(cascade=cascade, max_passes=2, look_past_crop=True)(cut)
    assert len(cascade.boxes) == 3 and np.isnan(pose.joints[[0, 1, 4, 5]]).all()
    cascade = Answers(joints, presence=lambda call: 0.9, inside=lambda call: legs_out)
    PoseEstimator(cascade=cascade, max_passes=2)(image)             # the tracker's estimator: no look past
    assert len(cascade.boxes) == 3


def test_a_still_picture_read_as_nobody_is_searched_window_by_window():
    _, joints = synthetic_person(64, 96, seed=2)
    image = np.zeros((300, 400, 3), np.uint8)
    boxes = []

    def search(picture):
        boxes.append(picture.shape)
        return (182.0, 88.0, 120.0)

    nobody_on_the_whole = Answers(joints, presence=lambda call: 0.1 if call == 1 else 0.95)
    pose = PoseEstimator(cascade=nobody_on_the_whole, max_passes=1, search=search)(image)
    assert boxes == [image.shape] and pose.found and nobody_on_the_whole.boxes[1][:3] == (182.0, 88.0, 120.0)
    nobody = Answers(joints, presence=lambda call: 0.1)
    assert not PoseEstimator(cascade=nobody, max_passes=1, search=search)(image).found
    found = Answers(joints, presence=lambda call: 0.9)
    PoseEstimator(cascade=found, max_passes=1, search=search)(image)
    assert len(boxes) == 2                                        # a person found on the whole picture: no search


def test_a_chest_up_body_gets_the_chest_up_box_and_its_hips_a_second_opinion():
    # Look 1 (the whole picture) places head, shoulders and arms and calls hips and legs out: look 2 runs on the
    # chest-up box around them; it places the hips inside, but the tight look (3) calls them out: empty. A body
    # whose first look placed the hips (waist-up) keeps them whatever the tight look says.
    from pose_track.engines.geometry import CHEST_UP_BOX_SCALE

    _, joints = synthetic_person(64, 96, seed=2)
    joints = (joints + [150, 40]).astype(np.float32)
    image = np.zeros((300, 400, 3), np.uint8)
    chest_up, waist_up = _inside_but(0, 1, 2, 3, 4, 5), _inside_but(0, 1, 4, 5)
    looks = {1: chest_up, 2: waist_up}
    cascade = Answers(joints, presence=lambda call: 0.9, inside=lambda call: looks.get(call, chest_up))
    pose = PoseEstimator(cascade=cascade, max_passes=2)(image)
    assert cascade.boxes[1][:3] == pytest.approx(box_from_joints(joints, CHEST_UP_BOX_SCALE, valid=chest_up), abs=1e-3)
    assert len(cascade.boxes) == 3 and np.isnan(pose.joints[[2, 3]]).all() and not pose.in_picture[[2, 3]].any()
    waist = Answers(joints, presence=lambda call: 0.9, inside=lambda call: waist_up if call < 3 else chest_up)
    pose = PoseEstimator(cascade=waist, max_passes=2)(image)
    assert len(waist.boxes) == 3 and np.isfinite(pose.joints[[2, 3]]).all()


def test_grey_four_channel_16_bit_and_float_pictures_are_read_as_colour_ones():
    """The Python API takes what OpenCV and scikit-image read: a grey picture, one with an alpha channel, 16-bit or
    floating-point pixels."""
    import cv2
    from pose_track.commands.demo import sample_photo_path
    from pose_track.tracker.loop import Tracker

    pytest.importorskip("skimage")
    photo = cv2.imread(sample_photo_path())
    estimator = PoseEstimator(stills=False)
    colour = estimator(photo)
    with_alpha = estimator(cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA))
    assert colour.found and np.array_equal(with_alpha.joints, colour.joints, equal_nan=True)
    for other in (photo.astype(np.uint16) * 257, photo.astype(np.float32) / 255, photo.astype(np.float64)):
        assert np.array_equal(estimator(other).joints, colour.joints, equal_nan=True), other.dtype
    with pytest.raises(ValueError, match="int32 pixels"):
        estimator(photo.astype(np.int32))
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    for picture in (grey, grey[..., None]):
        pose = estimator(picture)
        upper = [8, 9, 12, 13]          # shoulders, neck, head: what the model places on this portrait
        assert pose.found and np.linalg.norm(pose.joints[upper] - colour.joints[upper], axis=1).max() < 0.1 * 512
        result = Tracker(estimator)(picture, 0.0)
        assert result.lost is None and np.isfinite(result.raw).all(1).sum() >= 8


def test_an_rgb_picture_gets_the_answer_of_its_bgr_copy_also_where_the_whole_picture_is_searched():
    """A small person in a large picture: the whole picture reads as nobody and the finder's windows search it."""
    import cv2
    from pose_track.commands.model import load_estimator

    photo = cv2.imread(os.path.join(SHARED_DATA, "real", "messi5.jpg"))
    if photo is None:
        pytest.skip("../shared/data/real/messi5.jpg is not here")
    canvas = np.full((1500, 1500, 3), 90, np.uint8)
    canvas[100:100 + photo.shape[0], 900:900 + photo.shape[1]] = photo
    estimator = load_estimator(stills=True)
    bgr = estimator(canvas)
    rgb = estimator(np.ascontiguousarray(canvas[..., ::-1]), rgb=True)
    assert bgr.found and np.array_equal(rgb.joints, bgr.joints, equal_nan=True)
