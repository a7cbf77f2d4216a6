"""Drawing the skeleton, the annotated-video sink (`--render OUT.mp4`) and the live window (`--show`).

Joint dots are coloured by confidence: red (0) -> yellow (0.5) -> green (1). Bones (engines.joints.SKELETON)
are drawn between found joints, the person box as a thin rectangle (cyan; magenta on a re-acquired frame).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from pose_track.engines.joints import SKELETON
from pose_track.engines.opencv_files import FileAlias
from pose_track.engines.outputs import partial_path

from .sinks import SinkError, StopRequested, missing_folder

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v")    # what VideoSink's encoders write


def confidence_color(c: float):
    """BGR colour for a confidence in [0, 1]: red -> yellow -> green; grey when unknown."""
    if c is None or not np.isfinite(c):
        return (160, 160, 160)
    c = float(np.clip(c, 0.0, 1.0))
    return (0, int(round(255 * min(1.0, 2 * c))), int(round(255 * min(1.0, 2 * (1 - c)))))


def _pt(p):
    return (int(round(float(p[0]))), int(round(float(p[1]))))


def draw_pose(image: np.ndarray, joints, conf=None, box=None, reacquired: bool = False,
              copy: bool = True) -> np.ndarray:
    """Draw the skeleton on (a copy of) a BGR image; NaN joints are skipped."""
    out = image.copy() if copy else image
    joints = np.asarray(joints, np.float64)
    conf = np.ones(len(joints)) if conf is None else np.asarray(conf, np.float64)
    h, w = out.shape[:2]
    s = max(h, w)
    thick = max(1, int(round(s / 320)))
    radius = max(1, int(round(s / 160)))
    ok = np.isfinite(joints).all(1)
    if box is not None and np.isfinite(box).all():
        cx, cy, side = box[:3]
        angle = float(box[3]) if len(box) > 3 else 0.0
        colour = (255, 0, 255) if reacquired else (255, 255, 0)
        corners = cv2.boxPoints(((float(cx), float(cy)), (float(side), float(side)), angle))  # as the crop turns
        cv2.polylines(out, [np.round(corners).astype(np.int32)], True, colour, 1, cv2.LINE_AA)
    for a, b in SKELETON:
        if ok[a] and ok[b]:
            cv2.line(out, _pt(joints[a]), _pt(joints[b]), (255, 255, 255), thick, cv2.LINE_AA)
    for j in np.flatnonzero(ok):
        cv2.circle(out, _pt(joints[j]), radius, confidence_color(conf[j]), -1, cv2.LINE_AA)
    return out


def draw_result(image: np.ndarray, result, which: str = "smoothed") -> np.ndarray:
    joints = result.raw if which == "raw" else result.smoothed
    return draw_pose(image, joints, result.confidence, result.box, result.reacquired)


MIN_RENDER_FPS = 1.0         # the lowest frame rate a render is written at
LIVE_RATE_FRAMES = 15        # a live render's frame rate is measured over its first frames (at most ...
LIVE_RATE_SECONDS = 1.0      # ... this long), held until then


class VideoSink:
    """Annotated video (mp4v for .mp4/.mov/.m4v, MJPG for .avi/.mkv). Opened on the first frame (size), at the
    source's fps. A live source's declared rate says little (FFmpeg gives 25 for any MJPEG stream, and dropped
    frames are not written), so a live render's rate is the rate its first frames were written at: it plays
    in real time.

    Written under a partial name beside `path` and moved onto it by `close()` (done on Ctrl-C and errors
    too): everything processed before a fault is kept; a run that processed nothing leaves no file. A hard kill
    leaves an unreadable partial .mp4 -- write .avi (MJPG) when that matters.

    cv2.VideoWriter reports no failed write (a full disk), so `close()` reopens the finished file: one that does
    not hold every frame written raises SinkError, after moving it onto `path` when its first frames can be read
    and removing it when nothing can (an older file of that name then stays as it was)."""

    needs_image = True

    def __init__(self, path, fps: float | None = None, which: str = "smoothed"):
        self.path = str(path)
        parent = Path(self.path).resolve().parent
        if Path(self.path).is_dir():
            raise SinkError(f"cannot write video {self.path}: it is a folder")
        why = missing_folder(self.path)
        if why:
            raise SinkError(f"cannot write video {self.path}: {why}")
        if Path(self.path).suffix.lower() not in VIDEO_SUFFIXES:
            raise SinkError(f"cannot write video {self.path}: give a file name ending in "
                            f"{', '.join(VIDEO_SUFFIXES[:-1])} or {VIDEO_SUFFIXES[-1]}, or a folder ending with '/'")
        if not os.access(parent, os.W_OK) or (os.path.exists(self.path) and not os.access(self.path, os.W_OK)):
            raise SinkError(f"cannot write video {self.path}: permission denied")
        self.target = os.path.realpath(self.path)
        self.partial = partial_path(self.target)
        self.fps = fps
        self.which = which
        self._writer = None
        self._alias = None          # the name OpenCV writes `partial` under (engines.opencv_files)
        self._size = None
        self.frames = 0
        self._live = False
        self._held: list = []       # (time_s, image) of a live render's first frames, until its rate is known

    def begin(self, source) -> None:
        self._live = bool(getattr(source, "live", False)) and self.fps is None
        if self.fps is None and getattr(source, "fps", None) and not self._live:
            # A file's rate as its header says, but at least MIN_RENDER_FPS: OpenCV's writer refuses a
            # nearly zero rate (0.001 frames/s in a damaged header).
            self.fps = max(float(source.fps), MIN_RENDER_FPS)

    def _measured_fps(self) -> float | None:
        if len(self._held) < 2:
            return None
        span = self._held[-1][0] - self._held[0][0]
        return min(max((len(self._held) - 1) / span, 1.0), 120.0) if span > 0 else None

    def _open(self, w: int, h: int) -> None:
        ext = Path(self.path).suffix.lower()
        codec = "MJPG" if ext in (".avi", ".mkv") else "mp4v"
        fps = float(self.fps or 30.0)
        self._alias = FileAlias(self.partial)
        self._writer = cv2.VideoWriter(self._alias.name, cv2.VideoWriter_fourcc(*codec), fps, (w, h))
        if not self._writer.isOpened():
            self._alias.close()
            if os.path.exists(self.partial):
                os.remove(self.partial)
            why = ("no space left on device" if _disk_full(self.partial)
                   else f"OpenCV's video writer refused {codec} at {w}x{h}, {fps:g} frames/s")
            raise SinkError(f"cannot write video {self.path}: {why}")
        self._size = (w, h)

    def write(self, frame, result) -> None:
        img = draw_result(frame.image, result, self.which)
        if self._live and self._writer is None:
            self._held.append((float(frame.time_s), img))
            if len(self._held) >= LIVE_RATE_FRAMES or self._held[-1][0] - self._held[0][0] >= LIVE_RATE_SECONDS:
                self._write_held()
            return
        self._put(img)

    def _write_held(self) -> None:
        self.fps = self._measured_fps() or self.fps
        held, self._held = self._held, []
        for _, img in held:
            self._put(img)

    def _put(self, img) -> None:
        h, w = img.shape[:2]
        if self._writer is None:
            self._open(w, h)
        if (w, h) != self._size:
            img = letterbox(img, self._size)
        self._writer.write(img)
        self.frames += 1

    def close(self) -> None:
        if self._held:
            self._write_held()
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        try:
            held = _frames_held(self._alias.name, self.frames) if self.frames else "none"
        finally:
            self._alias.close()
        if not self.frames:
            if os.path.exists(self.partial):
                os.remove(self.partial)
            return
        if held == "all":
            os.replace(self.partial, self.target)
            return
        why = "no space left on device" if _disk_full(self.partial) else "the encoder's output was not written whole"
        if held == "some":
            os.replace(self.partial, self.target)
            raise SinkError(f"writing video {self.path} failed: {why}; it holds only part of the {self.frames} "
                            "frames rendered")
        if os.path.exists(self.partial):
            os.remove(self.partial)
        raise SinkError(f"writing video {self.path} failed: {why}; no frame of it could be read back, so it was "
                        "removed")


def _frames_held(path: str, frames: int) -> str:
    """'all' when the video at `path` reads back with `frames` frames and its last one, 'some' when only its
    first frame can be read, 'none' when not even that."""
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened() or not cap.grab():
            return "none"
        if cap.get(cv2.CAP_PROP_FRAME_COUNT) < frames:
            return "some"
        if frames > 1:
            cap.set(cv2.CAP_PROP_POS_FRAMES, frames - 1)
            if not cap.grab():
                return "some"
        return "all"
    finally:
        cap.release()


def _disk_full(path: str) -> bool:
    """Whether the file system that holds `path` has (nearly) no room left."""
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)


def letterbox(image: np.ndarray, size) -> np.ndarray:
    """`image` scaled to fit (width, height) `size` whole, its shape kept, centred on black (a folder of pictures
    of several sizes rendered as one video)."""
    w, h = size
    ih, iw = image.shape[:2]
    k = min(w / iw, h / ih)
    nw, nh = max(1, min(w, int(round(iw * k)))), max(1, min(h, int(round(ih * k))))
    out = np.zeros((h, w, 3), np.uint8)
    x, y = (w - nw) // 2, (h - nh) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    return out


def x_display_answers(display: str, timeout: float = 1.0) -> bool:
    """Whether the X display named `display` ("[host]:N[.screen]") accepts a connection."""
    import re
    import socket

    m = re.fullmatch(r"(?:([^:]*)/)?([^:]*):(\d+)(?:\.\d+)?", display)
    if m is None:
        return True             # a form this does not know: let the GUI library try
    host, number = m.group(2), int(m.group(3))
    try:
        if host in ("", "unix"):
            for address in ("\0/tmp/.X11-unix/X%d" % number, "/tmp/.X11-unix/X%d" % number):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(timeout)
                    try:
                        sock.connect(address)
                        return True
                    except OSError:
                        continue
            return False
        with socket.create_connection((host, 6000 + number), timeout=timeout):
            return True
    except OSError:
        return False


def display_available(title: str = "pose-track") -> tuple[bool, str]:
    """(ok, why not). Checks for a display server and for an OpenCV build with a GUI backend."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, "--show needs a display, but none is available (headless: no DISPLAY); use --render OUT.mp4"
    display = os.environ.get("DISPLAY", "")
    if sys.platform.startswith("linux") and display and not os.environ.get("WAYLAND_DISPLAY") \
            and not x_display_answers(display):
        # Qt aborts the whole process on a display it cannot reach (a stale SSH forwarding).
        return False, f"--show: the display {display} does not answer; use --render OUT.mp4"
    try:
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)
    except cv2.error:
        return False, ("--show needs an OpenCV build with a GUI (this one is headless, e.g. "
                       "opencv-python-headless); use --render OUT.mp4")
    return True, ""


class WindowSink:
    """Live window. `q` or Esc ends the run cleanly (raises StopRequested)."""

    needs_image = True

    def __init__(self, title: str = "pose-track", which: str = "smoothed"):
        ok, why = display_available(title)
        if not ok:
            raise SinkError(why)
        self.title = title
        self.which = which

    def write(self, frame, result) -> None:
        try:
            cv2.imshow(self.title, draw_result(frame.image, result, self.which))
            key = cv2.waitKey(1) & 0xFF
        except cv2.error as e:
            raise SinkError(f"--show: the window failed ({str(e).splitlines()[0]})") from None
        if key in (27, ord("q")):
            raise StopRequested("q or Esc in the window")

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
        except cv2.error:
            pass
