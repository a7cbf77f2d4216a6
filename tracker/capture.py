"""Frame sources: video files, image folders, cameras and network streams.

`open_source(spec)` picks the kind from the spec and returns a `Source`; iterating it yields `Frame`s.

- Video file (an animated GIF too): every frame the decoder can read, in order, none dropped; a frame it cannot
  read is skipped and listed in `undecodable`, and `index` stays the frame's number in the file. `time_s` is the
  container timestamp of the frame (CAP_PROP_POS_MSEC), or index / fps when the container gives none.
- Image folder (or a single image): the images sorted by name (natural order, so `f2` < `f10`); `source_name`
  is the file name and `index` its position in that order. A list of images keeps its order and names each by
  its path as given (two folders may hold a 1.jpg each), as does a folder among several inputs
  (`name_by_path`). The images are treated as independent stills (`Source.independent`), `time_s` is index / fps
  (fps 30 unless given). Hidden files (`.name`) are no inputs. Unreadable images are skipped and listed in
  `Source.skipped`.
- Camera index (`0` or `"0"`) or URL (rtsp://, http://, ...): a capture thread reads as fast as the device
  delivers and keeps only the newest frame (latest-frame-wins), so latency never accumulates; a frame that is
  replaced before the consumer took it counts in `Source.dropped`, and `index` counts every captured frame
  (gaps = drops). `time_s` is the capture clock (seconds since the source was opened).

Every failure to open or read a source raises `CaptureError` with a one-line message.

One module for the four kinds: they share the `Source` protocol, the file-name order and the
one-line errors, and `open_source` / `expand_inputs` choose among them by the spec.
"""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from pose_track.engines.opencv_files import FileAlias, decode_picture

# OpenCV's own warnings (a camera that does not open, a file it cannot parse) would bury our one-line errors.
if hasattr(cv2, "utils") and hasattr(cv2.utils, "logging"):
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
# FFmpeg's log lines ("moov atom not found", "Connection refused", "overread 8") likewise; OpenCV's logging
# does not cover them. OpenCV reads this variable once, at the process's first FFmpeg capture or writer, so it
# is set here, on import, before any. -8 is FFmpeg's "quiet"; a value the user set is kept.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp", ".gif",
                        ".jp2", ".avif", ".ppm", ".pgm", ".pbm", ".pnm", ".sr", ".ras"})     # what cv2.imread reads
VIDEO_EXTS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
                        ".ts", ".mts", ".3gp", ".ogv"})
MAX_UNDECODABLE = 30        # frames in a row a video file may fail to decode before it counts as ended


class CaptureError(Exception):
    """A source cannot be opened or read. `str(err)` is a single line meant for the user."""


@dataclass
class Frame:
    index: int
    time_s: float
    image: np.ndarray  # BGR uint8 (H, W, 3)
    source_name: str


class Source:
    """Base class. Iterate (or call `frames(stop)`) to get frames; `close()` releases the device/file."""

    name: str = ""
    live: bool = False          # camera / stream: frames may be dropped, timestamps from the clock
    independent: bool = False   # frames are unrelated stills (image folder): do not track across them
    fps: float | None = None
    dropped: int = 0

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def close(self) -> None:
        pass

    def reopen(self) -> "Source":
        """A fresh source over the same input, from its start (files only)."""
        raise CaptureError(f"{self.name}: a live source cannot be read twice")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def unreadable_images(names) -> str:
    """How a run says which images it could not read: how many, and the first few names."""
    return (f"{len(names)} unreadable image(s) skipped (not an image, or cut short): " + ", ".join(names[:5])
            + (" ..." if len(names) > 5 else ""))


def _read_picture_file(path):
    """The picture in the file at `path` (read once), or None: not a picture, unreadable, or a JPEG cut short."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return None if _jpeg_ends_early(data) or _png_ends_early(data) else decode_picture(data)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OPENCV_MAX_PIXELS = 1 << 30         # OpenCV decodes no picture larger (its OPENCV_IO_MAX_IMAGE_PIXELS default)
JPEG_FRAME_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def picture_size(header: bytes):
    """(width, height) from a PNG's or a JPEG's first bytes, or None (another format, or not found there)."""
    if header.startswith(PNG_SIGNATURE) and header[12:16] == b"IHDR":
        return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    if not header.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 9 <= len(header):
        if header[i] != 0xFF:
            return None
        marker, length = header[i + 1], int.from_bytes(header[i + 2:i + 4], "big")
        if marker in JPEG_FRAME_MARKERS:
            return int.from_bytes(header[i + 7:i + 9], "big"), int.from_bytes(header[i + 5:i + 7], "big")
        i += 2 + length
    return None


def too_large_to_read(path) -> str | None:
    """Why OpenCV reads no picture from a file that holds one: its size over OpenCV's limit, or None."""
    try:
        with open(path, "rb") as f:
            size = picture_size(f.read(1 << 16))
    except OSError:
        return None
    limit = int(os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", OPENCV_MAX_PIXELS) or OPENCV_MAX_PIXELS)
    if size is None or size[0] * size[1] <= limit:
        return None
    return (f"{size[0]} x {size[1]} pixels, over the {limit} OpenCV reads: set OPENCV_IO_MAX_IMAGE_PIXELS to read it, "
            "or shrink it")


def _png_ends_early(data: bytes) -> bool:
    """A PNG cut short: its chunks, read from the start, end before the IEND chunk. Decided here rather than by
    the decoder, whose libpng writes its own "libpng error" line to stderr."""
    if not data.startswith(PNG_SIGNATURE):
        return False
    i, n = len(PNG_SIGNATURE), len(data)
    while i + 8 <= n:
        length, kind = int.from_bytes(data[i:i + 4], "big"), data[i + 4:i + 8]
        i += 12 + length                        # length, type, data, CRC
        if kind == b"IEND":
            return i > n
    return True


def _jpeg_ends_early(data: bytes) -> bool:
    """A JPEG cut short (a copy or download that stopped): its markers, read from the start, end before the
    end-of-image marker. OpenCV decodes such a file with its missing part grey, which would be taken for the
    picture. Decided by content (a PNG named .jpg is not a JPEG); bytes after the end-of-image marker (a phone's
    motion photo) do not count."""
    if not data.startswith(b"\xff\xd8"):
        return False
    i, n = 2, len(data)
    while True:
        i = data.find(b"\xff", i)               # stray bytes before a marker are skipped, as libjpeg does
        if i < 0:
            return True
        while i < n and data[i] == 0xFF:        # a marker, after any fill bytes
            i += 1
        if i >= n:
            return True
        marker = data[i]
        i += 1
        if marker == 0xD9:                      # end of image
            return False
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue                            # markers without a segment
        if i + 2 > n:
            return True
        i += int.from_bytes(data[i:i + 2], "big")
        if marker != 0xDA:                      # a segment: skip it whole (EXIF and its thumbnail included)
            continue
        while True:                             # a scan's coded data runs to the next marker that is not a
            j = data.find(b"\xff", i)           # stuffed 0xFF00 or a restart marker
            if j < 0 or j + 1 >= n:
                return True
            following = data[j + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                i = j + 2
            elif following == 0xFF:
                i = j + 1
            else:
                i = j
                break


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _redact(url: str) -> str:
    """The URL without user:password, for names and messages (also a URL too malformed to parse)."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^@]*@", r"\1", url)   # up to the last '@': a password may hold '/'


class VideoFileSource(Source):
    """A video file, decoded with OpenCV (FFmpeg). Never drops a frame it can decode."""

    def __init__(self, path, name: str | None = None):
        p = Path(path)
        if not p.exists():
            raise CaptureError(f"video file not found: {path}")
        if p.is_dir():
            raise CaptureError(f"{path} is a folder, not a video file")
        if not os.access(p, os.R_OK):
            raise CaptureError(f"cannot read {path}: permission denied")
        if p.stat().st_size == 0:
            raise CaptureError(f"cannot open video {path}: the file is empty")
        self.path = p
        self.name = name if name is not None else str(path)
        try:
            self._alias = FileAlias(p)
        except OSError as e:
            raise CaptureError(f"cannot open video {path}: {e.strerror or e}") from None
        self._cap = cv2.VideoCapture(self._alias.name)
        if not self._cap.isOpened():
            self.close()
            raise CaptureError(f"cannot open video {path}: corrupt, truncated or unsupported format")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.0 < fps < 1000.0 else None
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: int | None = count if count > 0 else None
        self.undecodable: list[int] = []    # indices of frames the decoder could not read, skipped
        self._attempts = 0                  # frames the decoder was asked for (a failed read uses one up)
        first, self._first_index = self._read()
        if first is None:
            self.close()
            raise CaptureError(f"cannot decode video {path}: no frame could be read "
                               "(corrupt, truncated or unsupported codec)")
        self._first = first
        self._first_ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
        self.height, self.width = first.shape[:2]
        self.frames_read = 0
        self.decoding_ended = False     # the decoder gave no more frames
        self._used = False

    def _read(self):
        """(image, its index in the file) of the next frame the decoder can read, or (None, None) at the end.
        A frame it cannot read (a damaged JPEG in an MJPEG file) is skipped and listed in `undecodable` when a
        later one reads; up to MAX_UNDECODABLE in a row, and only before the frame count the container announces
        (a file that ends early is `truncated`, not a run of undecodable frames)."""
        failed = []
        while True:
            index = self._attempts
            self._attempts += 1
            ok, image = self._cap.read()
            if ok and image is not None:
                self.undecodable.extend(failed)
                return image, index
            failed.append(index)
            past_the_end = self.frame_count is not None and self._attempts >= self.frame_count
            if len(failed) >= MAX_UNDECODABLE or past_the_end:
                return None, None

    @property
    def truncated(self) -> bool:
        """True when decoding ended well before the frame count the container announced (not when the reader
        stopped asking for frames)."""
        return (self.decoding_ended and self.frame_count is not None
                and self.frames_read + len(self.undecodable) < 0.9 * self.frame_count - 1)

    def _time(self, index: int, ms: float, prev: float | None) -> float:
        """The frame's time: the container's, where it moves on; else the frame's place at the declared rate, but
        never at or before the frame before (a timestamp that repeats or goes back once must not send the time
        column, and the filters' time step, backwards)."""
        t = ms / 1000.0
        if index == 0 or (prev is not None and t > prev):
            return t
        step = 1.0 / self.fps if self.fps else 1.0 / 30.0
        t = index * step if self.fps else (prev or 0.0) + step
        return t if prev is None or t > prev else prev + step

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]:
        if self._used:
            raise CaptureError(f"{self.name}: already read; use reopen()")
        self._used = True
        image, ms, index = self._first, self._first_ms, self._first_index
        self._first = None
        prev = None
        try:
            while image is not None:
                t = self._time(index, ms, prev)
                prev = t
                self.frames_read += 1
                yield Frame(index, t, image, self.name)
                if stop is not None and stop.is_set():
                    return
                image, index = self._read()
                if image is None:
                    self.decoding_ended = True
                ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
        finally:
            self.close()

    def close(self) -> None:
        self._cap.release()
        self._alias.close()

    def reopen(self) -> "VideoFileSource":
        return VideoFileSource(self.path, self.name)


def _visible_files(folder: Path) -> list:
    """The files of a folder, hidden ones left out (a name starting with '.': macOS keeps `._clip.mp4` beside
    every clip copied to a foreign disk, which no decoder reads)."""
    return [f for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")]


class ImageFolderSource(Source):
    """Still images: a folder's, sorted by name, or an explicit list of files in its order. Independent frames by
    default."""

    independent = True

    def __init__(self, path_or_files, fps: float | None = None):
        if isinstance(path_or_files, (str, os.PathLike)):
            p = Path(path_or_files)
            if not p.exists():
                raise CaptureError(f"input not found: {path_or_files}")
            if p.is_dir():
                files = sorted((f for f in _visible_files(p) if f.suffix.lower() in IMAGE_EXTS),
                               key=lambda f: _natural_key(f.name))
                if not files:
                    raise CaptureError(f"no images in folder {path_or_files}")
            elif p.suffix.lower() in IMAGE_EXTS:
                files = [p]
            else:
                raise CaptureError(f"{path_or_files} is not an image")
            self.path = p
        else:
            files = [Path(f) for f in path_or_files]
            if not files:
                raise CaptureError("no images given")
            self.path = files[0].parent
        self.files: list[Path] = files
        self._by_name = isinstance(path_or_files, (str, os.PathLike))    # a folder's images: by file name
        self.name = str(path_or_files) if isinstance(path_or_files, (str, os.PathLike)) else str(self.path)
        self.fps = float(fps) if fps else 30.0
        self.skipped: list[str] = []
        self._fps_given = fps

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]:
        read, why = 0, None
        for i, f in enumerate(self.files):
            if stop is not None and stop.is_set():
                return
            image = _read_picture_file(f)
            name = f.name if self._by_name else str(f)
            if image is None:
                why = too_large_to_read(f)
                self.skipped.append(name if why is None else f"{name} ({why})")
                continue
            read += 1
            yield Frame(i, i / self.fps, image, name)
        if read == 0:
            single = f": {why}" if why and len(self.files) == 1 else ""     # why a single picture could not be read
            raise CaptureError(f"no readable image in {self.name}{single}")

    def name_by_path(self) -> "ImageFolderSource":
        """Name each image by its path as given (`dA/x.jpg`), not its file name: for a run over several folders,
        which may hold images of one name."""
        self._by_name = False
        return self

    def reopen(self) -> "ImageFolderSource":
        again = ImageFolderSource(self.files, self._fps_given)
        again._by_name = self._by_name
        return again


class LiveSource(Source):
    """A camera or network stream read by a background thread; only the newest frame is kept.

    `capture` is anything with `read() -> (ok, image)` and `release()` (a cv2.VideoCapture, or a fake in
    tests). The thread stops after `max_failures` consecutive failed reads (end of stream / unplugged).
    """

    live = True

    def __init__(self, capture, name: str, fps: float | None = None, first_frame_timeout: float = 10.0,
                 stall_timeout: float = 10.0, max_failures: int = 50, clock=time.monotonic):
        self._cap = capture
        self.name = name
        self.fps = fps
        self.dropped = 0
        self.captured = 0
        self.first_frame_timeout = first_frame_timeout
        self.stall_timeout = stall_timeout
        self.max_failures = max_failures
        self._clock = clock
        self._t0 = clock()
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._taken = True
        self._ended = False
        self._halt = threading.Event()
        self._released = False
        self._thread = threading.Thread(target=self._run, name=f"capture:{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        index, failures = 0, 0
        try:
            while not self._halt.is_set():
                ok, image = self._cap.read()
                if not ok or image is None:
                    failures += 1
                    if failures >= self.max_failures:
                        break
                    time.sleep(0.01)
                    continue
                failures = 0
                t = self._clock() - self._t0
                with self._cond:
                    if not self._taken:
                        self.dropped += 1
                    self._latest = Frame(index, t, image, self.name)
                    self._taken = False
                    self.captured += 1
                    self._cond.notify_all()
                index += 1
        except Exception:  # a backend error ends the stream like an unplugged camera
            pass
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()
            if self._halt.is_set():     # close() gave up waiting for this read: the capture is released here
                self._release()

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]:
        got_any = False
        waited_since = time.monotonic()
        try:
            while True:
                with self._cond:
                    while self._taken and not self._ended:
                        if stop is not None and stop.is_set():
                            return
                        self._cond.wait(0.05)
                        waited = time.monotonic() - waited_since
                        limit = self.stall_timeout if got_any else self.first_frame_timeout
                        if self._taken and not self._ended and waited > limit:
                            what = "stopped delivering frames" if got_any else "opened but delivered no frame"
                            raise CaptureError(f"{self.name} {what} for {limit:.0f} s")
                    if self._taken:  # ended and nothing new
                        if not got_any:
                            raise CaptureError(f"{self.name} opened but delivered no frame")
                        dropped = (f"; {self.dropped} of them came while the tracker was busy and were dropped (a "
                                   "live source gives its newest frame)") if self.dropped else ""
                        raise CaptureError(f"{self.name} ended after {self.captured} frames (the stream closed "
                                           f"or the camera stopped){dropped}")
                    frame = self._latest
                    self._taken = True
                got_any = True
                yield frame
                waited_since = time.monotonic()
                if stop is not None and stop.is_set():
                    return
        finally:
            self.close()

    def close(self) -> None:
        self._halt.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            return      # still blocked in read() (a stalled stream): releasing under it crashes the process
        self._release()

    def _release(self) -> None:
        with self._cond:
            if self._released:
                return
            self._released = True
        try:
            self._cap.release()
        except Exception:
            pass


OPEN_TIMEOUT_S = 10.0        # a stream or camera that has not opened by then is given up


def _open_capture(target, name: str, what: str, timeout: float = OPEN_TIMEOUT_S) -> LiveSource:
    """Open in a thread, waited for here: OpenCV blocks in C while a stream connects (30 s by FFmpeg's default),
    where Ctrl-C would not be heard."""
    opened: dict = {}

    def open_it():
        try:
            if isinstance(target, int):
                cap = cv2.VideoCapture(target)
            else:
                ms = int(timeout * 1000)
                cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms,
                                                                cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        except Exception:       # noqa: BLE001 - OpenCV's own error: the source cannot be opened
            opened["failed"] = True
            return
        with lock:
            if opened.get("abandoned"):
                cap.release()
            else:
                opened["cap"] = cap

    lock = threading.Lock()
    opener = threading.Thread(target=open_it, name=f"open:{name}", daemon=True)
    opener.start()
    deadline = time.monotonic() + timeout + 2.0
    while opener.is_alive() and time.monotonic() < deadline:
        opener.join(0.1)        # short waits: a signal that lands on the opening thread is still heard here
    with lock:
        cap = opened.get("cap")
        if cap is None and opened.get("failed"):
            raise CaptureError(f"{what} could not be opened")
        if cap is None:
            opened["abandoned"] = True
            raise CaptureError(f"{what} did not open within {timeout:.0f} s")
    if not cap.isOpened():
        cap.release()
        raise CaptureError(f"{what} could not be opened")
    try:
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    except cv2.error:
        pass
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return LiveSource(cap, name, fps=fps if 0.0 < fps < 1000.0 else None)


MAX_CAMERA_INDEX = 2 ** 31 - 1
EMPTY_INPUT = 'an empty input name (""): give a video, a folder, a camera index or a stream URL'


def is_url(spec) -> bool:
    return isinstance(spec, str) and "://" in spec


def is_camera(spec) -> bool:
    return isinstance(spec, (int, np.integer)) or (isinstance(spec, str) and
                                                   re.fullmatch(r"\s*[0-9]+\s*", spec) is not None)


def local_path(spec):
    """A file:// URL as the path it names (a local file is read frame by frame, as a file); any other spec as it is."""
    if isinstance(spec, str) and spec.startswith("file://"):
        url = urlsplit(spec)
        if url.netloc not in ("", "localhost") or not url.path:
            raise CaptureError(f"{spec}: a file URL names a file of this machine, file:///path/to/clip.mp4")
        return unquote(url.path)
    return spec


def open_source(spec, fps: float | None = None) -> Source:
    """Open a camera index (int or "0"), a URL, a video file, an image folder or a single image.

    `fps` applies to image folders only (the spacing of their timestamps; default 30).
    """
    if isinstance(spec, Source):
        return spec
    spec = local_path(spec)
    if is_camera(spec):
        index = int(spec)
        if index > MAX_CAMERA_INDEX:
            raise CaptureError(f"camera {spec}: no such camera index (0, 1, ... for the cameras of this machine)")
        return _open_capture(index, f"camera:{index}",
                             f"camera {index} (no such device, in use, or no permission)")
    if is_url(spec):
        safe = _redact(spec)
        return _open_capture(spec, safe, f"stream {safe}")
    p = Path(spec)
    if not str(spec).strip():
        raise CaptureError(EMPTY_INPUT)
    if not p.exists():
        if re.fullmatch(r"\s*-\d+\s*", str(spec)):
            raise CaptureError(f"input not found: {spec} (a camera index is 0 or more)")
        raise CaptureError(f"input not found: {spec}")
    if p.is_file() and _animated(p):
        return VideoFileSource(p)
    if p.is_dir() or p.suffix.lower() in IMAGE_EXTS:
        return ImageFolderSource(p, fps=fps)
    return VideoFileSource(p)


def _animated(path: Path) -> bool:
    """Whether a picture file holds frames to play (an animated GIF): read as a video, not as one still."""
    if path.suffix.lower() != ".gif":
        return False
    try:
        with FileAlias(path) as name:
            return cv2.imcount(name) > 1
    except (OSError, cv2.error):
        return False


def expand_inputs(specs: Sequence, notes: list | None = None) -> list:
    """Turn command-line inputs into source specs: a folder holding videos becomes those videos (sorted),
    a folder of images stays one image-folder source; files, cameras and URLs pass through, except that a file
    or folder whose name is a number (`0`) is that file or folder, not camera 0, and a file:// URL is that file. `notes`: gets a line
    for each folder of videos whose pictures or subfolders are left unread."""
    out: list = []
    for spec in specs:
        if isinstance(spec, str) and not spec.strip():      # Path("") would be the current folder
            raise CaptureError(EMPTY_INPUT)
        spec = local_path(spec)
        if is_camera(spec) and isinstance(spec, str) and Path(spec).exists():
            spec = os.path.join(".", spec)      # "./0": read as a file or folder everywhere after this
        if is_camera(spec) or is_url(spec):
            out.append(spec)
            continue
        p = Path(spec)
        if not p.exists():
            raise CaptureError(f"input not found: {spec}")
        if p.is_dir():
            children = list(p.iterdir())
            entries = _visible_files(p)
            videos = sorted((f for f in entries if f.suffix.lower() in VIDEO_EXTS), key=lambda f: _natural_key(f.name))
            if videos:
                out.extend(str(v) for v in videos)
                pictures = sum(f.suffix.lower() in IMAGE_EXTS for f in entries)
                folders = sum(f.is_dir() and not f.name.startswith(".") for f in children)
                if notes is not None and (pictures or folders):
                    left = [f"{n} {what}{'s' if n > 1 else ''}" for n, what in ((pictures, "picture"),
                                                                                  (folders, "subfolder")) if n]
                    notes.append(f"{spec}: {' and '.join(left)} not read (a folder of videos gives its videos; "
                                 "give a folder of pictures on its own)")
            elif any(f.suffix.lower() in IMAGE_EXTS for f in entries):
                out.append(spec if is_camera(str(p)) else str(p))
            else:
                raise CaptureError(f"no videos or images in folder {spec}")
        else:
            out.append(spec if is_camera(str(p)) else str(p))
    return out
