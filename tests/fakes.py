"""A stand-in for engines.cascade.Cascade, for tests without a model.

`FakeCascade(gt)` answers with the ground-truth joints of the current frame plus noise proportional to the box
side (a bigger crop = fewer pixels per joint = less precise). It behaves like a crop-based regressor: a joint
outside the box it was given is not seen (its estimate is clamped to the box edge, confidence low). Frames are
told apart by their pixels, so several calls on one frame (re-acquisition refinement) see the same frame.
`fail_frames` makes it answer garbage with low confidence on those frames (a forced loss).

FailingFile / open_failing_after and writer_the_disk_cuts_short stand in for a disk that fills up (or a reader of
a pipe that leaves) mid-run.
"""
from __future__ import annotations

import builtins
import errno
import hashlib
import os

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


class FailingFile:
    """A text file that takes `room` characters and then fails as a full disk (`error`=ENOSPC) or a pipe whose
    reader left (EPIPE) does: the part of a write that fits is written, the rest stays unwritten, and closing
    fails again, as a buffered file's last flush does."""

    def __init__(self, stream, room: int, error: int = errno.ENOSPC):
        self.stream, self.room, self.error = stream, room, error
        self.pending = False

    def _fail(self):
        raise (BrokenPipeError if self.error == errno.EPIPE else OSError)(self.error, os.strerror(self.error))

    def write(self, text):
        fits = text[:max(self.room, 0)]
        self.stream.write(fits)
        self.stream.flush()
        self.room -= len(fits)
        if len(fits) < len(text):
            self.pending = True
            self._fail()
        return len(text)

    def flush(self):
        if self.pending:
            self._fail()

    @property
    def closed(self):
        return self.stream.closed

    def close(self):
        self.stream.close()
        if self.pending:
            self._fail()


def open_failing_after(room: int, error: int = errno.ENOSPC):
    """A stand-in for `open` whose files written in text mode become FailingFile(room, error)."""
    real = builtins.open

    def fake_open(path, mode="r", *args, **kwargs):
        f = real(path, mode, *args, **kwargs)
        return FailingFile(f, room, error) if "w" in mode and "b" not in mode else f
    return fake_open


def writer_the_disk_cuts_short(keep: float):
    """A stand-in for cv2.VideoWriter whose file loses its end (`keep`: the share left) as on a disk that filled
    up; like OpenCV's, it says nothing of the writes that failed."""
    import cv2

    real = cv2.VideoWriter

    class Writer:
        def __init__(self, path, *args):
            self.path, self._writer = path, real(path, *args)

        def __getattr__(self, name):
            return getattr(self._writer, name)

        def release(self):
            self._writer.release()
            os.truncate(self.path, int(os.path.getsize(self.path) * keep))
    return Writer
