import numpy as np

from pose_track.training.label_cleaning import FLIP, apply_fixes, find_label_errors

from conftest import STANDING


def _labels(n):
    return np.repeat(STANDING[None], n, 0).copy(), np.ones((n, 14), bool)


def test_an_image_labelled_with_left_and_right_exchanged_is_swapped_back():
    joints, valid = _labels(3)
    pred = joints.copy()
    joints[1] = joints[1][FLIP]                  # image 1: the crowd worker swapped the sides
    joints[2] = joints[2][FLIP]                  # image 2: the same, but from the authors (not a candidate)
    swapped, dropped = find_label_errors(pred, joints, valid, [True, True, False], max_error=0.75)
    assert list(swapped) == [False, True, False]
    assert not dropped[:2].any()
    fixed, fixed_valid = apply_fixes(joints, valid, swapped, dropped)
    np.testing.assert_array_equal(fixed[1], pred[1])
    np.testing.assert_array_equal(fixed[2], joints[2])


def test_a_joint_placed_far_off_leaves_the_loss_and_a_small_error_stays():
    joints, valid = _labels(2)
    pred = joints.copy()
    diam = 40.0                                  # roughly STANDING's torso diameter in pixels
    joints[0, 6] += [diam, 0]                    # r_wrist one torso diameter off: dropped
    joints[0, 0] += [0.3 * diam, 0]              # r_ankle a third off: a plausible labelling difference, kept
    joints[1, 6] += [diam, 0]                    # the same error on an author-labelled image: kept
    valid[0, 11] = False                         # an invisible joint stays invisible
    swapped, dropped = find_label_errors(pred, joints, valid, [True, False], max_error=0.75)
    assert not swapped.any()
    assert np.argwhere(dropped).tolist() == [[0, 6]]
    _, fixed_valid = apply_fixes(joints, valid, swapped, dropped)
    assert not fixed_valid[0, 6] and not fixed_valid[0, 11] and fixed_valid.sum() == 28 - 2


def test_swap_then_drop_are_judged_on_the_swapped_labels():
    joints, valid = _labels(1)
    pred = joints.copy()
    joints[0] = joints[0][FLIP]
    joints[0, 8] += [60, 0]                      # labelled r_shoulder: the l_shoulder once swapped back, far off
    swapped, dropped = find_label_errors(pred, joints, valid, [True], max_error=0.75)
    assert swapped[0] and np.argwhere(dropped).tolist() == [[0, 9]]


def test_an_invisible_torso_joint_with_junk_coordinates_does_not_make_everything_agree():
    # LSP-extended: a joint flagged invisible may hold junk such as (-1, -1); after exchanging the sides it
    # must not enter the torso diameter (a huge diameter would make any labelling agree with any answer).
    joints, valid = _labels(1)
    pred = joints + [0.0, 15.0]                  # every answer 0.3 torso diameters off: no joint agrees
    joints[0, 3] = [-1000, -1000]; valid[0, 3] = False     # l_hip invisible, junk
    swapped, dropped = find_label_errors(pred, joints, valid, [True], max_error=0.75)
    assert not swapped.any() and not dropped.any()


def test_an_image_left_with_too_few_joints_leaves_the_loss_whole():
    joints, valid = _labels(2)
    valid[1, :8] = False                         # fewer than 7 labelled from the start: kept as it is
    dropped = np.zeros_like(valid)
    dropped[0, :8] = True                        # 6 left after cleaning: the image goes
    _, fixed_valid = apply_fixes(joints, valid, np.zeros(2, bool), dropped)
    assert not fixed_valid[0].any()
    assert fixed_valid[1].sum() == 6
