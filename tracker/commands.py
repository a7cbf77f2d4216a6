"""The `video` and `webcam` click commands (registered by cli.py: `cli.add_command(video)` etc.).

Several inputs (files, or folders of videos) and the outputs:
- `--csv OUT.csv`: ONE file for all inputs; the `source` column (the input path as given, or the image file
  name for an image folder) tells them apart.
- `--csv DIR/` (an existing folder, or a path ending with '/'): one `DIR/<input stem>.csv` per input.
- `--raw-csv` takes a path with the same two forms (`<stem>.raw.csv` in a folder) and writes the cascade's
  unsmoothed joints in the same schema.
- `--ndjson` likewise (file, '-' for stdout, or folder -> `<stem>.ndjson`); `--udp HOST:PORT` one datagram per
  frame for every input.
- `--render` a single OUT.mp4 for one input, a folder (`<stem>.mp4`) for several.
An input that cannot be read is reported (one line) and skipped; the command then exits non-zero. An output
that cannot be written stops everything with one line, and so does, before anything is written, an output
that is an input or would overwrite one (engines.outputs.check_outputs). What each sink writes appears when
it closes, also after an error or Ctrl-C: everything processed before a fault is kept; an output that got
no frame leaves no file.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import click

from pose_track.engines.outputs import check_outputs

from .capture import CaptureError, ImageFolderSource, expand_inputs, is_camera, is_url, open_source
from .render import VideoSink, WindowSink
from .run import process_source
from .sinks import CsvSink, NdjsonSink, SinkError, UdpSink, close_all
from .smoothing import MODES


def load_cascade(engine, stills: bool = False):
    """The model (engines.backends.load_cascade: a bundle, a checkpoint, or the shipped default; `stills`: its
    mirror-view build), imported lazily; one-line ClickException on failure."""
    try:
        from pose_track.engines.backends import load_cascade as _load
    except ImportError as e:
        raise click.ClickException(f"the model runtime is not available ({e})") from None
    try:
        cascade = _load(engine, stills=stills)
        if not cascade.config.person_head:
            click.echo("this model has no presence output: every box is taken to hold a person and every joint "
                       "inside the image to be in the picture (a model trained with --person-head says both)",
                       err=True)
        return cascade
    except click.ClickException:
        raise
    except Exception as e:  # noqa: BLE001 - any load failure becomes one line for the user
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise click.ClickException(f"cannot load the model: {msg}") from None


def _is_folder_target(path: str) -> bool:
    return path.endswith(("/", os.sep)) or Path(path).is_dir()


def _stem(spec) -> str:
    if is_camera(spec):
        return f"camera{int(spec)}"
    if is_url(spec):
        return "stream"
    p = Path(str(spec))
    return p.name if p.is_dir() else p.stem


def _unique_stems(specs) -> list[str]:
    seen: dict = {}
    out = []
    for s in specs:
        stem = _stem(s)
        n = seen.get(stem, 0) + 1
        seen[stem] = n
        out.append(stem if n == 1 else f"{stem}_{n}")
    return out


def _folder(path: str) -> Path:
    p = Path(path)
    try:
        p.mkdir(parents=False, exist_ok=True)
    except OSError as e:
        raise SinkError(f"cannot create output folder {path}: {e.strerror or e}") from None
    return p


# (key, option, file name suffix in an output folder)
_KINDS = (("csv", "--csv", ".csv"), ("raw", "--raw-csv", ".raw.csv"), ("ndjson", "--ndjson", ".ndjson"),
          ("render", "--render", ".mp4"))
_SINKS = {"csv": CsvSink, "raw": lambda p: CsvSink(p, which="raw"), "ndjson": NdjsonSink, "render": VideoSink}


def _refuse_overwriting_inputs(given, specs, stems, engine=None, **spec) -> None:
    """check_outputs for a run over `specs` (expanded from the `given` inputs; `stems` name their files in an
    output folder) into the outputs `spec` (csv=, raw=, ndjson=, render=)."""
    files, folders = [engine], [g for g in given if not (is_camera(g) or is_url(g))]
    for s in specs:
        if is_camera(s) or is_url(s):
            continue
        if Path(s).is_dir():
            folders.append(s)
            try:
                files += ImageFolderSource(s).files
            except CaptureError:
                pass    # reported when the run reaches it
        else:
            files.append(s)
    planned = []
    for key, option, suffix in _KINDS:
        path = spec.get(key)
        if path and path != "-":
            planned.append((option, path))
            if _is_folder_target(path):
                planned += [(option, os.path.join(path, stem + suffix)) for stem in stems]
    check_outputs(planned, inputs=files, input_folders=folders)


class _Outputs:
    """Builds the shared sinks (one for all inputs) and the per-input ones."""

    def __init__(self, csv_out=None, raw_csv_out=None, ndjson_out=None, udp=None, render_out=None,
                 show=False, n_inputs=1):
        self.spec = {"csv": csv_out, "raw": raw_csv_out, "ndjson": ndjson_out, "render": render_out}
        self.shared = []
        try:
            for key in ("csv", "raw", "ndjson"):
                path = self.spec[key]
                if path and not (path != "-" and _is_folder_target(path)):
                    self.shared.append(_SINKS[key](path))
            if render_out and not _is_folder_target(render_out):
                if n_inputs > 1:
                    raise click.UsageError("--render with several inputs needs a folder (end it with '/')")
                VideoSink(render_out)  # validates the path now, before the model loads
            if udp:
                self.shared.append(UdpSink(udp))
            if show:
                self.shared.append(WindowSink())
        except BaseException:
            close_all(self.shared)
            raise

    def for_input(self, stem: str) -> list:
        sinks = []
        try:
            for key, _, suffix in _KINDS:
                path = self.spec[key]
                if path and path != "-" and _is_folder_target(path):
                    sinks.append(_SINKS[key](_folder(path) / f"{stem}{suffix}"))
                elif path and key == "render":
                    sinks.append(VideoSink(path))
        except BaseException:
            close_all(sinks)
            raise
        return sinks

    def close(self) -> None:
        close_all(self.shared)


def _require_output(**outs) -> None:
    if not any(outs.values()):
        names = ", ".join("--" + k.replace("_", "-") for k in outs)
        raise click.UsageError(f"nothing to write: give at least one of {names}")


def _progress_bar(src):
    length = getattr(src, "frame_count", None) or (len(src.files) if hasattr(src, "files") else None)
    label = Path(src.name).name or src.name
    return click.progressbar(length=length or 0, label=label, file=sys.stderr,
                             show_pos=True, show_percent=bool(length), show_eta=bool(length),
                             item_show_func=lambda s: f"{s.fps:.1f} frames/s" if s is not None else None)


def _report(stats) -> None:
    click.echo(stats.summary(), err=True)
    for w in stats.warnings:
        click.echo(f"warning: {w}", err=True)


_output_options = [
    click.option("--csv", "csv_out", metavar="PATH|DIR/", help="Smoothed joints, wide CSV (DESIGN.md schema)."),
    click.option("--raw-csv", "raw_csv_out", metavar="PATH|DIR/",
                 help="Unsmoothed cascade joints, same CSV schema."),
    click.option("--ndjson", "ndjson_out", metavar="PATH|-|DIR/", help="One JSON object per frame ('-' = stdout)."),
    click.option("--udp", metavar="HOST:PORT", help="One JSON datagram per frame."),
    click.option("--render", "render_out", metavar="OUT.mp4|DIR/",
                 help="Annotated video: a .mp4, .avi, .mkv, .mov or .m4v file, or a folder (<stem>.mp4 each)."),
    click.option("--show", is_flag=True, help="Live window (needs a display; q or Esc stops)."),
    click.option("--engine", type=click.Path(), default=None,
                 help="Engine bundle from build-engine (default: the shipped model on ONNX Runtime)."),
]


def _with_outputs(f):
    for opt in reversed(_output_options):
        f = opt(f)
    return f


@click.command("video")
@click.argument("inputs", nargs=-1, required=True, metavar="IN...")
@_with_outputs
@click.option("--smooth", type=click.Choice(MODES), default="kalman", show_default=True,
              help="none = raw joints; kalman = online filter; rts = offline smoother over each whole file.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop each input after N frames.")
def video(inputs, csv_out, raw_csv_out, ndjson_out, udp, render_out, show, engine, smooth, max_frames):
    """Track the person in video files (or folders of videos, or image folders) and write the joints.

    With several inputs, --csv FILE gets all of them (the source column tells them apart) and --csv DIR/ one
    CSV per input."""
    _require_output(csv=csv_out, raw_csv=raw_csv_out, ndjson=ndjson_out, udp=udp, render=render_out, show=show)
    try:
        specs = expand_inputs(inputs)
    except CaptureError as e:
        raise click.ClickException(str(e)) from None
    stems = _unique_stems(specs)
    _refuse_overwriting_inputs(inputs, specs, stems, engine, csv=csv_out, raw=raw_csv_out, ndjson=ndjson_out,
                               render=render_out)
    try:
        outputs = _Outputs(csv_out, raw_csv_out, ndjson_out, udp, render_out, show, n_inputs=len(specs))
    except SinkError as e:
        raise click.ClickException(str(e)) from None
    failures = []
    try:
        cascade = load_cascade(engine)
        for spec, stem in zip(specs, stems):
            try:
                src = open_source(spec)
            except CaptureError as e:
                failures.append(str(e))
                if len(specs) > 1:
                    click.echo(f"error: {e}", err=True)
                continue
            per = outputs.for_input(stem)
            try:
                with _progress_bar(src) as bar:
                    stats = process_source(src, cascade, outputs.shared + per, smooth=smooth,
                                           progress=lambda s: bar.update(1, s), max_frames=max_frames)
            except CaptureError as e:
                failures.append(str(e))
                if len(specs) > 1:
                    click.echo(f"error: {e}", err=True)
                continue
            finally:
                close_all(per)
            _report(stats)
            if stats.stopped == "stop requested":
                break
    except SinkError as e:
        raise click.ClickException(str(e)) from None
    except ValueError as e:
        raise click.ClickException(str(e).splitlines()[0]) from None
    finally:
        outputs.close()
    if failures:
        raise click.ClickException(failures[0] if len(specs) == 1 else
                                   f"{len(failures)} of {len(specs)} inputs failed")


@click.command("webcam")
@click.option("--device", default="0", show_default=True, help="Camera index or stream URL (rtsp://, http://).")
@_with_outputs
@click.option("--smooth", type=click.Choice(["none", "kalman"]), default="kalman", show_default=True)
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop after N frames.")
def webcam(device, csv_out, raw_csv_out, ndjson_out, udp, render_out, show, engine, smooth, max_frames):
    """Track the person in front of a camera live. Ctrl-C stops cleanly (every output is kept)."""
    _require_output(csv=csv_out, raw_csv=raw_csv_out, ndjson=ndjson_out, udp=udp, render=render_out, show=show)
    _refuse_overwriting_inputs([device], [device], [_stem(device)], engine, csv=csv_out, raw=raw_csv_out,
                               ndjson=ndjson_out, render=render_out)
    try:
        outputs = _Outputs(csv_out, raw_csv_out, ndjson_out, udp, render_out, show, n_inputs=1)
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
    try:
        cascade = load_cascade(engine)
        src = open_source(device)
        per = outputs.for_input(_stem(device))
        if in_main:
            previous = signal.signal(signal.SIGINT, on_sigint)
        stats = process_source(src, cascade, outputs.shared + per, smooth=smooth, stop=stop,
                               max_frames=max_frames)
    except (CaptureError, SinkError) as e:
        raise click.ClickException(str(e)) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        close_all(per)
        outputs.close()
    _report(stats)


__all__ = ["video", "webcam", "load_cascade"]


def _main():  # pragma: no cover - `python -m tracker.commands video ...` while cli.py is not wired
    group = click.Group(commands={"video": video, "webcam": webcam})
    group(prog_name="pose-track")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
