"""Fit the Kalman filter's process noise (`tracker.smoothing.KalmanParams.process`) to real human motion.

    python -m pose_track.training.motion_fit --labels ../shared/data/penn_action/labels --json results/motion_fit.json

Data: Penn Action's joint labels (`load_tracks`): 13 joints per frame in pixels with a visibility flag, and the
official split (`train` = 1: training sequences, -1: test sequences, held out here). The labels do not store
the frame rate; `FPS` = 30 is assumed (most of the clips are 30 fps video). Coordinates are cast to float: some
files store them as unsigned integers.

Scale: the smoother's `scale` is the side of the tracker's person box, `PERSON_BOX_SCALE` (1.3) times the larger
side of the joints' extent. The same is used here, per frame, over all 13 labelled joints (Penn Action also
labels hidden joints, with an estimate); Penn's own `bbox` is not used (on some clips, e.g. bench_press, it is
half the joints' extent).

Measurements: the labels plus Gaussian noise of `measurement_std` box sides per coordinate (the filter's
`measurement`, 0.02 by default), and optionally heavier tails: a share `outlier_rate` of the measurements gets
`outlier_scale` times that std. Visible joints are measured with confidence 1; hidden joints are not measured
(the filter predicts them), and only visible joints are scored. The noise is drawn once per sequence with a
fixed seed, so every grid value filters the same measurements.

Fit: the online filter (`KalmanSmoother`, every other parameter at its default, the manoeuvre inflation
included) runs over the training sequences for each `process` of a grid; the fitted value is the one with the
lowest position error against the labels whose lag is at most `max_lag` frames. Then the held-out sequences are
scored with the fitted value and the values in `compare`.

Scores, pooled over a set of sequences, each sequence in units of its median box side:
- position error: mean distance to the label over visible joints;
- lag: `smoothing.lag_frames` over all sequences at once (separated by NaN gaps, so no shift crosses two);
- jitter: `smoothing.acceleration_error` of the measurements and of the filter output (second differences need
  three visible frames in a row), and the reduction, 1 - filtered / measured.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import click
import numpy as np
import scipy.io

from pose_track.engines.geometry import PERSON_BOX_SCALE
from pose_track.tracker.smoothing import DEFAULT_PARAMS, KalmanSmoother
from pose_track.training.metrics import acceleration_error, lag_frames

FPS = 30.0
PROCESS_GRID = (0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
HAND_TUNED_PROCESS = 0.35  # tuned by hand on synthetic camera paths; scored next to the fitted value by default
_GAP = 8  # NaN frames between pooled sequences: more than lag_frames' reach at max_lag 5


@dataclass(frozen=True)
class MotionTrack:
    name: str
    joints: np.ndarray    # (T, J, 2) float64 pixels, the labels
    visible: np.ndarray   # (T, J) bool
    train: bool

    @property
    def scale(self) -> np.ndarray:
        """(T,) the tracker's person box side for each frame, in pixels."""
        extent = self.joints.max(axis=1) - self.joints.min(axis=1)
        return np.maximum(PERSON_BOX_SCALE * extent.max(axis=1), 1.0)


def load_tracks(labels_dir, split: str | None = None, every: int = 1) -> list[MotionTrack]:
    """Penn Action label files, sorted by name; `split` "train" or "test" keeps one split, `every` k keeps every
    k-th sequence of it."""
    files = sorted(Path(labels_dir).glob("*.mat"))
    if not files:
        raise FileNotFoundError(f"no Penn Action label files (*.mat) in {labels_dir}")
    tracks = []
    for f in files:
        m = scipy.io.loadmat(f)
        train = int(np.asarray(m["train"]).ravel()[0]) == 1
        if split is not None and train != (split == "train"):
            continue
        joints = np.stack([m["x"], m["y"]], axis=-1).astype(np.float64)
        tracks.append(MotionTrack(f.stem, joints, np.asarray(m["visibility"]).astype(bool), train))
    return tracks[::every]


def noisy_measurements(track: MotionTrack, rng: np.random.Generator, std: float = 0.02,
                       outlier_rate: float = 0.0, outlier_scale: float = 5.0) -> np.ndarray:
    """The labels plus noise of `std` box sides per coordinate, `outlier_scale` times more on a share
    `outlier_rate` of the joints; NaN where the joint is hidden."""
    T, J = track.visible.shape
    sigma = std * track.scale[:, None] * np.where(rng.uniform(size=(T, J)) < outlier_rate, outlier_scale, 1.0)
    noisy = track.joints + rng.normal(size=(T, J, 2)) * sigma[..., None]
    return np.where(track.visible[..., None], noisy, np.nan)


def filter_track(track: MotionTrack, measured: np.ndarray, params, fps: float = FPS) -> np.ndarray:
    """The online filter's output (T, J, 2) pixels for the measurements; NaN where it reports nothing."""
    smoother = KalmanSmoother(params, track.visible.shape[1])
    conf = np.isfinite(measured).all(axis=-1).astype(np.float64)
    scale = track.scale
    return np.stack([smoother.update(measured[t], conf[t], t / fps, scale[t]) for t in range(len(measured))])


def _pooled(tracks: list[MotionTrack], arrays: list[np.ndarray]) -> np.ndarray:
    """One (sum T + gaps, J, 2) array in box sides: each sequence divided by its median box side, hidden joints
    NaN, sequences separated by `_GAP` NaN frames."""
    J = tracks[0].visible.shape[1]
    gap = np.full((_GAP, J, 2), np.nan)
    parts = []
    for track, a in zip(tracks, arrays):
        parts += [np.where(track.visible[..., None], a, np.nan) / np.median(track.scale), gap]
    return np.concatenate(parts)


def score(tracks: list[MotionTrack], measured: list[np.ndarray], outputs: list[np.ndarray]) -> dict:
    """Position error, lag and jitter of the filter outputs against the labels (see the module's docstring)."""
    truth = _pooled(tracks, [t.joints for t in tracks])
    meas = _pooled(tracks, measured)
    out = _pooled(tracks, outputs)
    acc_in = acceleration_error(meas, truth)
    acc_out = acceleration_error(out, truth)
    return {"position_error": float(np.nanmean(np.linalg.norm(out - truth, axis=-1))),
            "measurement_error": float(np.nanmean(np.linalg.norm(meas - truth, axis=-1))),
            "lag_frames": lag_frames(out, truth),
            "acceleration_error_measured": acc_in,
            "acceleration_error_filtered": acc_out,
            "jitter_reduction": 1.0 - acc_out / acc_in}


def _measure_all(tracks, seed: int, **noise) -> list[np.ndarray]:
    return [noisy_measurements(t, np.random.default_rng([seed, i]), **noise) for i, t in enumerate(tracks)]


def _score_process(tracks, measured, process: float, measurement_std: float, fps: float) -> dict:
    params = replace(DEFAULT_PARAMS, process=float(process), measurement=measurement_std)
    outputs = [filter_track(t, m, params, fps) for t, m in zip(tracks, measured)]
    return {"process": float(process), **score(tracks, measured, outputs)}


def _progress_line(split: str, row: dict, n_sequences: int) -> str:
    return (f"{split:<6} process {row['process']:<5g} position error {row['position_error']:.4f} box sides, "
            f"lag {row['lag_frames']:+.2f} frames, jitter -{100 * row['jitter_reduction']:.0f} %  "
            f"({n_sequences} sequences)")


def fit_on_tracks(train: list[MotionTrack], test: list[MotionTrack], grid=PROCESS_GRID, compare=(HAND_TUNED_PROCESS,),
                  measurement_std: float = 0.02, outlier_rate: float = 0.0, outlier_scale: float = 5.0,
                  max_lag: float = 1.0, fps: float = FPS, seed: int = 0, progress=None) -> dict:
    """Pick the process noise on `train`, score it and `compare` on `test` (see the module's docstring)."""
    noise = dict(std=measurement_std, outlier_rate=outlier_rate, outlier_scale=outlier_scale)
    say = progress or (lambda line: None)
    measured = _measure_all(train, seed, **noise)
    rows = []
    for q in grid:
        rows.append(_score_process(train, measured, q, measurement_std, fps))
        say(_progress_line("train", rows[-1], len(train)))
    within = [r for r in rows if r["lag_frames"] <= max_lag]
    best = min(within, key=lambda r: r["position_error"]) if within else min(rows, key=lambda r: r["lag_frames"])
    fitted = best["process"]
    test_measured = _measure_all(test, seed + 1, **noise)
    held_out = {}
    for q in dict.fromkeys([fitted, *compare]):
        held_out[f"{q:g}"] = _score_process(test, test_measured, q, measurement_std, fps)
        say(_progress_line("test", held_out[f"{q:g}"], len(test)))
    return {"fitted_process": fitted, "lag_constraint_met": bool(within), "max_lag_frames": max_lag,
            "fps_assumed": fps, "noise": {"measurement_std_box_sides": measurement_std, "outlier_rate": outlier_rate,
                                          "outlier_scale": outlier_scale, "seed": seed},
            "train": {"sequences": len(train), "frames": int(sum(len(t.joints) for t in train)), "grid": rows},
            "held_out": {"sequences": len(test), "frames": int(sum(len(t.joints) for t in test)),
                         "by_process": held_out}}


def fit_process_noise(labels_dir, train_every: int = 3, test_every: int = 1, **kwargs) -> dict:
    """`fit_on_tracks` on Penn Action: every `train_every`-th training sequence, every `test_every`-th test one."""
    result = fit_on_tracks(load_tracks(labels_dir, "train", train_every), load_tracks(labels_dir, "test", test_every),
                           **kwargs)
    return {"labels": str(labels_dir), "train_every": train_every, "test_every": test_every, **result}


def _write_json(path: str, result: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


@click.command()
@click.option("--labels", required=True, help="Folder of Penn Action label files (NNNN.mat).")
@click.option("--json", "json_path", default=None, help="Write the result here.")
@click.option("--train-every", default=3, show_default=True, help="Use every k-th training sequence.")
@click.option("--test-every", default=1, show_default=True, help="Use every k-th held-out sequence.")
@click.option("--measurement-std", default=0.02, show_default=True, help="Noise std added to the labels, box sides.")
@click.option("--outlier-rate", default=0.0, show_default=True, help="Share of measurements with heavier noise.")
@click.option("--outlier-scale", default=5.0, show_default=True, help="Their noise std, times --measurement-std.")
@click.option("--max-lag", default=1.0, show_default=True, help="Largest lag (frames) the fitted value may have.")
@click.option("--seed", default=0, show_default=True, help="Seed of the measurement noise.")
def main(labels, json_path, train_every, test_every, measurement_std, outlier_rate, outlier_scale, max_lag, seed):
    """Fit the Kalman process noise to Penn Action's joint trajectories."""
    if not Path(labels).is_dir() or not any(Path(labels).glob("*.mat")):
        raise click.ClickException(f"{labels}: not a folder of Penn Action label files (*.mat)")
    if json_path and not Path(json_path).resolve().parent.is_dir():
        raise click.ClickException(f"{json_path}: its folder does not exist")
    t0 = time.perf_counter()
    result = fit_process_noise(labels, train_every, test_every, measurement_std=measurement_std,
                               outlier_rate=outlier_rate, outlier_scale=outlier_scale, max_lag=max_lag, seed=seed,
                               progress=lambda line: click.echo(line, err=True))
    result["seconds"] = round(time.perf_counter() - t0, 1)
    if json_path:
        _write_json(json_path, result)
    click.echo(f"fitted process noise {result['fitted_process']:g} box sides / s^1.5 "
               f"(lag <= {max_lag:g} frame{'' if result['lag_constraint_met'] else ' NOT met'}), "
               f"{result['seconds']:.0f} s" + (f", written to {json_path}" if json_path else ""))


if __name__ == "__main__":
    main()
