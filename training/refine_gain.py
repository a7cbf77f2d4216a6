"""Fit how much of each refiner's displacement to apply, per joint, on training images."""
from __future__ import annotations

import numpy as np

from engines.geometry import torso_diameters
from engines.joints import NUM_JOINTS
from .evaluate import predict_each

GAIN_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def best_gains(before, delta, truth, valid, grid=GAIN_GRID, threshold: float = 0.2) -> np.ndarray:
    """Per joint, the gain g in `grid` for which before + g * delta is most often within `threshold` torso
    diameters of the truth (ties: the smaller mean error, clipped at 0.5 diameters so outliers do not decide).

    before, delta, truth: (N, 14, 2) pixels; valid: (N, 14). Returns (14,) gains.
    """
    diam = np.maximum(torso_diameters(truth), 1.0)[:, None]
    gains = np.ones(NUM_JOINTS, np.float32)
    for j in range(NUM_JOINTS):
        ok = valid[:, j]
        if not ok.any():
            continue
        scores = []
        for g in grid:
            err = np.linalg.norm(before[ok, j] + g * delta[ok, j] - truth[ok, j], axis=-1) / diam[ok, 0]
            scores.append(((err <= threshold).sum(), -np.minimum(err, 0.5).mean()))
        gains[j] = grid[max(range(len(grid)), key=lambda k: scores[k])]
    return gains


def collect_stage(cascade, images, boxes, rgb: bool = True, progress=None):
    """The last two stages' joints of `cascade` on each image: (before (N, 14, 2), after (N, 14, 2))."""
    results = list(predict_each(cascade, zip(images, boxes), rgb=rgb, progress=progress))
    return (np.array([r.stages[-2][0] for r in results]), np.array([r.stages[-1][0] for r in results]))
