"""The pose of one person in a picture, the way every command reports it.

    estimator = PoseEstimator()                       # the shipped stills bundle on ONNX Runtime, CPU
    pose = estimator(image_bgr)                       # the whole image is the first box
    pose = estimator(image_bgr, box=(cx, cy, side))   # or a person box of yours
    pose.joints, pose.confidence, pose.in_picture, pose.presence, pose.found

The box and recrop policy live here, once. A whole-image box is a poor crop when the person fills only part of
the picture: stage 1 sees them at a fraction of its input. Each further pass crops the square box around the
previous answer (`PERSON_BOX_SCALE` times the joints' extent, as the tracker seeds its boxes) and stops once
that box differs from the one just used by less than `TOLERANCE` (relative change of side, or centre shift over
side), or after `MAX_PASSES`. Measured on LSP test (`results/recrop.json`): on the tight LSP images 1.35 passes
on average and PCK@0.2 0.769 -> 0.774; with each image centred on a canvas twice its size, 0.462 -> 0.759.

Where the last pass called some joints out of the picture, the next box is `CUT_BODY_BOX_SCALE` (1.85) times the
placed joints' extent instead: a box tight around the joints that are left cuts the body where the last pass
lost it (a missed ankle stays outside) and shows a waist-up person larger than any training crop. On the last
500 LSP-extended images (held out of training; stills bundle): PCK@0.2 0.668 -> 0.687; the 70 of them cut
between hips and knees: 0.477 -> 0.616, legs reported inside 7 % -> 16 % (1.3 for every box: 0.668 / 0.477;
2.0 for every box: video bundle 0.585 on the whole images; docs/experiments.md, "A wider closer box for a body the
picture cuts"). Where both hips are out too (a body framed from the chest up: the head, shoulders and arms left
span a small share of the body), the box is `CHEST_UP_BOX_SCALE` (2.8) times their extent: on held-out people
framed so, PCK@0.2 of the joints in the picture 0.661 -> 0.757 (docs/experiments.md, "Framed from the chest up").

Where that last, wider look still called some joints out of the picture, its knees and ankles get a second
opinion: one more look on the box `LEG_CHECK_BOX_SCALE` (1.5) times the extent of the joints in the picture, which
frames the body ending at the picture's edge as training's cut crops do, and a knee or ankle that look calls out
of the picture is reported empty. A wide box shows a cut person in context (better placed joints) but also room
where the model folds legs into the torso. Held-out split, waist-up people: legs reported inside 17.1 % -> 13.2 %
(video bundle; INT8 19.3 -> 16.1, stills 15.7 -> 12.9) at the same waist-up PCK, whole images -0.0002 to -0.0003.
Every joint kept, or the closer look said out, for a second opinion on all joints: waist-up PCK -0.018
(docs/experiments.md, "A second opinion on the legs of a cut body"). Where a pass saw the body framed from the chest
up (and widened the box for it), the hips get the same second opinion: the wide box places them inside the picture,
at its bottom edge, on a fifth of such people (a second opinion on the hips of every cut body cost the held-out
waist-up people 0.009 PCK@0.2; docs/experiments.md, "Framed from the chest up").

Still pictures (`pose-track images`, `eval`, a folder given to `video`; not the tracker's looks) get two more:
- a look past the crop: where a pass's crop ends inside the picture below the body (neck to hips) and the legs
  are missing, the crop may have cut them, not the picture: one look on a box `LOOK_PAST_CROP_SCALE` (2.2) times
  wider, moved `LOOK_PAST_CROP_SHIFT` (0.6) crop sides down the body, kept where it finds the person and places
  more joints. Where the picture itself ends below the body (the crop's edge within `LOOK_PAST_CROP_ROOM`, a tenth
  of its height, of its bottom), the legs are out of it and no look is taken (with a fiftieth: legs reported inside
  waist-up people 12.3 / 17.3 / 19.0 % instead of 12.1 / 17.0 / 18.8 %; docs/experiments.md, "Still pictures with
  two people: a search, and a look past the crop").
- a search where the whole picture reads as nobody (two people in view, a small person): every window of the
  person finder's cycle in one finder call (`tracker.person_finder.search_picture`, in backend calls of a bounded
  batch), the answer from its box kept only at the model's `second_look_threshold`, as for a person only a closer
  look found.
OpenCV's basketball photos (a whole player and one cut by the frame) read as nobody on the whole picture, and as
the player's upper body from the finder's window alone; with both, the whole player (`results/sheets/
real_photos.png`). Measured with the stills / video / INT8 bundles (`results/stills_v9/`): person-free pictures
with a pose 0 / 2 / 3 of 83, LSP test people found 1000 of 1000, PCK@0.2 0.784 / 0.766 / 0.765, waist-up PCK
0.778 / 0.753 / 0.751 with legs reported inside 12.1 / 17.0 / 18.8 %. In the tracker the look past the crop (with a
fiftieth's room) cost the hard clips 0.001 (look-ahead 0.683 -> 0.682; docs/experiments.md, "Still pictures with
two people"): it is for still pictures only.

The passes follow the joints the model places in the picture even when the first box says nobody is there (a
small person in a large picture); a person found only that way must then reach the model's
`second_look_threshold` (on held-out LSP-extended images and person-free regions: 11 of 200 people missed and 2
of 83 empty pictures reported, against 6 and 8 at the plain threshold and 53 and 1 without a second look;
docs/experiments.md, "Presence and in-picture (model v2)").

A picture with a side under `MIN_PICTURE_SIDE` pixels (engines.geometry: a strip a few pixels high) holds nobody
the model can see: every look there answers nobody without running the model.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .backends import load_cascade
from .geometry import (HIPS, NECK, box_from_joints, framed_from_chest_up, person_box_scale, too_small_for_a_person,
                       torso_diameter, whole_image_box)
from .joints import J, NUM_JOINTS

MAX_PASSES = 3
LEG_CHECK_BOX_SCALE = 1.5
LOOK_PAST_CROP_SCALE = 2.2     # the look past a crop that cut the body: this many times the crop's side ...
LOOK_PAST_CROP_SHIFT = 0.6     # ... moved this many crop sides down the body (neck to hips), where the crop ends
LOOK_PAST_CROP_ROOM = 0.1      # at least this share of the picture's height above its bottom
LEG_JOINTS = np.isin(np.arange(NUM_JOINTS), [J[f"{side}_{part}"] for side in "rl" for part in ("knee", "ankle")])
HIP_JOINTS = np.isin(np.arange(NUM_JOINTS), list(HIPS))
TOLERANCE = 0.1
MIN_JOINTS = 2


@dataclass
class Pose:
    """One person's pose in picture pixels. A joint not in the picture, and every joint when nobody is there,
    is NaN with confidence 0: an empty cell in every output."""
    joints: np.ndarray            # (14, 2) float32
    confidence: np.ndarray        # (14,) float32, P(joint within 0.2 torso diameters of the truth)
    in_picture: np.ndarray        # (14,) bool, whether or not a person is there
    presence: float | None        # P(a person framed in the box); None: the model cannot say
    found: bool                   # a person is there
    box: tuple                    # (cx, cy, side, angle) the last pass ran on
    stages: list = field(default_factory=list)   # per cascade stage (14, 2), masked as `joints`
    placed: np.ndarray | None = None   # (14, 2) the joints placed in the picture even where nobody was found
    passes: int = 1
    second_look_threshold: float = 0.9   # the presence a person only a closer look finds must reach

    @property
    def mean_confidence(self) -> float:
        return float(self.confidence.mean())

    @classmethod
    def nobody(cls, box) -> "Pose":
        """The answer where nobody was found and the cascade did not run: every joint empty."""
        nan = np.full((NUM_JOINTS, 2), np.nan, np.float32)
        box = tuple(float(v) for v in box) + ((0.0,) if len(box) == 3 else ())
        return cls(nan, np.zeros(NUM_JOINTS, np.float32), np.zeros(NUM_JOINTS, bool), 0.0, False, box, [nan],
                   nan.copy(), 0)


def stage_agreement_confidence(stages, torso: float, tau: float = 0.1) -> np.ndarray:
    """Confidence for a cascade that gives none: exp(-|last stage - previous stage| / (tau * torso))."""
    if len(stages) < 2:
        return np.ones(np.asarray(stages[-1]).shape[-2], np.float32)
    d = np.linalg.norm(np.asarray(stages[-1], np.float64) - np.asarray(stages[-2], np.float64), axis=-1)
    return np.exp(-d / max(tau * torso, 1e-6)).astype(np.float32)


def pose_from_result(result, box, passes: int = 1) -> Pose:
    """The Pose of the first person of a CascadeResult, as the user gets it."""
    joints, conf = (np.asarray(a, np.float32)[0] for a in result.reported())
    if result.confidence is None:
        stages = [np.asarray(s)[0] for s in result.stages]
        conf = np.where(np.isfinite(joints).all(1), stage_agreement_confidence(stages, torso_diameter(joints)), 0)
    conf = np.clip(np.nan_to_num(conf), 0.0, 1.0).astype(np.float32)
    presence = None if result.presence is None else float(result.presence[0])
    stages = [result.reported(s)[0][0] for s in result.stages]
    box = tuple(float(v) for v in box) + ((0.0,) if len(box) == 3 else ())
    return Pose(joints, conf, np.asarray(result.in_picture[0], bool), presence, bool(result.found[0]), box,
                stages, np.asarray(result.placed(), np.float32)[0], passes, result.second_look_threshold)


def box_change(old, new) -> float:
    """How far `new` (cx, cy, side) is from `old`: the larger of |log side ratio| and centre shift / old side."""
    (ox, oy, oside), (nx, ny, nside) = old[:3], new[:3]
    return max(abs(float(np.log(nside / oside))), float(np.hypot(nx - ox, ny - oy)) / oside)


class PoseEstimator:
    """`PoseEstimator(bundle=None, backend=None)(image, box=None) -> Pose`.

    bundle: an engine bundle folder (default: the shipped stills bundle; `stills=False`: the shipped video
    bundle, the tracker's); backend: its backend name (default: the one it was built for); `cascade`: an
    already made cascade instead (a checkpoint: `engines.torch_backend.load_any_cascade`; a test fake).
    `max_passes`: 1 runs the first box only. For still pictures (the commands' `load_estimator(stills=True)`):
    `search`, search(image) -> a person's box or None, tried where the whole picture reads as nobody
    (tracker.person_finder.search_picture; None: not tried), and `look_past_crop`, a look past a crop that cut
    the legs inside the picture (`look_past_crop`). options: the backend's (e.g. threads)."""

    def __init__(self, bundle: str | None = None, backend: str | None = None, *, stills: bool = True,
                 cascade=None, max_passes: int = MAX_PASSES, search=None, look_past_crop: bool = False, **options):
        self.cascade = cascade if cascade is not None else load_cascade(bundle, backend, stills=stills, **options)
        self.max_passes = max_passes
        self.search = search
        self.looks_past_crop = look_past_crop
        self.calls = 0

    @property
    def config(self):
        return self.cascade.config

    def look(self, image: np.ndarray, box, rgb: bool = False) -> Pose:
        """One cascade pass on `box` ((cx, cy, side) or with an angle: the crops turned by it); nobody, without a
        pass, in a picture too small to hold a person."""
        if too_small_for_a_person(*image.shape[:2]):
            return Pose.nobody(box)
        self.calls += 1
        boxes = np.asarray(box, np.float32).reshape(1, -1)
        result = self.cascade.predict(image, boxes, rgb=rgb) if rgb else self.cascade.predict(image, boxes)
        return pose_from_result(result, box)

    @staticmethod
    def closer_box(pose: Pose):
        """The box around the joints `pose` placed in the picture (also where it found nobody), or None; larger
        where some joints are out of the picture (the module's docstring)."""
        placed = np.isfinite(pose.placed).all(1)
        if placed.sum() < MIN_JOINTS:
            return None
        return box_from_joints(pose.placed, person_box_scale(placed), valid=placed)

    def confirm(self, closer: Pose, first: Pose) -> Pose:
        """`closer`, a look at what `first` placed in the picture: where `first` saw nobody, a person counts as
        found only from the model's `second_look_threshold` (the closer box is centred on whatever it saw)."""
        if first.presence is not None and not first.found and closer.found:
            if closer.presence < closer.second_look_threshold:
                closer = _nobody(closer)
        return closer

    def __call__(self, image: np.ndarray, box=None, rgb: bool = False) -> Pose:
        if box is None:
            pose = self._answer(image, whole_image_box(*image.shape[:2]), rgb)
            if pose.found or self.search is None:
                return pose
            return self.searched(image, pose, self.search, rgb)
        return self._answer(image, box, rgb)

    def searched(self, image: np.ndarray, pose: Pose, search, rgb: bool = False) -> Pose:
        """Where `pose` found nobody: the answer on the box `search(image)` gives, kept only as sure as a second
        look (a person only a window saw), else `pose`."""
        found = search(np.ascontiguousarray(image[..., ::-1]) if rgb else image)     # the finder reads BGR
        if found is None:
            return pose
        other = self._answer(image, found, rgb)
        sure = other.presence is None or other.presence >= other.second_look_threshold
        return other if other.found and sure else pose

    def _answer(self, image: np.ndarray, box, rgb: bool) -> Pose:
        first = pose = self.look(image, box, rgb)
        chest_up = False            # a pass saw the body framed from the chest up (and widened the box for it)
        while pose.passes < self.max_passes:
            new_box = self.closer_box(pose)
            if new_box is None or box_change(pose.box, new_box) < TOLERANCE:
                break
            passes, chest_up = pose.passes, chest_up or framed_from_chest_up(np.isfinite(pose.placed).all(1))
            pose = self.look(image, new_box, rgb)
            pose.passes = passes + 1
        if pose is first:
            return self.look_past_crop(image, pose, rgb) if self.looks_past_crop else pose
        pose = self.confirm(pose, first)
        if self.looks_past_crop:
            pose = self.look_past_crop(image, pose, rgb)
        return self.check_legs(image, pose, rgb, hips=chest_up)

    def look_past_crop(self, image: np.ndarray, pose: Pose, rgb: bool = False) -> Pose:
        """Where the crop ends inside the picture below the body (neck to hips) and the legs are missing, the crop,
        not the picture, may have cut them: one look on a box LOOK_PAST_CROP_SCALE times wider, moved down the
        body, kept where it finds the person and places more joints (the module's docstring)."""
        placed = np.isfinite(pose.placed).all(1)
        if not pose.found or not (LEG_JOINTS & ~placed).any() or not placed[[NECK, *HIPS]].all():
            return pose
        axis = pose.placed[list(HIPS)].mean(0) - pose.placed[NECK]
        length = float(np.hypot(*axis))
        if length < 1e-3:
            return pose
        cx, cy, side = pose.box[:3]
        down = axis / length
        h, w = image.shape[:2]
        edge = np.array([cx, cy]) + down * side / 2          # the crop's edge below the body
        if not (0 <= edge[0] < w and 0 <= edge[1] < h - LOOK_PAST_CROP_ROOM * h):
            return pose                                       # the picture ends there: the legs are out of it
        centre = np.array([cx, cy]) + down * LOOK_PAST_CROP_SHIFT * side
        wider = self.look(image, (float(centre[0]), float(centre[1]), LOOK_PAST_CROP_SCALE * side), rgb)
        if wider.found and np.isfinite(wider.joints).all(1).sum() > np.isfinite(pose.joints).all(1).sum():
            wider.passes = pose.passes + 1
            return wider
        return pose

    def check_legs(self, image: np.ndarray, pose: Pose, rgb: bool = False, hips: bool = False) -> Pose:
        """`pose` (a closer look that called some joints out of the picture) without the knees and ankles that a
        look on the box tight around its joints in the picture calls out of it (the module's docstring); with
        `hips`, the hips too (a body a pass saw framed from the chest up)."""
        placed = np.isfinite(pose.placed).all(1)
        if not pose.found or placed.all() or placed.sum() < MIN_JOINTS:
            return pose
        tight = self.look(image, box_from_joints(pose.placed, LEG_CHECK_BOX_SCALE, valid=placed), rgb)
        checked = LEG_JOINTS | (HIP_JOINTS & hips)
        drop = checked & ~np.isfinite(tight.joints).all(1) & np.isfinite(pose.joints).all(1)
        if not tight.found or not drop.any():
            return pose
        keep = ~drop[:, None]
        return replace(pose, joints=np.where(keep, pose.joints, np.float32(np.nan)),
                       confidence=np.where(drop, np.float32(0), pose.confidence),
                       in_picture=pose.in_picture & ~drop,
                       stages=[np.where(keep, st, np.float32(np.nan)) for st in pose.stages],
                       placed=np.where(keep, pose.placed, np.float32(np.nan)))


def _nobody(pose: Pose) -> Pose:
    nan = np.full_like(pose.joints, np.nan)
    return Pose(nan, np.zeros_like(pose.confidence), pose.in_picture, pose.presence, False, pose.box,
                [nan.copy() for _ in pose.stages], pose.placed, pose.passes, pose.second_look_threshold)
