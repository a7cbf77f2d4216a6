"""The `video` and `webcam` commands: inputs -> Tracker -> sinks (their paths: commands.video_outputs).

Several inputs (files, or folders of videos) and the outputs:
- `--csv OUT.csv`: ONE file for all inputs; the `source` column (the input path as given, or the image file
  name for an image folder) tells them apart.
- `--csv DIR/` (an existing folder, or a path ending with '/'): one `DIR/<input stem>.csv` per input.
- `--raw-csv` takes a path with the same two forms (`<stem>.raw.csv` in a folder) and writes the cascade's
  unsmoothed joints in the same schema.
- `--ndjson` likewise (file, '-' for stdout, or folder -> `<stem>.ndjson`); `--udp HOST:PORT` one datagram per
  frame for every input.
- `--render` a single OUT.mp4 for one input, a folder (`<stem>.mp4`) for several.
An input that cannot be read is reported (one line) and skipped, and so is what of an input could not be read
(a video that ends before its header's frame count, unreadable images in a folder) after its rows are written;
the command then exits non-zero. An output
that cannot be written stops everything with one line, and so does, before anything is written, an output
that is an input or would overwrite one (engines.outputs.check_outputs); a rendered video found incomplete when it
closes (a full disk: tracker.render.VideoSink) is named in one line and the command exits non-zero, the other
outputs complete. UDP datagrams that could not be sent are one warning at the end. What each sink writes appears when
it closes, also after an error or Ctrl-C: everything processed before a fault is kept; an output that got
no frame leaves no file.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import click

from pose_track.tracker.capture import CaptureError, ImageFolderSource, expand_inputs, local_path, open_source
from pose_track.tracker.run import process_source
from pose_track.tracker.sinks import SinkError
from pose_track.tracker.loop import Tracker
from pose_track.tracker.smoothing import MODES, make_smoother

from .model import device_options, gpu_options, load_estimator
from .progress import progress_bar, tell
from .video_outputs import Outputs, refuse_overwriting_inputs, require_output, stem_of, unique_stems


class _Models:
    """The model for each input: the video bundle for videos and cameras; for a folder of images (independent
    stills) the stills bundle, so that it gets the joints `images` and `eval` give. --engine: that one for all."""

    def __init__(self, engine, options=None):
        self.engine, self.options = engine, options or {}
        self._loaded = {}

    def for_source(self, src):
        pictures = bool(getattr(src, "independent", False))
        if pictures not in self._loaded:
            self._loaded[pictures] = load_estimator(self.engine, stills=pictures and self.engine is None,
                                                    pictures=pictures, **self.options)
            _say_preparing(self.options)
        return self._loaded[pictures]


def _say_preparing(options) -> None:
    """On the GPU the tracker's first step prepares each batch size (seconds): say so rather than look stuck."""
    if options.get("device") == "cuda":
        click.echo("preparing the model on the GPU (once per run; it can take seconds)...", err=True)


def _progress_bar(src, max_frames=None):
    length = getattr(src, "frame_count", None) or (len(src.files) if hasattr(src, "files") else None)
    if max_frames is not None:
        length = min(length, max_frames) if length else max_frames
    label = Path(src.name).name or src.name
    return progress_bar(length or 0, label, show_pos=True, show_percent=bool(length), show_eta=bool(length),
                        item_show_func=lambda s: f"{s.fps:.1f} frames/s" if s is not None else None)


def _report(stats) -> None:
    tell(stats.summary())
    for w in stats.warnings:
        tell(f"warning: {w}")


_output_options = [
    click.option("--csv", "csv_out", metavar="PATH|-|DIR/",
                 help="Smoothed joints, one row per frame (the README's Outputs): a file (with several inputs, all of "
                      "them), '-' for stdout, or a folder with <stem>.csv per input (a camera: camera<N>.csv, a "
                      "stream: stream.csv)."),
    click.option("--raw-csv", "raw_csv_out", metavar="PATH|-|DIR/",
                 help="Unsmoothed cascade joints, same CSV schema (in a folder: <stem>.raw.csv)."),
    click.option("--ndjson", "ndjson_out", metavar="PATH|-|DIR/",
                 help="One JSON object per frame ('-' = stdout; in a folder: <stem>.ndjson)."),
    click.option("--udp", metavar="HOST:PORT", help="One JSON datagram per frame."),
    click.option("--render", "render_out", metavar="OUT.mp4|DIR/",
                 help="Annotated video: a .mp4, .avi, .mkv, .mov or .m4v file, or a folder (<stem>.mp4 per input)."),
    click.option("--show", is_flag=True, help="Live window (needs a display; q or Esc stops)."),
    click.option("--engine", type=click.Path(), default=None,
                 help="Engine bundle from build-engine, or a torch checkpoint (.pt) (default: the shipped model on "
                      "ONNX Runtime: its video bundle; `video` on a folder of pictures: its stills bundle, as "
                      "`images`)."),
]


def _with_outputs(f):
    for opt in reversed(_output_options):
        f = opt(f)
    return f


@click.command("video")
@click.argument("inputs", nargs=-1, required=True, metavar="IN...")
@_with_outputs
@click.option("--smooth", type=click.Choice(MODES), default="lookahead", show_default=True,
              help="none = raw joints; kalman = online filter; lookahead = the filter plus one frame of "
                   "look-ahead (rows written one frame later); rts = offline smoother over each whole file.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop each input after N frames.")
@gpu_options
def video(inputs, csv_out, raw_csv_out, ndjson_out, udp, render_out, show, engine, smooth, max_frames, cuda, half,
          cuda_graphs):
    """Track the person in video files (or folders of videos, or image folders) and write the joints.

    With several inputs, --csv FILE gets all of them (the source column tells them apart) and --csv DIR/ one
    CSV per input. A stream URL (rtsp://, http://) is read live: the newest frame is taken and those in between
    are dropped (a file:// URL is read as the file)."""
    require_output(csv=csv_out, raw_csv=raw_csv_out, ndjson=ndjson_out, udp=udp, render=render_out, show=show)
    options = device_options(cuda, half, cuda_graphs)
    notes: list = []
    try:
        specs = expand_inputs(inputs, notes)
    except CaptureError as e:
        raise click.ClickException(str(e)) from None
    for note in notes:
        click.echo(f"note: {note}", err=True)
    stems = unique_stems(specs)
    refuse_overwriting_inputs(inputs, specs, stems, engine, csv=csv_out, raw=raw_csv_out, ndjson=ndjson_out,
                               render=render_out)
    try:
        outputs = Outputs(csv_out, raw_csv_out, ndjson_out, udp, render_out, show, n_inputs=len(specs))
    except SinkError as e:
        raise click.ClickException(str(e)) from None
    several = len(specs) > 1
    failures, failed_inputs = [], 0
    finished = False
    try:
        models = _Models(engine, options)
        for spec, stem in zip(specs, stems):
            try:
                src = open_source(spec)
                if several and isinstance(src, ImageFolderSource):
                    src.name_by_path()          # two folders may hold a picture of one name
            except CaptureError as e:
                failed_inputs += 1
                failures += _said([str(e)], several)
                continue
            estimator = models.for_source(src)      # a model that cannot load is one line, before any progress
            per = outputs.for_input(stem)
            stats, problems = None, []
            try:
                with _progress_bar(src, max_frames) as bar:
                    stats = process_source(src, estimator, outputs.shared + per, smooth=smooth,
                                           progress=lambda s: bar.update(1, s), max_frames=max_frames)
            except CaptureError as e:
                problems.append(str(e))
            except BaseException:
                with _no_second_interrupt():
                    _said(outputs.close_input(per), True)      # said before the error that ends the run
                raise
            problems += outputs.close_input(per)
            if stats is not None:
                _report(stats)
                problems = stats.incomplete + problems
            failed_inputs += bool(problems)
            failures += _said(problems, several)
            if stats is not None and stats.stopped == "stop requested":
                break
        finished = True
    except SinkError as e:
        raise click.ClickException(str(e)) from None
    except ValueError as e:
        raise click.ClickException(str(e).splitlines()[0]) from None
    finally:
        with _no_second_interrupt():
            closing = _said(outputs.close(), not finished)
        _warn(outputs)
    if several and failed_inputs:
        _said(closing, True)
        raise click.ClickException(f"{failed_inputs} of {len(specs)} inputs failed")
    failures += closing             # one input, or several of which none failed: nothing of these said yet
    if failures:
        _said(failures[1:], True)
        raise click.ClickException(failures[0])


@contextlib.contextmanager
def _no_second_interrupt():
    """Ctrl-C ignored while the outputs close: an interrupt there would leave them under their partial names
    (cli.py does the same for SIGTERM and SIGHUP)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _said(problems, say: bool) -> list:
    """`problems`, each echoed as an `error:` line when `say` (several inputs, or before another error)."""
    if say:
        for problem in problems:
            tell(f"error: {problem}")
    return list(problems)


def _warn(outputs) -> None:
    for line in outputs.warnings():
        tell(f"warning: {line}")


@click.command("webcam")
@click.option("--device", default="0", show_default=True,
              help="Camera index or stream URL (rtsp://, http://); a video file (a path or file:// URL) is read "
                   "frame by frame, as `video` reads it.")
@_with_outputs
@click.option("--smooth", type=click.Choice(["none", "kalman", "lookahead"]), default="kalman", show_default=True,
              help="none = raw joints; kalman = online filter; lookahead = smoother, one frame later.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop after N frames.")
@gpu_options
def webcam(device, csv_out, raw_csv_out, ndjson_out, udp, render_out, show, engine, smooth, max_frames, cuda, half,
           cuda_graphs):
    """Track the person in front of a camera live. Ctrl-C stops cleanly (every output is kept)."""
    require_output(csv=csv_out, raw_csv=raw_csv_out, ndjson=ndjson_out, udp=udp, render=render_out, show=show)
    options = device_options(cuda, half, cuda_graphs)
    try:
        device = local_path(device)
    except CaptureError as e:
        raise click.ClickException(str(e)) from None
    refuse_overwriting_inputs([device], [device], [stem_of(device)], engine, csv=csv_out, raw=raw_csv_out,
                               ndjson=ndjson_out, render=render_out)
    try:
        outputs = Outputs(csv_out, raw_csv_out, ndjson_out, udp, render_out, show, n_inputs=1)
    except SinkError as e:
        raise click.ClickException(str(e)) from None
    stop = threading.Event()
    previous = None
    in_main = threading.current_thread() is threading.main_thread()

    def on_sigint(signum, frame):
        if stop.is_set():  # second Ctrl-C: give up immediately
            raise KeyboardInterrupt
        stop.set()
        click.echo("stopping (Ctrl-C again to abort)...", err=True)

    per = []
    finished = False
    try:
        # The tracker prepares the model (seconds on CUDA) before the camera opens.
        estimator = load_estimator(engine, **options)
        _say_preparing(options)
        tracker = Tracker(estimator, smoother=make_smoother(smooth))
        src = open_source(device)
        per = outputs.for_input(stem_of(device))
        if in_main:
            previous = signal.signal(signal.SIGINT, on_sigint)
        with _progress_bar(src, max_frames) as bar:
            stats = process_source(src, None, outputs.shared + per, smooth=smooth, stop=stop, max_frames=max_frames,
                                   tracker=tracker, progress=lambda s: bar.update(1, s))
        finished = True
    except (CaptureError, SinkError) as e:
        raise click.ClickException(str(e)) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        with _no_second_interrupt():
            closing = _said(outputs.close_input(per) + outputs.close(), not finished)
        _warn(outputs)
    _report(stats)
    failures = stats.incomplete + closing
    if failures:
        _said(failures[1:], True)
        raise click.ClickException(failures[0])


__all__ = ["video", "webcam"]
