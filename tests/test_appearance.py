"""The tracked person's look and the shot-change check (tracker.appearance)."""
import cv2
import numpy as np

from pose_track.engines.joints import J
from pose_track.tracker.appearance import Appearance, scene_look, distance, torso_look


def _pose(cx=160, cy=120, s=40):
    joints = np.full((14, 2), np.nan, np.float32)
    joints[J["r_shoulder"]] = (cx - s, cy - s)
    joints[J["l_shoulder"]] = (cx + s, cy - s)
    joints[J["r_hip"]] = (cx - s, cy + s)
    joints[J["l_hip"]] = (cx + s, cy + s)
    return joints


def _scene(shirt_bgr, seed=0, cx=160, cy=120):
    rng = np.random.default_rng(seed)
    image = rng.integers(90, 140, (240, 320, 3), dtype=np.uint8)      # a grey, noisy backdrop
    cv2.rectangle(image, (cx - 45, cy - 45), (cx + 45, cy + 45), shirt_bgr, -1)
    return image


RED, BLUE = (30, 30, 200), (200, 60, 20)


def test_the_same_shirt_blurred_and_moved_is_the_same_person():
    look = Appearance()
    look.learn(_scene(RED), _pose())
    moved = _scene(RED, seed=1, cx=220, cy=140)
    blurred = cv2.blur(moved, (15, 1))
    assert look.same_person(blurred, _pose(220, 140))


def test_another_shirt_is_another_person():
    look = Appearance()
    look.learn(_scene(RED), _pose())
    assert not look.same_person(_scene(BLUE), _pose())


def test_nothing_learnt_accepts_anyone_and_a_missing_torso_is_nobody_known():
    look = Appearance()
    assert look.same_person(_scene(BLUE), _pose())
    look.learn(_scene(RED), _pose())
    no_hips = _pose()
    no_hips[J["l_hip"]] = np.nan
    assert torso_look(_scene(RED), no_hips) is None
    assert not look.same_person(_scene(RED), no_hips)


def test_a_cut_to_another_scene_forgets_the_person_a_pan_does_not():
    look = Appearance()
    street = _scene(RED)
    assert not look.saw_cut(street)
    look.learn(street, _pose())
    panned = np.roll(street, 60, axis=1)
    assert not look.saw_cut(panned) and look.person is not None
    other = np.zeros_like(street)
    other[:] = (40, 160, 40)                      # a green field
    assert look.saw_cut(other) and look.person is None
    assert distance(scene_look(street), scene_look(panned)) < look.cut_distance      # the test's two sides of
    assert distance(scene_look(street), scene_look(other)) > look.cut_distance       # the shot-change threshold
