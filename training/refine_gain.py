"""Fit how much of each refiner's displacement to apply, per joint, on training images."""
from __future__ import annotations

import numpy as np

from pose_track.engines.geometry import torso_diameters
from pose_track.engines.joints import FLIP_PERMUTATION, NUM_JOINTS
from .evaluate import predict_each

GAIN_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def best_gains(before, delta, truth, valid, grid=GAIN_GRID, threshold: float = 0.2,
               symmetric: bool = True) -> np.ndarray:
    """Per joint, the gain g in `grid` for which before + g * delta is most often within `threshold` torso
    diameters of the truth (ties: the smaller mean error, clipped at 0.5 diameters so outliers do not decide).

    `symmetric`: a joint and its mirror twin (left and right knee, ...) get one gain, fitted on both joints'
    samples: the refiner is one network for both sides, and separate fits on 2,000 images came out lopsided
    (right hip 0.75, left hip 0) from noise.

    before, delta, truth: (N, 14, 2) pixels; valid: (N, 14). Returns (14,) gains.
    """
    diam = np.maximum(torso_diameters(truth, valid), 1.0)
    gains = np.ones(NUM_JOINTS, np.float32)
    for j in range(NUM_JOINTS):
        joints = sorted({j, FLIP_PERMUTATION[j]}) if symmetric else [j]
        rows, cols = np.nonzero(valid[:, joints])
        if not len(rows):
            continue
        cols = np.asarray(joints)[cols]
        scores = []
        for g in grid:
            err = np.linalg.norm(before[rows, cols] + g * delta[rows, cols] - truth[rows, cols], axis=-1) / diam[rows]
            scores.append(((err <= threshold).sum(), -np.minimum(err, 0.5).mean()))
        gains[j] = grid[max(range(len(grid)), key=lambda k: scores[k])]
    return gains


def collect_stage(cascade, images, boxes, rgb: bool = True, progress=None):
    """The last two stages' joints of `cascade` on each image: (before (N, 14, 2), after (N, 14, 2))."""
    results = list(predict_each(cascade, zip(images, boxes), rgb=rgb, progress=progress))
    return (np.array([r.stages[-2][0] for r in results]), np.array([r.stages[-1][0] for r in results]))
