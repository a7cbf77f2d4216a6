"""Training samples: random person framing, rotation, translation, mirror with left/right swap, colour."""
from __future__ import annotations

import numpy as np

from pose_track.engines.geometry import apply_affine, crop_matrix, torso_diameter
from pose_track.engines.joints import FLIP_PERMUTATION
import cv2

FLIP = np.array(FLIP_PERMUTATION)

# Whole-image box side over the joints' bounding box on LSP test: 5-95 % range 1.17-1.68, median 1.32.
BOX_SCALE_RANGE = (1.1, 1.75)
EVAL_BOX_SCALE = 1.32


def _normalised_in_crop(matrix, points, size):
    return (apply_affine(matrix, points) - (size - 1) / 2.0) / size


def flip_joints(joints: np.ndarray) -> np.ndarray:
    """Left/right swap for a mirrored image: the person's right joint becomes the mirrored person's left."""
    return joints[..., FLIP, :]


def stage1_sample(image, joints, valid, size, rng, augment=True, truncate_p: float = 0.0, real_video: bool = False,
                  edge_p: float = 0.0, cut_shares=None, portrait_p: float = 0.0, sharpness_p: float = 0.0,
                  glare_p: float = 0.0, blur_max: int = 13):
    """One stage-1 crop (size x size RGB uint8), its normalised targets (14, 2), loss mask (14,), and the
    in-picture targets (14,) with their mask (14,): a labelled joint is in the picture unless a truncation cut
    it off or the crop misses it.

    truncate_p: share of crops whose body is cut as cameras cut it (framing.cut_line), framed on what is left;
    edge_p: share of those whose crop ends at the cut (framing.edge_framing), as a picture's edge cuts a body.
    cut_shares: how often each kind of cut is drawn (framing.CUTS's order); None: CUTS's own shares.
    portrait_p: share of crops framed as a desk camera frames a person (framing.portrait_framing), drawn first.
    sharpness_p: share of crops, cut or whole, whose sharpness is changed so that it does not tell a cut body
    from a whole one (framing.mix_sharpness).
    real_video: wider scale, offset and rotation jitter (the tracker's seeded boxes), and video degradations;
    glare_p: the share of those crops veiled by glare (framing.veil).
    """
    from .framing import apply_cut, cut_line, cut_off, degrade, edge_framing, mix_sharpness, portrait_framing

    gone, line, portrait = np.zeros(len(joints), bool), None, None
    if augment and portrait_p and rng.random() < portrait_p:
        portrait = portrait_framing(joints, valid, rng)
        line = None if portrait is None else portrait[0]
    if portrait is None and augment and truncate_p and rng.random() < truncate_p:
        line = cut_line(joints, valid, rng, shares=cut_shares)
    if line is not None:
        gone = cut_off(joints, line) & valid
        image = apply_cut(image, line)
    kept = valid & ~gone
    pts = joints[kept] if kept.any() else joints
    lo, hi = pts.min(0), pts.max(0)
    centre, extent = (lo + hi) / 2.0, float(max(hi - lo))
    if augment:
        scale_range, shift, max_angle = ((1.05, 2.2), 0.1, 45) if real_video else (BOX_SCALE_RANGE, 0.06, 30)
        side = extent * float(np.exp(rng.uniform(*np.log(scale_range))))
        centre = centre + rng.uniform(-shift, shift, 2) * side
        angle = rng.uniform(-max_angle, max_angle) if rng.random() < 0.6 else 0.0
        flip = rng.random() < 0.5
        if portrait is not None:
            (cx, cy, side), angle = portrait[1:]
            centre = np.array([cx, cy])
        elif gone.any() and kept.sum() >= 2 and rng.random() < edge_p:
            (cx, cy, side), angle = edge_framing(joints, kept, line, side, rng)
            centre = np.array([cx, cy])
    else:
        side, angle, flip = extent * EVAL_BOX_SCALE, 0.0, False
    box = (float(centre[0]), float(centre[1]), max(side, 8.0))
    m = crop_matrix(box, size, angle, flip)
    out = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    if augment and sharpness_p and rng.random() < sharpness_p:
        out = mix_sharpness(out, line is not None, rng)
    if real_video:
        out = degrade(out, rng, glare_p=glare_p, blur_max=blur_max)
    target = _normalised_in_crop(m, joints, size)
    mask, cut = valid.copy(), gone.copy()
    if flip:
        target, mask, cut = flip_joints(target), mask[FLIP], cut[FLIP]
    in_crop = np.all(np.abs(target) <= 0.5, axis=1)
    inside = in_crop & ~cut
    return out, target.astype(np.float32), mask & inside, inside, mask


def refiner_samples(image, joints, valid, size, sigma, error_bank, rng, augment=True):
    """Crops around simulated previous-stage estimates of every valid joint.

    error_bank[i] holds previous-stage errors of joint i in torso diameters, measured on the training set;
    the simulated estimate is the truth plus one error drawn from that bank (the paper's scheme).
    Returns crops (K, size, size, 3), targets (K, 2) crop-normalised, channels (K,), mask (K,).
    """
    diam = torso_diameter(joints, valid)
    estimate = joints.copy()
    for i in range(len(joints)):
        bank = error_bank[i]
        estimate[i] = joints[i] + bank[rng.integers(len(bank))] * diam
    est_diam = torso_diameter(estimate, valid) if augment else diam     # an unlabelled joint's place is made up
    # Guard against degenerate simulated torsos: keep the crop side within a sane range of the truth.
    side = sigma * float(np.clip(est_diam, 0.6 * diam, 1.6 * diam))
    angle = rng.uniform(-20, 20) if augment and rng.random() < 0.5 else 0.0
    flip = bool(augment and rng.random() < 0.5)
    crops, targets, channels, masks = [], [], [], []
    for i in np.flatnonzero(valid):
        m = crop_matrix((float(estimate[i, 0]), float(estimate[i, 1]), side), size, angle, flip)
        crops.append(cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)))
        t = _normalised_in_crop(m, joints[i:i + 1], size)[0]
        targets.append(t)
        channels.append(FLIP[i] if flip else i)
        masks.append(bool(np.all(np.abs(t) <= 0.5)))
    if not crops:
        return (np.zeros((0, size, size, 3), np.uint8), np.zeros((0, 2), np.float32),
                np.zeros(0, np.int64), np.zeros(0, bool))
    return np.stack(crops), np.array(targets, np.float32), np.array(channels, np.int64), np.array(masks)


def colour_jitter(batch, rng, white_balance: bool = False):
    """In place on a float (B, 3, H, W) torch batch in 0-255: brightness, contrast, saturation, and optionally
    white balance (a gain per colour channel)."""
    import torch

    b = batch.shape[0]
    if white_balance:
        batch.mul_(torch.from_numpy(rng.uniform(0.8, 1.2, (b, 3, 1, 1)).astype(np.float32)))
    contrast = torch.from_numpy(rng.uniform(0.7, 1.3, (b, 1, 1, 1)).astype(np.float32))
    bright = torch.from_numpy(rng.uniform(-25, 25, (b, 1, 1, 1)).astype(np.float32))
    sat = torch.from_numpy(rng.uniform(0.6, 1.4, (b, 1, 1, 1)).astype(np.float32))
    grey = batch.mean(1, keepdim=True)
    batch.mul_(sat).add_(grey * (1 - sat))
    mean = batch.mean((1, 2, 3), keepdim=True)
    batch.sub_(mean).mul_(contrast).add_(mean + bright).clamp_(0, 255)
    return batch
