"""The backend-agnostic cascade: numpy in, numpy out.

A backend runs one stage on a float32 NCHW batch (RGB, 0-255) and returns (coords (B, 14, 2), spread (B, 14))
in the crop's normalised coordinates. Stage 1 sees one crop per person box; each refinement stage sees
the crops of all joints of all persons in ONE call and keeps, for the crop of joint i, channel i.

Confidence: the estimated probability that the joint lies within 0.2 torso diameters of the truth (the PCK@0.2
criterion). It is a logistic function of two signals, both in torso diameters: the spread (standard deviation)
of the final stage's soft-argmax distribution, and how far the cascade moved the joint from stage 1's answer.
Its three coefficients are fitted on training images when training ends (`Calibration.confidence`).

Presence and in-picture (a stage 1 with a person head): `presence` is the probability that the box holds a
person framed as in training; below `Decoding.presence_threshold` the box has "no person" (`found` False,
every joint out). A joint is `in_picture` when stage 1 says it lies inside the crop (above `inside_threshold`)
and it lands inside the image. Confidence is then P(person) x P(within 0.2 torso diameters | person).
A model without a person head gives presence None: unknown, every joint inside the image counted in.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from .config import ModelConfig
from .geometry import crop_matrices, in_image, rotation, torso_diameters
from .joints import NUM_JOINTS
from .timing import NO_TIMES


@dataclasses.dataclass
class CascadeResult:
    joints: np.ndarray          # (P, 14, 2) pixels, final stage
    confidence: np.ndarray      # (P, 14) in [0, 1]
    stages: list                # per stage (P, 14, 2) pixels
    spread: np.ndarray | None = None   # (P, 14) final-stage soft-argmax spread, pixels
    presence: np.ndarray | None = None     # (P,) probability of a framed person; None: the model cannot say
    in_picture: np.ndarray | None = None   # (P, 14) bool, whether or not a person is there; None: every joint
    inside: np.ndarray | None = None       # (P, 14) stage 1's probability that the joint is in the crop; None: unknown
    threshold: float = 0.5                 # presence from which a person is found
    second_look_threshold: float = 0.9     # the same for a person only a closer second look found

    def __post_init__(self):
        if self.in_picture is None:
            self.in_picture = np.ones(self.joints.shape[:2], bool)

    @property
    def found(self) -> np.ndarray:
        """(P,) bool: a person is there (always, for a model without presence)."""
        return np.ones(len(self.joints), bool) if self.presence is None else self.presence >= self.threshold

    def placed(self) -> np.ndarray:
        """(P, 14, 2) the joints said to be in the picture (NaN elsewhere), also where presence is low: where
        to look again (a closer box may show that a small person is there after all)."""
        return np.where(self.in_picture[..., None], self.joints, np.float32(np.nan))

    def reported(self, joints: np.ndarray | None = None):
        """(joints (P, 14, 2), confidence (P, 14)) as the user gets them: NaN (an empty cell) for a joint not in
        the picture, every joint of a box with no person. `joints`: another stage's, masked the same way."""
        joints = np.array(self.joints if joints is None else joints, np.float32)
        keep = self.in_picture & self.found[:, None]
        joints[~keep] = np.nan
        return joints, np.where(keep, self.confidence, np.float32(np.nan)).astype(np.float32)


def confidence_features(spread, moved):
    """(..., 3) features of the confidence model from spread and stage movement in torso diameters."""
    spread = np.asarray(spread, np.float64)
    return np.stack([np.ones_like(spread), np.log(np.maximum(spread, 1e-4)), np.log(0.02 + np.asarray(moved))], -1)


def joint_confidence(coefficients, spread, moved) -> np.ndarray:
    z = confidence_features(spread, moved) @ np.asarray(coefficients, np.float64)
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


class _CropBuffer:
    """Preallocated NCHW float32 input buffer, grown only when a larger batch arrives."""

    def __init__(self, size: int):
        self.size = size
        self.buffer = np.zeros((0, 3, size, size), np.float32)

    def get(self, n: int) -> np.ndarray:
        if self.buffer.shape[0] < n:
            self.buffer = np.zeros((n, 3, self.size, self.size), np.float32)
        return self.buffer[:n]


def as_picture(image: np.ndarray) -> np.ndarray:
    """The picture as the crops are made from it: 8 bits and three colour channels. 16-bit pixels keep their upper
    8 bits; floating-point ones are taken as 0-1 where none exceeds 1, else as 0-255; a grey picture (H x W, or
    H x W x 1) gets three equal channels, and a fourth channel (alpha) is left out. An 8-bit three-channel picture
    is returned as it is. ValueError for other pixel types."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        elif image.dtype.kind == "f":
            values = np.nan_to_num(image.astype(np.float32))
            scale = 255.0 if values.size and values.max() <= 1.0 else 1.0
            image = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
        else:
            raise ValueError(f"a picture of {image.dtype} pixels: give 8-bit (uint8), 16-bit or floating-point ones")
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image[..., :3]) if image.shape[2] == 4 else image


def estimate_torso(joints: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(P,) the torso diameter the cascade sizes the refiner crops and the confidence by: the estimate's own, kept
    within a fraction of the box (a collapsed pose estimate would make crops vanish)."""
    boxes = np.asarray(boxes, np.float32).reshape(len(joints), -1)
    return np.clip(torso_diameters(joints), 0.12 * boxes[:, 2], 0.6 * boxes[:, 2])


def fill_crops(image: np.ndarray, centres: np.ndarray, sides: np.ndarray, size: int, out: np.ndarray,
               bgr: bool = False, angles: np.ndarray | None = None):
    """One warpAffine per crop (turned by angles[k] degrees), then the whole batch into the NCHW RGB `out`.

    A BGR image is reordered per crop, never as a whole frame (a 720p cvtColor costs more than all crops).
    """
    matrices = crop_matrices(centres, sides, size, angles)
    patches = np.empty((len(matrices), size, size, 3), np.uint8)
    for k, m in enumerate(matrices):
        cv2.warpAffine(image, m, (size, size), dst=patches[k], flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    out[:] = (patches[..., ::-1] if bgr else patches).transpose(0, 3, 1, 2)
    return out


class Cascade:
    def __init__(self, backend, config: ModelConfig, stages: int | None = None, refine_nobody: bool = False):
        """refine_nobody: run the refiners also where stage 1 finds nobody (training's fits and label checks,
        which read every stage's joints on labelled people)."""
        self.backend, self.config = backend, config
        self.refine_nobody = refine_nobody
        arch = config.architecture
        self.num_stages = arch.num_stages if stages is None else min(stages, arch.num_stages)
        self._stage1_buf = _CropBuffer(arch.stage1_input)
        self._refine_buf = _CropBuffer(arch.refiner_input)
        self._gains = np.ones((max(0, arch.num_stages - 1), NUM_JOINTS), np.float32)
        if config.calibration.refine_gain:
            self._gains[:] = np.asarray(config.calibration.refine_gain, np.float32)
        self.times = NO_TIMES       # a PartTimes: crops, stage 1, refiners

    def predict(self, image: np.ndarray, boxes, rgb: bool = False) -> CascadeResult:
        """image: HxWx3 uint8 (BGR unless rgb=True; grey, with alpha, 16-bit or float: `as_picture`); boxes: (P, 3)
        square boxes (cx, cy, side) in pixels, or
        (P, 4) with an angle in degrees: every crop of that person is turned by it (the body upright), and the
        joints are mapped back to the image."""
        image = as_picture(image)
        boxes = np.asarray(boxes, np.float32)
        boxes = boxes.reshape(-1, 4 if boxes.shape[-1] == 4 else 3)
        angles = boxes[:, 3] if boxes.shape[1] == 4 else np.zeros(len(boxes), np.float32)
        back = np.stack([rotation(a).T for a in angles]).astype(np.float32)     # (P, 2, 2)
        boxes = boxes[:, :3]
        bgr = not rgb
        coords, spread, *person = self._stage1(image, bgr, boxes, angles)
        joints = np.einsum("pij,pkj->pki", back, coords[:, :, :2]) * boxes[:, None, 2:3] + boxes[:, None, :2]
        spread_px = spread * boxes[:, 2:3]
        stages = [joints.copy()]
        presence = inside = None
        if person:
            presence, inside = (np.asarray(p, np.float32) for p in person)
            presence = presence.reshape(-1)
        # Where stage 1 finds nobody in any box, the answer is "no person" whatever the refiners say: they are
        # skipped (such a look costs about a third less, and a lost frame makes several), and a closer look is
        # framed on stage 1's joints.
        nobody = (not self.refine_nobody and presence is not None
                  and bool((presence < self.config.decoding.presence_threshold).all()))
        for s in range(1, self.num_stages):
            if not nobody:
                joints, spread_px = self._refine(s, image, bgr, joints, spread_px, boxes, angles, back)
            stages.append(joints.copy())
        diam = estimate_torso(joints, boxes)[:, None]
        moved = np.linalg.norm(joints - stages[0], axis=-1)
        confidence = joint_confidence(self.config.calibration.confidence, spread_px / diam, moved / diam)
        in_picture = in_image(joints, *image.shape[:2])
        if presence is not None:
            in_picture &= inside >= self.config.decoding.inside_threshold
            confidence = confidence * presence[:, None]
        return CascadeResult(joints.astype(np.float32), confidence, stages, spread_px.astype(np.float32),
                             presence, in_picture, inside, self.config.decoding.presence_threshold,
                             self.config.decoding.second_look_threshold)

    def warm_up(self, stage1_batches=(1,)) -> None:
        """Run every stage once on blank crops of the batch sizes a tracker uses (one person's joints for the
        refiners): a backend that prepares itself per input shape does it here, not on a frame. Torch on CUDA
        chooses its kernels and captures a CUDA graph there, seconds per shape on first use (an H200, fp16:
        4.8 s for stage 1 at batch 1, 8.9 s at batch 3; docs/experiments.md, "GPU"), against milliseconds for
        ONNX Runtime on the CPU."""
        for n in sorted(set(stage1_batches)):
            self.backend.run(0, self._stage1_buf.get(n))
        for s in range(1, self.num_stages):
            self.backend.run(s, self._refine_buf.get(NUM_JOINTS))

    def stage1(self, image: np.ndarray, boxes) -> tuple:
        """Stage 1 alone on square boxes (N, 3) of a BGR image, in one backend call: (joints (N, 14, 2) in pixels,
        presence (N,), inside (N, 14)); presence and inside are None for a model without a person head."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 3)
        coords, _, *person = self._stage1(as_picture(image), True, boxes, np.zeros(len(boxes), np.float32))
        joints = (coords[..., :2] * boxes[:, None, 2:3] + boxes[:, None, :2]).astype(np.float32)
        if not person:
            return joints, None, None
        presence, inside = (np.asarray(p, np.float32) for p in person)
        return joints, presence.reshape(-1), inside

    def _stage1(self, image, bgr: bool, boxes, angles):
        batch = self._stage1_buf.get(len(boxes))
        with self.times("crops"):
            fill_crops(image, boxes[:, :2], boxes[:, 2], self.config.architecture.stage1_input, batch, bgr,
                       angles if angles.any() else None)
        with self.times("stage 1"):
            return self.backend.run(0, batch)

    def _refine(self, stage: int, image, bgr: bool, joints, spread_px, boxes, angles, back):
        p = len(joints)
        size = self.config.architecture.refiner_input
        sides = np.repeat(self.config.architecture.sigma * estimate_torso(joints, boxes), NUM_JOINTS)
        centres = joints.reshape(-1, 2)
        crop_angles = np.repeat(angles, NUM_JOINTS) if angles.any() else None
        with self.times("crops"):
            batch = fill_crops(image, centres, sides, size, self._refine_buf.get(p * NUM_JOINTS), bgr, crop_angles)
        with self.times("refiners"):
            coords, spread = self.backend.run(stage, batch)[:2]
        idx = np.arange(p * NUM_JOINTS)
        chan = np.tile(np.arange(NUM_JOINTS), p)
        gain = np.tile(self._gains[stage - 1], p)
        delta = np.einsum("kij,kj->ki", np.repeat(back, NUM_JOINTS, 0), coords[idx, chan, :2]) * (sides * gain)[:, None]
        refined = (centres + delta).reshape(p, NUM_JOINTS, 2)
        new_spread = spread[idx, chan] * sides * gain + spread_px.reshape(-1) * (1 - gain)
        return refined, new_spread.reshape(p, NUM_JOINTS)
