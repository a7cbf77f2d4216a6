"""Where the next frame's person box comes from: the seed filter, the person finder, and the drift check.

Box of frame t: the square box around the seed joints, `box_scale` times their extent. The seed joints come from
a second, harder-smoothed Kalman filter (the seed filter), evaluated at frame t's timestamp (its position plus
velocity x dt), so the crop follows the motion instead of trailing it by a frame and does not jitter with the
raw output. With `align` the box is turned so that the seed joints' body axis, mid-hip to neck, is upright in
every crop of the cascade (`engines.geometry.oriented_box`, `body_angle`). Off by default: turned crops gain
where the track holds, but a turn read from a wrong pose hands the next frame a wrong crop, and recovery after
cuts and re-entries suffers (docs/experiments.md, "Outlier gate": the body-aligned crops table).

Re-acquisition box: the person finder's (tracker.person_finder: stage 1's presence over a few windows of the
frame per call, those around the last tracked box first, then a closer look that must reach the model's
second-look presence). For `NEAR_FOR` frames after a loss of a track that held `NEAR_AFTER` frames or more (a
shorter one may have been a wrong pose, whose place and look would hold the search there) the finder looks
around the last box; where it finds nobody, `reacquire_box` gives None and the tracker takes the still-image
answer only for a person who looks like the tracked one (`tracker.appearance`), so that another person in view
does not take the track over (Sports2D's demo: the walker passing under the man in mid-flip). After that, or at
first sight, the whole frame (`engines.geometry.whole_image_box`) backs the finder up, and the tracker's second
look decides. A model without a presence output has no finder: the whole frame is the box.

Drift check: every `check_every` tracked frames the cascade also runs on the re-acquisition box; the fresh
estimate takes over only when it is elsewhere (the tracked joints are on average more than `drift_torso` torso
diameters from it) AND clearly better: a person found, presence at least the track's and mean confidence (0 for
a joint not in the picture) higher by `better_by`. A seeded crop can lock onto a wrong pose that stays
confident (LSP clip im1851: confidence 0.70 while every joint was wrong), which the loss checks cannot see; but
distance alone also threw correct tracks away for a folded estimate or another person (Sports2D's demo: the
man on the box for the walker the finder saw).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from pose_track.engines.geometry import (CUT_BODY_BOX_SCALE, PERSON_BOX_SCALE, body_angle, oriented_box,
                                         person_box_scale, torso_diameter, whole_image_box)

from .person_finder import PersonFinder
from .smoothing import DEFAULT_PARAMS, KalmanSmoother

NEAR_FOR = 60      # frames after a loss during which only the finder or the same-looking person re-acquires
NEAR_AFTER = 3     # ... of a track that held at least this many frames (a shorter one may have been a wrong pose)


def default_finder(cascade):
    """The person finder over this cascade, or None for a model that cannot say whether a person is there."""
    config = getattr(cascade, "config", None)
    if config is None or not config.architecture.person_head:
        return None
    return PersonFinder(cascade)


class BoxProposer:
    """The box each frame's cascade runs on: seeded from the track, or re-acquired."""

    def __init__(self, finder=None, seed_smoother="auto", params=DEFAULT_PARAMS, box_scale: float = PERSON_BOX_SCALE,
                 min_seed_joints: int = 4, check_every: int = 30, drift_torso: float = 0.5, better_by: float = 0.05,
                 align: bool = False, cut_box_scale: float = CUT_BODY_BOX_SCALE):
        self.finder = finder            # finder(image, near=None) -> Found (with .box), a box, or None
        # No outlier gate on the seed filter: the box must follow a joint that really moves at once (holding
        # it back a frame cost the hard clips 0.006 tracking PCK; docs/experiments.md, "Outlier gate"); one stray
        # joint hardly moves a box.
        self.seed_smoother = (KalmanSmoother(replace(params.harder(2.0), outlier_gate=0.0)) if seed_smoother == "auto"
                              else seed_smoother)
        self.box_scale = box_scale
        self.cut_box_scale = cut_box_scale
        self.min_seed_joints = min_seed_joints
        self.check_every = check_every
        self.drift_torso = drift_torso
        self.better_by = better_by
        self.align = align
        self.since_check = 0
        self.last_box = None            # the last tracked box, and frames since
        self.since_tracked = 0
        self.held = 0                   # frames in a row the track held up to the last tracked box

    def reset(self) -> None:
        if self.seed_smoother is not None:
            self.seed_smoother.reset()

    def forget(self) -> None:
        """Forget where the person was (and when the drift check last ran)."""
        self.reset()
        self.last_box, self.since_tracked, self.since_check, self.held = None, 0, 0, 0

    def clamp(self, box, h: int, w: int):
        """(cx, cy, side, angle) with the centre inside the frame and a side between 5 % and twice its size."""
        cx, cy, side = (float(v) for v in box[:3])
        angle = float(box[3]) if len(box) > 3 else 0.0
        big = float(max(h, w))
        side = float(np.clip(side, max(8.0, 0.05 * big), 2.0 * big))
        return (float(np.clip(cx, 0.0, w - 1.0)), float(np.clip(cy, 0.0, h - 1.0)), side, angle)

    def box_around(self, joints: np.ndarray, valid: np.ndarray, h: int, w: int, chest_up: bool = True):
        """The box around the joints, turned so that their body axis is upright (with `align`); larger where some
        joints are missing (out of the picture, or not found), as the estimator's closer box. chest_up False: a
        body without its hips is framed as any cut body, not as one framed from the chest up (for the second look
        after a re-acquisition, whose first look may have seen only the head and shoulders of a person walking in:
        the hard clips' hard_10 lost 0.02 PCK@0.2 with the chest-up box there; docs/experiments.md, "Framed from
        the chest up")."""
        angle = body_angle(joints, min_length=2.0) if self.align else 0.0
        scale = person_box_scale(valid, self.box_scale, self.cut_box_scale,
                                 chest_up=None if chest_up else self.cut_box_scale)
        return self.clamp(oriented_box(joints, scale, valid=valid, angle_deg=angle), h, w)

    def seed_box(self, t: float, h: int, w: int, camera=(0.0, 0.0)):
        """The box for a frame at time t from the seed filter, or None when the track cannot seed it. `camera`:
        the camera's total shift at that frame (`observe`)."""
        if self.seed_smoother is None:
            return None
        seed = self.seed_smoother.predict_at(t)
        if seed is None:
            return None
        seed = seed + np.asarray(camera)
        ok = np.isfinite(seed).all(1)
        if ok.sum() < self.min_seed_joints:
            return None
        return self.box_around(seed, ok, h, w)

    def near(self):
        """The last tracked box while the track was lost for less than NEAR_FOR frames after holding NEAR_AFTER
        frames or more, else None."""
        if self.last_box is None or self.since_tracked >= NEAR_FOR or self.held < NEAR_AFTER:
            return None
        return self.last_box

    def reacquire_box(self, image: np.ndarray):
        """Where the person is: the finder's box; where it finds nobody, None soon after a loss (only the tracked
        person may be taken: the tracker checks their look), else the whole frame (the tracker's second look
        decides)."""
        h, w = image.shape[:2]
        if self.finder is None:
            return (*whole_image_box(h, w), 0.0)
        near = self.near()
        found = self.finder(image, near=near)
        if found is not None:
            return self.clamp(getattr(found, "box", found), h, w)
        return None if near is not None else (*whole_image_box(h, w), 0.0)

    def check_due(self, reacquired: bool) -> bool:
        """Whether this tracked frame gets the drift check (every `check_every` frames since re-acquiring)."""
        self.since_check = 0 if reacquired else self.since_check + 1
        if self.check_every and self.since_check >= self.check_every:
            self.since_check = 0
            return True
        return False

    def drifted(self, tracked: np.ndarray, fresh: np.ndarray) -> bool:
        """Whether the tracked joints left the person: their mean distance to a fresh estimate (from the
        re-acquisition box) is over `drift_torso` torso diameters of the fresh one."""
        both = np.isfinite(tracked).all(1) & np.isfinite(fresh).all(1)
        if both.sum() < self.min_seed_joints:
            return False
        scale = max(torso_diameter(fresh, both), 1.0)
        return float(np.linalg.norm(tracked[both] - fresh[both], axis=1).mean()) > self.drift_torso * scale

    def takes_over(self, tracked, fresh) -> bool:
        """Whether the fresh estimate (a Pose from the re-acquisition box) replaces the tracked one."""
        if not fresh.found or not self.drifted(tracked.joints, fresh.joints):
            return False
        if tracked.presence is not None and fresh.presence is not None and fresh.presence < tracked.presence:
            return False
        return fresh.mean_confidence >= tracked.mean_confidence + self.better_by

    def _found_near(self, box) -> bool:
        """Whether a find continues the lost track that holds the search: within a box side of its last box. A
        find lost again at once then still keeps the search near (another person in view is not taken)."""
        near = self.near()
        return near is not None and float(np.hypot(box[0] - near[0], box[1] - near[1])) <= near[2]

    def observe(self, pose, t: float, camera=(0.0, 0.0), tracked: bool = True) -> None:
        """Feed this frame's answer to the seed filter; remember where the person was. `camera`: the camera's
        total shift at this frame (tracker.camera_motion): the filter follows the person less the camera's motion,
        so that a whip pan does not leave the next box behind. `tracked`: the loss checks passed this answer (only
        such frames count as the track holding)."""
        if self.seed_smoother is not None:
            self.seed_smoother.update(pose.joints - np.asarray(camera), pose.confidence, t,
                                      float(pose.box[2]))
        if pose.found and np.isfinite(pose.joints).all(1).sum() >= self.min_seed_joints:
            if tracked:
                self.held = self.held + 1 if not self.since_tracked or self._found_near(pose.box) else 1
            self.last_box, self.since_tracked = pose.box, 0
        else:
            self.since_tracked += 1
