"""The README's first run: a sample clip made from a public-domain photo shipped by scikit-image.

The photo is NASA's portrait of astronaut Eileen Collins (skimage/data/astronaut.png, public domain). The
clip is filmed by the clip maker's moving virtual camera; the tracker then runs on it like on any video.
"""
from __future__ import annotations

import importlib.util
import os

import click
import cv2

from pose_track.engines.opencv_files import FileAlias, read_picture
from pose_track.engines.outputs import (OWN_OUTPUTS, check_outputs, folders_to_make, note_own_output,
                                        reads_as_ours, refuse_replacing_others, remove_if_empty)
from pose_track.tracker.sinks import SinkError

from .model import engine_option, load_estimator
from .video import video


class DemoError(Exception):
    pass


def sample_photo_path() -> str:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise DemoError("the sample photo comes with scikit-image: pip install 'pose-track[demo]'")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "astronaut.png")
    if not os.path.isfile(path):
        raise DemoError(f"scikit-image is installed but {path} is missing")
    return path


def make_sample_clip(out_dir: str, n_frames: int = 150, seed: int = 0) -> str:
    """Writes OUT/astronaut.mp4 (a moving-camera clip of the sample photo) and returns its path."""
    import numpy as np

    from pose_track.benchmarks.clipmaker import make_clip

    image = read_picture(sample_photo_path())
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "astronaut.mp4")
    h, w = image.shape[:2]
    centre = np.tile([[w / 2.0, h / 2.0]], (14, 1))     # joints are unknown: the camera moves about the centre
    make_clip(image, centre, path, None, n_frames=n_frames, seed=seed, size=(w // 2 * 2, h // 2 * 2),
              translate=0.06, zoom=0.1, rotate_deg=6.0, fast_segments=1)
    return path


def _demo_from_before_lists(out: str, path: str) -> bool:
    """Whether `path`, one of the demo's files in a folder without a `.pose-track-outputs` list, is a demo's
    own: its pose-track CSV, and videos with as many frames as that CSV has rows. Any other file is the user's."""
    csv_path = os.path.join(out, "astronaut.csv")
    if os.path.isfile(os.path.join(out, OWN_OUTPUTS)) or not os.path.isfile(path) or not reads_as_ours(csv_path):
        return False
    if path == csv_path:
        return True
    with open(csv_path, encoding="utf-8", errors="replace") as f:
        rows = sum(1 for _ in f) - 1
    with FileAlias(path) as name:
        cap = cv2.VideoCapture(name)
        try:
            return cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == rows
        finally:
            cap.release()


@click.command()
@click.option("--out", default="demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the outputs.")
@click.option("--frames", default=150, show_default=True, type=click.IntRange(min=1),
              help="Length of the sample clip.")
@engine_option
def demo(out, frames, engine):
    """Make a sample clip from a public-domain photo and track it: CSV + annotated video in OUT."""
    written = [("--out", os.path.join(out, n)) for n in ("astronaut.mp4", "astronaut.csv", "astronaut_tracked.mp4")]
    check_outputs([("--out", os.path.join(out, "")), *written], inputs=[engine])
    refuse_replacing_others([(option, path) for option, path in written if not _demo_from_before_lists(out, path)])
    load_estimator(engine, stills=False)       # a model that cannot load is said before anything is written
    made = folders_to_make(out)
    try:
        clip = make_sample_clip(out, frames)
        note_own_output(clip)
    except BaseException as exc:
        remove_if_empty(made)                   # a folder this run made and wrote nothing into
        if isinstance(exc, OSError):
            raise click.ClickException(f"cannot write to --out {out}: {exc.strerror or exc}") from None
        if isinstance(exc, (DemoError, SinkError)):
            raise click.ClickException(str(exc)) from None
        raise
    click.echo(f"sample clip: {clip}", err=True)
    args = [clip, "--csv", os.path.join(out, "astronaut.csv"), "--render", os.path.join(out, "astronaut_tracked.mp4")]
    if engine:
        args += ["--engine", engine]
    try:
        video.main(args, standalone_mode=False)
    finally:                    # also on Ctrl-C: what it kept is pose-track's, and the next demo may replace it
        for _, path in written[1:]:
            if os.path.isfile(path):
                note_own_output(path)
    click.echo(f"wrote {os.path.join(out, 'astronaut.csv')} and {os.path.join(out, 'astronaut_tracked.mp4')}")
