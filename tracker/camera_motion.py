"""How far the picture moved since the previous frame: the camera's pan, or a whip pan, as one shift in pixels.

The seed filter that places the next crop predicts the person's own motion; the camera adds its motion on top, and
a whip pan (a third of the frame in a few frames) starts and stops faster than any filter follows. Measured here
by phase correlation of small greyscale frames (about 160 px wide), the camera's total shift is taken out of
what the filters see and added back where they answer (`Tracker.step`, `BoxProposer.seed_box` and `observe`).
Rotation and zoom are left to the filters.

A correlation without a clear peak (a flat or dark frame, a static scene with only sensor noise) measures
nothing: its shift reads as zero, as does one larger than any pan moves a picture between two frames (on the
hard clips' whip pans at most 0.29 of the width; a flat frame gives half of it). Two unrelated pictures (a cut)
can still give a weak peak (0.07 median on the hard clips' cuts, against 0.66 on their whip pans): the
shot-change check (tracker.appearance) restarts the track there.
"""
from __future__ import annotations

import cv2
import numpy as np

SMALL_WIDTH = 160
SMALL_MAX_HEIGHT = 4 * SMALL_WIDTH     # a frame far higher than wide is shrunk to this height, not widened to 160
MIN_RESPONSE = 0.03     # a phase correlation peak below this measures no shift
MAX_SHIFT = 0.4         # a larger shift between two frames, as a share of the frame's width, is not a pan


class CameraMotion:
    """`shift(image_bgr)` -> (dx, dy): how far the picture's content moved since the previous frame given, in
    this frame's pixels; zero on the first frame, after `reset`, when the frame size changes, and where the
    correlation finds no clear shift."""

    def __init__(self, width: int = SMALL_WIDTH):
        self.width = width
        self.previous = None
        self.size = None
        self._window = None

    def reset(self) -> None:
        self.previous = None

    def small(self, image_bgr: np.ndarray) -> np.ndarray:
        """The frame in grey, `width` pixels across, or `SMALL_MAX_HEIGHT` high where that is smaller (a strip
        40 px wide and 3000 high would be 12,000 high at 160 across); grey first: the area resize then reads one
        channel."""
        h, w = image_bgr.shape[:2]
        scale = min(self.width / w, SMALL_MAX_HEIGHT / h)
        size = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
        grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)

    def shift(self, image_bgr: np.ndarray) -> np.ndarray:
        size = image_bgr.shape[:2]
        small = self.small(image_bgr)
        previous, self.previous = self.previous, small
        same_size, self.size = self.size == size, size
        if previous is None or not same_size:
            return np.zeros(2)
        if self._window is None or self._window.shape != small.shape:
            self._window = cv2.createHanningWindow(small.shape[::-1], cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(previous, small, self._window)
        shift = np.array([dx, dy]) * (size[1] / small.shape[1])
        if response < MIN_RESPONSE or np.hypot(*shift) > MAX_SHIFT * size[1]:
            return np.zeros(2)
        return shift
