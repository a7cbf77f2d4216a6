"""How cameras frame people, for stage 1's person head: bodies cut by the picture's edge (truncation), crops
with nobody framed in them (negatives), and the degradations of real video.

Truncation cuts the body across its own axis (mid-hip to neck), so a leaning person is cut as a camera would
cut them: everything beyond the cut line becomes black, as a crop reaching past the picture's border is filled.
"""
from __future__ import annotations

import cv2
import numpy as np

from pose_track.engines.geometry import body_angle, crop_matrix
from pose_track.engines.joints import J

HIPS, KNEES, ANKLES, SHOULDERS = ((J[f"r_{part}"], J[f"l_{part}"]) for part in ("hip", "knee", "ankle", "shoulder"))

# Cut kinds: (share, the two joint groups whose levels along the body axis bound the cut line).
CUTS = {"waist_up": (0.4, HIPS, KNEES), "chest_up": (0.2, SHOULDERS, HIPS), "knees_up": (0.15, KNEES, ANKLES),
        "side": (0.25, None, None)}
MIN_KEPT = 5            # a cut must leave this many labelled joints in the picture


def _level(points, valid, group, axis):
    ok = [j for j in group if valid[j]]
    return None if not ok else float(np.mean(points[ok] @ axis))


def body_axis(joints, valid):
    """Unit vector from mid-hip to neck (image up when the joints are missing)."""
    a = np.deg2rad(body_angle(np.where(valid[:, None], joints, np.nan), min_length=1e-3))
    return np.array([np.sin(a), -np.cos(a)])


def cut_line(joints, valid, rng, kind: str | None = None, shares=None):
    """(normal, offset): the points p with p @ normal > offset are cut off; None when this pose cannot be cut so.

    kind None draws one of CUTS by its share, or by `shares` (one per kind of CUTS, in its order)."""
    if kind is None:
        names = list(CUTS)
        shares = np.array([CUTS[k][0] for k in names] if shares is None else shares, np.float64)
        kind = names[rng.choice(len(names), p=shares / shares.sum())]
    up = body_axis(joints, valid)
    if kind == "side":
        normal = np.array([up[1], -up[0]]) * (1 if rng.random() < 0.5 else -1)
        proj = joints[valid] @ normal
        if len(proj) < MIN_KEPT + 2:
            return None
        lo, hi = np.sort(proj)[[MIN_KEPT - 1, -2]]
        return (normal, float(rng.uniform(lo, hi))) if hi > lo else None
    _, keep_group, cut_group = CUTS[kind]
    down = -up
    keep, cut = _level(joints, valid, keep_group, down), _level(joints, valid, cut_group, down)
    if keep is None or cut is None or cut - keep < 4:
        return None
    return down, keep + float(rng.uniform(0.15, 0.75)) * (cut - keep)


def apply_cut(image, line):
    """A copy of the image with everything beyond the cut line black."""
    normal, offset = line
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = image.copy()
    out[xs * normal[0] + ys * normal[1] > offset] = 0
    return out


def cut_off(joints, line) -> np.ndarray:
    normal, offset = line
    return joints @ normal > offset


def edge_framing(joints, kept, line, side: float, rng, max_turn: float = 8.0):
    """(box (cx, cy, side), angle): a crop whose edge lies on the cut line, as a picture that ends there frames
    the body (a webcam's waist-up view: the body runs to the picture's edge, not into black). The crop is turned
    by the least angle (plus up to `max_turn` degrees) that makes the cut line one of its edges; the kept joints
    stay inside, `side` grown if they need it."""
    normal, offset = line
    pts = joints[kept]
    towards = max(((0.0, 1.0), (0.0, -1.0), (1.0, 0.0), (-1.0, 0.0)),
                  key=lambda t: float(np.dot(normal, t)))                      # the crop edge nearest the cut
    turn = float(rng.uniform(-max_turn, max_turn))
    angle = float(np.degrees(np.arctan2(normal[1], normal[0]) - np.arctan2(towards[1], towards[0]))) + turn
    across = np.array([-normal[1], normal[0]])
    along = pts @ normal
    side = max(side, 1.1 * float(offset - along.min()), 1.1 * float(np.ptp(pts @ across)))
    centre = pts.mean(0) @ across * across + (offset - side / 2.0 + float(rng.uniform(-0.02, 0.05)) * side) * normal
    centre = centre + float(rng.uniform(-0.08, 0.08)) * side * across
    return (float(centre[0]), float(centre[1]), side), angle


PORTRAIT_CUT = (0.35, 1.3)     # the cut line, in torso lengths below the shoulders: mid-chest to the thighs
PORTRAIT_FILL = (0.55, 0.95)   # the kept body's height, as a share of the crop's side
PORTRAIT_TURN = 10.0           # degrees the crop may lean off the body's axis


def portrait_framing(joints, valid, rng):
    """(line, box (cx, cy, side), angle) or None: a desk camera's or a portrait photo's view of this person.

    The crop is upright on the body (its axis, mid-hip to neck, within `PORTRAIT_TURN` degrees of the crop's
    up), cut between the chest and the thighs, and the kept body fills most of it, from above the head to the
    cut: the framing of a webcam at a desk, which the cuts of `edge_framing` (any edge, a person at their
    whole-body scale) rarely give. Half the crops end at the cut (the picture's edge); the others run past it
    into black, as a closer box around a cut person runs past the picture's edge."""
    if not valid[[J["neck"], J["head_top"], *SHOULDERS, *HIPS]].all():
        return None
    down = -body_axis(joints, valid)
    shoulders, hips = _level(joints, valid, SHOULDERS, down), _level(joints, valid, HIPS, down)
    if hips - shoulders < 4:
        return None
    offset = shoulders + float(rng.uniform(*PORTRAIT_CUT)) * (hips - shoulders)
    line = (down, offset)
    kept = valid & ~cut_off(joints, line)
    across = np.array([-down[1], down[0]])
    pts = joints[kept]
    top = float((pts @ down).min())
    fill = float(rng.uniform(*PORTRAIT_FILL))
    side = max((offset - top) / fill, 1.1 * float(np.ptp(pts @ across)))
    fill = (offset - top) / side
    beyond = float(rng.uniform(-0.02, 0.05)) if rng.random() < 0.5 else float(rng.uniform(0.05, max(0.05, 0.95 - fill)))
    along_centre = offset + beyond * side - side / 2.0
    across_centre = float(pts.mean(0) @ across) + float(rng.uniform(-0.08, 0.08)) * side
    centre = along_centre * down + across_centre * across
    angle = float(np.degrees(np.arctan2(down[1], down[0]) - np.arctan2(1.0, 0.0)))
    angle += float(rng.uniform(-PORTRAIT_TURN, PORTRAIT_TURN))
    return line, (float(centre[0]), float(centre[1]), float(side)), angle


def mix_sharpness(crop, cut: bool, rng):
    """A crop whose sharpness does not tell whether the body is cut. The part of a body a cut crop keeps fills
    more of the crop than a whole body does, so it is drawn from fewer of the cached image's pixels and looks
    softer; left alone, softness would teach the model where bodies end (a sharp waist-up portrait then gets
    legs). A cut crop is sharpened (unsharp mask), a whole one softened (drawn through a smaller picture)."""
    if cut:
        blurred = cv2.GaussianBlur(crop, (0, 0), float(rng.uniform(1.0, 2.5)))
        amount = float(rng.uniform(0.5, 1.5))
        return cv2.addWeighted(crop, 1.0 + amount, blurred, -amount, 0)
    h, w = crop.shape[:2]
    factor = float(rng.uniform(1.5, 3.0))
    small = (max(8, int(round(w / factor))), max(8, int(round(h / factor))))
    return cv2.resize(cv2.resize(crop, small, interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_LINEAR)


def veil(crop, rng):
    """Glare on an RGB uint8 crop: a bright veil from a light source (the sun or a window behind the person) laid
    over the picture, brightest around a point in or near the crop, with the scene darkened first as a camera
    exposing for the light does; what the veil covers keeps little of its contrast."""
    h, w = crop.shape[:2]
    centre = rng.uniform(-0.25, 1.25, 2) * (w, h)
    radius = float(rng.uniform(0.3, 1.3)) * max(h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    falloff = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / radius ** 2)
    cover = float(rng.uniform(0.4, 0.9)) * falloff + float(rng.uniform(0.0, 0.25))      # the veil, plus haze
    light = np.array([255.0, rng.uniform(215, 255), rng.uniform(160, 245)], np.float32)  # white to warm
    scene = crop.astype(np.float32) * float(rng.uniform(0.35, 1.0))
    out = scene * (1.0 - cover[..., None]) + light * cover[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def degrade(crop, rng, blur_p: float = 0.25, noise_p: float = 0.25, jpeg_p: float = 0.25, glare_p: float = 0.0,
            blur_max: int = 13):
    """Real video's faults on an RGB uint8 crop: glare (`veil`, glare_p of crops), motion blur in a random
    direction over 3 to `blur_max` pixels, sensor noise, compression."""
    if glare_p and rng.random() < glare_p:
        crop = veil(crop, rng)
    if rng.random() < blur_p:
        length = int(rng.integers(3, blur_max + 1))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0 / length
        rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), float(rng.uniform(0, 180)), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (length, length))
        crop = cv2.filter2D(crop, -1, kernel / max(float(kernel.sum()), 1e-6))
    if rng.random() < noise_p:
        noise = rng.normal(0, rng.uniform(2, 12), crop.shape)
        crop = np.clip(crop + noise, 0, 255).astype(np.uint8)
    if rng.random() < jpeg_p:        # the crop is RGB; JPEG's luma and chroma are made from BGR
        ok, enc = cv2.imencode(".jpg", crop[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 70))])
        if ok:
            crop = np.ascontiguousarray(cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)[..., ::-1])
    return crop


class SceneBank:
    """Whole training images (downscaled) with their people's boxes, for crops with nobody framed in them.

    `images` RGB uint8 of varied sizes; `boxes` (x0, y0, x1, y1) around each image's labelled joints, grown by
    MARGIN of their extent on every side (limbs past the labelled joints, and unlabelled joints, stay out).
    """

    MARGIN = 0.2

    def __init__(self, images, joints, valid):
        self.images, self.joints, self.valid = images, joints, valid
        self.boxes = []
        for pts, ok in zip(joints, valid):
            p = pts[ok] if ok.any() else pts
            lo, hi = p.min(0), p.max(0)
            grow = self.MARGIN * float(max(hi - lo))
            self.boxes.append(np.array([*(lo - grow), *(hi + grow)], np.float32))

    def __len__(self):
        return len(self.images)

    @classmethod
    def load(cls, pose_set, count: int, max_side: int, seed: int = 0, progress=None):
        from .cache import read_image

        rng = np.random.default_rng(seed)
        pick = rng.choice(len(pose_set), min(count, len(pose_set)), replace=False)
        images, joints = [], []
        for i in pick:
            img = read_image(pose_set.paths[i])
            k = min(1.0, max_side / max(img.shape[:2]))
            if k < 1:
                img = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
            images.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            joints.append(pose_set.joints[i] * k)
            if progress:
                progress(1)
        return cls(images, np.array(joints, np.float32), pose_set.valid[pick])


def _rotated_extent(side: float, angle: float) -> float:
    a = np.deg2rad(angle)
    return side * (abs(np.cos(a)) + abs(np.sin(a)))


def background_crop(bank: SceneBank, size: int, rng, tries: int = 12):
    """(crop, image index, image-to-crop matrix) from a region of a training image away from its person, or None
    when no region fits in `tries` draws."""
    for _ in range(tries):
        i = int(rng.integers(len(bank)))
        img, box = bank.images[i], bank.boxes[i]
        h, w = img.shape[:2]
        side = float(rng.uniform(0.25, 0.9)) * min(h, w)
        angle = float(rng.uniform(-45, 45)) if rng.random() < 0.5 else 0.0
        half = 0.5 * _rotated_extent(side, angle)
        if side < 32 or 2 * half > min(h, w):
            continue
        cx, cy = rng.uniform(half, w - half), rng.uniform(half, h - half)
        if cx + half > box[0] and cx - half < box[2] and cy + half > box[1] and cy - half < box[3]:
            continue
        m = crop_matrix((cx, cy, side), size, angle, rng.random() < 0.5)
        return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)), i, m
    return None


def unframed_crop(bank: SceneBank, size: int, rng):
    """A crop that holds a person but does not frame them: shifted by most of the box, or the person at a
    quarter of the crop or less."""
    i = int(rng.integers(len(bank)))
    img, pts, ok = bank.images[i], bank.joints[i], bank.valid[i]
    p = pts[ok] if ok.any() else pts
    lo, hi = p.min(0), p.max(0)
    centre, extent = (lo + hi) / 2.0, max(float(max(hi - lo)), 8.0)
    if rng.random() < 0.5:
        side = extent * float(rng.uniform(1.1, 1.75))
        direction = rng.normal(size=2)
        centre = centre + direction / np.linalg.norm(direction) * float(rng.uniform(0.8, 1.2)) * side
    else:
        side = extent * float(rng.uniform(4.0, 6.0))
        centre = centre + rng.uniform(-0.25, 0.25, 2) * side
    angle = float(rng.uniform(-45, 45)) if rng.random() < 0.5 else 0.0
    m = crop_matrix((float(centre[0]), float(centre[1]), side), size, angle, rng.random() < 0.5)
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
