"""Run a cascade over images: one result per (image, person box), and over an LSP-style set with the whole
image as the person box."""
from __future__ import annotations

import cv2
import numpy as np

from pose_track.engines.geometry import whole_image_box
from pose_track.engines.recrop import MAX_PASSES, predict_recropped
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


def predict_set(cascade, data, progress=None, recrop: bool = False, pad: float = 1.0, passes: list | None = None):
    """Per stage (N, 14, 2) pixel predictions with the whole image as the first box; NaN where the model says
    there is no person or the joint is not in the picture (as every output reports it).

    `recrop`: engines.recrop's passes from that box (their count per image is appended to `passes`).
    `pad` > 1: each image is centred on a black canvas that many times its size (a person who fills less of the
    picture); predictions are given back in the original image's pixels.
    """
    per_stage = None
    for i, path in enumerate(data.paths):
        image, offset = read_image(path), np.zeros(2, np.float32)
        if pad > 1.0:
            image, offset = pad_image(image, pad)
        box = whole_image_box(*image.shape[:2])
        result, _, n = predict_recropped(cascade, image, box, max_passes=MAX_PASSES if recrop else 1)
        if passes is not None:
            passes.append(n)
        if per_stage is None:
            per_stage = [np.zeros((len(data), 14, 2), np.float32) for _ in result.stages]
        for s, joints in enumerate(result.stages):          # a joint said not in the picture is a miss
            per_stage[s][i] = result.reported(joints)[0][0] - offset
        if progress:
            progress(1)
    return per_stage
