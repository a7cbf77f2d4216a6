"""Whether the track is lost: the next frame then re-acquires the person.

Lost: no person (the model's presence below its threshold), fewer than `min_joints` joints in the picture, a
mean confidence of those below `min_conf`, or an implausible pose (torso diameter outside `torso_range` times
the box side, or all joints within `min_extent_px`). A joint the model says is not in the picture is NaN and
takes no part in these checks.
"""
from __future__ import annotations

import numpy as np

from pose_track.engines.geometry import PERSON_BOX_SCALE, box_from_joints, in_image, torso_diameter


class LossCheck:
    def __init__(self, min_conf: float = 0.25, torso_range=(0.04, 1.2), min_joints: int = 4,
                 min_extent_px: float = 4.0, box_scale: float = PERSON_BOX_SCALE):
        self.min_conf = min_conf
        self.torso_range = torso_range
        self.min_joints = min_joints
        self.min_extent_px = min_extent_px
        self.box_scale = box_scale

    def __call__(self, joints: np.ndarray, conf: np.ndarray, box, shape, reacquired: bool = False) -> str | None:
        """Why this estimate means the track is lost, or None when it looks fine.

        The torso is compared with the box the cascade ran on; on a re-acquired frame (a whole-frame or finder
        box, whose size says little about the person's) with the box around the joints instead."""
        found = np.isfinite(joints).all(1)
        if not found.any():
            return "no person"
        h, w = shape[:2]
        found &= in_image(joints, h, w)
        if found.sum() < self.min_joints:
            return f"only {int(found.sum())} joints in the picture (the rest outside it)"
        mean_conf = float(conf[found].mean())
        if mean_conf < self.min_conf:
            return f"low confidence ({mean_conf:.2f})"
        extent = float(np.max(np.ptp(joints[found], axis=0)))
        if extent < self.min_extent_px:
            return f"implausible pose ({extent:.1f} px across)"
        ref = box_from_joints(joints[found], self.box_scale)[2] if reacquired else float(box[2])
        ratio = torso_diameter(joints, found, fallback=0.0) / ref
        if ratio == 0.0:
            return None                      # no torso diagonal in the picture (a head-and-shoulders framing)
        lo, hi = self.torso_range
        if not lo <= ratio <= hi:
            return f"implausible pose (torso {ratio:.2f} x box)"
        return None
