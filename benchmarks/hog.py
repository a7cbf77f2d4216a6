"""OpenCV's HOG people detector, the usual CPU person detector: what the finder's benchmark
(benchmarks/person_finder_bench.py) compares tracker.person_finder with."""
from __future__ import annotations

import cv2
import numpy as np

HOG_BOX_SCALE = 1.1     # HOG's person rectangle is tight around the body; the square box gets a margin


class HogPersonDetector:
    """OpenCV's HOG + linear SVM people detector (no download). `available` is False when this OpenCV build
    has no HOG (OpenCV 5 moved it out of the main modules)."""

    def __init__(self, max_side: int = 640, box_scale: float = HOG_BOX_SCALE):
        self.available = hasattr(cv2, "HOGDescriptor")
        self.max_side = max_side
        self.box_scale = box_scale
        self._hog = None
        if self.available:
            try:
                self._hog = cv2.HOGDescriptor()
                self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
            except (cv2.error, AttributeError):
                self.available = False

    def __call__(self, image: np.ndarray, near=None):
        """The largest person as a square box (cx, cy, side), or None."""
        if self._hog is None:
            return None
        h, w = image.shape[:2]
        k = min(1.0, self.max_side / float(max(h, w)))
        small = cv2.resize(image, (int(w * k), int(h * k))) if k < 1.0 else image
        if small.shape[0] < 128 or small.shape[1] < 64:
            return None
        rects, _ = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return None
        x, y, rw, rh = max(rects, key=lambda r: r[2] * r[3])
        return ((x + rw / 2.0) / k, (y + rh / 2.0) / k, max(rw, rh) * self.box_scale / k)
