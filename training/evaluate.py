"""Run a cascade over images: one result per (image, person box), and over an LSP-style set with the whole
image as the person box."""
from __future__ import annotations

import numpy as np

from engines.geometry import whole_image_box
from .cache import read_image


def predict_each(cascade, pairs, rgb: bool = False, progress=None):
    """Yields the cascade's result for each (image, box) pair, one person per image; one progress tick each."""
    for image, box in pairs:
        yield cascade.predict(image, np.asarray(box, np.float32).reshape(1, 3), rgb=rgb)
        if progress:
            progress(1)


def predict_set(cascade, data, progress=None):
    """Per stage (N, 14, 2) pixel predictions."""
    images = (read_image(path) for path in data.paths)
    pairs = ((image, whole_image_box(*image.shape[:2])) for image in images)
    per_stage = None
    for i, result in enumerate(predict_each(cascade, pairs, progress=progress)):
        if per_stage is None:
            per_stage = [np.zeros((len(data), 14, 2), np.float32) for _ in result.stages]
        for s, joints in enumerate(result.stages):
            per_stage[s][i] = joints[0]
    return per_stage
