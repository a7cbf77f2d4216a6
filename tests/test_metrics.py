import math

import numpy as np
import pytest

from pose_track.engines.joints import J, JOINT_NAMES, LIMBS
from pose_track.training.metrics import PAPER_LSP, evaluate, format_report, pck, pcp, pdj_per_joint

# Box-like pose: shoulders 60 px apart, hips 80 px below them, so both shoulder-opposite-hip diagonals
# are 100 px (torso diameter 100, PCK@0.2 radius 20 px). Arms and legs are segments of 40 and 50 px.
POSE = {
    "r_shoulder": (0, 0), "l_shoulder": (60, 0), "r_hip": (0, 80), "l_hip": (60, 80),
    "neck": (30, 0), "head_top": (30, -30),
    "r_elbow": (-40, 0), "r_wrist": (-80, 0), "l_elbow": (100, 0), "l_wrist": (140, 0),
    "r_knee": (0, 130), "r_ankle": (0, 180), "l_knee": (60, 130), "l_ankle": (60, 180),
}


def gt_poses(n=1):
    one = np.array([POSE[name] for name in JOINT_NAMES], np.float64)
    return np.repeat(one[None], n, axis=0)


def test_perfect_prediction_scores_one_everywhere():
    gt = gt_poses(3)
    res = evaluate(gt.copy(), gt)
    assert res["pck"] == 1.0
    assert np.all(res["pdj"] == 1.0)
    for kind in ("strict", "loose"):
        assert all(v == 1.0 for v in res["pcp"][kind].values())
        assert set(res["pcp"][kind]) == set(LIMBS)
    assert res["pcp"]["strict_avg"] == 1.0 and res["pcp"]["loose_avg"] == 1.0


def displaced():
    """Image 0: joints 0..4 moved 10 px (within 20), joints 5..8 moved 30 px (outside); image 1 exact."""
    gt = gt_poses(2)
    pred = gt.copy()
    pred[0, 0:5] += (6.0, 8.0)    # |(6, 8)| = 10
    pred[0, 5:9] += (0.0, -30.0)
    return pred, gt


def test_pck_and_pdj_with_known_displacements():
    pred, gt = displaced()
    assert pck(pred, gt) == pytest.approx(24 / 28)
    expected = np.ones(14)
    expected[5:9] = 0.5
    np.testing.assert_allclose(pdj_per_joint(pred, gt), expected)
    # At alpha 0.35 the radius is 35 px, so the 30 px errors count too.
    assert pck(pred, gt, alpha=0.35) == 1.0


def test_valid_mask_excludes_joints():
    pred, gt = displaced()
    valid = np.ones((2, 14), bool)
    valid[0, 5:9] = False
    assert pck(pred, gt, valid) == 1.0
    np.testing.assert_allclose(pdj_per_joint(pred, gt, valid), np.ones(14))
    valid[:, 5] = False
    pdj = pdj_per_joint(pred, gt, valid)
    assert math.isnan(pdj[5]) and np.all(pdj[np.arange(14) != 5] == 1.0)


def test_an_unlabelled_torso_joint_does_not_set_the_torso_size():
    """LSP-extended leaves a joint it did not label at a made-up place: the torso diameter comes from the
    diagonals whose ends are both labelled (here the other one, 100 px), as for a single pose."""
    from pose_track.engines.geometry import torso_diameter, torso_diameters

    gt = gt_poses(1)
    valid = np.ones((1, 14), bool)
    gt[0, J["l_hip"]] = (2000.0, 2000.0)          # unlabelled, far away
    valid[0, J["l_hip"]] = False
    assert torso_diameters(gt, valid)[0] == pytest.approx(100.0) == torso_diameter(gt[0], valid[0])
    pred = gt.copy()
    pred[0, 0:4] += (0.0, 30.0)                   # 0.3 torso diameters off: misses
    hits = ~np.isin(np.arange(14), [0, 1, 2, 3])
    assert pck(pred, gt, valid) == pytest.approx(hits[valid[0]].mean())
    assert pdj_per_joint(pred, gt, valid)[J["r_ankle"]] == 0.0
    no_torso = valid.copy()
    no_torso[0, [J["r_shoulder"], J["l_shoulder"]]] = False        # neither diagonal: the pose's extent / 2.5
    assert torso_diameters(gt, no_torso)[0] == pytest.approx(torso_diameter(gt[0], no_torso[0]))


def test_strict_and_loose_pcp_differ():
    gt = gt_poses(1)
    pred = gt.copy()
    # Right elbow off by 0.7 x 40 px; it ends both the right upper and lower arm, whose other ends are exact.
    pred[0, J["r_elbow"]] += (0.0, 28.0)
    res = pcp(pred, gt)
    assert res["strict"]["upper_arm"] == 0.5 and res["loose"]["upper_arm"] == 1.0
    assert res["strict"]["lower_arm"] == 0.5 and res["loose"]["lower_arm"] == 1.0
    assert res["strict"]["torso"] == 1.0 and res["strict"]["head"] == 1.0
    assert res["strict_avg"] == pytest.approx(0.75) and res["loose_avg"] == 1.0
    # Off by 1.2 x 40 px: the mean error 0.6 x 40 fails loose PCP too.
    pred[0, J["r_elbow"]] = gt[0, J["r_elbow"]] + (0.0, 48.0)
    res = pcp(pred, gt)
    assert res["loose"]["upper_arm"] == 0.5 and res["loose"]["lower_arm"] == 0.5


def test_pcp_valid_mask_and_empty_class():
    gt = gt_poses(1)
    pred = gt.copy()
    pred[0, J["r_elbow"]] += (0.0, 48.0)
    valid = np.ones((1, 14), bool)
    valid[0, J["r_elbow"]] = False
    valid[0, J["head_top"]] = False
    res = pcp(pred, gt, valid)
    assert res["strict"]["upper_arm"] == 1.0 and res["loose"]["lower_arm"] == 1.0
    assert math.isnan(res["strict"]["head"]) and math.isnan(res["loose"]["head"])
    assert res["strict_avg"] == 1.0


def test_format_report_has_stage_and_paper_columns():
    pred, gt = displaced()
    text = format_report([evaluate(pred, gt), evaluate(gt, gt)], JOINT_NAMES)
    header = text.splitlines()[0]
    assert "stage 1" in header and "stage 2" in header and "paper" in header
    assert f"{PAPER_LSP['loose_pcp']['avg']:.3f}" in text and "0.61" in text
    assert "0.857" in text  # PCK of stage 1: 24 / 28
    for name in JOINT_NAMES:
        assert name in text
    loose_avg = next(line for line in text.splitlines() if line.startswith("loose PCP@0.5 avg"))
    assert loose_avg.split()[-1] == "0.610"
    strict_avg = next(line for line in text.splitlines() if line.startswith("strict PCP@0.5 avg"))
    assert strict_avg.split()[-1] == "-"


def test_left_right_swap_is_counted_and_forgiven():
    from pose_track.engines.joints import FLIP_PERMUTATION
    from pose_track.training.metrics import left_right_swaps
    gt = gt_poses(4)
    pred = gt.copy()
    pred[0] = gt[0][list(FLIP_PERMUTATION)]        # image 0: every left joint where the right one is
    res = left_right_swaps(pred, gt)
    assert res["share"] == 0.25
    assert res["pck_forgiven"] == 1.0
    assert pck(pred, gt) == pytest.approx((3 * 14 + 2) / 56)    # only neck and head_top survive the swap
    assert left_right_swaps(gt.copy(), gt) == {"share": 0.0, "pck_forgiven": 1.0}
