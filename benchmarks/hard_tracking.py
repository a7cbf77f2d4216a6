"""The hard-clip tracking benchmark: track each hard clip (benchmarks/hard_clips.py) with the `Tracker` (Kalman
smoothing), run the single-image `PoseEstimator` on every frame as well, and measure against the ground truth.

    scene = street_scene("../shared/data/real/sports2d_demo.mp4")
    clips = make_hard_set("../shared/data/lsp", "runs/hard_clips", empty_scene=scene)   # [(video, truth)]
    rows, summary = benchmark_hard_clips(PoseEstimator(stills=False), clips)
    print(format_table(rows, summary))

Figures per clip (a joint counts where the truth has it in the picture; a joint not given is a miss):
- pck_single / pck_tracking / pck_kalman / pck_lookahead: PCK@0.2 of the single-image answer (the same estimator
  on the frame alone, `estimator(image)`), the tracker's raw cascade output, its Kalman track and the Kalman track
  with one frame of look-ahead (`--smooth lookahead`, the `video` default), over the frames with a person; `_fast`: the same on fast frames only (hard_clips.FAST_TORSO);
- nobody_reported_tracking / _single: the share of frames with nobody in the picture where any joint is given
  (tracking: the Kalman track; the look-ahead track gives joints on the same frames);
- cut_recovery_tracking / _single: per hard cut into a person, the frames from the cut to the first frame whose
  PCK@0.2 reaches FOUND_PCK (0 = found on the cut frame; None = not found before the shot ends);
  reentry_recovery_tracking: the same from the frame a person walking back in has ENTERED_JOINTS joints in the
  picture (found earlier: 0);
- accel_raw / accel_kalman / accel_lookahead: acceleration error (torso-normalised,
  training.metrics.acceleration_error) and accel_reduction_X = 1 - X / raw; lag_X (frames,
  training.metrics.lag_frames). Second
  differences and the lag are taken within shots (a NaN frame is put between shots);
- reacquisitions: the tracker's re-acquired frames.
The summary holds the clip means and, pooled over all clips, the recovery events (mean, max, share within 3).
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import fields

import cv2
import numpy as np

from pose_track.benchmarks.hard_clips import ClipTruth, plan_clip, write_clip
from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.opencv_files import FileAlias
from pose_track.engines.outputs import note_own_output, write_npz
from pose_track.tracker.capture import open_source
from pose_track.tracker.loop import Tracker
from pose_track.tracker.smoothing import Lookahead, make_smoother
from pose_track.training.metrics import acceleration_error, lag_frames

ALPHA = 0.2            # PCK@0.2
FOUND_PCK = 0.5        # a person counts as found on a frame whose PCK@0.2 reaches this
ENTERED_JOINTS = 10    # a person walking back in counts as in the picture from this many joints in it


def street_scene(video_path) -> np.ndarray | None:
    """The left 65 % of the last frame of sports2d_demo.mp4: a street with nobody in it (the man who ran off is
    behind the tree on the right). None when the video cannot be read."""
    with FileAlias(video_path) as name:
        cap = cv2.VideoCapture(name)
        last = None
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            last = frame
        cap.release()
    return None if last is None else np.ascontiguousarray(last[:, : int(0.65 * last.shape[1])])


TRACKED = ("raw", "kalman", "lookahead", "single", "reacquired", "confidence", "time_s", "box", "camera")  # track_clip


def clip_files(workdir, k: int) -> tuple:
    """The files of hard clip k in `workdir`: (video, truth, tracked) = hard_NN.mp4, hard_NN.npz,
    hard_NN_tracked.npz (benchmark_hard_clips's per-frame answers, save_to=workdir)."""
    stem = os.path.join(workdir, f"hard_{k:02d}")
    return f"{stem}.mp4", f"{stem}.npz", f"{stem}_tracked.npz"


_CLIP_FILE = re.compile(r"hard_(\d{2,})(\.mp4|\.npz|_tracked\.npz)")


def _npz_holds(path, names) -> bool:
    try:
        with np.load(path) as z:
            return sorted(z.files) == sorted(names)
    except Exception:            # not an npz (np.load raises what the bytes lead it to): not one of ours
        return False


def reads_as_clip_file(path) -> bool:
    """Whether `path`, found in a workdir without a list of pose-track's outputs (one an older pose-track wrote),
    is one of the hard set's files by its name and content: an npz holding exactly a ClipTruth's arrays
    (hard_NN.npz) or track_clip's (hard_NN_tracked.npz), or a video beside such a ClipTruth (hard_NN.mp4)."""
    folder, name = os.path.split(str(path))
    m = _CLIP_FILE.fullmatch(name)
    if m is None or not os.path.isfile(path):
        return False
    truth = os.path.join(folder, f"hard_{m.group(1)}.npz")
    if m.group(2) == "_tracked.npz":
        return _npz_holds(path, TRACKED)
    return _npz_holds(truth, [f.name for f in fields(ClipTruth)])


def make_hard_set(lsp_root, workdir, n_clips: int = 12, n_frames: int = 300, empty_scene=None,
                  size=(640, 480), fps: float = 30.0, progress=None) -> list:
    """Write hard_NN.mp4 and hard_NN.npz into `workdir`, three LSP test people per clip, spread over the test
    set (clip k: the k-th, (k + n)-th and (k + 2n)-th of 3n evenly spaced images), each listed as pose-track's
    own (engines.outputs). Returns [(video, truth)]. `progress(video)`: called before each clip is written."""
    from pose_track.training.cache import read_image
    from pose_track.training.datasets import lsp_test

    test = lsp_test(lsp_root)
    picks = ((0.5 + np.arange(3 * n_clips)) * len(test) / (3 * n_clips)).astype(int)
    clips = []
    for k in range(n_clips):
        people = [(read_image(test.paths[i]), test.joints[i], os.path.splitext(os.path.basename(test.paths[i]))[0])
                  for i in picks[k::n_clips]]
        plan = plan_clip(people, empty_scene, n_frames, size, fps, seed=k)
        video, truth, _ = clip_files(workdir, k)
        if progress is not None:
            progress(video)
        clips.append((video, write_clip(plan, video, truth, seed=k, written=note_own_output)))
    return clips


def track_clip(estimator: PoseEstimator, video, single_image: bool = True, **tracker_kwargs) -> dict:
    """Per-frame arrays: raw, kalman and lookahead (the tracker's; `--smooth lookahead`), single (the estimator on each frame alone), reacquired,
    and what a smoother needs: confidence, time_s, box (cx, cy, side, angle), camera (the camera's total shift)."""
    tracker = Tracker(estimator, smoother=make_smoother("kalman"), **tracker_kwargs)
    lookahead = Lookahead(tracker.smoother)
    results, ahead, single = [], [], []
    with open_source(str(video)) as src:
        for frame in src:
            results.append(tracker.step(frame))
            released = lookahead.push(None, results[-1])
            if released is not None:
                ahead.append(released[1].smoothed)
            if single_image:
                single.append(estimator(frame.image).joints)
    if results:
        ahead.append(lookahead.flush()[1].smoothed)

    def field(name, dtype=np.float64):
        return np.array([getattr(r, name) for r in results], dtype)

    return {"raw": field("raw"), "kalman": field("smoothed"), "lookahead": np.array(ahead, np.float64),
            "single": np.array(single, np.float64) if single_image else np.full((len(results), 14, 2), np.nan),
            "reacquired": field("reacquired", bool), "confidence": field("confidence"), "time_s": field("time_s"),
            "box": field("box"), "camera": field("camera")}


def _hits(pred, truth: ClipTruth) -> np.ndarray:
    """(N, 14) bool: within ALPHA torso diameters of the truth (a NaN on either side is no hit)."""
    with np.errstate(invalid="ignore"):
        return np.linalg.norm(pred - truth.joints, axis=-1) <= ALPHA * truth.torso[:, None]


def _pck(hits, visible) -> float:
    return float(hits[visible].mean()) if visible.any() else float("nan")


def frame_pck(pred, truth: ClipTruth) -> np.ndarray:
    """(N,) PCK@0.2 of each frame over the joints the truth has in the picture; NaN with none."""
    visible = np.isfinite(truth.joints).all(-1)
    count = visible.sum(1)
    return np.where(count > 0, (_hits(pred, truth) & visible).sum(1) / np.maximum(count, 1), np.nan)


def _frames_to_found(fpck, start: int, end: int):
    found = np.flatnonzero(fpck[start:end] >= FOUND_PCK)
    return int(found[0]) if len(found) else None


def _shot_end(truth: ClipTruth, t: int) -> int:
    later = np.flatnonzero(truth.shot[t:] != truth.shot[t])
    return t + int(later[0]) if len(later) else len(truth.shot)


def cut_recovery(fpck, truth: ClipTruth) -> list:
    """Per hard cut into a person: frames until found (None: not before the shot ends)."""
    return [_frames_to_found(fpck, c, _shot_end(truth, c)) for c in np.flatnonzero(truth.cut)
            if not truth.nobody[c]]


def reentry_recovery(fpck, truth: ClipTruth) -> list:
    """Per person walking back into the picture: frames from ENTERED_JOINTS joints in it until found (0: earlier)."""
    out = []
    for t in np.flatnonzero(truth.nobody[:-1] & ~truth.nobody[1:] & ~truth.cut[1:]) + 1:
        end = _shot_end(truth, t)
        entered = np.flatnonzero(np.isfinite(truth.joints[t:end]).all(-1).sum(1) >= ENTERED_JOINTS)
        if len(entered):
            found = _frames_to_found(fpck, t, end)
            out.append(None if found is None else max(0, found - int(entered[0])))
    return out


def _shots_apart(a, truth: ClipTruth) -> np.ndarray:
    """`a` with a NaN frame before every cut, so that second differences and lags stay within a shot."""
    return np.insert(np.asarray(a, np.float64), np.flatnonzero(truth.cut), np.nan, axis=0)


def clip_figures(out: dict, truth: ClipTruth) -> dict:
    visible = np.isfinite(truth.joints).all(-1)
    fast = visible & truth.fast[:, None]
    row = {"frames": len(truth.shot), "nobody_frames": int(truth.nobody.sum()), "fast_frames": int(truth.fast.sum()),
           "cuts": int(truth.cut.sum()), "people": [p for p in truth.people if p]}
    for name in ("single", "tracking", "kalman", "lookahead"):
        hits = _hits(out["raw" if name == "tracking" else name], truth)
        row[f"pck_{name}"], row[f"pck_{name}_fast"] = _pck(hits, visible), _pck(hits, fast)
    for name, key in (("tracking", "kalman"), ("single", "single")):
        given = np.isfinite(out[key]).all(-1).any(-1)
        row[f"nobody_reported_{name}"] = float(given[truth.nobody].mean()) if truth.nobody.any() else float("nan")
        row[f"cut_recovery_{name}"] = cut_recovery(frame_pck(out[key], truth), truth)
    row["reentry_recovery_tracking"] = reentry_recovery(frame_pck(out["kalman"], truth), truth)
    gt, torso = _shots_apart(truth.joints, truth), _shots_apart(truth.torso, truth)
    raw = _shots_apart(out["raw"], truth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)        # all-NaN slices where nobody was ever given
        row["accel_raw"], row["lag_raw"] = acceleration_error(raw, gt, torso), lag_frames(raw, gt)
        for name in ("kalman", "lookahead"):
            smoothed = _shots_apart(out[name], truth)
            row[f"accel_{name}"], row[f"lag_{name}"] = acceleration_error(smoothed, gt, torso), lag_frames(smoothed, gt)
    a = row["accel_raw"]
    for name in ("kalman", "lookahead"):
        row[f"accel_reduction_{name}"] = 1.0 - row[f"accel_{name}"] / a if a > 0 else float("nan")
    row["reacquisitions"] = int(np.sum(out["reacquired"]))
    return row


def _save_tracked(path, out: dict) -> None:
    write_npz(path, out, compressed=True)
    note_own_output(path)


def _events(values) -> dict:
    found = [v for v in values if v is not None]
    return {"events": len(values), "not_found": len(values) - len(found),
            "within_3": float(np.mean([v is not None and v <= 3 for v in values])) if values else float("nan"),
            "mean": float(np.mean(found)) if found else float("nan"), "max": max(found) if found else None}


def hard_clip_rows(estimator, clips, single_image: bool = True, save_to=None, **tracker_kwargs):
    """clips: [(video, ClipTruth or its npz path)]; each clip's row, clip by clip. `estimator`: a PoseEstimator,
    a cascade, or a factory ClipTruth -> cascade (for fakes). `save_to`: a folder for each clip's per-frame
    answers (<clip>_tracked.npz, listed as pose-track's own)."""
    for video, truth in clips:
        truth = truth if isinstance(truth, ClipTruth) else ClipTruth.load(truth)
        est = estimator
        if not isinstance(est, PoseEstimator):
            est = PoseEstimator(cascade=est if hasattr(est, "predict") else est(truth))
        name = os.path.splitext(os.path.basename(str(video)))[0]
        out = track_clip(est, video, single_image, **tracker_kwargs)
        if save_to is not None:
            _save_tracked(os.path.join(save_to, f"{name}_tracked.npz"), out)
        yield {"clip": name, **clip_figures(out, truth)}


def hard_summary(rows) -> dict:
    """The clips' mean figures and, pooled over them, the recovery events."""
    scalars = [k for k, v in rows[0].items() if isinstance(v, (int, float))] if rows else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = {"mean": {k: float(np.nanmean([r[k] for r in rows])) for k in scalars}}
    for key in ("cut_recovery_tracking", "cut_recovery_single", "reentry_recovery_tracking"):
        summary[key] = _events([v for r in rows for v in r[key]])
    return summary


def benchmark_hard_clips(estimator, clips, single_image: bool = True, save_to=None, **tracker_kwargs):
    """`hard_clip_rows` for every clip: (rows, summary)."""
    rows = list(hard_clip_rows(estimator, clips, single_image, save_to, **tracker_kwargs))
    return rows, hard_summary(rows)


COLUMNS = (("pck_single", "single"), ("pck_tracking", "track"), ("pck_kalman", "kalman"), ("pck_lookahead", "ahead"),
           ("pck_single_fast", "fast:sgl"), ("pck_tracking_fast", "fast:trk"), ("pck_kalman_fast", "fast:kal"),
           ("nobody_reported_tracking", "nobody:trk"), ("nobody_reported_single", "nobody:sgl"),
           ("accel_reduction_kalman", "acc-red:kal"), ("lag_kalman", "lag:kal"),
           ("accel_reduction_lookahead", "acc-red:ahd"), ("lag_lookahead", "lag:ahd"), ("reacquisitions", "reacq"))


def _recovery_text(values) -> str:
    return ",".join("-" if v is None else str(v) for v in values) or "."


def format_table(rows, summary) -> str:
    head = f"{'clip':8s}" + "".join(f"{title:>12s}" for _, title in COLUMNS) + "  cut:trk   cut:sgl   reentry"
    lines = [head]
    for r in rows:
        lines.append(f"{r['clip']:8s}" + "".join(f"{r[k]:12.3f}" for k, _ in COLUMNS) +
                     f"  {_recovery_text(r['cut_recovery_tracking']):9s} {_recovery_text(r['cut_recovery_single']):9s}"
                     f" {_recovery_text(r['reentry_recovery_tracking'])}")
    lines.append(f"{'mean':8s}" + "".join(f"{summary['mean'][k]:12.3f}" for k, _ in COLUMNS))
    for key in ("cut_recovery_tracking", "cut_recovery_single", "reentry_recovery_tracking"):
        e = summary[key]
        lines.append(f"{key}: {e['events']} events, within 3 frames {e['within_3']:.2f}, mean {e['mean']:.2f}, "
                     f"max {e['max']}, not found before the shot ended {e['not_found']}")
    lines.append("recovery columns: frames to PCK@0.2 >= 0.5 per event ('-': not found before the shot ended)")
    return "\n".join(lines)
