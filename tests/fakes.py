"""A stand-in for engines.cascade.Cascade, for tests without a model.

`FakeCascade(gt)` answers with the ground-truth joints of the current frame plus noise proportional to the box
side (a bigger crop = fewer pixels per joint = less precise). It behaves like a crop-based regressor: a joint
outside the box it was given is not seen (its estimate is clamped to the box edge, confidence low). Frames are
told apart by their pixels, so several calls on one frame (re-acquisition refinement) see the same frame.
`fail_frames` makes it answer garbage with low confidence on those frames (a forced loss).
"""
from __future__ import annotations

import hashlib

import numpy as np

from pose_track.engines.cascade import CascadeResult
from pose_track.engines.estimator import PoseEstimator


class FakeCascade:
    def __init__(self, gt, noise: float = 0.01, seed: int = 0, fail_frames=(), conf: float = 0.9,
                 stages: int = 3):
        self.gt = np.asarray(gt, np.float32)
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.fail_frames = set(fail_frames)
        self.conf = conf
        self.n_stages = stages
        self.frame = -1
        self.calls = 0
        self._key = None

    def _frame_of(self, image: np.ndarray) -> int:
        key = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest()
        if key != self._key:
            self._key = key
            self.frame += 1
        return min(self.frame, len(self.gt) - 1)

    def predict(self, image_bgr: np.ndarray, boxes: np.ndarray) -> CascadeResult:
        self.calls += 1
        f = self._frame_of(image_bgr)
        boxes = np.asarray(boxes, np.float32)
        boxes = boxes.reshape(-1, boxes.shape[-1])[:, :3]        # the angle of a turned box does not matter here
        joints = np.zeros((len(boxes), len(self.gt[f]), 2), np.float32)
        conf = np.zeros((len(boxes), len(self.gt[f])), np.float32)
        for p, (cx, cy, side) in enumerate(boxes):
            c = np.array([cx, cy], np.float32)
            half = side / 2.0
            if f in self.fail_frames:
                joints[p] = c + self.rng.uniform(-half, half, size=joints[p].shape)
                conf[p] = 0.05
                continue
            g = self.gt[f]
            est = g + self.rng.normal(size=g.shape).astype(np.float32) * self.noise * side
            inside = (np.abs(g - c) <= half).all(axis=1)
            est = np.where(inside[:, None], est, np.clip(est, c - half, c + half))
            joints[p] = est
            conf[p] = np.where(inside, self.conf, 0.05)
        return CascadeResult(joints, conf, [joints.copy() for _ in range(self.n_stages)])


class NobodyThere(FakeCascade):
    """Answers with presence 0: no person in any box."""

    def predict(self, image_bgr, boxes):
        res = super().predict(image_bgr, boxes)
        res.presence = np.zeros(len(res.joints), np.float32)
        return res


def estimator_of(cascade):
    """A stand-in for commands.model.load_estimator that always gives an estimator over `cascade`."""
    return lambda engine=None, stills=False, **options: PoseEstimator(cascade=cascade)
