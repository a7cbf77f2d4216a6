"""Run a model over images: the cascade on given (image, person box) pairs, and the PoseEstimator over an
LSP-style set (the whole image as the first box, as every command runs it)."""
from __future__ import annotations

import cv2
import numpy as np

from pose_track.engines.estimator import PoseEstimator

from .cache import read_image


def predict_each(cascade, pairs, rgb: bool = False, progress=None):
    """Yields the cascade's result for each (image, box) pair, one person per image; one progress tick each."""
    for image, box in pairs:
        yield cascade.predict(image, np.asarray(box, np.float32).reshape(1, 3), rgb=rgb)
        if progress:
            progress(1)


def pad_image(image: np.ndarray, pad: float):
    """The image centred on a black canvas `pad` times its size; returns (canvas, offset (x, y) of the image)."""
    h, w = image.shape[:2]
    top, left = int(round(h * (pad - 1) / 2)), int(round(w * (pad - 1) / 2))
    bottom, right = int(round(h * pad)) - h - top, int(round(w * pad)) - w - left
    canvas = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return canvas, np.array([left, top], np.float32)


def predict_set(estimator, data, progress=None, pad: float = 1.0, passes: list | None = None,
                poses: list | None = None):
    """Per stage (N, 14, 2) pixel predictions of the PoseEstimator; NaN where the model says there is no person
    or the joint is not in the picture (as every output reports it). Its passes per image are appended to
    `passes`, and each final (joints in the original image's pixels, confidence) to `poses`. A cascade instead of an estimator runs one pass on the whole image. `pad` > 1: each image is centred on a black canvas that many times its size (a person who fills
    less of the picture); predictions are given back in the original image's pixels.
    """
    if not isinstance(estimator, PoseEstimator):
        estimator = PoseEstimator(cascade=estimator, max_passes=1)
    per_stage = None
    for i, path in enumerate(data.paths):
        image, offset = read_image(path), np.zeros(2, np.float32)
        if pad > 1.0:
            image, offset = pad_image(image, pad)
        pose = estimator(image)
        if passes is not None:
            passes.append(pose.passes)
        if per_stage is None:       # NaN: a picture where a stage gave nothing (one too small to hold a person)
            count = max(len(pose.stages), getattr(estimator.cascade, "num_stages", 0))
            per_stage = [np.full((len(data), 14, 2), np.nan, np.float32) for _ in range(count)]
        for s, joints in enumerate(pose.stages[:len(per_stage)]):
            per_stage[s][i] = joints - offset
        if poses is not None:
            poses.append((pose.joints - offset, pose.confidence))
        if progress:
            progress(1)
    return per_stage
