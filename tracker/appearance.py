"""Who the tracked person looks like, and whether the picture changed to another shot.

A person's look is the hue-saturation histogram of their torso (the quadrilateral of shoulders and hips, grown a
little): clothing colour survives motion blur, roll and scale, which is what re-acquisition after a whip pan or
a fast turn faces. Two looks are compared by Bhattacharyya distance (0 the same, 1 nothing in common).

A hard cut is a frame whose whole-picture histogram is far from the previous frame's: after a cut the person in
view may be another one, and the tracker takes them.
"""
from __future__ import annotations

import cv2
import numpy as np

from pose_track.engines.joints import J

TORSO = [J["r_shoulder"], J["l_shoulder"], J["l_hip"], J["r_hip"]]
BINS = (16, 8)                 # hue, saturation
GROW = 1.15                    # the torso quadrilateral grown about its centre
MIN_PIXELS = 64
SCENE_SIDE = 64                # the whole picture is compared at this size


def _histogram(hsv: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    hist = cv2.calcHist([hsv], [0, 1], mask, list(BINS), [0, 180, 0, 256])
    return cv2.normalize(hist, None, 1.0, 0.0, cv2.NORM_L1)


def torso_look(image_bgr: np.ndarray, joints: np.ndarray) -> np.ndarray | None:
    """The torso's hue-saturation histogram, or None when a torso joint is missing or the torso is tiny."""
    quad = np.asarray(joints, np.float32)[TORSO]
    if not np.isfinite(quad).all():
        return None
    centre = quad.mean(0)
    quad = (centre + GROW * (quad - centre)).round().astype(np.int32)
    h, w = image_bgr.shape[:2]
    x0, y0 = np.clip(quad.min(0), 0, [w - 1, h - 1])
    x1, y1 = np.clip(quad.max(0) + 1, 1, [w, h])
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    patch = image_bgr[y0:y1, x0:x1]
    mask = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, quad - [x0, y0], 255)
    if int(np.count_nonzero(mask)) < MIN_PIXELS:
        return None
    return _histogram(cv2.cvtColor(patch, cv2.COLOR_BGR2HSV), mask)


def scene_look(image_bgr: np.ndarray) -> np.ndarray:
    """The whole picture's hue-saturation histogram, at a small size (every few pixels, then averaged: a
    720p frame costs about 0.2 ms, where one area resize of the whole frame costs about 3)."""
    step = max(1, min(image_bgr.shape[:2]) // (2 * SCENE_SIDE))
    small = cv2.resize(image_bgr[::step, ::step], (SCENE_SIDE, SCENE_SIDE), interpolation=cv2.INTER_AREA)
    return _histogram(cv2.cvtColor(small, cv2.COLOR_BGR2HSV), None)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance between two histograms: 0 the same, 1 disjoint."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


class Appearance:
    """The tracked person's look (a running mean over confidently tracked frames) and the scene's, frame to
    frame. `same_person(image, joints)`: whether a candidate looks like the tracked person; True when no look is
    known yet (nothing to compare with)."""

    def __init__(self, max_distance: float = 0.5, cut_distance: float = 0.4, keep: float = 0.8):
        self.max_distance, self.cut_distance, self.keep = max_distance, cut_distance, keep
        self.person = None
        self.scene = None

    def forget(self) -> None:
        self.person = None

    def saw_cut(self, image_bgr: np.ndarray) -> bool:
        """Whether this frame starts another shot (then the person's look is forgotten)."""
        scene = scene_look(image_bgr)
        cut = self.scene is not None and distance(scene, self.scene) > self.cut_distance
        self.scene = scene
        if cut:
            self.forget()
        return cut

    def learn(self, image_bgr: np.ndarray, joints: np.ndarray) -> None:
        look = torso_look(image_bgr, joints)
        if look is not None:
            self.person = look if self.person is None else self.keep * self.person + (1 - self.keep) * look

    def same_person(self, image_bgr: np.ndarray, joints: np.ndarray) -> bool:
        if self.person is None:
            return True
        look = torso_look(image_bgr, joints)
        return look is not None and distance(look, self.person) <= self.max_distance
