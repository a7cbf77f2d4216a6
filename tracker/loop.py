"""The per-frame tracking loop: a box for this frame, the cascade on it, the loss check, smoothing.

    tracker = Tracker()              # the shipped video bundle; or Tracker(PoseEstimator(bundle, stills=False))
    r = tracker(image_bgr, time_s)   # TrackResult: the Pose, the smoothed joints, the track state
    for frame in open_source("clip.mp4"):
        r = tracker.step(frame)

Where each frame's box comes from (the seed filter, the person finder, the drift check): tracker.proposer. When the
track counts as lost: tracker.loss. Who the tracked person looks like, and where the shot changes (then the next
frame is a first sight, whoever is in view): tracker.appearance. How far the camera moved the picture since the
last frame: tracker.camera_motion; both filters (the seed filter that places the next box, and the smoother of the
outputs) follow the person less the camera's motion, so that a whip pan neither leaves the next box behind nor
drags the smoothed joints after it. A re-acquired frame takes a second look, on the
box around the joints the first pass placed in the picture (a whole-frame box is a poor crop for a small person):
where it finds nobody, nobody is there; else the better of the two (mean confidence) is kept; a person only that
look finds must reach the model's `second_look_threshold` (`PoseEstimator.confirm`). Both smoothers restart on a
re-acquired frame.

At first sight (a source's first frame, and the first after a shot change) where the look finds nobody, every
window of the person finder's cycle is looked at once (`person_finder.search_picture`, as `pose-track images`
searches a picture), so that a person already in view gets their joints on that frame, not only when the finder's
cycle of a few windows a frame reaches them (Sports2D's demo: the man from frame 0, not 2). It costs one batch
of stage-1 windows (18 at 640x480, 25 at 1280x720) once per shot.

Searching costs several times a tracked frame (the finder's windows, closer looks, the still-image answer). Once
nobody has been reported for `search_every_after` frames in a row, the tracker looks on every `search_every`-th
frame only, and the frames between get "no person" without a look (`TrackResult.lost` says so); a shot change
looks at once. A person walking in is then found up to `search_every - 1` frames later, and an empty room costs a
fraction of the CPU. Independent stills (`track=False`, image folders) are each the `PoseEstimator`'s answer, as
`pose-track images` gives it.

A joint the model says is not in the picture, and every joint where nobody is there, is NaN everywhere: in the
outputs (an empty cell, whatever the smoother would coast to), in the box of the next frame and in the checks.

The confidence (per joint, in [0, 1], `Pose.confidence`): loss detection (mean below the loss check's
`min_conf`), smoothing (the Kalman measurement std is scaled by 1/confidence, see smoothing.py), and every sink.
The tracker follows one person.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import numpy as np

from pose_track.engines.cascade import as_picture
from pose_track.engines.estimator import MAX_PASSES, Pose, PoseEstimator
from pose_track.engines.geometry import whole_image_box
from pose_track.engines.timing import NO_TIMES

from .appearance import Appearance
from .camera_motion import CameraMotion
from .capture import Frame
from .loss import LossCheck
from .person_finder import search_picture
from .proposer import BoxProposer, default_finder
from .smoothing import DEFAULT_PARAMS, make_smoother, where_measured

SEARCH_EVERY_AFTER = 150    # frames in a row with nobody reported (5 s at 30 frames/s), then ...
SEARCH_EVERY = 3            # ... a search on every this many frames


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
    pose: Pose | None = None  # the estimator's answer on this frame (presence, in-picture, stages)
    camera: tuple = (0.0, 0.0)  # the camera's total shift (dx, dy) since the first frame; the smoothers work on
    #                             the joints less it (tracker.camera_motion)


class Tracker:
    """Single-person tracker. `estimator`: a PoseEstimator (default: the shipped video bundle's), or a cascade
    (`predict(image, boxes) -> CascadeResult`) to make one from. `refine_reacquire`: the second look on re-acquired frames (and the
    estimator's closer passes on stills). `search_every`, `search_every_after`: how often a long search looks
    (the module's docstring; 1 looks on every frame)."""

    def __init__(self, estimator=None, smoother=None, proposer: BoxProposer | None = None, loss: LossCheck | None = None,
                 track: bool = True, refine_reacquire: bool = True, finder="auto", appearance: Appearance | None = None,
                 search_every: int = SEARCH_EVERY, search_every_after: int = SEARCH_EVERY_AFTER):
        if estimator is None:
            estimator = PoseEstimator(stills=False, max_passes=MAX_PASSES if refine_reacquire else 1)
        elif not isinstance(estimator, PoseEstimator):
            estimator = PoseEstimator(cascade=estimator, max_passes=MAX_PASSES if refine_reacquire else 1)
        self.estimator = estimator
        self.smoother = smoother if smoother is not None else make_smoother("kalman")
        if proposer is None:
            finder = default_finder(estimator.cascade) if finder == "auto" else finder
            proposer = BoxProposer(finder, params=getattr(self.smoother, "params", DEFAULT_PARAMS))
        self.proposer = proposer
        self.appearance = appearance or Appearance()
        self.camera = CameraMotion()
        self.camera_total = np.zeros(2)     # the camera's shift since the first frame (pixels)
        self.loss = loss or LossCheck()
        self.track = track
        self.refine_reacquire = refine_reacquire
        if search_every < 1 or search_every_after < 0:
            raise ValueError("search_every must be at least 1 and search_every_after at least 0")
        self.search_every, self.search_every_after = search_every, search_every_after
        self.nobody_for = 0             # frames in a row with nobody reported
        self._frame_size = None         # (h, w) of the last frame tracked
        self.model_s = 0.0
        self.reacquisitions = 0
        self._frames_given = 0
        self.times = NO_TIMES
        if hasattr(estimator.cascade, "warm_up"):
            estimator.cascade.warm_up({1, *getattr(self.proposer.finder, "batch_sizes", ())})
        self.reset()

    def reset(self) -> None:
        """Forget the track: the next frame re-acquires anywhere."""
        self._need_reacquire = True
        self._first_sight = True
        self.nobody_for = 0
        self.proposer.forget()
        self.appearance.forget()
        self.camera.reset()

    def time_parts(self, times) -> None:
        """Time this tracker's parts (and its cascade's) into `times`, an engines.timing.PartTimes."""
        self.times = times
        if hasattr(self.estimator.cascade, "times"):
            self.estimator.cascade.times = times

    @property
    def cascade_calls(self) -> int:
        return self.estimator.calls

    def _timed(self, fn, *args):
        t0 = time.perf_counter()
        result = fn(*args)
        self.model_s += time.perf_counter() - t0
        return result

    def _second_look(self, image: np.ndarray, first: Pose) -> Pose:
        """A look at the box around the joints `first` placed in the picture. Where it finds nobody, nobody is
        there: a re-acquisition box (the whole frame, a finder's box) frames a person loosely, and on an empty
        scene the whole frame can read as a person (Sports2D's demo after the people left: presence 0.6-0.85 on
        the whole frame, under 0.1 on the closer box). Where it finds the person, the better of the two."""
        placed = np.isfinite(first.placed).all(1)
        if placed.sum() < self.proposer.min_seed_joints:
            return first
        box = self.proposer.box_around(first.placed, placed, *image.shape[:2], chest_up=False)
        second = self.estimator.confirm(self._timed(self.estimator.look, image, box), first)
        if not second.found and second.presence is not None:
            return second
        if second.found and second.mean_confidence >= first.mean_confidence:
            return second
        return first

    def _whole_frame_if_same(self, image: np.ndarray) -> Pose:
        """Soon after a loss, where the finder saw nobody near the person's last place: the still-image answer
        (`PoseEstimator`: the whole frame, then closer looks, so that a small person is found too), kept only for
        a person the model is sure of (the second-look presence) who looks like the tracked one: a whip pan or a
        fast turn moved them, and another person in view must not take the track over."""
        pose = self._timed(self.estimator, image)     # the still-image answer: whole frame, then closer
        sure = pose.presence is None or pose.presence >= pose.second_look_threshold
        if pose.found and sure and self.appearance.same_person(image, pose.joints):
            return pose
        return Pose.nobody(whole_image_box(*image.shape[:2]))

    def skips_search(self) -> bool:
        """Whether this frame, in a long search, gets "no person" without a look (the module's docstring)."""
        waited = self.nobody_for - self.search_every_after
        return (self._need_reacquire and self.nobody_for > 0 and waited >= 0
                and waited % self.search_every != self.search_every - 1)

    def _track(self, frame, image: np.ndarray) -> tuple:
        """(pose, reacquired, skipped) for a tracked frame; skipped: no look (a long search's frame between)."""
        h, w = image.shape[:2]
        with self.times("re-acquisition"):
            # Another shot, or a picture of another size (a stream that changed its resolution: the track's boxes
            # are in the old picture's pixels): a first sight, whoever is in view.
            if self.appearance.saw_cut(image) or (h, w) != self._frame_size:
                self.reset()
            self._frame_size = (h, w)
        with self.times("camera motion"):
            self.camera_total = self.camera_total + self.camera.shift(image)
        if self.skips_search():
            return Pose.nobody(whole_image_box(h, w)), True, True
        box = None if self._need_reacquire else self.proposer.seed_box(frame.time_s, h, w, self.camera_total)
        reacquired = box is None
        if reacquired:
            with self.times("re-acquisition"):
                box = self._timed(self.proposer.reacquire_box, image)     # the finder runs the model too
            self.reacquisitions += 1
            if box is None:                     # the finder saw nobody around the person's last place
                return self._whole_frame_if_same(image), True, False
        pose = self._timed(self.estimator.look, image, box)
        looked_closer = False           # the still-image answer: its closer looks are done
        if reacquired and self.proposer.near() is None and tuple(box) != (*whole_image_box(h, w), 0.0):
            # At first sight the finder's box can cut a person (a window's joints); the still-image answer (the
            # whole frame, then closer looks) is taken too and the better kept (plain LSP clips: 0.674 tracking
            # PCK with the finder's box alone, 0.720 with a whole-frame look, docs/experiments.md "The finder in the
            # tracker"; after a hard cut the closer looks find the person where the whole frame alone placed a
            # wrong pose).
            other = self._timed(self.estimator, image)
            if other.found and other.mean_confidence > pose.mean_confidence:
                pose, looked_closer = other, True
        if self.proposer.check_due(reacquired):
            with self.times("re-acquisition"):
                fresh_box = self._timed(self.proposer.reacquire_box, image)
            fresh = None if fresh_box is None else self._timed(self.estimator.look, image, fresh_box)
            if fresh is not None and self.proposer.takes_over(pose, fresh):
                pose, reacquired, looked_closer = fresh, True, False
                self.reacquisitions += 1
        if reacquired and self.refine_reacquire and not looked_closer:
            pose = self._second_look(image, pose)
        if self._first_sight:
            self._first_sight = False
            if reacquired and not pose.found and self.proposer.finder is not None:
                with self.times("re-acquisition"):      # the finder's whole cycle of windows, as `images` searches
                    pose = self._timed(self.estimator.searched, image, pose,
                                       partial(search_picture, self.estimator.cascade))
        return pose, reacquired, False

    def __call__(self, image: np.ndarray, time_s: float, index: int | None = None, source: str = "") -> TrackResult:
        """Track a frame given as a BGR image and its time in seconds."""
        index = self._frames_given if index is None else index
        self._frames_given += 1
        return self.step(Frame(index, float(time_s), image, source))

    def step(self, frame) -> TrackResult:
        skipped = False
        image = as_picture(frame.image)
        if self.track:
            pose, reacquired, skipped = self._track(frame, image)
        else:
            pose, reacquired = self._timed(self.estimator, image), True
            self.reacquisitions += 1
        if skipped:
            lost = f"no person (not looked: a long search looks on one frame in {self.search_every})"
        else:
            lost = self.loss(pose.joints, pose.confidence, pose.box, image.shape, reacquired)
        self._need_reacquire = lost is not None
        self.nobody_for = 0 if np.isfinite(pose.joints).any() else self.nobody_for + 1
        with self.times("smoothing"):
            if reacquired:
                self.smoother.reset()
                self.proposer.reset()
            scale = float(pose.box[2])
            camera = self.camera_total if self.track else np.zeros(2)
            # Independent stills are not smoothed: each is the estimator's answer, as `images` gives it.
            smoothed = (self.smoother.update(pose.joints - camera, pose.confidence, frame.time_s, scale) + camera
                        if self.track else pose.joints.copy())
            # Not in the picture now (or nobody there): an empty cell, whatever the filter would coast to.
            smoothed = where_measured(smoothed, pose.joints)
            if self.track:
                self.proposer.observe(pose, frame.time_s, camera, tracked=lost is None)
        if self.track and lost is None and pose.found:
            with self.times("re-acquisition"):      # the look that re-acquisition compares with
                self.appearance.learn(image, pose.joints)
        return TrackResult(source=frame.source_name, index=frame.index, time_s=frame.time_s,
                           raw=pose.joints, smoothed=smoothed, confidence=pose.confidence, box=pose.box,
                           reacquired=reacquired, lost=lost, pose=pose, camera=tuple(float(v) for v in camera))
