"""engines.estimator: the Pose as users get it, and further passes on the box around the answer, stopping once
the box settles."""
import numpy as np
import pytest

from pose_track.engines.geometry import box_from_joints
from pose_track.engines.cascade import CascadeResult
from pose_track.engines.estimator import PoseEstimator, box_change
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
        in_picture = None if self.inside is None else np.asarray(self.inside, bool)[None]
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
