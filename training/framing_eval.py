"""Framing checks of a model, as users meet them: pictures with nobody in them, LSP test people, LSP test people
cut below the hips (a desk camera's waist-up framing), and LSP test people framed from the chest up. Every
picture goes through the still-image path (`engines.estimator.PoseEstimator`, whole image as the first box), as
`pose-track images` runs it.

    person_free_regions(held_out)   regions of held-out LSP-extended images away from their labelled person
    video_regions(path, frames, box) one region of some frames of a video
    waist_up(lsp_test)              LSP test images cut between the hips and the knees
    chest_up(lsp_test)              4:3 pictures of LSP test people from above the head down to mid-torso
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from pose_track.engines.geometry import torso_diameter
from pose_track.engines.joints import J
from pose_track.engines.opencv_files import FileAlias
from .cache import read_image
from .framing import ANKLES, HIPS, KNEES, SHOULDERS

LEGS = KNEES + ANKLES
MIN_REGION = 64


# Of the first 100 regions of the 500 held-out LSP-extended images (im09501-im10000), those that still show a
# person (spectators, team mates, a second person), seen by eye on a contact sheet of the regions.
PEOPLE_SEEN = frozenset(f"im0{k}" for k in (
    9504, 9514, 9521, 9534, 9552, 9555, 9559, 9562, 9563, 9564, 9565, 9566, 9583, 9584, 9590, 9600, 9609, 9611,
    9613, 9614, 9616, 9618, 9624, 9641, 9659, 9662))


def person_free_regions(data, candidates: int = 100, exclude=PEOPLE_SEEN, grow: float = 0.3):
    """[(name, BGR image)]: per image the largest square (>= MIN_REGION px) clear of the labelled person's box,
    grown by `grow` of its extent on every side (arms and legs beyond the labelled joints, unlabelled joints);
    the first `candidates` such regions, less those named in `exclude`."""
    out = []
    for path, joints, valid in zip(data.paths, data.joints, data.valid):
        if len(out) >= candidates:
            break
        image = read_image(path)
        h, w = image.shape[:2]
        pts = joints[valid] if valid.any() else joints
        lo, hi = pts.min(0), pts.max(0)
        g = grow * float(max(hi - lo))
        x0, y0, x1, y1 = lo[0] - g, lo[1] - g, hi[0] + g, hi[1] + g
        best = None
        for side in range(min(h, w), MIN_REGION - 1, -8):
            for y in range(0, h - side + 1, 8):
                for x in range(0, w - side + 1, 8):
                    if x + side <= x0 or x >= x1 or y + side <= y0 or y >= y1:
                        best = (x, y, side)
                        break
                if best:
                    break
            if best:
                break
        if best:
            x, y, side = best
            out.append((os.path.splitext(os.path.basename(path))[0], image[y:y + side, x:x + side].copy()))
    return [(name, image) for name, image in out if name not in exclude]


def video_regions(path: str, frames, box):
    """[(name, BGR image)]: the region box = (x, y, side) of the listed frames of a video."""
    out, index = [], 0
    wanted = set(frames)
    x, y, side = box
    with FileAlias(path) as name:
        cap = cv2.VideoCapture(name)
        while wanted:
            ok, frame = cap.read()
            if not ok:
                break
            if index in wanted:
                out.append((f"{os.path.splitext(os.path.basename(path))[0]}_{index:04d}",
                            frame[y:y + side, x:x + side].copy()))
                wanted.discard(index)
            index += 1
        cap.release()
    return out


def waist_up(data, margin: float = 0.15):
    """[(BGR image cut below the hips, joints (14, 2), in-picture (14,))] for the images whose knees and ankles
    all lie below both hips by `margin` torso diameters or more; the cut is halfway between the lower hip and
    the higher leg joint, so every knee and ankle is out of the picture and both hips are in it."""
    out = []
    for path, joints in zip(data.paths, data.joints):
        hip_y, leg_y = float(joints[list(HIPS), 1].max()), float(joints[list(LEGS), 1].min())
        if leg_y - hip_y < margin * torso_diameter(joints):
            continue
        cut = int(round((hip_y + leg_y) / 2))
        image = read_image(path)[:cut]
        h, w = image.shape[:2]
        inside = (joints[:, 1] <= h - 1) & (joints[:, 0] >= 0) & (joints[:, 0] <= w - 1) & (joints[:, 1] >= 0)
        out.append((image, joints, inside))
    return out


def chest_up(data, margin: float = 0.5):
    """[(BGR picture, joints (14, 2) in its pixels, in-picture (14,))]: people framed as a desk camera frames them
    from the chest up: a 4:3 picture, centred on the shoulders, from a quarter of the head-to-cut height above the
    head down to a cut halfway between the lower shoulder and the higher hip, so both hips are out of it. For the
    upright people: hips below the shoulders by `margin` torso diameters or more, neck and head above them."""
    upper = [J["neck"], J["head_top"]]
    out = []
    for path, joints, valid in zip(data.paths, data.joints, data.valid):
        if not valid[list(SHOULDERS) + list(HIPS) + upper].all():
            continue
        shoulder_y, hip_y = float(joints[list(SHOULDERS), 1].max()), float(joints[list(HIPS), 1].min())
        if hip_y - shoulder_y < margin * torso_diameter(joints, valid) or joints[upper, 1].max() > shoulder_y:
            continue
        cut = int(round((shoulder_y + hip_y) / 2))
        head = float(joints[J["head_top"], 1])
        top = max(0, int(round(head - 0.25 * (cut - head))))
        width = 4 * (cut - top) // 3
        image = read_image(path)
        x0 = int(np.clip(round(float(joints[list(SHOULDERS), 0].mean()) - width / 2), 0,
                         max(0, image.shape[1] - width)))
        picture = image[top:cut, x0:x0 + width]
        h, w = picture.shape[:2]
        points = (joints - np.array([x0, top], np.float32)).astype(np.float32)
        inside = valid & (points[:, 1] <= h - 1) & (points[:, 0] >= 0) & (points[:, 0] <= w - 1) & (points[:, 1] >= 0)
        out.append((picture, points, inside))
    return out


def pose_reported(joints) -> bool:
    return bool(np.isfinite(joints).all(1).any())


def _hits_in_picture(pred, joints, inside) -> int:
    """The joints in the picture that `pred` places within 0.2 torso diameters (a joint it leaves empty misses)."""
    err = np.linalg.norm(np.where(np.isfinite(pred).all(1)[:, None], pred, np.inf) - joints, axis=1)
    return int(((err <= 0.2 * torso_diameter(joints)) & inside).sum())


def evaluate_framing(estimator, person_free, lsp_test_images, waist_up_set, progress=None, chest_up_set=()) -> dict:
    """The figures of the framing targets; see the module docstring for the sets."""
    def tick():
        if progress:
            progress(1)
    reported_free = []
    for name, image in person_free:
        pose = estimator(image)
        reported_free.append((name, pose_reported(pose.joints), pose.presence))
        tick()
    found = []
    for path in lsp_test_images:
        found.append(pose_reported(estimator(read_image(path)).joints))
        tick()
    hits = total = legs_inside = legs_total = 0
    for image, joints, inside in waist_up_set:
        pred = estimator(image).joints
        ok = np.isfinite(pred).all(1)
        hits += _hits_in_picture(pred, joints, inside)
        total += int(inside.sum())
        legs_inside += int(ok[list(LEGS)].sum())
        legs_total += len(LEGS)
        tick()
    chest = {"images": 0, "found": 0, "hits": 0, "joints": 0, "hips_inside": 0}
    for image, joints, inside in chest_up_set:
        pose = estimator(image)
        ok = np.isfinite(pose.joints).all(1)
        chest["images"] += 1
        chest["found"] += int(pose.found)
        chest["hits"] += _hits_in_picture(pose.joints, joints, inside)
        chest["joints"] += int(inside.sum())
        chest["hips_inside"] += int(ok[list(HIPS)].sum())
        tick()
    def share(count, out_of):       # None (null in the JSON) for a set that holds nobody
        return count / out_of if out_of else None

    return {
        "chest_up_images": chest["images"], "chest_up_person_found": chest["found"],
        "chest_up_pck": share(chest["hits"], chest["joints"]),
        "chest_up_hips_reported_inside": share(chest["hips_inside"], 2 * chest["images"]),
        "person_free_images": len(person_free),
        "person_free_pose_reported": sum(r for _, r, _ in reported_free),
        "person_free_reported_names": [n for n, r, _ in reported_free if r],
        "person_free_presence": {n: p for n, _, p in reported_free},
        "lsp_test_images": len(found), "lsp_test_person_found": int(sum(found)),
        "waist_up_images": len(waist_up_set), "waist_up_pck": share(hits, total),
        "waist_up_legs_reported_inside": share(legs_inside, legs_total),
    }
