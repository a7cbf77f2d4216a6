"""Box normalisation and crop/un-crop geometry (numpy + OpenCV only).

A box is a square (cx, cy, side) in pixels. Normalised coordinates are (p - centre) / side, as in the
paper. A crop of S x S pixels maps image point p to crop pixel u = (p - centre) * S / side + (S - 1) / 2,
so the crop-normalised coordinate (u - (S - 1) / 2) / S equals the box-normalised one.
"""
from __future__ import annotations

import cv2
import numpy as np

from .joints import J, TORSO_DIAGONALS

NECK, HIPS, SHOULDERS = J["neck"], (J["r_hip"], J["l_hip"]), (J["r_shoulder"], J["l_shoulder"])

# The person-box rules, in one place. A box is `scale` times the larger side of the joints' bounding box.
PERSON_BOX_SCALE = 1.3              # at inference: the box around the previous answer (recrop, tracking)
CUT_BODY_BOX_SCALE = 1.85           # the same when some joints were called out of the picture (see estimator.py)
CHEST_UP_BOX_SCALE = 2.8            # ... and when both hips were: a body framed from the chest up (estimator.py)
LSP_IMAGE_BOX_SCALE = 1.32          # an LSP image's whole-image box over its joints: median on LSP test (5-95 %: 1.17-1.68)
TRAINING_BOX_SCALE_RANGE = (1.1, 1.75)   # stage-1 training crops, drawn around that median
TRAINING_CACHE_CONTEXT = 1.8        # cached training crops: room for the scale and shift augmentation
# A picture with a side under this many pixels holds nobody the model can see. LSP test images (every 33rd) shrunk
# to a short side of 4 px: 2 of 31 read as a person, every joint wrong; 6 px: 7, PCK@0.2 of those 0.20; 16 px: 27,
# 0.48 (the stills bundle; docs/experiments.md, "Pictures of extreme shape").
MIN_PICTURE_SIDE = 6


def person_box_scale(valid: np.ndarray, whole: float = PERSON_BOX_SCALE, cut: float = CUT_BODY_BOX_SCALE,
                     chest_up: float | None = None) -> float:
    """The scale of the box around joints of which `valid` are known: `whole` around a whole body, `cut` where
    some joints are missing (out of the picture, or lost), so that the box does not cut the body where they are,
    and `chest_up` (default CHEST_UP_BOX_SCALE) where both shoulders are known and both hips are not (a body
    framed from the chest up: head, shoulders and arms span a far smaller share of it than a waist-up person's;
    a body cut at the side keeps a shoulder or a hip on each side of the cut)."""
    valid = np.asarray(valid, bool)
    if valid.all():
        return whole
    if framed_from_chest_up(valid):
        return CHEST_UP_BOX_SCALE if chest_up is None else chest_up
    return cut


def framed_from_chest_up(valid: np.ndarray) -> bool:
    """Both shoulders known and both hips not: a body the picture cuts between them."""
    valid = np.asarray(valid, bool)
    return bool(valid[list(SHOULDERS)].all() and not valid[list(HIPS)].any())


def normalize(points: np.ndarray, box) -> np.ndarray:
    cx, cy, side = box
    return (np.asarray(points, np.float32) - np.array([cx, cy], np.float32)) / np.float32(side)


def denormalize(points: np.ndarray, box) -> np.ndarray:
    cx, cy, side = box
    return np.asarray(points, np.float32) * np.float32(side) + np.array([cx, cy], np.float32)


def crop_matrices(centres, sides, size: int, angles_deg=None, flip: bool = False) -> np.ndarray:
    """(N, 2, 3) float32 affines from image pixels to crop pixels, one per box (centre (N, 2), side (N,)); each
    optionally turned by angles_deg[k] about its centre, and mirrored."""
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    k = size / np.asarray(sides, np.float64).reshape(-1)
    a = np.zeros(len(k)) if angles_deg is None else np.deg2rad(np.asarray(angles_deg, np.float64).reshape(-1))
    cos, sin = np.cos(a) * k, np.sin(a) * k
    lin = np.empty((len(k), 2, 2))
    lin[:, 0, 0], lin[:, 0, 1], lin[:, 1, 0], lin[:, 1, 1] = cos, sin, -sin, cos
    if flip:
        lin[:, 0] = -lin[:, 0]
    half = (size - 1) / 2.0
    t = half - np.einsum("nij,nj->ni", lin, centres)
    return np.concatenate([lin, t[:, :, None]], axis=2).astype(np.float32)


def crop_matrix(box, size: int, angle_deg: float = 0.0, flip: bool = False) -> np.ndarray:
    """2x3 affine from image pixels to crop pixels; optional rotation about the box centre and mirror."""
    cx, cy, side = box
    return crop_matrices([[cx, cy]], [side], size, [angle_deg], flip)[0]


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, np.float32)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(matrix)


def crop(image: np.ndarray, box, size: int, angle_deg: float = 0.0, flip: bool = False,
         out: np.ndarray | None = None) -> np.ndarray:
    m = crop_matrix(box, size, angle_deg, flip)
    return cv2.warpAffine(image, m, (size, size), dst=out, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def in_image(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """(...,) bool: the points (..., 2) lie inside an image of this size (False for NaN)."""
    x, y = points[..., 0], points[..., 1]
    with np.errstate(invalid="ignore"):
        return (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)


def too_small_for_a_person(height: int, width: int) -> bool:
    """Whether a picture of this size is too narrow or too low to hold a person (`MIN_PICTURE_SIDE`)."""
    return min(height, width) < MIN_PICTURE_SIDE


def whole_image_box(height: int, width: int):
    """The square box that encloses the whole image, centred on it."""
    return ((width - 1) / 2.0, (height - 1) / 2.0, float(max(height, width)))


def box_from_joints(joints: np.ndarray, scale: float = PERSON_BOX_SCALE, valid: np.ndarray | None = None):
    """Square box around the joints, its side `scale` times the larger side of their bounding box."""
    pts = np.asarray(joints, np.float32)
    if valid is not None:
        pts = pts[np.asarray(valid, bool)]
    lo, hi = pts.min(0), pts.max(0)
    c = (lo + hi) / 2.0
    side = float(max(hi - lo)) * scale
    return (float(c[0]), float(c[1]), max(side, 1.0))


def rotation(angle_deg: float) -> np.ndarray:
    """R of `crop_matrix`: crop-normalised = R (p - centre) / side; the way back is R.T."""
    a = np.deg2rad(angle_deg)
    return np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]], np.float64)


def body_angle(joints: np.ndarray, min_length: float = 1.0) -> float:
    """The crop angle (degrees, for `crop_matrix`) that turns the body axis (mid-hip to neck) upright; 0 when the
    neck or both hips are missing (NaN) or the axis is shorter than min_length pixels."""
    pts = np.asarray(joints, np.float64)
    neck, hips = pts[NECK], pts[list(HIPS)].mean(0)
    v = neck - hips
    if not np.isfinite(v).all() or float(np.hypot(*v)) < min_length:
        return 0.0
    return float(np.degrees(np.arctan2(v[0], -v[1])))


def oriented_box(joints: np.ndarray, scale: float = PERSON_BOX_SCALE, valid: np.ndarray | None = None, angle_deg: float = 0.0):
    """(cx, cy, side, angle): the square box around the joints as seen in a crop turned by angle_deg, its side
    `scale` times the larger side of their bounding box there."""
    pts = np.asarray(joints, np.float64)
    if valid is not None:
        pts = pts[np.asarray(valid, bool)]
    rot = rotation(angle_deg)
    turned = pts @ rot.T
    lo, hi = turned.min(0), turned.max(0)
    centre = rot.T @ ((lo + hi) / 2.0)
    return (float(centre[0]), float(centre[1]), max(float(max(hi - lo)) * scale, 1.0), float(angle_deg))


def torso_diameter(joints: np.ndarray, valid: np.ndarray | None = None, fallback: float | None = None) -> float:
    """Mean length of the available shoulder-to-opposite-hip diagonals."""
    pts = np.asarray(joints, np.float32)
    ok = np.ones(len(pts), bool) if valid is None else np.asarray(valid, bool)
    lengths = [float(np.linalg.norm(pts[a] - pts[b])) for a, b in TORSO_DIAGONALS if ok[a] and ok[b]]
    if lengths:
        return float(np.mean(lengths))
    if fallback is not None:
        return float(fallback)
    return float(max(np.ptp(pts[ok], axis=0))) / 2.5 if ok.any() else 1.0


def torso_diameters(joints: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Vectorised torso diameter for (N, 14, 2) poses: the mean of both diagonals, or with `valid` (N, 14) of the
    diagonals whose ends are both valid, as `torso_diameter` gives it pose by pose (LSP-extended leaves a joint it
    did not label at a made-up place)."""
    pts = np.asarray(joints, np.float32)
    d = np.stack([np.linalg.norm(pts[:, a] - pts[:, b], axis=-1) for a, b in TORSO_DIAGONALS], axis=-1)
    if valid is None:
        return d.mean(-1)
    valid = np.asarray(valid, bool)
    ends = np.stack([valid[:, a] & valid[:, b] for a, b in TORSO_DIAGONALS], axis=-1)
    count = ends.sum(-1)
    out = np.where(count > 0, (d * ends).sum(-1) / np.maximum(count, 1), 0.0).astype(np.float32)
    for i in np.flatnonzero(count == 0):         # no diagonal: the scalar rule's fallback (the pose's extent)
        out[i] = torso_diameter(pts[i], valid[i])
    return out
