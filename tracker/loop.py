"""The per-frame tracking loop: seed the person box from the previous frame, run the cascade, detect loss,
re-acquire, smooth.

    tracker = Tracker(cascade, smoother=make_smoother("kalman"))
    for frame in open_source("clip.mp4"):
        r = tracker.step(frame)      # TrackResult: raw, smoothed, confidence, box, reacquired, lost

Box of frame t: the square box around the seed joints, `box_scale` times their extent. With `align` the box is
turned so that the seed joints' body axis, mid-hip to neck, is upright in every crop of the cascade
(`engines.geometry.oriented_box`, `body_angle`). Off by default: on the 10 LSP benchmark clips it lowered tracking
PCK@0.2 from 0.720 to 0.689 with the shipped model (a misplaced hip turns the next crop the wrong way). The seed joints come from a second, harder-smoothed Kalman filter
(`seed_smoother`), evaluated at frame t's timestamp (its position plus velocity x dt), so the crop follows the
motion instead of trailing it by a frame and does not jitter with the raw output.

Re-acquisition happens on the first frame and after a frame judged *lost*: no person (the model's presence
below its threshold), fewer than `min_seed_joints` joints in the picture, mean confidence of those below
`lost_conf`, or an implausible pose (torso diameter outside `torso_range` times the box side, or all joints
within `min_extent_px`). A joint the model says is not in the picture is NaN everywhere: in the outputs (an
empty cell, whatever the smoother would coast to), in the box of the next frame and in these checks. The box is then the
largest person found by OpenCV's HOG people detector (`cv2.HOGDescriptor_getDefaultPeopleDetector`, built into
OpenCV 4.x; OpenCV 5 dropped it, in which case this step is skipped) as a square, else the whole frame
(`engines.geometry.whole_image_box`). With `refine_reacquire` the cascade then runs a second time on the box
around its first answer (a whole-frame box is a poor crop for a small person); the better of the two (mean
confidence) is kept. Both smoothers restart on a re-acquired frame. Independent stills (`track=False`, image
folders) start from the whole image every frame and, with `refine_reacquire`, take `engines.recrop`'s passes.

Drift check: every `check_every` tracked frames the cascade also runs on the re-acquisition box; when the tracked
joints are on average more than `drift_torso` torso diameters from that fresh estimate, the frame is treated as
re-acquired from it. A seeded crop can lock onto a wrong pose that stays confident (LSP clip im1851: confidence
0.70 while every joint was wrong), which the loss checks above cannot see. On 20 tuning clips every 30 frames
raised tracking PCK@0.2 from 0.723 to 0.732 for one extra cascade call per 30 frames.

What the tracker does with the confidence (per joint, in [0, 1], from `CascadeResult.confidence`, e.g. the
agreement between cascade stages; when the cascade gives none, `stage_agreement_confidence` is used):
  1. loss detection: the mean confidence below `lost_conf` triggers re-acquisition on the next frame;
  2. smoothing: the Kalman measurement std is scaled by 1/confidence, and a joint below the smoother's
     `conf_threshold` is predicted instead of updated (see smoothing.py);
  3. crop seeding: only joints the seed filter still tracks (not NaN) shape the next box;
  4. output: it is written unchanged to every sink (the `_conf` CSV columns) and colours the rendered dots.
It is not a calibrated probability; treat it as a ranking (higher = more trustworthy).

The tracker follows one person (P = 1 box per cascade call).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from pose_track.engines.geometry import body_angle, box_from_joints, oriented_box, torso_diameter, whole_image_box
from pose_track.engines.joints import NUM_JOINTS
from pose_track.engines.recrop import MAX_PASSES, recrop

from .smoothing import DEFAULT_PARAMS, KalmanSmoother, make_smoother


@dataclass
class TrackResult:
    source: str
    index: int
    time_s: float
    raw: np.ndarray         # (14, 2) float32 cascade output, pixels
    smoothed: np.ndarray    # (14, 2) float32, NaN where not found
    confidence: np.ndarray  # (14,) float32 in [0, 1]
    box: tuple              # (cx, cy, side, angle) the cascade ran on; angle in degrees, the crop's turn
    reacquired: bool        # the box came from re-acquisition (first frame / after a loss)
    lost: str | None = None  # why this frame was judged lost (the next one re-acquires), else None


def stage_agreement_confidence(stages, torso: float, tau: float = 0.1) -> np.ndarray:
    """Fallback confidence: exp(-|last stage - previous stage| / (tau * torso)) per joint (1 with one stage)."""
    if len(stages) < 2:
        return np.ones(np.asarray(stages[-1]).shape[-2], np.float32)
    d = np.linalg.norm(np.asarray(stages[-1], np.float64) - np.asarray(stages[-2], np.float64), axis=-1)
    return np.exp(-d / max(tau * torso, 1e-6)).astype(np.float32)


class HogPersonDetector:
    """OpenCV's HOG + linear SVM people detector (no download). `available` is False when this OpenCV build
    has no HOG (OpenCV 5 moved it out of the main modules)."""

    def __init__(self, max_side: int = 640, box_scale: float = 1.1):
        self.available = hasattr(cv2, "HOGDescriptor")
        self.max_side = max_side
        self.box_scale = box_scale
        self._hog = None
        if self.available:
            try:
                self._hog = cv2.HOGDescriptor()
                self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
            except (cv2.error, AttributeError):
                self.available = False

    def __call__(self, image: np.ndarray):
        """The largest person as a square box (cx, cy, side), or None."""
        if self._hog is None:
            return None
        h, w = image.shape[:2]
        k = min(1.0, self.max_side / float(max(h, w)))
        small = cv2.resize(image, (int(w * k), int(h * k))) if k < 1.0 else image
        if small.shape[0] < 128 or small.shape[1] < 64:
            return None
        rects, _ = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return None
        x, y, rw, rh = max(rects, key=lambda r: r[2] * r[3])
        return ((x + rw / 2.0) / k, (y + rh / 2.0) / k, max(rw, rh) * self.box_scale / k)


def default_detector():
    det = HogPersonDetector()
    return det if det.available else None


class Tracker:
    """Single-person tracker around a cascade with `predict(image_bgr, boxes (P,3)) -> CascadeResult`."""

    def __init__(self, cascade, smoother=None, seed_smoother="auto", box_scale: float = 1.3,
                 detector="auto", lost_conf: float = 0.25,
                 torso_range=(0.04, 1.2), refine_reacquire: bool = True, track: bool = True,
                 min_seed_joints: int = 4, min_extent_px: float = 4.0, check_every: int = 30,
                 drift_torso: float = 0.5, align: bool = False):
        self.cascade = cascade
        self.smoother = smoother if smoother is not None else make_smoother("kalman")
        if seed_smoother == "auto":
            params = getattr(self.smoother, "params", DEFAULT_PARAMS)
            seed_smoother = KalmanSmoother(params.harder(2.0), NUM_JOINTS)
        self.seed_smoother = seed_smoother
        self.box_scale = box_scale
        self.detector = default_detector() if detector == "auto" else detector
        self.lost_conf = lost_conf
        self.torso_range = torso_range
        self.refine_reacquire = refine_reacquire
        self.track = track
        self.min_seed_joints = min_seed_joints
        self.min_extent_px = min_extent_px
        self.check_every = check_every
        self.drift_torso = drift_torso
        self.align = align
        self._since_check = 0
        self.model_s = 0.0
        self.cascade_calls = 0
        self.reacquisitions = 0
        self.reset()

    def reset(self) -> None:
        """Forget the track: the next frame re-acquires."""
        self._need_reacquire = True

    # ------------------------------------------------------------------------------------------ pieces
    def _predict(self, image: np.ndarray, box):
        """(joints (14, 2), NaN where not in the picture or nobody is there; confidence (14,), 0 there)."""
        t0 = time.perf_counter()
        res = self.cascade.predict(image, np.asarray([box], np.float32))
        self.model_s += time.perf_counter() - t0
        self.cascade_calls += 1
        self._last = res
        joints, conf = (np.asarray(a, np.float32)[0] for a in res.reported())
        if res.confidence is None:
            stages = [np.asarray(s)[0] for s in res.stages]
            conf = np.where(np.isfinite(joints).all(1), stage_agreement_confidence(stages, torso_diameter(joints)), 0)
        return joints, np.clip(np.nan_to_num(conf), 0.0, 1.0).astype(np.float32)

    def _predict_still(self, image: np.ndarray, box):
        def run(b):
            joints, conf = self._predict(image, b)
            return joints, (joints, conf)
        (joints, conf), box, _ = recrop(run, box, max_passes=MAX_PASSES if self.refine_reacquire else 1)
        return joints, conf, box

    def _clamp_box(self, box, h: int, w: int):
        cx, cy, side = (float(v) for v in box[:3])
        angle = float(box[3]) if len(box) > 3 else 0.0
        big = float(max(h, w))
        side = float(np.clip(side, max(8.0, 0.05 * big), 2.0 * big))
        cx = float(np.clip(cx, 0.0, w - 1.0))
        cy = float(np.clip(cy, 0.0, h - 1.0))
        return (cx, cy, side, angle)

    def _box_around(self, joints: np.ndarray, valid: np.ndarray, h: int, w: int):
        """The box around the joints, turned so that their body axis is upright (with `align`)."""
        angle = body_angle(joints, min_length=2.0) if self.align else 0.0
        return self._clamp_box(oriented_box(joints, self.box_scale, valid=valid, angle_deg=angle), h, w)

    def reacquire_box(self, image: np.ndarray):
        h, w = image.shape[:2]
        if self.track and self.detector is not None:
            box = self.detector(image)
            if box is not None:
                return self._clamp_box(box, h, w)
        return (*whole_image_box(h, w), 0.0)

    def seed_box(self, t: float, h: int, w: int):
        """The box for a frame at time t from the seed filter, or None when the track cannot seed it."""
        if self.seed_smoother is None:
            return None
        seed = self.seed_smoother.predict_at(t)
        if seed is None:
            return None
        ok = np.isfinite(seed).all(1)
        if ok.sum() < self.min_seed_joints:
            return None
        return self._box_around(seed, ok, h, w)

    def assess(self, joints: np.ndarray, conf: np.ndarray, box, shape, reacquired: bool = False) -> str | None:
        """Why this estimate means the track is lost, or None when it looks fine.

        The torso is compared with the box the cascade ran on; on a re-acquired frame (a whole-frame or detector
        box, whose size says little about the person's) with the box around the joints instead."""
        all_joints = joints
        found = np.isfinite(joints).all(1)
        if not found.any():
            return "no person"
        h, w = shape[:2]
        with np.errstate(invalid="ignore"):
            found &= (joints[:, 0] >= 0) & (joints[:, 0] <= w - 1) & (joints[:, 1] >= 0) & (joints[:, 1] <= h - 1)
        if found.sum() < self.min_seed_joints:
            return f"only {int(found.sum())} joints in the picture (the rest outside it)"
        mean_conf = float(conf[found].mean())
        if mean_conf < self.lost_conf:
            return f"low confidence ({mean_conf:.2f})"
        joints = joints[found]
        extent = float(np.max(np.ptp(joints, axis=0)))
        if extent < self.min_extent_px:
            return f"implausible pose ({extent:.1f} px across)"
        ref = box_from_joints(joints, self.box_scale)[2] if reacquired else float(box[2])
        ratio = torso_diameter(all_joints, found, fallback=0.0) / ref
        if ratio == 0.0:
            return None                      # no torso diagonal in the picture (a head-and-shoulders framing)
        lo, hi = self.torso_range
        if not lo <= ratio <= hi:
            return f"implausible pose (torso {ratio:.2f} x box)"
        return None

    def drifted(self, tracked: np.ndarray, fresh: np.ndarray) -> bool:
        """Whether the tracked joints left the person: their mean distance to a fresh estimate (from the
        re-acquisition box) is over `drift_torso` torso diameters of the fresh one. The confidence cannot tell:
        a crop locked onto a wrong pose can look as confident as a right one."""
        both = np.isfinite(tracked).all(1) & np.isfinite(fresh).all(1)
        if both.sum() < self.min_seed_joints:
            return False
        scale = max(torso_diameter(fresh, both), 1.0)
        return float(np.linalg.norm(tracked[both] - fresh[both], axis=1).mean()) > self.drift_torso * scale

    def _second_look(self, image, joints, conf, box, h: int, w: int):
        """Run again on the box around the joints the re-acquisition pass placed in the picture, and keep the
        better answer. Where that pass saw nobody, a person only the closer look finds must reach the model's
        `second_look_threshold` (see engines.recrop.predict_recropped)."""
        first = self._last
        placed = np.asarray(first.placed(), np.float32)[0]
        ok = np.isfinite(placed).all(1)
        if ok.sum() < self.min_seed_joints:
            return joints, conf, box
        box2 = self._box_around(placed, ok, h, w)
        j2, c2 = self._predict(image, box2)
        if not self._last.as_second_look(first).found[0]:
            return joints, conf, box
        if float(c2.mean()) >= float(conf.mean()):
            return j2, c2, box2
        return joints, conf, box

    # ------------------------------------------------------------------------------------------ step
    def step(self, frame) -> TrackResult:
        image = frame.image
        h, w = image.shape[:2]
        box = None
        if self.track and not self._need_reacquire:
            box = self.seed_box(frame.time_s, h, w)
        reacquired = box is None
        if reacquired:
            box = self.reacquire_box(image) if self.track else (*whole_image_box(h, w), 0.0)
            self.reacquisitions += 1
        if self.track:
            joints, conf = self._predict(image, box)
        else:
            joints, conf, box = self._predict_still(image, box)
        self._since_check = 0 if reacquired else self._since_check + 1     # stills are always re-acquired
        if self.check_every and self._since_check >= self.check_every:
            self._since_check = 0
            fresh_box = self.reacquire_box(image)
            fresh, fresh_conf = self._predict(image, fresh_box)
            if self.drifted(joints, fresh):
                joints, conf, box, reacquired = fresh, fresh_conf, fresh_box, True
                self.reacquisitions += 1
        if reacquired and self.track and self.refine_reacquire:
            joints, conf, box = self._second_look(image, joints, conf, box, h, w)
        lost = self.assess(joints, conf, box, image.shape, reacquired)
        self._need_reacquire = lost is not None
        if reacquired or not self.track:
            self.smoother.reset()
            if self.seed_smoother is not None:
                self.seed_smoother.reset()
        scale = float(box[2])
        smoothed = self.smoother.update(joints, conf, frame.time_s, scale)
        # Not in the picture now (or nobody there): an empty cell, whatever the filter would coast to.
        smoothed = np.where(np.isfinite(joints), smoothed, np.nan).astype(np.float32)
        if self.seed_smoother is not None and self.track:
            self.seed_smoother.update(joints, conf, frame.time_s, scale)
        return TrackResult(source=frame.source_name, index=frame.index, time_s=frame.time_s,
                           raw=joints, smoothed=smoothed, confidence=conf,
                           box=tuple(float(v) for v in box), reacquired=reacquired, lost=lost)
