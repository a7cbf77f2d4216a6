"""Tracking benchmark on synthetic clips: for each still with known joints, make a clip with the clip maker,
track it, and compare with the single-image answer on the same frames.

    rows, summary = benchmark_clips(PoseEstimator(bundle), [(image, joints), ...], workdir, n_frames=300)

Per clip: tracking PCK@0.2 (raw cascade output while tracking), single-image PCK@0.2 (every frame on its own:
the PoseEstimator's answer, as `pose-track images` gives it), acceleration error (torso-normalised) of raw / kalman / lookahead (one frame
of look-ahead, `--smooth lookahead`) / rts and the lag of each smoother, tracking throughput excluding decode (frames per second of cascade + tracker time) and decode time.
The raw joints do not depend on the output smoother (crops are seeded by the tracker's own seed filter), so one
tracking pass gives raw and kalman; rts is computed offline from the same pass.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.geometry import torso_diameters
from pose_track.engines.outputs import note_own_output
from pose_track.training import metrics

from pose_track.tracker.capture import open_source
from pose_track.benchmarks.clipmaker import make_clip
from pose_track.tracker.loop import Tracker
from pose_track.tracker.run import timed_frames
from pose_track.tracker.smoothing import (DEFAULT_PARAMS, KalmanParams, Lookahead, make_smoother, rts_smooth,
                                         where_measured)
from pose_track.training.metrics import acceleration_error, lag_frames


def pck(pred, gt, alpha: float = 0.2) -> float:
    """training.metrics.pck over the joints the truth has; a joint the tracker did not give (NaN) is a miss."""
    gt = np.asarray(gt, np.float64)
    return metrics.pck(pred, gt, np.isfinite(gt).all(-1), alpha)


def clip_path(workdir, seed: int) -> Path:
    """Where benchmark_clip writes the clip of `seed` (clip_N.mp4; listed as pose-track's own, engines.outputs)."""
    return Path(workdir) / f"clip_{seed}.mp4"


def benchmark_clip(estimator, image, joints, workdir, n_frames: int = 300, fps: float = 30.0, seed: int = 0,
                   params: KalmanParams = DEFAULT_PARAMS, single_image: bool = True, **tracker_kwargs) -> dict:
    video = clip_path(workdir, seed)
    info = make_clip(image, joints, video, None, n_frames=n_frames, fps=fps, seed=seed)
    note_own_output(video)
    if not isinstance(estimator, PoseEstimator):   # a cascade, or a factory: ClipInfo -> cascade (a fake)
        estimator = PoseEstimator(cascade=estimator if hasattr(estimator, "predict") else estimator(info))
    gt = info.joints.astype(np.float64)
    torso = torso_diameters(gt)
    tracker = Tracker(estimator, smoother=make_smoother("kalman", params), **tracker_kwargs)
    lookahead = Lookahead(tracker.smoother)
    results, ahead, decode_s = [], [], 0.0
    t_track = 0.0
    single = []
    with open_source(str(video)) as src:
        for frame, frame_decode_s in timed_frames(src.frames()):
            decode_s += frame_decode_s
            t1 = time.perf_counter()
            results.append(tracker.step(frame))
            t_track += time.perf_counter() - t1
            released = lookahead.push(None, results[-1])
            if released is not None:
                ahead.append(released[1].smoothed)
            if single_image:
                single.append(estimator(frame.image).joints)
    n = len(results)
    gt, torso = gt[:n], torso[:n]
    raw = np.stack([r.raw for r in results]).astype(np.float64)
    kal = np.stack([r.smoothed for r in results]).astype(np.float64)
    ahd = np.stack(ahead + [lookahead.flush()[1].smoothed]).astype(np.float64)
    rts = where_measured(rts_smooth(raw, np.stack([r.confidence for r in results]),
                                    np.array([r.time_s for r in results]), np.array([r.box[2] for r in results]),
                                    np.array([r.reacquired for r in results]), params,
                                    np.array([r.camera for r in results])), raw).astype(np.float64)
    a_raw = acceleration_error(raw, gt, torso)
    row = {
        "seed": seed, "frames": n,
        "pck_tracking": pck(raw, gt), "pck_kalman": pck(kal, gt), "pck_lookahead": pck(ahd, gt),
        "pck_rts": pck(rts, gt),
        "pck_single": pck(np.stack(single), gt) if single else float("nan"),
        "accel_raw": a_raw, "accel_kalman": acceleration_error(kal, gt, torso),
        "accel_lookahead": acceleration_error(ahd, gt, torso), "accel_rts": acceleration_error(rts, gt, torso),
        "lag_kalman": lag_frames(kal, gt), "lag_lookahead": lag_frames(ahd, gt), "lag_rts": lag_frames(rts, gt),
        "reacquisitions": int(sum(r.reacquired for r in results)),
        "tracking_fps": n / t_track if t_track > 0 else float("nan"),
        "model_fps": n / tracker.model_s if tracker.model_s > 0 else float("nan"),
        "decode_ms_per_frame": 1e3 * decode_s / max(n, 1),
    }
    row["accel_reduction_kalman"] = 1.0 - row["accel_kalman"] / a_raw if a_raw > 0 else float("nan")
    row["accel_reduction_lookahead"] = 1.0 - row["accel_lookahead"] / a_raw if a_raw > 0 else float("nan")
    row["accel_reduction_rts"] = 1.0 - row["accel_rts"] / a_raw if a_raw > 0 else float("nan")
    return row


def clip_rows(estimator, stills, workdir, n_frames: int = 300, **kw):
    """stills: [(image, joints (14, 2))]; one clip per still with seed = its position: its row, clip by clip.
    `estimator`: a PoseEstimator, a cascade, or a factory ClipInfo -> cascade (for fakes)."""
    for i, (img, j) in enumerate(stills):
        yield benchmark_clip(estimator, img, j, workdir, n_frames=n_frames, seed=i, **kw)


def clip_means(rows) -> dict:
    """The mean of each figure over the rows."""
    keys = [k for k in rows[0] if k != "seed"] if rows else []
    return {k: float(np.nanmean([r[k] for r in rows])) for k in keys}


def benchmark_clips(estimator, stills, workdir, n_frames: int = 300, **kw):
    """`clip_rows` for every still: (rows, means)."""
    rows = list(clip_rows(estimator, stills, workdir, n_frames, **kw))
    return rows, clip_means(rows)
