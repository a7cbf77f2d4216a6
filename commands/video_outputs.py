"""Where `video` and `webcam` write: one file for every input or one file per input in a folder, checked
against the inputs before anything is written (engines.outputs.check_outputs)."""
from __future__ import annotations

import os
from pathlib import Path

import click

from pose_track.engines.outputs import (check_outputs, folders_to_make, note_own_output, refuse_replacing_others,
                                        remove_if_empty)
from pose_track.tracker.capture import CaptureError, ImageFolderSource, is_camera, is_url
from pose_track.tracker.render import VideoSink, WindowSink
from pose_track.tracker.sinks import CsvSink, NdjsonSink, SinkError, UdpSink, close_all


def _is_folder_target(path: str) -> bool:
    return path.endswith(("/", os.sep)) or Path(path).is_dir()


def stem_of(spec) -> str:
    if is_camera(spec):
        return f"camera{int(spec)}"
    if is_url(spec):
        return "stream"
    p = Path(str(spec))
    return p.name if p.is_dir() else p.stem


def unique_stems(specs) -> list[str]:
    """A file name stem per input, all different: a repeated stem gets _2, _3, ... skipping every stem that an
    input has of its own (x.mp4, x_2.avi, x.avi -> x, x_2, x_3)."""
    stems = [stem_of(s) for s in specs]
    taken, seen, out = set(stems), set(), []
    for stem in stems:
        if stem not in seen:
            seen.add(stem)
            out.append(stem)
            continue
        n = 2
        while f"{stem}_{n}" in taken:
            n += 1
        taken.add(f"{stem}_{n}")
        out.append(f"{stem}_{n}")
    return out


# (key, option, file name suffix in an output folder)
_KINDS = (("csv", "--csv", ".csv"), ("raw", "--raw-csv", ".raw.csv"), ("ndjson", "--ndjson", ".ndjson"),
          ("render", "--render", ".mp4"))
_SINKS = {"csv": CsvSink, "raw": lambda p: CsvSink(p, which="raw"), "ndjson": NdjsonSink, "render": VideoSink}


def refuse_overwriting_inputs(given, specs, stems, engine=None, **spec) -> None:
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
    planned, named_here = [], []
    for key, option, suffix in _KINDS:
        path = spec.get(key)
        if path:
            planned.append((option, path))          # '-' too: two options on stdout are refused
            if path != "-" and _is_folder_target(path):
                named_here += [(option, os.path.join(path, stem + suffix)) for stem in stems]
    check_outputs(planned + named_here, inputs=files, input_folders=folders)
    refuse_replacing_others(named_here)


class Outputs:
    """Builds the shared sinks (one for all inputs) and the per-input ones."""

    def __init__(self, csv_out=None, raw_csv_out=None, ndjson_out=None, udp=None, render_out=None,
                 show=False, n_inputs=1):
        self.spec = {"csv": csv_out, "raw": raw_csv_out, "ndjson": ndjson_out, "render": render_out}
        self.shared = []
        self.made = []          # output folders (and their parents) this run created, deepest first
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
                    sinks.append(_SINKS[key](self._folder(path) / f"{stem}{suffix}"))
                    sinks[-1].named_here = True
                elif path and key == "render":
                    sinks.append(VideoSink(path))
        except BaseException:
            close_all(sinks)
            raise
        return sinks

    def _folder(self, path: str) -> Path:
        """The output folder `path`, made with its missing parents (removed again at `close` if left empty)."""
        missing = folders_to_make(path)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as e:
            remove_if_empty(missing)            # the parents it made before it failed
            raise SinkError(f"cannot create output folder {path}: {e.strerror or e}") from None
        self.made = sorted(set(self.made) | set(missing), key=len, reverse=True)     # a folder before its parent
        return Path(path)

    @staticmethod
    def close_input(sinks) -> list[str]:
        """Close an input's sinks; each file it named itself in a folder and wrote is listed there as pose-track's
        (engines.outputs.note_own_output). Returns the one-line messages of the outputs that could not be
        finished (a full disk)."""
        try:
            return close_all(sinks)
        finally:
            for sink in sinks:
                wrote = getattr(sink, "rows", 0) or getattr(sink, "frames", 0)
                if getattr(sink, "named_here", False) and wrote and os.path.exists(sink.path):
                    note_own_output(sink.path)

    def close(self) -> list[str]:
        """Close the shared sinks; returns the messages of those that could not be finished. Output folders this
        run made and left empty are removed."""
        try:
            return close_all(self.shared)
        finally:
            remove_if_empty(self.made)

    def warnings(self) -> list[str]:
        """What the best-effort outputs could not do (UDP datagrams not sent), one line each."""
        lines = (getattr(s, "warning", lambda: None)() for s in self.shared)
        return [line for line in lines if line]


def require_output(**outs) -> None:
    if not any(outs.values()):
        names = ", ".join("--" + k.replace("_", "-") for k in outs)
        raise click.UsageError(f"nothing to write: give at least one of {names}")
