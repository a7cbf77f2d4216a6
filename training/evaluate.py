"""Run a cascade over an LSP-style set with the whole image as the person box."""
from __future__ import annotations

import numpy as np

from engines.geometry import whole_image_box
from .cache import read_image


def predict_set(cascade, data, progress=None):
    """Per stage (N, 14, 2) pixel predictions."""
    per_stage = None
    for i, path in enumerate(data.paths):
        image = read_image(path)
        box = np.array([whole_image_box(*image.shape[:2])], np.float32)
        result = cascade.predict(image, box)
        if per_stage is None:
            per_stage = [np.zeros((len(data), 14, 2), np.float32) for _ in result.stages]
        for s, joints in enumerate(result.stages):
            per_stage[s][i] = joints[0]
        if progress:
            progress(1)
    return per_stage
