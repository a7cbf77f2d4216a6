"""Calibration data: the very crops the cascade feeds each stage, from an image folder or a video file.

Stage 1 sees the whole-image box (as for an image folder); stage s > 1 sees the joint crops made around the
fp32 estimates of stages 1..s-1. Rather than re-implementing the cropping, the fp32 backend is wrapped in a
recorder and driven through `engines.estimator.PoseEstimator`, so calibration and inference cannot drift apart.

No torch here: the fp32 backend is normally the ONNX Runtime session over the freshly exported fp32 stages.
"""
from __future__ import annotations

import hashlib
import os

import cv2
import numpy as np

from pose_track.engines.cascade import Cascade
from pose_track.engines.estimator import PoseEstimator
from pose_track.engines.opencv_files import FileAlias, read_picture
from pose_track.tracker.capture import IMAGE_EXTS, CaptureError, ImageFolderSource

class CalibrationError(Exception):
    """Calibration data that cannot be used; the message is one line for the user."""


def _image_files(folder: str) -> list:
    """The images of a folder in `pose-track video`'s order, or of its images/ (an LSP-style folder)."""
    try:
        return [str(f) for f in ImageFolderSource(folder).files]
    except CaptureError:
        if os.path.isdir(os.path.join(folder, "images")):
            return _image_files(os.path.join(folder, "images"))
        return []


def _spread(n_total: int, limit: int | None) -> np.ndarray:
    """Indices of up to `limit` items spread evenly over n_total (all when limit is None)."""
    if limit is None or limit >= n_total:
        return np.arange(n_total)
    return np.unique(np.linspace(0, n_total - 1, limit).round().astype(int))


def iter_frames(source: str, limit: int | None = 64):
    """Yield (name, BGR uint8 image): images of a folder, or frames of a video, spread over the whole source."""
    if os.path.isdir(source):
        files = _image_files(source)
        if not files:
            raise CalibrationError(f"no images in {source}")
        for i in _spread(len(files), limit):
            image = read_picture(files[i])
            if image is None:
                raise CalibrationError(f"cannot read image {files[i]}")
            yield os.path.basename(files[i]), image
        return
    if not os.path.isfile(source):
        raise CalibrationError(f"calibration source not found: {source} (give an image folder or a video file)")
    if os.path.splitext(source)[1].lower() in IMAGE_EXTS:
        image = read_picture(source)
        if image is None:
            raise CalibrationError(f"cannot read image {source}")
        yield os.path.basename(source), image
        return
    alias = FileAlias(source)
    cap = cv2.VideoCapture(alias.name)
    if not cap.isOpened():
        alias.close()
        raise CalibrationError(f"cannot open {source} as a video")
    try:
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        wanted = set(_spread(total, limit).tolist()) if total > 0 else None
        index = produced = 0
        while limit is None or produced < limit:
            if wanted is not None and index not in wanted:
                if not cap.grab():
                    break
                index += 1
                continue
            ok, frame = cap.read()
            if not ok:
                break
            yield f"frame{index:06d}", frame
            produced += 1
            index += 1
        if produced == 0:
            raise CalibrationError(f"no frames could be decoded from {source}")
    finally:
        cap.release()
        alias.close()


class RecordingBackend:
    """Wraps a backend; keeps a copy of every batch each stage is asked to run."""

    def __init__(self, inner):
        self.inner = inner
        self.batches: dict[int, list] = {}

    def run(self, stage: int, batch: np.ndarray):
        # Crops come from warpAffine of uint8 images: whole numbers in 0..255, stored exactly as uint8.
        self.batches.setdefault(stage, []).append(np.clip(np.rint(batch), 0, 255).astype(np.uint8))
        return self.inner.run(stage, batch)


def collect_crops(source: str, backend, config, limit: int | None = 64, stages: int | None = None,
                  progress=None) -> list:
    """Per stage, the uint8 NCHW crops the PoseEstimator's first pass makes on `source`, each frame as a still
    picture (the whole image as the box)."""
    recorder = RecordingBackend(backend)
    cascade = Cascade(recorder, config, stages=stages)
    estimator = PoseEstimator(cascade=cascade, max_passes=1)
    count = 0
    for _, image in iter_frames(source, limit):
        estimator(image)
        count += 1
        if progress:
            progress(1)
    if count == 0:
        raise CalibrationError(f"no calibration images in {source}")
    if any(s not in recorder.batches for s in range(cascade.num_stages)):     # the refiners run on a person only
        raise CalibrationError(f"the model found no person in the {count} calibration image(s) of {source}, so its "
                               "refiner stages got no crops to calibrate on: give pictures of people")
    return [np.concatenate(recorder.batches[s]) for s in range(cascade.num_stages)]


def source_fingerprint(source: str, limit: int | None) -> str:
    """Changes when the calibration source (file names, sizes, times) or the image count changes."""
    h = hashlib.sha256(f"{os.path.abspath(source)}|{limit}".encode())
    if os.path.isdir(source):
        for path in _image_files(source):
            st = os.stat(path)
            h.update(f"{os.path.basename(path)}:{st.st_size}:{int(st.st_mtime)}".encode())
    elif os.path.exists(source):
        st = os.stat(source)
        h.update(f"{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def cached_crops(cache_file: str | None, make):
    """Load the crops from `cache_file` when it exists, else make them (and save them there)."""
    if cache_file and os.path.isfile(cache_file):
        try:
            with np.load(cache_file) as data:
                crops = [data[f"stage{i}"] for i in range(len(data.files))]
        except Exception as exc:        # noqa: BLE001 - any unreadable cache: one line naming it (pickles refused)
            raise CalibrationError(f"the calibration crop cache {cache_file} cannot be read "
                                   f"({type(exc).__name__}): remove it and give --calib again") from None
        if not crops or any(c.dtype != np.uint8 or c.ndim != 4 or c.shape[1] != 3 for c in crops):
            raise CalibrationError(f"the calibration crop cache {cache_file} does not hold crops: remove it and give "
                                   "--calib again")
        return crops
    crops = make()
    if cache_file:
        os.makedirs(os.path.dirname(os.path.abspath(cache_file)), exist_ok=True)
        tmp = cache_file + ".tmp.npz"
        np.savez(tmp, **{f"stage{i}": c for i, c in enumerate(crops)})
        os.replace(tmp, cache_file)
    return crops


def batches(crops: np.ndarray, batch_size: int):
    """float32 NCHW batches of at most batch_size crops."""
    for start in range(0, len(crops), batch_size):
        yield crops[start:start + batch_size].astype(np.float32)
