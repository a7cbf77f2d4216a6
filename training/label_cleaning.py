"""Crowd-sourced labels checked against a trained model's answers.

LSP-extended was annotated on Mechanical Turk ("Learning Effective Human Pose Estimation from Inaccurate
Annotation" is its paper). Measured with a model trained on both sets, on its training images: shoulders and hips, which it
places within 0.5 torso diameters of the label on 98-99 % of LSP's expert-labelled training images, are that far
off on 5-8 % of LSP-extended's, and whole-body left/right swaps are more frequent (3.6 % against 2.3 %).
Two repairs, for crowd-labelled images only: an image whose labels, with left and right exchanged, agree with the
model on at least `swap_margin` more joints (within 0.2 torso diameters) is relabelled swapped; then a joint
whose label lies more than `max_error` torso diameters from the model's answer is left out of the loss, and the
whole image when fewer than MIN_KEPT joints remain. Its figures (images swapped, joints left out, and what a
fine-tune on repaired labels gave) are in docs/experiments.md, "Label cleaning".
"""
from __future__ import annotations

import numpy as np

from pose_track.engines.geometry import torso_diameter
from pose_track.engines.joints import NUM_JOINTS
from .augment import FLIP
from .evaluate import predict_each
from .progress import start_bar

HIT_ALPHA = 0.2
# An image that loses joints and keeps fewer than this leaves the loss whole: its remaining joints would no
# longer frame the person (training crops and error-bank boxes are cut around the valid joints).
MIN_KEPT = 7


def _diameters(joints, valid):
    """(N,) torso diameter of each labelled pose; computed once, as exchanging the sides must not change it."""
    return np.array([max(torso_diameter(j, v), 1.0) for j, v in zip(joints, valid)], np.float64)


def _errors(pred, joints, diam):
    """(N, 14) distance of each prediction from its label in torso diameters."""
    return np.linalg.norm(np.asarray(pred, np.float64) - joints, axis=-1) / diam[:, None]


def find_label_errors(pred, joints, valid, candidates, max_error: float, swap_margin: int = 3):
    """Returns swapped (N,) bool and dropped (N, 14) bool, both only where `candidates` (N,) is true."""
    pred, joints, valid = np.asarray(pred), np.asarray(joints), np.asarray(valid, bool)
    candidates = np.asarray(candidates, bool)
    diam = _diameters(joints, valid)
    as_is = ((_errors(pred, joints, diam) <= HIT_ALPHA) & valid).sum(1)
    exchanged = ((_errors(pred, joints[:, FLIP], diam) <= HIT_ALPHA) & valid[:, FLIP]).sum(1)
    swapped = candidates & (exchanged >= as_is + swap_margin)
    fixed_joints, fixed_valid = apply_fixes(joints, valid, swapped, np.zeros_like(valid))
    dropped = candidates[:, None] & fixed_valid & (_errors(pred, fixed_joints, diam) > max_error)
    return swapped, dropped


def apply_fixes(joints, valid, swapped, dropped):
    """Labels with the swapped images' left and right exchanged and the dropped joints out of `valid`."""
    joints, valid = np.array(joints, copy=True), np.array(valid, bool, copy=True)
    dropped = np.asarray(dropped, bool)
    joints[swapped] = joints[swapped][:, FLIP]
    valid[swapped] = valid[swapped][:, FLIP]
    valid &= ~dropped
    valid[dropped.any(1) & (valid.sum(1) < MIN_KEPT)] = False
    return joints, valid


def load_reference(path: str):
    """The reference model's cascade (engine bundle or checkpoint); CheckpointError in one line if it fails."""
    from pose_track.engines.torch_backend import load_any_cascade
    from pose_track.engines.checkpoint import CheckpointError

    try:
        cascade = load_any_cascade(path)
    except Exception as exc:  # noqa: BLE001 - any load failure (a runtime's own error too) is one line
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot load the model: {why}") from None
    cascade.refine_nobody = True        # its refined joints are compared with labelled people
    return cascade


def repair_crowd_labels(data, fixes: dict | None, reference, max_error: float, progress=None, log=print) -> dict:
    """Repairs the crowd labels of `data` (training.data.TrainingData) in place and returns the repairs as plain
    values: `fixes` when given (a resumed run), else those found against `reference`'s answers."""
    if fixes is None:
        idx = np.flatnonzero(data.train_set.crowd)
        start_bar(progress, "checking crowd labels", len(idx))
        pred = np.zeros((len(data.images), NUM_JOINTS, 2), np.float32)
        results = predict_each(reference, zip((data.images[i] for i in idx), data.eval_boxes(idx)), rgb=True,
                               progress=progress)
        for i, result in zip(idx, results):
            pred[i] = result.joints[0]
        swapped, dropped = find_label_errors(pred, data.joints, data.valid, data.train_set.crowd, max_error)
        fixes = {"swapped": np.flatnonzero(swapped).tolist(), "dropped": np.argwhere(dropped).tolist()}
    swapped = np.zeros(len(data.images), bool)
    swapped[fixes["swapped"]] = True
    dropped = np.zeros_like(data.valid)
    dropped[tuple(np.asarray(fixes["dropped"], int).reshape(-1, 2).T)] = True
    data.joints, data.valid = apply_fixes(data.joints, data.valid, swapped, dropped)
    crowd_joints = max(int(data.train_set.valid[data.train_set.crowd].sum()), 1)
    log(f"crowd labels: {swapped.sum()} images left/right swapped, {dropped.sum()} joints "
        f"({dropped.sum() / crowd_joints:.1%}) left out of the loss")
    return fixes
