"""engines.recrop: further passes on the box around the answer, stopping once the box settles."""
import numpy as np
import pytest

from pose_track.engines.geometry import box_from_joints, whole_image_box
from pose_track.engines.recrop import box_change, predict_recropped, recrop
from fakes import FakeCascade
from pose_track.tracker.clipmaker import synthetic_person


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
        result, box, used = predict_recropped(cascade, image, whole_image_box(h, w), max_passes=passes)
        assert used == cascade.calls == passes
        errors.append(np.linalg.norm(result.joints[0] - gt[0], axis=1).mean())
    assert box[2] < 0.5 * w                        # the final crop is around the person, not the frame
    assert errors[1] < 0.5 * errors[0]


def test_stops_when_the_box_settles():
    target = np.array([[50.0, 40.0], [70.0, 90.0]])
    calls = []

    def run(box):
        calls.append(box)
        return target, len(calls)

    settled = box_from_joints(target, 1.3)
    payload, box, passes = recrop(run, settled, max_passes=3)
    assert passes == 1 and payload == 1 and box == pytest.approx(settled)
    calls.clear()
    payload, box, passes = recrop(run, (60.0, 65.0, 400.0), max_passes=3)
    assert passes == 2 and box == pytest.approx(settled)    # one move, then it is where it wants to be


def test_non_finite_answer_stops_the_passes():
    def run(box):
        return np.full((14, 2), np.nan), "nan"
    assert recrop(run, (0.0, 0.0, 10.0))[2] == 1


def test_padded_image_keeps_the_original_at_its_offset():
    from pose_track.training.evaluate import pad_image
    image = np.random.default_rng(0).integers(0, 255, (30, 20, 3), dtype=np.uint8)
    canvas, offset = pad_image(image, 2.0)
    assert canvas.shape == (60, 40, 3) and tuple(offset) == (10.0, 15.0)
    x, y = int(offset[0]), int(offset[1])
    np.testing.assert_array_equal(canvas[y:y + 30, x:x + 20], image)
    assert canvas[:y].max() == 0 and canvas[:, :x].max() == 0
