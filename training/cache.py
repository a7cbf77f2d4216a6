"""One-time cache of person-centred square crops, so training never decodes a JPEG twice.

Each image is cut to a square around its valid joints (side = CONTEXT x their bounding box) and resized
to `size`; joints are stored in cache pixels. Everything the augmentation needs stays inside that context.
"""
from __future__ import annotations

import hashlib
import os

import cv2
import numpy as np

from pose_track.engines.geometry import box_from_joints, crop
from pose_track.engines.opencv_files import read_picture
from pose_track.engines.outputs import write_npz

from .datasets import DatasetError, PoseSet

CONTEXT = 1.8


def read_image(path: str) -> np.ndarray:
    image = read_picture(path)
    if image is None:
        raise DatasetError(f"cannot read image {path}")
    return image


def build_cache(data: PoseSet, size: int, cache_dir: str | None = None, progress=None):
    """Returns (images uint8 (N, size, size, 3) RGB, joints (N, 14, 2) in cache pixels)."""
    key = hashlib.sha1(("|".join(data.paths) + f"{size}{CONTEXT}").encode()).hexdigest()[:16]
    file = os.path.join(cache_dir, f"crops_{size}_{key}.npz") if cache_dir else None
    if file and os.path.isfile(file):
        try:
            with np.load(file) as z:
                images, joints = z["images"], z["joints"]
        except Exception as exc:        # noqa: BLE001 - any unreadable cache: one line naming it (pickles refused)
            raise DatasetError(f"the crop cache {file} cannot be read ({type(exc).__name__}): remove it, and it is "
                               "made again") from None
        if images.shape != (len(data), size, size, 3) or joints.shape != (len(data), 14, 2):
            raise DatasetError(f"the crop cache {file} does not hold these images' crops: remove it, and it is "
                               "made again")
        return images, joints
    images = np.zeros((len(data), size, size, 3), np.uint8)
    joints = np.zeros((len(data), 14, 2), np.float32)
    for i, path in enumerate(data.paths):
        img = read_image(path)
        valid = data.valid[i] if data.valid[i].any() else np.ones(14, bool)
        box = box_from_joints(data.joints[i], CONTEXT, valid)
        images[i] = cv2.cvtColor(crop(img, box, size), cv2.COLOR_BGR2RGB)
        k = size / box[2]
        joints[i] = (data.joints[i] - np.array(box[:2], np.float32)) * k + (size - 1) / 2.0
        if progress:
            progress(1)
    if file:
        os.makedirs(cache_dir, exist_ok=True)
        write_npz(file, {"images": images, "joints": joints})    # a run stopped while writing leaves no cut cache
    return images, joints
