"""How far the picture moved since the previous frame: the camera's pan, or a whip pan, as one shift in pixels.

The seed filter that places the next crop predicts the person's own motion; the camera adds its motion on top, and
a whip pan (a third of the frame in a few frames) starts and stops faster than any filter follows. Measured here
by phase correlation of small greyscale frames (about 160 px wide), it is taken out of what the filter sees and
added back where it predicts (`BoxProposer.follow_camera`). Rotation and zoom are left to the filter.
"""
from __future__ import annotations

import cv2
import numpy as np

SMALL_WIDTH = 160


class CameraMotion:
    """`shift(image_bgr)` -> (dx, dy): how far the picture's content moved since the previous frame given, in
    this frame's pixels; zero on the first frame, after `reset` and when the frame size changes."""

    def __init__(self, width: int = SMALL_WIDTH):
        self.width = width
        self.previous = None
        self._window = None

    def reset(self) -> None:
        self.previous = None

    def small(self, image_bgr: np.ndarray) -> np.ndarray:
        """The frame in grey, `width` pixels across (grey first: the area resize then reads one channel)."""
        h, w = image_bgr.shape[:2]
        height = max(8, int(round(h * self.width / w)))
        grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
        return cv2.resize(grey, (self.width, height), interpolation=cv2.INTER_AREA).astype(np.float32)

    def shift(self, image_bgr: np.ndarray) -> np.ndarray:
        small = self.small(image_bgr)
        previous, self.previous = self.previous, small
        if previous is None or previous.shape != small.shape:
            return np.zeros(2)
        if self._window is None or self._window.shape != small.shape:
            self._window = cv2.createHanningWindow(small.shape[::-1], cv2.CV_32F)
        (dx, dy), _ = cv2.phaseCorrelate(previous, small, self._window)
        return np.array([dx, dy]) * (image_bgr.shape[1] / self.width)
