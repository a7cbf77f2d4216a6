"""Measurements of the trained cascade on training images: the error distribution a refiner trains on, and the
calibration fitted when every network is trained (refinement gains, then joint confidence)."""
from __future__ import annotations

import dataclasses

import numpy as np

from pose_track.engines.cascade import Cascade
from pose_track.engines.config import Calibration
from pose_track.engines.geometry import torso_diameters
from pose_track.engines.joints import NUM_JOINTS
from .evaluate import predict_each
from .progress import start_bar

# Seed offsets of the training images each measurement draws (the error bank of k stages draws with offset k).
GAINS_SEED, CONFIDENCE_SEED = 77, 99


def torch_cascade(model, model_cfg, stages: int) -> Cascade:
    from pose_track.engines.torch_backend import TorchBackend
    return Cascade(TorchBackend(model), model_cfg, stages=stages, refine_nobody=True)


def error_bank(model, model_cfg, data, cfg, stages: int, progress=None, log=print) -> list:
    """Errors of the first `stages` stages on training images: per joint, (n, 2) in torso diameters."""
    idx = data.sample(cfg.bank_images, cfg.seed + stages)
    start_bar(progress, f"stage {stages} errors", len(idx))
    errors = [[] for _ in range(NUM_JOINTS)]
    results = predict_each(torch_cascade(model, model_cfg, stages),
                           zip((data.images[i] for i in idx), data.eval_boxes(idx)), rgb=True, progress=progress)
    for i, result in zip(idx, results):
        pred = result.joints[0]
        diam = float(torso_diameters(data.joints[i][None], data.valid[i][None])[0])
        if diam < 1:
            continue
        for j in np.flatnonzero(data.valid[i]):
            errors[j].append((pred[j] - data.joints[i][j]) / diam)
    model.train()
    bank = [np.array(e, np.float32) if e else np.zeros((1, 2), np.float32) for e in errors]
    med = [float(np.median(np.linalg.norm(b, axis=1))) for b in bank]
    log(f"stage {stages} median error per joint (torso diameters): " + " ".join(f"{m:.2f}" for m in med))
    return bank


def fit_calibration(model, model_cfg, data, cfg, progress=None, log=print) -> tuple:
    """(Calibration, what was measured): the refinement gains stage by stage, then the confidence model of the
    cascade with those gains."""
    if cfg.fit_gains:
        gains = _fit_refine_gains(model, model_cfg, data, cfg, progress, log)
    else:       # the refiners' whole displacement (gain 1 everywhere)
        gains = tuple(tuple([1.0] * NUM_JOINTS) for _ in range(model_cfg.architecture.num_stages - 1))
    with_gains = dataclasses.replace(model_cfg, calibration=dataclasses.replace(model_cfg.calibration,
                                                                                refine_gain=gains))
    coefs, stats = _fit_confidence(model, with_gains, data, cfg, progress, log)
    measured = {"refine_gain": [list(g) for g in gains], "confidence": {"coefficients": coefs, **stats}}
    return Calibration(confidence=coefs, refine_gain=gains), measured


def _fit_refine_gains(model, model_cfg, data, cfg, progress, log) -> tuple:
    """How much of each refiner's displacement helps each joint, each stage fitted with the earlier gains set."""
    from .refine_gain import best_gains, collect_stage

    idx = data.sample(cfg.bank_images, cfg.seed + GAINS_SEED)
    num_stages = model_cfg.architecture.num_stages
    gains = [[1.0] * NUM_JOINTS for _ in range(num_stages - 1)]
    for stage in range(2, num_stages + 1):
        so_far = dataclasses.replace(model_cfg.calibration, refine_gain=tuple(tuple(g) for g in gains))
        cascade = torch_cascade(model, dataclasses.replace(model_cfg, calibration=so_far), stage)
        start_bar(progress, f"stage {stage} gains", len(idx))
        before, after = collect_stage(cascade, (data.images[i] for i in idx), data.eval_boxes(idx),
                                      progress=progress)
        gains[stage - 2] = best_gains(before, after - before, data.joints[idx], data.valid[idx]).tolist()
        log(f"stage {stage} refinement gain per joint: " + " ".join(f"{g:.2f}" for g in gains[stage - 2]))
    model.train()
    return tuple(tuple(g) for g in gains)


def _fit_confidence(model, model_cfg, data, cfg, progress, log) -> tuple:
    from .confidence import fit_confidence

    idx = data.sample(cfg.bank_images, cfg.seed + CONFIDENCE_SEED)
    start_bar(progress, "confidence", len(idx))
    coefs, stats = fit_confidence(torch_cascade(model, model_cfg, model_cfg.architecture.num_stages),
                                  (data.images[i] for i in idx), data.joints[idx], data.valid[idx],
                                  data.eval_boxes(idx), progress=progress)
    model.train()
    log(f"confidence model {np.round(coefs, 3).tolist()}: {stats}")
    return coefs, stats
