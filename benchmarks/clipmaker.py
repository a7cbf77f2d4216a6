"""Synthetic test clips: a still image with known joints, filmed by a smoothly moving virtual camera.

Each frame is `cv2.warpAffine(still, M_t)`; M_t rotates and zooms about the person's centre and translates.
The motion is a sum of slow random sinusoids per parameter (translation, log-zoom, rotation) plus a few fast
segments (a quick smoothstep move of the translation to a new offset over a handful of frames). The ground truth
of frame t is exactly M_t applied to the still's joints, written in the CSV schema of the README's Outputs with
confidence 1 (empty cells where the still's joint is NaN). Everything is deterministic given the seed.

    info = make_clip(image, joints, "clip.mp4", "clip_gt.csv", n_frames=300, seed=3)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pose_track.engines.opencv_files import FileAlias
from pose_track.engines.outputs import partial_path
from pose_track.tracker.sinks import SinkError, write_pose_csv



@dataclass
class ClipInfo:
    video_path: str
    csv_path: str | None
    matrices: np.ndarray  # (N, 2, 3) still pixels -> frame pixels
    joints: np.ndarray    # (N, 14, 2) ground truth in frame pixels
    times: np.ndarray     # (N,) seconds
    fps: float
    size: tuple           # (width, height)


def _smooth_signal(rng, n: int, fps: float, amplitude: float, freqs=(0.05, 0.35), k: int = 3) -> np.ndarray:
    t = np.arange(n) / fps
    sig = np.zeros(n)
    for _ in range(k):
        f = rng.uniform(*freqs)
        sig += rng.uniform(0.5, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    peak = np.max(np.abs(sig)) or 1.0
    return amplitude * sig / peak


def _fast_segments(rng, n: int, count: int, amplitude: float, length=(5, 10)) -> np.ndarray:
    """(n, 2) offsets: piecewise constant, with `count` quick smoothstep moves to random targets."""
    off = np.zeros((n, 2))
    if count <= 0 or n < 4 * length[1]:
        return off
    starts = np.sort(rng.choice(np.arange(length[1], n - 2 * length[1]), size=count, replace=False))
    current = np.zeros(2)
    for s in starts:
        L = int(rng.integers(length[0], length[1] + 1))
        # a real jump: to the other side of the centre on each axis (at least `amplitude` away)
        target = -np.sign(current + (current == 0) * rng.choice([-1.0, 1.0], size=2)) * \
            rng.uniform(0.5 * amplitude, amplitude, size=2)
        u = np.clip((np.arange(n) - s) / L, 0.0, 1.0)
        ramp = u * u * (3 - 2 * u)
        off += ramp[:, None] * (target - current)[None, :]
        current = target
    return off


def camera_path(n_frames: int, size, center, seed: int = 0, fps: float = 30.0, translate: float = 0.12,
                zoom: float = 0.15, rotate_deg: float = 10.0, fast_segments: int = 3,
                fast_amplitude: float = 0.1) -> np.ndarray:
    """(N, 2, 3) affine matrices. `translate` and `fast_amplitude` are fractions of the frame size, `zoom` the
    amplitude of log-zoom, `rotate_deg` the rotation amplitude; `center` is the point rotated/zoomed about."""
    rng = np.random.default_rng(seed)
    w, h = size
    n = n_frames
    tx = _smooth_signal(rng, n, fps, translate * w)
    ty = _smooth_signal(rng, n, fps, translate * h)
    log_s = _smooth_signal(rng, n, fps, zoom)
    ang = np.deg2rad(_smooth_signal(rng, n, fps, rotate_deg))
    fast = _fast_segments(rng, n, fast_segments, fast_amplitude) * np.array([w, h])
    cx, cy = float(center[0]), float(center[1])
    mats = np.zeros((n, 2, 3))
    for i in range(n):
        s = np.exp(log_s[i])
        c, si = np.cos(ang[i]) * s, np.sin(ang[i]) * s
        lin = np.array([[c, -si], [si, c]])
        t = np.array([cx + tx[i] + fast[i, 0], cy + ty[i] + fast[i, 1]]) - lin @ np.array([cx, cy])
        mats[i, :, :2] = lin
        mats[i, :, 2] = t
    return mats


def transform_joints(matrices: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(N, 2, 3) x (J, 2) -> (N, J, 2) float64 (NaN joints stay NaN)."""
    j = np.asarray(joints, np.float64)
    return np.einsum("nab,jb->nja", matrices[:, :, :2], j) + matrices[:, None, :, 2]


def _fourcc_for(path: str) -> str:
    ext = Path(path).suffix.lower()
    return {".avi": "MJPG", ".mkv": "MJPG"}.get(ext, "mp4v")


def make_clip(image: np.ndarray, joints, video_path, csv_path=None, n_frames: int = 300, fps: float = 30.0,
              seed: int = 0, size=None, fourcc: str | None = None, source_name: str | None = None,
              **motion) -> ClipInfo:
    """Render the clip to `video_path` (mp4v for .mp4, MJPG for .avi) and, when `csv_path` is given, its
    ground truth. `size` = (width, height) of the output (default: the still's). `motion` goes to
    `camera_path` (translate, zoom, rotate_deg, fast_segments, fast_amplitude)."""
    joints = np.asarray(joints, np.float64).reshape(-1, 2)
    h0, w0 = image.shape[:2]
    w, h = (w0, h0) if size is None else (int(size[0]), int(size[1]))
    ok = np.isfinite(joints).all(1)
    center = joints[ok].mean(0) if ok.any() else np.array([(w0 - 1) / 2, (h0 - 1) / 2])
    mats = camera_path(n_frames, (w, h), center, seed=seed, fps=fps, **motion)
    if (w, h) != (w0, h0):  # also move the person's centre to the centre of the new frame size
        shift = np.array([(w - 1) / 2.0, (h - 1) / 2.0]) - center
        mats[:, :, 2] += shift
    gt = transform_joints(mats, joints)
    times = np.arange(n_frames) / fps

    video_path = str(video_path)
    if not Path(video_path).resolve().parent.is_dir():
        raise SinkError(f"cannot write {video_path}: its folder does not exist")
    frame = np.empty((h, w, 3), np.uint8)

    def frames():
        for m in mats:
            cv2.warpAffine(image, m.astype(np.float32), (w, h), dst=frame, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
            yield frame
    write_video(video_path, frames(), fps, (w, h), fourcc or _fourcc_for(video_path))
    if csv_path is not None:
        name = source_name if source_name is not None else video_path
        conf = np.where(np.isfinite(gt).all(-1), 1.0, np.nan)
        write_pose_csv(csv_path, name, np.arange(n_frames), times, gt, conf)
    return ClipInfo(video_path, None if csv_path is None else str(csv_path), mats, gt.astype(np.float32),
                    times, float(fps), (w, h))


def write_video(path, frames, fps: float, size, fourcc: str = "mp4v") -> None:
    """Write BGR frames of `size` (width, height) to `path`; the file appears whole or not at all."""
    partial = partial_path(str(path))
    alias = FileAlias(partial)
    writer = cv2.VideoWriter(alias.name, cv2.VideoWriter_fourcc(*fourcc), float(fps), tuple(int(v) for v in size))
    try:
        if not writer.isOpened():
            raise SinkError(f"cannot write video {path}")
        for frame in frames:
            writer.write(frame)
        writer.release()
        os.replace(partial, str(path))
    finally:
        writer.release()
        alias.close()
        if os.path.exists(partial):
            os.remove(partial)


def frame_at(image: np.ndarray, matrix: np.ndarray, size) -> np.ndarray:
    """One frame of the clip, without writing a video."""
    return cv2.warpAffine(image, np.asarray(matrix, np.float32), tuple(int(v) for v in size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def synthetic_person(width: int = 64, height: int = 48, seed: int = 0):
    """A tiny still with a stick figure and its 14 joints, for tests (no dataset needed)."""
    from pose_track.engines.joints import SKELETON

    rng = np.random.default_rng(seed)
    img = (rng.integers(40, 90, size=(height, width, 3))).astype(np.uint8)
    img = cv2.GaussianBlur(img, (5, 5), 0)
    cx, top, tall = width / 2.0, height * 0.15, height * 0.7
    u = tall / 7.0
    pts = np.array([
        [cx - 0.6 * u, top + 7.0 * u], [cx - 0.6 * u, top + 5.5 * u], [cx - 0.6 * u, top + 4.0 * u],
        [cx + 0.6 * u, top + 4.0 * u], [cx + 0.6 * u, top + 5.5 * u], [cx + 0.6 * u, top + 7.0 * u],
        [cx - 1.8 * u, top + 3.6 * u], [cx - 1.5 * u, top + 2.5 * u], [cx - 1.0 * u, top + 1.3 * u],
        [cx + 1.0 * u, top + 1.3 * u], [cx + 1.5 * u, top + 2.5 * u], [cx + 1.8 * u, top + 3.6 * u],
        [cx, top + 1.0 * u], [cx, top],
    ])
    for a, b in SKELETON:
        cv2.line(img, tuple(int(round(v)) for v in pts[a]), tuple(int(round(v)) for v in pts[b]),
                 (220, 220, 220), 1, cv2.LINE_AA)
    return img, pts.astype(np.float32)
