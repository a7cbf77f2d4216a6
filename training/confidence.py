"""Fit the joint-confidence model: P(joint within 0.2 torso diameters) from the cascade's own signals."""
from __future__ import annotations

import numpy as np

from pose_track.engines.cascade import confidence_features, estimate_torso
from pose_track.engines.geometry import torso_diameters
from .evaluate import predict_each


def fit_logistic(features: np.ndarray, labels: np.ndarray, l2: float = 1e-3, iterations: int = 50) -> np.ndarray:
    """Newton's method (IRLS) for logistic regression; features include the constant column."""
    w = np.zeros(features.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-features @ w))
        grad = features.T @ (p - labels) + l2 * w
        hess = (features * (p * (1 - p))[:, None]).T @ features + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit_confidence(cascade, images, joints, valid, boxes, rgb: bool = True, progress=None) -> tuple:
    """Runs the cascade on (image, box) pairs and fits the confidence coefficients; returns (coefs, stats)."""
    feats, labels = [], []
    results = predict_each(cascade, zip(images, boxes), rgb=rgb, progress=progress)
    for result, gt, ok, box in zip(results, joints, valid, boxes):
        diam = float(torso_diameters(gt[None], ok[None])[0])         # the truth's: what "within 0.2" is measured by
        if diam < 1 or result.spread is None:
            continue
        pred = result.joints[0]
        scale = float(estimate_torso(result.joints, box)[0])          # the estimate's: what inference divides by
        moved = np.linalg.norm(pred - result.stages[0][0], axis=-1) / scale
        f = confidence_features(result.spread[0] / scale, moved)
        feats.append(f[ok]); labels.append((np.linalg.norm(pred - gt, axis=-1) / diam <= 0.2)[ok])
    x, y = np.concatenate(feats), np.concatenate(labels).astype(np.float64)
    w = fit_logistic(x, y)
    p = 1.0 / (1.0 + np.exp(-x @ w))
    return tuple(float(v) for v in w), {"joints": int(len(y)), "accuracy": float(y.mean()),
                                        "mean_conf_correct": float(p[y == 1].mean()) if y.any() else float("nan"),
                                        "mean_conf_wrong": float(p[y == 0].mean()) if (y == 0).any() else float("nan")}
