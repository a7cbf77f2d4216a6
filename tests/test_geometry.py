import numpy as np

from pose_track.engines.geometry import (apply_affine, box_from_joints, crop, crop_matrix, denormalize, invert_affine,
                              normalize, torso_diameter, whole_image_box)
from pose_track.engines.joints import FLIP_PERMUTATION, JOINT_NAMES
from pose_track.training.augment import flip_joints

from conftest import STANDING


def test_normalize_denormalize_round_trip():
    box = (63.5, 80.25, 150.0)
    norm = normalize(STANDING, box)
    assert np.all(np.abs(norm) <= 0.5)
    np.testing.assert_allclose(denormalize(norm, box), STANDING, atol=1e-4)


def test_crop_maps_points_to_normalised_coordinates():
    box = (60.0, 80.0, 100.0)
    size = 64
    m = crop_matrix(box, size)
    u = apply_affine(m, STANDING)
    np.testing.assert_allclose((u - (size - 1) / 2) / size, normalize(STANDING, box), atol=1e-5)
    np.testing.assert_allclose(apply_affine(invert_affine(m), u), STANDING, atol=1e-3)


def test_crop_pixels_follow_the_geometry():
    image = np.zeros((200, 300, 3), np.uint8)
    image[118:123, 198:203] = 255                      # a bright dot centred on (200, 120)
    box = (180.0, 100.0, 80.0)
    size = 40
    patch = crop(image, box, size)
    ys, xs = np.nonzero(patch[..., 0] > 60)
    expected = apply_affine(crop_matrix(box, size), np.array([[200.0, 120.0]]))[0]
    assert abs(xs.mean() - expected[0]) < 0.6 and abs(ys.mean() - expected[1]) < 0.6


def test_rotation_and_mirror_in_crop_matrix():
    box = (50.0, 50.0, 100.0)
    m = crop_matrix(box, 100, angle_deg=90)
    # A point to the right of the centre ends up above it in the crop after a 90 degree rotation.
    u = apply_affine(m, np.array([[70.0, 50.0]]))[0]
    assert u[1] < 49.5 - 15 and abs(u[0] - 49.5) < 1e-3
    mf = crop_matrix(box, 100, flip=True)
    uf = apply_affine(mf, np.array([[70.0, 50.0]]))[0]
    assert uf[0] < 49.5 - 15


def test_flip_swaps_left_and_right():
    perm = np.array(FLIP_PERMUTATION)
    assert sorted(perm) == list(range(14)) and np.all(perm[perm] == np.arange(14))
    for i, name in enumerate(JOINT_NAMES):
        other = JOINT_NAMES[perm[i]]
        if name.startswith("r_"):
            assert other == "l_" + name[2:]
        elif not name.startswith("l_"):
            assert other == name
    joints = np.arange(28, dtype=np.float32).reshape(14, 2)
    flipped = flip_joints(joints)
    assert np.all(flipped[0] == joints[5]) and np.all(flipped[12] == joints[12])


def test_boxes_and_torso():
    box = box_from_joints(STANDING, 1.0)
    assert box[2] == np.ptp(STANDING, axis=0).max()
    assert whole_image_box(100, 60) == (29.5, 49.5, 100.0)
    # Diagonals l_shoulder-r_hip and r_shoulder-l_hip of the standing pose.
    d1 = np.linalg.norm(STANDING[9] - STANDING[2]); d2 = np.linalg.norm(STANDING[8] - STANDING[3])
    assert abs(torso_diameter(STANDING) - (d1 + d2) / 2) < 1e-4


def test_body_aligned_crop_sees_the_person_upright_and_maps_joints_back_exactly():
    """A person lying at 60 degrees: the oriented box turns them upright in the crop, and the cascade maps the
    crop's answer back onto the image exactly."""
    from pose_track.engines.cascade import Cascade
    from pose_track.engines.config import Architecture, ModelConfig
    from pose_track.engines.geometry import body_angle, crop_matrix, oriented_box, rotation
    from conftest import STANDING

    a = np.deg2rad(60.0)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    truth = ((STANDING - STANDING.mean(0)) @ turn.T + [200.0, 150.0]).astype(np.float32)
    angle = body_angle(truth)
    box = oriented_box(truth, 1.3, angle_deg=angle)
    in_crop = (truth - box[:2]) @ rotation(angle).T / box[2]          # crop-normalised, as the model answers
    neck, hips = in_crop[12], in_crop[[2, 3]].mean(0)
    assert neck[1] < hips[1] and abs(neck[0] - hips[0]) < 1e-4        # upright in the crop
    assert np.abs(in_crop).max() <= 0.5
    m = crop_matrix(box[:3], 64, angle)                               # the pixels agree with the same rotation
    assert np.allclose((truth @ m[:, :2].T + m[:, 2] - 31.5) / 64, in_crop, atol=1e-4)

    class Answers:
        def run(self, stage, batch):
            n = len(batch)
            coords = np.tile(in_crop[None], (n, 1, 1)).astype(np.float32) if stage == 0 else np.zeros((n, 14, 2), np.float32)
            return coords, np.full((n, 14), 0.01, np.float32)

    result = Cascade(Answers(), ModelConfig(Architecture(stage1_input=64, refiner_input=32, num_stages=2))).predict(
        np.zeros((300, 400, 3), np.uint8), [box])
    assert np.allclose(result.joints[0], truth, atol=1e-3)


def test_the_box_scale_follows_how_much_of_the_body_is_in_the_picture():
    from pose_track.engines.geometry import (CHEST_UP_BOX_SCALE, CUT_BODY_BOX_SCALE, PERSON_BOX_SCALE,
                                             person_box_scale)
    from pose_track.engines.joints import J

    whole = np.ones(14, bool)
    waist_up = whole.copy()
    waist_up[[J[k] for k in ("r_knee", "l_knee", "r_ankle", "l_ankle")]] = False
    chest_up = waist_up.copy()
    chest_up[[J["r_hip"], J["l_hip"]]] = False
    one_hip = chest_up.copy()
    one_hip[J["l_hip"]] = True
    cut_at_the_side = chest_up.copy()          # a shoulder gone too: not a chest-up framing
    cut_at_the_side[J["l_shoulder"]] = False
    assert person_box_scale(whole) == PERSON_BOX_SCALE
    assert person_box_scale(waist_up) == person_box_scale(one_hip) == CUT_BODY_BOX_SCALE
    assert person_box_scale(cut_at_the_side) == CUT_BODY_BOX_SCALE
    assert person_box_scale(chest_up) == CHEST_UP_BOX_SCALE > CUT_BODY_BOX_SCALE
    assert person_box_scale(chest_up, 1.3, 1.85, chest_up=2.0) == 2.0
