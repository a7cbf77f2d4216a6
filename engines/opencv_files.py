"""File names OpenCV cannot take, and how pictures and videos are still read and written under them.

OpenCV takes a file name as UTF-8 text. A name made on a system with another encoding (`caf\\xe9.jpg` in
Latin-1) reaches Python as text holding surrogate escapes, and `cv2.imread`, `cv2.VideoCapture` and
`cv2.VideoWriter` crash the process on it (a segmentation fault in OpenCV 4.14). Such a picture is read from
its bytes and written as bytes (`read_picture`, `write_picture`); a video is opened under an alias, a symbolic
link with a plain name in a temporary folder (`FileAlias`); a link to a file not yet there is where a writer
creates it. Every other name goes to OpenCV as it is.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import cv2
import numpy as np


def opencv_takes(path) -> bool:
    """Whether OpenCV can take this file name as it is (UTF-8 text)."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_picture(path, flags: int = cv2.IMREAD_COLOR):
    """cv2.imread(path, flags) for any file name: None where the file cannot be read or decoded (OpenCV raises
    on a header claiming more pixels than it will decode: that too is a picture it cannot read)."""
    if opencv_takes(path):
        try:
            return cv2.imread(os.fspath(path), flags)
        except cv2.error:
            return None
    try:
        with open(path, "rb") as f:
            return decode_picture(f.read(), flags)
    except OSError:
        return None


def decode_picture(data: bytes, flags: int = cv2.IMREAD_COLOR):
    """A picture file's bytes decoded as cv2.imread decodes the file (EXIF rotation too); None where they are
    not a picture, or one larger than OpenCV decodes."""
    if not data:
        return None
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        return None


def write_picture(path, image) -> bool:
    """cv2.imwrite(path, image) for any file name (the format from its extension): whether it was written."""
    if opencv_takes(path):
        return bool(cv2.imwrite(os.fspath(path), image))
    suffix = os.path.splitext(os.fspath(path))[1]
    try:
        ok, data = cv2.imencode(suffix, image)
    except cv2.error:
        return False
    if not ok:
        return False
    try:
        with open(path, "wb") as f:
            f.write(data.tobytes())
    except OSError:
        return False
    return True


class FileAlias:
    """A name OpenCV can take for `path` (`.name`): the path itself, or a symbolic link to it with a plain name
    that keeps its extension (OpenCV's writers choose the container by it), removed by `close()`."""

    def __init__(self, path):
        self._folder = None
        if opencv_takes(path):
            self.name = os.fspath(path)
            return
        suffix = os.path.splitext(os.fspath(path))[1]
        suffix = suffix if opencv_takes(suffix) else ""
        self._folder = tempfile.mkdtemp(prefix="pose-track-")
        self.name = os.path.join(self._folder, "file" + suffix)
        os.symlink(os.fsencode(os.path.abspath(path)), self.name)

    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> str:
        return self.name

    def __exit__(self, *exc) -> None:
        self.close()
